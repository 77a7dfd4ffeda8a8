package wale

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"pgrescue/problem"
)

// WAL-E's partition limits (wal_e/tar_partition.py): member data per
// partition, and members per partition.
const (
	partitionMaxSize    = 1610612736
	partitionMaxMembers = partitionMaxSize / 262144
)

// BackupPushOptions say how to reach the running server to back up.
type BackupPushOptions struct {
	DataDir string // the server's data directory, recorded as the spec's base_prefix
	BinDir  string // holds pg_basebackup and psql of the server's major version or newer
	Host    string // a socket directory or a host name
	Port    int
	User    string // a role with REPLICATION (or a superuser)
	// RunAs makes the tools run as the cluster's owner when pgrescue runs
	// as root (peer authentication); nil runs them as we are.
	RunAs func(*exec.Cmd) error
	// PartitionSize caps the member data of one tar partition; WAL-E's
	// 1.5 GiB when 0.
	PartitionSize int64
	// Streamer, when set, takes the backup instead of pg_basebackup: a
	// command (pgrescue base-backup-stream) given --host, --port and
	// --user that writes the tar archive to stdout and pg_basebackup's
	// start and end point lines, and the server's version, to stderr.
	Streamer []string
}

// PartitionPushed: one tar partition is stored.
type PartitionPushed struct {
	Index         int
	Key           string
	Members       int
	ExpandedBytes int64
	StoredBytes   int64
}

func (PartitionPushed) event() {}

// BackupPushed describes a stored base backup.
type BackupPushed struct {
	Name          string
	Start, Stop   string // LSNs as PostgreSQL prints them
	Partitions    int
	ExpandedBytes int64
	StoredBytes   int64
	Duration      time.Duration
}

// PushBackup takes a base backup of a running server and stores it as
// WAL-E's backup-push does: extended_version.txt, tar partitions of the data
// directory (lzop, encrypted to the recipient), then the stop sentinel,
// written last so the backup exists only once it is complete. WAL-E's own
// backup-push calls pg_start_backup(), which PostgreSQL 15 removed; this one
// streams the backup with pg_basebackup (tar format, no WAL: the archive
// holds it), which works from 9.3 to 17 and needs no superuser session.
func (a *Archive) PushBackup(ctx context.Context, opts BackupPushOptions, report func(Event)) (*BackupPushed, error) {
	began := time.Now()
	if report == nil {
		report = func(Event) {}
	}
	var version string // the streamer says it; psql is asked otherwise
	if len(opts.Streamer) == 0 {
		v, err := serverVersion(ctx, opts)
		if err != nil {
			return nil, err
		}
		version = v
	}
	p := &pusher{a: a, opts: opts, report: report, version: version, began: began,
		source: "pg_basebackup", sourceNext: "read pg_basebackup's message"}
	if len(opts.Streamer) > 0 {
		p.source, p.sourceNext = "the base backup stream", "read the server's message"
	}
	p.points = func(which string) (lsnPoint, error) { return p.stderr.point(which) }
	return p.run(ctx)
}

type pusher struct {
	a       *Archive
	opts    BackupPushOptions
	report  func(Event)
	version string
	began   time.Time

	name     string
	start    lsnPoint
	partIdx  int
	res      BackupPushed
	stderr   *stderrLog
	startSeg chan error
	// points are the backup's start and stop: pg_basebackup's, or an
	// offline cluster's last checkpoint for both.
	points func(which string) (lsnPoint, error)
	// source names where the tar stream comes from, and what to read when
	// it fails.
	source, sourceNext string
}

// streamError explains a tar stream that failed.
func (p *pusher) streamError(err error, summary string) error {
	if p.stderr != nil {
		summary += ": " + p.stderr.tail()
	}
	return problem.Wrap(err, problem.LocalIO, p.source, summary, p.sourceNext)
}

type lsnPoint struct {
	lsn      uint64
	timeline uint32
	text     string
}

func (p *pusher) tool(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	return p.command(ctx, filepath.Join(p.opts.BinDir, name), args...)
}

// command runs program as the cluster's owner, in a process group of its
// own.
func (p *pusher) command(ctx context.Context, program string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + p.opts.BinDir + ":/usr/bin:/bin", "LC_ALL=C", "PGCONNECT_TIMEOUT=30"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a ctrl+c at the terminal reaches us, not the tool
	if p.opts.RunAs != nil {
		if err := p.opts.RunAs(cmd); err != nil {
			return nil, err
		}
	}
	return cmd, nil
}

