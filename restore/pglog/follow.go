package pglog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FollowOptions configure a Follower.
type FollowOptions struct {
	// Path is the file the server's stderr goes to: pg_ctl's -l file or
	// Debian's /var/log/postgresql/postgresql-<ver>-<cluster>.log.
	Path string
	// Offset is where to start reading Path the first time it is opened:
	// its size just before the server was started (see SizeOf), the way
	// pg_ctlcluster shows only the new part of a shared log. An Offset
	// beyond the end of the file means the file was replaced meanwhile, and
	// reading starts at 0.
	Offset int64
	// PollInterval is how often files are checked; 100ms when zero.
	PollInterval time.Duration
	// DataDir enables following the logging collector: when Path says
	// "redirecting log output to logging collector process", the collector's
	// stderr file is followed as well (current_logfiles on 10+, the newest
	// file of the HINT's directory on ≤9.6). Path keeps being followed: it
	// costs one read per poll and still receives anything written before
	// the collector starts or after it dies.
	DataDir string
}

// DefaultPollInterval is the poll period when FollowOptions.PollInterval is 0.
const DefaultPollInterval = 100 * time.Millisecond

// FollowedLine is one complete line of a followed file, without its "\n".
type FollowedLine struct {
	File string // the path the line was read from
	Text string
}

