package ui

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"charm.land/bubbles/v2/key"

	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
)

// maxLogLines bounds the server log kept for the pane; the whole log stays
// in its file.
const maxLogLines = 500

// runPage shows the restore as it happens: the fetch's bytes, rate and
// partitions, then the replay's progress, milestones and the server log.
// It cannot be left with esc; ctrl+c asks, then cancels cleanly.
type runPage struct {
	basePage
	flow       *waleFlow
	plan       *walerestore.Plan
	job        *job
	current    walerestore.ActionID
	done       map[walerestore.ActionID]time.Duration
	fetch      wale.FetchProgress
	fetchStart wale.FetchStarted
	movedTo    string
	replay     *replay.Prepared
	progress   replay.Snapshot
	milestones []replay.Milestone
	warnings   []string
	log        []logEntry
	logOffset  int // lines scrolled up from the bottom of the log
	askedStop  bool
	stopping   bool
	began      time.Time
	spans      map[walerestore.ActionID]*journal.Span
	lastLine   time.Time // plain mode: when progress was last printed
}

type logEntry struct {
	text  string
	alarm bool // an error or FATAL: highlighted
}

// runResult is the restore's outcome.
type runResult struct {
	res *walerestore.Result
	err error
}

// startRun pushes the run page and starts the restore.
func startRun(m *Model, f *waleFlow, plan *walerestore.Plan) tea.Cmd {
	r := newRunPage(f, plan, m.deps.Now())
	focus := m.push(r)
	backend := m.deps.WALE
	m.deps.Journal.Event("restore", "started")
	j, cmd := m.startJob(r, func(ctx context.Context, emit func(any)) any {
		res, err := backend.Run(ctx, plan, func(e walerestore.Event) { emit(e) })
		return runResult{res: res, err: err}
	})
	r.job = j
	return tea.Batch(focus, cmd)
}

func newRunPage(f *waleFlow, plan *walerestore.Plan, began time.Time) *runPage {
	r := &runPage{flow: f, plan: plan, done: map[walerestore.ActionID]time.Duration{}, began: began, spans: map[walerestore.ActionID]*journal.Span{}}
	r.next = waleCrumbs[4:]
	return r
}

func (r *runPage) Crumb() string { return "Restore" }
func (r *runPage) Sealed() bool  { return true }
func (r *runPage) Keys() []key.Binding {
	return []key.Binding{binding("pgup/pgdn", "scroll the log", "pgup", "pgdown", "up", "down")}
}

// Abandon cancels a restore still running when the program loop ended and
// waits for it: the server stopped, a partial fetch labelled.
func (r *runPage) Abandon(m *Model, stop func(*job) bool) {
	if r.job == nil {
		return
	}
	if stop(r.job) && m.outcome.Err == nil {
		m.outcome.Err = problem.New(problem.Interrupted, r.plan.Options.PGData, "the restore was stopped before it finished",
			"run pgrescue again; the old data directory was moved aside, not deleted, and a partial restore is labelled .pgrescue-incomplete")
	}
}

// interrupt asks once, then cancels the restore; the job ends by itself
// (the fetch labels its partial directory, the replay stops the server).
func (r *runPage) Interrupt(m *Model) tea.Cmd {
	if r.job == nil {
		return m.quit()
	}
	if !r.askedStop {
		r.askedStop = true
		return nil
	}
	if !r.stopping {
		r.stopping = true
		m.deps.Journal.Event("restore", "cancelled by the engineer")
		r.job.cancel()
	}
	return nil
}

func (r *runPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		if r.job == nil || msg.id != r.job.id {
			return nil
		}
		for _, e := range msg.events {
			r.apply(m, e.(walerestore.Event))
			if line := plainEventLine(e.(walerestore.Event), &r.lastLine, m.deps.Now); line != "" {
				m.say("%s", line)
			}
		}
		return r.job.listen()
	case jobDone:
		if r.job == nil || msg.id != r.job.id {
			return nil
		}
		res := msg.result.(runResult)
		r.job = nil
		done := newDonePage(r.flow)
		return tea.Batch(m.push(done), done.enter(m, r.plan, res))
	case tea.KeyPressMsg:
		return r.key(msg)
	}
	return nil
}

func (r *runPage) key(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "pgup", "up":
		r.logOffset = min(r.logOffset+5, max(len(r.log)-1, 0))
	case "pgdown", "down":
		r.logOffset = max(r.logOffset-5, 0)
	case "end":
		r.logOffset = 0
	case "esc", "n":
		r.askedStop = false // "do not cancel"
	}
	return nil
}

