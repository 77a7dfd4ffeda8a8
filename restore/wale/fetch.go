package wale

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pgrescue/format/tarx"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/shellcmd"
	"pgrescue/storage/s3store"
)

// FetchOptions says what to restore where.
type FetchOptions struct {
	DataDir      string
	Backup       string // a backup name or LATEST
	Workers      int    // partitions fetched at once (WAL-E's --pool-size)
	BlindRestore bool   // tablespaces as plain directories, no symlink checks
	MoveAside    bool   // rename a non-empty data directory to DataDir.pgrescue-<time>
	// NoSync leaves the restored files in the page cache, as pg_basebackup's
	// --no-sync does: faster, but a crash of the machine can lose them
	// without a word. For scratch copies only (a scout, a benchmark).
	NoSync bool
	// TablespaceMapping puts a tablespace somewhere else than its symlink
	// in the data directory says, as pg_basebackup's --tablespace-mapping
	// does: OID to an absolute directory, absent or empty. pgrescue makes
	// the directory and the pg_tblspc/OID symlink.
	TablespaceMapping map[string]string
	// Resolved is the backup and its partitions as a plan already listed
	// them; nil resolves Backup by listing the archive.
	Resolved *ResolvedBackup
	Now      func() time.Time
}

// ResolvedBackup is a backup found in the archive with what fetching it
// needs: its sentinel loaded and its tar partitions listed.
type ResolvedBackup struct {
	Backup     Backup
	Partitions []Partition
	Warnings   []string // about the partitions listed
}

// Resolve finds the backup a query names (a name or LATEST) among backups
// already listed, loads its sentinel and lists its partitions.
func (a *Archive) Resolve(ctx context.Context, backups []Backup, query string) (*ResolvedBackup, error) {
	b, err := a.SelectIn(ctx, backups, query)
	if err != nil {
		return nil, err
	}
	if err := a.LoadDetail(ctx, &b); err != nil {
		return nil, err
	}
	parts, warnings, err := a.Partitions(ctx, b.Name)
	if err != nil {
		return nil, err
	}
	return &ResolvedBackup{Backup: b, Partitions: parts, Warnings: warnings}, nil
}

// FetchResult summarises a completed backup-fetch.
type FetchResult struct {
	Backup       Backup
	DataDir      string
	MovedAsideTo string
	Partitions   int
	Files        int64
	Bytes        int64 // member data written
	Downloaded   int64 // bytes fetched from S3
	Duration     time.Duration
	Synced       bool // flushed to disk (not with NoSync)
	Warnings     []string
}

// Partition is one tar partition of a backup.
type Partition struct {
	Key   string
	Index int
	Size  int64
}

var partitionPattern = regexp.MustCompile(`^part_(\d+)\.tar\.lzo$`)

// Partitions lists a backup's tar partitions in number order; keys WAL-E
// would have skipped are returned as warnings.
func (a *Archive) Partitions(ctx context.Context, backup string) ([]Partition, []string, error) {
	var parts []Partition
	var warnings []string
	prefix := a.Layout.PartitionsPrefix(backup)
	err := a.Store.List(ctx, prefix, func(o s3store.Object) error {
		m := partitionPattern.FindStringSubmatch(o.Key[len(prefix):])
		if m == nil {
			warnings = append(warnings, "skipping "+a.Store.URI(o.Key)+": not a tar partition name")
			return nil
		}
		n, _ := strconv.Atoi(m[1])
		parts = append(parts, Partition{Key: o.Key, Index: n, Size: o.Size})
		return nil
	})
	sort.Slice(parts, func(i, j int) bool { return parts[i].Index < parts[j].Index })
	return parts, warnings, err
}

