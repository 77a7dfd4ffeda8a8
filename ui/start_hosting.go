package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// hostingPage says where the application runs, as the docs do, what that
// means for restoring, and takes the engineer's confirmation.
type hostingPage struct {
	basePage
	app      *hosting.App // nil: the engineer skipped the catalog
	details  hosting.AppDetails
	decision hosting.Decision
	options  []hostingOption
	cursor   int
}

type hostingOption int

const (
	optRDS hostingOption = iota
	optSelfManaged
	optOtherApp // full screen: back to the list
	optStop     // plain mode: nothing to restore, so stop
)

var hostingOptionText = map[hostingOption]string{
	optRDS:         rdsPath.Text,
	optSelfManaged: "Carrenza/6DG: self-managed PostgreSQL (WAL-E or the nightly pg_dump)",
	optOtherApp:    "Choose another application",
	optStop:        "Stop here: there is nothing for pgrescue to restore",
}

func newHostingPage(m *Model, app *hosting.App) *hostingPage {
	h := &hostingPage{app: app, options: []hostingOption{optRDS, optSelfManaged}, cursor: 1}
	h.next = append([]string{"Source"}, waleCrumbs...)
	if app == nil {
		return h
	}
	h.details = m.deps.Config.Details(*app)
	h.decision = hosting.Decide(*app, h.details)
	m.deps.Journal.Event("hosting", h.decision.Statement)
	m.say("%s", h.decision.Statement)
	m.say("%s", h.decision.Meaning)
	for _, c := range h.decision.Cautions {
		m.say("Note: %s", c)
	}
	switch h.decision.Route {
	case hosting.RouteRDS:
		h.cursor = 0
		h.next = rdsCrumbs
	case hosting.RouteSelfManaged:
	default:
		m.say("There is nothing for pgrescue to restore for it, unless the catalog is out of date.")
		other := optOtherApp
		if m.plain() {
			other = optStop
		}
		h.options, h.cursor = []hostingOption{other, optRDS, optSelfManaged}, 0
	}
	return h
}

func (h *hostingPage) Crumb() string       { return "Hosting" }
func (h *hostingPage) Keys() []key.Binding { return []key.Binding{keyChoose, keyContinue} }

func (h *hostingPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch k.String() {
	case "up", "k":
		h.cursor = max(h.cursor-1, 0)
	case "down", "j":
		h.cursor = min(h.cursor+1, len(h.options)-1)
	case "enter":
		return h.choose(m)
	}
	return nil
}

func (h *hostingPage) choose(m *Model) tea.Cmd {
	sel := Selection{Details: h.details}
	if h.app != nil {
		sel.App = *h.app
	}
	m.deps.Journal.Event("hosting", "chosen: "+hostingOptionText[h.options[h.cursor]])
	switch h.options[h.cursor] {
	case optOtherApp:
		return m.back()
	case optStop:
		return m.quit()
	case optRDS:
		return rdsPath.Start(m, sel)
	}
	return m.push(newSourcePage(sel))
}

func (h *hostingPage) Ask(m *Model) *Question {
	q := &Question{Text: "Hosting", Default: h.cursor}
	for _, o := range h.options {
		q.Options = append(q.Options, hostingOptionText[o])
	}
	return q
}

func (h *hostingPage) Answer(m *Model, a Answer) tea.Cmd {
	h.cursor = a.Choice
	return h.choose(m)
}

func (h *hostingPage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	if h.app == nil {
		b.WriteString(m.st.Bold.Render("Where does the database live?") + "\n\n")
	} else {
		b.WriteString(m.st.Bold.Render("Hosting: "+h.app.Name()) + "\n\n")
		b.WriteString(wrapWords(m.st.Bold.Render(h.decision.Statement), w) + "\n")
		b.WriteString(wrapWords(h.decision.Meaning, w) + "\n")
		for _, c := range h.decision.Cautions {
			b.WriteString(m.st.Warn.Render(wrapWords("Note: "+c, w)) + "\n")
		}
		b.WriteString("\n")
	}
	if h.app != nil && h.decision.Route != hosting.RouteRDS && h.decision.Route != hosting.RouteSelfManaged {
		b.WriteString("If the catalog is out of date, choose the hosting yourself:\n")
	}
	for i, o := range h.options {
		b.WriteString(choiceLine(m, hostingOptionText[o], i == h.cursor, w) + "\n")
	}
	return b.String()
}
