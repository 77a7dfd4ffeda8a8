package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"pgrescue/problem"
	"pgrescue/restore/prefetch"
	"pgrescue/restore/wale"
)

func (cl *commandLine) backupListCommand() *cobra.Command {
	var detail, asJSON bool
	cmd := &cobra.Command{
		Use:   "backup-list [--detail] [QUERY]",
		Short: "List base backups as WAL-E does (tab-separated), or one by name or LATEST",
		Long: "List the archive's complete base backups, in WAL-E's tab-separated columns and order.\n" +
			"QUERY is a full backup name or LATEST (the most recently completed backup).\n" +
			"--detail reads each backup's sentinel for its size and stop segment.",
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			archive, _, err := cl.session().OpenArchive(ctx)
			if err != nil {
				return err
			}
			var backups []wale.Backup
			var latest wale.Backup
			if len(args) == 1 {
				b, all, err := archive.Select(ctx, args[0])
				if err != nil {
					return err
				}
				backups = []wale.Backup{b}
				latest, _ = wale.Latest(all)
			} else {
				if backups, err = archive.ListBackups(ctx); err != nil {
					return err
				}
				latest, _ = wale.Latest(backups)
			}
			if detail || asJSON {
				if err := archive.LoadAllDetails(ctx, backups); err != nil {
					return err
				}
			}
			if asJSON {
				return writeBackupsJSON(cmd.OutOrStdout(), backups, latest.Name)
			}
			return wale.WriteBackupList(cmd.OutOrStdout(), backups)
		},
	}
	cmd.Flags().BoolVar(&detail, "detail", false, "read each sentinel: expanded size and stop segment")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (implies --detail)")
	return cmd
}

type backupJSON struct {
	Name              string    `json:"name"`
	LastModified      time.Time `json:"last_modified"`
	ExpandedSizeBytes int64     `json:"expanded_size_bytes"`
	StartSegment      string    `json:"wal_segment_backup_start"`
	StartOffset       string    `json:"wal_segment_offset_backup_start"`
	StopSegment       string    `json:"wal_segment_backup_stop"`
	StopOffset        string    `json:"wal_segment_offset_backup_stop"`
	Latest            bool      `json:"latest"`
	Spec              any       `json:"spec,omitempty"`
}

