package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
	"pgrescue/shellcmd"
)

// The runbook flow shows the runbook's steps, with the exact commands, for
// a branch pgrescue does not restore by itself yet: AWS RDS. It is
// replaced by a flow of its own as it is built.

func startRDSRunbook(m *Model, s Selection) tea.Cmd {
	return m.push(newRunbookPage(m, "AWS RDS", hosting.RDSSteps(s.App, s.Details)))
}

// runbookPage shows the steps; they are also the session's summary, printed
// when the wizard ends.
type runbookPage struct {
	basePage
	branch string
	steps  []shellcmd.Command
	offset int
}

func newRunbookPage(m *Model, branch string, steps []shellcmd.Command) *runbookPage {
	m.deps.Journal.Event("runbook", "manual steps shown for "+branch)
	m.say("pgrescue does not restore this branch by itself yet. The runbook's steps for %s:", branch)
	m.outcome.Summary = "The runbook's steps for " + branch + ":\n\n" + shellcmd.Script(steps)
	return &runbookPage{branch: branch, steps: steps}
}

func (s *runbookPage) Crumb() string       { return "Runbook" }
func (s *runbookPage) Keys() []key.Binding { return []key.Binding{keyScroll} }

func (s *runbookPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up", "k":
			s.offset = max(s.offset-1, 0)
		case "down", "j":
			s.offset++
		case "pgup":
			s.offset = max(s.offset-10, 0)
		case "pgdown", "space":
			s.offset += 10
		case "q":
			return m.quit()
		}
	}
	return nil
}

func (s *runbookPage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("The runbook's steps: "+s.branch) + "\n")
	b.WriteString(wrapWords("pgrescue does not restore this branch by itself yet. Follow these steps by hand; "+
		"they are printed again when you quit (q).", w) + "\n\n")
	room := m.bodyHeight() - strings.Count(b.String(), "\n") - 1
	b.WriteString(scrollLines(commandsView(m, s.steps, w), &s.offset, room) + "\n")
	return b.String()
}
