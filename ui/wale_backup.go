package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
	"pgrescue/restore/walinspect"
)

// backupPage shows the base backups and takes the target: the end of the
// archive, or a time checked against what the chosen backup can reach.
type backupPage struct {
	basePage
	flow     *waleFlow
	backups  []wale.Backup // oldest first
	latest   string
	cursor   int
	picked   bool // the engineer moved the cursor: do not re-choose by target
	target   textinput.Model
	parsed   recovery.Target
	parseErr error
	problem  error // why the target cannot be reached from the chosen backup
	planning bool
	job      *job
	targeted bool // plain mode: the target is answered, the backup is next
	now      func() time.Time
	lastDay  bool           // a time of day was moved to the archive's last day
	moment   *walinspect.Tx // chosen on the moment page: the target is its xid until a time is typed
	momentOf string         // the backup whose WAL it was found in
}

func newBackupPage(f *waleFlow, now func() time.Time) *backupPage {
	b := &backupPage{flow: f, now: now, target: newTextInput("end of the archive (or a time, e.g. 2026-11-25 02:53:00)", 44)}
	b.next = waleCrumbs[2:]
	return b
}

// enter lists the backups of the preflight's report.
func (b *backupPage) enter(m *Model) tea.Cmd {
	rep := b.flow.report
	b.backups = append([]wale.Backup(nil), rep.Backups...)
	sortByCompletion(b.backups)
	if l, ok := wale.Latest(b.backups); ok {
		b.latest = l.Name
	}
	if rep.Chosen != nil && !b.picked {
		b.cursor = b.indexOf(rep.Chosen.Name)
	}
	b.targeted = false
	b.revalidate()
	m.say("Base backups (completed, UTC):")
	return b.Focus(m)
}

func (b *backupPage) Crumb() string          { return "Backup" }
func (b *backupPage) Typing() bool           { return b.target.Focused() }
func (b *backupPage) Focus(m *Model) tea.Cmd { return b.target.Focus() }

func (b *backupPage) Keys() []key.Binding {
	return []key.Binding{binding("up/down", "choose the backup", "up", "down"),
		binding("type", "the target time (empty: end of the archive)"), binding("f", "find the moment in the WAL", "f"),
		binding("enter", "plan the restore", "enter")}
}

func sortByCompletion(bs []wale.Backup) {
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && bs[j].LastModified.Before(bs[j-1].LastModified); j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

func (b *backupPage) indexOf(name string) int {
	for i, bk := range b.backups {
		if bk.Name == name {
			return i
		}
	}
	return len(b.backups) - 1
}

func (b *backupPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		if b.job == nil || msg.id != b.job.id {
			return nil
		}
		return b.planned(m, msg.result.(planResult))
	case tea.KeyPressMsg:
		switch msg.String() {
		case "up":
			b.move(-1)
			return nil
		case "down":
			b.move(1)
			return nil
		case "enter":
			return b.submit(m)
		case "f":
			if strings.TrimSpace(b.target.Value()) == "" { // no time starts with f
				return b.findMoment(m)
			}
		}
	}
	return updateInput(&b.target, msg, func() {
		if strings.TrimSpace(b.target.Value()) != "" {
			b.moment = nil // a time typed replaces the transaction chosen
		}
		b.revalidate()
	})
}

func (b *backupPage) move(by int) {
	if n := len(b.backups); n > 0 {
		b.cursor = min(max(b.cursor+by, 0), n-1)
		b.picked = true
		b.revalidate()
	}
}

// findMoment opens the moment page over the chosen backup's window.
func (b *backupPage) findMoment(m *Model) tea.Cmd {
	if len(b.backups) == 0 || b.planning {
		return nil
	}
	w := b.window()
	p := newMomentPage(b.flow, b.backups[b.cursor].Name, w.From, w.To)
	return tea.Batch(m.push(p), p.start(m))
}

// chooseMoment makes the target the transaction chosen on the moment page,
// with the backup its WAL was read from.
func (b *backupPage) chooseMoment(backup string, tx *walinspect.Tx) {
	b.moment, b.momentOf = tx, backup
	b.target.SetValue("")
	b.cursor, b.picked = b.indexOf(backup), true
	b.revalidate()
}

