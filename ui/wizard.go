// Package ui is the wizard: Bubble Tea models that render what the engines
// report and send what the engineer chooses. It holds no restore logic:
// every action goes through a Backend, and every screen shows the shell
// commands the action stands for, so the wizard teaches the runbook too.
package ui

import (
	"context"
	"log/slog"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"pgrescue/hosting"
	"pgrescue/journal"
	"pgrescue/problem"
)

// stepID names a screen of the wizard, in the order of the flow.
type stepID int

const (
	stepBriefing stepID = iota
	stepApp
	stepHosting
	stepSource
	stepManual
	stepPreflight
	stepGPG
	stepBackup
	stepPlan
	stepRun
	stepDone
)

var stepNames = map[stepID]string{
	stepBriefing: "Briefing", stepApp: "Application", stepHosting: "Hosting", stepSource: "Source", stepManual: "Runbook",
	stepPreflight: "Preflight", stepGPG: "GPG key", stepBackup: "Backup", stepPlan: "Plan", stepRun: "Restore", stepDone: "Done",
}

// The breadcrumb shows the WAL-E path; manual branches show their own.
var walePath = []stepID{stepApp, stepHosting, stepSource, stepPreflight, stepBackup, stepPlan, stepRun, stepDone}

// Deps is what the wizard works with.
type Deps struct {
	Backend Backend
	Catalog *hosting.Catalog
	Config  *hosting.Config // may be nil
	Journal *journal.Journal
	// Defaults come from flags: they prefill the data directory and envdir.
	Defaults Request
	DryRun   bool
	NoColor  bool
	Training *Training // a practice run: briefing first, a check at the end
	Now      func() time.Time
	// Context bounds every job; main cancels it on SIGTERM.
	Context context.Context
}

// Model is the wizard's root: a step machine that routes keys and job
// messages to the current step and draws the frame around it.
type Model struct {
	deps     Deps
	st       Styles
	width    int
	height   int
	room     int // lines between header and footer in the frame being drawn
	step     stepID
	history  []stepID
	showHelp bool
	began    time.Time

	req      Request // what has been gathered so far
	briefing *briefingStep
	app      *appStep
	hosting  *hostingStep
	source   *sourceStep
	manual   *manualStep
	pre      *preflightStep
	gpg      *gpgStep
	backup   *backupStep
	plan     *planStep
	run      *runStep
	done     *doneStep
	outcome  Outcome
}

// Outcome is what main prints and exits with once the wizard ends.
type Outcome struct {
	Summary string // printed on stdout after the screen is restored
	Err     error  // the restore's failure, for the exit code
}

// New builds the wizard at its first step.
func New(deps Deps) *Model {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Context == nil {
		deps.Context = context.Background()
	}
	if deps.Catalog == nil {
		deps.Catalog = hosting.DefaultCatalog()
	}
	m := &Model{deps: deps, st: NewStyles(deps.NoColor), width: 80, height: 24, began: deps.Now(), req: deps.Defaults}
	m.briefing = &briefingStep{}
	m.app = newAppStep(m)
	m.step = stepApp
	if deps.Training != nil {
		m.step = stepBriefing
	}
	m.hosting = &hostingStep{}
	m.source = &sourceStep{}
	m.manual = &manualStep{}
	m.pre = &preflightStep{}
	m.gpg = newGPGStep()
	m.backup = newBackupStep()
	m.plan = newPlanStep()
	m.run = newRunStep()
	m.done = &doneStep{}
	m.deps.Journal.Event("wizard", "started", slog.Bool("dry_run", deps.DryRun))
	return m
}

// Wait cancels a restore still running when the program loop ended (a
// SIGTERM, a lost terminal) and waits for it to stop cleanly: the server
// stopped, a partial fetch labelled.
func (m *Model) Wait(timeout time.Duration) {
	j := m.run.job
	if j == nil {
		return
	}
	j.cancel()
	if j.wait(timeout) && m.outcome.Err == nil {
		m.outcome.Err = problem.New(problem.Interrupted, m.req.PGData, "the restore was stopped before it finished",
			"run pgrescue again; the old data directory was moved aside, not deleted, and a partial restore is labelled .pgrescue-incomplete")
	}
}

