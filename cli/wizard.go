package cli

import (
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"pgrescue/hosting"
	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/rds"
	"pgrescue/ui"
	"pgrescue/wizardbackend"
)

// wizardFlags are the root command's own flags: they shape the wizard.
type wizardFlags struct {
	catalog, config, journal, pgdata string
	dryRun, plain                    bool
}

func (cl *commandLine) addWizardFlags(root *cobra.Command) *wizardFlags {
	w := &wizardFlags{}
	f := root.Flags()
	f.StringVar(&w.catalog, "catalog", "", "applications catalog in GOV.UK's applications.yml format (default: the config file's, else the built-in one)")
	// Every command takes --config, so a shell alias or a script that
	// names pgrescue's config file works with any of them.
	root.PersistentFlags().StringVar(&w.config, "config", "", "pgrescue config file (default ~/.config/pgrescue/config.yaml, then /etc/pgrescue/config.yaml)")
	f.StringVar(&w.journal, "journal", "", "session journal file, appended to (default a new file in ~/.local/state/pgrescue/)")
	f.StringVar(&w.pgdata, "pgdata", "", "data directory to restore into (asked when not given or configured)")
	f.BoolVar(&w.dryRun, "dry-run", false, "walk through the whole flow; run nothing")
	f.BoolVar(&w.plain, "plain", false, "line-by-line prompts instead of the full-screen wizard (screen readers, pipes)")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return problem.New(problem.Usage, args[0], "unknown command", "run `pgrescue help` for the commands")
		}
		return cl.wizard(cmd, w)
	}
	return w
}

// wizard runs the guided restore: full-screen on a terminal, line by line
// with --plain, TERM=dumb or no terminal.
func (cl *commandLine) wizard(cmd *cobra.Command, w *wizardFlags) error {
	cat, cfg, err := loadCatalog(w)
	if err != nil {
		return err
	}
	j, err := journal.Open(w.journal, journal.Meta{Version: buildVersion(), Args: os.Args[1:], DryRun: w.dryRun})
	if err != nil {
		return err
	}
	sess := cl.session()
	sess.Journal = j
	backend := wizardbackend.New(sess)
	dumps := &wizardbackend.PgDump{Location: time.Local, Journal: j}
	dumps.Server.AsPostgresWhenRoot()
	defer dumps.Close()
	deps := ui.Deps{
		WALE: backend, GPG: backend, PgDump: dumps, Catalog: cat, Config: cfg, Journal: j, DryRun: w.dryRun,
		RDS:      &wizardbackend.RDS{Options: rds.Options{Region: cl.flags.Region}},
		Defaults: ui.WALERequest{PGData: w.pgdata, Envdir: cl.flags.Envdir}, Context: cmd.Context(),
		NoColor: os.Getenv("NO_COLOR") != "",
	}
	var outcome ui.Outcome
	if w.plain || os.Getenv("TERM") == "dumb" || !interactive() {
		outcome = ui.RunPlain(deps, cmd.InOrStdin(), cmd.ErrOrStderr())
	} else {
		outcome, err = runFullScreen(deps)
	}
	j.Close(outcome.Err)
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), outcome.Summary)
	if path := j.Path(); path != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "journal of this session: "+path)
	}
	return outcome.Err
}

func interactive() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd()))
}

// runFullScreen runs the Bubble Tea wizard on the terminal (drawn on
// stderr, so stdout carries only the final summary), then waits for any
// job still stopping: a SIGTERM ends the program loop but must not leave a
// half-stopped restore behind.
func runFullScreen(deps ui.Deps) (ui.Outcome, error) {
	m := ui.New(deps)
	opts := []tea.ProgramOption{tea.WithOutput(os.Stderr), tea.WithContext(deps.Context)}
	if deps.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	m.Wait(2 * time.Minute)
	outcome := m.Outcome()
	if err != nil && outcome.Err == nil {
		outcome.Err = problem.Wrap(err, problem.Interrupted, "pgrescue", "the wizard was stopped", "run pgrescue again; nothing was deleted")
	}
	return outcome, nil
}

// loadCatalog reads the config file and the catalog it or --catalog names.
func loadCatalog(w *wizardFlags) (*hosting.Catalog, *hosting.Config, error) {
	var (
		cfg *hosting.Config
		err error
	)
	if w.config != "" {
		cfg, err = hosting.LoadConfig(w.config)
	} else {
		cfg, err = hosting.FindConfig()
	}
	if err != nil {
		return nil, nil, err
	}
	var cat *hosting.Catalog
	if w.catalog != "" {
		cat, err = hosting.LoadCatalog(w.catalog)
	} else {
		cat, err = cfg.Catalog()
	}
	if err != nil {
		return nil, nil, err
	}
	// A misspelt application in the config would silently never apply.
	return cat, cfg, cfg.CheckApps(cat)
}