// FetchBackup restores a base backup into opts.DataDir. It refuses a running
// cluster, never deletes anything (a non-empty directory is moved aside only
// when asked), checks free space first, extracts partitions in parallel and
// syncs the file system at the end. On failure the partial restore is renamed
// DataDir.pgrescue-incomplete-<time> so it cannot be mistaken for a good one.
func (a *Archive) FetchBackup(ctx context.Context, opts FetchOptions, report func(Event)) (*FetchResult, error) {
	report = shellcmd.Serialized(report)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers < 1 {
		opts.Workers = 4
	}
	start := opts.Now()
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, problem.Wrap(err, problem.Usage, opts.DataDir, "bad data directory path", "give the data directory as an absolute path")
	}
	if err := refuseLive(dataDir); err != nil {
		return nil, err
	}
	if _, err := refuseNonEmpty(dataDir, opts.MoveAside); err != nil {
		return nil, err // before any download: say it now, not after minutes
	}
	resolved := opts.Resolved
	if resolved == nil {
		backups, err := a.ListBackups(ctx)
		if err != nil {
			return nil, err
		}
		if resolved, err = a.Resolve(ctx, backups, opts.Backup); err != nil {
			return nil, err
		}
	}
	backup, parts, warnings := resolved.Backup, resolved.Partitions, resolved.Warnings
	if backup.Sentinel == nil {
		if err := a.LoadDetail(ctx, &backup); err != nil {
			return nil, err
		}
	}
	if len(parts) == 0 {
		return nil, problem.New(problem.Corrupt, a.Store.URI(a.Layout.PartitionsPrefix(backup.Name)),
			"the backup has a stop sentinel but no tar partitions", "choose another backup with `pgrescue backup-list`")
	}
	report(BackupChosen{Backup: backup})
	for _, w := range warnings {
		report(Warning{Message: w})
	}
	if err := checkFreeSpace(dataDir, backup.Sentinel.ExpandedSizeBytes); err != nil {
		return nil, err
	}
	if err := a.CheckDecryptable(ctx, parts[0].Key); err != nil {
		return nil, err // a missing, wrong or locked key: nothing moved or created yet
	}
	tablespaces, err := tablespaceTargets(dataDir, backup, opts.BlindRestore, opts.TablespaceMapping)
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Backup: backup, DataDir: dataDir, Partitions: len(parts), Warnings: warnings}
	if res.MovedAsideTo, err = prepareDataDir(dataDir, opts.MoveAside, opts.Now()); err != nil {
		return nil, err
	}
	madeDirs, err := linkTablespaces(dataDir, tablespaces)
	if err != nil {
		return nil, labelIncomplete(dataDir, err, opts.Now())
	}
	if res.MovedAsideTo != "" {
		report(MovedAside{From: dataDir, To: res.MovedAsideTo})
	}
	var warnMu sync.Mutex
	warn := func(msg string) {
		warnMu.Lock()
		res.Warnings = append(res.Warnings, msg)
		warnMu.Unlock()
		report(Warning{Message: msg})
	}
	x, err := tarx.New(dataDir, tarx.Options{Tablespaces: tablespaces, Chown: os.Geteuid() == 0, Warn: warn, Writeback: !opts.NoSync})
	if err != nil {
		return nil, err
	}
	defer x.Close()
	err = a.extractAll(ctx, backup, parts, x, opts, report)
	if err == nil {
		err = x.Finish()
	}
	if err == nil {
		err = ownLike(dataDir, madeDirs) // the server must own a tablespace directory pgrescue made
	}
	if err == nil && !opts.NoSync {
		err = syncDataDir(dataDir, tablespaces)
	}
	if err != nil {
		return nil, labelIncomplete(dataDir, err, opts.Now())
	}
	res.Files, res.Bytes = x.FilesWritten(), x.BytesWritten()
	for _, p := range parts {
		res.Downloaded += p.Size
	}
	res.Synced = !opts.NoSync
	res.Duration = opts.Now().Sub(start)
	return res, nil
}

