package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/walerestore"
)

// planStep lists every action with its shell commands. A destructive plan
// runs only once the data directory's path is typed: enter alone never
// confirms it.
type planStep struct {
	plan    *walerestore.Plan
	confirm textinput.Model
	offset  int // first line shown of the actions, scrolled with up/down
	err     error
}

func newPlanStep() *planStep { return &planStep{confirm: newTextInput("", 60)} }

func (p *planStep) enter(m *Model, plan *walerestore.Plan) tea.Cmd {
	p.plan, p.offset, p.err = plan, 0, nil
	p.confirm.SetValue("")
	m.deps.Journal.Event("plan", "planned", journalCommands(plan)...)
	return p.focus()
}

func (p *planStep) focus() tea.Cmd {
	if p.destructive() {
		return p.confirm.Focus()
	}
	return nil
}

func (p *planStep) destructive() bool {
	if p.plan == nil {
		return false
	}
	for _, a := range p.plan.Actions {
		if a.Destructive {
			return true
		}
	}
	return false
}

func (p *planStep) keys() [][2]string {
	keys := [][2]string{{"up/down", "scroll the plan"}}
	if p.destructive() {
		return append(keys, [2]string{"enter", "start, once the data directory's path is typed"})
	}
	return append(keys, [2]string{"enter", "start the restore"})
}

func (p *planStep) update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up":
			p.offset = max(p.offset-1, 0)
			return nil
		case "down":
			p.offset++
			return nil
		case "pgup":
			p.offset = max(p.offset-10, 0)
			return nil
		case "pgdown":
			p.offset += 10
			return nil
		case "enter":
			return p.proceed(m)
		}
	}
	if !p.destructive() {
		return nil
	}
	var cmd tea.Cmd
	p.confirm, cmd = p.confirm.Update(msg)
	return cmd
}

// proceed starts the restore when the confirmation is right; in a dry run it
// ends the walk-through instead, having run nothing.
func (p *planStep) proceed(m *Model) tea.Cmd {
	if p.destructive() && strings.TrimSpace(p.confirm.Value()) != p.plan.Options.PGData {
		p.err = errTyped("Type the data directory's full path, exactly as shown, to move it aside. Nothing has been changed.")
		m.deps.Journal.Event("plan", "confirmation refused")
		return nil
	}
	p.err = nil
	p.confirm.Blur()
	if m.deps.DryRun {
		m.goTo(stepDone)
		return m.done.enterDryRun(m, p.plan)
	}
	m.goTo(stepRun)
	return m.run.start(m, p.plan)
}

func (p *planStep) view(m *Model) string {
	w := m.width - 2
	var head strings.Builder
	head.WriteString(m.st.Bold.Render("The plan: nothing has been changed yet") + "\n")
	head.WriteString(wrapWords(fmt.Sprintf("Restore %s from backup %s to %s.", p.plan.Options.PGData, p.plan.Backup.Name, p.plan.Options.Target), w) + "\n\n")
	var actions strings.Builder
	for i, a := range p.plan.Actions {
		title := fmt.Sprintf("%d. %s", i+1, a.Title)
		if a.Destructive {
			title += " " + m.st.Danger.Render("[changes what is on disk]")
		}
		actions.WriteString(wrapWords(title, w) + "\n")
		actions.WriteString(commandsView(m, a.Commands, w))
	}
	foot := p.confirmView(m, w)
	room := m.bodyHeight() - strings.Count(head.String(), "\n") - strings.Count(foot, "\n") - 1
	return head.String() + scrollLines(actions.String(), &p.offset, room) + "\n\n" + foot
}

func (p *planStep) confirmView(m *Model, w int) string {
	var b strings.Builder
	switch {
	case m.deps.DryRun:
		b.WriteString(m.st.Warn.Render("Dry run: press enter to finish; nothing will run.") + "\n")
	case p.destructive():
		b.WriteString(wrapWords("To go ahead, type the data directory's path ("+p.plan.Options.PGData+") and press enter:", w) + "\n")
		b.WriteString(p.confirm.View() + "\n")
	default:
		b.WriteString("Press enter to start the restore.\n")
	}
	if p.err != nil {
		b.WriteString(m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n")
	}
	return b.String()
}

// scrollLines shows room lines of text from *offset, keeping the offset in
// range and saying when there is more.
func scrollLines(text string, offset *int, room int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	room = max(room, 3)
	if len(lines) <= room {
		*offset = 0
		return strings.Join(lines, "\n")
	}
	*offset = min(max(*offset, 0), len(lines)-room+1)
	shown := lines[*offset : *offset+room-1]
	more := fmt.Sprintf("… lines %d-%d of %d (up/down to scroll)", *offset+1, *offset+len(shown), len(lines))
	return strings.Join(shown, "\n") + "\n" + more
}
