package ui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/rds"
	"pgrescue/shellcmd"
)

// rdsCutOverPage points the application at the restored instance, a
// deliberate step of its own, offered only once the new instance is
// available: rename (the old instance aside, the new one into its name, so
// the endpoint stays the same) or a Route53 CNAME. The engine checks both
// instances first, the commands are shown, and nothing runs until the old
// instance's name is typed exactly.
type rdsCutOverPage struct {
	basePage
	flow      *rdsFlow
	phase     rdsCutPhase
	method    int // cutRename or cutCNAME
	record    textinput.Model
	zone      textinput.Model
	field     int // the CNAME's field typed in: 0 the record, 1 the zone
	confirm   textinput.Model
	job       *job
	co        *rds.CutOver
	err       error // the check's or the run's
	refusal   string
	log       []string
	askedStop bool
	stopping  bool
	offset    int
	span      *journal.Span
	now       time.Time // when the page opened: the old instance's new name is made of it
}

type rdsCutPhase int

const (
	cutChoose    rdsCutPhase = iota // rename or CNAME
	cutNames                        // the CNAME's record and zone
	cutPreparing                    // the engine checks both instances and the names
	cutConfirm                      // the commands, and the old name to type
	cutRunning
	cutDone
)

const (
	cutRename = iota
	cutCNAME
)

func newRDSCutOverPage(f *rdsFlow, now time.Time) *rdsCutOverPage {
	p := &rdsCutOverPage{flow: f, now: now,
		record:  newTextInput("the record, e.g. postgres.example.internal", 58),
		zone:    newTextInput("its hosted zone: the domain or the zone's ID", 58),
		confirm: newTextInput("the old instance's name, typed", 63)}
	return p
}

func (p *rdsCutOverPage) Crumb() string { return "Cut-over" }
func (p *rdsCutOverPage) Sealed() bool  { return p.phase >= cutRunning || p.phase == cutNames } // esc in the names: the choice again
func (p *rdsCutOverPage) Typing() bool  { return p.phase == cutNames || p.phase == cutConfirm }

func (p *rdsCutOverPage) Focus(m *Model) tea.Cmd {
	switch p.phase {
	case cutNames:
		if p.field == 0 {
			p.zone.Blur()
			return p.record.Focus()
		}
		p.record.Blur()
		return p.zone.Focus()
	case cutConfirm:
		return p.confirm.Focus()
	}
	return nil
}

func (p *rdsCutOverPage) Keys() []key.Binding {
	switch p.phase {
	case cutChoose:
		return []key.Binding{keyChoose, binding("enter", "check this cut-over", "enter")}
	case cutNames:
		return []key.Binding{binding("tab", "the other field", "tab"), binding("enter", "check this cut-over", "enter"), binding("esc", "rename instead", "esc")}
	case cutConfirm:
		return []key.Binding{binding("up/down", "scroll", "up", "down"), binding("enter", "cut over, once the old name is typed", "enter")}
	case cutDone:
		return []key.Binding{binding("up/down", "scroll", "up", "down"), keyQuit}
	}
	return nil
}

func (p *rdsCutOverPage) old() string      { return p.flow.plan.SourceID }
func (p *rdsCutOverPage) restored() string { return p.flow.restore.instance.ID }

func (p *rdsCutOverPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		for _, e := range msg.events {
			if ev, ok := e.(rds.Event); ok && ev.Kind != rds.StillWaiting {
				p.log = append(p.log, ev.String())
				m.deps.Journal.Event("rds-event", ev.String())
				m.say("%s", ev.String())
			}
		}
		return p.job.listen()
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.job = nil
		switch r := msg.result.(type) {
		case rdsCutChecked:
			return p.checked(m, r)
		case rdsCutRan:
			return p.ran(m, r.err)
		}
	case tea.KeyPressMsg:
		return p.key(m, msg)
	}
	return p.typed(msg)
}

