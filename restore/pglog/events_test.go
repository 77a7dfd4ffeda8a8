package pglog

import (
	"strings"
	"testing"
	"time"
)

// feedAll feeds lines one by one and returns the events.
func feedAll(p *Parser, lines ...string) []Event {
	var events []Event
	for _, l := range lines {
		events = append(events, p.Feed(l)...)
	}
	return events
}

// Wordings not in the fixtures, from pg-recovery.md §1.1–1.3: 9.x, 10+
// targets, the 14+ hot-standby pause, signals, DEBUG2 restore failures.
func TestCatalogueWordings(t *testing.T) {
	cases := []struct {
		message string
		want    string // String() of the event
	}{
		{"starting point-in-time recovery to XID 1234", `RecoveryStarting target="XID 1234"`},
		{`starting point-in-time recovery to "before-upgrade"`, `RecoveryStarting target="\"before-upgrade\""`},
		{"starting point-in-time recovery to earliest consistent point", `RecoveryStarting target="earliest consistent point"`},
		{"recovery stopping after abort of transaction 9, time 2016-01-01 12:00:00+00", `StoppingAtTarget "after abort of transaction 9, time 2016-01-01 12:00:00+00"`},
		{`recovery stopping at restore point "x", time 2016-01-01 12:00:00+00`, `StoppingAtTarget "at restore point \"x\", time 2016-01-01 12:00:00+00"`},
		{"recovery stopping after reaching consistency", `StoppingAtTarget "after reaching consistency"`},
		{"database system is ready to accept read only connections", "ReadyReadOnly"},
		{"redo done at 0/15000060", "RedoDone 0/15000060"},
		{"resetting unlogged relations (init), elapsed time: 12.05 s, current path: base/5/1", `StartupProgress "resetting unlogged relations (init)" elapsed=12.05s "current path: base/5/1"`},
		{"syncing data directory (syncfs), elapsed time: 1.50 s, current path: ./pg_wal", `StartupProgress "syncing data directory (syncfs)" elapsed=1.5s "current path: ./pg_wal"`},
		{"redo in progress, elapsed time: 61.07 s, current LSN: 1/2A000028", "RedoProgress 1/2A000028 elapsed=1m1.07s"},
		{"redo starts at 0/03000028", "RedoStarts 0/3000028"},
		{"startup process (PID 42) was terminated by signal 9: Killed", "StartupProcessExited pid=42 signal=9"},
		{`restored log file "00000002.history" from archive`, "RestoredFile 00000002.history"},
		// Malformed catalogue lines are kept as Other, not half-parsed.
		{"redo starts at nowhere", `Other LOG pid=7 "redo starts at nowhere"`},
		{"selected new timeline ID: two", `Other LOG pid=7 "selected new timeline ID: two"`},
		{"archive recovery complete!", `Other LOG pid=7 "archive recovery complete!"`},
	}
	for _, c := range cases {
		events := NewParser().Feed("2016-01-01 12:00:00 GMT [7-1] LOG:  " + c.message)
		if len(events) != 1 || events[0].String() != c.want {
			t.Errorf("%q gave %v, want %s", c.message, events, c.want)
		}
	}
}

func TestRestoreFailureWordings(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		`2026-11-25 02:39:18.859 UTC [9] DEBUG:  could not restore file "000000010000000000000015" from archive: child process exited with exit code 1`,
		`LOG:  could not restore file "000000010000000000000016" from archive: return code 256`, // 9.3 wording
	)
	a, ok1 := events[0].(*RestoreCommandFailed)
	b, ok2 := events[1].(*RestoreCommandFailed)
	if !ok1 || !ok2 || a.File != "000000010000000000000015" || a.Reason != "child process exited with exit code 1" || b.Reason != "return code 256" {
		t.Errorf("events %v", events)
	}
	if p.State().Fatal != nil {
		t.Error("a DEBUG restore failure is the normal end of the archive, not a fatal")
	}
}

// On ≤12 the pause at the target is "recovery has paused" after the stop.
func TestOldPauseAtTargetWording(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		"2016-01-01 12:00:00 GMT [7-1] LOG:  recovery stopping before commit of transaction 9, time 2016-01-01 11:00:00+00",
		"2016-01-01 12:00:00 GMT [7-2] LOG:  recovery has paused",
		"2016-01-01 12:00:00 GMT [7-3] HINT:  Execute pg_xlog_replay_resume() to continue.",
	)
	paused, ok := events[1].(*Paused)
	if !ok || !paused.AtTarget || paused.Hint != "Execute pg_xlog_replay_resume() to continue." {
		t.Errorf("events %v", events)
	}
	if _, ok := events[2].(*Attached); !ok || !p.State().Paused {
		t.Errorf("HINT not attached or not paused: %v", events[2])
	}
}

// 14+: insufficient parameters pause recovery with a DETAIL and a HINT.
func TestPauseWithDetailAndHint(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		"2026-01-01 00:00:00.000 UTC [5] WARNING:  hot standby is not possible because of insufficient parameter settings",
		"2026-01-01 00:00:00.000 UTC [5] DETAIL:  max_connections = 10 is a lower setting than on the primary server, where its value was 100.",
		"2026-01-01 00:00:00.000 UTC [5] LOG:  recovery has paused",
		"2026-01-01 00:00:00.000 UTC [5] DETAIL:  If recovery is unpaused, the server will shut down.",
		"2026-01-01 00:00:00.000 UTC [5] HINT:  You can then restart the server after making the necessary configuration changes.",
	)
	if _, ok := events[1].(*Other); !ok {
		t.Errorf("DETAIL after a WARNING must stay Other, got %s", events[1])
	}
	paused := events[2].(*Paused)
	if paused.AtTarget || paused.Detail != "If recovery is unpaused, the server will shut down." || !strings.HasPrefix(paused.Hint, "You can then restart") {
		t.Errorf("paused %+v", paused)
	}
}

