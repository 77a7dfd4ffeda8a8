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

// production is an instance with every setting the engine reads set to
// something other than its default.
func production() Instance {
	return Instance{
		ID: "govuk-content-store", Class: "db.m6g.large", Engine: "postgres", EngineVersion: "14.11",
		MasterUsername: "aws_db_admin", DBName: "content_store", Port: 5433, AllocatedStorage: 200,
		MaxAllocatedStorage: 1000, StorageType: "io1", Iops: 4000, StorageEncrypted: true,
		KmsKeyID: "arn:aws:kms:eu-west-1:123456789012:key/prod-key", MultiAZ: true, PubliclyAccessible: false,
		AvailabilityZone: "eu-west-1c", SubnetGroup: "govuk-rds-subnet", VpcID: "vpc-0prod",
		SecurityGroups: []string{"sg-0aaa", "sg-0bbb"}, ParameterGroup: "govuk-postgres14", OptionGroup: "govuk-options",
		BackupRetentionPeriod: 7, PreferredBackupWindow: "01:00-03:00", Created: start.Add(-400 * 24 * time.Hour),
		DbiResourceID: "db-PRODRESOURCEID0123456789", DeletionProtection: true, CopyTagsToSnapshot: true,
		IAMDatabaseAuthentication: true, MonitoringInterval: 60,
		MonitoringRoleARN: "arn:aws:iam::123456789012:role/rds-monitoring", PerformanceInsights: true,
		PerformanceInsightsKMSKeyID: "arn:aws:kms:eu-west-1:123456789012:key/pi-key", PerformanceInsightsRetentionPeriod: 31,
		CACertificate: "rds-ca-ecc384-g1", Tags: []Tag{{"Name", "content-store-postgres"}, {"project", "govuk"}},
	}
}

