package pglog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPoll keeps the tests fast; the logic does not depend on the period.
const testPoll = 2 * time.Millisecond

// sink collects what a follower emits; the follower calls it from Run's
// goroutine while the test reads from its own.
type sink struct {
	mu    sync.Mutex
	lines []FollowedLine
}

func (s *sink) emit(l FollowedLine) {
	s.mu.Lock()
	s.lines = append(s.lines, l)
	s.mu.Unlock()
}

func (s *sink) snapshot() []FollowedLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

func (s *sink) texts() []string {
	var out []string
	for _, l := range s.snapshot() {
		out = append(out, l.Text)
	}
	return out
}

// waitFor waits until at least n lines arrived.
func (s *sink) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(s.snapshot()) >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("got %d lines, want %d: %q", len(s.snapshot()), n, s.texts())
}

// follow starts Run in a goroutine; the returned stop cancels it and waits
// for it to return.
func follow(t *testing.T, opts FollowOptions, emit func(FollowedLine)) (stop func()) {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = testPoll
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	follower := NewFollower(opts) // before any write, as before starting a server
	go func() { done <- follower.Run(ctx, emit) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes a file the way the collector writes current_logfiles:
// to a temporary name, then rename.
func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func numbered(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %06d", i))
	}
	return out
}

func joined(lines []string) string { return strings.Join(lines, "\n") + "\n" }

func TestFollowPartialLinesByteByByte(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	appendTo(t, path, "")
	var s sink
	stop := follow(t, FollowOptions{Path: path, PollInterval: time.Millisecond}, s.emit)

	text := "2026-11-25 02:39:04.281 UTC [29263] LOG:  redo starts at 0/3000028\n" +
		"cp: cannot stat '/x/00000002.history': No such file or directory\n" +
		"\tcontinued\n" +
		"unterminated at stop"
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < len(text); i++ {
		if _, err := f.Write([]byte{text[i]}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	s.waitFor(t, 3)
	time.Sleep(10 * time.Millisecond) // the partial line must not be emitted while the writer may finish it
	if got := s.texts(); len(got) != 3 {
		t.Fatalf("partial line emitted early: %q", got)
	}
	stop()
	want := strings.Split(text, "\n")
	if got := s.texts(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, l := range s.snapshot() {
		if l.File != path {
			t.Errorf("file %q", l.File)
		}
	}
}

func TestFollowStartsAtOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postgresql-15-main.log")
	if SizeOf(path) != 0 {
		t.Fatal("SizeOf of a missing file must be 0")
	}
	appendTo(t, path, "2026-11-24 10:00:00.000 UTC [1] LOG:  database system is shut down\n")
	offset := SizeOf(path) // as pg_ctlcluster does just before starting
	var s sink
	stop := follow(t, FollowOptions{Path: path, Offset: offset}, s.emit)
	appendTo(t, path, joined(numbered(1, 3)))
	s.waitFor(t, 3)
	stop()
	if got := s.texts(); !slices.Equal(got, numbered(1, 3)) {
		t.Errorf("got %q", got)
	}
}

func TestFollowWaitsForTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.log")
	var s sink
	stop := follow(t, FollowOptions{Path: path, Offset: 0}, s.emit)
	time.Sleep(10 * time.Millisecond)
	appendTo(t, path, joined(numbered(1, 5)))
	s.waitFor(t, 5)
	stop()
	if got := s.texts(); !slices.Equal(got, numbered(1, 5)) {
		t.Errorf("got %q", got)
	}
}

// logrotate's copytruncate while the server keeps appending (O_APPEND, as
// pg_ctl -l opens it). Lines written after the truncation must all arrive;
// lines written before it arrive unless the copy took them first, which is
// what copytruncate inherently loses; nothing is duplicated or reordered.
func TestFollowCopytruncateMidStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	appendTo(t, path, "")
	var s sink
	stop := follow(t, FollowOptions{Path: path}, s.emit)

	out, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var mu sync.Mutex // a write and the truncation do not overlap
	next := 1
	writeLines := func(n int) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := out.WriteString(joined(numbered(next, next+n-1))); err != nil {
			t.Error(err)
		}
		next += n
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			writeLines(50)
			time.Sleep(200 * time.Microsecond)
		}
	}()

	s.waitFor(t, 5000) // the file is ~60 kB: it cannot regrow past that before the next poll
	mu.Lock()
	if err := os.WriteFile(path+".1", nil, 0o644); err != nil { // logrotate's copy, irrelevant here
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	firstAfter := next
	mu.Unlock()
	<-done
	last := next - 1
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := s.texts(); len(got) > 0 && got[len(got)-1] == fmt.Sprintf("line %06d", last) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	stop()

	seen := map[int]bool{}
	previous := 0
	for _, text := range s.texts() {
		n, err := strconv.Atoi(strings.TrimPrefix(text, "line "))
		if err != nil || n <= previous {
			t.Fatalf("line %q after %d: torn, duplicated or out of order", text, previous)
		}
		seen[n], previous = true, n
	}
	for n := firstAfter; n <= last; n++ {
		if !seen[n] {
			t.Fatalf("line %d, written after the truncation, is missing", n)
		}
	}
	t.Logf("truncated before line %d; %d of %d earlier lines read before the truncation", firstAfter, len(seen)-(last-firstAfter+1), firstAfter-1)
}

