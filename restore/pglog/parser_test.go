package pglog

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the parser's output")

// fixtureNames lists every server log under testdata (copied from
// shared/fixtures/pg-logs): the top-level *.txt, and the collector run's
// stderr files plus its pg_ctl -l stub.
func fixtureNames(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, pattern := range []string{"*.txt", "collector-log/*.log", "collector-log/*.txt"} {
		matches, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			names = append(names, filepath.ToSlash(strings.TrimPrefix(m, "testdata"+string(filepath.Separator))))
		}
	}
	if len(names) < 23 {
		t.Fatalf("found %d fixtures, want all 23 logs", len(names))
	}
	return names
}

// readLines returns the lines of a fixture without their terminators.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// parsed is a fixture after feeding every line, one Feed call per line as
// a follower would.
type parsed struct {
	lines  []string
	events []Event
	shown  []string // String() of each event at the moment Feed returned it
	state  State
}

func parseFixture(t testing.TB, name string) parsed {
	t.Helper()
	p := NewParser()
	r := parsed{lines: readLines(t, name)}
	for _, line := range r.lines {
		for _, ev := range p.Feed(line) {
			r.events = append(r.events, ev)
			r.shown = append(r.shown, ev.String())
		}
	}
	r.state = p.State()
	return r
}

func (r parsed) golden() string {
	return strings.Join(r.shown, "\n") + "\n--- final state\n" + r.state.String()
}

func TestGoldenEventSequences(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			got := parseFixture(t, name).golden()
			path := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("events differ from %s (go test -update rewrites it); got:\n%s", path, got)
			}
		})
	}
}

// TestNoLineIsLost checks the accounting a UI relies on: every input line
// yields one event, either its own or an Attached, and the attached lines
// are all recorded on the event they belong to.
func TestNoLineIsLost(t *testing.T) {
	for _, name := range fixtureNames(t) {
		r := parseFixture(t, name)
		standalone, attached := 0, 0
		recorded := map[Event]int{}
		for i, ev := range r.events {
			if ev.Source().Raw != r.lines[i] {
				t.Errorf("%s line %d: event %s came from %q", name, i+1, ev, ev.Source().Raw)
			}
			if a, ok := ev.(*Attached); ok {
				attached++
				recorded[a.To]++
				continue
			}
			standalone++
		}
		if len(r.lines) != standalone+attached || r.state.Lines != len(r.lines) {
			t.Errorf("%s: %d lines, %d events + %d attached, state counts %d", name, len(r.lines), standalone, attached, r.state.Lines)
		}
		for owner, n := range recorded {
			if got := len(annotationsOf(owner).Attached); got != n {
				t.Errorf("%s: %s records %d attached lines, %d were attached", name, owner, got, n)
			}
		}
	}
}

func annotationsOf(e Event) Annotations {
	switch o := e.(type) {
	case *Fatal:
		return o.Annotations
	case *Paused:
		return o.Annotations
	}
	return Annotations{}
}

