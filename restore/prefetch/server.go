// Package prefetch keeps WAL ahead of PostgreSQL during archive recovery.
//
// PostgreSQL asks restore_command for one file at a time and waits for each:
// fetching, decrypting and decompressing in-band makes replay as slow as the
// sum of those steps. The Server runs inside the pgrescue process that holds
// the unlocked GPG key. When PostgreSQL's restore_command (a `pgrescue
// wal-fetch` child, running as the server's user) asks for segment N over a
// Unix socket, the Server answers with a staged file and starts fetching
// N+1 … N+K in parallel, so the next request is a local rename.
//
// The child, not the Server, moves the staged file into place: the Server may
// run as root, and it never writes to a path a client names.
package prefetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/wale"
)

// DefaultAhead is how many segments are fetched ahead of the one PostgreSQL
// is replaying. Eight 16 MiB segments hide S3 latency without much disk.
const DefaultAhead = 8

// FetchFunc writes one archived WAL file to dest, atomically, and returns its
// size. A file that is not in the archive is a problem.NotFound error.
type FetchFunc func(ctx context.Context, name, dest string) (int64, error)

// Owner is who the staged files and the socket must belong to: the user that
// runs PostgreSQL and so its restore_command.
type Owner struct{ UID, GID int }

// Options configure a Server.
type Options struct {
	Fetch      FetchFunc
	StagingDir string // on the same file system as pg_wal, so delivery is a rename
	SocketPath string // at most ~100 bytes: Unix socket paths are short
	// Ahead is how many segments are fetched ahead of the one asked for;
	// 0 (or less) is none: each file is fetched when asked for. As in
	// replay.Options.Prefetch and `replay --prefetch`, 0 always means
	// none, never the default: callers that want it pass DefaultAhead.
	Ahead       int
	SegmentSize int64
	Owner       *Owner      // chown staged files and the socket (when running as root)
	Report      func(Event) // optional; called from many goroutines, serialized by the Server
	Now         func() time.Time
	// Pace is the least time between two segments handed to PostgreSQL;
	// 0 is none. Only training sets it: a sandbox's archive replays in a
	// second, too fast for a trainee to see the replay at all.
	Pace time.Duration
}

// Server answers restore_command requests from staged, prefetched files.
type Server struct {
	opts     Options
	listener net.Listener
	ctx      context.Context
	cancel   context.CancelFunc
	slots    chan struct{}  // bounds background fetches to Ahead
	wg       sync.WaitGroup // connection handlers
	discards sync.WaitGroup // removal of staged files nobody asked for

	mu      sync.Mutex
	entries map[string]*entry
	seq     int
	stats   Stats

	reportMu sync.Mutex
	served   time.Time // when the last segment was handed over, for Pace
}

// entry is one file being fetched or staged.
type entry struct {
	name       string
	path       string
	prefetched bool // started ahead of any request
	started    time.Time
	done       chan struct{}
	bytes      int64
	took       time.Duration
	err        error
	cancel     context.CancelFunc
}

// Stats count what the Server did, for the summary and the benchmark.
type Stats struct {
	Requests  int // requests answered
	Hits      int // answered from a file already staged when asked
	Waits     int // answered from a prefetch still running when asked
	Inline    int // fetched only when asked
	NotFound  int
	Errors    int
	Fetched   int   // files fetched, ahead or inline
	Bytes     int64 // bytes staged
	Discarded int   // staged files never asked for (timeline change, end of replay)
}

// Listen creates the staging folder and the socket. Serve starts answering.
func Listen(ctx context.Context, opts Options) (*Server, error) {
	if opts.Fetch == nil {
		return nil, errors.New("prefetch: Options.Fetch is required")
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = wale.DefaultSegmentSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := makeOwnedDir(opts.StagingDir, opts.Owner); err != nil {
		return nil, err
	}
	_ = os.Remove(opts.SocketPath) // a socket left by a killed run; Listen fails on anything else
	ln, err := net.Listen("unix", opts.SocketPath)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, opts.SocketPath, "cannot create the prefetch socket",
			"choose a shorter, writable socket directory (Unix socket paths are limited to about 100 bytes)")
	}
	if err := chownTo(opts.SocketPath, opts.Owner); err != nil {
		ln.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	// Decoding is CPU-bound (AES, SHA-1, LZO): more fetches at once than
	// cores only slow the one PostgreSQL needs next. Depth stays Ahead.
	slots := max(min(opts.Ahead, runtime.NumCPU()), 1)
	return &Server{
		opts:     opts,
		listener: ln,
		ctx:      sctx,
		cancel:   cancel,
		slots:    make(chan struct{}, slots),
		entries:  map[string]*entry{},
	}, nil
}