// extractAll runs the partition workers and the progress ticker.
func (a *Archive) extractAll(ctx context.Context, b Backup, parts []Partition, x *tarx.Extractor, opts FetchOptions, report func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	report(FetchStarted{Backup: b.Name, Partitions: len(parts), CompressedBytes: total, ExpandedBytes: b.Sentinel.ExpandedSizeBytes, Workers: opts.Workers})

	var downloaded atomic.Int64
	var done atomic.Int32
	var open sync.Map // partition key -> *s3store.Body being read, for its retry state
	progress := func(now time.Time, started time.Time) FetchProgress {
		p := newFetchProgress(downloaded.Load(), total, x.BytesWritten(), b.Sentinel.ExpandedSizeBytes, int(done.Load()), len(parts), now.Sub(started))
		open.Range(func(_, body any) bool {
			if r := body.(*s3store.Body).Retrying(); r != nil {
				p.Retrying = r.String()
				return false
			}
			return true
		})
		return p
	}
	stopTicker := tick(opts.Now, progress, report)
	defer stopTicker()

	jobs := make(chan Partition)
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	var wg sync.WaitGroup
	streams := min(opts.Workers, len(parts))
	for w := 0; w < streams; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				report(PartitionStarted{Key: p.Key, Index: p.Index, Size: p.Size})
				t0 := opts.Now()
				if err := a.extractPartition(ctx, p, streams, x, &downloaded, &open); err != nil {
					fail(err)
					return
				}
				done.Add(1)
				report(PartitionDone{Key: p.Key, Index: p.Index, Duration: opts.Now().Sub(t0)})
			}
		}()
	}
feed:
	for _, p := range parts {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	stopTicker()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return interrupted(firstErr)
}

func (a *Archive) extractPartition(ctx context.Context, p Partition, streams int, x *tarx.Extractor, downloaded *atomic.Int64, open *sync.Map) error {
	st := partitionStaging
	st.streams = streams
	d, err := a.open(ctx, p.Key, st)
	if err != nil {
		return err
	}
	defer d.Close()
	open.Store(p.Key, d.body)
	defer open.Delete(p.Key)
	before := int64(0)
	counted := func() {
		n := d.body.BytesRead()
		downloaded.Add(n - before)
		before = n
	}
	err = x.Extract(ctx, readerFunc(func(b []byte) (int, error) {
		n, err := d.Read(b)
		counted()
		return n, err
	}), a.Store.URI(p.Key))
	counted()
	return err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// tick reports progress every half second until stopped; stop is idempotent
// and sends one last report.
func tick(now func() time.Time, progress func(now, started time.Time) FetchProgress, report func(Event)) (stop func()) {
	started := now()
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report(progress(now(), started))
			case <-quit:
				report(progress(now(), started))
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); <-finished }) }
}

func interrupted(err error) error {
	if errors.Is(err, context.Canceled) && problem.KindOf(err) == problem.Unknown {
		return problem.Wrap(err, problem.Interrupted, "", "the restore was cancelled", "run the same command again; the partial data directory was set aside")
	}
	return err
}

// CheckDecryptable reads the header of an archived object and decrypts its
// session key, as the restore will, and stops there: a missing, wrong or
// locked key is found before anything is changed, not after a new data
// directory was created and the first partition's download began.
func (a *Archive) CheckDecryptable(ctx context.Context, key string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := a.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := a.Keys.CanDecrypt(body, a.Store.URI(key)); err != nil {
		return annotate(err, a.Store.URI(key))
	}
	return nil
}

// refuseLive refuses a data directory whose server is running: writing
// under a running server destroys it. A stale postmaster.pid is no
// obstacle (recovery.RunningServer is the rule).
func refuseLive(dataDir string) error { return recovery.RefuseLive(dataDir, "restore into it") }

// prepareDataDir makes sure dataDir exists and is empty, moving a non-empty
// one aside when allowed. It returns where the old directory went.
func prepareDataDir(dataDir string, moveAside bool, now time.Time) (string, error) {
	st, err := os.Stat(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return "", problem.Wrap(err, problem.LocalIO, dataDir, "cannot create the data directory", "create it yourself, owned by the database user, mode 0700")
		}
		return "", nil
	}
	if err != nil {
		return "", problem.Wrap(err, problem.LocalIO, dataDir, "cannot read the data directory", "check its permissions")
	}
	if !st.IsDir() {
		return "", problem.New(problem.Usage, dataDir, "the data directory path is not a directory", "give the path of a PostgreSQL data directory")
	}
	empty, err := refuseNonEmpty(dataDir, moveAside)
	if err != nil || empty {
		return "", err
	}
	return moveAsideDir(dataDir, st, "pgrescue", now)
}

