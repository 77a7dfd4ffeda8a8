package rdssim

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

func (h *harness) rename(t *testing.T, from, to string, immediately bool) *types.DBInstance {
	t.Helper()
	out, err := h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(from),
		NewDBInstanceIdentifier: aws.String(to), ApplyImmediately: aws.Bool(immediately)})
	if err != nil {
		t.Fatalf("rename %s to %s: %v", from, to, err)
	}
	return out.DBInstance
}

func TestRenameMovesTheNameAndTheEndpoint(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.mustAddInstance(t, Instance{ID: "other", BackupRetentionPeriod: 1})
	old := h.describe(t, "govuk-content-store")

	got := h.rename(t, "govuk-content-store", "govuk-content-store-old", true)
	if aws.ToString(got.DBInstanceStatus) != "renaming" ||
		aws.ToString(got.PendingModifiedValues.DBInstanceIdentifier) != "govuk-content-store-old" {
		t.Errorf("the rename answers %s, pending %+v", aws.ToString(got.DBInstanceStatus), got.PendingModifiedValues)
	}
	// First the old name answers, renaming; the new one does not exist yet.
	if s := h.status(t, "govuk-content-store"); s != "renaming" {
		t.Errorf("old name: %s", s)
	}
	_, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("govuk-content-store-old")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)

	h.clock.Advance(time.Second) // the identifier switches half-way
	_, err = h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("govuk-content-store")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)
	renamed := h.describe(t, "govuk-content-store-old")
	if aws.ToString(renamed.DBInstanceStatus) != "renaming" {
		t.Errorf("new name: %s", aws.ToString(renamed.DBInstanceStatus))
	}
	if a := aws.ToString(renamed.Endpoint.Address); a != "govuk-content-store-old.abcdefghijkl.eu-west-1.rds.amazonaws.com" {
		t.Errorf("endpoint %s", a)
	}
	if aws.ToString(renamed.DBInstanceArn) != "arn:aws:rds:eu-west-1:123456789012:db:govuk-content-store-old" {
		t.Errorf("ARN %s", aws.ToString(renamed.DBInstanceArn))
	}
	// The instance keeps its data: same resource, same creation, same backups.
	if aws.ToString(renamed.DbiResourceId) != aws.ToString(old.DbiResourceId) ||
		!aws.ToTime(renamed.InstanceCreateTime).Equal(aws.ToTime(old.InstanceCreateTime)) {
		t.Errorf("the rename lost the instance's identity")
	}
	backups, err := h.rds.DescribeDBInstanceAutomatedBackups(ctx, &rds.DescribeDBInstanceAutomatedBackupsInput{
		DbiResourceId: old.DbiResourceId})
	if err != nil || aws.ToString(backups.DBInstanceAutomatedBackups[0].DBInstanceIdentifier) != "govuk-content-store-old" {
		t.Errorf("automated backup after the rename: %v, %v", backups, err)
	}

	h.clock.Advance(time.Second)
	if s := h.status(t, "govuk-content-store-old"); s != "available" {
		t.Errorf("after the rename: %s", s)
	}
	want := []string{"Renamed instance from govuk-content-store to govuk-content-store-old", "DB instance restarted"}
	if got := h.eventMessages(t, "govuk-content-store-old"); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}

	// The freed name can be restored into: the cut-over.
	h.restoreLatest(t, "govuk-content-store-old", "govuk-content-store")
}

func TestRenameRefusals(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "a"})
	h.mustAddInstance(t, Instance{ID: "b"})
	_, err := h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("a"),
		NewDBInstanceIdentifier: aws.String("b"), ApplyImmediately: aws.Bool(true)})
	var exists *types.DBInstanceAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("rename to a taken name: %v", err)
	}
	_, err = h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("a"),
		NewDBInstanceIdentifier: aws.String("b_"), ApplyImmediately: aws.Bool(true)})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	_, err = h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("nope"),
		NewDBInstanceIdentifier: aws.String("c"), ApplyImmediately: aws.Bool(true)})
	var notFound *types.DBInstanceNotFoundFault
	if !errors.As(err, &notFound) {
		t.Errorf("rename of an unknown instance: %v", err)
	}

	h.rename(t, "a", "c", true)
	_, err = h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("b"),
		NewDBInstanceIdentifier: aws.String("c"), ApplyImmediately: aws.Bool(true)})
	if !errors.As(err, &exists) {
		t.Errorf("rename to a name another rename is taking: %v", err)
	}
	_, err = h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("a"),
		MonitoringInterval: aws.Int32(0), ApplyImmediately: aws.Bool(true)})
	var invalidState *types.InvalidDBInstanceStateFault
	if !errors.As(err, &invalidState) {
		t.Errorf("modifying an instance being renamed: %v", err)
	}
}