func writeBackupsJSON(out io.Writer, backups []wale.Backup, latest string) error {
	rows := []backupJSON{}
	for _, b := range backups {
		r := backupJSON{Name: b.Name, LastModified: b.LastModified.UTC(), StartSegment: b.Start.String(), StartOffset: b.Offset, Latest: b.Name == latest}
		if s := b.Sentinel; s != nil {
			r.ExpandedSizeBytes, r.StopSegment, r.StopOffset = s.ExpandedSizeBytes, s.StopSegment, s.StopOffset
			if len(s.Spec) > 0 {
				r.Spec = json.RawMessage(s.Spec)
			}
		}
		rows = append(rows, r)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func (cl *commandLine) backupFetchCommand() *cobra.Command {
	var opts wale.FetchOptions
	var dryRun bool
	var mapping func() (map[string]string, error)
	cmd := &cobra.Command{
		Use:   "backup-fetch PGDATA NAME|LATEST",
		Short: "Restore a base backup into a data directory (parallel, streamed, verified)",
		Long: "Download a base backup's tar partitions in parallel and extract them into PGDATA, decrypting\n" +
			"and decompressing on the way. Refuses a data directory with postmaster.pid, and a non-empty one\n" +
			"unless --move-aside (which renames it, never deletes it). Progress goes to stderr, the summary to stdout.",
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DataDir, opts.Backup = args[0], args[1]
			var err error
			if opts.TablespaceMapping, err = mapping(); err != nil {
				return err
			}
			ctx := cmd.Context()
			archive, _, err := cl.session().OpenArchive(ctx)
			if err != nil {
				return err
			}
			if dryRun {
				return printFetchPlan(cmd, archive, opts)
			}
			progress := newProgressPrinter(os.Stderr, stderrIsTerminal())
			res, err := archive.FetchBackup(ctx, opts, progress.event)
			progress.finish()
			if err != nil {
				return err
			}
			printFetchSummary(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	intInRange(f, &opts.Workers, "pool-size", 4, 1, maxPoolSize, "partitions to fetch at once")
	f.BoolVar(&opts.BlindRestore, "blind-restore", false, "put tablespaces inside the data directory instead of requiring their symlinks")
	mapping = tablespaceMapping(f)
	f.BoolVar(&opts.MoveAside, "move-aside", false, "rename a non-empty PGDATA to PGDATA.pgrescue-<time> first (never deletes)")
	f.BoolVar(&opts.NoSync, "no-sync", false, "do not flush the restored files to disk at the end (scratch copies only: a machine crash can lose them)")
	f.BoolVar(&dryRun, "dry-run", false, "print the equivalent shell commands and change nothing")
	return cmd
}

func printFetchPlan(cmd *cobra.Command, archive *wale.Archive, opts wale.FetchOptions) error {
	ctx := cmd.Context()
	b, _, err := archive.Select(ctx, opts.Backup)
	if err != nil {
		return err
	}
	parts, _, err := archive.Partitions(ctx, b.Name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "# dry run: backup-fetch of %s into %s (nothing is changed)\n", b.Name, opts.DataDir)
	for _, c := range archive.FetchCommands(b, parts, opts) {
		fmt.Fprintf(out, "# %s\n%s\n", c.Why, c.Line)
	}
	return nil
}

func printFetchSummary(out io.Writer, r *wale.FetchResult) {
	rate := 0.0
	if s := r.Duration.Seconds(); s > 0 {
		rate = float64(r.Bytes) / s
	}
	fmt.Fprintf(out, "restored %s into %s\n", r.Backup.Name, r.DataDir)
	fmt.Fprintf(out, "  %d files, %s in %d partition(s), %s downloaded, in %s (%s/s)\n", r.Files, wale.HumanBytes(r.Bytes),
		r.Partitions, wale.HumanBytes(r.Downloaded), r.Duration.Round(time.Millisecond), wale.HumanBytes(int64(rate)))
	if r.MovedAsideTo != "" {
		fmt.Fprintf(out, "  the previous data directory is kept at %s\n", r.MovedAsideTo)
	}
	if !r.Synced {
		fmt.Fprintf(out, "  not flushed to disk (--no-sync): run `sync -f %s` before trusting it to survive a crash\n", r.DataDir)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
}

// walFetchExitCode is restore_command's contract: 0 fetched, 1 not in the
// archive (PostgreSQL then tries elsewhere or ends recovery), 2 anything else.
func walFetchExitCode(err error) int {
	if problem.Is(err, problem.NotFound) {
		return 1
	}
	return 2
}

// walFetchAbortExit is wal-fetch's status for a failure under replay's
// --abort-on-error. PostgreSQL reads any status up to 125 as "not in the
// archive" and would end recovery and promote at that point; a status above
// 128 makes it stop with FATAL instead, so a broken key or a refused request
// can never pass for the end of the archive.
const walFetchAbortExit = 200

func walFetchAbortExitCode(err error) int {
	if problem.Is(err, problem.NotFound) {
		return 1
	}
	return walFetchAbortExit
}

func (cl *commandLine) walFetchCommand() *cobra.Command {
	var prefetchAhead int
	var socket string
	var abortOnError bool
	cmd := &cobra.Command{
		Use:   "wal-fetch WAL_NAME DEST",
		Short: "Fetch one WAL file for restore_command (exit 1 when it is not in the archive)",
		Long: "Fetch one archived WAL file (segment, .history, .backup or .partial) to DEST, atomically.\n" +
			"Exit status: 0 fetched; 1 not in the archive (PostgreSQL's normal end-of-archive answer);\n" +
			"2 any other failure, after bounded retries. Use as\n" +
			"  restore_command = 'pgrescue --envdir /etc/wal-e/env.d wal-fetch \"%f\" \"%p\"'\n\n" +
			"`pgrescue replay` writes a restore_command with --prefetch-socket (ask the replay's prefetcher,\n" +
			"which holds the unlocked key, and fall back to fetching directly when it is gone) and\n" +
			"--abort-on-error (exit 200 on failures, so PostgreSQL stops instead of promoting early).",
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl.exitCode = walFetchExitCode
			if abortOnError {
				cl.exitCode = walFetchAbortExitCode
			}
			name, dest := args[0], args[1]
			if socket != "" {
				done, err := cl.walFetchVia(cmd, socket, name, dest)
				if done || err != nil {
					return err
				}
			}
			return cl.walFetchDirect(cmd, name, dest)
		},
	}
	intInRange(cmd.Flags(), &prefetchAhead, "prefetch", 0, 0, maxPrefetch, "accepted for WAL-E compatibility; prefetching is done by `pgrescue replay`")
	cmd.Flags().StringVar(&socket, "prefetch-socket", "", "ask the prefetcher of a running `pgrescue replay` on this socket first")
	cmd.Flags().BoolVar(&abortOnError, "abort-on-error", false, "exit 200 on any failure other than not-found, so PostgreSQL stops recovery")
	return cmd
}

// walFetchVia asks replay's prefetcher for the file. done is false when no
// prefetcher answers: the caller then fetches the file itself.
func (cl *commandLine) walFetchVia(cmd *cobra.Command, socket, name, dest string) (done bool, err error) {
	// restore_command gives %p relative to the data directory, which is
	// our working directory; the staged file is moved there by us, not by
	// the prefetcher, which may run as another user.
	staged, err := prefetch.Request(cmd.Context(), socket, name)
	if errors.Is(err, prefetch.ErrNoServer) {
		fmt.Fprintf(cmd.ErrOrStderr(), "pgrescue: no prefetcher on %s; fetching %s directly\n", socket, name)
		return false, nil
	}
	if err != nil {
		return true, err
	}
	// Quiet on success: PostgreSQL logs "restored log file" itself.
	return true, prefetch.Deliver(staged, dest)
}

func (cl *commandLine) walFetchDirect(cmd *cobra.Command, name, dest string) error {
	ctx := cmd.Context()
	archive, _, err := cl.session().OpenArchive(ctx)
	if err != nil {
		return err
	}
	res, err := archive.FetchWAL(ctx, name, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "pgrescue: restored %s (%s) from %s\n", res.Name, wale.HumanBytes(res.Bytes), archive.Store.URI(res.Key))
	return nil
}

func (cl *commandLine) walListCommand() *cobra.Command {
	var backupQuery string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "wal-list [--backup NAME|LATEST]",
		Short: "List archived WAL files and check there is no gap from a backup to the newest segment",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			archive, _, err := cl.session().OpenArchive(ctx)
			if err != nil {
				return err
			}
			b, _, err := archive.Select(ctx, backupQuery)
			if err != nil {
				return err
			}
			objects, ignored, err := archive.ListWAL(ctx)
			if err != nil {
				return err
			}
			c := wale.CheckContinuity(b.Start, objects, archive.SegmentSize)
			if asJSON {
				return writeWALJSON(cmd.OutOrStdout(), b, objects, ignored, c)
			}
			writeWALText(cmd.OutOrStdout(), b, objects, ignored, c)
			return nil
		},
	}
	cmd.Flags().StringVar(&backupQuery, "backup", "LATEST", "the base backup replay would start from")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeWALText(out io.Writer, b wale.Backup, objects []wale.WALObject, ignored []string, c wale.Continuity) {
	counts := map[wale.WALKind]int{}
	for _, o := range objects {
		counts[o.Kind]++
	}
	fmt.Fprintf(out, "WAL objects: %d segments, %d backup history, %d timeline history, %d partial\n",
		counts[wale.WALSegment], counts[wale.WALBackup], counts[wale.WALHistory], counts[wale.WALPartial])
	for _, k := range ignored {
		fmt.Fprintf(out, "ignored (not a WAL-E name): %s\n", k)
	}
	fmt.Fprintf(out, "from backup %s (starts at segment %s)\n", b.Name, c.From)
	if !c.HasNewest {
		fmt.Fprintf(out, "MISSING: no WAL at or after %s is archived; this backup cannot be made consistent\n", c.From)
		return
	}
	fmt.Fprintf(out, "newest archived segment: %s (%d segments from the backup's start)\n", c.Newest, c.Count)
	if c.Complete() {
		fmt.Fprintln(out, "continuity: complete, no segment missing")
		return
	}
	fmt.Fprintf(out, "continuity: %d segment(s) MISSING; replay stops before the first: %s\n", len(c.Missing), strings.Join(c.Missing, " "))
}

func writeWALJSON(out io.Writer, b wale.Backup, objects []wale.WALObject, ignored []string, c wale.Continuity) error {
	type obj struct {
		Name         string    `json:"name"`
		Kind         string    `json:"kind"`
		Size         int64     `json:"size"`
		LastModified time.Time `json:"last_modified"`
	}
	rows := []obj{}
	for _, o := range objects {
		rows = append(rows, obj{o.Name, string(o.Kind), o.Size, o.LastModified.UTC()})
	}
	newest := ""
	if c.HasNewest {
		newest = c.Newest.String()
	}
	missing := c.Missing
	if missing == nil {
		missing = []string{}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"backup": b.Name, "from": c.From.String(), "newest": newest, "segments": c.Count,
		"missing": missing, "complete": c.Complete(), "objects": rows, "ignored": ignored})
}
