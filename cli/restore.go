package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"pgrescue/problem"
	"pgrescue/restore/walerestore"
	"pgrescue/session"
	"pgrescue/shellcmd"
)

func (cl *commandLine) restoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Run a whole restore without the wizard: preflight, plan, fetch and replay",
	}
	cmd.AddCommand(cl.restoreWALECommand(), cl.restorePgDumpCommand(), cl.restoreRDSCommand())
	return cmd
}

// restoreWALE is the wizard's WAL-E restore as one command: the same
// preflight checks, the same plan and the same engines, with plain lines.
func (cl *commandLine) restoreWALECommand() *cobra.Command {
	var (
		opts    walerestore.Options
		targets targetFlags
		cluster string
		yes     bool
		dryRun  bool
		verbose bool
		mapping func() (map[string]string, error)
	)
	cmd := &cobra.Command{
		Use:   "wal-e --pgdata DIR [--backup NAME|LATEST] [--target-time T] [--move-aside] --yes",
		Short: "Restore from the WAL-E archive to a point in time or to the end of the archive",
		Long: "Check everything first (configuration, S3, the archive's GPG key, PostgreSQL stopped, disk space,\n" +
			"WAL continuity), print the plan with its equivalent shell commands, then fetch the base backup and\n" +
			"replay WAL to the target, as the wizard does. Nothing runs without --yes; a non-empty data directory\n" +
			"is only moved aside (renamed, never deleted) with --move-aside. --dry-run prints the checks and the\n" +
			"plan and changes nothing. Without --backup, the newest backup completed before the target is used.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.PGData == "" {
				return problem.New(problem.Usage, "--pgdata", "the data directory to restore into is required",
					"give --pgdata DIR, e.g. /var/lib/postgresql/9.3/main (stop PostgreSQL first)")
			}
			t, err := targets.parse(cmd)
			if err != nil {
				return err
			}
			opts.Target = t
			if opts.TablespaceMapping, err = mapping(); err != nil {
				return err
			}
			if err := cl.session().ReplayOptions(&opts.Replay, cluster); err != nil {
				return err
			}
			r := &restoreRun{out: cmd.OutOrStdout(), log: cmd.ErrOrStderr(), verbose: verbose}
			return r.run(cmd.Context(), cl, opts, yes, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.PGData, "pgdata", "", "data directory to restore into (empty, absent, or moved aside with --move-aside)")
	f.StringVar(&opts.Backup, "backup", "", "base backup name or LATEST (default: the newest completed before the target)")
	targets.add(f)
	f.BoolVar(&opts.MoveAside, "move-aside", false, "rename a non-empty data directory to DIR.pgrescue-<time> first (never deleted)")
	mapping = tablespaceMapping(f)
	intInRange(f, &opts.Workers, "pool-size", 4, 1, maxPoolSize, "partitions fetched at once")
	f.BoolVar(&yes, "yes", false, "carry out the plan (without it, the plan is printed and nothing runs)")
	f.BoolVar(&dryRun, "dry-run", false, "print the checks and the plan and change nothing")
	addServerFlags(cmd, &opts.Replay, &cluster, &verbose)
	return cmd
}

// restoreRun prints a restore's checks, plan and progress as plain lines:
// the plan and summary on stdout, the rest on stderr.
type restoreRun struct {
	out, log io.Writer
	verbose  bool
}

func (r *restoreRun) run(ctx context.Context, cl *commandLine, opts walerestore.Options, yes, dryRun bool) error {
	cfg := cl.restoreSettings(ctx, &opts)
	rep := walerestore.Preflight(ctx, opts, cfg, r.check)
	if failed := rep.FirstFailure(); failed != nil {
		return failed.Err
	}
	plan, err := walerestore.NewPlan(ctx, opts, rep)
	if err != nil {
		return err
	}
	writePlan(r.out, plan)
	if dryRun {
		return nil
	}
	if !yes {
		return problem.New(problem.Usage, "--yes", "nothing was run: the plan above needs your go-ahead",
			"review it, then run the same command with --yes")
	}
	res, err := plan.Run(ctx, r.event())
	if err == nil || problem.Is(err, problem.ReplayIncomplete) {
		r.summary(res)
	}
	return err
}

// restoreSettings opens the archive and finds the keys, recording what the
// preflight's settings check reports.
func (cl *commandLine) restoreSettings(ctx context.Context, opts *walerestore.Options) walerestore.Resolved {
	archive, s, err := cl.session().OpenArchive(ctx)
	if err != nil {
		return walerestore.ResolvedFrom(nil, err)
	}
	opts.Archive = archive
	opts.Keys = session.KeySource(s)
	return walerestore.ResolvedFrom(s, nil)
}

// check prints a check once, when it ends (Lines is empty while it runs).
func (r *restoreRun) check(c walerestore.Check) {
	for _, l := range c.Lines() {
		fmt.Fprintln(r.log, l)
	}
}

// writePlan prints the plan as a commented shell script.
func writePlan(w io.Writer, p *walerestore.Plan) {
	fmt.Fprintf(w, "# plan: restore %s from backup %s to %s\n", p.Options.PGData, p.Backup.Name, p.Options.Target)
	for i, a := range p.Actions {
		mark := ""
		if a.Destructive {
			mark = " [changes what is on disk]"
		}
		fmt.Fprintf(w, "\n# %d. %s%s\n", i+1, a.Title, mark)
		fmt.Fprint(w, shellcmd.Script(a.Commands))
	}
}

func (r *restoreRun) event() func(walerestore.Event) {
	fetch := newProgressPrinter(r.log, stderrIsTerminal())
	replayed := &replayPrinter{w: r.log, verbose: r.verbose}
	return func(e walerestore.Event) {
		switch e := e.(type) {
		case walerestore.ActionStarted:
			fetch.finish()
			fmt.Fprintf(r.log, "== %s\n", e.Action.Title)
		case walerestore.ActionDone:
			fetch.finish()
			fmt.Fprintf(r.log, "== %s: %s\n", actionOutcome(e.Err), e.Duration.Round(time.Millisecond))
		case walerestore.FetchEvent:
			fetch.event(e.Event)
		case walerestore.ReplayPrepared:
			replayed.plan(e.Replay)
		case walerestore.ReplayEvent:
			replayed.event(e.Event)
		}
	}
}

func actionOutcome(err error) string {
	switch {
	case err == nil:
		return "done"
	case problem.Is(err, problem.Interrupted):
		return "interrupted"
	}
	return "failed"
}

func (r *restoreRun) summary(res *walerestore.Result) {
	printLines(r.out, res.Summary())
	for _, step := range walerestore.NextSteps {
		fmt.Fprintln(r.out, "next: "+step)
	}
}