// Outcome returns how the wizard ended.
func (m *Model) Outcome() Outcome { return m.outcome }

// Init starts the first step.
func (m *Model) Init() tea.Cmd {
	if m.step == stepBriefing {
		return nil
	}
	return m.app.input.Focus()
}

// Update routes a message: window size and global keys here, the rest to
// the current step.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyPressMsg:
		if cmd, handled := m.globalKey(msg); handled {
			return m, cmd
		}
	}
	return m, m.updateStep(msg)
}

// globalKey handles the keys that work on every screen.
func (m *Model) globalKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if m.showHelp {
		m.showHelp = false // any key closes the help
		return nil, true
	}
	switch k.String() {
	case "ctrl+c":
		if m.step == stepRun {
			return m.run.interrupt(m), true
		}
		return m.quit(), true
	case "?":
		if !m.typing() {
			m.showHelp = true
			return nil, true
		}
	case "esc":
		if m.step != stepRun && m.step != stepDone {
			return m.back(), true
		}
	}
	return nil, false
}

// typing reports whether the current step has a text field focused, where
// "?" and letters are text, not commands.
func (m *Model) typing() bool {
	switch m.step {
	case stepApp:
		return true
	case stepBriefing:
		return false
	case stepBackup:
		return m.backup.target.Focused()
	case stepPlan:
		return m.plan.confirm.Focused()
	case stepGPG:
		return m.gpg.input.Focused()
	case stepPreflight:
		return m.pre.editing()
	}
	return false
}

// page is what every step is: it takes messages and draws itself.
type page interface {
	update(m *Model, msg tea.Msg) tea.Cmd
	view(m *Model) string
}

// current is the step on screen.
func (m *Model) current() page {
	return map[stepID]page{
		stepBriefing: m.briefing, stepApp: m.app, stepHosting: m.hosting, stepSource: m.source, stepManual: m.manual,
		stepPreflight: m.pre, stepGPG: m.gpg, stepBackup: m.backup, stepPlan: m.plan, stepRun: m.run, stepDone: m.done,
	}[m.step]
}

func (m *Model) updateStep(msg tea.Msg) tea.Cmd { return m.current().update(m, msg) }

// goTo moves forward to a step, remembering where esc returns to.
func (m *Model) goTo(next stepID) {
	m.deps.Journal.Event("step", stepNames[next])
	m.history = append(m.history, m.step)
	m.step = next
}

// back returns to the previous step, keeping what was entered there. The
// first step has nowhere to go back to: esc there quits.
func (m *Model) back() tea.Cmd {
	if len(m.history) == 0 {
		return m.quit()
	}
	m.step = m.history[len(m.history)-1]
	m.history = m.history[:len(m.history)-1]
	return m.focusCurrent()
}

// focusCurrent focuses the text field of the step shown, if it has one.
func (m *Model) focusCurrent() tea.Cmd {
	switch m.step {
	case stepApp:
		return m.app.input.Focus()
	case stepBackup:
		return m.backup.focus()
	case stepPlan:
		return m.plan.focus()
	}
	return nil
}

func (m *Model) quit() tea.Cmd { return tea.Quit }

// View draws the frame: a header with the breadcrumb, the step, the keys.
func (m *Model) View() tea.View {
	// The frame is drawn first: the step lays itself out in the room left.
	header := m.headerView()
	footer := m.footerView()
	m.room = max(m.height-lipgloss.Height(header)-lipgloss.Height(footer), 1)
	var body string
	if m.showHelp {
		body = m.helpView()
	} else {
		body = m.stepView()
	}
	body = fitLines(body, m.width, m.room)
	v := tea.NewView(lipgloss.JoinVertical(lipgloss.Left, header, body, footer))
	v.AltScreen = true
	v.WindowTitle = "pgrescue: " + stepNames[m.step]
	return v
}

// bodyHeight is the room a step has between the header and the footer, as
// measured by the View being drawn.
func (m *Model) bodyHeight() int { return m.room }

func (m *Model) stepView() string { return m.current().view(m) }