func (p *rdsCutOverPage) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch p.phase {
	case cutChoose:
		switch k.String() {
		case "up", "k":
			p.method = cutRename
		case "down", "j":
			p.method = cutCNAME
		case "enter":
			return p.chosen(m)
		}
		return nil
	case cutNames:
		switch k.String() {
		case "esc":
			p.phase, p.err = cutChoose, nil
			p.record.Blur()
			p.zone.Blur()
			return nil
		case "tab", "shift+tab", "up", "down":
			p.field = 1 - p.field
			return p.Focus(m)
		case "enter":
			if p.field == 0 && strings.TrimSpace(p.zone.Value()) == "" {
				p.field = 1
				return p.Focus(m)
			}
			return p.prepare(m)
		}
	case cutConfirm:
		if scrollKey(&p.offset, k.String()) {
			return nil
		}
		if k.String() == "enter" {
			return p.confirmed(m, p.confirm.Value())
		}
	case cutDone:
		key := k.String()
		switch key {
		case "k":
			key = "up"
		case "j":
			key = "down"
		case "q":
			return m.quit()
		}
		scrollKey(&p.offset, key)
		return nil
	case cutRunning:
		if k.String() == "esc" || k.String() == "n" {
			p.askedStop = false
		}
		return nil
	}
	return p.typed(k)
}

// typed hands a message to the field being typed in.
func (p *rdsCutOverPage) typed(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case p.phase == cutNames && p.field == 0:
		p.record, cmd = p.record.Update(msg)
	case p.phase == cutNames:
		p.zone, cmd = p.zone.Update(msg)
	case p.phase == cutConfirm:
		p.confirm, cmd = p.confirm.Update(msg)
	}
	return cmd
}

// chosen goes on from the method: a rename is checked at once, a CNAME
// needs its record and zone.
func (p *rdsCutOverPage) chosen(m *Model) tea.Cmd {
	p.err = nil
	if p.method == cutCNAME {
		p.phase, p.field = cutNames, 0
		return p.Focus(m)
	}
	return p.prepare(m)
}

type rdsCutChecked struct {
	co  *rds.CutOver
	err error
}

type rdsCutRan struct{ err error }

// prepare has the engine check both instances and the names.
func (p *rdsCutOverPage) prepare(m *Model) tea.Cmd {
	req := rds.CutOverRequest{Old: p.old(), New: p.restored(), Now: p.now}
	if p.method == cutCNAME {
		req.CNAME, req.Zone = strings.TrimSpace(p.record.Value()), strings.TrimSpace(p.zone.Value())
	}
	p.record.Blur()
	p.zone.Blur()
	p.phase, p.err, p.refusal = cutPreparing, nil, ""
	m.deps.Journal.Event("rds-cut-over", "checking: "+p.methodText(false))
	m.say("Checking %s and %s before the cut-over…", req.Old, req.New)
	backend := m.deps.RDS
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		co, err := backend.PrepareCutOver(ctx, req)
		return rdsCutChecked{co, err}
	})
	p.job = j
	return cmd
}

func (p *rdsCutOverPage) checked(m *Model, r rdsCutChecked) tea.Cmd {
	if r.err != nil {
		p.err = r.err
		p.phase = cutChoose
		if p.method == cutCNAME {
			p.phase = cutNames
		}
		m.deps.Journal.Event("rds-cut-over", "refused: "+r.err.Error())
		m.say("%s", r.err.Error())
		if m.plain() {
			p.phase = cutChoose // line by line, the method again
		}
		return p.Focus(m)
	}
	p.co, p.phase, p.offset = r.co, cutConfirm, 0
	p.confirm.SetValue("")
	m.deps.Journal.Event("plan", shellcmd.Script(r.co.Commands()))
	m.say("The cut-over, as aws commands (nothing has been changed yet):")
	m.say("%s", strings.TrimRight(shellcmd.Script(r.co.Commands()), "\n"))
	return p.Focus(m)
}

// confirmed runs the cut-over when the old instance's name was typed
// exactly: enter alone never renames anything.
func (p *rdsCutOverPage) confirmed(m *Model, typed string) tea.Cmd {
	if strings.TrimSpace(typed) != p.old() {
		p.refusal = "Type " + p.old() + " exactly to cut over. Nothing has been changed."
		m.deps.Journal.Event("rds-cut-over", "confirmation refused")
		return nil
	}
	p.refusal = ""
	p.confirm.Blur()
	p.phase = cutRunning
	p.span = m.deps.Journal.Step("RDS cut-over: " + p.old() + " → " + p.restored())
	m.say("Cutting over…")
	co, o := p.co, m.deps.RDS.WaitOptions()
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		return rdsCutRan{co.Run(ctx, o, func(e rds.Event) { emit(e) })}
	})
	p.job = j
	return cmd
}