// refuseNonEmpty refuses a non-empty data directory unless it may be moved
// aside, and says whether it is empty (a missing one counts as empty).
func refuseNonEmpty(dataDir string, moveAside bool) (empty bool, err error) {
	empty, err = isEmpty(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, problem.Wrap(err, problem.LocalIO, dataDir, "cannot list the data directory", "check its permissions, or run as its owner")
	case empty || moveAside:
		return empty, nil
	}
	return false, problem.New(problem.DataDirInUse, dataDir,
		"the data directory is not empty; pgrescue never writes over or deletes an existing cluster",
		"rerun with --move-aside to rename it to "+filepath.Base(dataDir)+".pgrescue-<time> first (nothing is deleted), or restore into an empty directory")
}

// isEmpty reports whether dir holds nothing a restore would overwrite:
// nothing at all, a file system's lost+found, or only the pg_tblspc/OID
// symlinks an engineer made ready for the backup's tablespaces, as the
// tablespace refusal asks. Those are kept and used, not moved aside.
func isEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		switch e.Name() {
		case "lost+found":
		case "pg_tblspc":
			if links, err := onlySymlinks(filepath.Join(dir, "pg_tblspc")); err != nil || !links {
				return false, err
			}
		default:
			return false, nil
		}
	}
	return true, nil
}

// onlySymlinks reports whether dir is a directory holding symlinks only.
func onlySymlinks(dir string) (bool, error) {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return false, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			return false, nil
		}
	}
	return true, nil
}

// moveAsideDir renames dir to dir.<label>-<time> and recreates it empty with
// the same mode and owner.
func moveAsideDir(dir string, st fs.FileInfo, label string, now time.Time) (string, error) {
	aside := fmt.Sprintf("%s.%s-%s", dir, label, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(dir, aside); err != nil {
		next := "move it aside yourself (mv), then run again"
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EXDEV) {
			next = "the data directory is a mount point and cannot be renamed: move its contents into a subdirectory of another location yourself, then run again"
		}
		return "", problem.Wrap(err, problem.LocalIO, dir, "cannot move the data directory aside to "+aside, next)
	}
	if err := os.Mkdir(dir, st.Mode().Perm()|0o700); err != nil {
		return aside, problem.Wrap(err, problem.LocalIO, dir, "moved the old data directory to "+aside+" but cannot create a new empty one", "create it (mode 0700, owned by the database user) and run again")
	}
	if sys, ok := st.Sys().(*unix.Stat_t); ok && os.Geteuid() == 0 {
		_ = os.Chown(dir, int(sys.Uid), int(sys.Gid))
	}
	return aside, nil
}

// labelIncomplete sets a failed restore aside so nobody starts it by mistake.
func labelIncomplete(dataDir string, cause error, now time.Time) error {
	st, err := os.Stat(dataDir)
	if err != nil {
		return cause
	}
	aside, err := moveAsideDir(dataDir, st, "pgrescue-incomplete", now)
	pe := &problem.Error{Kind: problem.KindOf(cause), Summary: "the restore did not finish", Err: cause}
	if p := (*problem.Error)(nil); errors.As(cause, &p) {
		c := *p
		pe = &c
	}
	if err == nil {
		pe.Detail = joinDetail(pe, "the partial restore was moved to "+aside+" (delete it when you no longer need it)")
	}
	return pe
}

func joinDetail(pe *problem.Error, note string) string {
	base := pe.Detail
	if base == "" && pe.Err != nil {
		base = pe.Err.Error()
	}
	if base == "" {
		return note
	}
	return base + "; " + note
}

