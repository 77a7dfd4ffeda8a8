package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/rds"
)

// rdsInstancePage chooses the instance to restore: those found for the
// application (by its tags or a name starting with it), the one the config
// names preselected, or an identifier typed.
type rdsInstancePage struct {
	basePage
	flow    *rdsFlow
	job     *job
	found   []rds.Instance
	err     error // the search's
	cursor  int   // rows: found, then "type an identifier"
	input   textinput.Model
	problem error // the typed identifier's
	askID   bool  // plain mode: the identifier is the next question
}

func newRDSInstancePage(m *Model, f *rdsFlow) *rdsInstancePage {
	p := &rdsInstancePage{flow: f, input: newTextInput("e.g. content-publisher-postgres", 50)}
	p.next = rdsCrumbs[1:]
	p.input.SetValue(f.sel.Details.RDS.Instance)
	return p
}

func (p *rdsInstancePage) Crumb() string { return "Instance" }
func (p *rdsInstancePage) typedRow() bool {
	return p.cursor == len(p.found)
}
func (p *rdsInstancePage) Typing() bool { return p.job == nil && p.typedRow() }

func (p *rdsInstancePage) Focus(m *Model) tea.Cmd {
	if p.Typing() {
		return p.input.Focus()
	}
	return nil
}

func (p *rdsInstancePage) Keys() []key.Binding {
	if p.job != nil {
		return nil
	}
	keys := []key.Binding{binding("up/down", "choose", "up", "down")}
	if p.err != nil && p.flow.sel.App.Name() != "" {
		keys = append(keys, binding("ctrl+r", "search again", "ctrl+r"))
	}
	return append(keys, binding("enter", "its restore points", "enter"))
}

// find lists the application's instances; with no application (the
// catalog skipped) there is nothing to search by: the identifier is typed.
func (p *rdsInstancePage) find(m *Model) tea.Cmd {
	app := p.flow.sel.App.Name()
	if app == "" {
		p.searched(m, nil, nil)
		return p.Focus(m)
	}
	p.err = nil
	m.say("Looking for %s's RDS instances…", app)
	backend := m.deps.RDS
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		found, err := backend.FindByApp(ctx, app)
		return rdsFound{found, err}
	})
	p.job = j
	return cmd
}

type rdsFound struct {
	found []rds.Instance
	err   error
}

// searched keeps what was found and preselects the instance the config
// names: its row, or the typed row with its name when the search missed it.
func (p *rdsInstancePage) searched(m *Model, found []rds.Instance, err error) {
	p.found, p.err = found, err
	named := p.flow.sel.Details.RDS.Instance
	p.cursor = 0
	if i := slices.IndexFunc(found, func(in rds.Instance) bool { return in.ID == named }); i >= 0 {
		p.cursor = i
	} else if named != "" || len(found) == 0 {
		p.cursor = len(found)
	}
	switch {
	case err != nil:
		m.deps.Journal.Event("rds-instance", "search failed: "+err.Error())
		m.say("%s", err.Error())
	case p.flow.sel.App.Name() != "":
		m.deps.Journal.Event("rds-instance", fmt.Sprintf("found %d for %s", len(found), p.flow.sel.App.Name()))
		if len(found) == 0 {
			m.say("No RDS instance is tagged with %s or named after it.", p.flow.sel.App.Name())
		}
	}
	p.revalidate()
}

func (p *rdsInstancePage) revalidate() {
	p.problem = nil
	if id := strings.TrimSpace(p.input.Value()); id != "" {
		p.problem = rds.CheckIdentifier("instance", id)
	}
}

func (p *rdsInstancePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.job = nil
		r := msg.result.(rdsFound)
		p.searched(m, r.found, r.err)
		return p.Focus(m)
	case tea.KeyPressMsg:
		if p.job != nil {
			return nil
		}
		switch msg.String() {
		case "up":
			return p.move(m, -1)
		case "down":
			return p.move(m, 1)
		case "ctrl+r":
			if p.err != nil {
				return p.find(m)
			}
			return nil
		case "enter":
			return p.choose(m)
		}
	}
	if !p.Typing() {
		return nil
	}
	return updateInput(&p.input, msg, p.revalidate)
}