func TestDescribeDBInstancesParsesEveryField(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	out, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("govuk-content-store")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBInstances) != 1 {
		t.Fatalf("got %d instances", len(out.DBInstances))
	}
	d := out.DBInstances[0]
	checks := []struct {
		field     string
		got, want any
	}{
		{"DBInstanceIdentifier", aws.ToString(d.DBInstanceIdentifier), "govuk-content-store"},
		{"DBInstanceClass", aws.ToString(d.DBInstanceClass), "db.m6g.large"},
		{"Engine", aws.ToString(d.Engine), "postgres"},
		{"EngineVersion", aws.ToString(d.EngineVersion), "14.11"},
		{"DBInstanceStatus", aws.ToString(d.DBInstanceStatus), "available"},
		{"MasterUsername", aws.ToString(d.MasterUsername), "aws_db_admin"},
		{"DBName", aws.ToString(d.DBName), "content_store"},
		{"Endpoint.Address", aws.ToString(d.Endpoint.Address), "govuk-content-store.abcdefghijkl.eu-west-1.rds.amazonaws.com"},
		{"Endpoint.Port", aws.ToInt32(d.Endpoint.Port), int32(5433)},
		{"Endpoint.HostedZoneId", aws.ToString(d.Endpoint.HostedZoneId), "Z29XKXDKYMONMX"},
		{"AllocatedStorage", aws.ToInt32(d.AllocatedStorage), int32(200)},
		{"InstanceCreateTime", aws.ToTime(d.InstanceCreateTime), start.Add(-400 * 24 * time.Hour)},
		{"PreferredBackupWindow", aws.ToString(d.PreferredBackupWindow), "01:00-03:00"},
		{"BackupRetentionPeriod", aws.ToInt32(d.BackupRetentionPeriod), int32(7)},
		{"VpcSecurityGroups", securityGroupIDs(d.VpcSecurityGroups), []string{"sg-0aaa", "sg-0bbb"}},
		{"VpcSecurityGroups.Status", aws.ToString(d.VpcSecurityGroups[0].Status), "active"},
		{"DBParameterGroups", aws.ToString(d.DBParameterGroups[0].DBParameterGroupName), "govuk-postgres14"},
		{"ParameterApplyStatus", aws.ToString(d.DBParameterGroups[0].ParameterApplyStatus), "in-sync"},
		{"AvailabilityZone", aws.ToString(d.AvailabilityZone), "eu-west-1c"},
		{"DBSubnetGroupName", aws.ToString(d.DBSubnetGroup.DBSubnetGroupName), "govuk-rds-subnet"},
		{"VpcId", aws.ToString(d.DBSubnetGroup.VpcId), "vpc-0prod"},
		{"SubnetGroupStatus", aws.ToString(d.DBSubnetGroup.SubnetGroupStatus), "Complete"},
		{"LatestRestorableTime", aws.ToTime(d.LatestRestorableTime), start.Add(-5 * time.Minute)},
		{"MultiAZ", aws.ToBool(d.MultiAZ), true},
		{"PubliclyAccessible", aws.ToBool(d.PubliclyAccessible), false},
		{"StorageType", aws.ToString(d.StorageType), "io1"},
		{"Iops", aws.ToInt32(d.Iops), int32(4000)},
		{"StorageThroughput", d.StorageThroughput, (*int32)(nil)},
		{"StorageEncrypted", aws.ToBool(d.StorageEncrypted), true},
		{"KmsKeyId", aws.ToString(d.KmsKeyId), "arn:aws:kms:eu-west-1:123456789012:key/prod-key"},
		{"DbiResourceId", aws.ToString(d.DbiResourceId), "db-PRODRESOURCEID0123456789"},
		{"DBInstanceArn", aws.ToString(d.DBInstanceArn), "arn:aws:rds:eu-west-1:123456789012:db:govuk-content-store"},
		{"DeletionProtection", aws.ToBool(d.DeletionProtection), true},
		{"CopyTagsToSnapshot", aws.ToBool(d.CopyTagsToSnapshot), true},
		{"IAMDatabaseAuthenticationEnabled", aws.ToBool(d.IAMDatabaseAuthenticationEnabled), true},
		{"MonitoringInterval", aws.ToInt32(d.MonitoringInterval), int32(60)},
		{"MonitoringRoleArn", aws.ToString(d.MonitoringRoleArn), "arn:aws:iam::123456789012:role/rds-monitoring"},
		{"PerformanceInsightsEnabled", aws.ToBool(d.PerformanceInsightsEnabled), true},
		{"PerformanceInsightsKMSKeyId", aws.ToString(d.PerformanceInsightsKMSKeyId), "arn:aws:kms:eu-west-1:123456789012:key/pi-key"},
		{"PerformanceInsightsRetentionPeriod", aws.ToInt32(d.PerformanceInsightsRetentionPeriod), int32(31)},
		{"OptionGroupMemberships", aws.ToString(d.OptionGroupMemberships[0].OptionGroupName), "govuk-options"},
		{"OptionGroupMembership.Status", aws.ToString(d.OptionGroupMemberships[0].Status), "in-sync"},
		{"TagList", tagsOf(d.TagList), []Tag{{"Name", "content-store-postgres"}, {"project", "govuk"}}},
		{"MaxAllocatedStorage", aws.ToInt32(d.MaxAllocatedStorage), int32(1000)},
		{"CACertificateIdentifier", aws.ToString(d.CACertificateIdentifier), "rds-ca-ecc384-g1"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case []Tag:
		return slices.Equal(a, b.([]Tag))
	case time.Time:
		return a.Equal(b.(time.Time))
	}
	return a == b
}

func securityGroupIDs(groups []types.VpcSecurityGroupMembership) []string {
	var ids []string
	for _, g := range groups {
		ids = append(ids, aws.ToString(g.VpcSecurityGroupId))
	}
	return ids
}

func tagsOf(tags []types.Tag) []Tag {
	var out []Tag
	for _, t := range tags {
		out = append(out, Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	return out
}

func TestDescribeDBInstancesListsAllAndFindsNone(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, Instance{ID: "b-db"})
	h.mustAddInstance(t, Instance{ID: "A-db"}) // AWS keeps identifiers in lower case
	out, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range out.DBInstances {
		ids = append(ids, aws.ToString(d.DBInstanceIdentifier))
	}
	if !slices.Equal(ids, []string{"a-db", "b-db"}) {
		t.Errorf("instances %v, want [a-db b-db]", ids)
	}
	_, err = h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("nope")})
	var notFound *types.DBInstanceNotFoundFault
	if !errors.As(err, &notFound) {
		t.Fatalf("unknown instance: got %v, want DBInstanceNotFoundFault", err)
	}
	wantAPIError(t, err, "DBInstanceNotFound", 404)
	if got := notFound.ErrorMessage(); got != "DBInstance nope not found." {
		t.Errorf("message %q", got)
	}
}

