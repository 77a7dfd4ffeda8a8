package ui

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"pgrescue/internal/rdssim"
	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/rds"
)

// The RDS flow's tests run the real engine against the in-process RDS
// simulator. The screens are drawn with the simulator's clock frozen at
// fixedNow, so that windows and names are the same on every machine; the
// walks through a restore and a cut-over use the real clock and phases of
// a few hundred milliseconds.

const llm = "local-links-manager-postgres"

// simClock is the simulator's clock for the screens: frozen until a test
// makes it move a step at each request (a restore or a rename waited for).
type simClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *simClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *simClock) move(step time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step = step
}

// rdsWorld is a simulated account with local-links-manager's instance and
// its snapshots, and the engine's client to it.
type rdsWorld struct {
	sim    *rdssim.Sim
	client *rds.Client
}

func newRDSWorld(t *testing.T, clock func() time.Time) *rdsWorld {
	t.Helper()
	sim := rdssim.New(rdssim.Options{Clock: clock, Phases: rdssim.Phases{
		Creating: 300 * time.Millisecond, BackingUp: 200 * time.Millisecond, Renaming: 200 * time.Millisecond, Modifying: 200 * time.Millisecond}})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	client, err := rds.Connect(context.Background(), rds.Options{Region: "eu-west-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Wait:        rds.WaitOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Limit: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	w := &rdsWorld{sim: sim, client: client}
	w.seed(t, clock())
	return w
}

// frozenRDSWorld is the screens' account, its clock at fixedNow.
func frozenRDSWorld(t *testing.T) (*rdsWorld, *simClock) {
	clock := &simClock{t: fixedNow}
	return newRDSWorld(t, clock.now), clock
}

func (w *rdsWorld) seed(t *testing.T, now time.Time) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.sim.AddInstance(rdssim.Instance{ID: llm, Class: "db.m6g.large", EngineVersion: "13.11", MultiAZ: true,
		AllocatedStorage: 100, MaxAllocatedStorage: 200, StorageType: "gp3", StorageEncrypted: true,
		SubnetGroup: "govuk-rds-subnet", VpcID: "vpc-0govuk", SecurityGroups: []string{"sg-0llm-rds"},
		ParameterGroup: "local-links-manager-pg13", BackupRetentionPeriod: 7, PreferredBackupWindow: "01:00-01:30",
		DeletionProtection: true, CopyTagsToSnapshot: true, MonitoringInterval: 60,
		MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring-role", PerformanceInsights: true,
		DBName: "local_links_manager_production", MasterUsername: "aws_db_admin",
		Tags: []rdssim.Tag{{Key: "Name", Value: "local-links-manager"}, {Key: "project", Value: "govuk"}}}))
	must(w.sim.AddInstance(rdssim.Instance{ID: "content-publisher-postgres", BackupRetentionPeriod: 7}))
	day := now.UTC().Truncate(24 * time.Hour)
	for d := 0; d <= 7; d++ {
		_, err := w.sim.AddSnapshot(rdssim.Snapshot{InstanceID: llm, Type: "automated", Created: day.AddDate(0, 0, -d).Add(70 * time.Minute)})
		must(err)
	}
	_, err := w.sim.AddSnapshot(rdssim.Snapshot{ID: "llm-before-migration", InstanceID: llm, Created: day.AddDate(0, 0, -2).Add(14*time.Hour + 20*time.Minute)})
	must(err)
	_, err = w.sim.AddSnapshot(rdssim.Snapshot{ID: "llm-weekly", InstanceID: llm, Status: "creating", PercentProgress: 40, Created: now.Add(-20 * time.Minute)})
	must(err)
}

// rdsModel is the wizard with the RDS flow wired to the simulated account.
func rdsModel(t *testing.T, width, height int, w *rdsWorld, change ...func(*Deps)) *Model {
	t.Helper()
	m, _ := newModel(t, width, height, append([]func(*Deps){func(d *Deps) { d.RDS = w.client }}, change...)...)
	return m
}

// rdsEachSize runs a screen test at both sizes, each on an account of its own.
func rdsEachSize(t *testing.T, name string, walk func(t *testing.T, m *Model, w *rdsWorld, clock *simClock)) {
	t.Helper()
	for _, s := range sizes {
		t.Run(name+"-"+s.name, func(t *testing.T) {
			w, clock := frozenRDSWorld(t)
			m := rdsModel(t, s.width, s.height, w)
			walk(t, m, w, clock)
			golden(t, m, name+"-"+s.name)
		})
	}
}

