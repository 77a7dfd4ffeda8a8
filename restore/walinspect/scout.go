package walinspect

import (
	"context"
	"os"
	"path/filepath"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
)

// Scout names the WAL's numbers when no server can be asked: the base
// backup is restored to a scratch folder and recovered to its end (the
// earliest consistent point) with the same recovery machinery as a
// restore, its catalog read, and the copy stopped and removed. Its names
// are those of when the backup was taken, so a relation dropped later,
// which no live server still knows, is named too.
//
// The copy is promoted at the end of the backup rather than paused as a
// hot standby: a hot standby refuses to run with max_connections and four
// other settings lower than the primary's, and a WAL-E restore has only
// PostgreSQL's defaults. It cannot reach anyone else: archive_mode is
// off, it listens on a private socket only, and it is removed afterwards.
type Scout struct {
	Archive *wale.Archive
	Backup  string // the backup's name
	TempDir string // where the copy goes; "" is the system's
	Workers int    // partitions fetched at once
	// Replay carries what a restore of this archive needs (restore_command's
	// program, the server's environment, prefetch); the data directory,
	// backup and target are the scout's.
	Replay replay.Options
}

// ScoutStep is a stage of the scout, reported as it starts.
type ScoutStep string

const (
	ScoutFetch   ScoutStep = "restoring the base backup to a scratch copy"
	ScoutRecover ScoutStep = "recovering the copy to the end of the backup"
	ScoutRead    ScoutStep = "reading its catalog"
	ScoutStop    ScoutStep = "stopping and removing the copy"
)

// Names runs the scout. Whatever happens, the server it started is
// stopped and the copy removed before it returns.
func (s Scout) Names(ctx context.Context, report func(ScoutStep)) (names *Names, err error) {
	if report == nil {
		report = func(ScoutStep) {}
	}
	dir, err := os.MkdirTemp(s.TempDir, "pgrescue-scout-*")
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, s.TempDir, "cannot make a folder for the scout's copy of the base backup",
			"give --tempdir on a file system with room for the base backup")
	}
	defer os.RemoveAll(dir)
	// The database user must reach the data directory inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, dir, "cannot open the scout's folder to the database user", "")
	}
	pgdata := filepath.Join(dir, "pgdata")
	report(ScoutFetch)
	fetch := wale.FetchOptions{DataDir: pgdata, Backup: s.Backup, Workers: s.Workers, BlindRestore: true}
	if _, err := s.Archive.FetchBackup(ctx, fetch, nil); err != nil {
		return nil, err
	}
	report(ScoutRecover)
	opts := s.Replay
	opts.DataDir, opts.Archive, opts.Backup = pgdata, s.Archive, s.Backup
	opts.Target = recovery.Target{Immediate: true}
	opts.Server.SocketDir, opts.Server.Port, opts.Server.LogFile, opts.Server.Cluster = "", 0, "", nil
	prepared, err := replay.Prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	res, err := prepared.Run(ctx, nil)
	defer func() {
		report(ScoutStop)
		// The copy's server is stopped even when ctx is done: it must not
		// outlive the scout.
		prepared.Server.Stop(context.WithoutCancel(ctx), "immediate")
	}()
	if err != nil {
		return nil, err
	}
	report(ScoutRead)
	return Catalog{Server: res.Server, Source: "the base backup " + s.Backup + " (restored to a scratch copy)"}.Load(ctx)
}
