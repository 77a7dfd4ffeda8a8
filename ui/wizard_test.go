package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"pgrescue/internal/walefixture"
	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
)

// goldenPGData does not exist: the preflight finds it empty and the screens
// show the same path on every machine.
const goldenPGData = "/tmp/pgrescue-golden-absent/main"

var sizes = []struct {
	name          string
	width, height int
}{{"80x24", 80, 24}, {"120x40", 120, 40}}

var fixedNow = time.Date(2026, 11, 25, 3, 10, 0, 0, time.UTC)

func newModel(t *testing.T, width, height int, change ...func(*Deps)) (*Model, *fixtureBackend) {
	t.Helper()
	backend := newFixtureBackend(t)
	clock := fixedNow
	deps := Deps{WALE: backend, GPG: backend, NoColor: true, Now: func() time.Time { return clock }, Context: context.Background(),
		Defaults: WALERequest{Envdir: "/etc/wal-e/env.d"}}
	for _, c := range change {
		c(&deps)
	}
	m := New(deps)
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	drive(t, m, m.Init())
	return m, backend
}

// eachSize runs a screen test at 80x24 and at 120x40.
func eachSize(t *testing.T, name string, walk func(t *testing.T, m *Model)) {
	for _, s := range sizes {
		t.Run(s.name, func(t *testing.T) {
			m, _ := newModel(t, s.width, s.height)
			walk(t, m)
			golden(t, m, name+"-"+s.name)
		})
	}
}

// onTop is the page on top, which must be a P.
func onTop[P Page](t *testing.T, m *Model) P {
	t.Helper()
	p, ok := m.top().(P)
	if !ok {
		t.Fatalf("on the %s page, want a %T", m.top().Crumb(), p)
	}
	return p
}

// toPreflight walks to the preflight of content-publisher (Carrenza).
func toPreflight(t *testing.T, m *Model) {
	typeText(t, m, "content-publisher")
	press(t, m, "enter", "enter", "enter")
	onTop[*preflightPage](t, m)
}

func toBackup(t *testing.T, m *Model) {
	m.deps.Defaults.PGData = goldenPGData
	toPreflight(t, m)
	press(t, m, "enter") // to the GPG step: the fixture key is protected
	press(t, m, "enter") // unlock in memory
	passphrase, err := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	typeText(t, m, string(passphrase))
	press(t, m, "enter", "enter")
	onTop[*backupPage](t, m)
}

func TestScreens(t *testing.T) {
	eachSize(t, "app-list", func(t *testing.T, m *Model) {})
	eachSize(t, "app-filtered", func(t *testing.T, m *Model) { typeText(t, m, "publisher") })
	eachSize(t, "hosting-carrenza", func(t *testing.T, m *Model) {
		typeText(t, m, "content-publisher")
		press(t, m, "enter")
	})
	eachSize(t, "hosting-heroku", func(t *testing.T, m *Model) {
		typeText(t, m, "seal")
		press(t, m, "enter")
	})
	eachSize(t, "hosting-known", func(t *testing.T, m *Model) { press(t, m, "up", "enter") })
	eachSize(t, "source", func(t *testing.T, m *Model) {
		typeText(t, m, "content-publisher")
		press(t, m, "enter", "enter")
	})
	eachSize(t, "runbook-rds", func(t *testing.T, m *Model) {
		typeText(t, m, "local-links-manager")
		press(t, m, "enter", "enter")
	})
	eachSize(t, "preflight-ask-pgdata", func(t *testing.T, m *Model) {
		typeText(t, m, "content-publisher")
		press(t, m, "enter", "enter")
		onTop[*sourcePage](t, m).sel.Details.PGData = ""
		press(t, m, "enter")
	})
	eachSize(t, "preflight", func(t *testing.T, m *Model) {
		m.deps.Defaults.PGData = goldenPGData
		toPreflight(t, m)
	})
	eachSize(t, "gpg-choice", func(t *testing.T, m *Model) {
		m.deps.Defaults.PGData = goldenPGData
		toPreflight(t, m)
		press(t, m, "enter")
	})
	eachSize(t, "gpg-remove-choice", func(t *testing.T, m *Model) {
		m.deps.Defaults.PGData = goldenPGData
		toPreflight(t, m)
		press(t, m, "enter", "down")
	})
	eachSize(t, "gpg-passphrase-typed", func(t *testing.T, m *Model) {
		m.deps.Defaults.PGData = goldenPGData
		toPreflight(t, m)
		press(t, m, "enter", "enter")
		typeText(t, m, "secret")
	})
	eachSize(t, "gpg-wrong-passphrase", func(t *testing.T, m *Model) {
		m.deps.Defaults.PGData = goldenPGData
		toPreflight(t, m)
		press(t, m, "enter", "enter")
		typeText(t, m, "not the passphrase")
		press(t, m, "enter")
	})
	eachSize(t, "backup-end-of-archive", toBackup)
	eachSize(t, "backup-target", func(t *testing.T, m *Model) {
		toBackup(t, m)
		typeText(t, m, walefixture.ReadManifest(t).PITRPoints[2].RFC3339)
	})
	eachSize(t, "backup-target-too-late", func(t *testing.T, m *Model) {
		toBackup(t, m)
		typeText(t, m, "2026-11-26 00:00:00+00")
	})
	eachSize(t, "backup-target-unreadable", func(t *testing.T, m *Model) {
		toBackup(t, m)
		typeText(t, m, "yesterday")
	})
	eachSize(t, "plan", func(t *testing.T, m *Model) {
		toBackup(t, m)
		press(t, m, "enter")
	})
	eachSize(t, "help", func(t *testing.T, m *Model) {
		toBackup(t, m)
		press(t, m, "enter")
		m.Update(keyMsg("?"))
	})
}