func TestFatalFromStartupNeedsTheStartupPID(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		"2026-01-01 00:00:00.000 UTC [10] LOG:  database system was interrupted; last known up at 2026-01-01 00:00:00 UTC",
		"2026-01-01 00:00:00.000 UTC [11] FATAL:  the database system is starting up", // a client without %u@%d in the prefix
		"2026-01-01 00:00:00.000 UTC [10] FATAL:  WAL ends before end of online backup",
		"2026-01-01 00:00:00.000 UTC [10] HINT:  All WAL generated while online backup was taken must be available at recovery.",
	)
	if events[1].(*Fatal).FromStartup || !events[2].(*Fatal).FromStartup {
		t.Errorf("events %v", events)
	}
	f := p.State().Fatal
	if f == nil || f.Message != "WAL ends before end of online backup" || !strings.HasPrefix(f.Hint, "All WAL generated") {
		t.Errorf("state fatal %v", f)
	}
}

// Without %p only the message can tell: a recovery failure is the startup
// process's, a client's complaint is not.
func TestFatalWithoutPIDIsJudgedByItsMessage(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		"FATAL:  the database system is starting up",
		"FATAL:  recovery ended before configured recovery target was reached",
	)
	if events[0].(*Fatal).FromStartup || !events[1].(*Fatal).FromStartup {
		t.Errorf("events %v", events)
	}
}

// A FATAL with a PID, before the startup process said anything (12+:
// recovery.conf present), is still recognised by its message.
func TestEarlyStartupFatal(t *testing.T) {
	p := NewParser()
	ev := p.Feed(`2026-01-01 00:00:00.000 UTC [77] FATAL:  using recovery command file "recovery.conf" is not supported`)[0].(*Fatal)
	if !ev.FromStartup || p.State().StartupPID != 77 {
		t.Errorf("%s, startup pid %d", ev, p.State().StartupPID)
	}
}

func TestAttachmentNeedsTheSameProcess(t *testing.T) {
	p := NewParser()
	events := feedAll(p,
		"2026-01-01 00:00:00.000 UTC [20] postgres@postgres FATAL:  the database system is not accepting connections",
		"2026-01-01 00:00:00.000 UTC [21] postgres@postgres DETAIL:  Hot standby mode is disabled.",
		"2026-01-01 00:00:00.000 UTC [21] postgres@postgres HINT:  unrelated",
	)
	if _, ok := events[1].(*Other); !ok {
		t.Errorf("DETAIL of another PID attached: %s", events[1])
	}
	if _, ok := events[2].(*Other); !ok {
		t.Errorf("HINT after an Other attached: %s", events[2])
	}
	if events[0].(*Fatal).Detail != "" {
		t.Error("detail leaked into the fatal")
	}
}

func TestContinuationOfTheMessageItself(t *testing.T) {
	p := NewParser()
	events := feedAll(p, "PANIC:  first line", "\tsecond line", "\tthird line", "\tstray")
	f := events[0].(*Fatal)
	if f.Severity != "PANIC" || f.Message != "first line\nsecond line\nthird line\nstray" || len(f.Attached) != 3 {
		t.Errorf("%+v", f)
	}
	q := NewParser()
	if ev := q.Feed("\tlonely continuation")[0]; ev.String() != `Other continuation "lonely continuation"` {
		t.Errorf("stray continuation: %s", ev)
	}
}

func TestFeedSplitsSeveralLines(t *testing.T) {
	p := NewParser()
	events := p.Feed("LOG:  redo starts at 0/3000028\ncp: x\nLOG:  redo done at 0/4000000\n")
	if len(events) != 3 || p.State().Lines != 3 || p.State().RedoDoneLSN != 0x4000000 {
		t.Errorf("events %v, state %s", events, p.State())
	}
	if ev := p.Feed(""); len(ev) != 1 || ev[0].String() != `RestoreCommandOutput ""` {
		t.Errorf("an empty line is still a line: %v", ev)
	}
}

func TestStateFollowsSegmentsAndTimeline(t *testing.T) {
	p := NewParser()
	p.SetSegmentSize(1 << 30)
	feedAll(p,
		`LOG:  restored log file "000000030000001A00000003" from archive`,
		"LOG:  redo in progress, elapsed time: 1.00 s, current LSN: 1A/C0000100",
	)
	s := p.State()
	if s.Timeline != 3 || s.CurrentLSN != 0x1AC0000100 || s.LastRestored != "000000030000001A00000003" {
		t.Errorf("state:\n%s", s)
	}
	feedAll(p, "LOG:  selected new timeline ID: 4", `LOG:  restored log file "000000030000001A00000003" from archive`)
	if p.State().Timeline != 4 {
		t.Error("a restore after promotion must not undo the new timeline")
	}
}

// The State snapshot must not change when the parser goes on.
func TestStateIsASnapshot(t *testing.T) {
	p := NewParser()
	feedAll(p, "LOG:  database system was interrupted; last known up at x", "FATAL:  could not locate required checkpoint record")
	before := p.State()
	p.Feed("HINT:  later")
	if before.Fatal.Hint != "" || p.State().Fatal.Hint != "later" {
		t.Errorf("snapshot %q, now %q", before.Fatal.Hint, p.State().Fatal.Hint)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"0.10": 100 * time.Millisecond, "4.83": 4830 * time.Millisecond, "12": 12 * time.Second} {
		if got, ok := parseSeconds(in); !ok || got != want {
			t.Errorf("parseSeconds(%q) = %v", in, got)
		}
	}
	if _, ok := parseSeconds("1,5"); ok {
		t.Error("decimal comma accepted")
	}
}