// checkFreeSpace compares the backup's expanded size with the space free on
// the file system that will hold the data directory.
func checkFreeSpace(dataDir string, need int64) error {
	dir := dataDir
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	var fsStat unix.Statfs_t
	if err := unix.Statfs(dir, &fsStat); err != nil {
		return nil // cannot tell: the write itself will say
	}
	free := int64(fsStat.Bavail) * int64(fsStat.Bsize)
	if free >= need {
		return nil
	}
	return problem.New(problem.DiskSpace, dir,
		fmt.Sprintf("not enough free space: the backup expands to %s, %s is free", HumanBytes(need), HumanBytes(free)),
		"free space on that file system or restore to a data directory on a larger one; remember replay needs room for WAL too")
}

// tablespaceTargets maps each tablespace link to the directory it must go to.
// Without --blind-restore every tablespace of the backup needs its
// pg_tblspc/<oid> symlink in place, as with WAL-E.
func tablespaceTargets(dataDir string, b Backup, blind bool, mapping map[string]string) (map[string]string, error) {
	spec, err := b.Sentinel.ParseSpec()
	if err != nil {
		return nil, problem.Wrap(err, problem.Corrupt, b.SentinelKey, "the sentinel's tablespace spec cannot be read", "restore with --blind-restore to put tablespaces inside the data directory")
	}
	if err := checkMapping(spec, mapping); err != nil {
		return nil, err
	}
	if blind || len(spec.Tablespaces) == 0 {
		return nil, nil
	}
	targets := map[string]string{}
	var missing []string
	for _, t := range spec.Tablespaces {
		if dir, ok := mapping[t.OID]; ok {
			targets[t.Link] = dir
			continue
		}
		link := filepath.Join(dataDir, t.Link)
		dest, err := filepath.EvalSymlinks(link)
		st, statErr := os.Lstat(link)
		if err != nil || statErr != nil || st.Mode()&fs.ModeSymlink == 0 {
			missing = append(missing, fmt.Sprintf("%s -> %s", t.Link, t.Location))
			continue
		}
		if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
			// Most likely the tablespace of the cluster being replaced: restoring
			// into it would write over what moving the data directory aside keeps.
			return nil, problem.New(problem.DataDirInUse, dest, "the directory of tablespace "+t.OID+" ("+t.Link+") is not empty; pgrescue never writes over existing files",
				"restore it elsewhere: --tablespace-mapping "+t.OID+"=/an/empty/directory (its files stay where they are)")
		}
		targets[t.Link] = dest
	}
	if len(missing) > 0 {
		return nil, problem.New(problem.Usage, dataDir,
			fmt.Sprintf("the backup has tablespaces whose symlinks are not in the data directory: %v", missing),
			"create each directory and symlink (mkdir -p LOCATION; ln -s LOCATION DATADIR/pg_tblspc/OID), or restore with --blind-restore to keep tablespaces inside the data directory")
	}
	return targets, nil
}

// checkMapping refuses a --tablespace-mapping that names no tablespace of
// the backup, or a directory that is not absolute, or not absent or empty:
// before anything changes.
func checkMapping(spec TablespaceSpec, mapping map[string]string) error {
	known := map[string]bool{}
	var oids []string
	for _, t := range spec.Tablespaces {
		known[t.OID] = true
		oids = append(oids, t.OID+" ("+t.Location+")")
	}
	for oid, dir := range mapping {
		if !known[oid] {
			return problem.New(problem.Usage, "--tablespace-mapping "+oid+"="+dir, "the backup has no tablespace with that OID",
				fmt.Sprintf("map one of its tablespaces: %v", oids))
		}
		if !filepath.IsAbs(dir) {
			return problem.New(problem.Usage, "--tablespace-mapping "+oid+"="+dir, "the tablespace directory must be an absolute path", "give it from /")
		}
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return problem.New(problem.DataDirInUse, dir, "the directory for tablespace "+oid+" is not empty; pgrescue never writes over existing files",
				"map it to an empty or new directory")
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return problem.Wrap(err, problem.LocalIO, dir, "cannot read the directory for tablespace "+oid, "check its permissions")
		}
	}
	return nil
}