func TestDescribeDBInstancesPaginates(t *testing.T) {
	h := newHarness(t)
	for i := range 45 {
		h.mustAddInstance(t, Instance{ID: "db-" + string(rune('a'+i/26)) + string(rune('a'+i%26))})
	}
	pages := rds.NewDescribeDBInstancesPaginator(h.rds, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(20)})
	var count, calls int
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.DBInstances)
		calls++
	}
	if count != 45 || calls != 3 {
		t.Errorf("read %d instances in %d pages, want 45 in 3", count, calls)
	}
}

func TestDescribeDBSnapshots(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	auto, err := h.sim.AddSnapshot(Snapshot{InstanceID: "govuk-content-store", Type: "automated", Created: start.Add(-26 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if auto != "rds:govuk-content-store-2024-04-30-10-00" {
		t.Errorf("automated snapshot named %s", auto)
	}
	if _, err := h.sim.AddSnapshot(Snapshot{ID: "before-upgrade", InstanceID: "govuk-content-store", Created: start.Add(-2 * time.Hour),
		Tags: []Tag{{"reason", "upgrade"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.AddSnapshot(Snapshot{ID: "other", InstanceID: "other-db"}); err != nil {
		t.Fatal(err)
	}

	out, err := h.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("govuk-content-store")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBSnapshots) != 2 {
		t.Fatalf("got %d snapshots, want 2", len(out.DBSnapshots))
	}
	s := out.DBSnapshots[0]
	checks := []struct {
		field     string
		got, want any
	}{
		{"DBSnapshotIdentifier", aws.ToString(s.DBSnapshotIdentifier), auto},
		{"DBSnapshotArn", aws.ToString(s.DBSnapshotArn), "arn:aws:rds:eu-west-1:123456789012:snapshot:" + auto},
		{"DBInstanceIdentifier", aws.ToString(s.DBInstanceIdentifier), "govuk-content-store"},
		{"SnapshotCreateTime", aws.ToTime(s.SnapshotCreateTime), start.Add(-26 * time.Hour)},
		{"Status", aws.ToString(s.Status), "available"},
		{"PercentProgress", aws.ToInt32(s.PercentProgress), int32(100)},
		{"SnapshotType", aws.ToString(s.SnapshotType), "automated"},
		{"Engine", aws.ToString(s.Engine), "postgres"},
		{"EngineVersion", aws.ToString(s.EngineVersion), "14.11"},
		{"Encrypted", aws.ToBool(s.Encrypted), true},
		{"AllocatedStorage", aws.ToInt32(s.AllocatedStorage), int32(200)},
		{"Port", aws.ToInt32(s.Port), int32(5433)},
		{"VpcId", aws.ToString(s.VpcId), "vpc-0prod"},
		{"DbiResourceId", aws.ToString(s.DbiResourceId), "db-PRODRESOURCEID0123456789"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}

	manual, err := h.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("govuk-content-store"),
		SnapshotType: aws.String("manual")})
	if err != nil || len(manual.DBSnapshots) != 1 || aws.ToString(manual.DBSnapshots[0].DBSnapshotIdentifier) != "before-upgrade" {
		t.Fatalf("manual snapshots: %v, %v", manual, err)
	}
	byARN, err := h.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{
		DBSnapshotIdentifier: aws.String("arn:aws:rds:eu-west-1:123456789012:snapshot:before-upgrade")})
	if err != nil || len(byARN.DBSnapshots) != 1 {
		t.Fatalf("by ARN: %v, %v", byARN, err)
	}
	none, err := h.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("deleted-long-ago")})
	if err != nil || len(none.DBSnapshots) != 0 {
		t.Fatalf("an instance without snapshots: %v, %v; want an empty list", none, err)
	}
	_, err = h.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String("nope")})
	var notFound *types.DBSnapshotNotFoundFault
	if !errors.As(err, &notFound) {
		t.Fatalf("unknown snapshot: got %v, want DBSnapshotNotFoundFault", err)
	}
	wantAPIError(t, err, "DBSnapshotNotFound", 404)
}

