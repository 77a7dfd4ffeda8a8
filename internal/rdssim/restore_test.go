package rdssim

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

func (h *harness) restoreLatest(t *testing.T, source, target string) *types.DBInstance {
	t.Helper()
	out, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String(source), TargetDBInstanceIdentifier: aws.String(target),
		UseLatestRestorableTime: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("restore %s to %s: %v", source, target, err)
	}
	return out.DBInstance
}

func (h *harness) describe(t *testing.T, id string) types.DBInstance {
	t.Helper()
	out, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeDBInstances(%s): %v", id, err)
	}
	return out.DBInstances[0]
}

// eventMessages lists an instance's events of the last day, oldest first.
func (h *harness) eventMessages(t *testing.T, id string) []string {
	t.Helper()
	out, err := h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(id),
		SourceType: types.SourceTypeDbInstance, Duration: aws.Int32(24 * 60)})
	if err != nil {
		t.Fatalf("DescribeEvents(%s): %v", id, err)
	}
	var messages []string
	for _, e := range out.Events {
		messages = append(messages, aws.ToString(e.Message))
	}
	return messages
}

func TestRestoreGoesThroughItsStatesWithEvents(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	created := h.restoreLatest(t, "govuk-content-store", "govuk-content-store-restored")
	if got := aws.ToString(created.DBInstanceStatus); got != "creating" {
		t.Errorf("the restore answers with status %s, want creating", got)
	}
	if created.Endpoint != nil || created.InstanceCreateTime != nil {
		t.Errorf("a creating instance has an endpoint %v or a creation time %v; AWS gives neither", created.Endpoint, created.InstanceCreateTime)
	}
	if msgs := h.eventMessages(t, "govuk-content-store-restored"); len(msgs) != 0 {
		t.Errorf("events before creation ended: %v", msgs)
	}

	timeline := []struct {
		after  time.Duration
		status string
	}{
		{2 * time.Second, "creating"},
		{time.Second, "backing-up"}, // 3 s: creation ends
		{time.Second, "backing-up"},
		{time.Second, "available"}, // 5 s: the first backup ends
		{time.Hour, "available"},
	}
	for _, step := range timeline {
		h.clock.Advance(step.after)
		if got := h.status(t, "govuk-content-store-restored"); got != step.status {
			t.Fatalf("at %v: status %s, want %s", h.clock.Now().Sub(start), got, step.status)
		}
	}

	d := h.describe(t, "govuk-content-store-restored")
	if d.Endpoint == nil || aws.ToString(d.Endpoint.Address) != "govuk-content-store-restored.abcdefghijkl.eu-west-1.rds.amazonaws.com" {
		t.Errorf("endpoint %+v", d.Endpoint)
	}
	if got := aws.ToTime(d.InstanceCreateTime); !got.Equal(start.Add(3 * time.Second)) {
		t.Errorf("created at %v, want when creation ended", got)
	}
	if got := aws.ToTime(d.LatestRestorableTime); !got.Equal(h.clock.Now().Add(-5 * time.Minute)) {
		t.Errorf("LatestRestorableTime %v, want five minutes ago", got)
	}
	want := []string{
		"DB instance created",
		"Restored from DB instance govuk-content-store to 2024-05-01 11:55:00",
		"Backing up DB instance",
		"Finished DB Instance backup",
	}
	if got := h.eventMessages(t, "govuk-content-store-restored"); !slices.Equal(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}

func TestRestoreEventDatesMarkEachPhase(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.restoreLatest(t, "govuk-content-store", "target")
	h.clock.Advance(time.Minute)
	out, err := h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String("target"), SourceType: types.SourceTypeDbInstance})
	if err != nil {
		t.Fatal(err)
	}
	dates := map[string]time.Time{}
	categories := map[string]string{}
	for _, e := range out.Events {
		dates[aws.ToString(e.Message)] = aws.ToTime(e.Date)
		if aws.ToString(e.SourceArn) != "arn:aws:rds:eu-west-1:123456789012:db:target" || len(e.EventCategories) != 1 ||
			e.SourceType != types.SourceTypeDbInstance {
			t.Errorf("event %+v", e)
		} else {
			categories[aws.ToString(e.Message)] = e.EventCategories[0]
		}
	}
	wantCategories := map[string]string{
		"DB instance created":    "creation",
		"Backing up DB instance": "backup", "Finished DB Instance backup": "backup",
		"Restored from DB instance govuk-content-store to 2024-05-01 11:55:00": "restoration",
	}
	if !maps.Equal(categories, wantCategories) {
		t.Errorf("categories %v, want %v", categories, wantCategories)
	}
	if got := dates["DB instance created"]; !got.Equal(start.Add(3 * time.Second)) {
		t.Errorf("created at %v", got)
	}
	if got := dates["Finished DB Instance backup"]; !got.Equal(start.Add(5 * time.Second)) {
		t.Errorf("backup finished at %v", got)
	}
}