// ofType returns the events of type T, in order.
func ofType[T Event](events []Event) []T {
	var out []T
	for _, ev := range events {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// kinds returns the type names of the events, leaving out the given ones.
func kinds(events []Event, except ...string) []string {
	var out []string
	for _, ev := range events {
		if k := kindOf(ev); !slices.Contains(except, k) {
			out = append(out, k)
		}
	}
	return out
}

func mustLSN(t *testing.T, s string) LSN {
	t.Helper()
	l, err := ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// expectSuccessfulPITR checks the facts every promoted restore shows.
func expectPromoted(t *testing.T, r parsed, redoDone string, timeline uint32) {
	t.Helper()
	s := r.state
	if !s.RedoDone || s.RedoDoneLSN != mustLSN(t, redoDone) {
		t.Errorf("redo done = %v at %s, want %s", s.RedoDone, s.RedoDoneLSN, redoDone)
	}
	if s.Timeline != timeline || !s.ArchiveRecoveryComplete || !s.Ready || s.Fatal != nil {
		t.Errorf("want promotion to timeline %d, ready and no fatal; state:\n%s", timeline, s)
	}
	if len(ofType[*NewTimeline](r.events)) != 1 || len(ofType[*Ready](r.events)) != 1 {
		t.Errorf("want one NewTimeline and one Ready event")
	}
}

func expectStoppedBefore(t *testing.T, r parsed, xid string) {
	t.Helper()
	stops := ofType[*StoppingAtTarget](r.events)
	if len(stops) != 1 || !strings.HasPrefix(stops[0].Detail, "before commit of transaction "+xid+", time ") {
		t.Errorf("want one stop before commit of %s, got %v", xid, stops)
	}
	if !r.state.StoppedAtTarget {
		t.Error("state does not say the target stopped recovery")
	}
}

func expectStartupFatal(t *testing.T, r parsed, message string) *Fatal {
	t.Helper()
	f := r.state.Fatal
	if f == nil || f.Message != message || !f.FromStartup || f.Severity != "FATAL" {
		t.Fatalf("want startup FATAL %q, state has %v", message, f)
	}
	if !r.state.StartupExited || r.state.StartupExitCode != 1 || !r.state.ShutDown || r.state.Ready {
		t.Errorf("want startup exit code 1 and shut down, not ready; state:\n%s", r.state)
	}
	return f
}

func TestPG15PITRPromote(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log.txt")
	expectPromoted(t, r, "0/103D83B8", 2)
	expectStoppedBefore(t, r, "733")
	s := r.state
	if s.StartupPID != 29263 || s.RecoveryTarget != "2026-11-25 02:33:12+00" || s.RedoStart != mustLSN(t, "0/3000028") {
		t.Errorf("startup/target/redo start wrong:\n%s", s)
	}
	if !s.Consistent || s.ConsistentLSN != mustLSN(t, "0/3000100") || !s.HotStandby || s.LastRestored != "000000010000000000000010" {
		t.Errorf("consistency/hot standby/last restored wrong:\n%s", s)
	}
	if n := len(ofType[*RestoredFile](r.events)); n != 14 {
		t.Errorf("%d restored files, want 14", n)
	}
	progress := ofType[*RedoProgress](r.events)
	if len(progress) != 47 || progress[0].LSN != mustLSN(t, "0/3000060") || progress[0].Elapsed.Milliseconds() != 120 {
		t.Errorf("redo progress: %d lines, first %v", len(progress), progress[0])
	}
	syncing := ofType[*StartupProgress](r.events)
	if len(syncing) != 9 || syncing[0].Phase != "syncing data directory (fsync)" || syncing[0].Detail != "current path: ./base/5/16391" {
		t.Errorf("startup progress: %d lines, first %v", len(syncing), syncing[0])
	}
	backup := ofType[*BackupRecoveryStarting](r.events)
	done := ofType[*BackupRecoveryCompleted](r.events)
	if len(backup) != 1 || backup[0].CheckpointLSN != mustLSN(t, "0/3000060") || backup[0].Timeline != 1 ||
		len(done) != 1 || done[0].EndLSN != mustLSN(t, "0/3000100") {
		t.Errorf("backup recovery lines: %v %v", backup, done)
	}
	redo := ofType[*RedoDone](r.events)
	if redo[0].Usage != "CPU: user: 0.77 s, system: 0.64 s, elapsed: 4.83 s" {
		t.Errorf("usage %q", redo[0].Usage)
	}
	if got := ofType[*LastTransaction](r.events); len(got) != 1 || got[0].At != "2026-11-25 02:33:09.783689+00" {
		t.Errorf("last transaction %v", got)
	}
	if n := len(ofType[*RestoreCommandOutput](r.events)); n != 3 {
		t.Errorf("%d cp lines, want 3", n)
	}
}

// The %t and empty prefixes must not change what is recognised: the same
// run, less the 100 ms progress lines, gives the same kinds in order.
func TestPrefixesGiveTheSameEvents(t *testing.T) {
	progress := []string{"RedoProgress", "StartupProgress"}
	want := kinds(parseFixture(t, "pg15-replay-log.txt").events, progress...)
	for _, name := range []string{"pg15-replay-log-prefix-t.txt", "pg15-replay-log-prefix-empty.txt"} {
		r := parseFixture(t, name)
		if got := kinds(r.events, progress...); !slices.Equal(got, want) {
			t.Errorf("%s kinds:\n%v\nwant:\n%v", name, got, want)
		}
		expectPromoted(t, r, "0/103D83B8", 2)
		expectStoppedBefore(t, r, "733")
		if r.state.StartupPID != 0 {
			t.Errorf("%s: no %%p in the prefix, yet StartupPID %d", name, r.state.StartupPID)
		}
	}
	first := parseFixture(t, "pg15-replay-log-prefix-t.txt").events[0].Source()
	if !first.HasTime || first.Time.Format("2006-01-02 15:04:05 MST") != "2026-11-25 02:48:16 UTC" || first.PID != 0 {
		t.Errorf("%%t line parsed as %+v", first)
	}
}

func TestPG15FullArchive(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-full.txt")
	expectPromoted(t, r, "0/14000110", 2)
	if r.state.StoppedAtTarget || r.state.RecoveryTarget != "" || !r.state.RecoveryStarted {
		t.Errorf("archive recovery without a target expected:\n%s", r.state)
	}
	var cannotStat15 int
	for _, out := range ofType[*RestoreCommandOutput](r.events) {
		if strings.Contains(out.Text, "cannot stat") && strings.HasSuffix(out.Text, "000000010000000000000015': No such file or directory") {
			cannotStat15++
		}
	}
	if cannotStat15 != 2 {
		t.Errorf("%d 'cannot stat …15' lines, want 2", cannotStat15)
	}
}

// A segment missing after consistency ends recovery silently: redo done
// early, no target stop, promotion anyway. The state must make the early
// end visible (RedoDoneLSN in segment 0x0A, the segment before the gap).
func TestMissingSegmentIsSilent(t *testing.T) {
	for name, redoDone := range map[string]string{
		"pg15-replay-log-missing-segment.txt": "0/AFFFEC8",
		"pg13-replay-log-missing-segment.txt": "0/AFFFED8",
	} {
		t.Run(name, func(t *testing.T) {
			r := parseFixture(t, name)
			expectPromoted(t, r, redoDone, 2)
			if r.state.StoppedAtTarget || len(ofType[*StoppingAtTarget](r.events)) != 0 {
				t.Error("a gap must not look like a target stop")
			}
			if seg := r.state.RedoDoneLSN.SegmentNumber(DefaultSegmentSize); seg != 0x0A {
				t.Errorf("redo done in segment %X, want A", seg)
			}
			restored := ofType[*RestoredFile](r.events)
			if last := restored[len(restored)-1].Name; last != "00000001000000000000000A" {
				t.Errorf("last restored %s; the segment before the gap is restored twice", last)
			}
		})
	}
}

func TestMissingSegmentWithTargetFails(t *testing.T) {
	for name, pid := range map[string]int{
		"pg15-replay-log-missing-segment-with-target.txt": 30952,
		"pg13-replay-log-missing-segment-with-target.txt": 11308,
	} {
		t.Run(name, func(t *testing.T) {
			r := parseFixture(t, name)
			f := expectStartupFatal(t, r, "recovery ended before configured recovery target was reached")
			if f.Line.PID != pid || r.state.StartupPID != pid || !r.state.RedoDone || r.state.StoppedAtTarget {
				t.Errorf("fatal from %d, state:\n%s", f.Line.PID, r.state)
			}
		})
	}
	// 13 has client WARNING noise whose DETAIL/HINT are not attached to anything.
	r := parseFixture(t, "pg13-replay-log-missing-segment-with-target.txt")
	if n := len(ofType[*Attached](r.events)); n != 0 {
		t.Errorf("%d attached lines, want 0: the WARNING's DETAIL and HINT are Other", n)
	}
}

func TestMissingCheckpointSegment(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-missing-checkpoint-segment.txt")
	f := expectStartupFatal(t, r, "could not locate required checkpoint record")
	wantHint := `If you are restoring from a backup, touch "/var/lib/postgresql/15/restore-missing-ckpt/recovery.signal" and add required recovery options.` +
		"\n" + `If you are not restoring from a backup, try removing the file "/var/lib/postgresql/15/restore-missing-ckpt/backup_label".` +
		"\n" + `Be careful: removing "/var/lib/postgresql/15/restore-missing-ckpt/backup_label" will result in a corrupt cluster if restoring from a backup.`
	if f.Hint != wantHint || len(f.Attached) != 3 {
		t.Errorf("hint %q with %d attached lines", f.Hint, len(f.Attached))
	}
	if n := len(ofType[*Attached](r.events)); n != 3 {
		t.Errorf("%d Attached events, want the HINT and its 2 continuations", n)
	}
	if r.state.RedoStart != mustLSN(t, "0/3000028") || r.state.LastRestored != "" {
		t.Errorf("nothing restored, redo start only from the backup line:\n%s", r.state)
	}
}

func TestRestoreCommandNotFound(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-restore-command-not-found.txt")
	f := expectStartupFatal(t, r, `could not restore file "00000002.history" from archive: command not found`)
	if f.Restore == nil || f.Restore.File != "00000002.history" || f.Restore.Reason != "command not found" {
		t.Errorf("restore failure not decoded: %+v", f.Restore)
	}
	// Only "database system was interrupted" came before: that is enough to
	// know the startup process.
	if r.state.StartupPID != 31889 || len(r.lines) != 9 {
		t.Errorf("startup PID %d, %d lines", r.state.StartupPID, len(r.lines))
	}
	if out := ofType[*RestoreCommandOutput](r.events); len(out) != 1 || out[0].Text != "sh: 1: pgrec_fetch_wal: not found" {
		t.Errorf("shell output %v", out)
	}
}

func TestTargetBeforeConsistency(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-target-before-consistent.txt")
	expectStartupFatal(t, r, "requested recovery stop point is before consistent recovery point")
	if r.state.RecoveryTarget != `WAL location (LSN) "0/3000060"` || r.state.StopDetail != `after WAL location (LSN) "0/3000060"` || r.state.Consistent {
		t.Errorf("state:\n%s", r.state)
	}
}

func TestShutdownAtTargetWithHotStandbyOff(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-shutdown-at-target-hot-standby-off.txt")
	expectStoppedBefore(t, r, "733")
	s := r.state
	if !s.ShutdownAtTarget || !s.ShutDown || s.Ready || s.RedoDone || s.Fatal != nil || s.HotStandby {
		t.Errorf("want shutdown at target without fatal:\n%s", s)
	}
	fatals := ofType[*Fatal](r.events)
	if len(fatals) != 10 {
		t.Errorf("%d client FATALs, want 10", len(fatals))
	}
	for _, f := range fatals {
		if f.FromStartup || f.Line.UserDB != "postgres@postgres" || f.Message != "the database system is not accepting connections" ||
			f.Detail != "Hot standby mode is disabled." || len(f.Attached) != 1 {
			t.Errorf("client fatal %s: FromStartup %v, detail %q", f, f.FromStartup, f.Detail)
		}
	}
	if n := len(ofType[*Attached](r.events)); n != 10 {
		t.Errorf("%d attached DETAIL lines, want 10", n)
	}
}

func TestPauseAtTarget(t *testing.T) {
	for name, redoDone := range map[string]string{
		"pg15-replay-log-pause-at-target.txt": "0/103D83B8",
		"pg13-replay-log-pause-at-target.txt": "0/103D83C0",
	} {
		t.Run(name, func(t *testing.T) {
			r := parseFixture(t, name)
			paused := ofType[*Paused](r.events)
			if len(paused) != 1 || !paused[0].AtTarget || paused[0].Hint != "Execute pg_wal_replay_resume() to promote." {
				t.Fatalf("paused events %v", paused)
			}
			expectPromoted(t, r, redoDone, 2)
			if r.state.Paused {
				t.Error("still paused after redo done and promotion")
			}
		})
	}
}

// The state while paused is what a UI shows: feed up to the HINT and look.
func TestPausedStateBeforeResume(t *testing.T) {
	p := NewParser()
	for _, line := range readLines(t, "pg15-replay-log-pause-at-target.txt") {
		p.Feed(line)
		if strings.Contains(line, "HINT:") {
			break
		}
	}
	if s := p.State(); !s.Paused || !s.StoppedAtTarget || s.RedoDone {
		t.Errorf("state at the pause:\n%s", s)
	}
}

func TestManualPause(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-manual-pause.txt")
	paused := ofType[*Paused](r.events)
	if len(paused) != 1 || paused[0].AtTarget || paused[0].Hint != "Execute pg_wal_replay_resume() to continue." {
		t.Fatalf("paused events %v", paused)
	}
	expectPromoted(t, r, "0/14000110", 2)
	if r.state.StoppedAtTarget || r.state.Paused {
		t.Errorf("state:\n%s", r.state)
	}
}

func TestPG13Variants(t *testing.T) {
	for _, name := range []string{
		"pg13-replay-log.txt", "pg13-replay-log-full.txt", "pg13-replay-log-missing-segment.txt",
		"pg13-replay-log-missing-segment-with-target.txt", "pg13-replay-log-pause-at-target.txt",
	} {
		r := parseFixture(t, name)
		if n := len(ofType[*ReadyReadOnly](r.events)); n != 1 || !r.state.HotStandby {
			t.Errorf("%s: %d 'read only' events", name, n)
		}
		for _, ev := range ofType[*RedoDone](r.events) {
			if ev.Usage != "" {
				t.Errorf("%s: 13 has no system usage, got %q", name, ev.Usage)
			}
		}
		if n := len(ofType[*RedoProgress](r.events)) + len(ofType[*BackupRecoveryStarting](r.events)); n != 0 {
			t.Errorf("%s: %d 15-only events", name, n)
		}
	}
	r := parseFixture(t, "pg13-replay-log.txt")
	expectPromoted(t, r, "0/103D83C0", 2)
	expectStoppedBefore(t, r, "494")
	full := parseFixture(t, "pg13-replay-log-full.txt")
	expectPromoted(t, full, "0/15000060", 2)
	if full.state.LastRestored != "000000010000000000000015" || full.state.CurrentLSN != mustLSN(t, "0/15000060") {
		t.Errorf("full replay state:\n%s", full.state)
	}
}

// lc_messages=de: the server's messages are German, its LOG severity is not.
// Nothing may be recognised as an English recovery event, and every line
// must still be there.
func TestGermanLogIsKeptButNotRecognised(t *testing.T) {
	r := parseFixture(t, "pg15-replay-log-de.txt")
	for _, ev := range r.events {
		switch ev.(type) {
		case *Other, *RestoreCommandOutput:
		default:
			t.Errorf("German line recognised as %s", ev)
		}
	}
	if got := len(ofType[*Other](r.events)) + len(ofType[*RestoreCommandOutput](r.events)); got != 43 {
		t.Errorf("%d events for 43 lines", got)
	}
	if n := len(ofType[*RestoreCommandOutput](r.events)); n != 3 {
		t.Errorf("%d German cp lines, want 3", n)
	}
	s := r.state
	if s.Ready || s.RedoDone || s.StartupPID != 0 || s.Lines != 43 {
		t.Errorf("state from a German log:\n%s", s)
	}
}

func TestWALEReplays(t *testing.T) {
	cases := []struct {
		name, redoDone, xid string
		outputAtLeast       int
	}{
		{"wale-replay-log-pg15.txt", "0/1403BE80", "729", 400},
		{"wale-replay-log-pg13.txt", "0/503BE80", "490", 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := parseFixture(t, c.name)
			expectPromoted(t, r, c.redoDone, 2)
			expectStoppedBefore(t, r, c.xid)
			out := ofType[*RestoreCommandOutput](r.events)
			if len(out) < c.outputAtLeast {
				t.Errorf("%d WAL-E output lines", len(out))
			}
			want := map[string]bool{"gpg: decrypt_message failed: Unknown system error": false, "lzop: <stdin>: not a lzop file": false}
			for _, o := range out {
				if _, ok := want[o.Text]; ok {
					want[o.Text] = true
				}
			}
			for text, seen := range want {
				if !seen {
					t.Errorf("WAL-E noise %q not kept as RestoreCommandOutput", text)
				}
			}
			// WAL-E's own "DETAIL: " (one space, indented) is not a server line.
			for _, ev := range ofType[*Other](r.events) {
				if !ev.Line.IsServerLine() {
					t.Errorf("non-server line became Other: %q", ev.Line.Raw)
				}
			}
		})
	}
}

func TestCollectorFiles(t *testing.T) {
	stub := parseFixture(t, "collector-log/pg_ctl-l-output.txt")
	if len(stub.events) != 2 || stub.events[0].Source().Message != "redirecting log output to logging collector process" {
		t.Errorf("stub events %v", stub.shown)
	}
	// The HINT follows a LOG line, which takes no annotations: it is Other.
	if _, ok := stub.events[1].(*Other); !ok {
		t.Errorf("HINT after a LOG line is %s", stub.events[1])
	}
	first := parseFixture(t, "collector-log/postgresql-024110.log")
	expectPromoted(t, first, "0/103D83B8", 2)
	if first.state.ShutDown {
		t.Error("the first collector file ends before the shutdown")
	}
	last := parseFixture(t, "collector-log/postgresql-024115.log")
	if !last.state.ShutDown {
		t.Error("the last collector file ends with the shutdown")
	}
}

// The parser is fed from one file that may cover several files of a
// rotation: feeding the collector files in order gives the whole story.
func TestCollectorFilesInOrderMakeOneRun(t *testing.T) {
	p := NewParser()
	for _, name := range []string{"collector-log/postgresql-024110.log", "collector-log/postgresql-024115.log"} {
		for _, line := range readLines(t, name) {
			p.Feed(line)
		}
	}
	s := p.State()
	if !s.Ready || !s.ShutDown || s.RedoDoneLSN != mustLSN(t, "0/103D83B8") || s.StartupPID != 1232 {
		t.Errorf("state:\n%s", s)
	}
}
