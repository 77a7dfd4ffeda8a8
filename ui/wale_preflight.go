package ui

import (
	"context"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/walerestore"
)

// preflightPage checks everything before anything is changed, each check
// shown live as it runs; a protected key leads to the GPG flow.
type preflightPage struct {
	basePage
	flow    *waleFlow
	dir     textinput.Model // the data directory, asked when not known
	asking  bool
	checks  []walerestore.Check
	job     *job
	running bool
}

// updateInput hands msg to a text field and calls changed when its value
// changed, so a page checks what is typed as it is typed.
func updateInput(in *textinput.Model, msg tea.Msg, changed func()) tea.Cmd {
	before := in.Value()
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	if in.Value() != before {
		changed()
	}
	return cmd
}

func newTextInput(placeholder string, width int) textinput.Model {
	in := textinput.New()
	in.Placeholder = placeholder
	in.Prompt = "> "
	in.SetWidth(width)
	// A steady cursor: no blink ticks to redraw, the same screen in every
	// capture, and nothing flashing for a tired engineer.
	st := in.Styles()
	st.Cursor.Blink = false
	in.SetStyles(st)
	return in
}

func (p *preflightPage) Crumb() string { return "Preflight" }
func (p *preflightPage) Typing() bool  { return p.asking }

func (p *preflightPage) Keys() []key.Binding {
	if p.asking {
		return []key.Binding{binding("tab", "complete the path", "tab"), binding("enter", "check this data directory", "enter")}
	}
	return []key.Binding{binding("enter", "continue", "enter"), binding("r", "recheck", "r"),
		binding("e", "data directory", "e"), binding("g", "GPG step", "g")}
}

// enter asks for the data directory when it is not known, else runs the
// checks.
func (p *preflightPage) enter(m *Model) tea.Cmd {
	if p.flow.req.PGData == "" {
		return p.askDir("")
	}
	return p.start(m)
}

func (p *preflightPage) askDir(value string) tea.Cmd {
	p.dir = newTextInput("/var/lib/postgresql/9.3/main", 60)
	p.dir.SetValue(value)
	p.asking = true
	return p.dir.Focus()
}

func (p *preflightPage) start(m *Model) tea.Cmd {
	if p.job != nil {
		p.job.cancel()
	}
	p.asking, p.running, p.flow.report = false, true, nil
	p.checks = nil
	for _, c := range walerestore.CheckTitles {
		p.checks = append(p.checks, walerestore.Check{ID: c.ID, Title: c.Title})
	}
	m.say("Preflight checks (nothing is changed):")
	req := p.flow.req
	req.MoveAside = true // the plan asks for the typed confirmation
	backend := m.deps.WALE
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		return backend.Preflight(ctx, req, func(c walerestore.Check) { emit(c) })
	})
	p.job = j
	return cmd
}

func (p *preflightPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		if p.job == nil || msg.id != p.job.id {
			return nil // a superseded run
		}
		for _, e := range msg.events {
			p.record(m, e.(walerestore.Check))
		}
		return p.job.listen()
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		return p.checked(m, msg.result.(*walerestore.Report))
	case tea.KeyPressMsg:
		return p.key(m, msg)
	}
	if p.asking {
		var cmd tea.Cmd
		p.dir, cmd = p.dir.Update(msg)
		return cmd
	}
	return nil
}

func (p *preflightPage) record(m *Model, c walerestore.Check) {
	for i := range p.checks {
		if p.checks[i].ID == c.ID {
			p.checks[i] = c
		}
	}
	for _, l := range c.Lines() { // none while it runs: said once, when it ends
		m.say("%s", l)
	}
}

// checked takes the report. Line by line there is no screen to fix things
// from: a failure ends the session with its own error, a pass goes on.
func (p *preflightPage) checked(m *Model, rep *walerestore.Report) tea.Cmd {
	p.running = false
	p.flow.report = rep
	p.checks = rep.Checks
	for _, c := range rep.Checks {
		m.deps.Journal.Event("preflight", string(c.Status)+": "+c.Title+": "+c.Detail)
	}
	if !m.plain() {
		return nil
	}
	if failed := rep.FirstFailure(); failed != nil {
		return m.end(failed.Err)
	}
	return p.proceed(m)
}