// revalidate parses the target as typed and checks it against the chosen
// backup's window; until the engineer picks a backup, the newest one that
// completed before the target is chosen for them.
func (b *backupPage) revalidate() {
	b.problem = nil
	text := strings.TrimSpace(b.target.Value())
	b.parsed, b.parseErr, b.lastDay = recovery.Target{}, nil, false
	if text == "" && b.moment != nil {
		b.parsed = recovery.Target{Xid: b.moment.Xid, Exclusive: true}
		if len(b.backups) > 0 && b.backups[b.cursor].Name != b.momentOf {
			b.problem = errTyped(fmt.Sprintf("Transaction %d was found in the WAL of backup %s: choose that backup, or type a time.", b.moment.Xid, b.momentOf))
		}
		return
	}
	if text != "" {
		b.parsed, b.parseErr = recovery.ParseTargetTimeOn(text, time.Local, b.now())
		if b.parseErr != nil {
			return
		}
		b.onArchiveDay()
	}
	if len(b.backups) == 0 {
		return
	}
	if !b.picked {
		if chosen, err := wale.ChooseBackup(b.backups, b.parsed.Time); err == nil {
			b.cursor = b.indexOf(chosen.Name)
		} else {
			b.problem = err
			return
		}
	}
	if !b.parsed.IsEndOfArchive() {
		b.problem = b.window().CheckTarget(b.parsed.Time)
	}
}

// onArchiveDay moves a time of day typed without a date to the archive's
// last day when today is outside the archive: an engineer restoring
// yesterday's accident after midnight means yesterday's 14:05.
func (b *backupPage) onArchiveDay() {
	if !b.parsed.DateAssumed || len(b.backups) == 0 {
		return
	}
	var end time.Time
	for _, o := range b.flow.report.WAL {
		if o.LastModified.After(end) {
			end = o.LastModified
		}
	}
	start := b.backups[0].LastModified
	if end.IsZero() || (!b.parsed.Time.Before(start) && !b.parsed.Time.After(end)) {
		return
	}
	if moved := b.parsed.OnDateOf(end); !moved.Time.Equal(b.parsed.Time) {
		b.parsed, b.lastDay = moved, true
	}
}

func (b *backupPage) window() wale.Window {
	return wale.NewWindow(b.backups[b.cursor], b.flow.report.WAL, b.flow.report.SegmentSize)
}

// blocker is why the choice cannot be planned yet, if anything.
func (b *backupPage) blocker() error {
	switch {
	case b.parseErr != nil:
		return b.parseErr
	case b.problem != nil:
		return b.problem
	case len(b.backups) == 0:
		return errTyped("The archive has no complete base backup.")
	}
	return nil
}

// planResult is the plan worked out for the choice, or why there is none.
type planResult struct {
	plan *walerestore.Plan
	err  error
}

func (b *backupPage) submit(m *Model) tea.Cmd {
	if b.blocker() != nil || b.planning {
		return nil
	}
	f := b.flow
	f.req.Backup = b.backups[b.cursor].Name
	f.req.Target = b.parsed
	f.req.MoveAside = true
	if b.parsed.Xid == 0 {
		f.moment = nil
	}
	m.deps.Journal.Event("target", "backup "+f.req.Backup+", "+b.targetSentence())
	b.planning = true
	req, checked, backend := f.req, f.report, m.deps.WALE
	j, cmd := m.startJob(b, func(ctx context.Context, _ func(any)) any {
		p, err := backend.Plan(ctx, req, checked)
		return planResult{plan: p, err: err}
	})
	b.job = j
	return cmd
}

func (b *backupPage) planned(m *Model, r planResult) tea.Cmd {
	b.planning = false
	if r.err != nil {
		b.problem = r.err
		if m.plain() {
			return m.end(r.err)
		}
		return nil
	}
	b.target.Blur()
	plan := newPlanPage(b.flow, r.plan)
	return tea.Batch(m.push(plan), plan.enter(m))
}

// Ask takes the target first, then the backup proposed for it.
func (b *backupPage) Ask(m *Model) *Question {
	if b.planning {
		return nil
	}
	if !b.targeted {
		return &Question{Text: "Target time (local time unless a zone is given; empty: the end of the archive; f: find the moment in the WAL)"}
	}
	q := &Question{Text: "Backup", Default: b.cursor}
	for _, bk := range b.backups {
		q.Options = append(q.Options, bk.Name+" completed "+bk.LastModified.UTC().Format("2006-01-02 15:04:05"))
	}
	return q
}

