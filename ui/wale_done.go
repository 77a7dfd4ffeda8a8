package ui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"pgrescue/problem"
	"pgrescue/restore/walerestore"
	"pgrescue/shellcmd"
)

// donePage ends the session: what was restored, how long each part took,
// the checks, and the runbook's next steps.
type donePage struct {
	basePage
	lines    []string // the summary, also printed on stdout after exit
	ok       bool
	offset   int
	job      *job
	checking bool   // the exercise's check is running
	verdict  string // the exercise's result
	passed   bool
	flow     *waleFlow
	result   *walerestore.Result // what the restore left, for another try
	retrying bool
	retryErr error
}

func newDonePage(f *waleFlow) *donePage { return &donePage{flow: f} }

func (d *donePage) Crumb() string { return "Done" }
func (d *donePage) Sealed() bool  { return true }

// keyRetry stops the restored server and goes back to the target; the next
// restore moves the restored files aside, after the typed confirmation.
var keyRetry = binding("r", "another target", "r")

func (d *donePage) Keys() []key.Binding {
	keys := []key.Binding{binding("up/down", "scroll", "up", "down", "k", "j")}
	if d.canRetry() {
		keys = append(keys, keyRetry)
	}
	return append(keys, keyQuit)
}

// canRetry: after a restore (not a dry run) the target screen is one key
// away, whatever the outcome: a wrong target is fixed by restoring again.
func (d *donePage) canRetry() bool {
	return d.flow != nil && d.result != nil && !d.checking && !d.retrying
}

func (d *donePage) enter(m *Model, plan *walerestore.Plan, res runResult) tea.Cmd {
	d.ok = res.err == nil
	d.result = res.res
	m.outcome.Err = res.err
	d.lines = summaryLines(plan, res, m.deps.Now().Sub(m.began))
	m.outcome.Summary = strings.Join(d.lines, "\n") + "\n"
	m.deps.Journal.Event("restore", "finished", journalOutcome(res.err)...)
	if m.deps.Training != nil && res.err == nil && res.res != nil && res.res.Replay != nil {
		s := res.res.Replay.Server
		return d.startCheck(m, s.SocketDir, s.Port, s.Owner.Name)
	}
	return nil
}

// enterDryRun ends a dry run with the plan as a script: nothing ran.
func (d *donePage) enterDryRun(m *Model, plan *walerestore.Plan) tea.Cmd {
	d.ok = true
	d.lines = []string{"Dry run: nothing was changed. The plan, as the commands an engineer would type:", ""}
	d.lines = append(d.lines, strings.Split(strings.TrimRight(shellcmd.Script(plan.Commands()), "\n"), "\n")...)
	m.outcome.Summary = strings.Join(d.lines, "\n") + "\n"
	return nil
}

func summaryLines(plan *walerestore.Plan, res runResult, session time.Duration) []string {
	var lines []string
	if res.err == nil {
		lines = append(lines, fmt.Sprintf("Restored %s from backup %s to %s.", plan.Options.PGData, plan.Backup.Name, plan.Options.Target))
	} else if interrupted(res.err) {
		lines = append(lines, "The restore was cancelled. Nothing was deleted.")
	} else {
		lines = append(lines, "The restore failed: "+res.err.Error())
	}
	if r := res.res; r != nil {
		lines = append(lines, r.Summary()...)
	}
	lines = append(lines, fmt.Sprintf("Session: %s from the first screen to this one.", session.Round(time.Second)), "")
	if res.err == nil || problem.Is(res.err, problem.ReplayIncomplete) {
		lines = append(lines, "Next steps (from the runbook):")
		for _, s := range walerestore.NextSteps {
			lines = append(lines, "- "+s)
		}
	}
	return lines
}

func (d *donePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if done, ok := msg.(jobDone); ok && d.job != nil && done.id == d.job.id {
		switch r := done.result.(type) {
		case checkResult:
			d.checked(m, r)
		case retryResult:
			return d.retried(m, r.err)
		}
		return nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "r":
			if d.canRetry() {
				return d.retry(m)
			}
		case "q", "enter":
			return m.quit()
		case "up", "k":
			d.offset = max(d.offset-1, 0)
		case "down", "j":
			d.offset++
		}
	}
	return nil
}