// SizeOf returns the size of path, or 0 when it does not exist (or cannot be
// read): the Offset to record just before starting the server.
func SizeOf(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// Follower tails a server log by polling, across copytruncate and rename
// rotations and into the logging collector's files.
//
// What it guarantees:
//   - Lines are emitted whole and once, in file order, however the writer
//     split them into writes. An unterminated last line is held back until
//     its "\n" arrives, or emitted as it is when the file is retired or
//     truncated, or when Run stops.
//   - Copytruncate (the file shrinks below what was read): reading restarts
//     at 0. Lines written between logrotate's copy and its truncation were
//     never in the file when it was read and are lost; that is inherent in
//     copytruncate. A truncated file that grows past the old offset before
//     the next poll cannot be told from an appended one by polling.
//   - Rename rotation (Path names another inode, or none): the old file is
//     read to its end before the new one is opened from 0. The old file
//     stays open and followed while it keeps growing, because pg_ctl's
//     server writes to the renamed inode until it restarts; it is closed
//     after retiredGrace without growth.
//   - A missing Path is waited for.
//   - Lines from different files are ordered per poll: retired files first,
//     then Path, then the collector's file.
type Follower struct {
	opts FollowOptions

	main       *tailedFile
	mainOpened bool // the first open of Path, the only one that uses Offset
	collector  *tailedFile
	retired    []*tailedFile

	redirected   bool   // Path said output goes to the logging collector
	collectorDir string // the directory named by the redirect's HINT
	// readUpTo is where reading a collector file starts: its size when the
	// Follower was created, or how far it was read before being rotated away. A restored
	// data directory can bring the primary's old logs, and a reused file
	// name (log_filename 'postgresql-%a.log') must not be replayed.
	readUpTo map[string]int64

	emit func(FollowedLine)
}

// retiredGrace is how long a rotated-away file is still read after it
// stopped growing.
const retiredGrace = 2 * time.Second

// maxLineLength bounds the bytes held for a line without "\n"; beyond it
// the bytes are emitted as a line of their own rather than growing forever.
const maxLineLength = 1 << 20

// NewFollower returns a follower. Create it just before starting the
// server, when FollowOptions.Offset is taken: with DataDir set it records
// then the sizes of the log files already in the data directory, so that
// only what the new server writes to them is followed. Files are opened by
// Run.
func NewFollower(opts FollowOptions) *Follower {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	f := &Follower{opts: opts, main: &tailedFile{path: opts.Path}}
	f.snapshotCollectorFiles()
	return f
}

// Run follows the files, calling emit for each complete line, in order, on
// the calling goroutine (a slow emit delays the next poll, it loses
// nothing). When ctx is cancelled it reads every file to its end once more,
// emits unterminated last lines, closes the files and returns nil. It
// returns early only on an I/O error other than a missing file.
func (f *Follower) Run(ctx context.Context, emit func(FollowedLine)) error {
	f.emit = emit
	defer f.closeAll()
	ticker := time.NewTicker(f.opts.PollInterval)
	defer ticker.Stop()
	for {
		if err := f.poll(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			if err := f.poll(); err != nil {
				return err
			}
			f.flushAll()
			return nil
		case <-ticker.C:
		}
	}
}

// poll reads whatever is new in every file.
func (f *Follower) poll() error {
	if err := f.pollRetired(); err != nil {
		return err
	}
	if err := f.pollMain(); err != nil {
		return err
	}
	if f.redirected && f.opts.DataDir != "" {
		return f.pollCollector()
	}
	return nil
}

func (f *Follower) pollRetired() error {
	kept := f.retired[:0]
	for _, t := range f.retired {
		if err := t.readAvailable(f.emit); err != nil {
			return err
		}
		if time.Since(t.lastGrowth) > retiredGrace {
			t.flushPartial(f.emit)
			f.readUpTo[t.path] = t.offset
			t.close()
			continue
		}
		kept = append(kept, t)
	}
	f.retired = kept
	return nil
}

func (f *Follower) pollMain() error {
	emit := func(l FollowedLine) { f.watchForCollector(l.Text); f.emit(l) }
	if f.main.file == nil {
		start := int64(0)
		if !f.mainOpened {
			start = f.opts.Offset
		}
		opened, err := f.main.open(start)
		if err != nil || !opened {
			return err
		}
		f.mainOpened = true
	}
	if err := f.main.readAvailable(emit); err != nil {
		return err
	}
	replaced, err := f.main.replaced()
	if err != nil || !replaced {
		return err
	}
	// Rename rotation: the old inode has been read to its end just above.
	f.retire(f.main)
	f.main = &tailedFile{path: f.opts.Path}
	return f.pollMain()
}

// watchForCollector notices the two lines the postmaster writes to its
// stderr before handing logging to the collector:
//
//	LOG:  redirecting log output to logging collector process
//	HINT:  Future log output will appear in directory "log".
func (f *Follower) watchForCollector(text string) {
	l := ParseLine(text)
	switch {
	case l.Severity == "LOG" && l.Message == "redirecting log output to logging collector process":
		f.redirected = true
	case l.Severity == "HINT":
		if dir, ok := strings.CutPrefix(l.Message, `Future log output will appear in directory "`); ok {
			f.collectorDir = strings.TrimSuffix(dir, `".`)
		}
	}
}

func (f *Follower) pollCollector() error {
	target, err := f.collectorFile()
	if err != nil {
		return err
	}
	if target != "" && (f.collector == nil || f.collector.path != target) {
		if f.collector != nil {
			// Drain the old file before switching: lines stay in order.
			if err := f.collector.readAvailable(f.emit); err != nil {
				return err
			}
			f.retire(f.collector)
		}
		f.collector = &tailedFile{path: target}
	}
	if f.collector == nil {
		return nil
	}
	if f.collector.file == nil {
		opened, err := f.collector.open(f.readUpTo[f.collector.path])
		if err != nil || !opened {
			return err
		}
	}
	return f.collector.readAvailable(f.emit)
}

// collectorFile names the collector's current stderr file, "" while it is
// not known yet.
func (f *Follower) collectorFile() (string, error) {
	if path, ok := f.currentLogfilesEntry(); ok {
		return path, nil
	}
	if f.collectorDir == "" {
		return "", nil
	}
	return newestLogFile(f.inDataDir(f.collectorDir))
}

// currentLogfilesEntry reads the "stderr" line of current_logfiles (10+),
// which the collector rewrites (atomically, by rename) at every rotation.
func (f *Follower) currentLogfilesEntry() (string, bool) {
	data, err := os.ReadFile(filepath.Join(f.opts.DataDir, "current_logfiles"))
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if path, ok := strings.CutPrefix(line, "stderr "); ok && path != "" {
			return f.inDataDir(path), true
		}
	}
	return "", false
}

// inDataDir resolves a path the server gives relative to its data directory.
func (f *Follower) inDataDir(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(f.opts.DataDir, path)
}

// newestLogFile is ≤9.6's way to find the collector's file: the most
// recently modified stderr file of the directory (csvlog/jsonlog files have
// their own extensions and are left out).
func newestLogFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var newest string
	var newestTime time.Time
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".csv") || strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if newest == "" || info.ModTime().After(newestTime) || (info.ModTime().Equal(newestTime) && e.Name() > filepath.Base(newest)) {
			newest, newestTime = filepath.Join(dir, e.Name()), info.ModTime()
		}
	}
	return newest, nil
}