func TestRestoreAppliesAWSDefaultsNotTheSource(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.restoreLatest(t, "govuk-content-store", "bare")
	h.clock.Advance(time.Minute)
	d := h.describe(t, "bare")
	checks := []struct {
		field     string
		got, want any
	}{
		// What a restore takes from its source: data, engine, storage.
		{"DBInstanceClass", aws.ToString(d.DBInstanceClass), "db.m6g.large"},
		{"StorageType", aws.ToString(d.StorageType), "io1"},
		{"Iops", aws.ToInt32(d.Iops), int32(4000)},
		{"EngineVersion", aws.ToString(d.EngineVersion), "14.11"},
		{"AllocatedStorage", aws.ToInt32(d.AllocatedStorage), int32(200)},
		{"StorageEncrypted", aws.ToBool(d.StorageEncrypted), true},
		{"KmsKeyId", aws.ToString(d.KmsKeyId), "arn:aws:kms:eu-west-1:123456789012:key/prod-key"},
		{"MasterUsername", aws.ToString(d.MasterUsername), "aws_db_admin"},
		{"BackupRetentionPeriod", aws.ToInt32(d.BackupRetentionPeriod), int32(7)},
		// What it does not: AWS's defaults.
		{"DBSubnetGroup", aws.ToString(d.DBSubnetGroup.DBSubnetGroupName), "default"},
		{"VpcId", aws.ToString(d.DBSubnetGroup.VpcId), "vpc-default0"},
		{"VpcSecurityGroups", securityGroupIDs(d.VpcSecurityGroups), []string{"sg-default0"}},
		{"DBParameterGroup", aws.ToString(d.DBParameterGroups[0].DBParameterGroupName), "default.postgres14"},
		{"OptionGroup", aws.ToString(d.OptionGroupMemberships[0].OptionGroupName), "default:postgres-14"},
		{"MultiAZ", aws.ToBool(d.MultiAZ), false},
		{"Port", aws.ToInt32(d.Endpoint.Port), int32(5432)},
		{"DeletionProtection", aws.ToBool(d.DeletionProtection), false},
		{"CopyTagsToSnapshot", aws.ToBool(d.CopyTagsToSnapshot), false},
		{"IAMDatabaseAuthenticationEnabled", aws.ToBool(d.IAMDatabaseAuthenticationEnabled), false},
		{"TagList", len(d.TagList), 0},
		{"MonitoringInterval", aws.ToInt32(d.MonitoringInterval), int32(0)},
		{"MonitoringRoleArn", aws.ToString(d.MonitoringRoleArn), ""},
		{"PerformanceInsightsEnabled", aws.ToBool(d.PerformanceInsightsEnabled), false},
		{"MaxAllocatedStorage", d.MaxAllocatedStorage, (*int32)(nil)},
		{"CACertificateIdentifier", aws.ToString(d.CACertificateIdentifier), "rds-ca-rsa2048-g1"},
		{"AvailabilityZone", aws.ToString(d.AvailabilityZone), "eu-west-1b"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if aws.ToString(d.DbiResourceId) == "db-PRODRESOURCEID0123456789" {
		t.Error("the restored instance shares its source's DbiResourceId")
	}
}

func TestRestoreCopiesWhatItIsGiven(t *testing.T) {
	h := newHarness(t)
	src := production()
	h.mustAddInstance(t, src)
	_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String(src.ID), TargetDBInstanceIdentifier: aws.String("copied"),
		RestoreTime:       aws.Time(start.Add(-time.Hour)),
		DBSubnetGroupName: aws.String(src.SubnetGroup), VpcSecurityGroupIds: src.SecurityGroups,
		DBParameterGroupName: aws.String(src.ParameterGroup), OptionGroupName: aws.String(src.OptionGroup),
		DBInstanceClass: aws.String("db.r6g.xlarge"), StorageType: aws.String("gp3"), Iops: aws.Int32(12000),
		StorageThroughput: aws.Int32(500), MultiAZ: aws.Bool(true), Port: aws.Int32(5433),
		PubliclyAccessible: aws.Bool(true), DeletionProtection: aws.Bool(true), CopyTagsToSnapshot: aws.Bool(true),
		EnableIAMDatabaseAuthentication: aws.Bool(true), MaxAllocatedStorage: aws.Int32(2000),
		CACertificateIdentifier: aws.String("rds-ca-ecc384-g1"), BackupRetentionPeriod: aws.Int32(14),
		Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("copied")}, {Key: aws.String("project"), Value: aws.String("govuk")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	d := h.describe(t, "copied")
	checks := []struct {
		field     string
		got, want any
	}{
		{"DBSubnetGroup", aws.ToString(d.DBSubnetGroup.DBSubnetGroupName), "govuk-rds-subnet"},
		{"VpcId", aws.ToString(d.DBSubnetGroup.VpcId), "vpc-0prod"},
		{"VpcSecurityGroups", securityGroupIDs(d.VpcSecurityGroups), []string{"sg-0aaa", "sg-0bbb"}},
		{"DBParameterGroup", aws.ToString(d.DBParameterGroups[0].DBParameterGroupName), "govuk-postgres14"},
		{"OptionGroup", aws.ToString(d.OptionGroupMemberships[0].OptionGroupName), "govuk-options"},
		{"DBInstanceClass", aws.ToString(d.DBInstanceClass), "db.r6g.xlarge"},
		{"StorageType", aws.ToString(d.StorageType), "gp3"},
		{"Iops", aws.ToInt32(d.Iops), int32(12000)},
		{"StorageThroughput", aws.ToInt32(d.StorageThroughput), int32(500)},
		{"MultiAZ", aws.ToBool(d.MultiAZ), true},
		{"Port", aws.ToInt32(d.Endpoint.Port), int32(5433)},
		{"PubliclyAccessible", aws.ToBool(d.PubliclyAccessible), true},
		{"DeletionProtection", aws.ToBool(d.DeletionProtection), true},
		{"CopyTagsToSnapshot", aws.ToBool(d.CopyTagsToSnapshot), true},
		{"IAMDatabaseAuthenticationEnabled", aws.ToBool(d.IAMDatabaseAuthenticationEnabled), true},
		{"MaxAllocatedStorage", aws.ToInt32(d.MaxAllocatedStorage), int32(2000)},
		{"CACertificateIdentifier", aws.ToString(d.CACertificateIdentifier), "rds-ca-ecc384-g1"},
		{"BackupRetentionPeriod", aws.ToInt32(d.BackupRetentionPeriod), int32(14)},
		{"TagList", tagsOf(d.TagList), []Tag{{"Name", "copied"}, {"project", "govuk"}}},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if got := h.eventMessages(t, "copied"); !slices.Contains(got, "Restored from DB instance govuk-content-store to 2024-05-01 11:00:00") {
		t.Errorf("events %q lack the restore time", got)
	}
	// The request is recorded as sent, signed by the SDK.
	reqs := h.sim.Requests()
	last := reqs[slices.IndexFunc(reqs, func(r Request) bool { return r.Action == "RestoreDBInstanceToPointInTime" })]
	if last.Action != "RestoreDBInstanceToPointInTime" || last.Params.Get("VpcSecurityGroupIds.VpcSecurityGroupId.2") != "sg-0bbb" ||
		last.Params.Get("Tags.Tag.2.Key") != "project" || !last.Authorization || last.SecurityToken || last.Status != 200 {
		t.Errorf("recorded %+v", last)
	}
}

func TestRestoreWindow(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production()) // window: 7 days ago to 5 minutes ago
	for _, c := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"the earliest time", start.Add(-7 * 24 * time.Hour), true},
		{"the latest time", start.Add(-5 * time.Minute), true},
		{"before the window", start.Add(-7*24*time.Hour - time.Second), false},
		{"after the window", start.Add(-4 * time.Minute), false},
	} {
		_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
			SourceDBInstanceIdentifier: aws.String("govuk-content-store"),
			TargetDBInstanceIdentifier: aws.String("t-" + strings.ReplaceAll(c.name, " ", "-")), RestoreTime: aws.Time(c.at)})
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var invalid *types.InvalidRestoreFault
		if !errors.As(err, &invalid) {
			t.Errorf("%s: got %v, want InvalidRestoreFault", c.name, err)
			continue
		}
		wantAPIError(t, err, "InvalidRestoreFault", 400)
		if msg := invalid.ErrorMessage(); !strings.Contains(msg, "2024-04-24T12:00:00Z to 2024-05-01T11:55:00Z") {
			t.Errorf("%s: message %q does not name the window", c.name, msg)
		}
	}
}

