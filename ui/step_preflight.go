package ui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/walerestore"
)

// preflightStep checks everything before anything is changed, each check
// shown live as it runs; a protected key leads to the GPG step.
type preflightStep struct {
	dir     textinput.Model // the data directory, asked when not known
	asking  bool
	checks  []walerestore.Check
	report  *walerestore.Report
	job     *job
	running bool
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

// enter starts the step: ask for the data directory when it is not known,
// else run the checks.
func (p *preflightStep) enter(m *Model) tea.Cmd {
	if m.req.PGData == "" {
		p.dir = newTextInput("/var/lib/postgresql/9.3/main", 60)
		p.asking = true
		return p.dir.Focus()
	}
	return p.start(m)
}

func (p *preflightStep) editing() bool { return p.asking }

func (p *preflightStep) start(m *Model) tea.Cmd {
	if p.job != nil {
		p.job.cancel()
	}
	p.asking, p.running, p.report = false, true, nil
	p.checks = nil
	for _, c := range walerestore.CheckTitles {
		p.checks = append(p.checks, walerestore.Check{ID: c.ID, Title: c.Title})
	}
	req := m.req
	req.MoveAside = true // the plan asks for the typed confirmation
	backend := m.deps.Backend
	j, cmd := startJob(m.deps.Context, func(ctx context.Context, emit func(any)) any {
		return backend.Preflight(ctx, req, func(c walerestore.Check) { emit(c) })
	})
	p.job = j
	return cmd
}

func (p *preflightStep) keys() [][2]string {
	if p.asking {
		return [][2]string{{"enter", "check this data directory"}}
	}
	return [][2]string{{"enter", "continue"}, {"r", "recheck"}, {"e", "data directory"}, {"g", "GPG step"}}
}

func (p *preflightStep) update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		if p.job == nil || msg.id != p.job.id {
			return nil // a superseded run
		}
		for _, e := range msg.events {
			p.record(e.(walerestore.Check))
		}
		return p.job.listen()
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.running = false
		p.report = msg.result.(*walerestore.Report)
		p.checks = p.report.Checks
		return nil
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

func (p *preflightStep) record(c walerestore.Check) {
	for i := range p.checks {
		if p.checks[i].ID == c.ID {
			p.checks[i] = c
		}
	}
}

func (p *preflightStep) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	if p.asking {
		if k.String() == "enter" && strings.TrimSpace(p.dir.Value()) != "" {
			m.req.PGData = strings.TrimSpace(p.dir.Value())
			p.dir.Blur()
			return p.start(m)
		}
		var cmd tea.Cmd
		p.dir, cmd = p.dir.Update(k)
		return cmd
	}
	switch k.String() {
	case "r":
		return p.start(m)
	case "e":
		p.dir = newTextInput("/var/lib/postgresql/9.3/main", 60)
		p.dir.SetValue(m.req.PGData)
		p.asking = true
		return p.dir.Focus()
	case "g":
		if p.report != nil {
			m.goTo(stepGPG)
			return m.gpg.enter(m)
		}
	case "enter":
		return p.proceed(m)
	}
	return nil
}

// proceed goes on when no check failed: to the GPG step while the key is
// still locked, else to the backup and target.
func (p *preflightStep) proceed(m *Model) tea.Cmd {
	if p.running || p.report == nil || !p.report.OK() {
		return nil
	}
	if p.report.KeyProtected && !m.gpg.resolved {
		m.goTo(stepGPG)
		return m.gpg.enter(m)
	}
	m.goTo(stepBackup)
	return m.backup.enter(m, p.report)
}

var checkMarks = map[walerestore.Status]string{
	walerestore.Passed: "[ OK ]", walerestore.Warning: "[WARN]", walerestore.Failed: "[FAIL]",
	walerestore.Skipped: "[SKIP]", walerestore.Running: "[ .. ]", "": "[    ]",
}

func (p *preflightStep) view(m *Model) string {
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Preflight: every check runs before anything is changed") + "\n")
	if p.asking {
		b.WriteString("Which data directory should the backup be restored into?\n")
		b.WriteString("\n" + m.st.Faint.Render("(the cluster's directory, e.g. /var/lib/postgresql/9.3/main; a cluster already there is moved aside, never deleted)") + "\n\n")
		b.WriteString(p.dir.View() + "\n")
		return b.String()
	}
	b.WriteString("\n  Data directory  " + m.req.PGData + "\n")
	envdir := m.req.Envdir
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

func (p *preflightStep) checkView(m *Model, c walerestore.Check) string {
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

func (p *preflightStep) verdict(m *Model) string {
	switch {
	case p.running:
		return m.st.Running.Render("Checking…")
	case p.report == nil:
		return ""
	case !p.report.OK():
		return m.st.Fail.Render("A check failed.") + " Fix what it says, then press r to check again (nothing was changed)."
	case p.report.KeyProtected && !m.gpg.resolved:
		return m.st.Warn.Render("The archive's key is protected by a passphrase.") + " Press enter for the GPG step."
	}
	return m.st.OK.Render("Ready.") + " Press enter to choose the backup and the target."
}

// indent prefixes every line of s with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}
