package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/rds"
)

// rdsWaitPage asks AWS for the new instance, then waits until it is
// available: its status as it moves, AWS's events, a ticking clock next to
// how long restores usually take here. ctrl+c stops the wait, never the
// restore, which goes on in AWS. At the end: the endpoint, the psql line,
// and the cut-over offered as a step of its own.
type rdsWaitPage struct {
	basePage
	flow     *rdsFlow
	job      *job
	result   *rdsWaitDone // filled by the work before it returns, for Abandon
	began    time.Time
	usual    rds.Usual
	accepted *rds.Instance
	status   string
	still    *rds.Event
	log      []string        // the status changes, AWS's events and pgrescue's changes
	seen     map[string]bool // AWS's events shown: the engine's second wait reports them again
	span     *journal.Span
	stopping bool // ctrl+c: the wait is being stopped
	done     bool
	plainAt  time.Duration // plain mode: when "still waiting" was last printed
}

func newRDSWaitPage(f *rdsFlow, began time.Time) *rdsWaitPage {
	p := &rdsWaitPage{flow: f, began: began}
	p.next = rdsCrumbs[5:]
	return p
}

// rdsAccepted: AWS has accepted the restore.
type rdsAccepted struct{ instance *rds.Instance }

// rdsWaitDone is how the restore and the wait ended.
type rdsWaitDone struct {
	accepted bool
	instance *rds.Instance
	err      error
}

// rdsTick redraws the clock once a second while the wait runs.
type rdsTick struct{ page *rdsWaitPage }

func (p *rdsWaitPage) Crumb() string { return "Wait" }
func (p *rdsWaitPage) Sealed() bool  { return true } // the restore was asked for: the plan cannot be confirmed twice

func (p *rdsWaitPage) Keys() []key.Binding {
	switch {
	case p.job != nil:
		return nil // ctrl+c, in every footer, stops the wait: the page says so
	}
	var keys []key.Binding
	if p.flow.canCutOver() {
		keys = append(keys, binding("c", "cut over (a separate step)", "c"))
	}
	if p.flow.canRetry() {
		keys = append(keys, binding("r", "restore again", "r"))
	}
	return append(keys, keyQuit)
}

// start asks AWS for the instance and waits for it. The restore call is not
// cut short by ctrl+c: once asked for, AWS carries it out whatever happens
// here, and the wait after it is what stops.
func (p *rdsWaitPage) start(m *Model) tea.Cmd {
	plan, backend := p.flow.plan, m.deps.RDS
	p.span = m.deps.Journal.Step("RDS restore into " + plan.Target)
	m.say("Asking AWS for %s…", plan.Target)
	res := &rdsWaitDone{}
	p.result = res
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		usual := backend.UsualDuration(ctx, plan.Class())
		emit(usual)
		if ctx.Err() != nil {
			res.err = problem.Wrap(ctx.Err(), problem.Interrupted, plan.Target, "stopped before AWS was asked for the restore",
				"nothing was changed; run pgrescue again")
			return *res
		}
		started := time.Now()
		call, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		in, err := plan.Start(call)
		cancel()
		if err != nil {
			res.err = err
			return *res
		}
		res.accepted = true
		emit(rdsAccepted{in})
		o := backend.WaitOptions()
		o.Started, o.Usual = started, usual
		res.instance, res.err = plan.Finish(ctx, o, func(e rds.Event) { emit(e) })
		return *res
	})
	p.job = j
	return tea.Batch(cmd, p.tick(m))
}

func (p *rdsWaitPage) tick(m *Model) tea.Cmd {
	if m.plain() || p.job == nil {
		return nil
	}
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return rdsTick{p} })
}

// Interrupt stops the wait at once (nothing is lost: the restore goes on in
// AWS); once the wait is over, ctrl+c leaves with the summary.
func (p *rdsWaitPage) Interrupt(m *Model) tea.Cmd {
	if p.job == nil {
		return m.quit()
	}
	if !p.stopping {
		p.stopping = true
		m.deps.Journal.Event("rds-wait", "the engineer stopped waiting")
		p.job.cancel()
	}
	return nil
}

// Abandon stops the wait when the program ends under it, and keeps how it
// ended for the summary.
func (p *rdsWaitPage) Abandon(m *Model, stop func(*job) bool) {
	if p.job == nil {
		return
	}
	if stop(p.job) {
		p.finished(m, *p.result)
	}
}

func (p *rdsWaitPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case rdsTick:
		if msg.page == p {
			return p.tick(m)
		}
	case jobEvents:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		for _, e := range msg.events {
			p.apply(m, e)
		}
		return p.job.listen()
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.job = nil
		return p.finished(m, msg.result.(rdsWaitDone))
	case tea.KeyPressMsg:
		if p.job != nil {
			return nil
		}
		switch msg.String() {
		case "c":
			if p.flow.canCutOver() {
				return p.cutOver(m)
			}
		case "r":
			if p.flow.canRetry() {
				return p.flow.retry(m)
			}
		case "q":
			return m.quit()
		}
	}
	return nil
}

