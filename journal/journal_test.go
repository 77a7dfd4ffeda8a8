package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/shellcmd"
)

func open(t *testing.T, path string, meta journal.Meta) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, meta)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func readAll(t *testing.T, path string) []journal.Record {
	t.Helper()
	recs, err := journal.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func types(recs []journal.Record) string {
	var ts []string
	for _, r := range recs {
		ts = append(ts, r.Type)
	}
	return strings.Join(ts, " ")
}

func TestSessionIsRecordedInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.jsonl")
	j := open(t, path, journal.Meta{Version: "1.2.3", Args: []string{"pgrescue", "restore"}, DryRun: true})
	j.Step("choose the backup").End(nil)
	cmd := j.Command(shellcmd.Command{Why: "start the server", Line: "pg_ctl -D /srv/pg start"})
	cmd.End(problem.New(problem.RecoveryFailed, "/srv/pg", "the server did not start", "read its log"))
	j.Event("warning", "a gap in the archive",
		slog.String("from", "000000010000000000000003"),
		slog.Group("wal", slog.Int("missing", 3), slog.Duration("late", 1500*time.Millisecond)))
	if err := j.Close(nil); err != nil {
		t.Fatal(err)
	}

	recs := readAll(t, path)
	want := "session step-start step-end command-start command-end event session-end"
	if got := types(recs); got != want {
		t.Fatalf("record types\n got %s\nwant %s", got, want)
	}
	for _, r := range recs {
		if r.Session == "" || r.Session != recs[0].Session {
			t.Errorf("%s record has session %q, want %q on every record", r.Type, r.Session, recs[0].Session)
		}
	}
	checkMeta(t, recs[0].Meta)
	checkEnd(t, recs[1], recs[2], journal.ResultOK)
	checkEnd(t, recs[3], recs[4], journal.ResultError)
	if recs[4].Problem != "recovery-failed" || !strings.Contains(recs[4].Error, "the server did not start") || recs[4].Line != "pg_ctl -D /srv/pg start" {
		t.Errorf("command-end = %+v, want the line, the error text and its problem kind", recs[4])
	}
	wal, _ := recs[5].Attrs["wal"].(map[string]any)
	if recs[5].Kind != "warning" || wal["missing"] != float64(3) || wal["late"] != "1.5s" || recs[5].Attrs["from"] != "000000010000000000000003" {
		t.Errorf("event = %+v, want kind warning and its attributes with the group nested", recs[5])
	}
	if end := recs[6]; end.Result != journal.ResultOK || end.Error != "" || !end.Start.Equal(recs[0].Time) {
		t.Errorf("session-end = %+v, want ok, starting when the session did", end)
	}
}

func checkMeta(t *testing.T, m *journal.Meta) {
	t.Helper()
	if m == nil {
		t.Fatal("the session record has no meta")
	}
	if m.Version != "1.2.3" || !m.DryRun || m.PID != os.Getpid() || m.User == "" || m.Host == "" || m.Start.IsZero() ||
		strings.Join(m.Args, " ") != "pgrescue restore" {
		t.Errorf("meta = %+v, want the version, dry run and args given, and pid, user, host and start filled in", m)
	}
}

func checkEnd(t *testing.T, start, end journal.Record, result string) {
	t.Helper()
	if end.Span == 0 || end.Span != start.Span || end.Name != start.Name {
		t.Errorf("end record %+v does not match its start %+v", end, start)
	}
	if end.Result != result || !end.Start.Equal(start.Time) || end.Duration < 0 || end.Time.Before(end.Start) {
		t.Errorf("end record %+v: want result %s, the start time and a duration", end, result)
	}
}

func TestCancellationIsNotAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	j.Step("fetch").End(fmt.Errorf("fetching: %w", context.Canceled))
	j.Step("replay").End(problem.New(problem.Interrupted, "", "interrupted", "run it again"))
	j.Step("list").End(context.DeadlineExceeded)
	j.Close(context.Canceled)

	var got []string
	for _, r := range readAll(t, path) {
		if r.Result != "" {
			got = append(got, r.Result)
		}
	}
	want := "cancelled cancelled error cancelled"
	if strings.Join(got, " ") != want {
		t.Errorf("results = %v, want %s", got, want)
	}
}

func TestEndTwiceRecordsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	s := j.Step("restore")
	s.End(errors.New("first"))
	s.End(nil)
	j.Close(nil)
	recs := readAll(t, path)
	if got := types(recs); got != "session step-start step-end session-end" || recs[2].Error != "first" {
		t.Errorf("records %s, step-end %+v: want one end, the first", got, recs[2])
	}
}

func TestNilJournalDoesNothing(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	var j *journal.Journal
	j.AddSecret("hunter22")
	j.Event("warning", "nothing", slog.Int("n", 1))
	if s := j.Step("step"); s != nil {
		t.Errorf("Step on a nil journal = %v, want nil", s)
	}
	j.Step("step").End(nil)
	j.Command(shellcmd.Command{Line: "true"}).End(errors.New("x"))
	if p := j.Path(); p != "" {
		t.Errorf("Path() = %q, want empty", p)
	}
	if err := j.Close(errors.New("x")); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Errorf("a nil journal wrote %v", entries)
	}
}

func TestRecordsAfterCloseAreDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	s := j.Step("late")
	j.Close(nil)
	s.End(nil)
	j.Event("info", "after close")
	if err := j.Close(nil); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if got := types(readAll(t, path)); got != "session step-start session-end" {
		t.Errorf("records = %s, want nothing after session-end", got)
	}
}

