package rds

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"pgrescue/hosting"
	"pgrescue/problem"
)

// Request is one restore as the engineer asked for it: exactly one of
// TargetTime, Latest and Snapshot.
type Request struct {
	Source     string    // the instance to restore (may be gone if a snapshot or retained backup of it exists)
	TargetTime time.Time // a point in time
	Latest     bool      // the latest restorable time
	Snapshot   string    // a snapshot identifier or ARN
	Target     string    // the new instance's identifier; "" for DefaultName
	Now        time.Time
	Zone       *time.Location // the engineer's, for messages; nil is UTC
}

// Method is how the new instance is made.
type Method int

const (
	PointInTime  Method = iota // RestoreDBInstanceToPointInTime
	FromSnapshot               // RestoreDBInstanceFromDBSnapshot
)

// Plan is a checked restore: what will be called, with which settings,
// shown before anything changes.
type Plan struct {
	Method   Method
	SourceID string
	Source   *Instance       // nil when the instance no longer exists
	Retained *RetainedBackup // the deleted instance's backup a point-in-time restore reads
	Snapshot *Snapshot
	Window   *Window
	Time     time.Time // the target time; zero with Latest or a snapshot
	Latest   bool
	Target   string
	Region   string
	Settings []Setting
	Zone     *time.Location

	copy   copySet
	client *Client
}

// DefaultName is the new instance's identifier: <id>-restored-<yyyymmddhhmm>,
// the source's name shortened to fit AWS's 63 characters.
func DefaultName(source string, now time.Time) string {
	suffix := "-restored-" + now.UTC().Format("200601021504")
	base := source
	if len(base)+len(suffix) > 63 {
		base = strings.TrimRight(base[:63-len(suffix)], "-")
	}
	return base + suffix
}

// CheckIdentifier refuses a name AWS would refuse, before any call.
func CheckIdentifier(flag, id string) error {
	if hosting.ValidRDSIdentifier(id) {
		return nil
	}
	return &problem.Error{
		Kind: problem.Usage, Subject: flag + " " + id,
		Summary: fmt.Sprintf("%q is not a valid RDS instance identifier", id),
		Detail:  "AWS allows 1 to 63 letters, digits and hyphens, starting with a letter, with no hyphen at the end and no two in a row",
		Next:    "choose a name such as local-links-manager-postgres-restored-202611251405",
	}
}

// Prepare checks a restore before any change: the request, the names, the
// source and its window or snapshot, and that the new name is free.
func (c *Client) Prepare(ctx context.Context, req Request) (*Plan, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	p := &Plan{client: c, Region: c.region, Latest: req.Latest, Time: req.TargetTime.UTC(), Zone: req.Zone, SourceID: req.Source}
	if req.Snapshot != "" {
		if err := p.fromSnapshot(ctx, req.Snapshot); err != nil {
			return nil, err
		}
	} else if err := p.fromSource(ctx, req); err != nil {
		return nil, err
	}
	p.Target = cmp.Or(req.Target, DefaultName(p.SourceID, req.Now))
	if err := CheckIdentifier("--target-instance", p.Target); err != nil {
		return nil, err
	}
	if err := c.checkFree(ctx, p.Target); err != nil {
		return nil, err
	}
	p.copy = copyFrom(p.Source)
	p.copy.maxLater = p.Method == FromSnapshot
	p.copy.Tags = withTag(p.copy.Tags, Tag{restoredFromTag, p.restoredFrom()})
	p.Settings = p.copy.settings(p.Source)
	return p, nil
}

// restoredFromTag marks an instance pgrescue made, with what it was
// restored from.
const restoredFromTag = "pgrescue:restored-from"

// withTag sets a tag, replacing one of the same key (an instance restored
// from a restored instance has one already, and AWS refuses a key twice).
func withTag(tags []Tag, t Tag) []Tag {
	out := slices.DeleteFunc(slices.Clone(tags), func(old Tag) bool { return old.Key == t.Key })
	return append(out, t)
}

func checkRequest(req Request) error {
	chosen := 0
	for _, set := range []bool{!req.TargetTime.IsZero(), req.Latest, req.Snapshot != ""} {
		if set {
			chosen++
		}
	}
	if chosen != 1 {
		return problem.New(problem.Usage, "--target-time, --latest, --snapshot",
			"give exactly one of --target-time, --latest and --snapshot",
			"pgrescue rds-status --instance ID shows the restore window and the snapshots")
	}
	if req.Source == "" && req.Snapshot == "" {
		return problem.New(problem.Usage, "--instance", "name the instance to restore with --instance",
			"pgrescue rds-status --app APP finds an application's instance")
	}
	if req.Source != "" {
		return CheckIdentifier("--instance", req.Source)
	}
	return nil
}

func (p *Plan) fromSnapshot(ctx context.Context, id string) error {
	p.Method = FromSnapshot
	snap, err := p.client.Snapshot(ctx, id)
	if err != nil {
		return err
	}
	if snap.Status != "available" {
		return &problem.Error{
			Kind: problem.RDSRefused, Subject: "snapshot " + snap.ID,
			Summary: fmt.Sprintf("the snapshot is %s (%d%%), not available", snap.Status, snap.Progress),
			Next:    "wait for it (pgrescue rds-status shows its progress) or choose another snapshot",
		}
	}
	p.Snapshot = snap
	p.SourceID = cmp.Or(p.SourceID, snap.Instance)
	src, err := p.client.Describe(ctx, p.SourceID)
	if err != nil && !isNotFoundProblem(err) {
		return err
	}
	p.Source = src
	return nil
}

