package walerestore

import (
	"context"
	"fmt"
	"time"

	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// Event is what Run reports: an action starting or ending, or an event of
// the fetch or replay engine.
type Event interface{ isEvent() }

// ActionStarted: an action of the plan begins.
type ActionStarted struct{ Action Action }

// ActionDone: an action ended; Err is nil when it succeeded.
type ActionDone struct {
	Action   Action
	Duration time.Duration
	Err      error
}

// FetchEvent carries an event of the base backup fetch.
type FetchEvent struct{ Event wale.Event }

// ReplayPrepared: the replay is worked out from the fetched data directory.
type ReplayPrepared struct{ Replay *replay.Prepared }

// ReplayEvent carries an event of the WAL replay.
type ReplayEvent struct{ Event replay.Event }

func (ActionStarted) isEvent()  {}
func (ActionDone) isEvent()     {}
func (FetchEvent) isEvent()     {}
func (ReplayPrepared) isEvent() {}
func (ReplayEvent) isEvent()    {}

// Result is how a restore ended.
type Result struct {
	Fetch    *wale.FetchResult
	Replay   *replay.Result
	Began    time.Time
	Duration time.Duration
	Timings  map[ActionID]time.Duration
}

// Run carries out the plan: move the old data directory aside (inside the
// fetch, after its last check), fetch the base backup, then replay WAL to
// the target. report is called from one goroutine at a time. On
// cancellation the fetch labels its partial directory and the replay stops
// the server; the old data directory is never touched.
func (p *Plan) Run(ctx context.Context, report func(Event)) (*Result, error) {
	report = shellcmd.Serialized(report)
	now := p.Options.Now
	if now == nil {
		now = time.Now
	}
	res := &Result{Began: now(), Timings: map[ActionID]time.Duration{}}
	defer func() { res.Duration = now().Sub(res.Began) }()
	t := &timer{plan: p, res: res, report: report, now: now}
	fetched, err := p.fetch(ctx, t)
	res.Fetch = fetched
	if err != nil {
		return res, err
	}
	res.Replay, err = p.replay(ctx, t)
	return res, err
}

func (p *Plan) fetch(ctx context.Context, t *timer) (*wale.FetchResult, error) {
	o := p.Options
	_, moving := p.Action(ActionMoveAside)
	first := ActionFetch
	if moving {
		first = ActionMoveAside
	}
	t.start(first)
	opts := wale.FetchOptions{DataDir: o.PGData, Backup: p.Backup.Name, Workers: o.Workers, MoveAside: moving, Now: o.Now, Resolved: p.resolved,
		TablespaceMapping: o.TablespaceMapping}
	res, err := o.Archive.FetchBackup(ctx, opts, func(e wale.Event) {
		if _, ok := e.(wale.MovedAside); ok && moving {
			t.report(FetchEvent{Event: e})
			t.done(ActionMoveAside, nil)
			t.start(ActionFetch)
			return
		}
		t.report(FetchEvent{Event: e})
	})
	if err != nil && t.current == ActionMoveAside {
		t.done(ActionMoveAside, err)
		return res, err
	}
	t.done(ActionFetch, err)
	return res, err
}

func (p *Plan) replay(ctx context.Context, t *timer) (*replay.Result, error) {
	t.start(ActionReplay)
	opts := p.Options.Replay
	opts.DataDir, opts.Archive, opts.Backup, opts.Target = p.Options.PGData, p.Options.Archive, p.Backup.Name, p.Options.Target
	if opts.Listing == nil && p.Report != nil {
		opts.Listing = p.Report.Listing()
	}
	if opts.Now == nil {
		opts.Now = p.Options.Now
	}
	rp, err := replay.Prepare(ctx, opts)
	if err != nil {
		t.done(ActionReplay, err)
		return nil, err
	}
	t.report(ReplayPrepared{Replay: rp})
	res, err := rp.Run(ctx, func(e replay.Event) { t.report(ReplayEvent{Event: e}) })
	t.done(ActionReplay, err)
	return res, err
}

// timer reports actions starting and ending, with their durations.
type timer struct {
	plan    *Plan
	res     *Result
	report  func(Event)
	now     func() time.Time
	current ActionID
	began   time.Time
}

func (t *timer) start(id ActionID) {
	t.current, t.began = id, t.now()
	a, _ := t.plan.Action(id)
	t.report(ActionStarted{Action: a})
}

func (t *timer) done(id ActionID, err error) {
	d := t.now().Sub(t.began)
	t.res.Timings[id] = d
	a, _ := t.plan.Action(id)
	t.report(ActionDone{Action: a, Duration: d, Err: err})
}

// Summary is what the restore achieved, as the lines every front-end ends
// with (the replay's own lines included).
func (r *Result) Summary() []string {
	var lines []string
	if f := r.Fetch; f != nil {
		lines = append(lines, fmt.Sprintf("[x] fetched %d files (%s) in %s", f.Files, wale.HumanBytes(f.Bytes), f.Duration.Round(time.Second)))
		if f.MovedAsideTo != "" {
			lines = append(lines, "[x] the old data directory is kept at "+f.MovedAsideTo)
		}
	}
	if r.Duration > 0 {
		line := "[x] restore took " + r.Duration.Round(time.Second).String()
		for _, id := range []ActionID{ActionMoveAside, ActionFetch, ActionReplay} {
			if d, ok := r.Timings[id]; ok {
				line += fmt.Sprintf("; %s %s", id, d.Round(time.Second))
			}
		}
		lines = append(lines, line)
	}
	if r.Replay != nil {
		lines = append(lines, r.Replay.Summary()...)
	}
	return lines
}
