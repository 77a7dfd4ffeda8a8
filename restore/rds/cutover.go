package rds

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// CutOverRequest points the application at the restored instance: by
// swapping names (the default: the endpoint the application uses stays the
// same), or with CNAME and Zone by a Route53 record, as the 2019 page did.
type CutOverRequest struct {
	Old, New    string
	CNAME, Zone string // both or neither
	Now         time.Time
}

// CutOver is a checked cut-over, shown before anything changes.
type CutOver struct {
	Old, New   *Instance
	BeforeName string // the old instance's name afterwards (rename only)
	CNAME      string // the record (CNAME only)
	ZoneID     string
	ZoneName   string
	Region     string
	client     *Client
}

// BeforeName is what the old instance is renamed to: <id>-before-<yyyymmddhhmm>.
func BeforeName(id string, now time.Time) string {
	suffix := "-before-" + now.UTC().Format("200601021504")
	if len(id)+len(suffix) > 63 {
		id = strings.TrimRight(id[:63-len(suffix)], "-")
	}
	return id + suffix
}

// PrepareCutOver checks both instances and the names before any change:
// the new one must be available, the old one's new name free.
func (c *Client) PrepareCutOver(ctx context.Context, req CutOverRequest) (*CutOver, error) {
	if err := checkCutOverRequest(req); err != nil {
		return nil, err
	}
	co := &CutOver{Region: c.region, client: c}
	var err error
	if co.Old, err = c.Describe(ctx, req.Old); err != nil {
		return nil, err
	}
	if co.New, err = c.Describe(ctx, req.New); err != nil {
		return nil, err
	}
	if co.New.Status != "available" {
		return nil, &problem.Error{Kind: problem.RDSRefused, Subject: req.New,
			Summary: fmt.Sprintf("%s is %s, not available", req.New, co.New.Status),
			Next:    "wait for it (pgrescue rds-status --instance " + req.New + ") and check its data before the cut-over"}
	}
	if req.CNAME != "" {
		return co, co.findZone(ctx, req)
	}
	co.BeforeName = BeforeName(req.Old, req.Now)
	return co, c.checkFree(ctx, co.BeforeName)
}

func checkCutOverRequest(req CutOverRequest) error {
	if req.Old == "" || req.New == "" {
		return problem.New(problem.Usage, "--old, --new", "name both instances: --old (the damaged one) and --new (the restored one)", "")
	}
	if req.Old == req.New {
		return problem.New(problem.Usage, "--old, --new", "--old and --new name the same instance", "--new is the restored instance")
	}
	if (req.CNAME == "") != (req.Zone == "") {
		return problem.New(problem.Usage, "--cname, --zone", "--cname and --zone go together",
			"give both (the record and its hosted zone), or neither to swap the instances' names")
	}
	for flag, id := range map[string]string{"--old": req.Old, "--new": req.New} {
		if err := CheckIdentifier(flag, id); err != nil {
			return err
		}
	}
	return nil
}

// findZone resolves --zone: a hosted zone ID (Z…) or a domain name.
func (co *CutOver) findZone(ctx context.Context, req CutOverRequest) error {
	co.CNAME = strings.TrimSuffix(req.CNAME, ".") + "."
	name := strings.TrimSuffix(req.Zone, ".") + "."
	out, err := co.client.r53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(name), MaxItems: aws.Int32(1)})
	if err != nil {
		return co.client.explain(ctx, err, call{"route53:ListHostedZonesByName", "zone " + req.Zone})
	}
	for _, z := range out.HostedZones {
		if strings.EqualFold(aws.ToString(z.Name), name) || strings.HasSuffix(aws.ToString(z.Id), "/"+req.Zone) {
			co.ZoneID, co.ZoneName = strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/"), aws.ToString(z.Name)
		}
	}
	if co.ZoneID == "" {
		return &problem.Error{Kind: problem.RDSNotFound, Subject: "--zone " + req.Zone,
			Summary: "no Route53 hosted zone is named " + req.Zone,
			Next:    "give the zone's domain (aws route53 list-hosted-zones shows them)"}
	}
	if !strings.HasSuffix(strings.ToLower(co.CNAME), "."+strings.ToLower(co.ZoneName)) {
		return problem.New(problem.Usage, "--cname "+req.CNAME, "the record "+co.CNAME+" is not inside the zone "+co.ZoneName,
			"give the full name, e.g. <database>.<stack>."+strings.TrimSuffix(co.ZoneName, "."))
	}
	return nil
}

