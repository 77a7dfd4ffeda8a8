package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/prefetch"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/shellcmd"
)

func (cl *commandLine) replayCommand() *cobra.Command {
	var (
		opts    replay.Options
		targets targetFlags
		cluster string
		dryRun  bool
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "replay --pgdata DIR [--target-time T] [--prefetch K]",
		Short: "Recover a restored base backup to a point in time or to the end of the archive, showing the WAL replay live",
		Long: "Write the recovery settings for the data directory's PostgreSQL version, start the server with\n" +
			"pgrescue's wal-fetch as restore_command (segments prefetched in parallel by this process, which\n" +
			"holds the unlocked key), follow the server log, and report progress until the server accepts\n" +
			"connections at the requested point. The server is left running, promoted on a new timeline.\n\n" +
			"--target-time takes RFC 3339 or \"YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]\"; without a zone it is local time.\n" +
			"The server runs with archive_mode=off, lc_messages=C and a known log_line_prefix, on its own\n" +
			"socket directory and port, so it cannot disturb a running cluster or the production archive.\n" +
			"Exit status 0 only when the server is up at the requested point; 21 when it is up but short of\n" +
			"it (WAL missing); 22 when PostgreSQL stopped, with its FATAL line.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.DataDir == "" {
				return problem.New(problem.Usage, "--pgdata", "the data directory to recover is required", "give --pgdata DIR, the directory backup-fetch restored into")
			}
			ctx := cmd.Context()
			target, err := targets.parse(cmd)
			if err != nil {
				return err
			}
			opts.Target = target
			if err := cl.session().ReplayOptions(&opts, cluster); err != nil {
				return err
			}
			archive, _, err := cl.session().OpenArchive(ctx)
			if err != nil {
				return err
			}
			opts.Archive = archive
			plan, err := replay.Prepare(ctx, opts)
			if err != nil {
				return err
			}
			if dryRun {
				return printReplayPlan(cmd.OutOrStdout(), plan)
			}
			printer := &replayPrinter{w: cmd.ErrOrStderr(), verbose: verbose}
			printer.plan(plan)
			res, err := plan.Run(ctx, printer.event)
			if res != nil && (err == nil || problem.Is(err, problem.ReplayIncomplete)) {
				printReplaySummary(cmd.OutOrStdout(), res)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "pgdata", "", "the restored data directory (after backup-fetch)")
	f.StringVar(&opts.Backup, "backup", "", "the base backup the data directory holds (default: found from its WAL position)")
	targets.add(f)
	addServerFlags(cmd, &opts, &cluster, &verbose)
	f.BoolVar(&dryRun, "dry-run", false, "print the settings and commands and change nothing")
	return cmd
}

// addServerFlags defines the flags that choose how the recovering server
// runs, shared by replay and restore.
func addServerFlags(cmd *cobra.Command, opts *replay.Options, cluster *string, verbose *bool) {
	f := cmd.Flags()
	intInRange(f, &opts.Prefetch, "prefetch", prefetch.DefaultAhead, 0, maxPrefetch, "WAL segments fetched ahead of replay; 0 fetches each in-band (the key must then work without this process)")
	intInRange(f, &opts.Server.Port, "port", 0, 0, maxPort, "port of the restored server (default 0: a free one from 54320)")
	f.StringVar(&opts.Server.SocketDir, "socket-dir", "", "socket directory of the restored server (default: a private one under /tmp)")
	f.StringVar(&opts.Server.LogFile, "log", "", "server log file (default: PGDATA.pgrescue.log beside the data directory)")
	f.StringVar(cluster, "cluster", "", "start the data directory as this Debian cluster, VERSION/NAME (pg_ctlcluster)")
	f.BoolVarP(verbose, "verbose", "v", false, "print every server log line")
}

