package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"pgrescue/problem"
	"pgrescue/restore/pgwire"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

func (cl *commandLine) walPushCommand() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "wal-push WAL_PATH",
		Short: "Archive one WAL file as WAL-E does, for archive_command",
		Long: "Store WAL_PATH as wal_005/<name>.lzo under WALE_S3_PREFIX, lzop-compressed and, when WALE_GPG_KEY_ID\n" +
			"is set, encrypted to that key, exactly as WAL-E's wal-push. Exit 0 only once the object is stored,\n" +
			"so PostgreSQL keeps the file and retries on any failure. Use as\n" +
			"  archive_command = 'pgrescue --envdir /etc/wal-e/env.d wal-push \"%p\"'",
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			archive, err := cl.session().PushArchive(cmd.Context())
			if err != nil {
				return err
			}
			if dryRun {
				fmt.Fprint(cmd.OutOrStdout(), shellcmd.Script(archive.WALPushCommands(args[0])))
				return nil
			}
			res, err := archive.PushWAL(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "pgrescue: archived %s (%s) as %s (%s)\n", res.Name, wale.HumanBytes(res.Size),
				archive.Store.URI(res.Key), wale.HumanBytes(res.Stored))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the pipeline WAL-E would run, and store nothing")
	return cmd
}

func (cl *commandLine) backupPushCommand() *cobra.Command {
	var opts wale.BackupPushOptions
	var offline bool
	cmd := &cobra.Command{
		Use:   "backup-push --pgdata DIR [--host H] [--port P] [--user U] [--while-offline]",
		Short: "Take a base backup of a running server and store it as WAL-E does",
		Long: "Store a base backup under basebackups_005/ as WAL-E's backup-push: extended_version.txt, tar partitions\n" +
			"of the data directory (lzop, encrypted to WALE_GPG_KEY_ID when set; the configuration files and WAL\n" +
			"left out, as WAL-E leaves them out), then the stop sentinel, last. The backup is streamed by\n" +
			"pg_basebackup, so it works on every version (WAL-E's own needs pg_start_backup, gone in 15); the\n" +
			"server must archive its WAL (archive_command = 'pgrescue wal-push \"%p\"') for the backup to be usable.\n" +
			"--while-offline backs up a cluster shut down cleanly instead, as WAL-E's does: its files as they are,\n" +
			"from its last checkpoint, with no server, no pg_basebackup and no client program of its version.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.DataDir == "" {
				return problem.New(problem.Usage, "--pgdata", "the data directory of the server to back up is required", "give --pgdata DIR")
			}
			if offline {
				return cl.pushOfflineBackup(cmd, opts)
			}
			cleanup, err := completePushOptions(cmd, &opts)
			defer cleanup()
			if err != nil {
				return err
			}
			archive, err := cl.session().PushArchive(cmd.Context())
			if err != nil {
				return err
			}
			res, err := archive.PushBackup(cmd.Context(), opts, func(e wale.Event) { reportPartition(cmd, e) })
			if err != nil {
				return err
			}
			writeBackupPushed(cmd, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "pgdata", "", "the running server's data directory")
	f.StringVar(&opts.Host, "host", "", "socket directory or host of the server (default: from postmaster.pid)")
	intInRange(f, &opts.Port, "port", 0, 0, maxPort, "port of the server (default 0: from postmaster.pid)")
	f.StringVar(&opts.User, "user", "", "role to connect as (default: the data directory's owner)")
	f.Int64Var(&opts.PartitionSize, "partition-size", 0, "member bytes per tar partition (default WAL-E's 1.5 GiB)")
	f.BoolVar(&offline, "while-offline", false, "back up a cluster that is shut down, from its files")
	return cmd
}

// pushOfflineBackup is backup-push --while-offline.
func (cl *commandLine) pushOfflineBackup(cmd *cobra.Command, opts wale.BackupPushOptions) error {
	v, err := recovery.ReadVersion(opts.DataDir)
	if err != nil {
		return err
	}
	// WAL-E stores the server's version(); a stopped cluster has only its
	// PG_VERSION, which is what restores read of it.
	version := "PostgreSQL " + v.String() + " (backed up offline: from PG_VERSION)"
	archive, err := cl.session().PushArchive(cmd.Context())
	if err != nil {
		return err
	}
	res, err := archive.PushOfflineBackup(cmd.Context(), wale.OfflineBackupOptions{DataDir: opts.DataDir, Version: version, PartitionSize: opts.PartitionSize},
		func(e wale.Event) { reportPartition(cmd, e) })
	if err != nil {
		return err
	}
	writeBackupPushed(cmd, res)
	return nil
}

// reportPartition tells of each partition stored.
func reportPartition(cmd *cobra.Command, e wale.Event) {
	if p, ok := e.(wale.PartitionPushed); ok {
		fmt.Fprintf(cmd.ErrOrStderr(), "pgrescue: partition %d stored: %d members, %s (%s stored)\n", p.Index, p.Members,
			wale.HumanBytes(p.ExpandedBytes), wale.HumanBytes(p.StoredBytes))
	}
}

// writeBackupPushed prints the stored backup: name, start, stop, partitions, size.
func writeBackupPushed(cmd *cobra.Command, res *wale.BackupPushed) {
	fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%d partitions\t%s\n", res.Name, res.Start, res.Stop, res.Partitions, wale.HumanBytes(res.ExpandedBytes))
}