func (p *rdsCutOverPage) ran(m *Model, err error) tea.Cmd {
	p.phase, p.offset = cutDone, 0
	p.span.End(err)
	f := p.flow
	if err != nil {
		p.err = err
		f.cutOver.err = err
		m.outcome.Err = err
		f.setSummary(m)
		m.deps.Journal.Event("rds-cut-over", "failed: "+err.Error())
		m.say("%s", err.Error())
		if m.plain() {
			return m.end(err)
		}
		return nil
	}
	f.cutOver.done, f.cutOver.closing = true, p.co.Closing()
	f.judge(m)
	f.setSummary(m)
	m.deps.Journal.Event("rds-cut-over", p.old()+" → "+p.restored())
	for _, l := range f.cutOver.closing {
		m.say("%s", l)
	}
	return nil
}

// Interrupt: before the cut-over runs, ctrl+c leaves with the summary;
// while it runs it asks first, since a cut-over stopped between its two
// renames leaves the application's name free.
func (p *rdsCutOverPage) Interrupt(m *Model) tea.Cmd {
	if p.job == nil || p.phase != cutRunning {
		if p.job != nil {
			p.job.cancel()
		}
		return m.quit()
	}
	if !p.askedStop {
		p.askedStop = true
		return nil
	}
	if !p.stopping {
		p.stopping = true
		m.deps.Journal.Event("rds-cut-over", "stopped by the engineer")
		p.job.cancel()
	}
	return nil
}

// Abandon stops a cut-over the program is ending under, and says so in
// the summary.
func (p *rdsCutOverPage) Abandon(m *Model, stop func(*job) bool) {
	if p.job == nil || p.phase != cutRunning {
		return
	}
	stop(p.job)
	p.flow.cutOver.err = problem.New(problem.Interrupted, p.restored(), "the cut-over was stopped before it finished",
		"check both instances with pgrescue rds-status, then finish it by hand with the commands above")
	m.outcome.Err = p.flow.cutOver.err
	p.flow.setSummary(m)
}

func (p *rdsCutOverPage) methodText(long bool) string {
	if p.method == cutCNAME {
		if !long {
			return "Route53 CNAME " + strings.TrimSpace(p.record.Value()) + " in " + strings.TrimSpace(p.zone.Value())
		}
		return p.optionText(cutCNAME)
	}
	if !long {
		return "rename"
	}
	return p.optionText(cutRename)
}

func (p *rdsCutOverPage) optionText(method int) string {
	if method == cutCNAME {
		return "Route53 CNAME: a record you type points at " + p.restored() + "'s endpoint (TTL 300 s), as on the 2019 runbook page; both instances keep their names."
	}
	return "Rename, keeping the endpoint: " + p.old() + " becomes " + rds.BeforeName(p.old(), p.now) + " (kept) and " + p.restored() + " becomes " +
		p.old() + "; AWS moves the endpoint's DNS name within about 10 minutes."
}

func (p *rdsCutOverPage) Ask(m *Model) *Question {
	switch p.phase {
	case cutChoose:
		return &Question{Text: "Cut-over", Options: []string{p.optionText(cutRename), p.optionText(cutCNAME)}, Default: p.method}
	case cutNames:
		if p.field == 0 {
			return &Question{Text: "The Route53 record to point at " + p.restored() + " (e.g. postgres.example.internal)"}
		}
		return &Question{Text: "Its hosted zone (the domain, or the zone's ID)"}
	case cutConfirm:
		return &Question{Text: "Type the old instance's name, " + p.old() + ", to cut over (anything else changes nothing)"}
	}
	return nil
}