// toDestructivePlan walks to the plan of a restore into dir, made to hold a
// cluster (at a fixed path, so screens are the same on every machine),
// which the plan moves aside.
func toDestructivePlan(t *testing.T, root, dir string) *Model {
	t.Helper()
	os.RemoveAll(root)
	t.Cleanup(func() { os.RemoveAll(root) })
	os.MkdirAll(dir, 0o700)
	os.WriteFile(dir+"/PG_VERSION", []byte("15\n"), 0o600)
	m, _ := newModel(t, 80, 24)
	m.deps.Defaults.PGData = dir
	toPreflight(t, m)
	press(t, m, "enter", "enter")
	passphrase, _ := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	typeText(t, m, string(passphrase))
	press(t, m, "enter", "enter", "enter")
	if !onTop[*planPage](t, m).destructive() {
		t.Fatal("moving a cluster aside is not destructive")
	}
	return m
}

// TestPlanNeedsTheTypedPath: with a cluster to move aside, enter alone
// never starts anything, nor does a wrong name.
func TestPlanNeedsTheTypedPath(t *testing.T) {
	dir := "/tmp/pgrescue-golden-present/main"
	m := toDestructivePlan(t, "/tmp/pgrescue-golden-present", dir)
	press(t, m, "enter")
	if onTop[*planPage](t, m); !strings.Contains(screen(m), "Nothing has been changed") {
		t.Fatalf("enter alone went on:\n%s", screen(m))
	}
	typeText(t, m, "main")
	press(t, m, "enter")
	onTop[*planPage](t, m) // a wrong name starts nothing
	golden(t, m, "plan-confirm-refused-80x24")
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Error("the data directory changed")
	}
}

// TestThePlanIsConfirmedWithTheShortName: the cluster's short name (the
// data directory's last two names, as pg_lsclusters shows 15/main) is
// enough; nobody types a 48-character path at 3 a.m.
func TestThePlanIsConfirmedWithTheShortName(t *testing.T) {
	m := toDestructivePlan(t, "/tmp/pgrescue-golden-short", "/tmp/pgrescue-golden-short/15/main")
	if s := screen(m); !strings.Contains(s, "type 15/main") {
		t.Fatalf("the plan does not ask for the short name:\n%s", s)
	}
	typeText(t, m, "15/main")
	press(t, m, "enter")
	if s := screen(m); !strings.Contains(s, "model tests do not run restores") {
		t.Fatalf("the short name did not start the restore:\n%s", s)
	}
}

// TestEscGoesBackKeepingAnswers: esc returns a step and what was typed is
// still there.
func TestEscGoesBackKeepingAnswers(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	toBackup(t, m)
	typeText(t, m, "2026-11-25 02:53:00+00")
	press(t, m, "enter")
	onTop[*planPage](t, m)
	press(t, m, "esc")
	if target := onTop[*backupPage](t, m).target.Value(); target != "2026-11-25 02:53:00+00" {
		t.Fatalf("target %q", target)
	}
	press(t, m, "esc", "esc", "esc", "esc")
	if onTop[*hostingPage](t, m); m.title != "content-publisher" {
		t.Fatalf("application %q", m.title)
	}
	press(t, m, "esc")
	if filter := onTop[*appPage](t, m).input.Value(); filter != "content-publisher" {
		t.Fatalf("filter %q", filter)
	}
}

