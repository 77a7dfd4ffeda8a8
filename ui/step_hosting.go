package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// hostingStep says where the application runs, as the docs do, what that
// means for restoring, and takes the engineer's confirmation.
type hostingStep struct {
	app      *hosting.App
	details  hosting.AppDetails
	decision hosting.Decision
	options  []hostingOption
	cursor   int
}

type hostingOption int

const (
	optRDS hostingOption = iota
	optSelfManaged
	optOtherApp
)

var hostingOptionText = map[hostingOption]string{
	optRDS:         "AWS RDS: restore through AWS (the runbook's RDS page)",
	optSelfManaged: "Carrenza/6DG: self-managed PostgreSQL (WAL-E or the nightly pg_dump)",
	optOtherApp:    "Choose another application",
}

func (h *hostingStep) enter(m *Model, app hosting.App) {
	h.app = &app
	h.details = m.deps.Config.Details(app)
	h.decision = hosting.Decide(app, h.details)
	switch h.decision.Route {
	case hosting.RouteRDS:
		h.options, h.cursor = []hostingOption{optRDS, optSelfManaged}, 0
	case hosting.RouteSelfManaged:
		h.options, h.cursor = []hostingOption{optRDS, optSelfManaged}, 1
	default:
		h.options, h.cursor = []hostingOption{optOtherApp, optRDS, optSelfManaged}, 0
	}
	m.deps.Journal.Event("hosting", h.decision.Statement)
}

func (h *hostingStep) enterUnknown(m *Model) {
	h.app, h.details, h.decision = nil, hosting.AppDetails{}, hosting.Decision{}
	h.options, h.cursor = []hostingOption{optRDS, optSelfManaged}, 1
}

func (h *hostingStep) update(m *Model, msg tea.Msg) tea.Cmd {
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

func (h *hostingStep) choose(m *Model) tea.Cmd {
	switch h.options[h.cursor] {
	case optOtherApp:
		return m.back()
	case optRDS:
		m.manual.enter(m, "AWS RDS", hosting.RDSSteps(h.appOrZero(), h.details))
		m.goTo(stepManual)
	case optSelfManaged:
		m.goTo(stepSource)
	}
	return nil
}

func (h *hostingStep) appOrZero() hosting.App {
	if h.app == nil {
		return hosting.App{}
	}
	return *h.app
}

func (h *hostingStep) view(m *Model) string {
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
		text := hostingOptionText[o]
		if i == h.cursor {
			b.WriteString(m.st.Cursor.Render("> ") + m.st.Selected.Render(indentAfterFirst(wrapWords(text, w-2), 2)) + "\n")
		} else {
			b.WriteString("  " + indentAfterFirst(wrapWords(text, w-2), 2) + "\n")
		}
	}
	return b.String()
}
