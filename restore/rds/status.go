package rds

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"pgrescue/problem"
)

// Instance is what pgrescue reads of a DB instance: what it shows, and
// every setting a restore copies.
type Instance struct {
	ID, ARN, ResourceID    string
	Engine, EngineVersion  string
	Class, Status          string
	Endpoint, HostedZoneID string
	Port                   int32
	Created                time.Time
	MultiAZ                bool
	AvailabilityZone       string
	StorageType            string
	AllocatedGiB           int32
	MaxAllocatedGiB        int32
	Iops, Throughput       int32
	Encrypted              bool
	KMSKey                 string
	DeletionProtection     bool
	PubliclyAccessible     bool
	SubnetGroup, VPC       string
	SecurityGroups         []string
	ParameterGroups        []string
	OptionGroups           []string
	BackupRetentionDays    int32
	BackupWindow           string
	LatestRestorable       time.Time
	CopyTagsToSnapshot     bool
	IAMAuth                bool
	MonitoringInterval     int32
	MonitoringRole         string
	PerformanceInsights    bool
	PIKMSKey               string
	PIRetentionDays        int32
	CACertificate          string
	MasterUser, DBName     string
	Tags                   []Tag
}

// Tag is one AWS resource tag.
type Tag struct{ Key, Value string }

// Window is the span a point-in-time restore can reach.
type Window struct {
	Earliest, Latest time.Time
	// EarliestEstimated: AWS gave no restore window (older APIs, moto), so
	// Earliest is the later of the instance's creation and now minus the
	// retention period.
	EarliestEstimated bool
	RetentionDays     int32
	BackupWindow      string // "01:00-03:00" UTC
}

// Contains reports whether t can be restored to.
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Earliest) && !t.After(w.Latest)
}

// Snapshot is a DB snapshot, automated or manual.
type Snapshot struct {
	ID, ARN, Instance     string
	Type, Status          string
	Progress              int32
	Created               time.Time
	Engine, EngineVersion string
	Encrypted             bool
	AllocatedGiB          int32
}

// RetainedBackup is an automated backup kept after its instance was
// deleted: restorable to a point in its window by its ARN.
type RetainedBackup struct {
	ARN, Instance, ResourceID string
	Status                    string
	Window                    Window
	Engine, EngineVersion     string
	AllocatedGiB              int32
}

// Status is everything `rds-status` shows of one identifier. Instance is
// nil when the instance no longer exists but snapshots or retained
// backups of it do.
type Status struct {
	ID        string
	Region    string
	Instance  *Instance
	Window    *Window
	Snapshots []Snapshot // newest first
	Retained  []RetainedBackup
}

// Describe reads one instance.
func (c *Client) Describe(ctx context.Context, id string) (*Instance, error) {
	out, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return nil, c.explain(ctx, err, call{"DescribeDBInstances", id})
	}
	if len(out.DBInstances) == 0 {
		return nil, c.explain(ctx, notFoundError(id), call{"DescribeDBInstances", id})
	}
	in := fromSDK(out.DBInstances[0])
	return &in, nil
}

// exists reports whether an instance of that identifier exists.
func (c *Client) exists(ctx context.Context, id string) (bool, error) {
	_, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, c.explain(ctx, err, call{"DescribeDBInstances", id})
	}
	return true, nil
}

// Status reads what an identifier can be restored from: the instance and
// its window when it exists, its snapshots, and retained automated backups
// of an instance of that name that was deleted.
func (c *Client) Status(ctx context.Context, id string, now time.Time) (*Status, error) {
	st, err := c.pointInTime(ctx, id, now)
	if err != nil {
		return nil, err
	}
	if st.Snapshots, err = c.Snapshots(ctx, id); err != nil {
		return nil, err
	}
	if st.Instance != nil {
		if st.Retained, err = c.retained(ctx, id); err != nil {
			return nil, err
		}
	}
	if st.Instance == nil && len(st.Snapshots) == 0 && len(st.Retained) == 0 {
		return nil, c.explain(ctx, notFoundError(id), call{"DescribeDBInstances", id})
	}
	return st, nil
}

// pointInTime reads what a point-in-time restore of id starts from: the
// instance and its window, or, when it is gone, the automated backups AWS
// kept of it. It lists no snapshots: a restore to a time needs none.
func (c *Client) pointInTime(ctx context.Context, id string, now time.Time) (*Status, error) {
	st := &Status{ID: id, Region: c.region}
	in, err := c.Describe(ctx, id)
	switch {
	case err == nil:
		st.Instance = in
		w, err := c.window(ctx, in, now)
		if err != nil {
			return nil, err
		}
		st.Window = &w
		return st, nil
	case !isNotFoundProblem(err):
		return nil, err
	}
	st.Retained, err = c.retained(ctx, id)
	return st, err
}