// runModel is a model on the run screen, fed the engine's own event types.
func runModel(t *testing.T, width, height int) (*Model, *runPage) {
	m, _ := newModel(t, width, height)
	toBackup(t, m)
	typeText(t, m, walefixture.ReadManifest(t).PITRPoints[2].RFC3339)
	press(t, m, "enter")
	plan := onTop[*planPage](t, m)
	r := newRunPage(plan.flow, plan.plan, fixedNow.Add(-95*time.Second))
	m.push(r)
	r.job = &job{id: -1, cancel: func() {}, finished: make(chan struct{})}
	return m, r
}

func feed(m *Model, r *runPage, events ...walerestore.Event) {
	batch := jobEvents{id: r.job.id}
	for _, e := range events {
		batch.events = append(batch.events, e)
	}
	r.Update(m, batch)
}

func TestRunScreens(t *testing.T) {
	for _, s := range sizes {
		t.Run(s.name, func(t *testing.T) {
			m, r := runModel(t, s.width, s.height)
			fetch, _ := r.plan.Action(walerestore.ActionFetch)
			feed(m, r, walerestore.ActionStarted{Action: fetch},
				walerestore.FetchEvent{Event: wale.FetchStarted{Backup: "b", Partitions: 5, CompressedBytes: 550 << 20, ExpandedBytes: 1 << 30, Workers: 2}},
				walerestore.FetchEvent{Event: wale.FetchProgress{Downloaded: 220 << 20, CompressedTotal: 550 << 20, Extracted: 400 << 20, ExpandedTotal: 1 << 30,
					PartitionsDone: 2, Partitions: 5, Rate: 200 << 20, ETA: 3 * time.Second}})
			golden(t, m, "run-fetch-"+s.name)

			m.Update(keyMsg("ctrl+c"))
			golden(t, m, "run-cancel-asked-"+s.name)
			m.Update(keyMsg("esc"))

			recover, _ := r.plan.Action(walerestore.ActionReplay)
			feed(m, r, walerestore.ActionDone{Action: fetch, Duration: 5 * time.Second}, walerestore.ActionStarted{Action: recover})
			for i := 0; i < 30; i++ {
				text := "2026-11-25 03:09:" + twoDigits(i) + ".000 UTC [4242] LOG:  restored log file \"0000000100000000000000" + fmt.Sprintf("%02X", 0x12+i%6) + "\" from archive"
				feed(m, r, walerestore.ReplayEvent{Event: replay.LogLine{Text: text, Event: &pglog.RestoredFile{}}})
			}
			feed(m, r,
				walerestore.ReplayEvent{Event: replay.LogLine{Text: "2026-11-25 03:09:40.000 UTC [4242] FATAL:  could not restore file", Event: &pglog.Fatal{}}},
				walerestore.ReplayEvent{Event: replay.Milestone{Name: "consistent", Detail: "at 0/16000100"}},
				walerestore.ReplayEvent{Event: replay.ProgressUpdate{Snapshot: replay.Snapshot{Percent: 62.5, Current: 0x17000000, SegmentsDone: 5, SegmentsLeft: 3,
					Rate: 16 << 20, ETA: 4 * time.Second, HasETA: true, LastRestored: "000000010000000000000017"}}})
			golden(t, m, "run-replay-"+s.name)
		})
	}
}

func twoDigits(n int) string { return fmt.Sprintf("%02d", n) }

