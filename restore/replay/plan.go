// Package replay is pgrescue's replay step: it replays the archive's WAL
// into a restored base backup up to a point in time or to the end of the
// archive, with PostgreSQL's recovery machinery (package recovery), and
// watches it live. It writes the recovery settings for the data
// directory's PostgreSQL version, serves WAL to restore_command through a
// prefetcher, starts the server, follows its log and reports honest
// progress until the server accepts connections at the requested point.
package replay

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// Options choose what to replay and how.
type Options struct {
	DataDir string
	Archive *wale.Archive
	// Backup names the base backup the data directory holds; "" finds it
	// by the WAL position the data directory starts from.
	Backup string
	Target recovery.Target // zero: the end of the archive
	// Listing is the archive as the caller already listed it; nil lists
	// it here.
	Listing *wale.Listing
	// Prefetch is how many segments this process fetches ahead of replay;
	// 0 (or less) is no prefetch: every restore_command fetches its own
	// file (in band), which needs the key usable without this process.
	// 0 never means the default, here, in prefetch.Options.Ahead or in
	// `replay --prefetch`: the commands and the wizard ask for
	// prefetch.DefaultAhead.
	Prefetch int
	// MinDuration spaces the segments the prefetcher hands over so that the
	// replay lasts at least this long; 0 replays as fast as it can. Only the
	// demo sets it: a trainee must see the replay to learn to read it.
	MinDuration time.Duration
	// WALFetch is restore_command's program and global flags: pgrescue's
	// absolute path and the flags naming the same configuration source.
	WALFetch []string
	// Server chooses the port, socket directory, log file or Debian
	// cluster; DataDir and Version are filled in.
	Server recovery.Server
	// ProgressEvery is the interval of progress updates (default 1s).
	ProgressEvery time.Duration
	Now           func() time.Time
}

// Prepared is a replay worked out and checked, nothing changed yet.
type Prepared struct {
	opts     Options
	DataDir  string
	Version  recovery.Version
	Start    Start
	Backup   wale.Backup
	Window   wale.Window
	EndLSN   uint64
	EndExact bool
	Server   *recovery.Server
	Settings recovery.Settings
	Warnings []string
}

// Prepare checks everything that can be checked before changing anything:
// the data directory's version and start position, the backup it holds, the
// target against what the archive can reach, and WAL continuity.
func Prepare(ctx context.Context, opts Options) (*Prepared, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = time.Second
	}
	pgdata, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, problem.Wrap(err, problem.Usage, opts.DataDir, "bad data directory path", "give the data directory as an absolute path")
	}
	p := &Prepared{opts: opts, DataDir: pgdata}
	if p.Version, err = recovery.ReadVersion(pgdata); err != nil {
		return nil, err
	}
	if err := opts.Target.CheckVersion(p.Version); err != nil {
		return nil, err
	}
	srv := opts.Server
	srv.DataDir, srv.Version = pgdata, p.Version
	if srv.Cluster == nil {
		// A Debian cluster's configuration lives in /etc/postgresql, not
		// in the data directory: plain pg_ctl would find none.
		if c, err := recovery.FindCluster(pgdata); err == nil && c != nil {
			srv.Cluster = c
			p.Warnings = append(p.Warnings, "the data directory belongs to Debian cluster "+c.String()+
				": it is started with pg_ctlcluster, with the configuration in "+c.ConfigDir()+" and its port and socket directory")
		}
	}
	p.Server = &srv
	if err := recovery.RefuseLive(pgdata, "recover it"); err != nil {
		return nil, err
	}
	if err := srv.FillDefaults(); err != nil {
		return nil, err
	}
	if p.Start, err = ReadStart(pgdata); err != nil {
		return nil, err
	}
	if err := p.chooseBackup(ctx); err != nil {
		return nil, err
	}
	if w := p.Window.GapWarning(); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	p.Settings = recovery.Settings{RestoreCommand: p.restoreCommand(p.opts.WALFetch), Target: opts.Target, Timeline: "latest"}
	return p, nil
}