func (p *Plan) fromSource(ctx context.Context, req Request) error {
	p.Method = PointInTime
	st, err := p.client.pointInTime(ctx, req.Source, req.Now)
	if err != nil {
		return err
	}
	p.Source, p.Window = st.Instance, st.Window
	if p.Source == nil {
		if len(st.Retained) == 0 {
			return &problem.Error{
				Kind: problem.RDSNotFound, Subject: req.Source,
				Summary: "the instance no longer exists and AWS kept no automated backup of it",
				Next:    "restore one of its snapshots with --snapshot (pgrescue rds-status --instance " + req.Source + " lists them)",
			}
		}
		p.Retained = &st.Retained[0]
		p.Window = &p.Retained.Window
	}
	return p.checkTime(req.Now)
}

// checkTime refuses a target outside the window, naming both ends in the
// engineer's zone and UTC.
func (p *Plan) checkTime(now time.Time) error {
	if p.Latest {
		return nil
	}
	w := p.Window
	if w == nil || w.Latest.IsZero() {
		return &problem.Error{
			Kind: problem.OutsideWindow, Subject: p.SourceID,
			Summary: "the instance has no point-in-time window (automated backups are off: retention 0 days)",
			Next:    "restore a snapshot with --snapshot instead",
		}
	}
	if w.Contains(p.Time) {
		return nil
	}
	why := "before the earliest restorable time"
	if p.Time.After(w.Latest) {
		why = "after the latest restorable time"
		if p.Time.After(now) {
			why = "in the future"
		}
	}
	return &problem.Error{
		Kind: problem.OutsideWindow, Subject: "target time " + p.Time.Format(time.RFC3339),
		Summary: fmt.Sprintf("%s is %s", Both(p.Time, p.Zone), why),
		Detail:  fmt.Sprintf("%s can be restored from %s to %s", p.SourceID, Both(w.Earliest, p.Zone), Both(w.Latest, p.Zone)),
		Next:    "choose a time inside the window, the latest restorable time (--latest), or a snapshot (--snapshot)",
	}
}

// Both shows a time in the engineer's zone and in UTC.
func Both(t time.Time, zone *time.Location) string {
	utc := t.UTC().Format("2006-01-02 15:04:05 UTC")
	if zone == nil {
		return utc
	}
	if name, _ := t.In(zone).Zone(); name == "UTC" {
		return utc
	}
	return t.In(zone).Format("2006-01-02 15:04:05 MST") + " (" + utc + ")"
}

func (c *Client) checkFree(ctx context.Context, id string) error {
	taken, err := c.exists(ctx, id)
	if err != nil {
		return err
	}
	if taken {
		return &problem.Error{
			Kind: problem.NameTaken, Subject: id,
			Summary: "an RDS instance named " + id + " already exists",
			Next:    "choose another name with --target-instance; pgrescue never replaces an instance",
		}
	}
	return nil
}

func (p *Plan) restoredFrom() string {
	switch {
	case p.Method == FromSnapshot:
		return "snapshot " + p.Snapshot.ID
	case p.Latest:
		return p.SourceID + " at its latest restorable time"
	}
	return p.SourceID + " at " + p.Time.Format(time.RFC3339)
}

// Start asks AWS for the new instance and returns as soon as AWS has
// accepted (status "creating"); Finish waits for it.
func (p *Plan) Start(ctx context.Context) (*Instance, error) {
	c := p.client
	var (
		out *rds.RestoreDBInstanceToPointInTimeOutput
		snp *rds.RestoreDBInstanceFromDBSnapshotOutput
		err error
		k   call
	)
	if p.Method == FromSnapshot {
		k = call{"RestoreDBInstanceFromDBSnapshot", p.Target}
		snp, err = c.rds.RestoreDBInstanceFromDBSnapshot(ctx, p.copy.snapshotInput(p.Target, p.Snapshot.ARN, p.Snapshot.ID))
	} else {
		k = call{"RestoreDBInstanceToPointInTime", p.Target}
		out, err = c.rds.RestoreDBInstanceToPointInTime(ctx, p.pointInTimeInput())
	}
	if err != nil {
		return nil, c.explain(ctx, err, k)
	}
	var in Instance
	if snp != nil && snp.DBInstance != nil {
		in = fromSDK(*snp.DBInstance)
	} else if out != nil && out.DBInstance != nil {
		in = fromSDK(*out.DBInstance)
	}
	in.ID = cmp.Or(in.ID, p.Target)
	return &in, nil
}

func (p *Plan) pointInTimeInput() *rds.RestoreDBInstanceToPointInTimeInput {
	in := p.copy.pointInTimeInput(p.Target)
	if p.Retained != nil {
		in.SourceDBInstanceAutomatedBackupsArn = aws.String(p.Retained.ARN)
	} else {
		in.SourceDBInstanceIdentifier = aws.String(p.SourceID)
	}
	if p.Latest {
		in.UseLatestRestorableTime = aws.Bool(true)
	} else {
		in.RestoreTime = aws.Time(p.Time)
	}
	return in
}

// Class is the new instance's class: the source's, or AWS's choice when
// the source is gone ("").
func (p *Plan) Class() string { return p.copy.Class }
