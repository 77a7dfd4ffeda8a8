package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/rds"
)

// rdsNamePage names the new instance: <id>-restored-<yyyymmddhhmm> unless
// the engineer types another, checked against AWS's rules as it is typed.
type rdsNamePage struct {
	basePage
	flow    *rdsFlow
	input   textinput.Model
	problem error
}

func newRDSNamePage(m *Model, f *rdsFlow) *rdsNamePage {
	p := &rdsNamePage{flow: f, input: newTextInput("the new instance's identifier", 63)}
	p.next = rdsCrumbs[3:]
	name := f.req.Target
	if name == "" {
		name = f.freshName(m.deps.Now())
	}
	p.input.SetValue(name)
	p.input.CursorEnd()
	p.revalidate()
	return p
}

func (p *rdsNamePage) Crumb() string          { return "Name" }
func (p *rdsNamePage) Typing() bool           { return true }
func (p *rdsNamePage) Focus(m *Model) tea.Cmd { return p.input.Focus() }
func (p *rdsNamePage) Keys() []key.Binding {
	return []key.Binding{binding("type", "the name"), binding("enter", "check and show the plan", "enter")}
}

func (p *rdsNamePage) name() string { return strings.TrimSpace(p.input.Value()) }

func (p *rdsNamePage) revalidate() {
	p.problem = rds.CheckIdentifier("name", p.name())
	if p.problem == nil && p.name() == p.flow.source {
		p.problem = errTyped(p.flow.source + " is the instance being restored: the new one needs a name of its own. pgrescue never replaces an instance.")
	}
}

func (p *rdsNamePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "enter" {
		return p.choose(m)
	}
	return updateInput(&p.input, msg, p.revalidate)
}

func (p *rdsNamePage) choose(m *Model) tea.Cmd {
	p.revalidate()
	if p.problem != nil {
		return nil
	}
	p.flow.req.Target = p.name()
	m.deps.Journal.Event("rds-name", p.name())
	plan := newRDSPlanPage(p.flow)
	return tea.Batch(m.push(plan), plan.prepare(m))
}

func (p *rdsNamePage) Ask(m *Model) *Question {
	return &Question{Text: "Name of the new instance", Fill: p.flow.freshName(m.deps.Now())}
}

func (p *rdsNamePage) Answer(m *Model, a Answer) tea.Cmd {
	p.input.SetValue(a.Text)
	p.revalidate()
	if p.problem != nil {
		m.say("%s", p.problem.Error())
		return nil
	}
	return p.choose(m)
}

func (p *rdsNamePage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Name the new instance") + "\n")
	b.WriteString(wrapWords("AWS restores "+p.flow.source+" into a new instance of this name, next to it; nothing that exists is changed. "+
		"Keep the suggested name unless you have a reason: it says what it is and when it was made.", w) + "\n\n")
	b.WriteString(p.input.View() + "\n")
	if p.problem != nil {
		b.WriteString(m.st.Error.Render(wrapWords(p.problem.Error(), w)) + "\n")
	} else {
		b.WriteString(m.st.OK.Render("A valid identifier.") + " " + wrapWords("Whether it is free is checked with the plan.", w-22) + "\n")
	}
	b.WriteString("\n" + m.st.Faint.Render(wrapWords("AWS's rule: 1 to 63 letters, digits and hyphens, starting with a letter, no hyphen at the end and no two in a row.", w)) + "\n")
	return b.String()
}