func TestExplicitPathAppends(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incident", "journals")
	path := filepath.Join(dir, "restore.jsonl")
	first := open(t, path, journal.Meta{PID: 1})
	first.Step("backup-fetch").End(errors.New("network"))
	first.Close(errors.New("network"))
	before, _ := os.ReadFile(path)

	second := open(t, path, journal.Meta{PID: 2})
	if second.Path() != path {
		t.Errorf("Path() = %q, want %q", second.Path(), path)
	}
	second.Step("backup-fetch").End(nil)
	second.Close(nil)
	after, _ := os.ReadFile(path)

	if !bytes.HasPrefix(after, before) || len(after) == len(before) {
		t.Fatal("reopening an explicit path did not append to it")
	}
	recs := readAll(t, path)
	want := "session step-start step-end session-end session step-start step-end session-end"
	if got := types(recs); got != want || recs[0].Session == recs[4].Session {
		t.Errorf("records = %s with sessions %q and %q, want two distinct sessions:\n%s", got, recs[0].Session, recs[4].Session, want)
	}
	checkMode(t, path, 0o600)
	checkMode(t, dir, 0o700|os.ModeDir)
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
	}
}

func TestAppendEndsALineCutShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	j.Close(nil)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"type":"event","mess`) // a disk that filled up mid-record
	f.Close()

	j = open(t, path, journal.Meta{})
	j.Close(nil)
	recs, err := journal.ReadAll(path)
	if err == nil || !strings.Contains(err.Error(), path+", line 3") {
		t.Errorf("ReadAll error = %v, want one naming line 3 of %s", err, path)
	}
	if got := types(recs); got != "session session-end session session-end" {
		t.Errorf("records = %s, want both sessions whole around the damaged line", got)
	}
}

func TestDefaultPathIsNewAndPrivate(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("XDG_STATE_HOME", state)
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("BST", 3600))
	meta := journal.Meta{PID: 42, Start: start}

	first := open(t, "", meta)
	first.Event("info", "first")
	first.Close(nil)
	second := open(t, "", meta)
	second.Close(nil)

	dir := filepath.Join(state, "pgrescue")
	want := []string{filepath.Join(dir, "session-20260501T090000Z-42.jsonl"), filepath.Join(dir, "session-20260501T090000Z-42-2.jsonl")}
	if first.Path() != want[0] || second.Path() != want[1] {
		t.Errorf("paths %q and %q, want %q", first.Path(), second.Path(), want)
	}
	if got := types(readAll(t, first.Path())); got != "session event session-end" {
		t.Errorf("the first journal holds %s: it was overwritten or appended to", got)
	}
	checkMode(t, dir, 0o700|os.ModeDir)
	checkMode(t, first.Path(), 0o600)
	checkMode(t, second.Path(), 0o600)

	third := open(t, "", journal.Meta{})
	third.Close(nil)
	name := regexp.MustCompile(`^session-\d{8}T\d{6}Z-` + fmt.Sprint(os.Getpid()) + `\.jsonl$`)
	if filepath.Dir(third.Path()) != dir || !name.MatchString(filepath.Base(third.Path())) {
		t.Errorf("default path %q, want session-<UTC time>-<pid>.jsonl in %s", third.Path(), dir)
	}
}

func TestDefaultDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, c := range []struct{ xdg, want string }{
		{"/var/lib/postgresql/.state", "/var/lib/postgresql/.state/pgrescue"},
		{"", filepath.Join(home, ".local/state/pgrescue")},
		{"relative/state", filepath.Join(home, ".local/state/pgrescue")}, // the XDG spec says to ignore it
	} {
		t.Setenv("XDG_STATE_HOME", c.xdg)
		got, err := journal.DefaultDir()
		if err != nil || got != c.want {
			t.Errorf("XDG_STATE_HOME=%q: DefaultDir() = %q, %v; want %q", c.xdg, got, err, c.want)
		}
	}
}

func TestOpenFailureIsExplained(t *testing.T) {
	dir := t.TempDir()
	_, err := journal.Open(dir, journal.Meta{}) // a directory, not a file
	if problem.KindOf(err) != problem.LocalIO || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open(a directory) = %v, want a local-io problem naming it", err)
	}
}

// TestConcurrentWritesNeverInterleave has goroutines write long events,
// steps and secrets at once; under -race it also checks the locking.
func TestConcurrentWritesNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	const goroutines, events = 16, 40
	filler := strings.Repeat("wal segment restored; ", 200) // 4 KB records
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range events {
				j.Event("progress", filler, slog.Int("g", g), slog.Int("i", i))
				if i%10 == 0 {
					j.AddSecret(fmt.Sprintf("secret-%d-%d", g, i))
					j.Step(fmt.Sprintf("step %d.%d", g, i)).End(nil)
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(nil); err != nil {
		t.Fatal(err)
	}

	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if want := 2 + goroutines*events + goroutines*(events/10)*2; len(lines) != want {
		t.Errorf("%d lines, want %d", len(lines), want)
	}
	seen := map[string]bool{}
	for n, line := range lines {
		var rec journal.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("line %d is not one JSON record: %v", n+1, err)
		}
		if rec.Type == journal.TypeEvent {
			seen[fmt.Sprint(rec.Attrs["g"], ".", rec.Attrs["i"])] = true
		}
	}
	if len(seen) != goroutines*events {
		t.Errorf("%d distinct events, want %d", len(seen), goroutines*events)
	}
}

// TestCloseWhileWriting closes the journal while goroutines still report:
// session-end must be the last line, with nothing torn or written after it.
func TestCloseWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					j.Step("fetch").End(nil)
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := j.Close(nil); err != nil {
		t.Error(err)
	}
	close(stop)
	wg.Wait()
	recs := readAll(t, path)
	if last := recs[len(recs)-1].Type; last != journal.TypeSessionEnd || len(recs) < 3 {
		t.Errorf("%d records ending with %s, want steps then session-end last", len(recs), last)
	}
}