func (p *rdsInstancePage) move(m *Model, by int) tea.Cmd {
	p.cursor = min(max(p.cursor+by, 0), len(p.found))
	if p.typedRow() {
		return p.input.Focus()
	}
	p.input.Blur()
	return nil
}

// choose goes on with the chosen or typed instance.
func (p *rdsInstancePage) choose(m *Model) tea.Cmd {
	id := ""
	if p.typedRow() {
		id = strings.TrimSpace(p.input.Value())
		if id == "" {
			p.problem = errTyped("Type the instance's identifier (aws rds describe-db-instances lists them).")
			return nil
		}
		if p.problem = rds.CheckIdentifier("instance", id); p.problem != nil {
			return nil
		}
	} else {
		id = p.found[p.cursor].ID
	}
	p.input.Blur()
	if id != p.flow.source {
		p.flow.req = rds.Request{} // a name typed for another instance does not carry over
	}
	p.flow.source = id
	m.deps.Journal.Event("rds-instance", id)
	point := newRDSPointPage(p.flow)
	return tea.Batch(m.push(point), point.load(m))
}

func (p *rdsInstancePage) Ask(m *Model) *Question {
	if p.job != nil {
		return nil
	}
	if p.askID || len(p.found) == 0 {
		return &Question{Text: "RDS instance identifier", Fill: p.flow.sel.Details.RDS.Instance}
	}
	q := &Question{Text: "Instance", Default: p.cursor}
	for _, in := range p.found {
		q.Options = append(q.Options, in.ID+": "+rdsInstanceLine(in))
	}
	q.Options = append(q.Options, "Another instance: type its identifier")
	return q
}

func (p *rdsInstancePage) Answer(m *Model, a Answer) tea.Cmd {
	if p.askID || len(p.found) == 0 {
		p.cursor = len(p.found)
		p.input.SetValue(a.Text)
		p.revalidate()
		cmd := p.choose(m)
		if p.problem != nil {
			m.say("%s", p.problem.Error())
		}
		return cmd
	}
	p.cursor = a.Choice
	if p.typedRow() {
		p.askID = true
		return nil
	}
	return p.choose(m)
}

func (p *rdsInstancePage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	app := p.flow.sel.App.Name()
	if app == "" {
		b.WriteString(m.st.Bold.Render("Which RDS instance should be restored?") + "\n")
	} else {
		b.WriteString(m.st.Bold.Render("Which RDS instance holds "+app+"'s database?") + "\n")
	}
	b.WriteString(wrapWords("AWS restores it into a new instance next to it, with its settings; the instance the application uses is not touched until the cut-over, a separate step at the end.", w) + "\n\n")
	switch {
	case p.job != nil:
		b.WriteString(m.st.Running.Render("Looking for "+app+"'s instances (by their tags, or a name that starts with "+app+")…") + "\n")
		return b.String()
	case p.err != nil:
		b.WriteString(m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n\n")
	case app != "" && len(p.found) == 0:
		b.WriteString(m.st.Warn.Render(wrapWords("No instance is tagged with "+app+" or named after it: type its identifier.", w)) + "\n\n")
	}
	named := p.flow.sel.Details.RDS.Instance
	for i, in := range p.found {
		text := in.ID
		if in.ID == named {
			text += "  (named in " + configName(m) + ")"
		}
		text += "\n" + rdsInstanceLine(in)
		b.WriteString(choiceLine(m, text, i == p.cursor, w) + "\n")
	}
	typed := "Another instance: type its identifier"
	if len(p.found) == 0 {
		typed = "The instance's identifier"
	}
	b.WriteString(choiceLine(m, typed, p.typedRow(), w) + "\n")
	if p.typedRow() {
		b.WriteString("  " + p.input.View() + "\n")
		if p.problem != nil {
			b.WriteString(m.st.Error.Render(indentAfterFirst("  "+wrapWords(p.problem.Error(), w-2), 2)) + "\n")
		}
	}
	return b.String()
}

// configName names the config file the instance came from.
func configName(m *Model) string {
	if m.deps.Config != nil && m.deps.Config.Path != "" {
		return m.deps.Config.Path
	}
	return "the config"
}