func TestRenameWithoutApplyImmediatelyWaits(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "a"})
	got := h.rename(t, "a", "b", false)
	if aws.ToString(got.DBInstanceStatus) != "available" || aws.ToString(got.PendingModifiedValues.DBInstanceIdentifier) != "b" {
		t.Errorf("status %s, pending %+v", aws.ToString(got.DBInstanceStatus), got.PendingModifiedValues)
	}
	h.clock.Advance(time.Hour)
	if s := h.status(t, "a"); s != "available" {
		t.Errorf("status %s", s)
	}
	_, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("b")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)
}

func TestModifyAppliesMonitoringInsightsAndGroups(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.mustAddInstance(t, Instance{ID: "restored", BackupRetentionPeriod: 1})
	out, err := h.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String("restored"), ApplyImmediately: aws.Bool(true),
		MonitoringInterval: aws.Int32(60), MonitoringRoleArn: aws.String("arn:aws:iam::123456789012:role/rds-monitoring"),
		EnablePerformanceInsights: aws.Bool(true), PerformanceInsightsRetentionPeriod: aws.Int32(31),
		PerformanceInsightsKMSKeyId: aws.String("arn:aws:kms:eu-west-1:123456789012:key/pi-key"),
		BackupRetentionPeriod:       aws.Int32(7), DBParameterGroupName: aws.String("govuk-postgres14"),
		VpcSecurityGroupIds: []string{"sg-0aaa", "sg-0bbb"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := *out.DBInstance
	if aws.ToString(d.DBInstanceStatus) != "modifying" || aws.ToString(d.DBParameterGroups[0].ParameterApplyStatus) != "applying" {
		t.Errorf("status %s, parameters %s", aws.ToString(d.DBInstanceStatus), aws.ToString(d.DBParameterGroups[0].ParameterApplyStatus))
	}
	h.clock.Advance(2 * time.Second)
	d = h.describe(t, "restored")
	checks := []struct {
		field     string
		got, want any
	}{
		{"DBInstanceStatus", aws.ToString(d.DBInstanceStatus), "available"},
		{"ParameterApplyStatus", aws.ToString(d.DBParameterGroups[0].ParameterApplyStatus), "in-sync"},
		{"DBParameterGroupName", aws.ToString(d.DBParameterGroups[0].DBParameterGroupName), "govuk-postgres14"},
		{"MonitoringInterval", aws.ToInt32(d.MonitoringInterval), int32(60)},
		{"MonitoringRoleArn", aws.ToString(d.MonitoringRoleArn), "arn:aws:iam::123456789012:role/rds-monitoring"},
		{"PerformanceInsightsEnabled", aws.ToBool(d.PerformanceInsightsEnabled), true},
		{"PerformanceInsightsKMSKeyId", aws.ToString(d.PerformanceInsightsKMSKeyId), "arn:aws:kms:eu-west-1:123456789012:key/pi-key"},
		{"PerformanceInsightsRetentionPeriod", aws.ToInt32(d.PerformanceInsightsRetentionPeriod), int32(31)},
		{"BackupRetentionPeriod", aws.ToInt32(d.BackupRetentionPeriod), int32(7)},
		{"VpcSecurityGroups", securityGroupIDs(d.VpcSecurityGroups), []string{"sg-0aaa", "sg-0bbb"}},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	want := []string{"Updated to use DBParameterGroup govuk-postgres14", "Monitoring Interval changed to 60"}
	if got := h.eventMessages(t, "restored"); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestModifyRefusesWhatAWSRefuses(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "db"})
	cases := []struct {
		name string
		in   rds.ModifyDBInstanceInput
		code string
	}{
		{"monitoring without a role", rds.ModifyDBInstanceInput{MonitoringInterval: aws.Int32(60)}, "InvalidParameterCombination"},
		{"an interval AWS does not offer", rds.ModifyDBInstanceInput{MonitoringInterval: aws.Int32(7),
			MonitoringRoleArn: aws.String("arn:aws:iam::123456789012:role/r")}, "InvalidParameterValue"},
		{"a Performance Insights retention AWS does not offer", rds.ModifyDBInstanceInput{EnablePerformanceInsights: aws.Bool(true),
			PerformanceInsightsRetentionPeriod: aws.Int32(30)}, "InvalidParameterValue"},
		{"an unknown parameter group", rds.ModifyDBInstanceInput{DBParameterGroupName: aws.String("typo")}, "DBParameterGroupNotFound"},
		{"a retention beyond 35 days", rds.ModifyDBInstanceInput{BackupRetentionPeriod: aws.Int32(36)}, "InvalidParameterValue"},
	}
	for _, c := range cases {
		c.in.DBInstanceIdentifier, c.in.ApplyImmediately = aws.String("db"), aws.Bool(true)
		_, err := h.rds.ModifyDBInstance(ctx, &c.in)
		if code, _ := apiErrorOf(t, err); code != c.code {
			t.Errorf("%s: %s, want %s", c.name, code, c.code)
		}
	}
	if s := h.status(t, "db"); s != "available" {
		t.Errorf("a refused modification left the instance %s", s)
	}
}
