package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/prefetch"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/restore/walinspect"
	"pgrescue/shellcmd"
)

// walInspect holds wal-inspect's flags.
type walInspect struct {
	backup, from, to string
	database         uint32
	databaseName     string
	minRows          int
	waldump, tempDir string
	dsn, psql        string
	scout            bool
	asJSON, dryRun   bool
}

func (cl *commandLine) walInspectCommand() *cobra.Command {
	w := &walInspect{}
	cmd := &cobra.Command{
		Use:   "wal-inspect [--backup NAME|LATEST] [--from T] [--to T] [--json]",
		Short: "Show what happened in the archived WAL: the transactions that deleted, updated or dropped the most",
		Long: "Fetch the archived WAL of the window (from the backup's start, narrowed by --from and --to) and read it\n" +
			"with the server's own pg_waldump of the archive's major version. List, by commit time, the transactions\n" +
			"that deleted or updated many rows (--min-rows), truncated or dropped a relation, or changed the schema,\n" +
			"with each one's commit time, xid and LSN: the recovery target that stops just before it. A segment\n" +
			"missing from the archive is reported as a gap and the inspection goes on after it. Relations are shown\n" +
			"as tablespace/database/relfilenode. --from and --to take the forms --target-time takes.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return w.run(cmd.Context(), cl, cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&w.backup, "backup", "LATEST", "the base backup whose WAL to read")
	f.StringVar(&w.from, "from", "", "the earliest commit time to show (default: the backup's start)")
	f.StringVar(&w.to, "to", "", "the latest commit time to show (default: the end of the archive)")
	f.StringVar(&w.databaseName, "database", "", "only this database's relations, by name (its OID is read from --dsn's or --scout's catalog)")
	f.Uint32Var(&w.database, "database-oid", 0, "only this database's relations, by OID (as in base/OID), when no catalog can be read")
	intInRange(f, &w.minRows, "min-rows", 100, 1, 1<<30, "rows deleted or updated that make a transaction worth showing")
	f.StringVar(&w.waldump, "pg-waldump", "", "the pg_waldump to use (default: the one of the archive's major version)")
	f.StringVar(&w.tempDir, "tempdir", "", "a folder with room for 300 MiB of WAL (two chunks of segments)")
	f.StringVar(&w.dsn, "dsn", "", "a server whose catalog names the relations: libpq's host=… port=… user=… (no dbname)")
	f.StringVar(&w.psql, "psql", "", "the psql that queries --dsn (default: psql on PATH)")
	f.BoolVar(&w.scout, "scout", false, "name relations from the base backup's own catalog: it is restored to a scratch copy in --tempdir\n"+
		"(room for the whole backup), recovered to its end, read, then stopped and removed; names even relations dropped since")
	f.BoolVar(&w.asJSON, "json", false, "print JSON")
	f.BoolVar(&w.dryRun, "dry-run", false, "print the equivalent shell commands (fetch each segment, run pg_waldump) and fetch nothing")
	return cmd
}

func (w *walInspect) run(ctx context.Context, cl *commandLine, cmd *cobra.Command) error {
	from, err := w.time("--from", w.from)
	if err != nil {
		return err
	}
	to, err := w.time("--to", w.to)
	if err != nil {
		return err
	}
	if w.databaseName != "" && w.dsn == "" && !w.scout {
		return problem.New(problem.Usage, "--database "+w.databaseName, "a database name needs a catalog to find its OID",
			"add --dsn (a server that has it) or --scout (the base backup's catalog), or give its OID with --database-oid")
	}
	archive, _, err := cl.session().OpenArchive(ctx)
	if err != nil {
		return err
	}
	log := cmd.ErrOrStderr()
	// The backup and the names first: a catalog that cannot be read, or a
	// database it does not have, fails before the long read.
	b, _, err := archive.Select(ctx, w.backup)
	if err != nil {
		return err
	}
	if w.dryRun {
		cmds, err := walinspect.Commands(ctx, archive, b, walinspect.Request{Waldump: w.waldump, TempDir: w.tempDir,
			Options: walinspect.Options{From: from, To: to}})
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), shellcmd.Script(cmds))
		return nil
	}
	names, err := w.names(ctx, cl, archive, b.Name, log)
	if err != nil {
		return err
	}
	database, err := w.databaseOID(names)
	if err != nil {
		return err
	}
	req := walinspect.Request{Waldump: w.waldump, TempDir: w.tempDir,
		Options: walinspect.Options{MinRows: int64(w.minRows), From: from, To: to, Database: database}}
	last := time.Time{}
	res, err := walinspect.InspectWindow(ctx, archive, b, req, func(e walinspect.Event) {
		if time.Since(last) > 2*time.Second || e.Done == e.Total && e.Segment != "" {
			last = time.Now()
			fmt.Fprintf(log, "fetched %d of %d segments; %d records read\n", e.Done, e.Total, e.Records)
		}
	})
	if err != nil {
		return err
	}
	if w.asJSON {
		return writeJSON(cmd.OutOrStdout(), struct {
			*walinspect.Inspection
			Names map[string]string `json:",omitempty"`
		}{res, namesUsed(res, names)})
	}
	writeInspection(cmd.OutOrStdout(), res, b.Name, names, time.Local)
	return nil
}