func TestDoneScreens(t *testing.T) {
	for _, s := range sizes {
		t.Run(s.name, func(t *testing.T) {
			m, r := runModel(t, s.width, s.height)
			res := &walerestore.Result{
				Fetch: &wale.FetchResult{Files: 1269, Bytes: 31 << 20, Duration: 2 * time.Second, MovedAsideTo: goldenPGData + ".pgrescue-20261125T030800Z"},
				Replay: &replay.Result{StoppedAt: "before commit of transaction 730, time 2026-11-25 02:53:12.003797+00",
					LastCommit: "2026-11-25 02:52:59.919387+00", Restored: 6, Duration: 3 * time.Second, Timeline: 2,
					Server: &recovery.Server{DataDir: goldenPGData, SocketDir: "/tmp/pgrescue-abc", Port: 54320, Owner: recovery.Owner{Name: "postgres"},
						BinDir: "/usr/lib/postgresql/15/bin"}},
				Duration: 6 * time.Second,
				Timings:  map[walerestore.ActionID]time.Duration{walerestore.ActionFetch: 2 * time.Second, walerestore.ActionReplay: 3 * time.Second},
			}
			r.Update(m, jobDone{id: r.job.id, result: runResult{res: res}})
			golden(t, m, "done-"+s.name)
			if !strings.Contains(m.Outcome().Summary, "pg_basebackup") {
				t.Errorf("the summary lacks the runbook's next steps:\n%s", m.Outcome().Summary)
			}
		})
	}
	m, r := runModel(t, 80, 24)
	err := problem.New(problem.RecoveryFailed, "/tmp/x.log", "PostgreSQL stopped during recovery", "read the FATAL line above")
	r.Update(m, jobDone{id: r.job.id, result: runResult{err: err}})
	golden(t, m, "done-failed-80x24")
	if !errors.Is(m.Outcome().Err, err) {
		t.Errorf("outcome %v", m.Outcome().Err)
	}
}

// TestDryRunWalksTheWholeFlowAndRunsNothing: the plan's enter ends the
// walk-through with the commands, and removing the passphrase only shows
// how.
func TestDryRunWalksTheWholeFlowAndRunsNothing(t *testing.T) {
	m, _ := newModel(t, 80, 24, func(d *Deps) { d.DryRun = true })
	m.deps.Defaults.PGData = goldenPGData
	toPreflight(t, m)
	press(t, m, "enter", "down", "enter")
	typeText(t, m, "remove")
	press(t, m, "enter")
	typeText(t, m, "anything")
	press(t, m, "enter")
	if !strings.Contains(screen(m), "Dry run: the passphrase was not removed") || !strings.Contains(screen(m), "WALE_GPG_KEY_ID") {
		t.Fatalf("dry-run removal:\n%s", screen(m))
	}
	press(t, m, "enter", "enter", "enter")
	onTop[*donePage](t, m)
	golden(t, m, "done-dry-run-80x24")
	if out := m.Outcome().Summary; !strings.Contains(out, "aws s3 cp") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("dry-run summary:\n%s", out)
	}
	if _, err := os.Stat(goldenPGData); err == nil {
		t.Error("a dry run created the data directory")
	}
}

// TestGPGStepFromTheStartScreen: the GPG step is one row away from the
// first screen, and comes back to it.
func TestGPGStepFromTheStartScreen(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	press(t, m, "down", "enter")
	if onTop[*gpgPage](t, m); !strings.Contains(screen(m), "protected by a passphrase") {
		t.Fatalf("no protected key shown:\n%s", screen(m))
	}
	press(t, m, "enter")
	passphrase, _ := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	typeText(t, m, string(passphrase))
	press(t, m, "enter")
	if !strings.Contains(screen(m), "Unlocked in memory") {
		t.Fatalf("not unlocked:\n%s", screen(m))
	}
	press(t, m, "enter")
	onTop[*appPage](t, m) // back at the application list
}

func trainingDeps(ok bool) func(*Deps) {
	return func(d *Deps) {
		d.Training = &Training{
			Title: "Restore to just before an accidental DELETE",
			Briefing: "At 03:04:05 UTC someone ran DELETE FROM documents WHERE id % 3 = 0 on content-publisher's production database. " +
				"Restore it to just before: the 4000 deleted rows back, the 12000 rows written before the accident there, nothing written after it.",
			Facts: []string{"GPG passphrase, found in the secrets store: tango quartz lantern 7"},
			Check: func(ctx context.Context, socketDir string, port int, user string) (bool, string, error) {
				if socketDir != "/tmp/pgrescue-abc" || port != 54320 || user != "postgres" {
					return false, "", fmt.Errorf("checked %s:%d as %s", socketDir, port, user)
				}
				if ok {
					return true, "12000 rows, as just before the accident.", nil
				}
				return false, "8000 rows: the DELETE was replayed.", nil
			},
		}
	}
}