// completePushOptions finds the server's socket and port from the data
// directory, and the program that takes the backup, run as its owner: a
// pg_basebackup of the server's version or newer, else pgrescue's own
// BASE_BACKUP over the replication protocol.
func completePushOptions(cmd *cobra.Command, opts *wale.BackupPushOptions) (cleanup func(), err error) {
	cleanup = func() {}
	owner, err := recovery.OwnerOf(opts.DataDir)
	if err != nil {
		return cleanup, err
	}
	if opts.User == "" {
		opts.User = owner.Name
	}
	opts.RunAs = owner.RunAs
	v, err := recovery.ReadVersion(opts.DataDir)
	if err != nil {
		return cleanup, err
	}
	if opts.BinDir, err = recovery.FindBackupClient(cmd.Context(), v); err != nil {
		summary := err.Error()
		var e *problem.Error
		if errors.As(err, &e) {
			summary = e.Summary
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "pgrescue: %s; taking the backup over the replication protocol itself\n", summary)
		if cleanup, err = selfStreamer(cmd, opts, owner); err != nil {
			return cleanup, err
		}
	}
	if opts.Host == "" || opts.Port == 0 {
		port, socket, err := postmasterAddress(opts.DataDir)
		if err != nil {
			return cleanup, err
		}
		if opts.Host == "" {
			opts.Host = socket
		}
		if opts.Port == 0 {
			opts.Port = port
		}
	}
	return cleanup, nil
}

// selfStreamer makes backup-push run this pgrescue's base-backup-stream as
// the cluster's owner: itself, or a copy in a private folder the owner can
// reach, removed by cleanup.
func selfStreamer(cmd *cobra.Command, opts *wale.BackupPushOptions, owner recovery.Owner) (cleanup func(), err error) {
	cleanup = func() {}
	exe, err := os.Executable()
	if err != nil {
		return cleanup, problem.Wrap(err, problem.LocalIO, "pgrescue", "cannot find pgrescue's own executable", "run pgrescue by its full path")
	}
	dir, err := os.MkdirTemp("", "pgrescue-backup-push-*")
	if err != nil {
		return cleanup, problem.Wrap(err, problem.LocalIO, os.TempDir(), "cannot make a folder for a copy of pgrescue", "free space in the temporary directory")
	}
	cleanup = func() { os.RemoveAll(dir) }
	if err := os.Chmod(dir, 0o755); err != nil {
		return cleanup, problem.Wrap(err, problem.LocalIO, dir, "cannot open the folder to "+owner.Name,
			"set TMPDIR to a folder where you may change modes, or install a pg_basebackup of the server's version")
	}
	program, err := recovery.RunnableBy(cmd.Context(), owner, exe, dir)
	if err != nil {
		return cleanup, err
	}
	opts.Streamer = []string{program, "base-backup-stream"}
	return cleanup, nil
}

// postmasterAddress is where the server running on dataDir listens: the
// port and first socket directory it wrote in postmaster.pid. The running
// rule is recovery.RunningServer's: a stale file is no server.
func postmasterAddress(dataDir string) (port int, socket string, err error) {
	st, err := recovery.RunningServer(dataDir)
	if err != nil {
		return 0, "", problem.Wrap(err, problem.Usage, dataDir+"/postmaster.pid", "cannot read postmaster.pid", "give --host and --port")
	}
	if !st.Running {
		return 0, "", problem.New(problem.Usage, dataDir, "no server is running on this data directory",
			"start it, or give --host and --port")
	}
	if st.Port == 0 || st.SocketDir == "" {
		return 0, "", problem.New(problem.Usage, dataDir+"/postmaster.pid", "postmaster.pid has no port and socket lines", "give --host and --port")
	}
	return st.Port, st.SocketDir, nil
}

// baseBackupStreamCommand is the program backup-push runs, as the
// cluster's owner, when no pg_basebackup of the server's version or newer
// is installed: BASE_BACKUP over the replication protocol, the tar archive
// on stdout, the version and the WAL points on stderr in pg_basebackup's
// words.
func baseBackupStreamCommand() *cobra.Command {
	var o pgwire.Options
	cmd := &cobra.Command{
		Use:    "base-backup-stream --host H --port P --user U",
		Short:  "Stream a base backup's tar archive to stdout (backup-push runs it as the cluster's owner)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := cmd.ErrOrStderr()
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<20)
			b, err := pgwire.BaseBackup(cmd.Context(), o, out, func(b pgwire.Backup) {
				fmt.Fprintf(log, "pgrescue: server version: %s\npgrescue: write-ahead log start point: %s on timeline %s\n", b.ServerVersion, b.Start.LSN, b.Start.Timeline)
			})
			if err != nil {
				// Said once, in the server's words: backup-push, which runs
				// this, says what to do.
				return problem.New(problem.LocalIO, fmt.Sprintf("BASE_BACKUP on %s:%d", o.Host, o.Port), err.Error(), "")
			}
			if err := out.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(log, "pgrescue: write-ahead log end point: %s\n", b.End.LSN)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Host, "host", "", "the server's socket directory or host")
	intInRange(f, &o.Port, "port", 5432, 1, maxPort, "the server's port")
	f.StringVar(&o.User, "user", "", "the role to connect as")
	return cmd
}
