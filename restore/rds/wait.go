package rds

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// EventKind says what an Event reports.
type EventKind int

const (
	StatusChanged EventKind = iota // the instance's status moved (Status)
	AWSEvent                       // an event RDS recorded for the instance (Message, At)
	StillWaiting                   // a poll found no change (Elapsed)
	Applying                       // a change pgrescue asked for (Message)
	Renamed                        // a cut-over rename finished (Instance is the new name)
	Warning                        // something pgrescue could not read, the work goes on (Message)
)

// Event is the typed progress of a wait or a cut-over.
type Event struct {
	Kind     EventKind
	Instance string
	Status   string
	Message  string
	At       time.Time
	Elapsed  time.Duration
	Usual    Usual
}

func (e Event) String() string {
	switch e.Kind {
	case StatusChanged:
		return fmt.Sprintf("%s is %s (%s)", e.Instance, e.Status, Minutes(e.Elapsed))
	case AWSEvent:
		return fmt.Sprintf("AWS %s: %s", e.At.UTC().Format("15:04:05Z"), e.Message)
	case StillWaiting:
		s := fmt.Sprintf("still %s after %s", e.Status, Minutes(e.Elapsed))
		if e.Usual.Count > 0 {
			s += "; " + e.Usual.String()
		}
		return s
	}
	return e.Message
}

// Minutes shows a wait's length the way people say it.
func Minutes(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d s", int(d.Seconds()))
	}
	return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

// Usual is how long earlier restores in the account took, from their
// events; Count 0 when there were none to learn from.
type Usual struct {
	Min, Max time.Duration
	Count    int
	Class    string // the instance class they were all of; "" when of any size
}

func (u Usual) String() string {
	if u.Count == 0 {
		return "no earlier restore in the last 14 days to compare with"
	}
	of := "earlier restores here (of any size)"
	if u.Class != "" {
		of = "earlier restores of " + u.Class + " here"
	}
	return fmt.Sprintf("%s took %s to %s (%d in the last 14 days)", of, Minutes(u.Min), Minutes(u.Max), u.Count)
}

// WaitOptions bound a wait.
type WaitOptions struct {
	Limit    time.Duration // overall; default 2 hours
	MinDelay time.Duration // between polls; default 15 s
	MaxDelay time.Duration // default 60 s
	Started  time.Time     // when the restore was asked for; default now
	Usual    Usual
}

func (o WaitOptions) withDefaults() WaitOptions {
	o.Limit = cmp.Or(o.Limit, 2*time.Hour)
	o.MinDelay = cmp.Or(o.MinDelay, 15*time.Second)
	o.MaxDelay = max(cmp.Or(o.MaxDelay, 60*time.Second), o.MinDelay)
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	return o
}

// failedStates end a wait: the instance will not become available by itself.
var failedStates = map[string]string{
	"failed":                  "AWS could not create the instance",
	"incompatible-restore":    "AWS cannot restore this backup into an instance with these settings (often the instance class or storage)",
	"incompatible-parameters": "the parameter group's settings stop the instance from starting (often memory settings too large for the class)",
	"incompatible-network":    "the subnet group or security groups cannot be used",
	"storage-full":            "the instance's storage is full",
	"deleting":                "someone is deleting the instance",
	"deleted":                 "the instance was deleted",
}

// WaitAvailable waits, through the SDK's waiter, until the instance is
// available, reporting its status as it moves and the events AWS records.
// ctrl+c (ctx) stops the wait, never the restore.
func (c *Client) WaitAvailable(ctx context.Context, id string, o WaitOptions, report func(Event)) (*Instance, error) {
	return c.wait(ctx, id, o, report, map[string]bool{})
}

// wait is WaitAvailable remembering, in seen, the AWS events already
// reported, so that waits on one instance in a row report each event once.
func (c *Client) wait(ctx context.Context, id string, o WaitOptions, report func(Event), seen map[string]bool) (*Instance, error) {
	o = o.withDefaults()
	report = shellcmd.Serialized(report)
	w := &watch{c: c, id: id, o: o, report: report, seen: seen}
	limited, cancel := context.WithTimeout(ctx, o.Limit)
	defer cancel()
	waiter := rds.NewDBInstanceAvailableWaiter(c.rds, func(wo *rds.DBInstanceAvailableWaiterOptions) {
		wo.MinDelay, wo.MaxDelay = o.MinDelay, o.MaxDelay
		wo.Retryable = w.retryable
	})
	out, err := waiter.WaitForOutput(limited, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, o.Limit+time.Minute)
	switch {
	case w.failure != nil:
		return nil, w.failure
	case ctx.Err() != nil:
		return nil, problem.Wrap(ctx.Err(), problem.Interrupted, id, "stopped waiting for "+id, CheckLater(id))
	case limited.Err() != nil:
		return nil, &problem.Error{Kind: problem.WaitTimeout, Subject: id,
			Summary: fmt.Sprintf("%s was still %s after %s", id, w.status, Minutes(o.Limit)),
			Detail:  o.Usual.String(), Next: CheckLater(id)}
	case err != nil:
		return nil, c.explain(ctx, err, call{"DescribeDBInstances", id})
	}
	in := fromSDK(out.DBInstances[0])
	return &in, nil
}

// watch is one wait's memory: the last status, the events shown, and the
// failure that ended it.
type watch struct {
	c       *Client
	id      string
	o       WaitOptions
	report  func(Event)
	status  string
	seen    map[string]bool
	failure error
	noEvent bool // DescribeEvents was refused once: not asked again
}

