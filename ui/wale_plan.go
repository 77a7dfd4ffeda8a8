package ui

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/problem"
	"pgrescue/restore/walerestore"
	"pgrescue/shellcmd"
)

// planPage lists every action with its shell commands. A destructive plan
// runs only once the data directory's path is typed: enter alone never
// confirms it.
type planPage struct {
	basePage
	flow    *waleFlow
	plan    *walerestore.Plan
	confirm textinput.Model
	offset  int // first line shown of the actions, scrolled with up/down
	err     error
}

func newPlanPage(f *waleFlow, plan *walerestore.Plan) *planPage {
	p := &planPage{flow: f, plan: plan, confirm: newTextInput("", 60)}
	p.next = waleCrumbs[3:]
	return p
}

// enter records the plan and, line by line, prints it.
func (p *planPage) enter(m *Model) tea.Cmd {
	m.deps.Journal.Event("plan", "planned", journalCommands(p.plan)...)
	m.say("The plan (nothing has been changed yet):")
	for _, l := range p.xidLines() {
		m.say("%s", l)
	}
	for i, a := range p.plan.Actions {
		m.say("%d. %s", i+1, a.Title)
		if script := shellcmd.Script(a.Commands); script != "" {
			m.say("%s", strings.TrimRight(script, "\n"))
		}
	}
	if m.plain() && m.deps.DryRun {
		m.say("Dry run: nothing was run.")
		return p.finishDryRun(m)
	}
	return nil
}

func (p *planPage) Crumb() string { return "Plan" }
func (p *planPage) Typing() bool  { return p.confirm.Focused() }

func (p *planPage) Focus(m *Model) tea.Cmd {
	if p.destructive() {
		return p.confirm.Focus()
	}
	return nil
}

func (p *planPage) destructive() bool {
	for _, a := range p.plan.Actions {
		if a.Destructive {
			return true
		}
	}
	return false
}

func (p *planPage) Keys() []key.Binding {
	keys := []key.Binding{binding("up/down", "scroll the plan", "up", "down", "pgup", "pgdown")}
	if p.destructive() {
		return append(keys, binding("enter", "start, once its name is typed", "enter"))
	}
	return append(keys, binding("enter", "start the restore", "enter"))
}