func connArgs(o BackupPushOptions) []string {
	args := []string{"-h", o.Host, "-p", strconv.Itoa(o.Port), "--no-password"}
	if o.User != "" {
		args = append(args, "-U", o.User)
	}
	return args
}

// serverVersion is `SELECT version()`, which WAL-E stores first.
func serverVersion(ctx context.Context, o BackupPushOptions) (string, error) {
	p := &pusher{opts: o}
	cmd, err := p.tool(ctx, "psql", append(connArgs(o), "-X", "-A", "-t", "-d", "postgres", "-c", "SELECT version()")...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", problem.Wrap(err, problem.LocalIO, fmt.Sprintf("%s:%d", o.Host, o.Port), "cannot connect to the server to back it up: "+strings.TrimSpace(string(out)),
			"check the server is running and that its owner can connect over the socket (peer authentication)")
	}
	return strings.TrimSpace(string(out)), nil
}

func (p *pusher) run(ctx context.Context) (*BackupPushed, error) {
	// -X fetch: pg_basebackup prints the start and end points only when it
	// handles WAL; the WAL it adds under pg_wal/ is left out (the archive
	// holds it), as WAL-E leaves pg_wal/ out.
	args := append(connArgs(p.opts), "-D", "-", "-F", "t", "-X", "fetch", "-c", "fast", "-v")
	if m := serverVersionPattern.FindStringSubmatch(p.version); m != nil && len(m[1]) >= 2 && m[1] >= "13" {
		args = append(args, "--no-manifest")
	}
	cmd, err := p.tool(ctx, "pg_basebackup", args...)
	if len(p.opts.Streamer) > 0 {
		streamer := append(append([]string{}, p.opts.Streamer...), "--host", p.opts.Host, "--port", strconv.Itoa(p.opts.Port), "--user", p.opts.User)
		cmd, err = p.command(ctx, streamer[0], streamer[1:]...)
	}
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, cmd.Path, "cannot run "+p.source, "install the PostgreSQL client of the server's version, or run pgrescue from where the cluster's owner can run it")
	}
	p.stderr = newStderrLog(stderr)
	err = p.partition(ctx, stdout)
	if err != nil {
		io.Copy(io.Discard, stdout) // let pg_basebackup finish or fail on its own
	}
	waitErr := cmd.Wait()
	p.stderr.wait()
	if waitErr != nil && ctx.Err() == nil {
		// The program's own message is the cause: an empty or cut stream
		// is only its consequence.
		err = problem.Wrap(waitErr, problem.LocalIO, p.source, "the base backup failed: "+p.stderr.tail(),
			"read its message; the server needs a replication connection for its owner (pg_hba.conf) and max_wal_senders > 0")
	}
	if err != nil {
		return nil, err
	}
	return p.finish(ctx)
}

// partition reads pg_basebackup's tar stream and stores it as WAL-E
// partitions, leaving out what WAL-E leaves out.
func (p *pusher) partition(ctx context.Context, stream io.Reader) error {
	tr := tar.NewReader(bufio.NewReaderSize(stream, 1<<20))
	var part *partitionWriter
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p.streamError(err, "cannot read the backup's tar stream")
		}
		if excluded(hdr.Name) {
			continue
		}
		if part == nil {
			if part, err = p.firstPartition(ctx); err != nil {
				return err
			}
		} else if maxSize, maxMembers := p.limits(); part.full(hdr.Size, maxSize, maxMembers) {
			if err := p.store(ctx, part); err != nil {
				return err
			}
			if part, err = p.newPartition(); err != nil {
				return err
			}
		}
		if err := part.add(hdr, tr); err != nil {
			return err
		}
	}
	if part == nil {
		return p.streamError(errors.New("no files"), "the backup's tar stream holds no files")
	}
	return p.store(ctx, part)
}

func (p *pusher) limits() (size int64, members int) {
	if p.opts.PartitionSize <= 0 {
		return partitionMaxSize, partitionMaxMembers
	}
	return p.opts.PartitionSize, int(max(p.opts.PartitionSize/262144, 16))
}