func (w *watch) retryable(ctx context.Context, _ *rds.DescribeDBInstancesInput, out *rds.DescribeDBInstancesOutput, err error) (bool, error) {
	elapsed := time.Since(w.o.Started)
	if isNotFound(err) {
		// Just after a rename, or a restore AWS has accepted but not yet
		// listed: the name answers within a minute or two.
		w.see(ctx, "not listed yet", elapsed)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if len(out.DBInstances) == 0 {
		return true, nil
	}
	status := aws.ToString(out.DBInstances[0].DBInstanceStatus)
	w.see(ctx, status, elapsed)
	if status == "available" {
		return false, nil
	}
	if why, failed := failedStates[status]; failed {
		w.failure = &problem.Error{Kind: problem.RDSFailed, Subject: w.id,
			Summary: fmt.Sprintf("%s is %s: %s", w.id, status, why),
			Detail:  "AWS's events for it are shown with the wait",
			Next:    "fix the cause AWS names, then restore again under a new name; the failed instance costs money until you delete it (aws rds delete-db-instance --db-instance-identifier " + w.id + " --skip-final-snapshot)"}
		return false, w.failure
	}
	return true, nil
}

// see reports a status change (or a poll without one) and AWS's new events.
func (w *watch) see(ctx context.Context, status string, elapsed time.Duration) {
	if status != w.status {
		w.status = status
		w.report(Event{Kind: StatusChanged, Instance: w.id, Status: status, Elapsed: elapsed, Usual: w.o.Usual})
	} else {
		w.report(Event{Kind: StillWaiting, Instance: w.id, Status: status, Elapsed: elapsed, Usual: w.o.Usual})
	}
	w.events(ctx)
}

func (w *watch) events(ctx context.Context) {
	if w.noEvent {
		return
	}
	// A span back from AWS's clock, not a start time from ours: a skewed
	// local clock would hide every event.
	minutes := int32(time.Since(w.o.Started).Minutes()) + 60
	out, err := w.c.rds.DescribeEvents(ctx, &rds.DescribeEventsInput{
		SourceIdentifier: aws.String(w.id), SourceType: types.SourceTypeDbInstance, Duration: aws.Int32(minutes)})
	if err != nil {
		if ctx.Err() == nil {
			w.noEvent = true
			w.report(Event{Kind: Warning, Instance: w.id, Message: "AWS's events cannot be shown: " + w.c.explain(ctx, err, call{"DescribeEvents", w.id}).Error()})
		}
		return
	}
	for _, e := range out.Events {
		key := aws.ToTime(e.Date).String() + aws.ToString(e.Message)
		if w.seen[key] {
			continue
		}
		w.seen[key] = true
		w.report(Event{Kind: AWSEvent, Instance: w.id, Message: aws.ToString(e.Message), At: aws.ToTime(e.Date)})
	}
}

// Finish waits for the new instance, applies what RDS takes only once it
// exists (monitoring, Performance Insights), and waits again.
func (p *Plan) Finish(ctx context.Context, o WaitOptions, report func(Event)) (*Instance, error) {
	seen := map[string]bool{}
	in, err := p.client.wait(ctx, p.Target, o, report, seen)
	if err != nil || !p.copy.later() {
		return in, err
	}
	if report != nil {
		report(Event{Kind: Applying, Instance: p.Target, Message: "applying the settings RDS takes only afterwards (monitoring, Performance Insights, storage autoscaling)"})
	}
	if _, err := p.client.rds.ModifyDBInstance(ctx, p.copy.modifyInput(p.Target)); err != nil {
		return nil, p.client.explain(ctx, err, call{"ModifyDBInstance", p.Target})
	}
	return p.client.wait(ctx, p.Target, o, report, seen)
}

// UsualDuration learns how long restores took in this account and region
// from RDS's events of the last 14 days (the most it keeps): from each
// restored instance's first event to its last within six hours. Restores
// of the same instance class count alone when there are any: the time
// grows with the size.
func (c *Client) UsualDuration(ctx context.Context, class string) Usual {
	var events []types.Event
	pages := rds.NewDescribeEventsPaginator(c.rds, &rds.DescribeEventsInput{SourceType: types.SourceTypeDbInstance, Duration: aws.Int32(14 * 24 * 60)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return Usual{} // only a hint: the wait goes on without it
		}
		events = append(events, page.Events...)
	}
	took := restoreDurations(events)
	same := map[string]time.Duration{}
	for id, d := range took {
		if len(same) < maxClassLookups && class != "" {
			if in, err := c.Describe(ctx, id); err == nil && in.Class == class {
				same[id] = d
			}
		}
	}
	u := Usual{}
	if len(same) > 0 {
		took, u.Class = same, class
	}
	for _, d := range took {
		if u.Count == 0 || d < u.Min {
			u.Min = d
		}
		u.Max = max(u.Max, d)
		u.Count++
	}
	return u
}

// maxClassLookups bounds the DescribeDBInstances calls made to learn
// earlier restores' classes.
const maxClassLookups = 20

// restoreDurations are the restored instances' times from first to last
// event (within six hours).
func restoreDurations(events []types.Event) map[string]time.Duration {
	first, last, restored := map[string]time.Time{}, map[string]time.Time{}, map[string]bool{}
	for _, e := range events {
		id, at := aws.ToString(e.SourceIdentifier), aws.ToTime(e.Date)
		if strings.HasPrefix(aws.ToString(e.Message), "Restored from") {
			restored[id] = true
		}
		if f, ok := first[id]; !ok || at.Before(f) {
			first[id] = at
		}
		if at.After(last[id]) && at.Sub(first[id]) < 6*time.Hour {
			last[id] = at
		}
	}
	took := map[string]time.Duration{}
	for id := range restored {
		if d := last[id].Sub(first[id]); d > 0 {
			took[id] = d
		}
	}
	return took
}