// chooseBackup finds the data directory's backup in the archive and checks
// the target against the window it opens.
func (p *Prepared) chooseBackup(ctx context.Context) error {
	archive := p.opts.Archive
	listed, err := p.listing(ctx)
	if err != nil {
		return err
	}
	backups := listed.Backups
	if p.opts.Backup != "" {
		p.Backup, err = archive.SelectIn(ctx, backups, p.opts.Backup)
	} else {
		p.Backup, err = FindBackup(backups, p.Start, p.DataDir)
	}
	if err != nil {
		return err
	}
	size := p.Start.SegmentSize
	p.Window = wale.NewWindow(p.Backup, listed.WAL, size)
	if !p.opts.Target.IsTime() {
		// The end of the archive, or a target only the WAL itself can place
		// (xid, LSN, restore point, end of backup): the whole window is read
		// until PostgreSQL finds it.
		if !p.Window.Continuity.HasNewest {
			return p.Window.CheckTarget(time.Time{}) // names the missing start segment
		}
		p.EndLSN, p.EndExact = p.Window.EndLSN(size), true
		return nil
	}
	target := p.opts.Target.Time
	if err := p.Window.CheckTarget(target); err != nil {
		return p.suggestBackup(err, backups, target)
	}
	p.EndLSN = p.Window.EndForTarget(target, size)
	return nil
}

// listing is the caller's listing of the archive, else a new one.
func (p *Prepared) listing(ctx context.Context) (*wale.Listing, error) {
	if p.opts.Listing != nil {
		return p.opts.Listing, nil
	}
	backups, err := p.opts.Archive.ListBackups(ctx)
	if err != nil {
		return nil, err
	}
	objects, _, err := p.opts.Archive.ListWAL(ctx)
	if err != nil {
		return nil, err
	}
	return &wale.Listing{Backups: backups, WAL: objects}, nil
}

// suggestBackup adds to a refused target the backup that could reach it.
func (p *Prepared) suggestBackup(err error, backups []wale.Backup, target time.Time) error {
	pe, ok := err.(*problem.Error)
	if !ok || !target.Before(p.Window.From) {
		return err
	}
	if better, cerr := wale.ChooseBackup(backups, target); cerr == nil {
		pe.Next = "restore " + better.Name + " (completed " + wale.FormatTime(better.LastModified) + ") instead: pgrescue backup-fetch --move-aside " +
			shellcmd.Quote(p.DataDir) + " " + better.Name + ", then run this replay again"
	}
	return pe
}

// restoreCommand is pgrescue's own wal-fetch. With prefetch it asks the
// replay's prefetcher first; --abort-on-error makes a failure stop
// recovery instead of passing for the end of the archive.
func (p *Prepared) restoreCommand(program []string) string {
	args := make([]string, 0, len(program)+6)
	for _, a := range program {
		args = append(args, shellcmd.Quote(a))
	}
	args = append(args, "wal-fetch")
	if p.opts.Prefetch > 0 {
		args = append(args, "--prefetch-socket", shellcmd.Quote(p.socketPath()))
	}
	args = append(args, "--abort-on-error", `"%f"`, `"%p"`)
	return strings.Join(args, " ")
}

// socketPath is the prefetcher's socket, in the server's private socket
// directory: short, and only the owner can enter it.
func (p *Prepared) socketPath() string {
	return filepath.Join(p.Server.SocketDir, "pgrescue-prefetch.sock")
}

// stagingDir keeps prefetched segments beside pg_wal, so that handing one
// to PostgreSQL is a rename.
func (p *Prepared) stagingDir() string {
	return filepath.Join(p.DataDir, p.Version.WALDir(), ".pgrescue-prefetch")
}

// Commands describes the whole replay as shell commands, for --dry-run.
func (p *Prepared) Commands() ([]shellcmd.Command, error) {
	settings, err := recovery.Describe(p.Version, p.Settings)
	if err != nil {
		return nil, err
	}
	cmds := append([]shellcmd.Command{}, settings...)
	if p.Server.Cluster == nil {
		cmds = append(cmds, recovery.DescribeConfigFiles(p.Server.Owner.Name)...)
	}
	if p.opts.Prefetch > 0 {
		cmds = append(cmds, shellcmd.Command{
			Why: "pgrescue keeps " + strconv.Itoa(p.opts.Prefetch) + " segments ahead of replay in " + p.stagingDir() +
				", fetched, decrypted and decompressed in parallel; restore_command asks for each on " + p.socketPath(),
			Line: "# done inside pgrescue: no shell equivalent"})
	}
	cmds = append(cmds, p.Server.Commands()...)
	cmds = append(cmds, recovery.DescribeCleanup(p.Version)...)
	return cmds, nil
}