// Rename rotation: the old file is read to its end, then the new one from
// its start; the old inode keeps being followed for a while, because a
// pg_ctl server goes on writing to it.
func TestFollowRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.log")
	old, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var s sink
	stop := follow(t, FollowOptions{Path: path}, s.emit)

	old.WriteString(joined(numbered(1, 100)))
	s.waitFor(t, 100)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	old.WriteString(joined(numbered(101, 150))) // still to the renamed inode
	time.Sleep(5 * time.Millisecond)
	appendTo(t, path, joined(numbered(151, 300)))
	s.waitFor(t, 300)
	if got := s.texts(); !slices.Equal(got, numbered(1, 300)) {
		t.Fatalf("got %d lines, first difference in %q", len(got), got)
	}
	old.WriteString("late line to the old inode\n")
	s.waitFor(t, 301)
	stop()
	if got := s.texts(); got[300] != "late line to the old inode" {
		t.Errorf("last line %q", got[300])
	}
}

// A simulation of logging_collector = on, with the real files of the
// collector-log fixture: pg_ctl's file gets the two-line stub, the
// collector writes log/postgresql-024110.log, then rotates to
// postgresql-024115.log and says so in current_logfiles. The data directory
// also holds a stale log and current_logfiles from the base backup.
func TestFollowLoggingCollector(t *testing.T) {
	dataDir := t.TempDir()
	pgctlLog := filepath.Join(t.TempDir(), "pg_ctl.log")
	logDir := filepath.Join(dataDir, "log")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	appendTo(t, filepath.Join(logDir, "postgresql-primary.log"), "stale line from the primary\n")
	replaceFile(t, filepath.Join(dataDir, "current_logfiles"), "stderr log/postgresql-primary.log\n")

	var s sink
	stop := follow(t, FollowOptions{Path: pgctlLog, Offset: SizeOf(pgctlLog), DataDir: dataDir}, s.emit)

	stub := readLines(t, "collector-log/pg_ctl-l-output.txt")
	first := readLines(t, "collector-log/postgresql-024110.log")
	second := readLines(t, "collector-log/postgresql-024115.log")
	firstPath := filepath.Join(logDir, "postgresql-024110.log")
	secondPath := filepath.Join(logDir, "postgresql-024115.log")

	// The collector opens its file before the postmaster writes the stub.
	appendTo(t, firstPath, joined(first[:3]))
	appendTo(t, pgctlLog, joined(stub))
	time.Sleep(5 * time.Millisecond)
	replaceFile(t, filepath.Join(dataDir, "current_logfiles"), "stderr log/postgresql-024110.log\ncsvlog log/postgresql-024110.csv\njsonlog log/postgresql-024110.json\n")
	for i := 3; i < len(first); i += 7 {
		appendTo(t, firstPath, joined(first[i:min(i+7, len(first))]))
		time.Sleep(time.Millisecond)
	}
	// Rotation: the last lines of the old file and the switch land together;
	// the old file must be drained before the new one is read.
	appendTo(t, secondPath, joined(second[:1]))
	replaceFile(t, filepath.Join(dataDir, "current_logfiles"), "stderr log/postgresql-024115.log\ncsvlog log/postgresql-024113.csv\njsonlog log/postgresql-024113.json\n")
	appendTo(t, secondPath, joined(second[1:]))
	want := len(stub) + len(first) + len(second)
	s.waitFor(t, want)
	stop()

	got := s.snapshot()
	var texts, files []string
	for _, l := range got {
		texts = append(texts, l.Text)
		files = append(files, l.File)
	}
	if wantTexts := slices.Concat(stub, first, second); !slices.Equal(texts, wantTexts) {
		t.Fatalf("got %d lines:\n%s", len(texts), strings.Join(texts, "\n"))
	}
	for i, f := range files {
		wantFile := pgctlLog
		switch {
		case i >= len(stub)+len(first):
			wantFile = secondPath
		case i >= len(stub):
			wantFile = firstPath
		}
		if f != wantFile {
			t.Errorf("line %d from %s, want %s", i, f, wantFile)
		}
	}
	// The followed lines tell the whole restore.
	p := NewParser()
	for _, l := range got {
		p.Feed(l.Text)
	}
	if st := p.State(); !st.Ready || !st.ShutDown || st.RedoDoneLSN != 0x103D83B8 {
		t.Errorf("state from the followed lines:\n%s", st)
	}
}

