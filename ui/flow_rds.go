package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"pgrescue/problem"
	"pgrescue/restore/rds"
	"pgrescue/shellcmd"
)

// The RDS flow restores an application's AWS RDS instance into a new
// instance (point in time or snapshot), waits until it is available, and
// offers the deliberate cut-over.

// RDSBackend does the RDS flow's work; *rds.Client satisfies it (the
// wizard's backend connects lazily with the application's region).
type RDSBackend interface {
	FindByApp(ctx context.Context, app string) ([]rds.Instance, error)
	Status(ctx context.Context, id string, now time.Time) (*rds.Status, error)
	Prepare(ctx context.Context, req rds.Request) (*rds.Plan, error)
	UsualDuration(ctx context.Context, class string) rds.Usual
	PrepareCutOver(ctx context.Context, req rds.CutOverRequest) (*rds.CutOver, error)
	// WaitOptions bound the waits (the demo's simulator is polled every second).
	WaitOptions() rds.WaitOptions
}

// rdsCrumbs are the flow's pages, for the breadcrumb.
var rdsCrumbs = []string{"Instance", "Restore point", "Name", "Plan", "Wait", "Cut-over"}

// rdsFlow is the flow's state, shared by its pages; its summary is the
// session's, rewritten as the flow goes on.
type rdsFlow struct {
	sel      Selection
	zone     *time.Location // the engineer's: typed times are read in it, times shown in it and UTC
	dryRun   bool
	training bool   // an exercise: line by line, restoring again is offered
	source   string // the instance chosen
	req      rds.Request
	plan     *rds.Plan
	point    *rdsPointPage
	restore  rdsRestoreOutcome
	cutOver  rdsCutOverOutcome
	used     map[string]bool // names of instances this session asked AWS for
	verdict  string          // an exercise's, once judged
	passed   bool
}

// rdsRestoreOutcome is what the wait page learnt.
type rdsRestoreOutcome struct {
	started  bool          // AWS accepted the restore
	instance *rds.Instance // available, once the wait ended well
	took     time.Duration
	err      error
	events   []string // the status changes and AWS's events, for a failure's summary
}

// rdsCutOverOutcome is what the cut-over page did.
type rdsCutOverOutcome struct {
	done    bool
	closing []string
	err     error
	refused bool // the old name was not typed: nothing was changed
}

// rdsZone is the engineer's time zone: typed times are read in it and
// times are shown in it next to UTC. Tests give another.
var rdsZone = func() *time.Location { return time.Local }

// startRDS begins the RDS flow, or shows the runbook's manual steps when
// no backend is wired (the runbook page stays the fallback).
// regional is a backend that takes the application's region from
// pgrescue's config when no --aws-region was given.
type regional interface{ DefaultRegion(region string) }

func startRDS(m *Model, s Selection) tea.Cmd {
	if m.deps.RDS == nil {
		return startRDSRunbook(m, s)
	}
	f := &rdsFlow{sel: s, zone: rdsZone(), dryRun: m.deps.DryRun, used: map[string]bool{},
		training: m.deps.Training != nil}
	m.deps.Journal.Event("rds", "the RDS flow started")
	if r, ok := m.deps.RDS.(regional); ok && s.Details.RDS.Region != "" {
		r.DefaultRegion(s.Details.RDS.Region)
	}
	p := newRDSInstancePage(m, f)
	return tea.Batch(m.push(p), p.find(m))
}

// canCutOver: the new instance is available and the old one exists to be
// replaced (a deleted source leaves nothing to cut over from).
func (f *rdsFlow) canCutOver() bool {
	return f.restore.instance != nil && f.plan != nil && f.plan.Source != nil && !f.cutOver.done
}

// freshName is the name suggested for a new instance: the default, made
// unique among those asked for in this session (a restore again within
// the same minute).
func (f *rdsFlow) freshName(now time.Time) string {
	base := rds.DefaultName(f.source, now)
	name := base
	for i := 2; f.used[name]; i++ {
		suffix := fmt.Sprintf("-%d", i)
		name = strings.TrimRight(base[:min(len(base), 63-len(suffix))], "-") + suffix
	}
	return name
}

// canRetry: once a wait has ended (available or failed), the restore can
// be asked for again with another point or name, until a cut-over was done.
func (f *rdsFlow) canRetry() bool {
	r := f.restore
	return f.plan != nil && !f.cutOver.done && (r.instance != nil || r.err != nil && !(interrupted(r.err) && r.started))
}

// retry forgets the last restore's outcome and goes back to the restore
// point, read again: the instance made is left as it is (pgrescue deletes
// nothing), and the next one gets a name of its own.
func (f *rdsFlow) retry(m *Model) tea.Cmd {
	m.deps.Journal.Event("rds", "the engineer restores again (the last try was "+f.plan.Target+")")
	f.used[f.plan.Target] = true
	f.plan, f.restore, f.cutOver, f.verdict, f.passed = nil, rdsRestoreOutcome{}, rdsCutOverOutcome{}, "", false
	f.req.Target = ""
	m.outcome = Outcome{}
	return tea.Batch(m.popTo(f.point), f.point.load(m))
}