// snapshotCollectorFiles records the sizes of the log files already in the
// data directory (default log_directory of 10+ and ≤9.6, and the file
// current_logfiles names) so that following them starts at their end. A
// custom log_directory elsewhere is not known yet and its files are read
// from 0.
func (f *Follower) snapshotCollectorFiles() {
	f.readUpTo = map[string]int64{}
	if f.opts.DataDir == "" {
		return
	}
	for _, dir := range []string{"log", "pg_log"} {
		entries, _ := os.ReadDir(filepath.Join(f.opts.DataDir, dir))
		for _, e := range entries {
			path := filepath.Join(f.opts.DataDir, dir, e.Name())
			f.readUpTo[path] = SizeOf(path)
		}
	}
	if path, ok := f.currentLogfilesEntry(); ok {
		f.readUpTo[path] = SizeOf(path)
	}
}

func (f *Follower) retire(t *tailedFile) {
	if t.file == nil {
		return
	}
	t.lastGrowth = time.Now()
	f.retired = append(f.retired, t)
}

// flushAll emits the unterminated last line of every file, oldest first.
func (f *Follower) flushAll() {
	for _, t := range f.retired {
		t.flushPartial(f.emit)
	}
	f.main.flushPartial(f.emit)
	if f.collector != nil {
		f.collector.flushPartial(f.emit)
	}
}

func (f *Follower) closeAll() {
	for _, t := range f.retired {
		t.close()
	}
	f.retired = nil
	f.main.close()
	if f.collector != nil {
		f.collector.close()
	}
}

// tailedFile is one open file and the line being assembled from it.
type tailedFile struct {
	path       string
	file       *os.File
	info       os.FileInfo // of the open file, to detect rename rotation
	offset     int64       // bytes consumed so far
	partial    []byte      // bytes after the last "\n"
	lastGrowth time.Time
	buf        []byte
}

// open opens the file at start (0 when the file is shorter than that). It
// reports false, without error, when the file does not exist yet.
func (t *tailedFile) open(start int64) (bool, error) {
	file, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return false, err
	}
	if start > info.Size() || start < 0 {
		start = 0
	}
	if _, err := file.Seek(start, io.SeekStart); err != nil {
		file.Close()
		return false, err
	}
	t.file, t.info, t.offset, t.lastGrowth = file, info, start, time.Now()
	return true, nil
}

// readAvailable reads to the current end of the file and emits the complete
// lines, after restarting at 0 if the file was truncated.
func (t *tailedFile) readAvailable(emit func(FollowedLine)) error {
	if t.file == nil {
		return nil
	}
	if err := t.restartIfTruncated(emit); err != nil {
		return err
	}
	if t.buf == nil {
		t.buf = make([]byte, 64<<10)
	}
	for {
		n, err := t.file.Read(t.buf)
		if n > 0 {
			t.offset += int64(n)
			t.lastGrowth = time.Now()
			t.split(t.buf[:n], emit)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// restartIfTruncated handles copytruncate: a file now shorter than what was
// read has been truncated and written anew from 0. The held partial line
// is emitted as it is: its end, if ever written, went to the rotated copy.
func (t *tailedFile) restartIfTruncated(emit func(FollowedLine)) error {
	info, err := t.file.Stat()
	if err != nil {
		return err
	}
	if info.Size() >= t.offset {
		return nil
	}
	t.flushPartial(emit)
	if _, err := t.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	t.offset = 0
	return nil
}

// split emits the complete lines in chunk, keeping the rest for later.
func (t *tailedFile) split(chunk []byte, emit func(FollowedLine)) {
	for {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			break
		}
		if len(t.partial) > 0 {
			t.partial = append(t.partial, chunk[:i]...)
			emit(FollowedLine{File: t.path, Text: string(t.partial)})
			t.partial = t.partial[:0]
		} else {
			emit(FollowedLine{File: t.path, Text: string(chunk[:i])})
		}
		chunk = chunk[i+1:]
	}
	t.partial = append(t.partial, chunk...)
	if len(t.partial) > maxLineLength {
		t.flushPartial(emit)
	}
}

func (t *tailedFile) flushPartial(emit func(FollowedLine)) {
	if len(t.partial) == 0 {
		return
	}
	emit(FollowedLine{File: t.path, Text: string(t.partial)})
	t.partial = t.partial[:0]
}

// replaced reports whether the path now names another file than the open
// one, or none: a rename rotation.
func (t *tailedFile) replaced() (bool, error) {
	info, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !os.SameFile(info, t.info), nil
}

func (t *tailedFile) close() {
	if t.file != nil {
		t.file.Close()
		t.file = nil
	}
}