func (p *rdsCutOverPage) Answer(m *Model, a Answer) tea.Cmd {
	switch p.phase {
	case cutChoose:
		p.method = a.Choice
		return p.chosen(m)
	case cutNames:
		if p.field == 0 {
			p.record.SetValue(a.Text)
			p.field = 1
			return nil
		}
		p.zone.SetValue(a.Text)
		return p.prepare(m)
	case cutConfirm:
		if strings.TrimSpace(a.Text) != p.old() {
			m.deps.Journal.Event("rds-cut-over", "confirmation refused")
			m.say("Not confirmed: nothing was changed; %s still serves the application.", p.old())
			p.flow.cutOver.refused = true
			p.flow.setSummary(m)
			return m.quit()
		}
		return p.confirmed(m, a.Text)
	}
	return nil
}

func (p *rdsCutOverPage) View(m *Model) string {
	w := m.width - 2
	var head strings.Builder
	head.WriteString(m.st.Bold.Render(wrapWords("Cut-over: point the application at "+p.restored(), w)) + "\n")
	head.WriteString(wrapWords("The application uses "+p.old()+" now. Nothing is deleted or stopped: the old instance is kept, and can be given its name back.", w) + "\n\n")
	var b strings.Builder
	switch p.phase {
	case cutChoose:
		for _, i := range []int{cutRename, cutCNAME} {
			b.WriteString(choiceLine(m, p.optionText(i), i == p.method, w) + "\n")
		}
		if p.err != nil {
			b.WriteString("\n" + m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n")
		}
		return head.String() + b.String()
	case cutNames:
		b.WriteString(wrapWords(p.optionText(cutCNAME), w) + "\n\n")
		b.WriteString("Record       " + p.record.View() + "\n")
		b.WriteString("Hosted zone  " + p.zone.View() + "\n")
		if p.err != nil {
			b.WriteString("\n" + m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n")
		}
		return head.String() + b.String()
	case cutPreparing:
		return head.String() + m.st.Running.Render(wrapWords("Checking "+p.old()+" and "+p.restored()+" and the names before anything changes…", w)) + "\n"
	case cutConfirm:
		foot := "\n" + wrapWords("To cut over, type the old instance's name, "+p.old()+", and press enter:", w) + "\n" + p.confirm.View() + "\n"
		if p.refusal != "" {
			foot += m.st.Error.Render(wrapWords(p.refusal, w)) + "\n"
		}
		head.WriteString(m.st.Bold.Render("The cut-over ("+p.methodText(false)+"), as aws commands") + "\n")
		room := m.bodyHeight() - strings.Count(head.String(), "\n") - strings.Count(foot, "\n") + 1 // foot's first newline ends the list's last line
		return head.String() + scrollLines(commandsView(m, p.co.Commands(), w), &p.offset, room) + foot
	case cutRunning:
		b.WriteString(m.st.Running.Render("Cutting over ("+p.methodText(false)+")…") + "\n")
		for _, l := range p.log {
			b.WriteString("  " + indentAfterFirst(wrapWords(l, w-4), 4) + "\n")
		}
		switch {
		case p.stopping:
			b.WriteString("\n" + m.st.Warn.Render(wrapWords("Stopping: the step under way finishes in AWS; check both instances with pgrescue rds-status.", w)) + "\n")
		case p.askedStop:
			b.WriteString("\n" + m.st.Danger.Render(wrapWords("Stop the cut-over? Stopped between its two renames, the application's instance name answers nowhere until you finish by hand. "+
				"Press ctrl+c again to stop anyway, esc to let it finish.", w)) + "\n")
		}
		return head.String() + b.String()
	}
	if p.err != nil {
		b.WriteString(m.st.Error.Render(wrapWords("The cut-over failed: "+p.err.Error(), w)) + "\n")
	} else {
		b.WriteString(m.st.OK.Render(wrapWords("Cut over: "+p.restored()+" now serves the application in place of "+p.old()+".", w)) + "\n")
		if v := rdsVerdictView(m, p.flow, w); v != "" {
			b.WriteString("\n" + v)
		}
		for _, l := range p.flow.cutOver.closing {
			b.WriteString(closingLine(l, w) + "\n")
		}
	}
	foot := "\n" + wrapWords("Press q to leave; the summary is printed on the terminal.", w) + "\n"
	room := m.bodyHeight() - strings.Count(head.String(), "\n") - strings.Count(foot, "\n") + 1 // foot's first newline ends the list's last line
	return head.String() + scrollLines(b.String(), &p.offset, room) + foot
}
