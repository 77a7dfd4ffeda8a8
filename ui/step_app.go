package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// appStep is the filterable application list; its first row skips the
// catalog for an engineer who already knows where the database lives.
type appStep struct {
	input   textinput.Model
	matches []hosting.App
	cursor  int // rows before fixedRows are the fixed choices, then the matches
	offset  int
}

// The fixed rows above the applications.
const (
	rowKnowHosting = iota
	rowGPG
	fixedRows
)

func newAppStep(m *Model) *appStep {
	a := &appStep{input: newTextInput("type to filter: name, team or hosting", 44)}
	a.matches = m.deps.Catalog.Filter("")
	return a
}

func (a *appStep) keys() [][2]string {
	return [][2]string{{"type", "filter"}, {"up/down", "choose"}, {"enter", "continue"}}
}

func (a *appStep) update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up":
			a.cursor = max(a.cursor-1, 0)
			return nil
		case "down":
			a.cursor = min(a.cursor+1, len(a.matches)+fixedRows-1)
			return nil
		case "pgup":
			a.cursor = max(a.cursor-10, 0)
			return nil
		case "pgdown":
			a.cursor = min(a.cursor+10, len(a.matches)+fixedRows-1)
			return nil
		case "enter":
			return a.choose(m)
		}
	}
	before := a.input.Value()
	var cmd tea.Cmd
	a.input, cmd = a.input.Update(msg)
	if a.input.Value() != before {
		a.matches = m.deps.Catalog.Filter(a.input.Value())
		a.cursor = rowKnowHosting // nothing matches: the fixed rows remain
		if len(a.matches) > 0 {
			a.cursor = fixedRows // the best match
		}
		a.offset = 0
	}
	return cmd
}

func (a *appStep) choose(m *Model) tea.Cmd {
	a.input.Blur()
	switch a.cursor {
	case rowKnowHosting:
		m.req.App = ""
		m.hosting.enterUnknown(m)
	case rowGPG:
		m.gpg.fromStart = true
		m.goTo(stepGPG)
		return m.gpg.enter(m)
	default:
		app := a.matches[a.cursor-fixedRows]
		m.req.App = app.Name()
		m.hosting.enter(m, app)
	}
	m.goTo(stepHosting)
	return nil
}

func (a *appStep) view(m *Model) string {
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Which application's database needs restoring?") + "\n")
	b.WriteString(m.st.Faint.Render(truncate("Catalog: "+m.deps.Catalog.Source, m.width)) + "\n\n")
	b.WriteString(a.input.View() + "\n\n")
	rows := []string{"I know where it is hosted (skip the catalog)", "GPG key: check, unlock or remove its passphrase (the runbook's GPG problem)"}
	for _, app := range a.matches {
		rows = append(rows, a.row(app))
	}
	room := max(m.height-13, 3)
	if a.cursor < a.offset {
		a.offset = a.cursor
	}
	if a.cursor >= a.offset+room {
		a.offset = a.cursor - room + 1
	}
	end := min(a.offset+room, len(rows))
	for i := a.offset; i < end; i++ {
		if i == a.cursor {
			b.WriteString(m.st.Cursor.Render("> ") + m.st.Selected.Render(rows[i]) + "\n")
		} else {
			b.WriteString("  " + rows[i] + "\n")
		}
	}
	if len(a.matches) == 0 {
		b.WriteString(m.st.Faint.Render("  no application matches; esc clears nothing, backspace does") + "\n")
	}
	b.WriteString(m.st.Faint.Render(fmt.Sprintf("\n%d of %d applications", len(a.matches), len(m.deps.Catalog.Apps))) + "\n")
	return b.String()
}

func (a *appStep) row(app hosting.App) string {
	where := app.HostingName()
	if app.Retired {
		where = "retired"
	}
	team := app.Team
	if team == "" {
		team = "-"
	}
	return fmt.Sprintf("%-32s %-14s %s", truncate(app.Name(), 32), where, team)
}