// TestTrainingBriefsThenChecks: an exercise starts with the briefing and
// ends with the check of the restored database, pass or fail.
func TestTrainingBriefsThenChecks(t *testing.T) {
	for _, ok := range []bool{true, false} {
		m, _ := newModel(t, 80, 24, trainingDeps(ok))
		onTop[*briefingPage](t, m)
		if ok {
			golden(t, m, "briefing-80x24")
		}
		press(t, m, "enter")
		onTop[*appPage](t, m)
		r := newRunPage(nil, &walerestore.Plan{Options: walerestore.Options{PGData: goldenPGData}}, fixedNow)
		m.push(r)
		r.job = &job{id: -2, cancel: func() {}, finished: make(chan struct{})}
		res := &walerestore.Result{Replay: &replay.Result{Server: &recovery.Server{SocketDir: "/tmp/pgrescue-abc", Port: 54320, Owner: recovery.Owner{Name: "postgres"}}}}
		drive(t, m, r.Update(m, jobDone{id: -2, result: runResult{res: res}}))
		want := "Exercise passed: 12000 rows"
		if !ok {
			want = "Not quite: 8000 rows: the DELETE was replayed."
		}
		if !strings.Contains(screen(m), want) || !strings.Contains(m.Outcome().Summary, want) {
			t.Errorf("verdict %q missing:\n%s", want, screen(m))
		}
	}
}

// TestLeavingAsksWhenAnswersWouldBeLost: esc on the first screen does
// nothing; ctrl+c there ends the session as interrupted (130); further on,
// ctrl+c asks first, any other key stays, and a second ctrl+c quits.
func TestLeavingAsksWhenAnswersWouldBeLost(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	_, cmd := m.Update(keyMsg("esc"))
	if cmd != nil {
		if _, quit := cmd().(tea.QuitMsg); quit {
			t.Fatal("esc on the first screen quit")
		}
	}
	onTop[*appPage](t, m)
	if _, cmd := m.Update(keyMsg("ctrl+c")); cmd == nil || !problem.Is(m.Outcome().Err, problem.Interrupted) {
		t.Fatalf("ctrl+c on the first screen: %v, outcome %v", cmd, m.Outcome().Err)
	}

	m, _ = newModel(t, 80, 24)
	typeText(t, m, "content-publisher")
	press(t, m, "enter")
	if _, cmd := m.Update(keyMsg("ctrl+c")); cmd != nil || m.Outcome().Err != nil {
		t.Fatal("the first ctrl+c after an answer quit without asking")
	}
	golden(t, m, "quit-asked-80x24")
	press(t, m, "down") // stay
	onTop[*hostingPage](t, m)
	if strings.Contains(screen(m), "Quit pgrescue?") {
		t.Fatal("the question stayed after another key")
	}
	m.Update(keyMsg("ctrl+c"))
	if _, cmd := m.Update(keyMsg("ctrl+c")); cmd == nil || !problem.Is(m.Outcome().Err, problem.Interrupted) {
		t.Fatalf("the second ctrl+c did not quit as interrupted: %v", m.Outcome().Err)
	}
}

// TestATimeOfDayIsResolvedAndShown: "02:53:02" is today's; typed the day
// after the archive ends, it is the archive's last day. Either way the
// timestamp it became is on the screen before anything is planned.
func TestATimeOfDayIsResolvedAndShown(t *testing.T) {
	m, _ := newModel(t, 120, 40)
	toBackup(t, m)
	typeText(t, m, "02:53:02")
	if s := screen(m); !strings.Contains(s, "Stop replay at 2026-11-25 02:53:02.000000 UTC (read as local time, UTC) (no date given: today).") {
		t.Errorf("today's time of day:\n%s", s)
	}
	m, _ = newModel(t, 120, 40, func(d *Deps) {
		d.Now = func() time.Time { return fixedNow.Add(48 * time.Hour) } // two days after the archive ends
	})
	toBackup(t, m)
	typeText(t, m, "02:53:02")
	if s := screen(m); !strings.Contains(s, "Stop replay at 2026-11-25 02:53:02.000000 UTC (read as local time, UTC) (no date given: the archive's last day).") ||
		strings.Contains(s, "Not a time") {
		t.Errorf("a time of day after the archive ended:\n%s", s)
	}
}