// window is the instance's point-in-time window: the earliest from its
// active automated backup's restore window, the latest from
// LatestRestorableTime.
func (c *Client) window(ctx context.Context, in *Instance, now time.Time) (Window, error) {
	w := Window{Latest: in.LatestRestorable, RetentionDays: in.BackupRetentionDays, BackupWindow: in.BackupWindow}
	out, err := c.rds.DescribeDBInstanceAutomatedBackups(ctx, &rds.DescribeDBInstanceAutomatedBackupsInput{
		DbiResourceId: nonEmpty(in.ResourceID), DBInstanceIdentifier: onlyIf(in.ResourceID == "", in.ID)})
	if err != nil && !isNotFound(err) {
		return w, c.explain(ctx, err, call{"DescribeDBInstanceAutomatedBackups", in.ID})
	}
	if out != nil {
		for _, b := range out.DBInstanceAutomatedBackups {
			if rw := b.RestoreWindow; rw != nil && rw.EarliestTime != nil && aws.ToString(b.Status) != "retained" {
				w.Earliest = rw.EarliestTime.UTC()
			}
		}
	}
	if w.Earliest.IsZero() && w.RetentionDays > 0 {
		w.Earliest, w.EarliestEstimated = laterOf(in.Created, now.Add(-time.Duration(w.RetentionDays)*24*time.Hour)), true
	}
	return w, nil
}

// Snapshots lists an instance's snapshots, automated and manual, newest first.
func (c *Client) Snapshots(ctx context.Context, id string) ([]Snapshot, error) {
	var snaps []Snapshot
	pages := rds.NewDescribeDBSnapshotsPaginator(c.rds, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, c.explain(ctx, err, call{"DescribeDBSnapshots", id})
		}
		for _, s := range page.DBSnapshots {
			snaps = append(snaps, snapshotFromSDK(s))
		}
	}
	slices.SortStableFunc(snaps, func(a, b Snapshot) int { return b.Created.Compare(a.Created) })
	return snaps, nil
}

// Snapshot reads one snapshot by identifier or ARN.
func (c *Client) Snapshot(ctx context.Context, idOrARN string) (*Snapshot, error) {
	out, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(idOrARN)})
	if err == nil && len(out.DBSnapshots) == 0 {
		err = notFoundError(idOrARN)
	}
	if err != nil {
		return nil, c.explain(ctx, err, call{"DescribeDBSnapshots", "snapshot " + idOrARN})
	}
	s := snapshotFromSDK(out.DBSnapshots[0])
	return &s, nil
}

