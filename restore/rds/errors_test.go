package rds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"pgrescue/awsauth"
	"pgrescue/problem"
)

// TestEveryAWSAnswerHasItsKind: each answer AWS gives is one exit code, and
// the message names the call or the object and the next step.
func TestEveryAWSAnswerHasItsKind(t *testing.T) {
	c := &Client{region: "eu-west-1"}
	ctx := context.Background()
	k := call{"RestoreDBInstanceToPointInTime", "llm-restored"}
	for _, tc := range []struct {
		code string
		kind problem.Kind
		says string
	}{
		{"ExpiredToken", problem.AccessDenied, "session has expired"},
		{"ExpiredTokenException", problem.AccessDenied, "session has expired"},
		{"InvalidClientTokenId", problem.AccessDenied, "session has expired or the key is not valid"},
		{"AccessDenied", problem.AccessDenied, "rds:RestoreDBInstanceToPointInTime"},
		{"DBInstanceNotFound", problem.RDSNotFound, "llm-restored does not exist in region eu-west-1"},
		{"DBSnapshotNotFound", problem.RDSNotFound, "does not exist"},
		{"DBInstanceAutomatedBackupNotFoundFault", problem.RDSNotFound, "does not exist"},
		{"DBInstanceAlreadyExists", problem.NameTaken, "already exists"},
		{"InstanceQuotaExceeded", problem.QuotaExceeded, "quota"},
		{"StorageQuotaExceeded", problem.QuotaExceeded, "quota"},
		{"Throttling", problem.Throttled, "throttling"},
		{"InvalidRestoreFault", problem.OutsideWindow, "cannot restore"},
		{"InvalidParameterCombination", problem.RDSRefused, "refused"},
		{"InvalidDBInstanceState", problem.RDSRefused, "refused"},
	} {
		err := c.explain(ctx, &smithy.GenericAPIError{Code: tc.code, Message: "as AWS words it"}, k)
		if problem.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "Next:") {
			t.Errorf("%s: %v: %v", tc.code, problem.KindOf(err), err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.explain(cancelled, context.Canceled, k); !problem.Is(err, problem.Interrupted) {
		t.Errorf("cancelled: %v", err)
	}
	if err := c.explain(ctx, &awsauth.MissingError{Err: errors.New("no EC2 IMDS role found")}, k); !problem.Is(err, problem.AccessDenied) ||
		!strings.Contains(err.Error(), "no AWS credentials") {
		t.Errorf("no credentials: %v", err)
	}
}

func TestNamesFitAWSRules(t *testing.T) {
	now := time.Date(2026, 12, 4, 9, 5, 0, 0, time.UTC)
	long := strings.Repeat("a", 60)
	for _, name := range []string{DefaultName("local-links-manager-postgres", now), DefaultName(long, now), BeforeName(long, now),
		DefaultName(strings.Repeat("ab-", 20), now)} {
		if err := CheckIdentifier("--target-instance", name); err != nil || len(name) > 63 {
			t.Errorf("%q (%d): %v", name, len(name), err)
		}
	}
	if got := DefaultName("local-links-manager-postgres", now); got != "local-links-manager-postgres-restored-202612040905" {
		t.Errorf("DefaultName: %s", got)
	}
	for _, bad := range []string{"", "1db", "db-", "d--b", "d_b", strings.Repeat("a", 64)} {
		if err := CheckIdentifier("--target-instance", bad); !problem.Is(err, problem.Usage) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestWindowAndTimesInBothZones(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	summer := time.Date(2026, 7, 1, 13, 5, 0, 0, time.UTC)
	if got := Both(summer, london); got != "2026-07-01 14:05:00 BST (2026-07-01 13:05:00 UTC)" {
		t.Errorf("Both: %s", got)
	}
	if got := Both(summer, time.UTC); got != "2026-07-01 13:05:00 UTC" {
		t.Errorf("Both in UTC: %s", got)
	}
	w := Window{Earliest: summer.Add(-time.Hour), Latest: summer}
	if !w.Contains(summer) || !w.Contains(summer.Add(-time.Hour)) || w.Contains(summer.Add(time.Second)) {
		t.Error("Contains is not inclusive of both ends only")
	}
	p := &Plan{SourceID: "db", Window: &w, Time: summer.Add(time.Hour), Zone: london}
	err := p.checkTime(summer.Add(2 * time.Hour))
	if !problem.Is(err, problem.OutsideWindow) || !strings.Contains(err.Error(), "after the latest restorable time") ||
		!strings.Contains(err.Error(), "BST") || !strings.Contains(err.Error(), "UTC") {
		t.Errorf("after the window: %v", err)
	}
}

func TestRestoredFromTagIsReplacedNotRepeated(t *testing.T) {
	tags := withTag([]Tag{{"Name", "llm"}, {restoredFromTag, "snapshot a"}}, Tag{restoredFromTag, "snapshot b"})
	if len(tags) != 2 || tags[1] != (Tag{restoredFromTag, "snapshot b"}) || tags[0].Key != "Name" {
		t.Fatalf("%v", tags)
	}
}