// linkTablespaces makes each tablespace's pg_tblspc/OID symlink in the data
// directory where it is missing: a mapped tablespace's (its directory made
// too), or one whose link left with a data directory moved aside.
func linkTablespaces(dataDir string, targets map[string]string) (made []string, err error) {
	for link, dest := range targets {
		path := filepath.Join(dataDir, link)
		if _, err := os.Lstat(path); err == nil {
			continue
		}
		if _, err := os.Stat(dest); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dest, 0o700); err != nil {
				return made, problem.Wrap(err, problem.LocalIO, dest, "cannot create the tablespace directory", "create it yourself, owned by the database user, mode 0700")
			}
			made = append(made, dest)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return made, problem.Wrap(err, problem.LocalIO, filepath.Dir(path), "cannot create pg_tblspc", "check the data directory's permissions")
		}
		if err := os.Symlink(dest, path); err != nil {
			return made, problem.Wrap(err, problem.LocalIO, path, "cannot create the tablespace symlink", "create it yourself: ln -s "+shellcmd.Quote(dest)+" "+shellcmd.Quote(path))
		}
	}
	return made, nil
}

// ownLike gives dirs the owner of the restored data directory, when running
// as root (otherwise they are already the user's).
func ownLike(dataDir string, dirs []string) error {
	if os.Geteuid() != 0 || len(dirs) == 0 {
		return nil
	}
	st, err := os.Stat(dataDir)
	if err != nil {
		return err
	}
	owner := st.Sys().(*syscall.Stat_t)
	for _, d := range dirs {
		if err := os.Chown(d, int(owner.Uid), int(owner.Gid)); err != nil {
			return problem.Wrap(err, problem.LocalIO, d, "cannot give the tablespace directory to the data directory's owner", "chown it to the database user")
		}
	}
	return nil
}

// syncDataDir flushes everything written to disk: one syncfs per file system
// instead of an fsync per file.
func syncDataDir(dataDir string, tablespaces map[string]string) error {
	dirs := []string{dataDir}
	for _, d := range tablespaces {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			return problem.Wrap(err, problem.LocalIO, d, "cannot open for sync", "check the data directory")
		}
		err = unix.Syncfs(int(f.Fd()))
		f.Close()
		if err != nil {
			return problem.Wrap(err, problem.LocalIO, d, "flushing the restored files to disk failed", "check the disk (dmesg); the restore cannot be trusted")
		}
	}
	return nil
}

func refuseLiveCommand(dataDir string) shellcmd.Command {
	return shellcmd.Command{Why: "refuse a running server: this must say that no server is running (a postmaster.pid left by a dead one is no obstacle)",
		Line: "pg_ctl -D " + shellcmd.Quote(dataDir) + " status"}
}

// MoveAsideCommand is the shell equivalent of moving a data directory aside
// (renamed with the time, never deleted) and recreating it empty.
func MoveAsideCommand(dataDir string) shellcmd.Command {
	dd := shellcmd.Quote(dataDir)
	return shellcmd.Command{Why: "keep the old data directory (never delete it)",
		Line: fmt.Sprintf("mv %s %s.pgrescue-$(date -u +%%Y%%m%%dT%%H%%M%%SZ) && install -d -m 0700 -o postgres -g postgres %s", dd, dd, dd)}
}

// FetchCommands describes a backup-fetch as the shell commands an engineer would
// type for the same result.
func (a *Archive) FetchCommands(b Backup, parts []Partition, opts FetchOptions) []shellcmd.Command {
	dd := shellcmd.Quote(opts.DataDir)
	cmds := []shellcmd.Command{refuseLiveCommand(opts.DataDir)}
	if opts.MoveAside {
		cmds = append(cmds, MoveAsideCommand(opts.DataDir))
	}
	for _, p := range parts {
		cmds = append(cmds, shellcmd.Command{
			Why:  fmt.Sprintf("partition %d: download, decrypt, decompress, extract", p.Index),
			Line: fmt.Sprintf("aws s3 cp %s - | gpg -d -q --batch | lzop -d -c | tar -x -C %s --same-owner", shellcmd.Quote(a.Store.URI(p.Key)), dd),
		})
	}
	if !opts.NoSync {
		cmds = append(cmds, shellcmd.Command{Why: "flush to disk", Line: "sync -f " + dd})
	}
	return cmds
}