func TestDescribeDBInstanceAutomatedBackups(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	h.mustAddInstance(t, Instance{ID: "no-backups"})
	arn, err := h.sim.AddRetainedBackup(RetainedBackup{InstanceID: "deleted-db", Engine: "postgres", EngineVersion: "13.4",
		Earliest: start.Add(-72 * time.Hour), Latest: start.Add(-48 * time.Hour), AllocatedStorage: 50, Encrypted: true})
	if err != nil {
		t.Fatal(err)
	}

	out, err := h.rds.DescribeDBInstanceAutomatedBackups(ctx, &rds.DescribeDBInstanceAutomatedBackupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBInstanceAutomatedBackups) != 2 {
		t.Fatalf("got %d backups, want the active one and the retained one", len(out.DBInstanceAutomatedBackups))
	}
	active, retained := out.DBInstanceAutomatedBackups[0], out.DBInstanceAutomatedBackups[1]
	checks := []struct {
		field     string
		got, want any
	}{
		{"active DBInstanceIdentifier", aws.ToString(active.DBInstanceIdentifier), "govuk-content-store"},
		{"active DbiResourceId", aws.ToString(active.DbiResourceId), "db-PRODRESOURCEID0123456789"},
		{"active Status", aws.ToString(active.Status), "active"},
		// The window starts 7 days ago, not at the creation 400 days ago.
		{"active EarliestTime", aws.ToTime(active.RestoreWindow.EarliestTime), start.Add(-7 * 24 * time.Hour)},
		{"active LatestTime", aws.ToTime(active.RestoreWindow.LatestTime), start.Add(-5 * time.Minute)},
		{"active BackupRetentionPeriod", aws.ToInt32(active.BackupRetentionPeriod), int32(7)},
		{"active Engine", aws.ToString(active.Engine), "postgres"},
		{"active EngineVersion", aws.ToString(active.EngineVersion), "14.11"},
		{"active InstanceCreateTime", aws.ToTime(active.InstanceCreateTime), start.Add(-400 * 24 * time.Hour)},
		{"active AllocatedStorage", aws.ToInt32(active.AllocatedStorage), int32(200)},
		{"active Region", aws.ToString(active.Region), "eu-west-1"},
		{"active Encrypted", aws.ToBool(active.Encrypted), true},
		{"retained DBInstanceIdentifier", aws.ToString(retained.DBInstanceIdentifier), "deleted-db"},
		{"retained Arn", aws.ToString(retained.DBInstanceAutomatedBackupsArn), arn},
		{"retained Status", aws.ToString(retained.Status), "retained"},
		{"retained EarliestTime", aws.ToTime(retained.RestoreWindow.EarliestTime), start.Add(-72 * time.Hour)},
		{"retained LatestTime", aws.ToTime(retained.RestoreWindow.LatestTime), start.Add(-48 * time.Hour)},
		{"retained EngineVersion", aws.ToString(retained.EngineVersion), "13.4"},
		{"retained AllocatedStorage", aws.ToInt32(retained.AllocatedStorage), int32(50)},
		{"retained Encrypted", aws.ToBool(retained.Encrypted), true},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if arnRe := `^arn:aws:rds:eu-west-1:123456789012:auto-backup:ab-[a-z0-9]{26}$`; !matches(arnRe, aws.ToString(active.DBInstanceAutomatedBackupsArn)) {
		t.Errorf("active backup ARN %s does not match %s", aws.ToString(active.DBInstanceAutomatedBackupsArn), arnRe)
	}

	h.clock.Advance(time.Hour) // the active window moves with the clock, the retained one does not
	byStatus, err := h.rds.DescribeDBInstanceAutomatedBackups(ctx, &rds.DescribeDBInstanceAutomatedBackupsInput{
		Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"active"}}}})
	if err != nil || len(byStatus.DBInstanceAutomatedBackups) != 1 {
		t.Fatalf("status filter: %v, %v", byStatus, err)
	}
	if got := aws.ToTime(byStatus.DBInstanceAutomatedBackups[0].RestoreWindow.LatestTime); !got.Equal(start.Add(55 * time.Minute)) {
		t.Errorf("an hour later the window ends at %v, want %v", got, start.Add(55*time.Minute))
	}
	for _, in := range []rds.DescribeDBInstanceAutomatedBackupsInput{
		{DBInstanceAutomatedBackupsArn: aws.String(arn)},
		{DbiResourceId: retained.DbiResourceId},
		{DBInstanceIdentifier: aws.String("deleted-db")},
	} {
		got, err := h.rds.DescribeDBInstanceAutomatedBackups(ctx, &in)
		if err != nil || len(got.DBInstanceAutomatedBackups) != 1 || aws.ToString(got.DBInstanceAutomatedBackups[0].Status) != "retained" {
			t.Errorf("%+v: %v, %v", in, got, err)
		}
	}
	_, err = h.rds.DescribeDBInstanceAutomatedBackups(ctx, &rds.DescribeDBInstanceAutomatedBackupsInput{DbiResourceId: aws.String("db-NOPE")})
	var notFound *types.DBInstanceAutomatedBackupNotFoundFault
	if !errors.As(err, &notFound) {
		t.Fatalf("unknown resource id: got %v, want DBInstanceAutomatedBackupNotFoundFault", err)
	}
	wantAPIError(t, err, "DBInstanceAutomatedBackupNotFound", 404)
}