// retained lists automated backups kept after an instance of that name was
// deleted.
func (c *Client) retained(ctx context.Context, id string) ([]RetainedBackup, error) {
	var backups []types.DBInstanceAutomatedBackup
	pages := rds.NewDescribeDBInstanceAutomatedBackupsPaginator(c.rds, &rds.DescribeDBInstanceAutomatedBackupsInput{
		Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"retained"}}}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, c.explain(ctx, err, call{"DescribeDBInstanceAutomatedBackups", id})
		}
		backups = append(backups, page.DBInstanceAutomatedBackups...)
	}
	var kept []RetainedBackup
	for _, b := range backups {
		// Without an ARN it cannot be restored from (moto lists such ones).
		if aws.ToString(b.DBInstanceIdentifier) != id || aws.ToString(b.Status) != "retained" || b.DBInstanceAutomatedBackupsArn == nil {
			continue
		}
		r := RetainedBackup{ARN: aws.ToString(b.DBInstanceAutomatedBackupsArn), Instance: id,
			ResourceID: aws.ToString(b.DbiResourceId), Status: aws.ToString(b.Status),
			Engine: aws.ToString(b.Engine), EngineVersion: aws.ToString(b.EngineVersion),
			AllocatedGiB: aws.ToInt32(b.AllocatedStorage)}
		r.Window.RetentionDays = aws.ToInt32(b.BackupRetentionPeriod)
		if rw := b.RestoreWindow; rw != nil {
			r.Window.Earliest, r.Window.Latest = aws.ToTime(rw.EarliestTime).UTC(), aws.ToTime(rw.LatestTime).UTC()
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// FindByApp finds the instances of an application as the runbook's page
// does: by a tag whose value is the application's name (Name, app,
// application, project, service…), or an identifier that starts with it.
func (c *Client) FindByApp(ctx context.Context, app string) ([]Instance, error) {
	var found []Instance
	pages := rds.NewDescribeDBInstancesPaginator(c.rds, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.explain(ctx, err, call{"DescribeDBInstances", "application " + app})
		}
		for _, d := range page.DBInstances {
			if in := fromSDK(d); belongsTo(in, app) {
				found = append(found, in)
			}
		}
	}
	return found, nil
}

func belongsTo(in Instance, app string) bool {
	app = strings.ToLower(app)
	if strings.HasPrefix(strings.ToLower(in.ID), app) {
		return true
	}
	for _, t := range in.Tags {
		if v := strings.ToLower(t.Value); v == app || strings.TrimSuffix(v, "-postgres") == app {
			return true
		}
	}
	return false
}

func fromSDK(d types.DBInstance) Instance {
	in := Instance{
		ID: aws.ToString(d.DBInstanceIdentifier), ARN: aws.ToString(d.DBInstanceArn), ResourceID: aws.ToString(d.DbiResourceId),
		Engine: aws.ToString(d.Engine), EngineVersion: aws.ToString(d.EngineVersion),
		Class: aws.ToString(d.DBInstanceClass), Status: aws.ToString(d.DBInstanceStatus),
		Created: aws.ToTime(d.InstanceCreateTime).UTC(), MultiAZ: aws.ToBool(d.MultiAZ),
		AvailabilityZone: aws.ToString(d.AvailabilityZone),
		StorageType:      aws.ToString(d.StorageType), AllocatedGiB: aws.ToInt32(d.AllocatedStorage),
		MaxAllocatedGiB: aws.ToInt32(d.MaxAllocatedStorage), Iops: aws.ToInt32(d.Iops),
		Throughput: aws.ToInt32(d.StorageThroughput), Encrypted: aws.ToBool(d.StorageEncrypted),
		KMSKey: aws.ToString(d.KmsKeyId), DeletionProtection: aws.ToBool(d.DeletionProtection),
		PubliclyAccessible: aws.ToBool(d.PubliclyAccessible), BackupRetentionDays: aws.ToInt32(d.BackupRetentionPeriod),
		BackupWindow: aws.ToString(d.PreferredBackupWindow), LatestRestorable: aws.ToTime(d.LatestRestorableTime).UTC(),
		CopyTagsToSnapshot: aws.ToBool(d.CopyTagsToSnapshot), IAMAuth: aws.ToBool(d.IAMDatabaseAuthenticationEnabled),
		MonitoringInterval: aws.ToInt32(d.MonitoringInterval), MonitoringRole: aws.ToString(d.MonitoringRoleArn),
		PerformanceInsights: aws.ToBool(d.PerformanceInsightsEnabled), PIKMSKey: aws.ToString(d.PerformanceInsightsKMSKeyId),
		PIRetentionDays: aws.ToInt32(d.PerformanceInsightsRetentionPeriod), CACertificate: aws.ToString(d.CACertificateIdentifier),
		MasterUser: aws.ToString(d.MasterUsername), DBName: aws.ToString(d.DBName),
	}
	if e := d.Endpoint; e != nil {
		in.Endpoint, in.Port, in.HostedZoneID = aws.ToString(e.Address), aws.ToInt32(e.Port), aws.ToString(e.HostedZoneId)
	}
	if in.Port == 0 {
		in.Port = aws.ToInt32(d.DbInstancePort)
	}
	if g := d.DBSubnetGroup; g != nil {
		in.SubnetGroup, in.VPC = aws.ToString(g.DBSubnetGroupName), aws.ToString(g.VpcId)
	}
	for _, g := range d.VpcSecurityGroups {
		in.SecurityGroups = append(in.SecurityGroups, aws.ToString(g.VpcSecurityGroupId))
	}
	for _, g := range d.DBParameterGroups {
		in.ParameterGroups = append(in.ParameterGroups, aws.ToString(g.DBParameterGroupName))
	}
	for _, g := range d.OptionGroupMemberships {
		in.OptionGroups = append(in.OptionGroups, aws.ToString(g.OptionGroupName))
	}
	for _, t := range d.TagList {
		in.Tags = append(in.Tags, Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	return in
}

func snapshotFromSDK(s types.DBSnapshot) Snapshot {
	return Snapshot{
		ID: aws.ToString(s.DBSnapshotIdentifier), ARN: aws.ToString(s.DBSnapshotArn),
		Instance: aws.ToString(s.DBInstanceIdentifier), Type: aws.ToString(s.SnapshotType),
		Status: aws.ToString(s.Status), Progress: aws.ToInt32(s.PercentProgress),
		Created: aws.ToTime(s.SnapshotCreateTime).UTC(), Engine: aws.ToString(s.Engine),
		EngineVersion: aws.ToString(s.EngineVersion), Encrypted: aws.ToBool(s.Encrypted),
		AllocatedGiB: aws.ToInt32(s.AllocatedStorage),
	}
}

func onlyIf(cond bool, s string) *string {
	if !cond {
		return nil
	}
	return aws.String(s)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// notFoundError stands for AWS's answer when a describe call by name
// returns an empty list instead of a fault.
func notFoundError(id string) error {
	return &smithy.GenericAPIError{Code: "DBInstanceNotFound", Message: id + " not found", Fault: smithy.FaultClient}
}

func isNotFoundProblem(err error) bool { return problem.Is(err, problem.RDSNotFound) }
