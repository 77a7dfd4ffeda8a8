// Package ui is the wizard: a stack of pages grouped in flows, drawn full
// screen with Bubble Tea or asked line by line in plain mode. It holds no
// restore logic: each flow does its work through one small backend
// interface of its own, and every screen shows the shell commands its
// action stands for, so the wizard teaches the runbook too.
//
// The root model (this file) routes messages to the page on top, draws the
// frame (header, breadcrumb, keys) and pushes and pops pages; it knows no
// page or flow by name. The flows live in flow_*.go.
package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"pgrescue/hosting"
	"pgrescue/journal"
	"pgrescue/problem"
)

// Deps is what the wizard works with.
type Deps struct {
	WALE    WALEBackend   // the WAL-E restore flow's work
	GPG     GPGBackend    // the GPG key flow's work
	PgDump  PgDumpBackend // the legacy pg_dump flow's work
	RDS     RDSBackend    // the AWS RDS flow's work; nil shows the runbook's steps instead
	Catalog *hosting.Catalog
	Config  *hosting.Config // may be nil
	Journal *journal.Journal
	// Defaults come from flags: they prefill the data directory and envdir.
	Defaults WALERequest
	DryRun   bool
	NoColor  bool
	Training *Training // a practice run: briefing first, a check at the end
	Now      func() time.Time
	// Context bounds every job; main cancels it on SIGTERM.
	Context context.Context
}

// Model is the wizard's root: a stack of pages. It routes keys and job
// messages, draws the frame around the page on top, and pushes and pops.
type Model struct {
	deps   Deps
	st     Styles
	width  int
	height int
	room   int // lines between header and footer in the frame being drawn
	stack  []Page
	jobs   map[int]*job // running work, by id, with the page it reports to
	// stopping is work cancelled when its page was left: it may still be
	// cleaning up (a scout stopping its server), which Wait waits for.
	stopping []*job
	showHelp bool
	quitting bool // ctrl+c was pressed once where answers would be lost
	began    time.Time
	title    string    // the application being restored, once chosen
	lines    io.Writer // plain mode: where pages' sentences go; nil on a full screen
	outcome  Outcome
}

// Outcome is what main prints and exits with once the wizard ends.
type Outcome struct {
	Summary string // printed on stdout after the screen is restored
	Err     error  // the restore's failure, for the exit code
}

// New builds the wizard at its first page.
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
	m := &Model{deps: deps, st: NewStyles(deps.NoColor), width: 80, height: 24, began: deps.Now(), jobs: map[int]*job{}}
	m.deps.Journal.Event("wizard", "started", slog.Bool("dry_run", deps.DryRun))
	m.stack = []Page{firstPage(m)}
	return m
}

// Init focuses the first page.
func (m *Model) Init() tea.Cmd { return m.top().Focus(m) }

// Outcome returns how the wizard ended.
func (m *Model) Outcome() Outcome { return m.outcome }

// Wait stops work still running when the program loop ended (a SIGTERM, a
// lost terminal) and waits for it to stop cleanly: each page that owns
// such work says how it ended.
func (m *Model) Wait(timeout time.Duration) {
	for _, p := range m.stack {
		if a, ok := p.(abandoner); ok {
			a.Abandon(m, func(j *job) bool { j.cancel(); return j.wait(timeout) })
		}
	}
	for _, j := range m.stopping {
		j.wait(timeout)
	}
}

func (m *Model) top() Page { return m.stack[len(m.stack)-1] }

// push puts a page on top and focuses it.
func (m *Model) push(p Page) tea.Cmd {
	m.deps.Journal.Event("step", p.Crumb())
	m.stack = append(m.stack, p)
	return p.Focus(m)
}

