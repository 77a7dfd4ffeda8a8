package ui

import (
	"context"
	"log/slog"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/problem"
	"pgrescue/restore/rds"
	"pgrescue/shellcmd"
)

// rdsPlanPage checks the restore (the engine's Prepare: the source, its
// window or snapshot, the name free) and shows it before anything
// changes: every setting of the new instance next to the source's, and
// the aws commands. y starts it; in a dry run the plan is the end.
type rdsPlanPage struct {
	basePage
	flow   *rdsFlow
	job    *job
	plan   *rds.Plan
	err    error
	offset int
	hint   string // enter was pressed: y is the key
}

func newRDSPlanPage(f *rdsFlow) *rdsPlanPage {
	p := &rdsPlanPage{flow: f}
	p.next = rdsCrumbs[4:]
	return p
}

func (p *rdsPlanPage) Crumb() string { return "Plan" }

func (p *rdsPlanPage) Keys() []key.Binding {
	switch {
	case p.job != nil:
		return nil
	case p.plan == nil:
		return []key.Binding{binding("r", "check again", "r")}
	case p.flow.dryRun:
		return []key.Binding{keyPlanScroll, binding("enter/q", "finish: nothing runs", "enter", "q")}
	}
	return []key.Binding{keyPlanScroll, binding("y", "start the restore", "y")}
}

var keyPlanScroll = binding("up/down", "scroll the plan", "up", "down", "pgup", "pgdown")

func (p *rdsPlanPage) prepare(m *Model) tea.Cmd {
	p.plan, p.err, p.hint = nil, nil, ""
	p.flow.plan = nil
	req, backend := p.flow.req, m.deps.RDS
	m.say("Checking %s, the restore point and the name %s before anything changes…", req.Source, req.Target)
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		plan, err := backend.Prepare(ctx, req)
		if err != nil {
			return err
		}
		return plan
	})
	p.job = j
	return cmd
}

func (p *rdsPlanPage) prepared(m *Model, result any) tea.Cmd {
	if err, ok := result.(error); ok {
		p.err = err
		m.deps.Journal.Event("plan", "refused: "+err.Error())
		m.say("%s", err.Error())
		if !m.plain() {
			return nil
		}
		switch {
		case problem.Is(err, problem.OutsideWindow) && p.flow.point != nil:
			return m.popTo(p.flow.point) // another restore point
		case problem.Is(err, problem.NameTaken):
			return m.back() // another name
		}
		return m.end(err)
	}
	plan := result.(*rds.Plan)
	p.plan, p.flow.plan = plan, plan
	m.deps.Journal.Event("plan", shellcmd.Script(plan.Commands()), slog.String("target", plan.Target), slog.String("from", restoredFrom(plan)))
	m.say("The plan (nothing has been changed yet): restore %s into a new instance, %s, in %s.", restoredFrom(plan), plan.Target, plan.Region)
	m.say("Settings of the new instance (source → new):")
	for _, s := range plan.Settings {
		m.say("  %s", settingText(s, plan.Source != nil))
	}
	m.say("The same as aws commands:")
	m.say("%s", strings.TrimRight(shellcmd.Script(plan.Commands()), "\n"))
	if m.deps.DryRun {
		p.flow.setSummary(m)
		if m.plain() {
			m.say("Dry run: nothing was run.")
			return m.end(nil)
		}
	}
	return nil
}

// settingText is one setting: "name: source → new", marked when the new
// value is not the source's and when RDS takes it only afterwards.
func settingText(s rds.Setting, sourceKnown bool) string {
	if !sourceKnown { // nothing to copy from: the engine's one row says so
		return s.Name + ": " + s.New
	}
	text := s.Name + ": " + orNone(s.Source) + " → " + orNone(s.New)
	if s.Source != s.New {
		text += "  [differs]"
	}
	if s.Later {
		text += "  [applied once the instance is available]"
	}
	return text
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (p *rdsPlanPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.job = nil
		return p.prepared(m, msg.result)
	case tea.KeyPressMsg:
		if p.job != nil {
			return nil
		}
		if scrollKey(&p.offset, msg.String()) {
			return nil
		}
		switch msg.String() {
		case "r":
			if p.plan == nil {
				return p.prepare(m)
			}
		case "enter", "q":
			if p.plan != nil && m.deps.DryRun {
				return m.quit()
			}
			if p.plan != nil && msg.String() == "enter" {
				p.hint = "Press y to start the restore (enter alone does not)."
			}
		case "y":
			if p.plan != nil && !m.deps.DryRun {
				return p.start(m)
			}
		}
	}
	return nil
}

