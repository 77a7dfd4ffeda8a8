package rds_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/rdssim"
	"pgrescue/problem"
	"pgrescue/restore/rds"
)

// govukSource is the instance the simulator starts with: every setting a
// restore must copy away from AWS's defaults, which the simulator gives a
// restore for everything it is not told.
var govukSource = rdssim.Instance{
	ID: "local-links-manager-postgres", Class: "db.m6g.large", EngineVersion: "13.7", MasterUsername: "aws_db_admin",
	DBName: "local_links_manager_production", Port: 5433, AllocatedStorage: 500, MaxAllocatedStorage: 1000,
	StorageType: "gp3", Iops: 12000, StorageThroughput: 500, StorageEncrypted: true, MultiAZ: true,
	SubnetGroup: "blue-govuk-rds-subnet", VpcID: "vpc-0a1b2c3d", SecurityGroups: []string{"sg-0123456789abcdef0", "sg-1"},
	ParameterGroup: "local-links-manager-postgres-20220705", OptionGroup: "llm-options",
	BackupRetentionPeriod: 7, PreferredBackupWindow: "01:00-03:00", DeletionProtection: true, CopyTagsToSnapshot: true,
	IAMDatabaseAuthentication: true, MonitoringInterval: 60, MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring-role",
	PerformanceInsights: true, PerformanceInsightsRetentionPeriod: 7, CACertificate: "rds-ca-ecc384-g1",
	Tags: []rdssim.Tag{{Key: "Name", Value: "local-links-manager"}, {Key: "project", Value: "govuk"}},
}

type simHarness struct {
	sim    *rdssim.Sim
	clock  *rdssim.ManualClock
	engine *rds.Client
}

