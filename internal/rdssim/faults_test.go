package rdssim

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

func TestFailRestoreEndsInEachFailureState(t *testing.T) {
	for _, status := range []string{StatusFailed, StatusIncompatibleRestore, StatusIncompatibleParameters} {
		t.Run(status, func(t *testing.T) {
			h := newHarness(t)
			h.mustAddInstance(t, production())
			if err := h.sim.FailRestore("Doomed", status); err != nil {
				t.Fatal(err)
			}
			h.restoreLatest(t, "govuk-content-store", "doomed")
			h.clock.Advance(2 * time.Second)
			if s := h.status(t, "doomed"); s != "creating" {
				t.Errorf("before creation ends: %s", s)
			}
			h.clock.Advance(time.Hour)
			if s := h.status(t, "doomed"); s != status {
				t.Errorf("after creation: %s, want %s", s, status)
			}
			events := h.eventMessages(t, "doomed")
			if len(events) == 0 || events[len(events)-1] != failureEvents[status] {
				t.Errorf("events %q end without the %s event", events, status)
			}
		})
	}
	if err := New(Options{}).FailRestore("x", "available"); err == nil {
		t.Error("FailRestore accepted a state that is not a failure")
	}
}

func TestFailRestoreAppliesToARestoreUnderWay(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.restoreLatest(t, "govuk-content-store", "target")
	h.clock.Advance(time.Second)
	if err := h.sim.FailRestore("target", StatusIncompatibleParameters); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if s := h.status(t, "target"); s != StatusIncompatibleParameters {
		t.Errorf("status %s", s)
	}
}

func TestStallRestoreStaysCreatingUntilCleared(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.sim.StallRestore("stuck")
	h.restoreLatest(t, "govuk-content-store", "stuck")
	h.clock.Advance(6 * time.Hour)
	if s := h.status(t, "stuck"); s != "creating" {
		t.Fatalf("status %s, want creating", s)
	}
	if events := h.eventMessages(t, "stuck"); len(events) != 0 {
		t.Errorf("a stalled restore sent events %q", events)
	}
	h.sim.ClearFaults()
	h.clock.Advance(2 * time.Second)
	if s := h.status(t, "stuck"); s != "creating" {
		t.Errorf("released: %s, want creating for the whole phase from now", s)
	}
	h.clock.Advance(5 * time.Second)
	if s := h.status(t, "stuck"); s != "available" {
		t.Errorf("released: %s, want available", s)
	}
}

func TestThrottlingOfNRequestsThenSuccess(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "db"})
	h.sim.ThrottleNext(2)
	for range 2 {
		_, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		wantAPIError(t, err, "Throttling", 400)
		if code, _ := apiErrorOf(t, err); code == "Throttling" {
			var apiErr interface{ ErrorMessage() string }
			if errors.As(err, &apiErr) && apiErr.ErrorMessage() != "Rate exceeded" {
				t.Errorf("message %q", apiErr.ErrorMessage())
			}
		}
	}
	if _, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatalf("the third request: %v", err)
	}

	// The SDK's retryer waits a throttled call out.
	h.sim.ThrottleNext(1)
	retrying := newClient(h.url, 3)
	if _, err := retrying.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatalf("with retries: %v", err)
	}
	var codes []string
	for _, r := range h.sim.Requests() {
		codes = append(codes, r.ErrorCode)
	}
	if want := []string{"Throttling", "Throttling", "", "Throttling", ""}; !slices.Equal(codes, want) {
		t.Errorf("answers %q, want %q", codes, want)
	}
}

func TestAccessDeniedForOneAction(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.sim.DenyAction("RestoreDBInstanceToPointInTime")
	_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("govuk-content-store"), TargetDBInstanceIdentifier: aws.String("target"),
		UseLatestRestorableTime: aws.Bool(true)})
	wantAPIError(t, err, "AccessDenied", 403)
	var apiErr interface{ ErrorMessage() string }
	errors.As(err, &apiErr)
	want := "User: arn:aws:iam::123456789012:user/trainee is not authorized to perform: rds:RestoreDBInstanceToPointInTime " +
		"on resource: arn:aws:rds:eu-west-1:123456789012:db:target"
	if got := apiErr.ErrorMessage(); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
	if _, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Errorf("another action was refused too: %v", err)
	}
	h.sim.AllowAction("RestoreDBInstanceToPointInTime")
	h.restoreLatest(t, "govuk-content-store", "target")
}