// Serve answers requests until ctx (given to Listen) is cancelled or Close is
// called. It returns nil on an orderly stop.
func (s *Server) Serve() error {
	go func() {
		<-s.ctx.Done()
		s.listener.Close()
	}()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			return problem.Wrap(err, problem.LocalIO, s.opts.SocketPath, "the prefetch socket failed", "restart the replay")
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

// Close stops serving, cancels fetches still running and removes the staged
// files that were never asked for and the socket.
func (s *Server) Close() error {
	s.cancel()
	s.listener.Close()
	s.wg.Wait()
	s.mu.Lock()
	for name, e := range s.entries {
		s.discardLocked(name, e)
	}
	s.mu.Unlock()
	s.discards.Wait()
	os.Remove(s.opts.SocketPath)
	// Files handed to a client that never delivered them are orphans now.
	removeStaged(s.opts.StagingDir)
	os.Remove(s.opts.StagingDir)
	return nil
}

// removeStaged deletes the staging folder's files: WAL names with our
// sequence suffix, and temporary files of fetches cut short. Nothing else is
// touched, so a misconfigured folder cannot lose anyone's data.
func removeStaged(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if stagedName.MatchString(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

var stagedName = regexp.MustCompile(`^(\.)?[0-9A-F]{8}(\.history|[0-9A-F]{16}(\.[0-9A-F]{8}\.backup|\.partial)?)\.[0-9]+(\.pgrescue-[0-9]+)?$`)

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// SocketPath is where restore_command connects.
func (s *Server) SocketPath() string { return s.opts.SocketPath }

// request handles one FETCH: schedule the segments after it, wait for it,
// and hand its staged file to the client.
func (s *Server) request(ctx context.Context, name string) (path string, err error) {
	kind, seg, ok := wale.ClassifyWAL(name)
	if !ok {
		return "", problem.New(problem.Usage, name, "not a WAL file name PostgreSQL would ask for", "check restore_command's %f argument")
	}
	s.mu.Lock()
	s.stats.Requests++
	if kind == wale.WALSegment {
		s.evictBeforeLocked(seg)
	}
	e, found := s.entries[name]
	if found && e.finished() && e.err != nil {
		// A failed or not-found prefetch is retried: the primary may have
		// archived the file since, or the failure was transient.
		delete(s.entries, name)
		found = false
	}
	how := "hit"
	switch {
	case !found:
		e = s.startLocked(name, false)
		how = "inline"
	case !e.finished():
		how = "wait"
	}
	e.prefetched = false // requested now: never evicted
	if kind == wale.WALSegment {
		// After the requested file has started: on a small machine the
		// file PostgreSQL waits for must not queue behind the ones after it.
		s.scheduleAfterLocked(seg)
	}
	s.mu.Unlock()

	waitStart := s.opts.Now()
	select {
	case <-e.done:
	case <-ctx.Done():
		return "", problem.Wrap(ctx.Err(), problem.Interrupted, name, "the replay is stopping", "")
	}
	waited := s.opts.Now().Sub(waitStart)

	s.mu.Lock()
	if s.entries[name] == e {
		delete(s.entries, name) // handed over: the client owns the file now
	}
	s.countLocked(how, e)
	s.mu.Unlock()
	if e.err != nil {
		if problem.Is(e.err, problem.NotFound) {
			s.report(NotInArchive{Name: name})
		} else {
			s.report(FetchFailed{Name: name, Err: e.err})
		}
		return "", e.err
	}
	if kind == wale.WALSegment {
		if err := s.pace(ctx); err != nil {
			return "", problem.Wrap(err, problem.Interrupted, name, "the replay is stopping", "")
		}
	}
	s.report(Served{Name: name, How: how, Waited: waited, Bytes: e.bytes, Took: e.took})
	return e.path, nil
}

// pace holds a segment back until Pace has passed since the last one.
// PostgreSQL asks for one segment at a time, so this spaces the replay.
func (s *Server) pace(ctx context.Context) error {
	if s.opts.Pace <= 0 {
		return nil
	}
	s.mu.Lock()
	wait := time.Until(s.served.Add(s.opts.Pace))
	s.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.served = time.Now()
	s.mu.Unlock()
	return nil
}

func (s *Server) countLocked(how string, e *entry) {
	switch {
	case problem.Is(e.err, problem.NotFound):
		s.stats.NotFound++
	case e.err != nil:
		s.stats.Errors++
	case how == "hit":
		s.stats.Hits++
	case how == "wait":
		s.stats.Waits++
	default:
		s.stats.Inline++
	}
}

// scheduleAfterLocked starts fetching the Ahead segments after seg that are
// not already staged or on their way.
func (s *Server) scheduleAfterLocked(seg wale.Segment) {
	next := seg
	for i := 0; i < s.opts.Ahead; i++ {
		next = next.Next(s.opts.SegmentSize)
		name := next.String()
		if e, ok := s.entries[name]; ok && !(e.finished() && e.err != nil) {
			continue
		}
		s.startLocked(name, true)
	}
}

// evictBeforeLocked drops staged segments PostgreSQL has gone past, and
// those of other timelines: after a timeline switch they will never be asked for.
func (s *Server) evictBeforeLocked(seg wale.Segment) {
	pos := seg.Number(s.opts.SegmentSize)
	for name, e := range s.entries {
		kind, other, _ := wale.ClassifyWAL(name)
		if kind != wale.WALSegment {
			continue
		}
		if e.prefetched && (other.Timeline != seg.Timeline || other.Number(s.opts.SegmentSize) < pos) {
			// Only unrequested files: a request being answered must
			// not see its fetch cancelled under it.
			s.discardLocked(name, e)
		}
	}
}

func (s *Server) discardLocked(name string, e *entry) {
	delete(s.entries, name)
	e.cancel()
	s.discards.Add(1)
	go func() {
		defer s.discards.Done()
		<-e.done
		if e.err == nil {
			os.Remove(e.path)
			s.mu.Lock()
			s.stats.Discarded++
			s.mu.Unlock()
		}
	}()
}

// startLocked begins fetching name into a fresh staging file. Requested
// files start at once; prefetches wait for one of the Ahead slots, so a
// request never queues behind them.
func (s *Server) startLocked(name string, ahead bool) *entry {
	s.seq++
	ctx, cancel := context.WithCancel(s.ctx)
	e := &entry{
		name:       name,
		path:       filepath.Join(s.opts.StagingDir, fmt.Sprintf("%s.%d", name, s.seq)),
		prefetched: ahead,
		done:       make(chan struct{}),
		cancel:     cancel,
	}
	s.entries[name] = e
	go s.fetch(ctx, e, ahead)
	return e
}

func (s *Server) fetch(ctx context.Context, e *entry, ahead bool) {
	defer close(e.done)
	defer e.cancel()
	if ahead {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			e.err = problem.Wrap(ctx.Err(), problem.Interrupted, e.name, "prefetch cancelled", "")
			return
		}
	}
	e.started = s.opts.Now()
	n, err := s.opts.Fetch(ctx, e.name, e.path)
	if err == nil {
		err = chownTo(e.path, s.opts.Owner)
		if err != nil {
			os.Remove(e.path)
		}
	}
	e.bytes, e.err, e.took = n, err, s.opts.Now().Sub(e.started)
	if err == nil {
		s.mu.Lock()
		s.stats.Fetched++
		s.stats.Bytes += n
		s.mu.Unlock()
		if ahead {
			s.report(Prefetched{Name: e.name, Bytes: n, Took: e.took})
		}
	}
}

func (e *entry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func (s *Server) report(ev Event) {
	if s.opts.Report == nil {
		return
	}
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	s.opts.Report(ev)
}

// makeOwnedDir creates dir (mode 0700) for the owner; a dir left by an
// interrupted run is reused after its stale staged files are removed.
func makeOwnedDir(dir string, owner *Owner) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return problem.Wrap(err, problem.LocalIO, dir, "cannot create the prefetch staging folder", "check permissions of "+filepath.Dir(dir))
	}
	removeStaged(dir)
	return chownTo(dir, owner)
}

func chownTo(path string, owner *Owner) error {
	if owner == nil || os.Geteuid() != 0 {
		return nil
	}
	if err := os.Lchown(path, owner.UID, owner.GID); err != nil {
		return problem.Wrap(err, problem.LocalIO, path, "cannot hand the file to PostgreSQL's user", "run pgrescue as root or as the data directory's owner")
	}
	return nil
}