func TestRestoreRefusesBadRequests(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.mustAddInstance(t, Instance{ID: "taken"})
	h.mustAddInstance(t, Instance{ID: "no-backups"})
	pitr := func(mod func(*rds.RestoreDBInstanceToPointInTimeInput)) error {
		in := &rds.RestoreDBInstanceToPointInTimeInput{SourceDBInstanceIdentifier: aws.String("govuk-content-store"),
			TargetDBInstanceIdentifier: aws.String("target"), UseLatestRestorableTime: aws.Bool(true)}
		mod(in)
		_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, in)
		return err
	}
	cases := []struct {
		name   string
		mod    func(*rds.RestoreDBInstanceToPointInTimeInput)
		code   string
		status int
	}{
		{"both times", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.RestoreTime = aws.Time(start.Add(-time.Hour)) },
			"InvalidParameterCombination", 400},
		{"no time", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.UseLatestRestorableTime = nil },
			"InvalidParameterCombination", 400},
		{"UseLatestRestorableTime false and no time", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.UseLatestRestorableTime = aws.Bool(false) },
			"InvalidParameterCombination", 400},
		{"target taken", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("Taken") },
			"DBInstanceAlreadyExists", 400},
		{"target starts with a digit", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("1db") },
			"InvalidParameterValue", 400},
		{"target with two hyphens", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("a--b") },
			"InvalidParameterValue", 400},
		{"target ending in a hyphen", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("ab-") },
			"InvalidParameterValue", 400},
		{"target too long", func(in *rds.RestoreDBInstanceToPointInTimeInput) {
			in.TargetDBInstanceIdentifier = aws.String(strings.Repeat("a", 64))
		},
			"InvalidParameterValue", 400},
		{"target with an underscore", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("a_b") },
			"InvalidParameterValue", 400},
		{"unknown source", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.SourceDBInstanceIdentifier = aws.String("nope") },
			"DBInstanceNotFound", 404},
		{"no source", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.SourceDBInstanceIdentifier = nil },
			"InvalidParameterCombination", 400},
		{"two sources", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.SourceDbiResourceId = aws.String("db-X") },
			"InvalidParameterCombination", 400},
		{"unknown backup ARN", func(in *rds.RestoreDBInstanceToPointInTimeInput) {
			in.SourceDBInstanceIdentifier = nil
			in.SourceDBInstanceAutomatedBackupsArn = aws.String("arn:aws:rds:eu-west-1:123456789012:auto-backup:ab-nope")
		}, "DBInstanceAutomatedBackupNotFound", 404},
		{"backups off", func(in *rds.RestoreDBInstanceToPointInTimeInput) {
			in.SourceDBInstanceIdentifier = aws.String("no-backups")
		},
			"PointInTimeRestoreNotEnabled", 400},
		{"unknown subnet group", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.DBSubnetGroupName = aws.String("typo") },
			"DBSubnetGroupNotFoundFault", 404},
		{"unknown parameter group", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.DBParameterGroupName = aws.String("typo") },
			"DBParameterGroupNotFound", 404},
		{"unknown option group", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.OptionGroupName = aws.String("typo") },
			"OptionGroupNotFoundFault", 404},
		{"zone with Multi-AZ", func(in *rds.RestoreDBInstanceToPointInTimeInput) {
			in.MultiAZ, in.AvailabilityZone = aws.Bool(true), aws.String("eu-west-1a")
		}, "InvalidParameterCombination", 400},
		{"bad storage type", func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.StorageType = aws.String("ssd") },
			"InvalidParameterValue", 400},
		{"reserved tag", func(in *rds.RestoreDBInstanceToPointInTimeInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:cloudformation:stack"), Value: aws.String("x")}}
		}, "InvalidParameterValue", 400},
	}
	for _, c := range cases {
		code, status := apiErrorOf(t, pitr(c.mod))
		if code != c.code || status != c.status {
			t.Errorf("%s: got %s (HTTP %d), want %s (HTTP %d)", c.name, code, status, c.code, c.status)
		}
	}
	var exists *types.DBInstanceAlreadyExistsFault
	if err := pitr(func(in *rds.RestoreDBInstanceToPointInTimeInput) { in.TargetDBInstanceIdentifier = aws.String("taken") }); !errors.As(err, &exists) {
		t.Errorf("existing target: %v, want DBInstanceAlreadyExistsFault", err)
	}
	var notEnabled *types.PointInTimeRestoreNotEnabledFault
	if err := pitr(func(in *rds.RestoreDBInstanceToPointInTimeInput) {
		in.SourceDBInstanceIdentifier = aws.String("no-backups")
	}); !errors.As(err, &notEnabled) {
		t.Errorf("backups off: %v, want PointInTimeRestoreNotEnabledFault", err)
	}
	var noBackup *types.DBInstanceAutomatedBackupNotFoundFault
	if err := pitr(func(in *rds.RestoreDBInstanceToPointInTimeInput) {
		in.SourceDBInstanceIdentifier, in.SourceDbiResourceId = nil, aws.String("db-NOPE")
	}); !errors.As(err, &noBackup) {
		t.Errorf("unknown resource id: %v, want DBInstanceAutomatedBackupNotFoundFault", err)
	}
	if _, ok := h.sim.instances["target"]; ok {
		t.Error("a refused restore created its target")
	}
}

