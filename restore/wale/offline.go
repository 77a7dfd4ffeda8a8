package wale

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
)

// OfflineBackupOptions name a stopped cluster to back up.
type OfflineBackupOptions struct {
	DataDir string
	// Version is what extended_version.txt says: "PostgreSQL 16.14", as
	// `postgres --version` of the cluster's programs, or its PG_VERSION.
	Version       string
	PartitionSize int64 // as BackupPushOptions.PartitionSize
}

// PushOfflineBackup stores a base backup of a cluster that is shut down,
// as WAL-E's backup-push --while-offline does: the data directory as it
// is, starting at its last (shutdown) checkpoint, so that it needs no
// server, no pg_basebackup and no client program of its version. It
// refuses a running cluster and one not shut down cleanly, before storing
// anything.
func (a *Archive) PushOfflineBackup(ctx context.Context, opts OfflineBackupOptions, report func(Event)) (*BackupPushed, error) {
	if err := recovery.RefuseLive(opts.DataDir, "back it up offline (stop it first, or use backup-push on the running server)"); err != nil {
		return nil, err
	}
	ctl, err := recovery.ReadControl(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if ctl.State != recovery.DBShutdowned {
		return nil, problem.New(problem.Usage, filepath.Join(opts.DataDir, "global", "pg_control"),
			"the cluster was not shut down cleanly (pg_control says: "+ctl.State.String()+"): an offline backup of it would need WAL from before its last checkpoint",
			"start the server and stop it cleanly (pg_ctl stop -m fast), or run backup-push on the running server")
	}
	if err := refuseTablespaces(opts.DataDir); err != nil {
		return nil, err
	}
	if report == nil {
		report = func(Event) {}
	}
	point := lsnPoint{lsn: ctl.Redo, timeline: ctl.Timeline, text: pglog.LSN(ctl.Redo).String()}
	p := &pusher{a: a, opts: BackupPushOptions{DataDir: opts.DataDir, PartitionSize: opts.PartitionSize}, report: report,
		version: opts.Version, began: time.Now(), source: opts.DataDir, sourceNext: "check that the files can be read, then run backup-push again"}
	p.points = func(string) (lsnPoint, error) { return point, nil }
	stream, w := io.Pipe()
	go func() { w.CloseWithError(tarDirectory(ctx, opts.DataDir, w)) }()
	err = p.partition(ctx, stream)
	stream.CloseWithError(io.ErrClosedPipe) // stops the writer when partitioning failed first
	if err != nil {
		return nil, err
	}
	return p.finish(ctx)
}

// refuseTablespaces: an offline backup stores the data directory only;
// WAL-E stores each tablespace in the sentinel's spec, which this does not
// write.
func refuseTablespaces(dataDir string) error {
	entries, err := os.ReadDir(filepath.Join(dataDir, "pg_tblspc"))
	if err != nil || len(entries) == 0 {
		return nil
	}
	return problem.New(problem.Usage, filepath.Join(dataDir, "pg_tblspc", entries[0].Name()),
		"the cluster has tablespaces, which an offline backup by pgrescue does not store",
		"start the server and run backup-push on it, which stores them")
}

// tarDirectory writes the data directory as a tar stream, in the order
// WAL-E walks it, with names relative to it; the caller's partitioning
// leaves out what WAL-E leaves out.
func tarDirectory(ctx context.Context, dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&(fs.ModeSocket|fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0 {
			return nil // a socket left in the data directory: tar cannot hold it, a restore needs none (as Python's tarfile, WAL-E's, skips it)
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if rel == "pg_wal" || rel == "pg_xlog" {
				// WAL kept elsewhere (initdb --waldir): the backup holds an
				// empty directory in its place, as its contents are left out.
				info = walDirInfo{info}
			} else if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", "" // ids only, as WAL-E's tarfile members carry
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, hdr.Size)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// walDirInfo presents a symlinked pg_wal as a private directory.
type walDirInfo struct{ fs.FileInfo }

func (walDirInfo) Mode() fs.FileMode { return fs.ModeDir | 0o700 }
func (walDirInfo) IsDir() bool       { return true }
func (walDirInfo) Size() int64       { return 0 }