// Commands are the cut-over as aws commands.
func (co *CutOver) Commands() []shellcmd.Command {
	if co.CNAME != "" {
		batch := fmt.Sprintf(`{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":%q,"Type":"CNAME","TTL":300,"ResourceRecords":[{"Value":%q}]}}]}`,
			co.CNAME, co.New.Endpoint)
		return []shellcmd.Command{{Why: "Point " + co.CNAME + " at the restored instance (TTL 300 s)",
			Line: awsLine("", "route53", "change-resource-record-sets", "--hosted-zone-id", co.ZoneID, "--change-batch", batch)}}
	}
	return []shellcmd.Command{
		{Why: "Rename the damaged instance out of the way (kept, not deleted)",
			Line: awsLine(co.Region, "rds", "modify-db-instance", "--db-instance-identifier", co.Old.ID, "--new-db-instance-identifier", co.BeforeName, "--apply-immediately")},
		{Why: "Wait for the rename", Line: awsLine(co.Region, "rds", "wait", "db-instance-available", "--db-instance-identifier", co.BeforeName)},
		{Why: "Give the restored instance the old name, so the application's endpoint stays the same",
			Line: awsLine(co.Region, "rds", "modify-db-instance", "--db-instance-identifier", co.New.ID, "--new-db-instance-identifier", co.Old.ID, "--apply-immediately")},
		{Why: "Wait for the rename", Line: awsLine(co.Region, "rds", "wait", "db-instance-available", "--db-instance-identifier", co.Old.ID)},
	}
}

// Run carries the cut-over out, waiting on each step.
func (co *CutOver) Run(ctx context.Context, o WaitOptions, report func(Event)) error {
	report = shellcmd.Serialized(report)
	if co.CNAME != "" {
		return co.upsert(ctx, o, report)
	}
	if err := co.rename(ctx, co.Old.ID, co.BeforeName, o, report); err != nil {
		return err
	}
	if err := co.rename(ctx, co.New.ID, co.Old.ID, o, report); err != nil {
		return problem.Wrap(err, problem.KindOf(err), co.New.ID,
			"the damaged instance is now "+co.BeforeName+", but the restored one could not take its name",
			"rename it by hand: "+awsLine(co.Region, "rds", "modify-db-instance", "--db-instance-identifier", co.New.ID,
				"--new-db-instance-identifier", co.Old.ID, "--apply-immediately")+"; or give the old name back to "+co.BeforeName)
	}
	return nil
}

func (co *CutOver) rename(ctx context.Context, from, to string, o WaitOptions, report func(Event)) error {
	report(Event{Kind: Applying, Instance: from, Message: "renaming " + from + " to " + to})
	_, err := co.client.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(from),
		NewDBInstanceIdentifier: aws.String(to), ApplyImmediately: aws.Bool(true)})
	if err != nil {
		return co.client.explain(ctx, err, call{"ModifyDBInstance", from})
	}
	o.Started = time.Now()
	if _, err := co.client.WaitAvailable(ctx, to, o, report); err != nil {
		return err
	}
	report(Event{Kind: Renamed, Instance: to, Message: from + " is now " + to})
	return nil
}

func (co *CutOver) upsert(ctx context.Context, o WaitOptions, report func(Event)) error {
	report(Event{Kind: Applying, Instance: co.New.ID, Message: "pointing " + co.CNAME + " at " + co.New.Endpoint})
	out, err := co.client.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(co.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String("pgrescue cut-over from " + co.Old.ID + " to " + co.New.ID),
			Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(co.CNAME), Type: r53types.RRTypeCname, TTL: aws.Int64(300),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(co.New.Endpoint)}}}}},
		}})
	if err != nil {
		return co.client.explain(ctx, err, call{"route53:ChangeResourceRecordSets", co.CNAME})
	}
	o = o.withDefaults()
	waiter := route53.NewResourceRecordSetsChangedWaiter(co.client.r53, func(wo *route53.ResourceRecordSetsChangedWaiterOptions) {
		wo.MinDelay, wo.MaxDelay = min(o.MinDelay, 10*time.Second), min(o.MaxDelay, 30*time.Second)
	})
	if err := waiter.Wait(ctx, &route53.GetChangeInput{Id: out.ChangeInfo.Id}, o.Limit); err != nil {
		return co.client.explain(ctx, err, call{"route53:GetChange", co.CNAME})
	}
	report(Event{Kind: Renamed, Instance: co.New.ID, Message: co.CNAME + " now points at " + co.New.Endpoint})
	return nil
}

// Closing is what the engineer reads after a cut-over: DNS, checking the
// application, and how to delete the old instance once it is no longer needed.
func (co *CutOver) Closing() []string {
	old := co.BeforeName
	lines := []string{}
	if co.CNAME != "" {
		old = co.Old.ID
		lines = append(lines, co.CNAME+" points at "+co.New.Endpoint+"; resolvers may keep the old answer for up to its TTL (300 s).")
	} else {
		lines = append(lines,
			co.New.ID+" now answers as "+co.Old.ID+". AWS moves the endpoint's DNS name to it within about 10 minutes; "+
				"connections opened before that still reach the old instance, now "+co.BeforeName+".")
	}
	return append(lines,
		"Check the application reads the restored data (its host, then a page that shows the repaired rows).",
		"The old instance is kept and still costs money. Once the application is verified, delete it with a final snapshot:",
		"  "+awsLine(co.Region, "rds", "delete-db-instance", "--db-instance-identifier", old,
			"--final-db-snapshot-identifier", old+"-final"),
		"  (first: "+awsLine(co.Region, "rds", "modify-db-instance", "--db-instance-identifier", old, "--no-deletion-protection", "--apply-immediately")+
			" if deletion protection is on)")
}