// firstPartition waits for the backup's start point, which names the
// backup, stores extended_version.txt first as WAL-E does, and begins
// partition 0 with the data directory itself, WAL-E's first member.
func (p *pusher) firstPartition(ctx context.Context) (*partitionWriter, error) {
	start, err := p.points("start")
	if err != nil {
		return nil, err
	}
	p.start = start
	if p.version == "" && p.stderr != nil {
		p.version = p.stderr.serverVersion()
	}
	seg := segmentOf(start.lsn, start.timeline, p.a.segmentSize(), false)
	p.name = fmt.Sprintf("base_%s_%08d", seg, start.lsn%uint64(p.a.segmentSize()))
	if err := p.a.Store.PutBytes(ctx, p.a.Layout.ExtendedVersionKey(p.name), []byte(p.version), "text/plain"); err != nil {
		return nil, err
	}
	part, err := p.newPartition()
	if err != nil {
		return nil, err
	}
	return part, part.addRoot(p.opts.DataDir)
}

// segmentOf names the segment holding lsn; for a stop point exactly on a
// segment boundary, the segment before it, as pg_walfile_name does.
func segmentOf(lsn uint64, timeline uint32, size int64, stop bool) Segment {
	n := lsn / uint64(size)
	if stop && lsn%uint64(size) == 0 && n > 0 {
		n--
	}
	return SegmentAt(timeline, n, size)
}

func (p *pusher) newPartition() (*partitionWriter, error) {
	tmp, err := os.CreateTemp("", "pgrescue-part-*.tar.lzo")
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, os.TempDir(), "cannot create a temporary file for a partition",
			"free space in the temporary directory, or point TMPDIR at one with room")
	}
	enc, err := p.a.encoder(tmp, 0, time.Time{})
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	pw := &partitionWriter{index: p.partIdx, file: tmp, enc: enc, tw: tar.NewWriter(enc)}
	p.partIdx++
	return pw, nil
}

// store finishes a partition and uploads it.
func (p *pusher) store(ctx context.Context, part *partitionWriter) error {
	defer part.discard()
	if err := part.close(); err != nil {
		return problem.Wrap(err, problem.LocalIO, part.file.Name(), "cannot write a partition", "free space in the temporary directory")
	}
	key := fmt.Sprintf("%spart_%08d.tar.lzo", p.a.Layout.PartitionsPrefix(p.name), part.index)
	if err := p.a.Store.PutFile(ctx, key, part.file, ""); err != nil {
		return err
	}
	stored, _ := part.file.Seek(0, io.SeekEnd)
	p.res.Partitions++
	p.res.ExpandedBytes += part.bytes
	p.res.StoredBytes += stored
	p.report(PartitionPushed{Index: part.index, Key: key, Members: part.members, ExpandedBytes: part.bytes, StoredBytes: stored})
	return nil
}

// finish writes the sentinel, last: only then does the backup exist.
func (p *pusher) finish(ctx context.Context) (*BackupPushed, error) {
	stop, err := p.points("end")
	if err != nil {
		return nil, err
	}
	size := p.a.segmentSize()
	seg := segmentOf(stop.lsn, p.start.timeline, size, true)
	offset := stop.lsn % uint64(size)
	if stop.lsn%uint64(size) == 0 {
		offset = uint64(size)
	}
	base, _ := json.Marshal(strings.TrimSuffix(p.opts.DataDir, "/") + "/")
	sentinel := fmt.Sprintf(`{"wal_segment_backup_stop": "%s", "wal_segment_offset_backup_stop": "%08d", "expanded_size_bytes": %d, "spec": {"base_prefix": %s, "tablespaces": []}}`,
		seg, offset, p.res.ExpandedBytes, base)
	if err := p.a.Store.PutBytes(ctx, p.a.Layout.SentinelKey(p.name), []byte(sentinel), "application/json"); err != nil {
		return nil, err
	}
	p.res.Name, p.res.Start, p.res.Stop, p.res.Duration = p.name, p.start.text, stop.text, time.Since(p.began)
	return &p.res, nil
}