func (p *rdsWaitPage) apply(m *Model, e any) {
	switch e := e.(type) {
	case rds.Usual:
		p.usual = e
	case rdsAccepted:
		p.accepted = e.instance
		p.status = e.instance.Status
		p.note(m, "AWS accepted the restore: "+e.instance.ID+" is "+e.instance.Status)
	case rds.Event:
		switch e.Kind {
		case rds.StillWaiting:
			p.still = &e
			if e.Elapsed-p.plainAt >= time.Minute {
				p.plainAt = e.Elapsed
				m.say("%s", e.String())
			}
			return
		case rds.StatusChanged:
			p.status = e.Status
			p.still = nil
		case rds.AWSEvent:
			if p.seen[e.String()] {
				return
			}
			if p.seen == nil {
				p.seen = map[string]bool{}
			}
			p.seen[e.String()] = true
		}
		p.note(m, e.String())
	}
}

// note records one change: on the page, in the journal, said in plain mode.
func (p *rdsWaitPage) note(m *Model, text string) {
	p.log = append(p.log, text)
	m.deps.Journal.Event("rds-event", text)
	m.say("%s", text)
}

// finished records how the wait ended: the summary, the journal, the
// outcome; in plain mode a failure ends the session.
func (p *rdsWaitPage) finished(m *Model, r rdsWaitDone) tea.Cmd {
	p.done = true
	f := p.flow
	f.restore = rdsRestoreOutcome{started: r.accepted, instance: r.instance, took: m.deps.Now().Sub(p.began), err: r.err, events: p.log}
	p.span.End(r.err)
	if f.canRetry() { // an exercise is judged on what AWS made, or failed to
		f.judge(m)
	}
	f.setSummary(m)
	m.outcome.Err = r.err
	switch {
	case r.err == nil:
		in := r.instance
		m.deps.Journal.Event("rds-available", in.ID+" at "+in.Endpoint+":"+strconv.Itoa(int(in.Port)))
		m.say("%s is available at %s port %d (after %s).", in.ID, in.Endpoint, in.Port, rds.Minutes(f.restore.took))
		m.say("Check it: %s", rds.PsqlLine(in))
		if f.canCutOver() {
			m.say("The application still uses %s: the cut-over is a separate step.", f.plan.SourceID)
		}
		return nil
	case interrupted(r.err) && r.accepted:
		m.say("Stopped waiting: %s.", rds.CheckLater(f.plan.Target))
	default:
		m.say("%s", r.err.Error())
		if m.deps.Training != nil {
			return nil // line by line, the exercise asks whether to restore again
		}
	}
	if m.plain() {
		return m.end(r.err)
	}
	return nil
}

func (p *rdsWaitPage) cutOver(m *Model) tea.Cmd {
	m.deps.Journal.Event("rds-cut-over", "offered and chosen")
	c := newRDSCutOverPage(p.flow, m.deps.Now())
	return tea.Batch(m.push(c), c.Focus(m))
}

// rdsNext is what the engineer can do once the wait is over.
type rdsNext int

const (
	nextStop rdsNext = iota
	nextCutOver
	nextRetry
)

// choices are the answers offered line by line: stop, cut over once the
// new instance is available, and in an exercise restore again.
func (p *rdsWaitPage) choices() []rdsNext {
	f := p.flow
	var c []rdsNext
	if f.canCutOver() {
		c = append(c, nextStop, nextCutOver)
	}
	if f.canRetry() && f.training {
		if len(c) == 0 {
			c = append(c, nextStop)
		}
		c = append(c, nextRetry)
	}
	return c
}

// Ask offers the cut-over once the new instance is available (and, in an
// exercise, to restore again).
func (p *rdsWaitPage) Ask(m *Model) *Question {
	choices := p.choices()
	if p.job != nil || len(choices) == 0 {
		return nil
	}
	f := p.flow
	q := &Question{Text: "Cut over now"}
	if !f.canCutOver() {
		q.Text = "Restore again"
	}
	for _, c := range choices {
		switch c {
		case nextStop:
			text := "No: stop here"
			if f.canCutOver() {
				text += " and check the restored data first (later: " + cutOverLater(f.plan.SourceID, f.plan.Target) + ")"
			}
			q.Options = append(q.Options, text)
		case nextCutOver:
			q.Options = append(q.Options, "Yes: point the application at "+f.plan.Target+" now (rename, or a Route53 CNAME)")
		case nextRetry:
			q.Options = append(q.Options, "Restore again: another restore point or name (what AWS made is kept)")
		}
	}
	return q
}

func (p *rdsWaitPage) Answer(m *Model, a Answer) tea.Cmd {
	switch p.choices()[a.Choice] {
	case nextCutOver:
		return p.cutOver(m)
	case nextRetry:
		return p.flow.retry(m)
	}
	m.deps.Journal.Event("rds-cut-over", "not now")
	return m.end(p.flow.restore.err)
}

