package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"pgrescue/shellcmd"
)

// manualStep shows the runbook's steps for a branch pgrescue does not
// restore by itself yet, with the exact commands.
type manualStep struct {
	branch string
	steps  []shellcmd.Command
	offset int
}

func (s *manualStep) enter(m *Model, branch string, steps []shellcmd.Command) {
	s.branch, s.steps, s.offset = branch, steps, 0
	m.deps.Journal.Event("runbook", "manual steps shown for "+branch)
	m.outcome.Summary = "The runbook's steps for " + branch + ":\n\n" + shellcmd.Script(steps)
}

func (s *manualStep) update(m *Model, msg tea.Msg) tea.Cmd {
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

func (s *manualStep) view(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("The runbook's steps: "+s.branch) + "\n")
	b.WriteString(wrapWords("pgrescue does not restore this branch by itself yet. Follow these steps by hand; "+
		"they are printed again when you quit (q).", w) + "\n\n")
	room := m.bodyHeight() - strings.Count(b.String(), "\n") - 1
	b.WriteString(scrollLines(commandsView(m, s.steps, w), &s.offset, room) + "\n")
	return b.String()
}