func (b *backupPage) Answer(m *Model, a Answer) tea.Cmd {
	if !b.targeted {
		if strings.TrimSpace(a.Text) == "f" {
			return b.findMoment(m)
		}
		b.target.SetValue(a.Text)
		b.moment, b.picked = nil, false
		b.revalidate()
		if err := b.blocker(); err != nil {
			m.say("%s", err)
			return nil
		}
		m.say("%s", b.targetSentence())
		b.targeted = true
		return nil
	}
	b.cursor, b.picked = a.Choice, true
	b.revalidate()
	if err := b.blocker(); err != nil {
		m.say("%s", err)
		b.targeted = false // the target again, for this backup or another
		return nil
	}
	return b.submit(m)
}

func (b *backupPage) View(m *Model) string {
	var s strings.Builder
	s.WriteString(m.st.Bold.Render("Choose the base backup and the target") + "\n\n")
	heading := fmt.Sprintf("   %-39s %-19s %9s", "BACKUP (STARTS AT ITS WAL SEGMENT)", "COMPLETED (UTC)", "SIZE")
	if m.width >= wideTable {
		heading += "  CONSISTENT AT SEGMENT"
	}
	s.WriteString(m.st.Faint.Render(heading) + "\n")
	for i, bk := range b.backups {
		s.WriteString(b.row(m, i, bk) + "\n")
	}
	s.WriteString("\n" + wrapWords("Target time (local unless you add a zone such as +00; empty: the end of the archive):", m.width-2) + "\n")
	s.WriteString(b.target.View() + "\n")
	s.WriteString(b.targetView(m) + "\n")
	return s.String()
}

func (b *backupPage) row(m *Model, i int, bk wale.Backup) string {
	size := ""
	if bk.Sentinel != nil {
		size = wale.HumanBytes(bk.Sentinel.ExpandedSizeBytes)
	}
	stop := "?"
	if seg, ok := bk.StopSegment(); ok {
		stop = seg.String()
	}
	line := fmt.Sprintf("%-39s %-19s %9s", bk.Name, bk.LastModified.UTC().Format("2006-01-02 15:04:05"), size)
	if m.width >= wideTable {
		line += "  " + stop
	}
	if bk.Name == b.latest {
		line += "  LATEST"
	}
	if i == b.cursor {
		return m.st.Cursor.Render(" > ") + m.st.Selected.Render(line)
	}
	return "   " + line
}

// targetSentence says where replay stops, with the timestamp a time of day
// or a zoneless time became.
func (b *backupPage) targetSentence() string {
	if b.parsed.IsEndOfArchive() {
		return "Restore everything archived: the end of the archive."
	}
	if b.moment != nil && b.parsed.Xid == b.moment.Xid {
		return xidSentence(b.moment)
	}
	note := ""
	if b.parsed.AssumedLocal {
		zone, _ := b.parsed.Time.Zone()
		note = " (read as local time, " + zone + ")"
	}
	switch {
	case b.lastDay:
		note += " (no date given: the archive's last day)"
	case b.parsed.DateAssumed:
		note += " (no date given: today)"
	}
	return "Stop replay at " + b.parsed.Time.UTC().Format("2006-01-02 15:04:05.000000") + " UTC" + note + "."
}

// wideTable is the width from which the backup table has room for the
// segment each backup became consistent at.
const wideTable = 110

func (b *backupPage) targetView(m *Model) string {
	w := m.width - 2
	switch {
	case b.parseErr != nil:
		return m.st.Error.Render(wrapWords("Not a time pgrescue can read: "+b.parseErr.Error(), w))
	case len(b.backups) == 0:
		return m.st.Error.Render("The archive has no complete base backup.")
	}
	lines := []string{b.targetSentence()}
	w0 := b.window()
	lines = append(lines, fmt.Sprintf("Backup %s can reach %s to %s UTC.", b.backups[b.cursor].Name,
		w0.From.UTC().Format("2006-01-02 15:04:05"), w0.To.UTC().Format("2006-01-02 15:04:05")))
	if gap := w0.GapWarning(); gap != "" {
		lines = append(lines, m.st.Warn.Render(wrapWords("Warning: "+gap, w)))
	}
	if b.problem != nil {
		lines = append(lines, m.st.Error.Render(wrapWords(b.problem.Error(), w)))
	} else if b.planning {
		lines = append(lines, m.st.Running.Render("Working out the plan…"))
	} else {
		lines = append(lines, "Press enter to see the plan.")
	}
	for i, l := range lines {
		lines[i] = wrapWords(l, w)
	}
	return strings.Join(lines, "\n")
}