// excluded is what WAL-E leaves out of a base backup (wal_e/tar_partition.py)
// beyond what pg_basebackup leaves out already: the configuration files
// (Debian keeps them in /etc/postgresql) and the contents of the log,
// temporary and statistics directories.
func excluded(name string) bool {
	name = strings.TrimPrefix(strings.TrimSuffix(name, "/"), "./")
	switch name {
	case "postgresql.conf", "pg_hba.conf", "pg_ident.conf", "recovery.conf", "recovery.done", "promote",
		"postmaster.pid", "postmaster.opts", "backup_manifest":
		return true
	}
	for _, dir := range []string{"pg_xlog/", "pg_wal/", "pg_log/", "pg_replslot/"} {
		if strings.HasPrefix(name, dir) {
			return true // the directory entry is kept, its contents are not
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "lost+found" || part == ".wal-e" {
			return true
		}
	}
	return strings.Contains(name, "/pgsql_tmp/") || strings.HasPrefix(name, "pg_stat_tmp/")
}

// partitionWriter is one tar partition being compressed into a temporary file.
type partitionWriter struct {
	index   int
	file    *os.File
	enc     io.WriteCloser
	tw      *tar.Writer
	members int
	bytes   int64
}

func (w *partitionWriter) full(next int64, maxSize int64, maxMembers int) bool {
	return w.members > 0 && (w.bytes+next > maxSize || w.members >= maxMembers)
}

// addRoot writes the data directory itself, as WAL-E's first member: a
// directory Python's tarfile names "/".
func (w *partitionWriter) addRoot(dataDir string) error {
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: "/", Mode: 0o700, ModTime: time.Now(), Format: tar.FormatPAX}
	if st, err := os.Stat(dataDir); err == nil {
		hdr.Mode, hdr.ModTime = int64(st.Mode().Perm()), st.ModTime()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(sys.Uid), int(sys.Gid)
		}
	}
	w.members++
	return w.tw.WriteHeader(hdr)
}

func (w *partitionWriter) add(hdr *tar.Header, r io.Reader) error {
	hdr.Name = strings.TrimPrefix(hdr.Name, "./")
	hdr.Format = tar.FormatPAX
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg {
		if _, err := io.CopyN(w.tw, r, hdr.Size); err != nil {
			return err
		}
		w.bytes += hdr.Size
	}
	w.members++
	return nil
}

func (w *partitionWriter) close() error {
	if err := w.tw.Close(); err != nil {
		return err
	}
	if err := w.enc.Close(); err != nil {
		return err
	}
	return w.file.Sync()
}

func (w *partitionWriter) discard() {
	w.file.Close()
	os.Remove(w.file.Name())
}

// stderrLog keeps pg_basebackup's messages and finds its start and end
// points in them.
type stderrLog struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func newStderrLog(r io.Reader) *stderrLog {
	l := &stderrLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *stderrLog) wait() { <-l.done }

func (l *stderrLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(len(l.lines)-3, 0):], " / ")
}

// serverVersion is the streamer's "server version: 16.14" line, as
// extended_version.txt begins: "PostgreSQL 16.14".
func (l *stderrLog) serverVersion() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if _, v, ok := strings.Cut(line, "server version: "); ok {
			return "PostgreSQL " + strings.TrimSpace(v)
		}
	}
	return "PostgreSQL (version unknown)"
}

var walPoint = regexp.MustCompile(`write-ahead log (start|end) point: ([0-9A-F]+)/([0-9A-F]+)(?: on timeline (\d+))?`)

// point finds "write-ahead log start point: 0/2000028 on timeline 1" (or
// the end point), waiting for pg_basebackup to print it: it prints the
// start point before any file, the end point before it exits.
func (l *stderrLog) point(which string) (lsnPoint, error) {
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if m := walPoint.FindStringSubmatch(line); m != nil && m[1] == which {
				l.mu.Unlock()
				return parsePoint(m)
			}
		}
		l.mu.Unlock()
		select {
		case <-l.done:
			l.mu.Lock()
			found := false
			for _, line := range l.lines {
				if m := walPoint.FindStringSubmatch(line); m != nil && m[1] == which {
					found = true
				}
			}
			l.mu.Unlock()
			if !found {
				return lsnPoint{}, problem.New(problem.LocalIO, "pg_basebackup", "pg_basebackup did not print its "+which+" point: "+l.tail(), "read pg_basebackup's message")
			}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func parsePoint(m []string) (lsnPoint, error) {
	hi, err1 := strconv.ParseUint(m[2], 16, 32)
	lo, err2 := strconv.ParseUint(m[3], 16, 32)
	if err := errors.Join(err1, err2); err != nil {
		return lsnPoint{}, err
	}
	tl := uint64(1)
	if m[4] != "" {
		tl, _ = strconv.ParseUint(m[4], 10, 32)
	}
	return lsnPoint{lsn: hi<<32 | lo, timeline: uint32(tl), text: m[2] + "/" + m[3]}, nil
}