func (p *preflightPage) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if p.asking {
		switch k.String() {
		case "enter":
			return p.setDir(m, p.dir.Value())
		case "tab":
			p.dir.SetValue(completePath(p.dir.Value()))
			p.dir.CursorEnd()
			return nil
		}
		var cmd tea.Cmd
		p.dir, cmd = p.dir.Update(k)
		return cmd
	}
	switch k.String() {
	case "r":
		return p.start(m)
	case "e":
		return p.askDir(p.flow.req.PGData)
	case "g":
		if p.flow.report != nil {
			return p.flow.keyStep(m)
		}
	case "enter":
		return p.proceed(m)
	}
	return nil
}

func (p *preflightPage) setDir(m *Model, dir string) tea.Cmd {
	if dir = strings.TrimSpace(dir); dir == "" {
		return nil
	}
	p.flow.req.PGData = filepath.Clean(dir) // a completed path ends with "/"
	p.dir.Blur()
	return p.start(m)
}

// Ask is the data directory, when it is not known.
func (p *preflightPage) Ask(m *Model) *Question {
	if !p.asking {
		return nil
	}
	return &Question{Text: "Data directory to restore into"}
}

func (p *preflightPage) Answer(m *Model, a Answer) tea.Cmd { return p.setDir(m, a.Text) }

// proceed goes on when no check failed.
func (p *preflightPage) proceed(m *Model) tea.Cmd {
	if p.running || p.flow.report == nil || !p.flow.report.OK() {
		return nil
	}
	return p.flow.afterPreflight(m)
}

var checkMarks = map[walerestore.Status]string{
	walerestore.Passed: "[ OK ]", walerestore.Warning: "[WARN]", walerestore.Failed: "[FAIL]",
	walerestore.Skipped: "[SKIP]", walerestore.Running: "[ .. ]", "": "[    ]",
}

func (p *preflightPage) View(m *Model) string {
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Preflight: every check runs before anything is changed") + "\n")
	if p.asking {
		b.WriteString("Which data directory should the backup be restored into?\n")
		b.WriteString("\n" + m.st.Faint.Render("(the cluster's directory, e.g. /var/lib/postgresql/9.3/main; a cluster already there is moved aside, never deleted)") + "\n\n")
		b.WriteString(p.dir.View() + "\n")
		return b.String()
	}
	b.WriteString("\n  Data directory  " + p.flow.req.PGData + "\n")
	envdir := p.flow.req.Envdir
	if envdir == "" {
		envdir = "the default (/etc/wal-e/env.d, flags, environment)"
	}
	b.WriteString("  WAL-E settings  " + envdir + "\n")
	b.WriteString(wrapWords(p.verdict(m), m.width-2) + "\n\n")
	for _, c := range p.checks {
		b.WriteString(p.checkView(m, c))
	}
	return b.String()
}

func (p *preflightPage) checkView(m *Model, c walerestore.Check) string {
	style := map[walerestore.Status]func(...string) string{
		walerestore.Passed: m.st.OK.Render, walerestore.Warning: m.st.Warn.Render, walerestore.Failed: m.st.Fail.Render,
		walerestore.Skipped: m.st.Skip.Render, walerestore.Running: m.st.Running.Render,
	}[c.Status]
	if style == nil {
		style = m.st.Faint.Render
	}
	head := style(checkMarks[c.Status]) + " " + c.Title
	if c.Status != walerestore.Warning && c.Status != walerestore.Failed {
		// Passed, skipped or running: one line each, so six checks and the
		// problems fit on an 80x24 terminal.
		if c.Detail != "" {
			head += m.st.Faint.Render(": " + c.Detail)
		}
		return truncate(head, m.width) + "\n"
	}
	line := head + "\n"
	if c.Detail != "" {
		line += indent(wrapWords(c.Detail, m.width-9), 7) + "\n"
	}
	if c.Fix != "" {
		line += indent(wrapWords("next: "+c.Fix, m.width-9), 7) + "\n"
	}
	return line
}

func (p *preflightPage) verdict(m *Model) string {
	rep := p.flow.report
	switch {
	case p.running:
		return m.st.Running.Render("Checking…")
	case rep == nil:
		return ""
	case !rep.OK():
		return m.st.Fail.Render("A check failed.") + " Fix what it says, then press r to check again (nothing was changed)."
	case rep.KeyProtected && !p.flow.keyResolved:
		return m.st.Warn.Render("The archive's key is protected by a passphrase.") + " Press enter for the GPG step."
	}
	return m.st.OK.Render("Ready.") + " Press enter to choose the backup and the target."
}

// indent prefixes every line of s with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