// judge asks an exercise whether the restore (and the cut-over) reached
// its goal, and says so.
func (f *rdsFlow) judge(m *Model) {
	t := m.deps.Training
	if t == nil || t.CheckRDS == nil {
		return
	}
	ok, message := t.CheckRDS()
	took := "You took " + m.deps.Now().Sub(m.began).Round(time.Second).String() + "."
	f.passed = ok
	if ok {
		f.verdict = "Exercise passed: " + message + " " + took
	} else {
		f.verdict = "Not quite: " + message + " " + took
	}
	m.deps.Journal.Event("exercise", f.verdict)
	m.say("%s", f.verdict)
}

// cutOverLater is the command that does the cut-over another time.
func cutOverLater(old, restored string) string {
	return "pgrescue rds cut-over --old " + shellcmd.Quote(old) + " --new " + shellcmd.Quote(restored) +
		" (renames, keeping the endpoint; add --cname RECORD --zone ZONE for a Route53 record instead)"
}

// restoredFrom says what the plan restores, in the engineer's zone and UTC.
func restoredFrom(p *rds.Plan) string {
	switch {
	case p.Method == rds.FromSnapshot:
		return fmt.Sprintf("snapshot %s of %s (taken %s)", p.Snapshot.ID, p.SourceID, rds.Both(p.Snapshot.Created, p.Zone))
	case p.Latest && p.Window != nil:
		return p.SourceID + " as of its latest restorable time (" + rds.Both(p.Window.Latest, p.Zone) + ")"
	case p.Latest:
		return p.SourceID + " as of its latest restorable time"
	}
	return p.SourceID + " as of " + rds.Both(p.Time, p.Zone)
}

// summary is the session's summary: what was done, then the next steps.
func (f *rdsFlow) summary(m *Model) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p, r, c := f.plan, f.restore, f.cutOver
	if p == nil {
		return ""
	}
	if m.deps.DryRun {
		line("Dry run: nothing was changed. The plan for %s, as the aws commands an engineer would type:", p.Target)
		line("")
		b.WriteString(shellcmd.Script(p.Commands()))
		return b.String()
	}
	var next []string
	switch {
	case r.instance != nil:
		in := r.instance
		line("Restored %s into a new instance, %s, in %s (%s).", restoredFrom(p), in.ID, rds.Minutes(r.took), p.Region)
		line("Endpoint: %s port %d", in.Endpoint, in.Port)
		line("Check it: %s", rds.PsqlLine(in))
	case r.err != nil && interrupted(r.err) && r.started:
		line("Stopped waiting for %s after %s: %s.", p.Target, rds.Minutes(r.took), rds.CheckLater(p.Target))
		next = append(next, "once "+p.Target+" is available, check its data, then cut over: "+cutOverLater(p.SourceID, p.Target))
	case r.err != nil && interrupted(r.err):
		line("Stopped before AWS was asked for the restore: nothing was changed.")
		next = append(next, "run pgrescue again when you are ready")
	case r.err != nil:
		what, then := problemParts(r.err)
		line("The restore of %s into %s failed: %s", restoredFrom(p), p.Target, what)
		if then != "" {
			next = append(next, then)
		}
		if len(r.events) > 0 {
			line("What AWS reported:")
			for _, e := range r.events {
				line("  %s", e)
			}
		}
	default:
		return ""
	}
	if f.verdict != "" {
		line("")
		line("%s", f.verdict)
	}
	switch {
	case c.done:
		line("")
		line("Cut over: %s now serves the application in place of %s.", p.Target, p.SourceID)
		for _, l := range c.closing {
			line("%s", l)
		}
		return b.String()
	case c.err != nil:
		what, then := problemParts(c.err)
		line("")
		line("The cut-over failed: %s", what)
		if then != "" {
			next = append(next, then)
		}
		next = append(next, "check both instances with pgrescue rds-status --instance "+p.SourceID+" and --instance "+p.Target)
	case r.instance != nil && p.Source == nil:
		next = append(next, "check its data, then point the application at "+r.instance.Endpoint+
			": the source instance no longer exists, so there is nothing to rename or cut over from")
	case r.instance != nil:
		if c.refused {
			line("The cut-over was not confirmed: %s still serves the application, nothing was renamed.", p.SourceID)
		}
		next = append(next, "check its data with the psql line above, then cut over: "+cutOverLater(p.SourceID, r.instance.ID))
	}
	if len(next) > 0 {
		line("")
		line("Next steps:")
		for _, n := range next {
			line("- %s", n)
		}
	}
	return b.String()
}

// setSummary makes the flow's summary the session's.
func (f *rdsFlow) setSummary(m *Model) { m.outcome.Summary = f.summary(m) }

// rdsInstanceLine describes an instance in one line: engine and version,
// class, status, Multi-AZ, storage.
func rdsInstanceLine(in rds.Instance) string {
	az := "Single-AZ"
	if in.MultiAZ {
		az = "Multi-AZ"
	}
	storage := fmt.Sprintf("%d GiB %s", in.AllocatedGiB, in.StorageType)
	if in.Encrypted {
		storage += ", encrypted"
	}
	return fmt.Sprintf("%s %s, %s, %s, %s, %s", in.Engine, in.EngineVersion, in.Class, in.Status, az, storage)
}

// problemParts splits an error into what happened and its next step, so
// that the summary can end with the next steps.
func problemParts(err error) (what, next string) {
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Next == "" {
		return err.Error(), ""
	}
	without := *pe
	without.Next = ""
	return without.Error(), pe.Next
}