func (p *planPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if scrollKey(&p.offset, k.String()) {
			return nil
		}
		if k.String() == "enter" {
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
func (p *planPage) proceed(m *Model) tea.Cmd {
	if p.destructive() && !m.deps.DryRun && !p.confirmed(p.confirm.Value()) { // a dry run changes nothing: no confirmation
		p.err = errTyped("Type " + shortName(p.plan.Options.PGData) + " (or the full path) exactly as shown, to move it aside. Nothing has been changed.")
		m.deps.Journal.Event("plan", "confirmation refused")
		return nil
	}
	p.err = nil
	p.confirm.Blur()
	if m.deps.DryRun {
		return p.finishDryRun(m)
	}
	return startRun(m, p.flow, p.plan)
}

func (p *planPage) finishDryRun(m *Model) tea.Cmd {
	done := newDonePage(nil) // a dry run has nothing to try again
	return tea.Batch(m.push(done), done.enterDryRun(m, p.plan))
}

// Ask is the confirmation: the data directory's path for a plan that moves
// a cluster aside, else "yes".
func (p *planPage) Ask(m *Model) *Question {
	if p.destructive() {
		return &Question{Text: "Type " + shortName(p.plan.Options.PGData) + " (the data directory " + p.plan.Options.PGData + ") to move it aside and restore"}
	}
	return &Question{Text: "Type yes to start the restore"}
}

// Answer refuses anything else than the confirmation asked for: a script
// must not start a restore by accident, so a wrong answer ends the session.
func (p *planPage) Answer(m *Model, a Answer) tea.Cmd {
	if p.destructive() {
		if !p.confirmed(a.Text) {
			return m.end(problem.New(problem.Usage, p.plan.Options.PGData, "the name typed does not match: nothing was run", "run pgrescue again and type "+shortName(p.plan.Options.PGData)+" or the full path exactly"))
		}
		p.confirm.SetValue(a.Text)
		return p.proceed(m)
	}
	if a.Text != "yes" {
		return m.end(problem.New(problem.Usage, "confirmation", "the restore was not confirmed: nothing was run", "run pgrescue again and answer yes"))
	}
	return p.proceed(m)
}

func (p *planPage) View(m *Model) string {
	w := m.width - 2
	var head strings.Builder
	head.WriteString(m.st.Bold.Render("The plan: nothing has been changed yet") + "\n")
	head.WriteString(wrapWords(fmt.Sprintf("Restore %s from backup %s to %s.", p.plan.Options.PGData, p.plan.Backup.Name, p.plan.Options.Target), w) + "\n")
	for _, l := range p.xidLines() {
		head.WriteString(wrapWords(l, w) + "\n")
	}
	head.WriteString("\n")
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

// xidLines show a transaction target chosen on the moment page in all its
// forms, and why it is exact.
func (p *planPage) xidLines() []string {
	t, tx := p.plan.Options.Target, p.flow.moment
	if t.Xid == 0 || tx == nil || tx.Xid != t.Xid {
		return nil
	}
	return []string{
		fmt.Sprintf("Stop just before transaction %d: its commit record is at LSN %s, committed at %s UTC.",
			tx.Xid, tx.LSN, tx.At.UTC().Format("2006-01-02 15:04:05.000000")),
		"The xid is exact: replay stops before this one commit and keeps every other; a time stops at the first commit after it, and commits in the same microsecond go with it.",
	}
}

func (p *planPage) confirmView(m *Model, w int) string {
	var b strings.Builder
	switch {
	case m.deps.DryRun:
		b.WriteString(m.st.Warn.Render("Dry run: press enter to finish; nothing will run.") + "\n")
	case p.destructive():
		b.WriteString(wrapWords("To go ahead, type "+shortName(p.plan.Options.PGData)+" (the data directory's last two names, or its full path) and press enter:", w) + "\n")
		b.WriteString(p.confirm.View() + "\n")
	default:
		b.WriteString("Press enter to start the restore.\n")
	}
	if p.err != nil {
		b.WriteString(m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n")
	}
	return b.String()
}

// confirmed reports whether typed names the data directory to move aside:
// its short name (e.g. 13/main, what pg_lsclusters shows) or its full path.
// Typing it, not pressing enter, is the confirmation.
func (p *planPage) confirmed(typed string) bool {
	typed = strings.TrimSpace(typed)
	return typed != "" && (typed == p.plan.Options.PGData || typed == shortName(p.plan.Options.PGData))
}

// shortName is a data directory's last two names: /var/lib/postgresql/13/main
// is 13/main. It is short to type at 3 a.m. and still names one cluster.
func shortName(dir string) string {
	clean := filepath.Clean(dir)
	return filepath.Join(filepath.Base(filepath.Dir(clean)), filepath.Base(clean))
}

// scrollLines shows room lines of text from *offset, keeping the offset in
// range and saying when there is more.
// scrollKey moves a scrolled view's offset for up and down (a line) and
// pgup and pgdown (ten); false for any other key. scrollLines keeps the
// offset within the text.
func scrollKey(offset *int, key string) bool {
	switch key {
	case "up":
		*offset = max(*offset-1, 0)
	case "down":
		*offset++
	case "pgup":
		*offset = max(*offset-10, 0)
	case "pgdown":
		*offset += 10
	default:
		return false
	}
	return true
}

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

// journalCommands records a plan's actions and commands in the journal.
func journalCommands(plan *walerestore.Plan) []slog.Attr {
	var attrs []slog.Attr
	for _, a := range plan.Actions {
		var lines []string
		for _, c := range a.Commands {
			lines = append(lines, c.Line)
		}
		attrs = append(attrs, slog.Any(string(a.ID), lines))
	}
	return attrs
}
