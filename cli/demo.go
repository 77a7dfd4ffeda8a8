package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/spf13/cobra"

	"pgrescue/demo"
	"pgrescue/hosting"
	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/rds"
	"pgrescue/session"
	"pgrescue/ui"
	"pgrescue/wizardbackend"
)

// listScenarios is --scenario given with no name.
const listScenarios = "?"

func (cl *commandLine) demoCommand() *cobra.Command {
	var (
		opts  demo.Options
		plain bool
	)
	cmd := &cobra.Command{
		Use:   "demo [--scenario NAME] [--dir DIR] [--keep]",
		Short: "Practise the runbook on a local sandbox: a real PostgreSQL, WAL-E archive, S3 and GPG key",
		Long: "Build a sandbox in a temporary folder (a PostgreSQL cluster with an application's data, an accident,\n" +
			"and a WAL-E archive of it written by pgrescue, encrypted to a passphrase-protected key, in an S3\n" +
			"server inside pgrescue on 127.0.0.1), then run the wizard against it and check the result at the end.\n" +
			"ctrl+c stops everything; the folder is removed unless --keep. --scenario alone lists the scenarios.",
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			// --scenario may stand alone (list them), so pflag takes the
			// name in "--scenario NAME" for an argument: put it back.
			if len(args) == 1 {
				if opts.Scenario != listScenarios {
					return problem.New(problem.Usage, args[0], "pgrescue demo takes no arguments", "name the exercise with --scenario NAME")
				}
				opts.Scenario = args[0]
			}
			if opts.Scenario == listScenarios {
				return printScenarios(cmd.OutOrStdout())
			}
			if _, err := demo.FindScenario(opts.Scenario); err != nil && opts.Scenario != "" {
				return err
			}
			return cl.runDemo(cmd.Context(), cmd, opts, plain)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Scenario, "scenario", "", "the exercise (alone: list them)")
	f.Lookup("scenario").NoOptDefVal = listScenarios
	f.StringVar(&opts.Dir, "dir", "", "build the sandbox in this folder (default: a new temporary one)")
	f.BoolVar(&opts.Keep, "keep", false, "leave the sandbox folder when done (servers are stopped either way)")
	f.BoolVar(&plain, "plain", false, "line-by-line prompts instead of the full-screen wizard")
	return cmd
}

func printScenarios(w io.Writer) error {
	for _, s := range demo.Scenarios {
		fmt.Fprintf(w, "%-12s %s\n", s.Name, s.Title)
		fmt.Fprintf(w, "%-12s %s\n", "", s.Summary)
	}
	return nil
}

// runDemo builds the sandbox, runs the wizard in training mode on it, and
// always takes the sandbox down again.
func (cl *commandLine) runDemo(ctx context.Context, cmd *cobra.Command, opts demo.Options, plain bool) (err error) {
	log := cmd.ErrOrStderr()
	began := time.Now()
	fmt.Fprintln(log, "pgrescue demo: building the sandbox (a real PostgreSQL, WAL-E archive, S3 server and GPG key)…")
	sb, err := demo.Build(ctx, opts, func(p demo.Progress) {
		fmt.Fprintf(log, "  [%d/%d] %s\n", p.Done, p.Total, p.Step)
	})
	if sb != nil {
		defer func() {
			if closeErr := sb.Close(); closeErr != nil && err == nil {
				err = closeErr
			}
			if opts.Keep {
				fmt.Fprintln(log, "pgrescue demo: the sandbox is kept in "+sb.Dir)
			}
		}()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "pgrescue demo: sandbox ready in %s (%s)\n", sb.Dir, time.Since(began).Round(time.Second))
	return cl.demoWizard(ctx, cmd, sb, plain)
}

// demoReplayTime is how long the demo's replay lasts at least: its archive
// holds a few segments, replayed in a second, and a trainee must see the
// live view (rate, ETA, the server log) to learn to read it.
const demoReplayTime = 24 * time.Second