func (p *rdsWaitPage) View(m *Model) string {
	w := m.width - 2
	f := p.flow
	var b strings.Builder
	b.WriteString(m.st.Bold.Render(wrapWords("Restoring into "+f.plan.Target, w)) + "\n")
	b.WriteString(wrapWords("From "+restoredFrom(f.plan)+".", w) + "\n\n")
	switch {
	case !p.done:
		status := p.status
		if status == "" {
			status = "asking AWS"
		}
		b.WriteString(padRight("Status", 10) + m.st.Running.Render(status) + "\n")
		b.WriteString(labelled("Elapsed", rds.Minutes(m.deps.Now().Sub(p.began)), w) + "\n")
		b.WriteString(labelled("Usually", p.usual.String(), w) + "\n")
		if p.stopping {
			b.WriteString("\n" + m.st.Warn.Render(wrapWords("Stopping the wait; the restore goes on in AWS.", w)) + "\n")
		} else {
			b.WriteString("\n" + wrapWords("ctrl+c stops waiting, never the restore: "+rds.CheckLater(f.plan.Target)+".", w) + "\n")
		}
	case f.restore.err == nil:
		in := f.restore.instance
		b.WriteString(m.st.OK.Render(wrapWords(fmt.Sprintf("%s is available (after %s).", in.ID, rds.Minutes(f.restore.took)), w)) + "\n")
		b.WriteString(labelled("Endpoint", in.Endpoint, w) + "\n")
		b.WriteString(labelled("Port", strconv.Itoa(int(in.Port)), w) + "\n")
		b.WriteString(labelled("Check it", rds.PsqlLine(in), w) + "\n\n")
		b.WriteString(p.verdictView(m, w))
		b.WriteString(wrapWords(p.nextText(), w) + "\n")
	case interrupted(f.restore.err) && f.restore.started:
		b.WriteString(m.st.Warn.Render(wrapWords("Stopped waiting after "+rds.Minutes(f.restore.took)+": "+rds.CheckLater(f.plan.Target)+".", w)) + "\n")
		b.WriteString(wrapWords("Press q to leave; the summary is printed on the terminal.", w) + "\n")
	default:
		b.WriteString(m.st.Error.Render(wrapWords(f.restore.err.Error(), w)) + "\n")
		b.WriteString(p.verdictView(m, w))
		b.WriteString(wrapWords("Press r to restore again under another name (the failed instance is kept: delete it once read), or q to leave; the summary is printed on the terminal.", w) + "\n")
	}
	room := m.bodyHeight() - strings.Count(b.String(), "\n") - 2 // the blank line and the title above the log
	b.WriteString(p.logView(m, w, room))
	return b.String()
}

// nextText is what follows an available instance.
func (p *rdsWaitPage) nextText() string {
	f := p.flow
	if !f.canCutOver() {
		return "The source instance no longer exists: point the application at the endpoint above. Press r to restore again, or q to leave; the summary is printed on the terminal."
	}
	return "The application still uses " + f.plan.SourceID + ". Check the restored data first. Then press c to cut over " +
		"(rename, keeping the endpoint, or a Route53 CNAME), r to restore again, or q to leave and cut over later with " +
		"pgrescue rds cut-over --old " + f.plan.SourceID + " --new " + f.plan.Target + "."
}

// verdictView is an exercise's verdict, once judged.
func (p *rdsWaitPage) verdictView(m *Model, w int) string {
	return rdsVerdictView(m, p.flow, w)
}

func rdsVerdictView(m *Model, f *rdsFlow, w int) string {
	switch {
	case f.verdict == "":
		return ""
	case f.passed:
		return m.st.OK.Render(wrapWords(f.verdict, w)) + "\n\n"
	}
	return m.st.Fail.Render(wrapWords(f.verdict, w)) + "\n\n"
}

// logView is the tail of what AWS reported, fitting room lines.
func (p *rdsWaitPage) logView(m *Model, w, room int) string {
	lines := p.log
	if p.still != nil && !p.done {
		lines = append(append([]string(nil), lines...), p.still.String())
	}
	if len(lines) == 0 || room < 1 {
		return ""
	}
	var wrapped []string // whole entries, the newest that fit
	for i := len(lines) - 1; i >= 0; i-- {
		entry := strings.Split(indentAfterFirst("  "+wrapWords(lines[i], w-4), 4), "\n")
		if len(wrapped)+len(entry) > room {
			break
		}
		wrapped = append(entry, wrapped...)
	}
	if len(wrapped) == 0 {
		return ""
	}
	return "\n" + m.st.Faint.Render("What AWS reported") + "\n" + strings.Join(wrapped, "\n") + "\n"
}

// labelled is a value under a label ten cells wide, its lines wrapped
// under the value.
func labelled(label, value string, w int) string {
	return padRight(label, 10) + indentAfterFirst(wrapWords(value, w-10), 10)
}

// closingLine wraps one of the cut-over's closing lines: a command (two
// spaces in) hangs under itself.
func closingLine(l string, w int) string {
	if rest, ok := strings.CutPrefix(l, "  "); ok {
		return "  " + indentAfterFirst(wrapWords(rest, w-4), 4)
	}
	return wrapWords(l, w)
}