func toRDSInstances(t *testing.T, m *Model) *rdsInstancePage {
	t.Helper()
	typeText(t, m, "local-links-manager")
	press(t, m, "enter", "enter")
	return onTop[*rdsInstancePage](t, m)
}

func toRDSPoint(t *testing.T, m *Model) *rdsPointPage {
	t.Helper()
	toRDSInstances(t, m)
	press(t, m, "enter")
	return onTop[*rdsPointPage](t, m)
}

func toRDSPlan(t *testing.T, m *Model) *rdsPlanPage {
	t.Helper()
	toRDSPoint(t, m)
	press(t, m, "down")
	typeText(t, m, "2026-11-24 14:05:00")
	press(t, m, "enter", "enter")
	return onTop[*rdsPlanPage](t, m)
}

// toRDSWait is the wait page after the plan, its work stood in for by
// the events the test feeds (no restore runs).
func toRDSWait(t *testing.T, m *Model) *rdsWaitPage {
	t.Helper()
	plan := toRDSPlan(t, m)
	p := newRDSWaitPage(plan.flow, fixedNow.Add(-7*time.Minute-12*time.Second))
	m.push(p)
	p.job = &job{id: -20, cancel: func() {}, finished: make(chan struct{})}
	return p
}

func feedRDS(m *Model, p *rdsWaitPage, events ...any) {
	p.Update(m, jobEvents{id: p.job.id, events: events})
}

const llmTarget = llm + "-restored-202611250310"

// waitEvents are a restore's first minutes as the engine reports them.
func waitEvents() []any {
	return []any{
		rds.Usual{Min: 14*time.Minute + 10*time.Second, Max: 31 * time.Minute, Count: 3},
		rdsAccepted{&rds.Instance{ID: llmTarget, Status: "creating"}},
		rds.Event{Kind: rds.StatusChanged, Instance: llmTarget, Status: "creating", Elapsed: 2 * time.Second},
		rds.Event{Kind: rds.AWSEvent, Instance: llmTarget, At: fixedNow.Add(-7 * time.Minute), Message: "Restored from DB instance " + llm + " to 2026-11-24 14:05:00"},
		rds.Event{Kind: rds.StatusChanged, Instance: llmTarget, Status: "backing-up", Elapsed: 6*time.Minute + 40*time.Second},
		rds.Event{Kind: rds.AWSEvent, Instance: llmTarget, At: fixedNow.Add(-30 * time.Second), Message: "Backing up DB instance"},
		rds.Event{Kind: rds.StillWaiting, Instance: llmTarget, Status: "backing-up", Elapsed: 7 * time.Minute, Usual: rds.Usual{Min: 14*time.Minute + 10*time.Second, Max: 31 * time.Minute, Count: 3}},
	}
}

// toRDSAvailable is the wait page once the new instance is available: the
// simulated account is given it as AWS would have made it.
func toRDSAvailable(t *testing.T, m *Model, w *rdsWorld) *rdsWaitPage {
	t.Helper()
	p := toRDSWait(t, m)
	feedRDS(m, p, waitEvents()...)
	if err := w.sim.AddInstance(rdssim.Instance{ID: llmTarget, Class: "db.m6g.large", EngineVersion: "13.11", MultiAZ: true,
		DBName: "local_links_manager_production", MasterUsername: "aws_db_admin", BackupRetentionPeriod: 7}); err != nil {
		t.Fatal(err)
	}
	in, err := w.client.Describe(context.Background(), llmTarget)
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m, p.Update(m, jobDone{id: p.job.id, result: rdsWaitDone{accepted: true, instance: in}}))
	return p
}

