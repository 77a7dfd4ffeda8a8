package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// The start flow is where every session begins, as the runbook does: which
// application, where its production database is hosted, and (for
// self-managed PostgreSQL) which backup to restore from. It hands over to
// a restore flow with a Selection.

// Selection is what the start flow learnt about the database to restore.
type Selection struct {
	App     hosting.App // the zero App when the engineer skipped the catalog
	Details hosting.AppDetails
}

// restorePath is a way to restore self-managed PostgreSQL, as the source
// page lists it. Start pushes the path's first page.
type restorePath struct {
	Text  string
	Start func(m *Model, s Selection) tea.Cmd
}

// selfManagedPaths are the restore paths the source page offers for
// Carrenza/6DG, the recommended one first. A new restore path is a flow
// file and one line here.
var selfManagedPaths = []restorePath{
	{Text: waleSourceText, Start: startWALE},
	{Text: pgDumpSourceText, Start: startPgDump},
}

// rdsPath is where an application hosted on AWS RDS goes.
var rdsPath = restorePath{Text: "AWS RDS: restore through AWS (the runbook's RDS page)", Start: startRDS}

// startCrumbs are the start flow's pages, and what usually follows them.
var startCrumbs = []string{"Application", "Hosting", "Source"}

// firstPage is the briefing of an exercise, else the application list.
func firstPage(m *Model) Page {
	if m.deps.Training != nil {
		return &briefingPage{basePage: basePage{next: m.deps.Training.Path.crumbs()}}
	}
	return newAppPage(m)
}

// sourcePage chooses the restore path for self-managed PostgreSQL, with
// the trade-offs the runbook gives.
type sourcePage struct {
	basePage
	sel    Selection
	cursor int
}

func newSourcePage(sel Selection) *sourcePage {
	return &sourcePage{basePage: basePage{next: waleCrumbs}, sel: sel}
}

func (s *sourcePage) Crumb() string       { return "Source" }
func (s *sourcePage) Keys() []key.Binding { return []key.Binding{keyChoose, keyContinue} }

func (s *sourcePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch k.String() {
	case "up", "k":
		s.cursor = max(s.cursor-1, 0)
	case "down", "j":
		s.cursor = min(s.cursor+1, len(selfManagedPaths)-1)
	case "enter":
		return s.start(m)
	}
	return nil
}

func (s *sourcePage) start(m *Model) tea.Cmd {
	m.deps.Journal.Event("source", selfManagedPaths[s.cursor].Text)
	return selfManagedPaths[s.cursor].Start(m, s.sel)
}

func (s *sourcePage) Ask(m *Model) *Question {
	q := &Question{Text: "Source", Default: s.cursor}
	for _, p := range selfManagedPaths {
		q.Options = append(q.Options, p.Text)
	}
	return q
}

func (s *sourcePage) Answer(m *Model, a Answer) tea.Cmd {
	s.cursor = a.Choice
	return s.start(m)
}

func (s *sourcePage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Which backup should the restore come from?") + "\n\n")
	for i, p := range selfManagedPaths {
		b.WriteString(choiceLine(m, p.Text, i == s.cursor, w) + "\n")
	}
	return b.String()
}

// choiceLine is one row of a list, wrapped under its text, with the cursor
// on the chosen one.
func choiceLine(m *Model, text string, chosen bool, w int) string {
	text = indentAfterFirst(wrapWords(text, w-2), 2)
	if chosen {
		return m.st.Cursor.Render("> ") + m.st.Selected.Render(text)
	}
	return "  " + text
}

// indentAfterFirst indents every line but the first by n spaces.
func indentAfterFirst(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}
