package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// appPage is the filterable application list; its first rows skip the
// catalog for an engineer who already knows where the database lives, or
// go straight to the runbook's GPG problem.
type appPage struct {
	basePage
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

func newAppPage(m *Model) *appPage {
	a := &appPage{input: newTextInput("type to filter: name, team or hosting", 44)}
	a.next = append(append([]string{}, startCrumbs[1:]...), waleCrumbs...)
	a.matches = m.deps.Catalog.Filter("")
	return a
}

func (a *appPage) Crumb() string          { return "Application" }
func (a *appPage) Typing() bool           { return true }
func (a *appPage) Focus(m *Model) tea.Cmd { return a.input.Focus() }
func (a *appPage) Keys() []key.Binding {
	return []key.Binding{binding("type", "filter"), keyChoose, keyContinue}
}

func (a *appPage) Update(m *Model, msg tea.Msg) tea.Cmd {
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
	return updateInput(&a.input, msg, func() {
		a.matches = m.deps.Catalog.Filter(a.input.Value())
		a.cursor = rowKnowHosting // nothing matches: the fixed rows remain
		if len(a.matches) > 0 {
			a.cursor = fixedRows // the best match
		}
		a.offset = 0
	})
}

func (a *appPage) choose(m *Model) tea.Cmd {
	a.input.Blur()
	switch a.cursor {
	case rowKnowHosting:
		return a.chosen(m, nil)
	case rowGPG:
		return startGPGFromStart(m)
	}
	app := a.matches[a.cursor-fixedRows]
	return a.chosen(m, &app)
}

// chosen goes on to the hosting of app, or to the hosting question when
// the engineer skipped the catalog (app nil).
func (a *appPage) chosen(m *Model, app *hosting.App) tea.Cmd {
	m.title = ""
	if app != nil {
		m.title = app.Name()
		m.deps.Journal.Event("application", app.Name())
	} else {
		m.deps.Journal.Event("application", "none chosen: the engineer knows where the database is hosted")
	}
	return m.push(newHostingPage(m, app))
}

// Ask takes the application's name in plain mode: an exact name goes on,
// anything else is answered with the names it matches.
func (a *appPage) Ask(m *Model) *Question {
	return &Question{Text: "Application (its name; empty if you know where the database is hosted)"}
}

func (a *appPage) Answer(m *Model, ans Answer) tea.Cmd {
	if ans.Text == "" {
		return a.chosen(m, nil)
	}
	if app, ok := m.deps.Catalog.Find(ans.Text); ok {
		return a.chosen(m, &app)
	}
	matches := m.deps.Catalog.Filter(ans.Text)
	if len(matches) == 0 {
		m.say("No application in %s matches %q.", m.deps.Catalog.Source, ans.Text)
		return nil
	}
	var names []string
	for _, app := range matches[:min(len(matches), 10)] {
		names = append(names, app.Name())
	}
	m.say("Several applications match: %s. Type one of them.", strings.Join(names, ", "))
	return nil
}

func (a *appPage) View(m *Model) string {
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

func (a *appPage) row(app hosting.App) string {
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