func TestExpiredTokenRefusesEverything(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "db"})
	h.sim.SetTokenExpired(true)
	_, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	wantAPIError(t, err, "ExpiredToken", 403)
	_, err = h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{})
	wantAPIError(t, err, "ExpiredToken", 403)
	var apiErr interface{ ErrorMessage() string }
	if errors.As(err, &apiErr); apiErr.ErrorMessage() != "The security token included in the request is expired" {
		t.Errorf("message %q", apiErr.ErrorMessage())
	}
	h.sim.SetTokenExpired(false)
	if _, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatal(err)
	}
}

func TestInstanceQuota(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.sim.SetInstanceQuota(2)
	h.restoreLatest(t, "govuk-content-store", "first")
	_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("govuk-content-store"), TargetDBInstanceIdentifier: aws.String("second"),
		UseLatestRestorableTime: aws.Bool(true)})
	var quota *types.InstanceQuotaExceededFault
	if !errors.As(err, &quota) {
		t.Fatalf("beyond the quota: %v, want InstanceQuotaExceededFault", err)
	}
	wantAPIError(t, err, "InstanceQuotaExceeded", 400)

	if _, err := h.sim.AddSnapshot(Snapshot{ID: "snap", InstanceID: "govuk-content-store"}); err != nil {
		t.Fatal(err)
	}
	h.sim.SetInstanceQuota(0)
	_, err = h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("snap"), DBInstanceIdentifier: aws.String("third")})
	wantAPIError(t, err, "InstanceQuotaExceeded", 400)
}

func TestRequestsRecordCredentialsHeaders(t *testing.T) {
	h := newHarness(t)
	temporary := rds.New(rds.Options{Region: "eu-west-1", BaseEndpoint: aws.String(h.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("ASIAEXAMPLE", "secret", "session-token")})
	if _, err := temporary.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	reqs := h.sim.Requests()
	if len(reqs) != 1 || !reqs[0].Authorization || !reqs[0].SecurityToken || reqs[0].Action != "DescribeDBInstances" ||
		reqs[0].Params.Get("Version") != "2014-10-31" {
		t.Fatalf("recorded %+v", reqs)
	}
	reqs[0].Params.Set("Action", "changed") // a copy: the log itself is untouched
	if h.sim.Requests()[0].Params.Get("Action") != "DescribeDBInstances" {
		t.Error("Requests returned the log itself, not a copy")
	}
}

// TestConcurrentUse is for the race detector: requests, seeding and faults
// from many goroutines at once.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := "target-" + string(rune('a'+i))
			_, _ = h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
				SourceDBInstanceIdentifier: aws.String("govuk-content-store"), TargetDBInstanceIdentifier: aws.String(target),
				UseLatestRestorableTime: aws.Bool(true)})
			for range 5 {
				h.clock.Advance(time.Second)
				_, _ = h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
				_, _ = h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{})
				h.sim.ThrottleNext(1)
				h.sim.DenyAction("DescribeEvents")
				h.sim.AllowAction("DescribeEvents")
				_ = h.sim.AddEvent(Event{SourceIdentifier: target, Message: "seeded"})
				_ = h.sim.Requests()
			}
		}()
	}
	wg.Wait()
	if n := len(h.sim.Requests()); n != 8*11 {
		t.Errorf("%d requests recorded, want %d", n, 8*11)
	}
}

func TestFailNextRestoreFailsOnlyTheNextOne(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	if err := h.sim.FailNextRestore(StatusIncompatibleParameters); err != nil {
		t.Fatal(err)
	}
	h.restoreLatest(t, "govuk-content-store", "first")
	h.restoreLatest(t, "govuk-content-store", "second")
	h.clock.Advance(time.Hour)
	if s := h.status(t, "first"); s != StatusIncompatibleParameters {
		t.Errorf("first: %s", s)
	}
	if s := h.status(t, "second"); s != "available" {
		t.Errorf("second: %s", s)
	}
	if err := h.sim.FailNextRestore("available"); err == nil {
		t.Error("FailNextRestore accepted a state that is not a failure")
	}
}