// TestTheJournalTellsTheDecisions: the application, the hosting and source
// chosen, every preflight result, a refused passphrase (that it happened,
// never its text) and the target are in the session's journal.
func TestTheJournalTellsTheDecisions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.Open(path, journal.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newModel(t, 80, 24, func(d *Deps) { d.Journal = j })
	m.deps.Defaults.PGData = goldenPGData
	toPreflight(t, m)
	press(t, m, "enter", "enter")
	typeText(t, m, "not the passphrase")
	press(t, m, "enter")
	passphrase, _ := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	typeText(t, m, string(passphrase))
	press(t, m, "enter", "enter")
	typeText(t, m, walefixture.ReadManifest(t).PITRPoints[2].RFC3339)
	press(t, m, "enter")
	onTop[*planPage](t, m)
	j.Close(nil)
	data, _ := os.ReadFile(path)
	text := string(data)
	for _, want := range []string{`"kind":"application","message":"content-publisher"`, `"kind":"hosting","message":"chosen: Carrenza`,
		`"kind":"source","message":"WAL-E continuous archive`, `"kind":"preflight","message":"warning: The archive's GPG key`,
		`"kind":"gpg","message":"passphrase refused (attempt 1): wrong-passphrase"`, `"kind":"target","message":"backup base_`} {
		if !strings.Contains(text, want) {
			t.Errorf("the journal lacks %s", want)
		}
	}
	if strings.Contains(text, "not the passphrase") || strings.Contains(text, strings.TrimSpace(string(passphrase))) {
		t.Error("a passphrase was written to the journal")
	}
}

// TestRestoreAgainFromTheDoneScreen: after a restore (a wrong target, an
// exercise not passed) r stops the restored server and returns to the
// target screen with the target as typed; it used to say "try again" with
// only quitting possible.
func TestRestoreAgainFromTheDoneScreen(t *testing.T) {
	m, backend := newModel(t, 80, 24, trainingDeps(false))
	press(t, m, "enter") // past the briefing
	m.deps.Defaults.PGData = goldenPGData
	toBackup(t, m)
	target := walefixture.ReadManifest(t).PITRPoints[2].RFC3339
	typeText(t, m, target)
	press(t, m, "enter")
	plan := onTop[*planPage](t, m)
	r := newRunPage(plan.flow, plan.plan, fixedNow)
	m.push(r)
	r.job = &job{id: -3, cancel: func() {}, finished: make(chan struct{})}
	res := &walerestore.Result{Replay: &replay.Result{Server: &recovery.Server{SocketDir: "/tmp/pgrescue-abc", Port: 54320, Owner: recovery.Owner{Name: "postgres"}}}}
	drive(t, m, r.Update(m, jobDone{id: -3, result: runResult{res: res}}))
	if s := screen(m); !strings.Contains(s, "Not quite") || !strings.Contains(s, "Press r to restore again") {
		t.Fatalf("the done screen offers no retry:\n%s", s)
	}
	press(t, m, "r")
	if got := onTop[*backupPage](t, m).target.Value(); got != target || backend.stopped != 1 {
		t.Fatalf("after r: target %q, servers stopped %d", got, backend.stopped)
	}
	if m.Outcome().Err != nil || m.Outcome().Summary != "" {
		t.Errorf("the first try's outcome was kept: %+v", m.Outcome())
	}
	press(t, m, "enter")
	onTop[*planPage](t, m) // and on to a new plan
}

// TestTheRunScreenSaysWhenAFetchRetries: a download waiting to resume is
// named on the fetch's progress, not left to look frozen at 0 B/s.
func TestTheRunScreenSaysWhenAFetchRetries(t *testing.T) {
	m, r := runModel(t, 80, 24)
	fetch, _ := r.plan.Action(walerestore.ActionFetch)
	feed(m, r, walerestore.ActionStarted{Action: fetch},
		walerestore.FetchEvent{Event: wale.FetchStarted{Backup: "b", Partitions: 1, CompressedBytes: 1 << 20, ExpandedBytes: 4 << 20, Workers: 1}},
		walerestore.FetchEvent{Event: wale.FetchProgress{Downloaded: 100000, CompressedTotal: 1 << 20, ExpandedTotal: 4 << 20, Partitions: 1,
			Retrying: "retrying (attempt 2 of 5): the S3 endpoint refuses connections"}})
	if s := screen(m); !strings.Contains(s, "retrying (attempt 2 of 5): the S3 endpoint refuses connections") {
		t.Errorf("the retry is not on the screen:\n%s", s)
	}
}