func TestRDSScreens(t *testing.T) {
	rdsEachSize(t, "rds-instances", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) { toRDSInstances(t, m) })
	rdsEachSize(t, "rds-point", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) { toRDSPoint(t, m) })
	rdsEachSize(t, "rds-point-time", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) {
		toRDSPoint(t, m)
		press(t, m, "down")
		typeText(t, m, "2026-11-24 14:05:00")
	})
	rdsEachSize(t, "rds-point-outside", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) {
		p := toRDSPoint(t, m)
		p.flow.zone = time.FixedZone("CET", 3600)
		press(t, m, "down")
		typeText(t, m, "2026-11-17 12:00:00")
		press(t, m, "enter")
		onTop[*rdsPointPage](t, m) // refused on the page
	})
	rdsEachSize(t, "rds-point-snapshot-creating", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) {
		toRDSPoint(t, m)
		press(t, m, "down", "down", "enter")
		onTop[*rdsPointPage](t, m)
	})
	rdsEachSize(t, "rds-name", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) {
		toRDSPoint(t, m)
		press(t, m, "enter")
		onTop[*rdsNamePage](t, m)
	})
	rdsEachSize(t, "rds-plan", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) { toRDSPlan(t, m) })
	rdsEachSize(t, "rds-wait", func(t *testing.T, m *Model, _ *rdsWorld, _ *simClock) {
		p := toRDSWait(t, m)
		feedRDS(m, p, waitEvents()...)
	})
	rdsEachSize(t, "rds-available", func(t *testing.T, m *Model, w *rdsWorld, _ *simClock) { toRDSAvailable(t, m, w) })
	rdsEachSize(t, "rds-cutover", func(t *testing.T, m *Model, w *rdsWorld, _ *simClock) {
		toRDSAvailable(t, m, w)
		press(t, m, "c")
		onTop[*rdsCutOverPage](t, m)
	})
	rdsEachSize(t, "rds-cutover-confirm", func(t *testing.T, m *Model, w *rdsWorld, _ *simClock) {
		toRDSAvailable(t, m, w)
		press(t, m, "c", "enter")
		onTop[*rdsCutOverPage](t, m)
	})
	rdsEachSize(t, "rds-cutover-cname", func(t *testing.T, m *Model, w *rdsWorld, _ *simClock) {
		toRDSAvailable(t, m, w)
		press(t, m, "c", "down", "enter")
		typeText(t, m, "local-links-manager-postgres.blue.govuk-internal.digital")
		press(t, m, "tab")
		typeText(t, m, "blue.govuk-internal.digital")
	})
	rdsEachSize(t, "rds-cutover-done", func(t *testing.T, m *Model, w *rdsWorld, clock *simClock) {
		toRDSAvailable(t, m, w)
		press(t, m, "c", "enter")
		typeText(t, m, llm)
		clock.move(time.Second) // AWS renames while it is waited for
		press(t, m, "enter")
		if p := onTop[*rdsCutOverPage](t, m); p.phase != cutDone || p.err != nil {
			t.Fatalf("the cut-over did not finish: %v", p.err)
		}
	})
	for _, s := range sizes[:1] {
		w, _ := frozenRDSWorld(t)
		m := rdsModel(t, s.width, s.height, w)
		p := toRDSWait(t, m)
		feedRDS(m, p, waitEvents()...)
		m.Update(keyMsg("ctrl+c"))
		golden(t, m, "rds-wait-stopping-"+s.name)
		stopped := problem.Wrap(context.Canceled, problem.Interrupted, llmTarget, "stopped waiting for "+llmTarget, rds.CheckLater(llmTarget))
		p.Update(m, jobDone{id: p.job.id, result: rdsWaitDone{accepted: true, err: stopped}})
		golden(t, m, "rds-stopped-"+s.name)

		m = rdsModel(t, s.width, s.height, w)
		p = toRDSWait(t, m)
		feedRDS(m, p, waitEvents()[:5]...)
		failed := &problem.Error{Kind: problem.RDSFailed, Subject: llmTarget,
			Summary: llmTarget + " is incompatible-parameters: the parameter group's settings stop the instance from starting (often memory settings too large for the class)",
			Detail:  "AWS's events for it are shown with the wait", Next: "fix the cause AWS names, then restore again under a new name"}
		p.Update(m, jobDone{id: p.job.id, result: rdsWaitDone{accepted: true, err: failed}})
		golden(t, m, "rds-failed-"+s.name)
		if !problem.Is(m.Outcome().Err, problem.RDSFailed) || !strings.Contains(m.Outcome().Summary, "Restored from DB instance") {
			t.Errorf("a failed restore's outcome: %v\n%s", m.Outcome().Err, m.Outcome().Summary)
		}
	}
}

// TestTheEngineRefusesATimeOutsideItsWindow: a time the page let through
// (its window read earlier, here widened by hand) is refused by the
// engine's Prepare, and the plan page shows the engine's words.
func TestTheEngineRefusesATimeOutsideItsWindow(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w)
	p := toRDSPoint(t, m)
	p.status.Window.Earliest = p.status.Window.Earliest.AddDate(0, 0, -10)
	press(t, m, "down")
	typeText(t, m, "2026-11-15 12:00:00")
	press(t, m, "enter", "enter")
	plan := onTop[*rdsPlanPage](t, m)
	if !problem.Is(plan.err, problem.OutsideWindow) {
		t.Fatalf("the engine did not refuse: %v", plan.err)
	}
	golden(t, m, "rds-plan-outside-80x24")
}