// ≤9.6 has no current_logfiles: the newest file of the HINT's directory.
func TestFollowLoggingCollectorWithoutCurrentLogfiles(t *testing.T) {
	dataDir := t.TempDir()
	pgctlLog := filepath.Join(dataDir, "startup.log")
	logDir := filepath.Join(dataDir, "pg_log")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var s sink
	stop := follow(t, FollowOptions{Path: pgctlLog, DataDir: dataDir}, s.emit)
	firstPath := filepath.Join(logDir, "postgresql-2016-01-01_120000.log")
	secondPath := filepath.Join(logDir, "postgresql-2016-01-02_000000.log")
	appendTo(t, firstPath, joined(numbered(1, 10)))
	appendTo(t, filepath.Join(logDir, "postgresql-2016-01-01_120000.csv"), "csv is not followed\n")
	appendTo(t, pgctlLog, "LOG:  redirecting log output to logging collector process\nHINT:  Future log output will appear in directory \"pg_log\".\n")
	s.waitFor(t, 12)
	appendTo(t, firstPath, joined(numbered(11, 20)))
	appendTo(t, secondPath, joined(numbered(21, 30)))
	s.waitFor(t, 32)
	stop()
	got := s.texts()
	if want := slices.Concat([]string{
		"LOG:  redirecting log output to logging collector process",
		`HINT:  Future log output will appear in directory "pg_log".`,
	}, numbered(1, 30)); !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}

// A writer paced at 100,000 numbered lines a second for two seconds,
// splitting its writes mid-line; every line must arrive once, whole and in
// order.
func TestFollowHighRateWriter(t *testing.T) {
	const rate, total = 100_000, 200_000
	path := filepath.Join(t.TempDir(), "busy.log")
	out, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	var mu sync.Mutex
	received, firstError := 0, ""
	check := func(l FollowedLine) {
		mu.Lock()
		defer mu.Unlock()
		if firstError == "" && l.Text != fmt.Sprintf("%08d 2026-11-25 02:39:04.281 UTC [29263] LOG:  redo in progress", received+1) {
			firstError = fmt.Sprintf("line %d is %q", received+1, l.Text)
		}
		received++
	}
	stop := follow(t, FollowOptions{Path: path, PollInterval: 10 * time.Millisecond}, check)

	start := time.Now()
	written := 0
	var buf []byte
	for written < total {
		due := min(total, int(time.Since(start).Seconds()*rate)+1)
		buf = buf[:0]
		for ; written < due; written++ {
			buf = fmt.Appendf(buf, "%08d 2026-11-25 02:39:04.281 UTC [29263] LOG:  redo in progress\n", written+1)
		}
		// Two writes cut inside a line: the follower sees torn lines.
		cut := len(buf) / 3
		if _, err := out.Write(buf[:cut]); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Write(buf[cut:]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := received
		mu.Unlock()
		if n >= total {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if firstError != "" || received != total {
		t.Fatalf("received %d of %d lines; %s", received, total, firstError)
	}
	t.Logf("%d lines in %v (%.0f lines/s written)", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
}