func (r *runPage) apply(m *Model, e walerestore.Event) {
	switch e := e.(type) {
	case walerestore.ActionStarted:
		r.current = e.Action.ID
		r.spans[e.Action.ID] = m.deps.Journal.Step(e.Action.Title)
		for _, c := range e.Action.Commands {
			m.deps.Journal.Event("command", c.Line, slog.String("why", c.Why))
		}
	case walerestore.ActionDone:
		r.done[e.Action.ID] = e.Duration
		r.spans[e.Action.ID].End(e.Err)
	case walerestore.FetchEvent:
		r.applyFetch(e.Event)
	case walerestore.ReplayPrepared:
		r.replay = e.Replay
		r.warnings = append(r.warnings, e.Replay.Warnings...)
	case walerestore.ReplayEvent:
		r.applyReplay(m, e.Event)
	}
}

func (r *runPage) applyFetch(e wale.Event) {
	switch e := e.(type) {
	case wale.FetchStarted:
		r.fetchStart = e
	case wale.FetchProgress:
		r.fetch = e
	case wale.MovedAside:
		r.movedTo = e.To
	case wale.Warning:
		r.warnings = append(r.warnings, e.Message)
	}
}

func (r *runPage) applyReplay(m *Model, e replay.Event) {
	switch e := e.(type) {
	case replay.ProgressUpdate:
		r.progress = e.Snapshot
	case replay.Milestone:
		r.milestones = append(r.milestones, e)
		m.deps.Journal.Event("milestone", e.Name+": "+e.Detail)
	case replay.Warning:
		r.warnings = append(r.warnings, e.Message)
		m.deps.Journal.Event("warning", e.Message)
	case replay.LogLine:
		r.addLog(e)
	}
}

func (r *runPage) addLog(e replay.LogLine) {
	alarm := strings.Contains(e.Text, "ERROR:") || strings.Contains(e.Text, "PANIC:")
	if _, ok := e.Event.(*pglog.Fatal); ok {
		alarm = true
	}
	text := logPrefix.ReplaceAllString(ansi.Strip(strings.ReplaceAll(e.Text, "\t", "  ")), "$1 ")
	r.log = append(r.log, logEntry{text: text, alarm: alarm})
	if over := len(r.log) - maxLogLines; over > 0 {
		r.log = append(r.log[:0:0], r.log[over:]...)
	}
}