// parseTarget reads --target-time, saying so when no zone was given. A flag
// given blank is refused: in a script it is an unset variable, and taking it
// as "the end of the archive" would replay straight past the accident.
func parseTarget(cmd *cobra.Command, text string) (recovery.Target, error) {
	w := cmd.ErrOrStderr()
	if !cmd.Flags().Changed("target-time") {
		return recovery.Target{}, nil
	}
	if strings.TrimSpace(text) == "" {
		return recovery.Target{}, problem.New(problem.Usage, "--target-time", "the target time is empty",
			"give the time to stop at, e.g. --target-time '2026-11-25 02:52:57+00'; leave the flag out to replay to the end of the archive")
	}
	t, err := recovery.ParseTargetTimeOn(text, time.Local, time.Now())
	if err != nil {
		return t, err
	}
	if t.DateAssumed {
		fmt.Fprintf(w, "note: --target-time %q has no date; read as today: %s\n", text, t.PostgresLiteral())
	}
	if t.AssumedLocal {
		zone, _ := t.Time.Zone()
		fmt.Fprintf(w, "note: --target-time %q has no time zone; read as local time (%s), which is %s\n", text, zone, t.PostgresLiteral())
	}
	return t, nil
}

func printReplayPlan(out io.Writer, p *replay.Prepared) error {
	cmds, err := p.Commands()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "# dry run: replay of %s (PostgreSQL %s, backup %s) to %s (nothing is changed)\n",
		p.DataDir, p.Version, p.Backup.Name, describeTarget(p.Settings.Target))
	fmt.Fprintf(out, "# replay starts at %s (from %s); the archive reaches %s (segment %s, archived %s)\n",
		replay.FormatLSN(p.Start.LSN), p.Start.Source, replay.FormatLSN(p.Window.EndLSN(p.Start.SegmentSize)), p.Window.Newest, p.Window.To.UTC().Format(time.RFC3339))
	for _, w := range p.Warnings {
		fmt.Fprintf(out, "# WARNING: %s\n", w)
	}
	fmt.Fprint(out, shellcmd.Script(cmds))
	return nil
}

func describeTarget(t recovery.Target) string {
	if t.IsEndOfArchive() {
		return "the end of the archive"
	}
	if t.IsTime() {
		return "recovery_target_time '" + t.PostgresLiteral() + "'"
	}
	return t.String()
}

// replayPrinter renders replay events on stderr, one line per event and a
// progress line a second.
type replayPrinter struct {
	w       io.Writer
	verbose bool
	last    string
}

func (p *replayPrinter) plan(pl *replay.Prepared) {
	fmt.Fprintf(p.w, "replay: %s, PostgreSQL %s, backup %s, to %s\n", pl.DataDir, pl.Version, pl.Backup.Name, describeTarget(pl.Settings.Target))
	estimate := ""
	if !pl.EndExact {
		estimate = " (estimated: the end of the segment archived after the target)"
	}
	fmt.Fprintf(p.w, "replay: from %s (%s) to %s%s\n", replay.FormatLSN(pl.Start.LSN), pl.Start.Source, replay.FormatLSN(pl.EndLSN), estimate)
}

func (p *replayPrinter) event(e replay.Event) {
	switch e := e.(type) {
	case replay.Step:
		fmt.Fprintf(p.w, "pgrescue: %s\n", e.Title)
		if e.Detail != "" && p.verbose {
			fmt.Fprintf(p.w, "  %s\n", e.Detail)
		}
	case replay.Warning:
		fmt.Fprintf(p.w, "WARNING: %s\n", e.Message)
	case replay.Milestone:
		fmt.Fprintf(p.w, "== %s: %s\n", e.Name, e.Detail)
	case replay.ProgressUpdate:
		if line := e.String(); line != p.last {
			fmt.Fprintln(p.w, line)
			p.last = line
		}
	case replay.LogLine:
		p.logLine(e)
	case replay.PrefetchActivity:
		if f, ok := e.Event.(prefetch.FetchFailed); ok {
			fmt.Fprintf(p.w, "prefetch: %s failed: %v\n", f.Name, f.Err)
		}
	}
}