// TestTheNewNameIsCheckedAsTyped: a name AWS would refuse is refused on the
// page, and enter does not go on.
func TestTheNewNameIsCheckedAsTyped(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w)
	toRDSPoint(t, m)
	press(t, m, "enter")
	typeText(t, m, "-")
	press(t, m, "enter")
	onTop[*rdsNamePage](t, m)
	if s := screen(m); !strings.Contains(strings.Join(strings.Fields(s), " "), "is not a valid RDS instance identifier") {
		t.Fatalf("the name was not refused:\n%s", s)
	}
	press(t, m, "backspace", "enter")
	onTop[*rdsPlanPage](t, m)
}

// TestTheConfigsInstanceIsPreselected: the instance the config names is
// chosen for the engineer, whether the search found it or not.
func TestTheConfigsInstanceIsPreselected(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	for _, named := range []string{llm, "llm-elsewhere"} {
		m := rdsModel(t, 80, 24, w)
		app, ok := m.deps.Catalog.Find("local-links-manager")
		if !ok {
			t.Fatal("local-links-manager is not in the catalog")
		}
		sel := Selection{App: app}
		sel.Details.RDS.Instance = named
		drive(t, m, startRDS(m, sel))
		p := onTop[*rdsInstancePage](t, m)
		if named == llm && (p.cursor != 0 || !strings.Contains(screen(m), llm+"  (named in the config)")) {
			t.Errorf("the config's instance is not chosen:\n%s", screen(m))
		}
		if named != llm && (!p.typedRow() || p.input.Value() != named) {
			t.Errorf("an instance the search missed is not typed in: row %d, %q", p.cursor, p.input.Value())
		}
	}
}

// TestWithoutAnRDSBackendTheRunbookShows: no backend wired, the RDS branch
// shows the runbook's manual steps, as before the flow existed.
func TestWithoutAnRDSBackendTheRunbookShows(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	typeText(t, m, "local-links-manager")
	press(t, m, "enter", "enter")
	onTop[*runbookPage](t, m)
}

// rdsPlainDeps are plain mode's dependencies on the simulated account, on
// the real clock.
func rdsPlainDeps(t *testing.T, w *rdsWorld, change ...func(*Deps)) Deps {
	return plainDeps(t, append([]func(*Deps){func(d *Deps) { d.RDS = w.client; d.Now = time.Now }}, change...)...)
}

func requestsOf(w *rdsWorld, action string) []rdssim.Request {
	var found []rdssim.Request
	for _, r := range w.sim.Requests() {
		if r.Action == action && r.ErrorCode == "" {
			found = append(found, r)
		}
	}
	return found
}

func lines(answers ...string) *strings.Reader {
	return strings.NewReader(strings.Join(answers, "\n") + "\n")
}