// databaseOID is --database's OID in the names read, or --database-oid.
func (w *walInspect) databaseOID(names *walinspect.Names) (uint32, error) {
	if w.databaseName == "" {
		return w.database, nil
	}
	if oid, ok := names.DatabaseOID(w.databaseName); ok {
		return oid, nil
	}
	return 0, problem.New(problem.Usage, "--database "+w.databaseName, "no database of that name in "+names.Source,
		"choose one of: "+strings.Join(names.DatabaseNames(), ", "))
}

// names reads relation names from --dsn's catalog and, with --scout, from
// the backup's own: the live server's name wins, the backup's names what
// the server no longer has. Neither: nil, numbers are shown.
func (w *walInspect) names(ctx context.Context, cl *commandLine, archive *wale.Archive, backup string, log io.Writer) (*walinspect.Names, error) {
	var names *walinspect.Names
	if w.dsn != "" {
		catalog := walinspect.Catalog{Server: pgdump.Server{DSN: w.dsn, Psql: w.psql}, Source: w.dsn}
		var err error
		if names, err = catalog.Load(ctx); err != nil {
			return nil, err
		}
	}
	if !w.scout {
		return names, nil
	}
	opts := replay.Options{Prefetch: prefetch.DefaultAhead}
	if err := cl.session().ReplayOptions(&opts, ""); err != nil {
		return nil, err
	}
	scout := walinspect.Scout{Archive: archive, Backup: backup, TempDir: w.tempDir, Replay: opts}
	fromBackup, err := scout.Names(ctx, func(step walinspect.ScoutStep) { fmt.Fprintf(log, "scout: %s\n", step) })
	if err != nil {
		return nil, err
	}
	return names.With(fromBackup), nil
}

// namesUsed are the names of the relation files the transactions shown touch.
func namesUsed(res *walinspect.Inspection, names *walinspect.Names) map[string]string {
	if names == nil {
		return nil
	}
	used := map[string]string{}
	for _, tx := range res.Transactions {
		for _, rel := range append(append(tx.Relations(), tx.Removed...), tx.Created...) {
			if name := names.File(rel); name != rel.String() {
				used[rel.String()] = name
			}
		}
	}
	return used
}

func (w *walInspect) time(flag, text string) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	t, err := recovery.ParseTargetTimeOn(text, time.Local, time.Now())
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", flag, err)
	}
	return t.Time, nil
}

// writeInspection prints the destructive transactions, then the minutes.
// backup is the base backup whose WAL was read: every transaction shown
// comes after its start, so a replay from it reaches them.
func writeInspection(out io.Writer, in *walinspect.Inspection, backup string, names *walinspect.Names, zone *time.Location) {
	fmt.Fprintf(out, "WAL %s to %s (PostgreSQL %s, read by %s): %d records\n", in.From, in.To, versionText(in.Version), in.Waldump, in.Records)
	for _, g := range in.Gaps {
		fmt.Fprintf(out, "GAP: the archive has no WAL between %s and %s; transactions across it are not shown whole\n", g.After, g.Before)
	}
	if len(in.Transactions) == 0 {
		fmt.Fprintln(out, "no transaction deleted or updated many rows, dropped or truncated a relation, or changed the schema")
	}
	if names == nil {
		fmt.Fprintln(out, "relations are shown as tablespace/database/relfilenode: give --dsn to name them from a server's catalog,\n"+
			"or --scout to name them from the base backup's (restored to a scratch copy, then removed)")
	} else {
		fmt.Fprintf(out, "relations named from %s\n", names.Source)
	}
	for _, tx := range in.Transactions {
		fmt.Fprintln(out, describeTx(tx, backup, names, zone))
	}
	fmt.Fprintln(out, "per minute (UTC):")
	for _, m := range in.Minutes {
		fmt.Fprintf(out, "  %s  %d commits, %d aborts; rows +%d ~%d -%d\n", m.At.UTC().Format("2006-01-02 15:04"),
			m.Commits, m.Aborts, m.Rows.Inserted, m.Rows.Updated, m.Rows.Deleted)
	}
	if in.Unfinished > 0 {
		fmt.Fprintf(out, "%d transactions had not ended where the WAL read stops\n", in.Unfinished)
	}
}

// versionText names the version that wrote the WAL; zero when pgrescue did
// not know it and the engineer's --pg-waldump read it.
func versionText(v recovery.Version) string {
	if v == (recovery.Version{}) {
		return "read with --pg-waldump"
	}
	return v.String()
}

// describeTx is one transaction: when, what, and the targets that stop
// just before it.
func describeTx(tx *walinspect.Tx, backup string, names *walinspect.Names, zone *time.Location) string {
	verb := "COMMIT"
	if !tx.Committed {
		verb = "ABORT"
	}
	what := tx.What(names)
	local := tx.At.In(zone).Format("2006-01-02 15:04:05.000000 MST")
	return fmt.Sprintf("xid %d %s %s (%s) at LSN %s\n    %s\n    to stop just before it: --backup %s --target-xid %d --target-exclusive (exact: this transaction and no other),\n"+
		"    or --target-time %q (commits in the same microsecond are lost with it)",
		tx.Xid, verb, tx.At.UTC().Format("2006-01-02 15:04:05.000000 UTC"), local, tx.LSN, strings.Join(what, "; "),
		backup, tx.Xid, tx.At.Add(-time.Microsecond).UTC().Format("2006-01-02 15:04:05.000000+00"))
}
