package prefetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/wale"
)

// startServer runs a Server in a temp dir and stops it at cleanup.
func startServer(t *testing.T, fetch FetchFunc, ahead int) (*Server, string, *eventLog) {
	t.Helper()
	dir := t.TempDir()
	log := &eventLog{}
	s, err := Listen(context.Background(), Options{
		Fetch:      fetch,
		StagingDir: filepath.Join(dir, "pg_wal", ".pgrescue-prefetch"),
		SocketPath: filepath.Join(dir, "prefetch.sock"),
		Ahead:      ahead,
		Report:     log.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, dir, log
}

type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) served() []Served {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Served
	for _, e := range l.events {
		if s, ok := e.(Served); ok {
			out = append(out, s)
		}
	}
	return out
}

func archiveFetch(a *wale.Archive) FetchFunc {
	return func(ctx context.Context, name, dest string) (int64, error) {
		r, err := a.FetchWAL(ctx, name, dest)
		if err != nil {
			return 0, err
		}
		return r.Bytes, nil
	}
}

// fetchThrough asks the server like restore_command does and delivers the
// file into dir/pg_wal/RECOVERYXLOG.
func fetchThrough(t *testing.T, s *Server, dir, name string) ([]byte, error) {
	t.Helper()
	staged, err := Request(context.Background(), s.SocketPath(), name)
	if err != nil {
		return nil, err
	}
	dest := filepath.Join(dir, "pg_wal", "RECOVERYXLOG")
	if err := Deliver(staged, dest); err != nil {
		t.Fatal(err)
	}
	return os.ReadFile(dest)
}

func TestServesFixtureSegmentsAndPrefetchesAhead(t *testing.T) {
	archive, _ := walefixture.Open(t)
	s, dir, log := startServer(t, archiveFetch(archive), 3)

	first := "000000010000000000000012"
	got, err := fetchThrough(t, s, dir, first)
	if err != nil {
		t.Fatal(err)
	}
	direct := filepath.Join(t.TempDir(), "direct")
	if _, err := archive.FetchWAL(context.Background(), first, direct); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(direct)
	if !bytes.Equal(got, want) || len(got) != wale.DefaultSegmentSize {
		t.Fatalf("served %d bytes, want the %d bytes wal-fetch writes", len(got), len(want))
	}

	// The next three were fetched ahead: wait until they are staged, then
	// each request must be a hit.
	waitFor(t, func() bool { return s.Stats().Fetched >= 4 })
	for _, name := range []string{"000000010000000000000013", "000000010000000000000014", "000000010000000000000015"} {
		if _, err := fetchThrough(t, s, dir, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	served := log.served()
	if len(served) != 4 || served[0].How != "inline" {
		t.Fatalf("served = %+v", served)
	}
	for _, sv := range served[1:] {
		if sv.How != "hit" {
			t.Errorf("%s served %q, want hit", sv.Name, sv.How)
		}
	}
	st := s.Stats()
	if st.Hits != 3 || st.Inline != 1 || st.Requests != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestNotFoundIsNotCached(t *testing.T) {
	archive, srv := walefixture.Open(t)
	s, dir, _ := startServer(t, archiveFetch(archive), 2)
	// 19 is past the end of the fixture's archive: PostgreSQL asks for it
	// as a matter of course, and must hear "not in the archive".
	_, err := fetchThrough(t, s, dir, "000000010000000000000019")
	if !problem.Is(err, problem.NotFound) {
		t.Fatalf("err = %v, want NotFound", err)
	}
	// An object appears under that name meanwhile: the next request must
	// go to the archive again, not repeat "not in the archive". (The
	// stand-in is segment 18's WAL, which the fetch then refuses as not
	// being segment 19: that is the archive answering.)
	seg18, _ := os.ReadFile(walefixture.Path(t, "s3", "wale-fixtures", "pg15-primary", "wal_005", "000000010000000000000018.lzo"))
	srv.Put(t, "wale-fixtures", "pg15-primary/wal_005/000000010000000000000019.lzo", seg18, "application/octet-stream", time.Now())
	if _, err := fetchThrough(t, s, dir, "000000010000000000000019"); problem.Is(err, problem.NotFound) || !strings.Contains(err.Error(), "not segment 000000010000000000000019") {
		t.Fatalf("after archiving: %v, want the archived object read and refused", err)
	}
}

func TestFetchErrorsKeepTheirKind(t *testing.T) {
	archive, srv := walefixture.Open(t)
	s, dir, log := startServer(t, archiveFetch(archive), 0)
	srv.Faults().Inject(s3test.Match{Method: http.MethodGet, KeyContains: "0000000000000013"},
		s3test.Respond(http.StatusForbidden, "AccessDenied", "Access Denied"))
	_, err := fetchThrough(t, s, dir, "000000010000000000000013")
	if !problem.Is(err, problem.AccessDenied) {
		t.Fatalf("err = %v, want AccessDenied carried over the socket", err)
	}
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Next == "" || pe.Subject == "" {
		t.Fatalf("the explanation was lost: %#v", err)
	}
	var failed bool
	for _, e := range log.events {
		if f, ok := e.(FetchFailed); ok && f.Name == "000000010000000000000013" {
			failed = true
		}
	}
	if !failed {
		t.Error("no FetchFailed event")
	}
	// A failure is not cached either: with the fault gone it is served.
	srv.Faults().Clear()
	if _, err := fetchThrough(t, s, dir, "000000010000000000000013"); err != nil {
		t.Fatal(err)
	}
}

func TestNoServer(t *testing.T) {
	_, err := Request(context.Background(), filepath.Join(t.TempDir(), "gone.sock"), "000000010000000000000012")
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("err = %v, want ErrNoServer", err)
	}
}

func TestNonWALNameRefused(t *testing.T) {
	s, dir, _ := startServer(t, func(context.Context, string, string) (int64, error) { return 0, nil }, 1)
	_, err := fetchThrough(t, s, dir, "../../etc/passwd")
	if !problem.Is(err, problem.Usage) {
		t.Fatalf("err = %v, want Usage", err)
	}
}

// fakeFetch writes a small file after a delay and records concurrency. The
// server's scheduling is under test here, not the archive.
type fakeFetch struct {
	delay         time.Duration
	running, peak atomic.Int32
	calls         sync.Map
}

func (f *fakeFetch) fetch(ctx context.Context, name, dest string) (int64, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.calls.Store(name, true)
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return 4, os.WriteFile(dest, []byte(name[16:20]), 0o600)
}

func TestAheadBoundsConcurrencyButNotRequests(t *testing.T) {
	f := &fakeFetch{delay: 150 * time.Millisecond}
	s, dir, log := startServer(t, f.fetch, 2)
	if _, err := fetchThrough(t, s, dir, "000000010000000000000001"); err != nil {
		t.Fatal(err)
	}
	// A request for a segment far ahead starts at once even though the two
	// prefetch slots are busy.
	start := time.Now()
	if _, err := fetchThrough(t, s, dir, "000000010000000000000010"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 290*time.Millisecond {
		t.Errorf("request queued behind prefetches: %v", waited)
	}
	time.Sleep(400 * time.Millisecond)
	if p := f.peak.Load(); p > 3 {
		t.Errorf("peak concurrency %d, want at most 2 prefetches + 1 request", p)
	}
	if _, ok := f.calls.Load("000000010000000000000011"); !ok {
		t.Error("segment after the second request was not prefetched")
	}
	if got := log.served(); len(got) != 2 {
		t.Errorf("served %+v", got)
	}
}

func TestTimelineSwitchDiscardsStagedFiles(t *testing.T) {
	f := &fakeFetch{delay: time.Millisecond}
	s, dir, _ := startServer(t, f.fetch, 3)
	if _, err := fetchThrough(t, s, dir, "000000010000000000000005"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().Fetched == 4 })
	if _, err := fetchThrough(t, s, dir, "000000020000000000000006"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.Stats().Discarded == 3 })
	staged, _ := filepath.Glob(filepath.Join(s.opts.StagingDir, "00000001*"))
	if len(staged) != 0 {
		t.Errorf("timeline 1 files still staged: %v", staged)
	}
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	f := &fakeFetch{delay: 20 * time.Millisecond}
	dir := t.TempDir()
	staging := filepath.Join(dir, "staging")
	s, err := Listen(context.Background(), Options{Fetch: f.fetch, StagingDir: staging, SocketPath: filepath.Join(dir, "s.sock"), Ahead: 4})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	if _, err := Request(context.Background(), s.SocketPath(), "000000010000000000000001"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-done
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestStaleStagingFilesRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	staging := filepath.Join(dir, "staging")
	os.MkdirAll(staging, 0o700)
	os.WriteFile(filepath.Join(staging, "000000010000000000000001.7"), []byte("old"), 0o600)
	_, _, _ = startServerAt(t, staging, filepath.Join(dir, "s.sock"))
	if left, _ := os.ReadDir(staging); len(left) != 0 {
		t.Errorf("stale staged file kept: %v", left)
	}
}

func startServerAt(t *testing.T, staging, socket string) (*Server, string, error) {
	s, err := Listen(context.Background(), Options{Fetch: (&fakeFetch{}).fetch, StagingDir: staging, SocketPath: socket})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s, staging, nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A pg_wal on another file system (a symlink, as some layouts have): the
// staged file is copied, atomically, and removed.
func TestDeliverAcrossFileSystems(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "pgrescue-deliver-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(other)
	staged := filepath.Join(other, "000000010000000000000001.1")
	os.WriteFile(staged, []byte("segment"), 0o600)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	if err := os.Link(staged, dest); err == nil {
		t.Skip("/dev/shm and the temp dir share a file system")
	}
	if err := Deliver(staged, dest); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "segment" {
		t.Fatalf("delivered %q", got)
	}
	if _, err := os.Stat(staged); err == nil {
		t.Error("the staged file was not removed")
	}
}

// TestPaceSpacesTheSegments: with Pace (the demo's), segments are handed
// over no faster than one per Pace, so a trainee sees the replay.
func TestPaceSpacesTheSegments(t *testing.T) {
	archive, _ := walefixture.Open(t)
	s, dir, _ := startServer(t, archiveFetch(archive), 2)
	s.opts.Pace = 150 * time.Millisecond
	start := time.Now()
	for _, name := range []string{"000000010000000000000012", "000000010000000000000013", "000000010000000000000014"} {
		if _, err := fetchThrough(t, s, dir, name); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("three paced segments in %s, want at least 2 × 150ms", took)
	}
}