// logLine prints the lines an engineer watching `tail -f` would look for:
// restored files, failures and restore_command's own output; all with -v.
func (p *replayPrinter) logLine(e replay.LogLine) {
	show := p.verbose
	switch ev := e.Event.(type) {
	case *pglog.RestoredFile:
		show = true
	case *pglog.Fatal:
		show = ev.FromStartup || p.verbose
	case *pglog.RestoreCommandOutput, *pglog.RestoreCommandFailed:
		show = true
	}
	if show {
		fmt.Fprintf(p.w, "log: %s\n", e.Text)
	}
}

// printReplaySummary is the replay's own summary, for the replay command,
// which restores no base backup and has no next steps of its own.
func printReplaySummary(out io.Writer, r *replay.Result) {
	p := r.Prepared
	fmt.Fprintf(out, "replayed %s (PostgreSQL %s) from backup %s to %s\n", p.DataDir, p.Version, p.Backup.Name, describeTarget(p.Settings.Target))
	printLines(out, r.Summary())
	fmt.Fprintf(out, "    it runs with archive_mode=off: it will not archive into the production archive. Before turning archiving on\n")
	fmt.Fprintf(out, "    (start it without pgrescue's -o options), check archive_command does not point at the archive you restored from.\n")
}

func printLines(out io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

// targetFlags are the recovery target's flags, shared by replay and
// restore wal-e: one of a time, a transaction, an LSN, a restore point or
// the end of the base backup, and whether to stop just before it.
type targetFlags struct {
	time, lsn, name, special string
	xid                      uint32
	exclusive                bool
}

func (tf *targetFlags) add(f *pflag.FlagSet) {
	f.StringVar(&tf.time, "target-time", "", "recover up to this time (default: the end of the archive)")
	f.Uint32Var(&tf.xid, "target-xid", 0, "recover up to this transaction's commit (wal-inspect shows each one's xid)")
	f.StringVar(&tf.lsn, "target-lsn", "", "recover up to this WAL location, e.g. 16/B374D848 (PostgreSQL 10 and later)")
	f.StringVar(&tf.name, "target-name", "", "recover up to this restore point (pg_create_restore_point)")
	f.StringVar(&tf.special, "target", "", "immediate: stop as soon as the base backup is consistent (9.4 and later)")
	f.BoolVar(&tf.exclusive, "target-exclusive", false, "stop just before the target, not after it: with --target-xid, its changes are not applied")
}

// parse reads the flags given, refusing two targets at once.
func (tf *targetFlags) parse(cmd *cobra.Command) (recovery.Target, error) {
	t, err := parseTarget(cmd, tf.time)
	if err != nil {
		return t, err
	}
	var given []string
	for _, name := range []string{"target-time", "target-xid", "target-lsn", "target-name", "target"} {
		if cmd.Flags().Changed(name) {
			given = append(given, "--"+name)
		}
	}
	if len(given) > 1 {
		return t, problem.New(problem.Usage, strings.Join(given, ", "), "give one recovery target, not "+strings.Join(given, " and "),
			"PostgreSQL stops at the first it meets: choose the one you mean (wal-inspect shows a transaction's xid, LSN and time)")
	}
	t.Xid, t.Name, t.Exclusive = tf.xid, tf.name, tf.exclusive
	if cmd.Flags().Changed("target-xid") && tf.xid < 3 {
		return t, problem.New(problem.Usage, "--target-xid", "transaction ids below 3 are PostgreSQL's own", "give the xid wal-inspect shows")
	}
	if tf.lsn != "" {
		if t.LSN, err = recovery.ParseTargetLSN(tf.lsn); err != nil {
			return t, err
		}
	}
	switch tf.special {
	case "":
	case "immediate":
		t.Immediate = true
	default:
		return t, problem.New(problem.Usage, "--target "+tf.special, "--target takes only immediate", "use --target-time, --target-xid, --target-lsn or --target-name for the others")
	}
	if tf.exclusive && t.IsEndOfArchive() {
		return t, problem.New(problem.Usage, "--target-exclusive", "--target-exclusive needs a target to stop before", "add --target-xid, --target-lsn or --target-time")
	}
	return t, nil
}
