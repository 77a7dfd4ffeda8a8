package ui

import (
	"context"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Training turns the wizard into an exercise: a briefing first, a check of
// the restored database at the end.
type Training struct {
	Title    string   // the scenario
	Briefing string   // what happened, when, to which application, and what "restored" means
	Facts    []string // lines such as the passphrase "found in the secrets store"
	// Check queries the restored server and says whether the restore
	// achieved the briefing's goal.
	Check func(ctx context.Context, socketDir string, port int, user string) (ok bool, message string, err error)
}

// briefingStep is the exercise's first screen.
type briefingStep struct{}

func (b *briefingStep) update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "enter" {
		m.began = m.deps.Now() // the exercise's clock starts now
		m.goTo(stepApp)
		return m.app.input.Focus()
	}
	return nil
}

func (b *briefingStep) view(m *Model) string {
	t := m.deps.Training
	w := m.width - 2
	var s strings.Builder
	s.WriteString(m.st.Bold.Render("Training exercise: "+t.Title) + "\n\n")
	s.WriteString(wrapWords(t.Briefing, w) + "\n\n")
	for _, f := range t.Facts {
		s.WriteString(hangingWrap("- "+f, w) + "\n")
	}
	s.WriteString("\n" + wrapWords("Everything runs on this machine, in a sandbox: a real PostgreSQL, a real WAL-E archive in an S3 server "+
		"inside pgrescue, a real GPG key. Follow the runbook as you would in an incident. Press enter to start the clock.", w) + "\n")
	return s.String()
}

// checkResult is the exercise's verdict.
type checkResult struct {
	ok      bool
	message string
	err     error
}

// startCheck queries the restored server for the exercise's verdict.
func (d *doneStep) startCheck(m *Model, socketDir string, port int, user string) tea.Cmd {
	check := m.deps.Training.Check
	d.checking = true
	j, cmd := startJob(m.deps.Context, func(ctx context.Context, _ func(any)) any {
		ok, msg, err := check(ctx, socketDir, port, user)
		return checkResult{ok: ok, message: msg, err: err}
	})
	d.job = j
	return cmd
}

func (d *doneStep) checked(m *Model, r checkResult) {
	d.checking = false
	d.verdict = verdictText(r.ok, r.message, r.err, m.deps.Now().Sub(m.began))
	d.passed = r.ok && r.err == nil
	m.deps.Journal.Event("exercise", d.verdict)
	m.outcome.Summary += d.verdict + "\n"
}

// verdictText is the exercise's result as the trainee reads it.
func verdictText(ok bool, message string, err error, took time.Duration) string {
	tookText := "You took " + took.Round(time.Second).String() + "."
	switch {
	case err != nil:
		return "The check could not query the restored database: " + err.Error()
	case ok:
		return "Exercise passed: " + message + " " + tookText
	}
	return "Not quite: " + message + " " + tookText + " Try again with a different target."
}