// start asks AWS for the new instance and waits for it on the next page.
func (p *rdsPlanPage) start(m *Model) tea.Cmd {
	m.deps.Journal.Event("plan", "confirmed: restore into "+p.plan.Target)
	wait := newRDSWaitPage(p.flow, m.deps.Now())
	return tea.Batch(m.push(wait), wait.start(m))
}

// Ask is the go-ahead: yes, or the new instance's name.
func (p *rdsPlanPage) Ask(m *Model) *Question {
	if p.job != nil || p.plan == nil {
		return nil
	}
	return &Question{Text: "Type yes (or the new instance's name, " + p.plan.Target + ") to start the restore"}
}

// Answer refuses anything else: a script must not start a restore by
// accident.
func (p *rdsPlanPage) Answer(m *Model, a Answer) tea.Cmd {
	switch strings.TrimSpace(a.Text) {
	case "y", "yes", p.plan.Target:
		return p.start(m)
	}
	m.deps.Journal.Event("plan", "confirmation refused")
	return m.end(problem.New(problem.Usage, "confirmation", "the restore was not confirmed: nothing was run",
		"run pgrescue again and answer yes, or use pgrescue restore rds with the commands above"))
}

func (p *rdsPlanPage) View(m *Model) string {
	w := m.width - 2
	var head strings.Builder
	head.WriteString(m.st.Bold.Render("The plan: nothing has been changed yet") + "\n")
	switch {
	case p.job != nil:
		return head.String() + "\n" + m.st.Running.Render(wrapWords("Checking "+p.flow.req.Source+", the restore point and the name "+p.flow.req.Target+"…", w)) + "\n"
	case p.err != nil:
		next := "Press esc to change the restore point or the name, r to check again."
		if problem.Is(p.err, problem.NameTaken) {
			next = "Press esc to choose another name."
		} else if problem.Is(p.err, problem.OutsideWindow) {
			next = "Press esc twice to choose another restore point."
		}
		return head.String() + "\n" + m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n\n" + wrapWords(next, w) + "\n"
	case p.plan == nil:
		return head.String()
	}
	plan := p.plan
	head.WriteString(wrapWords("Restore "+restoredFrom(plan)+" into a new instance, "+plan.Target+", in "+plan.Region+".", w) + "\n\n")
	var body strings.Builder
	body.WriteString(m.st.Bold.Render("Settings of the new instance (source → new)") + "\n")
	for _, s := range plan.Settings {
		body.WriteString("  " + indentAfterFirst(wrapWords(settingText(s, plan.Source != nil), w-4), 4) + "\n")
	}
	body.WriteString("\n" + m.st.Bold.Render("The same as aws commands") + "\n")
	body.WriteString(commandsView(m, plan.Commands(), w))
	foot := "\n" + p.confirmView(m, w)
	room := m.bodyHeight() - strings.Count(head.String(), "\n") - strings.Count(foot, "\n") + 1 // foot's first newline ends the list's last line
	return head.String() + scrollLines(body.String(), &p.offset, room) + foot
}

func (p *rdsPlanPage) confirmView(m *Model, w int) string {
	if m.deps.DryRun {
		return m.st.Warn.Render(wrapWords("Dry run: press enter to finish; nothing will run.", w)) + "\n"
	}
	text := wrapWords("Press y to start: AWS creates "+p.plan.Target+" (billed while it exists); nothing that exists is changed.", w) + "\n"
	if p.hint != "" {
		text += m.st.Warn.Render(wrapWords(p.hint, w)) + "\n"
	}
	return text
}