type retryResult struct{ err error }

// retry stops the server the restore left running, then goes back to the
// target screen: the plan that follows moves the restored files aside
// (after the typed confirmation) and restores again. Nothing is deleted.
func (d *donePage) retry(m *Model) tea.Cmd {
	d.retrying, d.retryErr = true, nil
	res, backend := d.result, m.deps.WALE
	m.deps.Journal.Event("restore", "the engineer restores again with another target")
	j, cmd := m.startJob(d, func(ctx context.Context, _ func(any)) any { return retryResult{err: backend.Stop(ctx, res)} })
	d.job = j
	return cmd
}

func (d *donePage) retried(m *Model, err error) tea.Cmd {
	d.retrying = false
	if err != nil {
		d.retryErr = err
		return nil
	}
	m.outcome = Outcome{}
	return m.popTo(d.flow.backup)
}

// hangingWrap wraps a line, indenting its continuation under the text
// after a "[x] " or "- " mark.
func hangingWrap(line string, w int) string {
	hang := 0
	for _, mark := range []string{"[x] ", "[!] ", "- ", "    "} {
		if strings.HasPrefix(line, mark) {
			hang = len(mark)
			break
		}
	}
	return indentAfterFirst(wrapWords(line, w-hang), hang)
}

func (d *donePage) View(m *Model) string {
	w := m.width - 2
	title := m.st.OK.Render("Done.")
	if !d.ok {
		title = m.st.Fail.Render("Stopped.")
	}
	var body strings.Builder
	switch {
	case d.checking:
		body.WriteString(m.st.Running.Render("Checking the restored database against the briefing…") + "\n\n")
	case d.verdict != "" && d.passed:
		body.WriteString(m.st.OK.Render(wrapWords(d.verdict, w)) + "\n\n")
	case d.verdict != "":
		body.WriteString(m.st.Fail.Render(wrapWords(d.verdict, w)) + "\n\n")
	}
	for _, l := range d.lines {
		body.WriteString(hangingWrap(l, w) + "\n")
	}
	switch {
	case d.retrying:
		body.WriteString("\n" + m.st.Running.Render("Stopping the restored server before restoring again…") + "\n")
	case d.retryErr != nil:
		body.WriteString("\n" + m.st.Error.Render(wrapWords("Cannot restore again: "+d.retryErr.Error(), w)) + "\n")
	}
	leave := "Press q to leave; this summary is printed again on the terminal."
	if d.canRetry() {
		leave = "Press r to restore again with another target, q to leave (this summary stays on the terminal)."
	}
	leave = wrapWords(leave, w)
	room := m.bodyHeight() - 3 - lipgloss.Height(leave) // the title, the blank lines around the summary
	return title + "\n\n" + scrollLines(body.String(), &d.offset, room) + "\n\n" + leave + "\n"
}

// checkResult is the exercise's verdict.
type checkResult struct {
	ok      bool
	message string
	err     error
}

// startCheck queries the restored server for the exercise's verdict.
func (d *donePage) startCheck(m *Model, socketDir string, port int, user string) tea.Cmd {
	check := m.deps.Training.Check
	d.checking = true
	j, cmd := m.startJob(d, func(ctx context.Context, _ func(any)) any {
		ok, msg, err := check(ctx, socketDir, port, user)
		return checkResult{ok: ok, message: msg, err: err}
	})
	d.job = j
	return cmd
}

func (d *donePage) checked(m *Model, r checkResult) {
	d.checking = false
	d.verdict = verdictText(r.ok, r.message, r.err, m.deps.Now().Sub(m.began))
	d.passed = r.ok && r.err == nil
	m.deps.Journal.Event("exercise", d.verdict)
	m.outcome.Summary += d.verdict + "\n"
	m.say("%s", d.verdict)
}

// journalOutcome records how the restore ended.
func journalOutcome(err error) []slog.Attr {
	if err == nil {
		return []slog.Attr{slog.String("result", "ok")}
	}
	return []slog.Attr{slog.String("result", "error"), slog.String("error", err.Error())}
}