func TestRestoreFromRetainedBackupAndResourceID(t *testing.T) {
	h := newHarness(t)
	arn, err := h.sim.AddRetainedBackup(RetainedBackup{InstanceID: "deleted-db", DbiResourceID: "db-DELETED",
		Earliest: start.Add(-72 * time.Hour), Latest: start.Add(-48 * time.Hour), EngineVersion: "13.4"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceAutomatedBackupsArn: aws.String(arn), TargetDBInstanceIdentifier: aws.String("revived"),
		RestoreTime: aws.Time(start.Add(-60 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDbiResourceId: aws.String("db-DELETED"), TargetDBInstanceIdentifier: aws.String("revived-latest"),
		UseLatestRestorableTime: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceAutomatedBackupsArn: aws.String(arn), TargetDBInstanceIdentifier: aws.String("too-late"),
		RestoreTime: aws.Time(start.Add(-time.Hour))})
	wantAPIError(t, err, "InvalidRestoreFault", 400)

	h.clock.Advance(time.Minute)
	d := h.describe(t, "revived")
	if aws.ToString(d.EngineVersion) != "13.4" || aws.ToString(d.DBParameterGroups[0].DBParameterGroupName) != "default.postgres13" {
		t.Errorf("revived %s with %s", aws.ToString(d.EngineVersion), aws.ToString(d.DBParameterGroups[0].DBParameterGroupName))
	}
	if got := h.eventMessages(t, "revived-latest"); !slices.Contains(got, "Restored from DB instance deleted-db to 2024-04-29 12:00:00") {
		t.Errorf("events %q", got)
	}
}

func TestRestoreFromSnapshot(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	if _, err := h.sim.AddSnapshot(Snapshot{ID: "nightly", InstanceID: "govuk-content-store"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.AddSnapshot(Snapshot{ID: "unfinished", InstanceID: "govuk-content-store", Status: "creating"}); err != nil {
		t.Fatal(err)
	}
	out, err := h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("arn:aws:rds:eu-west-1:123456789012:snapshot:nightly"),
		DBInstanceIdentifier: aws.String("from-nightly"), DBSubnetGroupName: aws.String("govuk-rds-subnet"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.DBInstance.DBInstanceStatus) != "creating" {
		t.Errorf("status %s", aws.ToString(out.DBInstance.DBInstanceStatus))
	}
	h.clock.Advance(10 * time.Second)
	d := h.describe(t, "from-nightly")
	if aws.ToString(d.DBInstanceStatus) != "available" || aws.ToString(d.DBInstanceClass) != "db.m6g.large" ||
		aws.ToString(d.DBSubnetGroup.VpcId) != "vpc-0prod" || aws.ToString(d.DBParameterGroups[0].DBParameterGroupName) != "default.postgres14" {
		t.Errorf("restored %+v", d)
	}
	if got := h.eventMessages(t, "from-nightly"); !slices.Contains(got, "Restored from snapshot nightly") {
		t.Errorf("events %q", got)
	}

	_, err = h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("nope"), DBInstanceIdentifier: aws.String("x")})
	var notFound *types.DBSnapshotNotFoundFault
	if !errors.As(err, &notFound) {
		t.Errorf("unknown snapshot: %v", err)
	}
	_, err = h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("unfinished"), DBInstanceIdentifier: aws.String("x")})
	wantAPIError(t, err, "InvalidDBSnapshotState", 400)
	_, err = h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("nightly"), DBInstanceIdentifier: aws.String("from-nightly")})
	var exists *types.DBInstanceAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("taken target: %v", err)
	}
	_, err = h.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBSnapshotIdentifier: aws.String("nightly"), DBInstanceIdentifier: aws.String("-bad")})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

func TestRestoreOfARestoreWaitsForItsFirstBackup(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.restoreLatest(t, "govuk-content-store", "first")
	_, err := h.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("first"), TargetDBInstanceIdentifier: aws.String("second"),
		UseLatestRestorableTime: aws.Bool(true)})
	wantAPIError(t, err, "InvalidDBInstanceState", 400)
	h.clock.Advance(time.Minute)
	h.restoreLatest(t, "first", "second")
}