// back returns to the page below, which keeps what was entered there, and
// stops the work the page left was doing. The first page has nowhere to
// go back to: esc there does nothing (it used to quit, and in the demo
// remove the sandbox, at one stray key).
func (m *Model) back() tea.Cmd {
	if len(m.stack) == 1 {
		return nil
	}
	left := m.top()
	m.stack = m.stack[:len(m.stack)-1]
	m.cancelJobsOf(left)
	return m.top().Focus(m)
}

// popTo returns to page p, below the top, leaving every page above it, even
// sealed ones (the restore is over), and stopping their work.
func (m *Model) popTo(p Page) tea.Cmd {
	for len(m.stack) > 1 && m.top() != p {
		left := m.top()
		m.stack = m.stack[:len(m.stack)-1]
		m.cancelJobsOf(left)
	}
	return m.top().Focus(m)
}

func (m *Model) cancelJobsOf(p Page) {
	for id, j := range m.jobs {
		if j.owner == p {
			j.cancel()
			delete(m.jobs, id)
			m.stopping = append(m.stopping, j)
		}
	}
}

func (m *Model) quit() tea.Cmd { return tea.Quit }

// interrupt is ctrl+c on a page with no work of its own to stop: it asks
// once when answers would be lost, then ends the session as interrupted
// (exit 130, like other terminal programs).
func (m *Model) interrupt() tea.Cmd {
	if !m.quitting && (len(m.stack) > 1 || m.deps.Training != nil) {
		m.quitting = true
		return nil
	}
	m.deps.Journal.Event("wizard", "quit by the engineer")
	return m.end(problem.New(problem.Interrupted, "pgrescue", "the wizard was quit before any restore ran",
		"run pgrescue again; nothing on disk was changed"))
}

// end stops the wizard with err as its outcome (plain mode's refusals).
func (m *Model) end(err error) tea.Cmd {
	m.outcome.Err = err
	return tea.Quit
}

// plain reports plain mode: the same pages, asked line by line.
func (m *Model) plain() bool { return m.lines != nil }

// say prints one full sentence in plain mode; on a full screen the page
// shows the same state itself.
func (m *Model) say(format string, args ...any) {
	if m.lines != nil {
		fmt.Fprintf(m.lines, format+"\n", args...)
	}
}

// onStack reports whether p is still a page of the wizard.
func (m *Model) onStack(p Page) bool { return slices.Contains(m.stack, p) }

// startJob runs work for the page owner; its events and result go to that
// page while it is on the stack.
func (m *Model) startJob(owner Page, work func(ctx context.Context, emit func(any)) any) (*job, tea.Cmd) {
	j, cmd := startJob(m.deps.Context, work)
	j.owner = owner
	m.jobs[j.id] = j
	return j, cmd
}

// Update routes a message: window size and global keys here, job messages
// to the page that started the job, the rest to the page on top.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyPressMsg:
		if cmd, handled := m.globalKey(msg); handled {
			return m, cmd
		}
	case jobEvents:
		return m, m.toOwner(msg.id, msg, false)
	case jobDone:
		return m, m.toOwner(msg.id, msg, true)
	}
	return m, m.top().Update(m, msg)
}

// toOwner delivers a job's message to the page that started it, if it is
// still on the stack.
func (m *Model) toOwner(id int, msg tea.Msg, last bool) tea.Cmd {
	j, ok := m.jobs[id]
	if !ok {
		return nil
	}
	if last {
		delete(m.jobs, id)
	}
	if !m.onStack(j.owner) {
		return nil
	}
	return j.owner.Update(m, msg)
}

// globalKey handles the keys that work on every screen.
func (m *Model) globalKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if m.showHelp {
		m.showHelp = false // any key closes the help
		return nil, true
	}
	if k.String() != "ctrl+c" && m.quitting {
		m.quitting = false // any other key means "stay"
		return nil, true
	}
	switch k.String() {
	case "ctrl+c":
		if p, ok := m.top().(interrupter); ok {
			return p.Interrupt(m), true
		}
		return m.interrupt(), true
	case "?":
		if !m.top().Typing() {
			m.showHelp = true
			return nil, true
		}
	case "esc":
		if !m.isSealed() {
			return m.back(), true
		}
	}
	return nil, false
}