func (cl *commandLine) demoWizard(ctx context.Context, cmd *cobra.Command, sb *demo.Sandbox, plain bool) error {
	cfg, err := hosting.LoadConfig(sb.Config)
	if err != nil {
		return err
	}
	cat, err := cfg.Catalog()
	if err != nil {
		return err
	}
	// The journal goes where every session's goes: the sandbox folder is
	// removed at the end, the record of the exercise is not.
	j, err := journal.Open("", journal.Meta{Version: buildVersion(), Args: os.Args[1:]})
	if err != nil {
		return err
	}
	sandbox := cl.flags
	sandbox.Envdir = sb.Envdir // the sandbox's archive, whatever --envdir says
	sess := session.New(sandbox)
	sess.Journal = j
	backend := wizardbackend.New(sess)
	backend.ReplayAtLeast = demoReplayTime
	// the pg_dump flow restores into the sandbox's running primary
	dumps := &wizardbackend.PgDump{Location: time.Local, Journal: j,
		Server: pgdump.Server{Host: sb.PrimarySocket, Port: strconv.Itoa(sb.PrimaryPort), User: sb.Owner}}
	defer dumps.Close()
	deps := ui.Deps{
		WALE: backend, GPG: backend, PgDump: dumps, Catalog: cat, Config: cfg, Journal: j,
		Defaults: ui.WALERequest{Envdir: sb.Envdir}, Context: ctx, NoColor: os.Getenv("NO_COLOR") != "",
		Training: training(sb), RDS: demoRDS(sb),
	}
	var outcome ui.Outcome
	if plain || os.Getenv("TERM") == "dumb" || !interactive() {
		outcome = ui.RunPlain(deps, cmd.InOrStdin(), cmd.ErrOrStderr())
	} else if outcome, err = runFullScreen(deps); err != nil {
		return err
	}
	j.Close(outcome.Err)
	fmt.Fprint(cmd.OutOrStdout(), outcome.Summary)
	fmt.Fprintln(cmd.ErrOrStderr(), "journal of this exercise: "+j.Path())
	return outcome.Err
}

// demoRDS points the wizard's RDS flow at the sandbox's simulated AWS,
// polled every second so the trainee sees each status; nil when the
// exercise has none (the flow then shows the runbook's steps).
func demoRDS(sb *demo.Sandbox) ui.RDSBackend {
	if sb.RDS == nil {
		return nil
	}
	return &wizardbackend.RDS{Options: rds.Options{
		Region: sb.RDS.Region, Endpoint: sb.RDS.Endpoint,
		Credentials: credentials.NewStaticCredentialsProvider(sb.RDS.AccessKey, sb.RDS.SecretKey, ""),
		Wait:        rds.WaitOptions{MinDelay: time.Second, MaxDelay: 2 * time.Second, Limit: 10 * time.Minute},
	}}
}

// training is the scenario as the wizard's exercise.
func training(sb *demo.Sandbox) *ui.Training {
	if sb.RDS != nil {
		return &ui.Training{Title: sb.Scenario.Title, Briefing: sb.Expected.Describe, Facts: sb.RDSFacts(), Path: ui.TrainRDS,
			CheckRDS: func() (bool, string) {
				v := sb.CheckRDS()
				return v.OK, v.Message
			}}
	}
	facts := []string{"Application: " + sb.App + " (database " + sb.Database + ")"}
	if sb.Passphrase != "" {
		facts = append(facts, "The GPG key's passphrase, found in the secrets store: "+sb.Passphrase)
	}
	if sb.DumpTree != "" {
		facts = append(facts, "The nightly dumps: "+sb.DumpTree)
		if sb.OffsiteURL != "" {
			facts = append(facts, "The offsite copy (duplicity, not encrypted here): "+sb.OffsiteURL)
		}
	} else {
		facts = append(facts, "WAL-E settings: "+sb.Envdir)
	}
	path := ui.TrainWALE
	if sb.DumpTree != "" {
		path = ui.TrainPgDump
	}
	return &ui.Training{
		Path:     path,
		Title:    sb.Scenario.Title,
		Briefing: sb.Expected.Describe,
		Facts:    facts,
		Check: func(ctx context.Context, socketDir string, port int, user string) (bool, string, error) {
			v, err := sb.Check(ctx, socketDir, port, user)
			return v.OK, v.Message, err
		},
	}
}
