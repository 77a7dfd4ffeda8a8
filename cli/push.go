package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"pgrescue/problem"
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
			if err := completePushOptions(&opts); err != nil {
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

// completePushOptions finds the server's binaries, socket and port from
// the data directory, and runs the tools as its owner.
func completePushOptions(opts *wale.BackupPushOptions) error {
	owner, err := recovery.OwnerOf(opts.DataDir)
	if err != nil {
		return err
	}
	if opts.User == "" {
		opts.User = owner.Name
	}
	opts.RunAs = owner.RunAs
	v, err := recovery.ReadVersion(opts.DataDir)
	if err != nil {
		return err
	}
	if opts.BinDir, err = recovery.FindBackupClient(context.Background(), v); err != nil {
		return err
	}
	if opts.Host == "" || opts.Port == 0 {
		port, socket, err := postmasterAddress(opts.DataDir)
		if err != nil {
			return err
		}
		if opts.Host == "" {
			opts.Host = socket
		}
		if opts.Port == 0 {
			opts.Port = port
		}
	}
	return nil
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