func (m *Model) isSealed() bool {
	s, ok := m.top().(sealed)
	return ok && s.Sealed()
}

// View draws the frame: a header with the breadcrumb, the page, the keys.
func (m *Model) View() tea.View {
	// The frame is drawn first: the page lays itself out in the room left.
	header := m.headerView()
	footer := m.footerView()
	m.room = max(m.height-lipgloss.Height(header)-lipgloss.Height(footer), 1)
	var body string
	if m.showHelp {
		body = m.helpView()
	} else {
		body = m.top().View(m)
	}
	body = fitLines(body, m.width, m.room)
	v := tea.NewView(lipgloss.JoinVertical(lipgloss.Left, header, body, footer))
	v.AltScreen = true
	v.WindowTitle = "pgrescue: " + m.top().Crumb()
	return v
}

// bodyHeight is the room a page has between the header and the footer, as
// measured by the View being drawn.
func (m *Model) bodyHeight() int { return m.room }

func (m *Model) headerView() string {
	title := m.st.Title.Render("pgrescue") + m.st.Header.Render(" · PostgreSQL restore wizard")
	if m.title != "" {
		title += m.st.Header.Render(" · " + m.title)
	}
	if m.deps.DryRun {
		title += m.st.Warn.Render(" · DRY RUN (nothing changes)")
	}
	return truncate(title, m.width) + "\n" + m.breadcrumb() + "\n"
}

// crumbs are the pages so far and the ones expected after the top one;
// current is the top's index.
func (m *Model) crumbs() (names []string, current int) {
	for _, p := range m.stack {
		names = append(names, p.Crumb())
	}
	if a, ok := m.top().(ahead); ok {
		names = append(names, a.Ahead()...)
	}
	return names, len(m.stack) - 1
}

// breadcrumb shows where the engineer is in the flow; on a narrow terminal
// the first pages give way to "…" so the current one always shows.
func (m *Model) breadcrumb() string {
	names, current := m.crumbs()
	for first := 0; ; first++ {
		var parts []string
		if first > 0 {
			parts = append(parts, m.st.Crumb.Render("…"))
		}
		for i := first; i < len(names); i++ {
			if i == current {
				parts = append(parts, m.st.CrumbNow.Render("["+names[i]+"]"))
			} else {
				parts = append(parts, m.st.Crumb.Render(names[i]))
			}
		}
		line := strings.Join(parts, m.st.Crumb.Render(" > "))
		if lipgloss.Width(line) <= m.width || first == len(names)-1 || first == current {
			return truncate(line, m.width)
		}
	}
}

// globalKeys are the keys of every screen.
var (
	keyBack = binding("esc", "back", "esc")
	keyHelp = binding("?", "keys", "?")
	keyExit = binding("ctrl+c", "quit", "ctrl+c")
)

func (m *Model) footerView() string {
	var keys []string
	add := func(b key.Binding) { keys = append(keys, m.st.Key.Render(b.Help().Key)+" "+b.Help().Desc) }
	for _, b := range m.top().Keys() {
		add(b)
	}
	if !m.isSealed() && len(m.stack) > 1 {
		add(keyBack)
	}
	add(keyHelp)
	add(keyExit)
	if m.quitting {
		return "\n" + m.st.Danger.Render(wrapWords("Quit pgrescue? What you entered is lost; nothing on disk was changed. "+
			"Press ctrl+c again to quit, any other key to stay.", m.width))
	}
	return "\n" + wrapWords(strings.Join(keys, " · "), m.width)
}

func (m *Model) helpView() string {
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Keys on this screen ("+m.top().Crumb()+")") + "\n\n")
	for _, k := range m.top().Keys() {
		b.WriteString("  " + m.st.Key.Render(padRight(k.Help().Key, 12)) + k.Help().Desc + "\n")
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