// logPrefix is pgrescue's log_line_prefix ('%m [%p] '): the pane keeps
// only the time of day, so the messages fit an 80-column terminal.
var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d)(?:\.\d+)? \S+ \[\d+\] `)

func (r *runPage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Restoring "+r.plan.Options.PGData) + m.st.Faint.Render(fmt.Sprintf("  (elapsed %s)", m.deps.Now().Sub(r.began).Round(time.Second))) + "\n")
	for i, a := range r.plan.Actions {
		b.WriteString(r.actionLine(m, i, a) + "\n")
	}
	b.WriteString("\n")
	switch r.current {
	case walerestore.ActionReplay:
		b.WriteString(r.replayView(m, w))
	default:
		b.WriteString(r.fetchView(m, w))
	}
	for _, warning := range r.warnings {
		b.WriteString(m.st.Warn.Render(wrapWords("Warning: "+warning, w)) + "\n")
	}
	if r.askedStop {
		b.WriteString(r.stopView(m, w))
	}
	used := strings.Count(b.String(), "\n")
	b.WriteString(r.logView(m, w, m.bodyHeight()-used))
	return b.String()
}

func (r *runPage) actionLine(m *Model, i int, a walerestore.Action) string {
	mark, style := "[    ]", m.st.Faint
	if d, ok := r.done[a.ID]; ok {
		mark, style = "[done]", m.st.OK
		return style.Render(mark) + fmt.Sprintf(" %d. %s (%s)", i+1, a.Title, d.Round(time.Second))
	}
	if a.ID == r.current {
		mark, style = "[ .. ]", m.st.Running
	}
	return style.Render(mark) + fmt.Sprintf(" %d. %s", i+1, a.Title)
}

func (r *runPage) fetchView(m *Model, w int) string {
	p := r.fetch
	if r.fetchStart.Partitions == 0 {
		return "Checking the data directory and listing the backup's partitions…\n"
	}
	if p.ExpandedTotal == 0 { // no progress tick yet: the totals are known from the start
		p.ExpandedTotal, p.CompressedTotal = r.fetchStart.ExpandedBytes, r.fetchStart.CompressedBytes
	}
	fraction := 0.0
	if p.ExpandedTotal > 0 {
		fraction = float64(p.Extracted) / float64(p.ExpandedTotal)
	}
	lines := []string{
		fmt.Sprintf("Fetch  %s %5.1f%%", bar(fraction, min(w-14, 50)), fraction*100),
		fmt.Sprintf("       %s of %s extracted, %s of %s downloaded", wale.HumanBytes(p.Extracted), wale.HumanBytes(p.ExpandedTotal),
			wale.HumanBytes(p.Downloaded), wale.HumanBytes(p.CompressedTotal)),
		fmt.Sprintf("       partitions %d of %d (%d at a time), %s/s, ETA %s", p.PartitionsDone, r.fetchStart.Partitions, r.fetchStart.Workers,
			wale.HumanBytes(int64(p.Rate)), eta(p.ETA)),
	}
	if p.Retrying != "" {
		lines = append(lines, "       "+m.st.Warn.Render(p.Retrying))
	}
	if r.movedTo != "" {
		lines = append(lines, "       the old data directory is kept at "+r.movedTo)
	}
	return strings.Join(lines, "\n") + "\n"
}

func eta(d time.Duration) string {
	if d <= 0 {
		return "unknown yet"
	}
	return d.Round(time.Second).String()
}

func (r *runPage) replayView(m *Model, w int) string {
	s := r.progress
	lines := []string{fmt.Sprintf("Replay %s %5.1f%%", bar(s.Percent/100, min(w-14, 50)), s.Percent)}
	if r.replay != nil {
		lines = append(lines, fmt.Sprintf("       at %s, target %s", replay.FormatLSN(s.Current), r.replay.Settings.Target))
	}
	restoring := s.LastRestored
	if restoring == "" {
		restoring = "none yet"
	}
	etaText := "unknown yet"
	if s.HasETA {
		etaText = eta(s.ETA)
	}
	lines = append(lines,
		fmt.Sprintf("       segments restored %d, left %d; last %s", s.SegmentsDone, s.SegmentsLeft, restoring),
		fmt.Sprintf("       %s/s of WAL, ETA %s", wale.HumanBytes(int64(s.Rate)), etaText))
	var reached []string
	for _, ms := range r.milestones {
		reached = append(reached, m.st.OK.Render("[x]")+" "+ms.Name)
	}
	if len(reached) > 0 {
		lines = append(lines, "       "+strings.Join(reached, "  "))
	}
	return strings.Join(lines, "\n") + "\n"
}

func (r *runPage) stopView(m *Model, w int) string {
	if r.stopping {
		return m.st.Warn.Render("Cancelling: stopping cleanly. The old data directory stays where it is.") + "\n"
	}
	return m.st.Danger.Render(wrapWords("Cancel the restore? Press ctrl+c again to cancel (a partial restore is labelled, the old data directory is kept); esc to carry on.", w)) + "\n"
}

// logView is the tail of the server log, errors highlighted; up/down
// scroll back.
func (r *runPage) logView(m *Model, w, room int) string {
	if r.current != walerestore.ActionReplay || room < 3 {
		return ""
	}
	title := "Server log"
	if r.replay != nil && r.replay.Server != nil {
		title += " (" + r.replay.Server.LogFile + ")"
	}
	rows := room - 2
	end := len(r.log) - r.logOffset
	start := max(end-rows, 0)
	var b strings.Builder
	b.WriteString("\n" + m.st.Faint.Render(truncate(title, w)) + "\n")
	for _, e := range r.log[start:end] {
		line := truncate(e.text, w)
		if e.alarm {
			line = m.st.Error.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// failed reports whether a restore error is an interruption by the engineer.
func interrupted(err error) bool {
	return problem.Is(err, problem.Interrupted) || err == context.Canceled
}

// plainEventLine is one full sentence per state change; progress at most
// every 5 seconds.
func plainEventLine(e walerestore.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case walerestore.ActionStarted:
		return "Started: " + e.Action.Title
	case walerestore.ActionDone:
		if e.Err != nil {
			return "Failed: " + e.Action.Title
		}
		return fmt.Sprintf("Done in %s: %s", e.Duration.Round(time.Second), e.Action.Title)
	case walerestore.FetchEvent:
		return plainFetchLine(e.Event, last, now)
	case walerestore.ReplayEvent:
		return plainReplayLine(e.Event, last, now)
	}
	return ""
}

func plainFetchLine(e wale.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case wale.MovedAside:
		return "The old data directory was moved aside to " + e.To + "."
	case wale.Warning:
		return "Warning: " + e.Message
	case wale.FetchProgress:
		if now().Sub(*last) >= 5*time.Second {
			*last = now()
			return "Fetch: " + e.String()
		}
	}
	return ""
}

func plainReplayLine(e replay.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case replay.Milestone:
		return "Replay milestone: " + e.Name + ": " + e.Detail
	case replay.Warning:
		return "Warning: " + e.Message
	case replay.ProgressUpdate:
		if now().Sub(*last) >= 5*time.Second || e.Finished {
			*last = now()
			return "Replay: " + e.String()
		}
	case replay.LogLine:
		if strings.Contains(e.Text, "FATAL:") || strings.Contains(e.Text, "PANIC:") {
			return "Server log: " + e.Text
		}
	}
	return ""
}