// TestRDSPlainWalkRestoresAndCutsOverByRenaming walks the whole flow line
// by line against the simulated account: the instance found for the
// application, a point in time typed, a name, the plan confirmed, the wait
// until available, then the cut-over by rename, which the account shows.
func TestRDSPlainWalkRestoresAndCutsOverByRenaming(t *testing.T) {
	w := newRDSWorld(t, time.Now)
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.Open(path, journal.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	target := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	var out strings.Builder
	outcome := RunPlain(rdsPlainDeps(t, w, func(d *Deps) { d.Journal = j }), lines("local-links-manager", "", "", "2",
		target.Format("2006-01-02 15:04:05+00"), "llm-restored-test", "yes", "2", "1", llm), &out)
	transcript := out.String()
	if outcome.Err != nil {
		t.Fatalf("%v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"It can be restored to any second from", "Restore to " + target.Format("2006-01-02 15:04:05") + " UTC",
		"The plan (nothing has been changed yet)", "enhanced monitoring: every 60 s", "[applied once the instance is available]",
		"aws rds restore-db-instance-to-point-in-time", "AWS accepted the restore: llm-restored-test is creating",
		"DB instance created", "applying the settings RDS takes only afterwards", "llm-restored-test is available at llm-restored-test.",
		"Check it: psql", "Cut over now", "aws rds modify-db-instance --db-instance-identifier " + llm + " --new-db-instance-identifier " + llm + "-before-",
		"Renamed instance from llm-restored-test to " + llm} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Contains(transcript, "\x1b[") {
		t.Error("plain mode wrote escape codes")
	}
	for _, want := range []string{"Restored " + llm + " as of " + target.Format("2006-01-02 15:04:05") + " UTC into a new instance, llm-restored-test",
		"Cut over: llm-restored-test now serves the application in place of " + llm, "delete-db-instance --db-instance-identifier " + llm + "-before-"} {
		if !strings.Contains(outcome.Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, outcome.Summary)
		}
	}

	restores := requestsOf(w, "RestoreDBInstanceToPointInTime")
	if len(restores) != 1 {
		t.Fatalf("%d restores asked for", len(restores))
	}
	for param, want := range map[string]string{"SourceDBInstanceIdentifier": llm, "TargetDBInstanceIdentifier": "llm-restored-test",
		"RestoreTime": target.Format("2006-01-02T15:04:05Z"), "DBSubnetGroupName": "govuk-rds-subnet", "DBParameterGroupName": "local-links-manager-pg13"} {
		if got := restores[0].Params.Get(param); got != want {
			t.Errorf("the restore's %s is %q, want %q", param, got, want)
		}
	}
	// The renames happened: the application's name is the restored
	// instance's, the damaged one is kept under its -before- name.
	now, err := w.client.Describe(context.Background(), llm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(now.Tags, rds.Tag{Key: "pgrescue:restored-from", Value: llm + " at " + target.Format(time.RFC3339)}) {
		t.Errorf("%s is not the restored instance: tags %v", llm, now.Tags)
	}
	found, err := w.client.FindByApp(context.Background(), "local-links-manager")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range found {
		ids = append(ids, in.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, llm) || !strings.HasPrefix(ids[0]+ids[1], llm) || slices.Contains(ids, "llm-restored-test") ||
		!slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, llm+"-before-") }) {
		t.Errorf("after the cut-over the account holds %v", ids)
	}

	j.Close(nil)
	data, _ := os.ReadFile(path)
	for _, want := range []string{`"kind":"rds-instance","message":"` + llm + `"`, `"kind":"rds-target","message":"Restore to `,
		`"kind":"rds-name","message":"llm-restored-test"`, `"kind":"plan","message":"confirmed: restore into llm-restored-test"`,
		`"kind":"rds-available","message":"llm-restored-test at `, `"kind":"rds-cut-over","message":"` + llm + ` → llm-restored-test"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the journal lacks %s", want)
		}
	}
}

// TestRDSPlainFailedRestore: an instance AWS cannot start ends the wait
// with the engine's words and AWS's events, on the screen and in the
// summary; no cut-over is offered.
func TestRDSPlainFailedRestore(t *testing.T) {
	w := newRDSWorld(t, time.Now)
	if err := w.sim.FailRestore("llm-failed", "incompatible-parameters"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	outcome := RunPlain(rdsPlainDeps(t, w), lines("local-links-manager", "", "", "1", "llm-failed", "yes"), &out)
	transcript := out.String()
	if !problem.Is(outcome.Err, problem.RDSFailed) {
		t.Fatalf("outcome %v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"llm-failed is incompatible-parameters", "DB instance created"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Contains(transcript, "Cut over now") {
		t.Error("a cut-over was offered to a failed instance")
	}
	for _, want := range []string{"The restore of " + llm + " as of its latest restorable time", "failed: llm-failed is incompatible-parameters",
		"What AWS reported:", "DB instance created", "Next steps:\n- fix the cause AWS names"} {
		if !strings.Contains(outcome.Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, outcome.Summary)
		}
	}
}

// TestRDSPlainTimeOutsideTheWindow: a typed time before the window is
// refused with the window in the engineer's zone and UTC, the choice is
// asked again, and nothing reaches AWS until a time inside is given (and
// here the plan is not confirmed).
func TestRDSPlainTimeOutsideTheWindow(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	rdsZone = func() *time.Location { return cet }
	defer func() { rdsZone = func() *time.Location { return time.Local } }()
	w := newRDSWorld(t, time.Now)
	tooEarly := time.Now().AddDate(0, 0, -10).In(cet).Format("2006-01-02 15:04:05")
	inside := time.Now().Add(-time.Hour).In(cet).Format("2006-01-02 15:04:05")
	var out strings.Builder
	outcome := RunPlain(rdsPlainDeps(t, w), lines("local-links-manager", "", "", "2", tooEarly, "2", inside, "llm-in-window", "no"), &out)
	transcript := out.String()
	if !problem.Is(outcome.Err, problem.Usage) || !strings.Contains(outcome.Err.Error(), "not confirmed") {
		t.Fatalf("outcome %v\n%s", outcome.Err, transcript)
	}
	refusal := tooEarly + " CET ("
	for _, want := range []string{refusal, "is before the earliest restorable time. " + llm + " can be restored from ",
		"CET (" + time.Now().AddDate(0, 0, -7).UTC().Format("2006-01-02"), "Restore to " + inside + " CET ("} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Count(transcript, "Restore point [") != 2 {
		t.Errorf("the restore point was not asked again:\n%s", transcript)
	}
	if n := len(requestsOf(w, "RestoreDBInstanceToPointInTime")); n != 0 {
		t.Errorf("%d restores asked for", n)
	}
}

// TestRDSPlainDryRunEndsWithThePlan: in a dry run the plan, with its aws
// commands, is the end; AWS is asked for nothing.
func TestRDSPlainDryRunEndsWithThePlan(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	var out strings.Builder
	outcome := RunPlain(plainDeps(t, func(d *Deps) { d.RDS = w.client; d.DryRun = true }), lines("local-links-manager", "", "", "1", ""), &out)
	if outcome.Err != nil || !strings.Contains(out.String(), "Dry run: nothing was run.") {
		t.Fatalf("outcome %v\n%s", outcome.Err, out.String())
	}
	if !strings.Contains(outcome.Summary, "--use-latest-restorable-time") || !strings.Contains(outcome.Summary, llmTarget) {
		t.Errorf("the summary is not the plan:\n%s", outcome.Summary)
	}
	if n := len(requestsOf(w, "RestoreDBInstanceToPointInTime")); n != 0 {
		t.Errorf("%d restores asked for in a dry run", n)
	}
}

// driveUntil runs cmd as drive does until done reports true, and returns
// the commands still to run.
func driveUntil(t *testing.T, m *Model, cmd tea.Cmd, done func() bool) []tea.Cmd {
	t.Helper()
	queue, quit := runCommandsUntil(m, cmd, done)
	if quit {
		t.Fatal("the wizard quit")
	}
	if !done() {
		t.Fatal("the work ended before the moment waited for")
	}
	return queue
}

// TestCtrlCStopsTheWaitNotTheRestore: ctrl+c while AWS creates the
// instance stops pgrescue waiting; the page and the summary say the
// restore goes on and how to check on it, and AWS still creates it.
func TestCtrlCStopsTheWaitNotTheRestore(t *testing.T) {
	w := newRDSWorld(t, time.Now)
	w.sim.StallRestore(llmTarget)
	m := rdsModel(t, 80, 24, w)
	toRDSPoint(t, m)
	press(t, m, "enter", "enter")
	onTop[*rdsPlanPage](t, m)
	_, cmd := m.Update(keyMsg("y"))
	rest := driveUntil(t, m, cmd, func() bool {
		p, ok := m.top().(*rdsWaitPage)
		return ok && p.accepted != nil
	})
	m.Update(keyMsg("ctrl+c"))
	drive(t, m, tea.Batch(rest...))
	p := onTop[*rdsWaitPage](t, m)
	if p.job != nil {
		t.Fatal("still waiting")
	}
	s := screen(m)
	if !strings.Contains(s, "Stopped waiting") || !strings.Contains(s, "pgrescue rds-status --instance") {
		t.Errorf("the page does not say the restore goes on:\n%s", s)
	}
	if !problem.Is(m.Outcome().Err, problem.Interrupted) {
		t.Errorf("outcome %v", m.Outcome().Err)
	}
	for _, want := range []string{rds.CheckLater(llmTarget), "pgrescue rds cut-over --old " + llm + " --new " + llmTarget} {
		if !strings.Contains(m.Outcome().Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, m.Outcome().Summary)
		}
	}
	in, err := w.client.Describe(context.Background(), llmTarget)
	if err != nil || in.Status != "creating" {
		t.Errorf("the restore did not go on: %v, %v", in, err)
	}
	if _, cmd := m.Update(keyMsg("q")); cmd == nil {
		t.Error("q does not leave")
	}
}

// TestADeletedInstanceRestoresFromItsRetainedBackup: an identifier typed
// for an instance that no longer exists shows its retained backup's window
// and its snapshots; the plan says every setting is AWS's default, and no
// cut-over is offered once it is restored (there is nothing to rename).
func TestADeletedInstanceRestoresFromItsRetainedBackup(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	if _, err := w.sim.AddRetainedBackup(rdssim.RetainedBackup{InstanceID: "llm-deleted", EngineVersion: "13.11", AllocatedStorage: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddSnapshot(rdssim.Snapshot{ID: "llm-deleted-final", InstanceID: "llm-deleted", Created: fixedNow.Add(-50 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	m := rdsModel(t, 80, 24, w)
	toRDSInstances(t, m)
	press(t, m, "down")
	typeText(t, m, "llm-deleted")
	press(t, m, "enter")
	onTop[*rdsPointPage](t, m)
	golden(t, m, "rds-point-deleted-80x24")
	press(t, m, "enter", "enter")
	plan := onTop[*rdsPlanPage](t, m)
	if plan.plan == nil || plan.plan.Retained == nil {
		t.Fatalf("not planned from the retained backup: %v", plan.err)
	}
	golden(t, m, "rds-plan-deleted-80x24")
	p := newRDSWaitPage(plan.flow, fixedNow)
	m.push(p)
	p.job = &job{id: -21, cancel: func() {}, finished: make(chan struct{})}
	p.Update(m, jobDone{id: -21, result: rdsWaitDone{accepted: true, instance: &rds.Instance{ID: plan.plan.Target, Endpoint: "x.eu-west-1.rds.amazonaws.com", Port: 5432}}})
	if s := screen(m); strings.Contains(s, "c cut over") || !strings.Contains(m.Outcome().Summary, "nothing to rename or cut over from") {
		t.Errorf("a cut-over is offered with no instance to replace:\n%s\n%s", s, m.Outcome().Summary)
	}
}

// TestASearchRefusedLeavesTheIdentifierToType: AWS refusing the search
// says why, with the credentials, and the identifier can still be typed.
func TestASearchRefusedLeavesTheIdentifierToType(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	w.sim.DenyAction("DescribeDBInstances")
	m := rdsModel(t, 80, 24, w)
	p := toRDSInstances(t, m)
	if !problem.Is(p.err, problem.AccessDenied) || !p.typedRow() {
		t.Fatalf("search error %v, row %d", p.err, p.cursor)
	}
	golden(t, m, "rds-instances-denied-80x24")
}

// TestAnAbandonedWaitSaysTheRestoreGoesOn: when the program ends under the
// wait (SIGTERM, a lost terminal), the wait stops and the summary still
// says where the restore is and how to check on it.
func TestAnAbandonedWaitSaysTheRestoreGoesOn(t *testing.T) {
	w := newRDSWorld(t, time.Now)
	w.sim.StallRestore(llmTarget)
	m := rdsModel(t, 80, 24, w)
	toRDSPoint(t, m)
	press(t, m, "enter", "enter")
	_, cmd := m.Update(keyMsg("y"))
	driveUntil(t, m, cmd, func() bool {
		p, ok := m.top().(*rdsWaitPage)
		return ok && p.accepted != nil
	})
	m.Wait(10 * time.Second)
	if !problem.Is(m.Outcome().Err, problem.Interrupted) || !strings.Contains(m.Outcome().Summary, rds.CheckLater(llmTarget)) {
		t.Errorf("outcome %v\n%s", m.Outcome().Err, m.Outcome().Summary)
	}
}

// TestADryRunPlanIsTheEnd: on the full screen too, the dry run's plan is
// the last page: enter leaves with the commands as the summary.
func TestADryRunPlanIsTheEnd(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w, func(d *Deps) { d.DryRun = true })
	toRDSPlan(t, m)
	if _, cmd := m.Update(keyMsg("y")); cmd != nil {
		t.Fatal("y started something in a dry run")
	}
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal("enter does not finish the dry run")
	}
	if _, quit := cmd().(tea.QuitMsg); !quit || !strings.Contains(m.Outcome().Summary, "aws rds restore-db-instance-to-point-in-time") {
		t.Errorf("dry run: quit %v, summary:\n%s", quit, m.Outcome().Summary)
	}
}

// TestTheCutOverNeedsTheOldNameTyped: enter alone, or a name close to the
// old one, renames nothing.
func TestTheCutOverNeedsTheOldNameTyped(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w)
	toRDSAvailable(t, m, w)
	press(t, m, "c", "enter", "enter")
	typeText(t, m, "local-links-manager")
	press(t, m, "enter")
	if p := onTop[*rdsCutOverPage](t, m); p.phase != cutConfirm || !strings.Contains(screen(m), "Type "+llm+" exactly") {
		t.Fatalf("a wrong name was not refused:\n%s", screen(m))
	}
	if n := len(requestsOf(w, "ModifyDBInstance")); n != 0 {
		t.Errorf("%d renames asked for", n)
	}
	if !strings.Contains(m.Outcome().Summary, "pgrescue rds cut-over --old "+llm+" --new "+llmTarget) {
		t.Errorf("the summary does not say how to cut over later:\n%s", m.Outcome().Summary)
	}
}

// TestARefusedCNAMEKeepsWhatWasTyped: when the engine refuses the CNAME
// (here the simulator has no Route53, so the zone is not found) the error
// shows under the fields, still filled in, and nothing was changed.
func TestARefusedCNAMEKeepsWhatWasTyped(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w)
	toRDSAvailable(t, m, w)
	press(t, m, "c", "down", "enter")
	typeText(t, m, "local-links-manager-postgres.blue.govuk-internal.digital")
	press(t, m, "enter")
	typeText(t, m, "blue.govuk-internal.digital")
	press(t, m, "enter")
	p := onTop[*rdsCutOverPage](t, m)
	if p.phase != cutNames || p.err == nil || p.zone.Value() != "blue.govuk-internal.digital" {
		t.Fatalf("phase %d, error %v, zone %q", p.phase, p.err, p.zone.Value())
	}
	if s := screen(m); !strings.Contains(s, "ListHostedZonesByName") {
		t.Errorf("the refusal is not shown:\n%s", s)
	}
	press(t, m, "esc")
	if p.phase != cutChoose {
		t.Errorf("esc in the names does not return to the choice")
	}
	if n := len(requestsOf(w, "ModifyDBInstance")); n != 0 {
		t.Errorf("%d changes asked for", n)
	}
}

// rdsExercise judges as the demo's RDS exercises do: the last restore
// must be available, and the cut-over is noted.
func rdsExercise(w *rdsWorld) func(*Deps) {
	return func(d *Deps) {
		d.Training = &Training{Title: "Restore local-links-manager", Briefing: "A migration dropped a column.", Path: TrainRDS,
			CheckRDS: func() (bool, string) {
				var target, cutOver string
				for _, r := range w.sim.Requests() {
					switch {
					case r.ErrorCode != "":
					case r.Action == "RestoreDBInstanceToPointInTime":
						target = r.Params.Get("TargetDBInstanceIdentifier")
					case r.Action == "ModifyDBInstance" && r.Params.Get("NewDBInstanceIdentifier") == llm:
						cutOver = r.Params.Get("DBInstanceIdentifier")
					}
				}
				name := target
				if cutOver == target {
					name = llm
				}
				in, err := w.client.Describe(context.Background(), name)
				switch {
				case err != nil || in.Status != "available":
					return false, target + " is not available."
				case cutOver == target:
					return true, target + " is restored and cut over."
				}
				return true, target + " is restored; the cut-over is still to do."
			}}
	}
}

// TestRDSPlainExerciseRestoresAgainAfterAFailure: in an exercise whose
// first restore fails (as the demo's rds-failure), the trainee is told so,
// restores again under another name, then cuts over; each step is judged.
func TestRDSPlainExerciseRestoresAgainAfterAFailure(t *testing.T) {
	w := newRDSWorld(t, time.Now)
	if err := w.sim.FailRestore("llm-first", "incompatible-parameters"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	outcome := RunPlain(rdsPlainDeps(t, w, rdsExercise(w)), lines("", "local-links-manager", "", "", "1", "llm-first", "yes",
		"2", "1", "llm-second", "yes", "2", "1", llm), &out)
	transcript := out.String()
	if outcome.Err != nil {
		t.Fatalf("%v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"llm-first is incompatible-parameters", "Not quite: llm-first is not available.",
		"Restore again: another restore point or name", "Exercise passed: llm-second is restored; the cut-over is still to do.",
		"Exercise passed: llm-second is restored and cut over."} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if !strings.Contains(outcome.Summary, "llm-second is restored and cut over.") || strings.Contains(outcome.Summary, "llm-first") {
		t.Errorf("the summary is not the second try's:\n%s", outcome.Summary)
	}
	if in, err := w.client.Describe(context.Background(), "llm-first"); err != nil || in.Status != "incompatible-parameters" {
		t.Errorf("the failed instance was not left as it is: %v %v", in, err)
	}
}

// TestRestoreAgainFromTheWaitPage: r after a failure returns to the
// restore point, read again, and the next name is a new one.
func TestRestoreAgainFromTheWaitPage(t *testing.T) {
	w, _ := frozenRDSWorld(t)
	m := rdsModel(t, 80, 24, w)
	p := toRDSWait(t, m)
	feedRDS(m, p, waitEvents()[:3]...)
	p.Update(m, jobDone{id: p.job.id, result: rdsWaitDone{accepted: true, err: problem.New(problem.RDSFailed, llmTarget, "it failed", "restore again")}})
	press(t, m, "r")
	point := onTop[*rdsPointPage](t, m)
	if point.status == nil || point.cursor != 1 || m.Outcome().Err != nil || m.Outcome().Summary != "" {
		t.Fatalf("after r: status %v, cursor %d, outcome %+v", point.status, point.cursor, m.Outcome())
	}
	press(t, m, "enter")
	if name := onTop[*rdsNamePage](t, m).name(); name != llmTarget+"-2" {
		t.Errorf("the name suggested again is %q", name)
	}
}