// startSim serves the simulator with phases of a few simulated seconds,
// which a goroutine advances while the engine polls.
func startSim(t *testing.T, attempts int) *simHarness {
	clock := rdssim.NewManualClock(time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC))
	sim := rdssim.New(rdssim.Options{Clock: clock.Now, Phases: rdssim.Phases{Creating: 3 * time.Minute, BackingUp: 2 * time.Minute, Renaming: time.Minute, Modifying: time.Minute}})
	if err := sim.AddInstance(govukSource); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddSnapshot(rdssim.Snapshot{ID: "before-the-migration", InstanceID: govukSource.ID, Created: clock.Now().Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	engine, err := rds.Connect(context.Background(), rds.Options{Region: "eu-west-1", Endpoint: url, Credentials: static,
		MaxAttempts: attempts, MaxBackoff: 5 * time.Millisecond,
		Wait: rds.WaitOptions{MinDelay: 2 * time.Millisecond, MaxDelay: 5 * time.Millisecond, Limit: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return &simHarness{sim: sim, clock: clock, engine: engine}
}

// ticking moves the simulator's clock on while a wait polls it.
func (h *simHarness) ticking(t *testing.T, step time.Duration) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				h.clock.Advance(step)
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

func (h *simHarness) restore(t *testing.T, req rds.Request) (*rds.Plan, *rds.Instance, []rds.Event, error) {
	t.Helper()
	req.Now = h.clock.Now()
	plan, err := h.engine.Prepare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var events []rds.Event
	o := h.engine.WaitOptions()
	in, err := plan.Finish(context.Background(), o, func(e rds.Event) { events = append(events, e) })
	return plan, in, events, err
}

// TestSimRestoreCopiesWhatAWSWouldDefault: the simulator gives a restore
// AWS's defaults for every setting it is not sent, so each one pgrescue
// forgot would show here.
func TestSimRestoreCopiesWhatAWSWouldDefault(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  rds.Request
	}{
		{"point in time", rds.Request{Source: govukSource.ID, TargetTime: time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC), Target: "llm-pitr"}},
		{"snapshot", rds.Request{Snapshot: "before-the-migration", Target: "llm-snapshot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSim(t, 3)
			h.ticking(t, 5*time.Second)
			src, err := h.engine.Describe(context.Background(), govukSource.ID)
			if err != nil {
				t.Fatal(err)
			}
			plan, got, events, err := h.restore(t, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			sameSettings(t, src, got)
			for _, p := range []struct {
				name      string
				want, got any
			}{
				{"IOPS", src.Iops, got.Iops}, {"throughput", src.Throughput, got.Throughput},
				{"storage autoscaling", src.MaxAllocatedGiB, got.MaxAllocatedGiB}, {"CA", src.CACertificate, got.CACertificate},
				{"PI retention", src.PIRetentionDays, got.PIRetentionDays},
			} {
				if p.want != p.got {
					t.Errorf("%s: source %v, restored %v", p.name, p.want, p.got)
				}
			}
			var statuses []string
			for _, e := range events {
				if e.Kind == rds.StatusChanged {
					statuses = append(statuses, e.Status)
				}
			}
			if !slices.Contains(statuses, "creating") || !slices.Contains(statuses, "backing-up") || statuses[len(statuses)-1] != "available" ||
				!slices.Contains(statuses, "modifying") {
				t.Errorf("statuses seen: %v", statuses)
			}
			if !slices.ContainsFunc(events, func(e rds.Event) bool { return e.Kind == rds.AWSEvent && strings.HasPrefix(e.Message, "Restored from") }) {
				t.Errorf("AWS's events were not reported: %v", events)
			}
			seen := map[string]int{}
			for _, e := range events {
				if e.Kind == rds.AWSEvent {
					if seen[e.At.String()+e.Message]++; seen[e.At.String()+e.Message] > 1 {
						t.Errorf("AWS's event reported twice: %s", e)
					}
				}
			}
			restore := lastRequest(h.sim, "RestoreDB")
			if plan.Method == rds.PointInTime && restore.Get("RestoreTime") != "2026-11-25T14:05:00Z" {
				t.Errorf("restore time sent: %v", restore)
			}
		})
	}
}

func lastRequest(sim *rdssim.Sim, prefix string) url.Values {
	var last url.Values
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Action, prefix) {
			last = r.Params
		}
	}
	return last
}

func TestSimFailuresEndTheWaitWithTheirKind(t *testing.T) {
	for _, status := range []string{"failed", "incompatible-restore", "incompatible-parameters"} {
		t.Run(status, func(t *testing.T) {
			h := startSim(t, 3)
			h.ticking(t, 5*time.Second)
			if err := h.sim.FailRestore("llm-restored", status); err != nil {
				t.Fatal(err)
			}
			_, _, events, err := h.restore(t, rds.Request{Source: govukSource.ID, Latest: true, Target: "llm-restored"})
			if !problem.Is(err, problem.RDSFailed) || !strings.Contains(err.Error(), status) || !strings.Contains(err.Error(), "delete-db-instance") {
				t.Fatalf("%v", err)
			}
			if !slices.ContainsFunc(events, func(e rds.Event) bool { return e.Kind == rds.StatusChanged && e.Status == status }) {
				t.Errorf("the failed state was not reported: %v", events)
			}
		})
	}
}

func TestSimWaitTimeLimitAndCtrlC(t *testing.T) {
	h := startSim(t, 3)
	h.sim.StallRestore("llm-restored")
	plan, err := h.engine.Prepare(context.Background(), rds.Request{Source: govukSource.ID, Latest: true, Target: "llm-restored", Now: h.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := h.engine.WaitOptions()
	o.Limit = 200 * time.Millisecond
	_, err = plan.Finish(context.Background(), o, nil)
	if !problem.Is(err, problem.WaitTimeout) || !strings.Contains(err.Error(), "still creating") ||
		!strings.Contains(err.Error(), "pgrescue rds-status --instance llm-restored") {
		t.Fatalf("time limit: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = plan.Finish(ctx, h.engine.WaitOptions(), nil)
	if !problem.Is(err, problem.Interrupted) || !strings.Contains(err.Error(), "the restore goes on in AWS") {
		t.Fatalf("ctrl+c: %v", err)
	}
	in, err := h.engine.Describe(context.Background(), "llm-restored")
	if err != nil || in.Status != "creating" {
		t.Fatalf("ctrl+c touched the restore: %+v %v", in, err)
	}
	if slices.ContainsFunc(h.sim.Requests(), func(r rdssim.Request) bool { return strings.HasPrefix(r.Action, "Delete") }) {
		t.Fatal("a delete was sent")
	}
}

func TestSimThrottlingIsRetriedThenNamed(t *testing.T) {
	h := startSim(t, 5)
	h.sim.ThrottleNext(3)
	if _, err := h.engine.Status(context.Background(), govukSource.ID, h.clock.Now()); err != nil {
		t.Fatalf("three throttled answers were not retried: %v", err)
	}
	h.sim.ThrottleNext(100)
	_, err := h.engine.Status(context.Background(), govukSource.ID, h.clock.Now())
	if !problem.Is(err, problem.Throttled) || problem.ExitCode(err) != 38 {
		t.Fatalf("kept throttled: %v", err)
	}
}

func TestSimCredentialAndPermissionFailures(t *testing.T) {
	h := startSim(t, 2)
	ctx := context.Background()
	h.sim.DenyAction("RestoreDBInstanceToPointInTime")
	plan, err := h.engine.Prepare(ctx, rds.Request{Source: govukSource.ID, Latest: true, Target: "llm-restored", Now: h.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = plan.Start(ctx)
	if !problem.Is(err, problem.AccessDenied) || !strings.Contains(err.Error(), "rds:RestoreDBInstanceToPointInTime") ||
		!strings.Contains(err.Error(), "from the given keys") {
		t.Fatalf("access denied: %v", err)
	}
	h.sim.ClearFaults()
	h.sim.SetInstanceQuota(1)
	if _, err = plan.Start(ctx); !problem.Is(err, problem.QuotaExceeded) {
		t.Fatalf("quota: %v", err)
	}
	h.sim.ClearFaults()
	h.sim.SetTokenExpired(true)
	_, err = h.engine.Status(ctx, govukSource.ID, h.clock.Now())
	if !problem.Is(err, problem.AccessDenied) || !strings.Contains(err.Error(), "session has expired") {
		t.Fatalf("expired token: %v", err)
	}
	for _, r := range h.sim.Requests() {
		if !r.Authorization {
			t.Fatalf("%s was sent unsigned", r.Action)
		}
		for k, v := range r.Params {
			if strings.Contains(strings.Join(v, " "), "wJalrXUtnFEMI") {
				t.Fatalf("the secret key was sent as %s", k)
			}
		}
	}
}

func TestSimRetainedBackupOfADeletedInstance(t *testing.T) {
	h := startSim(t, 3)
	h.ticking(t, 5*time.Second)
	now := h.clock.Now()
	arn, err := h.sim.AddRetainedBackup(rdssim.RetainedBackup{InstanceID: "whitehall-postgres", Earliest: now.Add(-72 * time.Hour), Latest: now.Add(-48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.engine.Status(context.Background(), "whitehall-postgres", now)
	if err != nil || st.Instance != nil || len(st.Retained) != 1 || st.Retained[0].ARN != arn {
		t.Fatalf("status of a deleted instance: %+v %v", st, err)
	}
	plan, got, _, err := h.restore(t, rds.Request{Source: "whitehall-postgres", TargetTime: now.Add(-60 * time.Hour), Target: "whitehall-restored"})
	if err != nil || got.Status != "available" {
		t.Fatalf("restore from the retained backup: %+v %v", got, err)
	}
	if lastRequest(h.sim, "RestoreDB").Get("SourceDBInstanceAutomatedBackupsArn") != arn || !strings.Contains(plan.Commands()[1].Line, arn) {
		t.Fatalf("the restore did not name the backup's ARN: %v", lastRequest(h.sim, "RestoreDB"))
	}
}

func TestSimUsualDurationFromPastRestores(t *testing.T) {
	h := startSim(t, 3)
	now := h.clock.Now()
	for _, e := range []rdssim.Event{
		{SourceIdentifier: "old-restore", Message: "DB instance created", Date: now.Add(-50 * time.Hour)},
		{SourceIdentifier: "old-restore", Message: "Restored from snapshot x", Date: now.Add(-50*time.Hour + 10*time.Minute)},
		{SourceIdentifier: "old-restore", Message: "Finished DB Instance backup", Date: now.Add(-50*time.Hour + 24*time.Minute)},
		{SourceIdentifier: "newer-restore", Message: "DB instance created", Date: now.Add(-5 * time.Hour)},
		{SourceIdentifier: "newer-restore", Message: "Restored from DB instance a to 2026-11-25 09:00:00", Date: now.Add(-5*time.Hour + 9*time.Minute)},
		{SourceIdentifier: "newer-restore", Message: "Finished DB Instance backup", Date: now.Add(-5*time.Hour + 16*time.Minute)},
		{SourceIdentifier: "not-a-restore", Message: "DB instance restarted", Date: now.Add(-3 * time.Hour)},
	} {
		if err := h.sim.AddEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	// More events than one page holds (AWS gives 100 at most): the
	// restores are in the later pages.
	for i := range 150 {
		if err := h.sim.AddEvent(rdssim.Event{SourceIdentifier: "busy", Message: "DB instance restarted", Date: now.Add(-time.Duration(300-i) * time.Hour / 10)}); err != nil {
			t.Fatal(err)
		}
	}
	u := h.engine.UsualDuration(context.Background(), "db.r5.4xlarge")
	if u.Count != 2 || u.Min != 16*time.Minute || u.Max != 24*time.Minute || u.Class != "" {
		t.Fatalf("usual: %+v", u)
	}
	if got := u.String(); got != "earlier restores here (of any size) took 16 min 00 s to 24 min 00 s (2 in the last 14 days)" {
		t.Errorf("%s", got)
	}
	// The newer restore is still there, of the source's class: it alone counts.
	if err := h.sim.AddInstance(rdssim.Instance{ID: "newer-restore", Class: "db.m6g.large"}); err != nil {
		t.Fatal(err)
	}
	u = h.engine.UsualDuration(context.Background(), "db.m6g.large")
	if u.Count != 1 || u.Min != 16*time.Minute || u.Class != "db.m6g.large" ||
		u.String() != "earlier restores of db.m6g.large here took 16 min 00 s to 16 min 00 s (1 in the last 14 days)" {
		t.Fatalf("same class: %+v %s", u, u)
	}
}

// TestSimPointInTimePlanReadsOnlyWhatItNeeds: a point-in-time plan reads
// the instance, its window and the new name, not the snapshots, which
// rds-status (and the wizard's restore point) list.
func TestSimPointInTimePlanReadsOnlyWhatItNeeds(t *testing.T) {
	h := startSim(t, 3)
	if _, err := h.engine.Prepare(context.Background(), rds.Request{Source: govukSource.ID, Latest: true, Target: "llm-restored", Now: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range h.sim.Requests() {
		actions = append(actions, r.Action)
	}
	if want := []string{"DescribeDBInstances", "DescribeDBInstanceAutomatedBackups", "DescribeDBInstances"}; !slices.Equal(actions, want) {
		t.Errorf("the plan asked %v, want %v", actions, want)
	}
}
