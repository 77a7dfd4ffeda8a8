package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"pgrescue/problem"
	"pgrescue/restore/rds"
)

// fastClock runs the simulated AWS 30 times faster than the wall clock, so
// a restore's phases pass in a second.
func fastClock() func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Since(start) * 30) }
}

func rdsClient(t *testing.T, sb *Sandbox) *rds.Client {
	t.Helper()
	c, err := rds.Connect(t.Context(), rds.Options{Region: sb.RDS.Region, Endpoint: sb.RDS.Endpoint,
		Credentials: credentials.NewStaticCredentialsProvider(sb.RDS.AccessKey, sb.RDS.SecretKey, ""),
		Wait:        rds.WaitOptions{MinDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Limit: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func restoreTo(t *testing.T, c *rds.Client, req rds.Request, now time.Time) (*rds.Instance, error) {
	t.Helper()
	req.Source, req.Now = rdsInstance, now
	plan, err := c.Prepare(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return plan.Finish(t.Context(), c.WaitOptions(), nil)
}

// TestRDSScenario builds the exercise with no PostgreSQL and no AWS, and
// passes it as a trainee would with the engine the wizard uses: the check
// refuses a restore to the latest time (after the migration), accepts one
// just before it, and says when the cut-over is done.
func TestRDSScenario(t *testing.T) {
	t.Parallel()
	clock := fastClock()
	sb, _ := buildSandbox(t, Options{Scenario: rdsScenario, Now: clock})
	if sb.RDS == nil || !strings.Contains(sb.Expected.Describe, "within 15 minutes before it") || sb.AccidentAt.IsZero() {
		t.Fatalf("the story: %+v %q", sb.RDS, sb.Expected.Describe)
	}
	if v := sb.CheckRDS(); v.OK || !strings.Contains(v.Message, "no restore") {
		t.Fatalf("before any restore: %+v", v)
	}
	c := rdsClient(t, sb)
	st, err := c.Status(t.Context(), rdsInstance, clock())
	if err != nil || len(st.Snapshots) != 8 || st.Window == nil || !st.Window.Contains(sb.AccidentAt) {
		t.Fatalf("the instance's restore points: %+v %v", st, err)
	}
	if u := c.UsualDuration(t.Context(), "db.m6g.large"); u.Count != 2 {
		t.Errorf("the drills' durations: %+v", u)
	}
	if _, err := restoreTo(t, c, rds.Request{Latest: true, Target: "too-late"}, clock()); err != nil {
		t.Fatal(err)
	}
	if v := sb.CheckRDS(); v.OK || !strings.Contains(v.Message, "latest time is after the migration") {
		t.Fatalf("a restore to the latest time: %+v", v)
	}
	restored, err := restoreTo(t, c, rds.Request{TargetTime: sb.AccidentAt.Add(-3 * time.Minute), Target: "llm-restored"}, clock())
	if err != nil || restored.Status != "available" {
		t.Fatalf("%+v %v", restored, err)
	}
	if v := sb.CheckRDS(); !v.OK || !strings.Contains(v.Message, "cut-over is still to do") {
		t.Fatalf("restored, not cut over: %+v", v)
	}
	co, err := c.PrepareCutOver(t.Context(), rds.CutOverRequest{Old: rdsInstance, New: "llm-restored", Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Run(t.Context(), c.WaitOptions(), nil); err != nil {
		t.Fatal(err)
	}
	if v := sb.CheckRDS(); !v.OK || !strings.Contains(v.Message, "The cut-over is done") {
		t.Fatalf("after the cut-over: %+v", v)
	}
}

// TestRDSFailureScenario: the first restore ends in incompatible-parameters
// with AWS's event; the second, under another name, becomes available.
func TestRDSFailureScenario(t *testing.T) {
	t.Parallel()
	clock := fastClock()
	sb, _ := buildSandbox(t, Options{Scenario: rdsFailureScenario, Now: clock})
	c := rdsClient(t, sb)
	_, err := restoreTo(t, c, rds.Request{TargetTime: sb.AccidentAt.Add(-time.Minute), Target: "first-try"}, clock())
	if !problem.Is(err, problem.RDSFailed) || !strings.Contains(err.Error(), "incompatible-parameters") {
		t.Fatalf("the first restore: %v", err)
	}
	if v := sb.CheckRDS(); v.OK || !strings.Contains(v.Message, "first-try is incompatible-parameters, not available") {
		t.Fatalf("a failed restore passed: %+v", v)
	}
	if _, err := restoreTo(t, c, rds.Request{TargetTime: sb.AccidentAt.Add(-time.Minute), Target: "second-try"}, clock()); err != nil {
		t.Fatalf("the second restore: %v", err)
	}
	if v := sb.CheckRDS(); !v.OK {
		t.Fatalf("%+v", v)
	}
}