func (m *Model) headerView() string {
	title := m.st.Title.Render("pgrescue") + m.st.Header.Render(" · PostgreSQL restore wizard")
	if m.req.App != "" {
		title += m.st.Header.Render(" · " + m.req.App)
	}
	if m.deps.DryRun {
		title += m.st.Warn.Render(" · DRY RUN (nothing changes)")
	}
	return truncate(title, m.width) + "\n" + m.breadcrumb() + "\n"
}

// breadcrumb shows where the engineer is in the flow; on a narrow terminal
// the first steps give way to "…" so the current one always shows.
func (m *Model) breadcrumb() string {
	path := m.path()
	for {
		var crumbs []string
		if len(path) < len(m.path()) {
			crumbs = append(crumbs, m.st.Crumb.Render("…"))
		}
		for _, id := range path {
			name := stepNames[id]
			if id == m.step {
				crumbs = append(crumbs, m.st.CrumbNow.Render("["+name+"]"))
			} else {
				crumbs = append(crumbs, m.st.Crumb.Render(name))
			}
		}
		line := strings.Join(crumbs, m.st.Crumb.Render(" > "))
		if lipgloss.Width(line) <= m.width || len(path) == 1 || path[0] == m.step {
			return truncate(line, m.width)
		}
		path = path[1:]
	}
}

// path is the breadcrumb: the WAL-E flow, with the GPG or runbook step in
// place when the engineer is on it.
func (m *Model) path() []stepID {
	if m.step == stepBriefing {
		return append([]stepID{stepBriefing}, walePath...)
	}
	switch m.step {
	case stepManual:
		return []stepID{stepApp, stepHosting, stepSource, stepManual}
	case stepGPG:
		return []stepID{stepApp, stepHosting, stepSource, stepPreflight, stepGPG, stepBackup, stepPlan, stepRun, stepDone}
	}
	return walePath
}

func (m *Model) footerView() string {
	var keys []string
	for _, k := range m.stepKeys() {
		keys = append(keys, m.st.Key.Render(k[0])+" "+k[1])
	}
	if m.step != stepRun && m.step != stepDone {
		keys = append(keys, m.st.Key.Render("esc")+" back")
	}
	keys = append(keys, m.st.Key.Render("?")+" keys", m.st.Key.Render("ctrl+c")+" quit")
	return "\n" + wrapWords(strings.Join(keys, " · "), m.width)
}

// stepKeys are the current step's own keys, for the footer and the help.
func (m *Model) stepKeys() [][2]string {
	switch m.step {
	case stepApp:
		return m.app.keys()
	case stepHosting, stepSource:
		return [][2]string{{"up/down", "choose"}, {"enter", "continue"}}
	case stepManual:
		return [][2]string{{"up/down", "scroll"}}
	case stepPreflight:
		return m.pre.keys()
	case stepGPG:
		return m.gpg.keys()
	case stepBackup:
		return m.backup.keys()
	case stepPlan:
		return m.plan.keys()
	case stepRun:
		return [][2]string{{"pgup/pgdn", "scroll the log"}}
	case stepDone:
		return [][2]string{{"up/down", "scroll"}, {"q", "quit"}}
	case stepBriefing:
		return [][2]string{{"enter", "start the exercise"}}
	}
	return nil
}

func (m *Model) helpView() string {
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Keys on this screen ("+stepNames[m.step]+")") + "\n\n")
	for _, k := range m.stepKeys() {
		b.WriteString("  " + m.st.Key.Render(padRight(k[0], 12)) + k[1] + "\n")
	}
	b.WriteString("\n" + m.st.Bold.Render("Everywhere") + "\n\n")
	for _, k := range [][2]string{
		{"?", "show this help (any key closes it)"},
		{"esc", "go back a step, keeping what you entered"},
		{"ctrl+c", "quit; while a restore runs, asks once, then cancels it cleanly"},
	} {
		b.WriteString("  " + m.st.Key.Render(padRight(k[0], 12)) + k[1] + "\n")
	}
	b.WriteString("\nNothing is deleted: a data directory in the way is renamed aside, and only\nafter you type its path. Every action shows the shell commands it stands for.\n")
	return b.String()
}
