package cli

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// dumpSourceFlags are the settings every legacy pg_dump command shares:
// where the tree is and how to read it.
type dumpSourceFlags struct {
	source         string
	zone           string
	passphraseFile string
	tempDir        string
	sshOptions     []string
}

func (d *dumpSourceFlags) add(f *pflag.FlagSet) {
	f.StringVar(&d.source, "source", pgdump.DefaultDir, "where the dumps are: a directory (the primary's mount point), ssh://[user@]host[:port]/path (the backup machine), or a duplicity URL (file://, s3://, boto3+s3://)")
	f.StringVar(&d.zone, "timezone", "Local", "the primary's time zone, in which the file names give the time")
	f.StringVar(&d.passphraseFile, "passphrase-file", "", "duplicity: a file holding the archive's GPG passphrase (or PASSPHRASE in the environment)")
	f.StringVar(&d.tempDir, "tempdir", "", "duplicity: a folder with room for the restored dump (duplicity's --tempdir)")
	f.StringArrayVar(&d.sshOptions, "ssh-option", nil, "ssh: an option for ssh -o (repeatable), e.g. IdentityFile=~/.ssh/backup")
}

// open builds the source; the returned function releases what it holds
// (duplicity's restored files).
func (d *dumpSourceFlags) open(cl *commandLine, log io.Writer) (pgdump.Source, *time.Location, func(), error) {
	loc, err := time.LoadLocation(d.zone)
	if err != nil {
		return nil, nil, nil, problem.Wrap(err, problem.Usage, "--timezone "+d.zone, "not a time zone name", "give one such as UTC or Europe/London: the primary's zone, in which the file names were written")
	}
	opts := pgdump.SourceOptions{TempDir: d.tempDir, Progress: func(s string) { fmt.Fprintln(log, "duplicity: "+s) }}
	for _, o := range d.sshOptions {
		opts.SSHOptions = append(opts.SSHOptions, "-o", o)
	}
	if d.passphraseFile != "" {
		data, err := os.ReadFile(d.passphraseFile)
		if err != nil {
			return nil, nil, nil, problem.Wrap(err, problem.PassphraseNeeded, d.passphraseFile, "cannot read the passphrase file", "give a readable file holding only the passphrase")
		}
		opts.Passphrase = strings.TrimRight(string(data), "\r\n")
		cl.journal.AddSecret(opts.Passphrase)
	}
	if p := os.Getenv("PASSPHRASE"); p != "" {
		cl.journal.AddSecret(p)
	}
	src, err := pgdump.ParseSource(d.source, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	release := func() {}
	if c, ok := src.(io.Closer); ok {
		release = func() { c.Close() }
	}
	return src, loc, release, nil
}

// notes prints what a source says about itself (duplicity: how stale).
func sourceNotes(w io.Writer, src pgdump.Source) {
	if n, ok := src.(interface{ Notes() []string }); ok {
		for _, line := range n.Notes() {
			fmt.Fprintln(w, "note: "+line)
		}
	}
}

func (cl *commandLine) dumpListCommand() *cobra.Command {
	var src dumpSourceFlags
	var database string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dump-list [--source SRC] [--database DB] [--json]",
		Short: "List the legacy nightly pg_dump files (autopostgresqlbackup), newest first",
		Long: "Read an autopostgresqlbackup tree (daily/, weekly/, monthly/, latest/, latest.tbz2) on the primary's\n" +
			"mount point, on the onsite backup machine over ssh, or in the offsite duplicity archive, and name every\n" +
			"dump: database, kind, when it was taken (its name's time, in --timezone), size, compression, and\n" +
			"whether it is encrypted. Files that match no name autopostgresqlbackup writes are listed as not\n" +
			"recognised.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			source, loc, release, err := src.open(cl, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer release()
			l, err := pgdump.List(cmd.Context(), source, loc)
			if err != nil {
				return err
			}
			if database != "" {
				l.Dumps = onlyDatabase(l.Dumps, database)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			writeDumps(cmd.OutOrStdout(), l)
			sourceNotes(cmd.OutOrStdout(), source)
			return nil
		},
	}
	f := cmd.Flags()
	src.add(f)
	f.StringVar(&database, "database", "", "only this database's dumps (and the dumps of every database)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// pgDumpRestore holds restore pg-dump's flags.
type pgDumpRestore struct {
	src       dumpSourceFlags
	req       pgdump.Request
	replace   bool
	confirm   string
	terminate bool
	yes       bool
	dryRun    bool
}

func (cl *commandLine) restorePgDumpCommand() *cobra.Command {
	r := &pgDumpRestore{}
	cmd := &cobra.Command{
		Use:   "pg-dump --database DB [--source SRC] [--dump NAME|LATEST] [--into NEWDB] [--globals] [--replace] [--jobs N] --yes",
		Short: "Restore a legacy nightly pg_dump into a new database, checked and verified",
		Long: "Find the dump (newest of the database unless --dump), read it whole once to check it is complete and\n" +
			"of the right database, check the server, the roles the dump needs and that the new name is free, print\n" +
			"the plan with its shell commands, then load it with psql into a new database (by default\n" +
			"<db>_restored_<UTC time>; the dump's CREATE DATABASE and \\connect are rewritten on the fly) and compare\n" +
			"every table's rows and every sequence with the dump. A failed load is kept as <name>_incomplete.\n" +
			"--replace then swaps it in by renaming, keeping the old database as <db>_before_<time>; pgrescue\n" +
			"never drops a database. The server is reached as psql would: -h/-p/-U, PGHOST, PGPORT, PGUSER,\n" +
			"~/.pgpass. Nothing changes without --yes; --dry-run prints the checks and the plan.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.run(cmd.Context(), cl, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.Bool("help", false, "help for pg-dump") // -h is the host, as in psql
	r.src.add(f)
	f.StringVar(&r.req.Database, "database", "", "the database whose dump to restore")
	f.StringVar(&r.req.Dump, "dump", "", "the dump's file name from dump-list, or LATEST (default: the newest)")
	f.StringVar(&r.req.Into, "into", "", "the new database's name (default <db>_restored_<UTC yyyymmddThhmm>)")
	f.BoolVar(&r.req.Globals, "globals", false, "create the roles the dump needs from that night's postgres_globals dump (existing roles are left alone)")
	f.StringVar(&r.req.SMIMEKey, "smime-key", "", "private key to decrypt .enc dumps (autopostgresqlbackup's ENCRYPTION=yes)")
	intInRange(f, &r.req.Jobs, "jobs", 1, 1, 16, "connections loading tables at once (schema first, indexes and constraints after)")
	f.StringVarP(&r.req.Server.Host, "host", "h", "", "server host or socket directory (default: PGHOST, else the local socket)")
	f.StringVarP(&r.req.Server.Port, "port", "p", "", "server port (default: PGPORT, else 5432)")
	f.StringVarP(&r.req.Server.User, "username", "U", "", "user to connect as (default: PGUSER, else your login); passwords come from ~/.pgpass or PGPASSWORD")
	f.StringVar(&r.req.Server.Psql, "psql", "", "the psql program (default: psql on PATH; use one at least as new as the dump's pg_dump)")
	f.BoolVar(&r.replace, "replace", false, "after a verified restore, give the restored database the original name (the old one is kept as <db>_before_<time>)")
	f.StringVar(&r.confirm, "confirm", "", "--replace without a terminal: the database's name, typed again")
	f.BoolVar(&r.terminate, "terminate-sessions", false, "--replace: end the sessions connected to the old database (else the swap waits for none)")
	f.BoolVar(&r.yes, "yes", false, "carry out the plan (without it, the plan is printed and nothing runs)")
	f.BoolVar(&r.dryRun, "dry-run", false, "print the checks and the plan and change nothing")
	return cmd
}

func (r *pgDumpRestore) run(ctx context.Context, cl *commandLine, out, log io.Writer) error {
	source, loc, release, err := r.src.open(cl, log)
	if err != nil {
		return err
	}
	defer release()
	r.req.Source, r.req.Location = source, loc
	r.req.Server.AsPostgresWhenRoot()
	sourceNotes(log, source)
	fmt.Fprintln(log, "checking the dump's head, the server, the target name and the roles before anything changes")
	plan, err := pgdump.Prepare(ctx, r.req, newDumpProgress(log).event)
	if err != nil {
		return err
	}
	var swap *pgdump.Swap
	if r.replace {
		if swap, err = plan.Server.PlanSwap(ctx, plan.Database, plan.Into, plan.Now); err != nil {
			return err
		}
	}
	writeDumpPlan(out, plan, swap)
	cl.journal.Event("plan", shellcmd.Script(plan.Commands()))
	if r.dryRun {
		return nil
	}
	if !r.yes {
		return problem.New(problem.Usage, "--yes", "nothing was run: the plan above needs your go-ahead", "review it, then run the same command with --yes")
	}
	if swap != nil {
		ask := typedName{name: plan.Database, given: r.confirm, action: "--replace", what: "the database's name",
			prompt: "--replace will rename " + plan.Database + " (kept, never dropped) and give the restored database its name."}
		if err := ask.confirm(log); err != nil {
			return err
		}
	}
	res, err := plan.Run(ctx, newDumpProgress(log).event)
	if res != nil && (err == nil || problem.Is(err, problem.DumpVerifyFailed)) {
		writeDumpResult(out, plan, res)
	}
	if err != nil {
		return err
	}
	cl.journal.Event("restored", fmt.Sprintf("%s into %s: %d tables, %d rows, verified", plan.Dump.Path, res.Database, len(res.Verification.Tables), res.Verification.Rows()))
	if swap == nil {
		fmt.Fprintf(out, "next: point a client at %s to check it (%s), then use --replace or rename it yourself\n", res.Database, plan.Server.PsqlLine(res.Database))
		return nil
	}
	return r.swap(ctx, cl, plan, swap, out, log)
}

// swap waits for the old database's sessions to go (or ends them with
// --terminate-sessions) and renames.
func (r *pgDumpRestore) swap(ctx context.Context, cl *commandLine, plan *pgdump.Plan, swap *pgdump.Swap, out, log io.Writer) error {
	run := swap.Run
	if swap.Before != "" {
		sessions, err := plan.Server.Sessions(ctx, swap.Database)
		if err != nil {
			return err
		}
		for _, s := range sessions {
			fmt.Fprintln(log, "connected to "+swap.Database+": "+s.String())
		}
		terminate := r.terminate
		if len(sessions) > 0 && !terminate && term.IsTerminal(int(os.Stdin.Fd())) {
			if sessions, terminate, err = askAboutSessions(ctx, plan.Server, swap.Database, sessions, log); err != nil {
				return err
			}
		}
		if len(sessions) > 0 && !terminate {
			return pgdump.SessionsError(swap.Database, sessions)
		}
		if len(sessions) > 0 {
			fmt.Fprintf(log, "--terminate-sessions: ending %d session(s)\n", len(sessions))
			cl.journal.Event("terminate", fmt.Sprintf("%d sessions on %s", len(sessions), swap.Database))
			run = swap.RunEndingSessions
		}
	}
	if err := run(ctx, plan.Server); err != nil {
		return err
	}
	cl.journal.Event("replaced", fmt.Sprintf("%s is now the restored database; the old one is %s", swap.Database, cmp.Or(swap.Before, "(none existed)")))
	if swap.Before != "" {
		fmt.Fprintf(out, "replaced: %s is the restored database; the old one is kept as %s (drop it yourself once the application is verified)\n", swap.Database, swap.Before)
	} else {
		fmt.Fprintf(out, "replaced: %s is the restored database (there was no database of that name)\n", swap.Database)
	}
	return nil
}

// askAboutSessions offers, on a terminal, to wait for the sessions on db to
// go (the application being stopped meanwhile) or to end them, which takes
// a second, typed confirmation. It returns the sessions still there and
// whether to end them.
func askAboutSessions(ctx context.Context, s pgdump.Server, db string, sessions []pgdump.Session, log io.Writer) ([]pgdump.Session, bool, error) {
	in := bufio.NewReader(os.Stdin)
	for len(sessions) > 0 {
		fmt.Fprintf(log, "%d session(s) are connected to %s, which PostgreSQL will not rename while in use.\n"+
			"[w]ait for them to go (stop the application meanwhile), [t]erminate them, or [a]bort? ", len(sessions), db)
		answer, _ := in.ReadString('\n')
		switch strings.TrimSpace(answer) {
		case "w":
			var err error
			if sessions, err = waitForSessions(ctx, s, db, log); err != nil {
				return nil, false, err
			}
		case "t":
			fmt.Fprintf(log, "Ending them drops the application's connections, which reconnect. Type yes to end %d session(s): ", len(sessions))
			if confirm, _ := in.ReadString('\n'); strings.TrimSpace(confirm) == "yes" {
				return sessions, true, nil
			}
		default:
			return sessions, false, nil
		}
	}
	return nil, false, nil
}

// waitForSessions polls until no session is left on db, saying how many
// remain when the number changes; ctrl+c stops the wait.
func waitForSessions(ctx context.Context, s pgdump.Server, db string, log io.Writer) ([]pgdump.Session, error) {
	last := -1
	for {
		sessions, err := s.Sessions(ctx, db)
		if err != nil || len(sessions) == 0 {
			return sessions, err
		}
		if len(sessions) != last {
			fmt.Fprintf(log, "waiting: %d session(s) on %s (ctrl+c stops)\n", len(sessions), db)
			last = len(sessions)
		}
		select {
		case <-ctx.Done():
			return nil, problem.Wrap(ctx.Err(), problem.Interrupted, db, "stopped waiting for the sessions; the restored database is kept under its own name", "")
		case <-time.After(2 * time.Second):
		}
	}
}

// writeDumpPlan prints what will happen, as a commented shell script.
func writeDumpPlan(w io.Writer, p *pgdump.Plan, swap *pgdump.Swap) {
	d := p.Dump
	fmt.Fprintf(w, "# plan: restore %s's %s dump of %s (%s, %s) into a new database %s on %s\n",
		p.Database, d.Kind, d.TakenAt.Format("2006-01-02 15:04 MST"), wale.HumanBytes(d.Size), d.Compression, p.Into, p.Server.String())
	fmt.Fprintf(w, "# the dump: %s, made by pg_dump %s from PostgreSQL %s; the server is %s\n",
		d.Path, cmp.Or(p.Head.DumpedBy, "?"), cmp.Or(p.Head.DumpedFrom, "?"), p.ServerVer)
	if p.Jobs > 1 {
		fmt.Fprintf(w, "# --jobs %d: the schema on one connection, the tables' COPY sections on %d, then indexes, constraints and grants\n", p.Jobs, p.Jobs)
	}
	fmt.Fprint(w, shellcmd.Script(p.Commands()))
	if swap != nil {
		fmt.Fprint(w, shellcmd.Script(swap.Commands(p.Server)))
	}
}

// writeDumpResult prints the verification.
func writeDumpResult(w io.Writer, p *pgdump.Plan, res *pgdump.Result) {
	if len(res.RolesCreated) > 0 {
		fmt.Fprintf(w, "roles created from %s: %s\n", p.GlobalsDump.Path, strings.Join(res.RolesCreated, ", "))
	}
	fmt.Fprintf(w, "restored %s into %s in %s (%d connection(s))\n", p.Dump.Path, res.Database, res.Took.Round(time.Second), res.Jobs)
	printLines(w, res.Verification.Lines())
	fmt.Fprintf(w, "verified: %d tables, %d rows, %d sequences match the dump\n", len(res.Verification.Tables), res.Verification.Rows(), len(res.Verification.Sequences))
}

// dumpProgress prints a restore's progress on stderr: a rewritten line on
// a terminal, a line every few seconds in a log.
type dumpProgress struct {
	w        io.Writer
	terminal bool
	last     time.Time
	stage    pgdump.Stage
}

func newDumpProgress(w io.Writer) *dumpProgress {
	return &dumpProgress{w: w, terminal: stderrIsTerminal()}
}

func (p *dumpProgress) event(e pgdump.Event) {
	if e.Stage != p.stage {
		if p.terminal && p.stage != "" {
			fmt.Fprintln(p.w)
		}
		p.stage = e.Stage
		p.last = time.Time{}
	}
	line := e.String()
	switch {
	case p.terminal:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	case time.Since(p.last) >= 5*time.Second:
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}