func TestListTagsForResource(t *testing.T) {
	h := newHarness(t)
	h.mustAddInstance(t, production())
	if _, err := h.sim.AddSnapshot(Snapshot{ID: "snap", InstanceID: "govuk-content-store", Tags: []Tag{{"k", "v"}}}); err != nil {
		t.Fatal(err)
	}
	out, err := h.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{
		ResourceName: aws.String("arn:aws:rds:eu-west-1:123456789012:db:govuk-content-store")})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(out.TagList); !slices.Equal(got, production().Tags) {
		t.Errorf("instance tags %v", got)
	}
	out, err = h.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{
		ResourceName: aws.String("arn:aws:rds:eu-west-1:123456789012:snapshot:snap")})
	if err != nil || !slices.Equal(tagsOf(out.TagList), []Tag{{"k", "v"}}) {
		t.Errorf("snapshot tags %v, %v", out, err)
	}
	_, err = h.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String("arn:aws:rds:eu-west-1:123456789012:db:nope")})
	wantAPIError(t, err, "DBInstanceNotFound", 404)
	_, err = h.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String("not-an-arn")})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

func TestDescribeEventsWindowAndOrder(t *testing.T) {
	h := newHarness(t)
	for _, e := range []Event{
		{SourceIdentifier: "db1", Message: "old", Date: start.Add(-3 * time.Hour), Categories: []string{"backup"}},
		{SourceIdentifier: "db1", Message: "recent", Date: start.Add(-10 * time.Minute), Categories: []string{"notification"}},
		{SourceIdentifier: "db1", Message: "earlier", Date: start.Add(-20 * time.Minute), Categories: []string{"backup"}},
		{SourceIdentifier: "db2", Message: "other", Date: start.Add(-5 * time.Minute)},
		{SourceIdentifier: "snap", SourceType: "db-snapshot", Message: "snapshot", Date: start.Add(-5 * time.Minute)},
	} {
		if err := h.sim.AddEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	messages := func(in rds.DescribeEventsInput) []string {
		t.Helper()
		out, err := h.rds.DescribeEvents(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		var m []string
		for _, e := range out.Events {
			m = append(m, aws.ToString(e.Message))
		}
		return m
	}
	cases := []struct {
		name string
		in   rds.DescribeEventsInput
		want []string
	}{
		{"the last hour by default, oldest first", rds.DescribeEventsInput{},
			[]string{"earlier", "recent", "other", "snapshot"}},
		{"one source", rds.DescribeEventsInput{SourceIdentifier: aws.String("db1"), SourceType: types.SourceTypeDbInstance},
			[]string{"earlier", "recent"}},
		{"duration", rds.DescribeEventsInput{SourceIdentifier: aws.String("db1"), SourceType: types.SourceTypeDbInstance,
			Duration: aws.Int32(240)}, []string{"old", "earlier", "recent"}},
		{"start and end", rds.DescribeEventsInput{StartTime: aws.Time(start.Add(-4 * time.Hour)),
			EndTime: aws.Time(start.Add(-15 * time.Minute))}, []string{"old", "earlier"}},
		{"source type", rds.DescribeEventsInput{SourceType: types.SourceTypeDbSnapshot}, []string{"snapshot"}},
		{"category", rds.DescribeEventsInput{Duration: aws.Int32(600), EventCategories: []string{"backup"}},
			[]string{"old", "earlier"}},
	}
	for _, c := range cases {
		if got := messages(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	out, err := h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String("snap"), SourceType: types.SourceTypeDbSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	e := out.Events[0]
	if aws.ToString(e.SourceArn) != "arn:aws:rds:eu-west-1:123456789012:snapshot:snap" || e.SourceType != types.SourceTypeDbSnapshot ||
		!aws.ToTime(e.Date).Equal(start.Add(-5*time.Minute)) || aws.ToString(e.SourceIdentifier) != "snap" {
		t.Errorf("event %+v", e)
	}
	_, err = h.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String("db1")})
	wantAPIError(t, err, "InvalidParameterCombination", 400)
}
