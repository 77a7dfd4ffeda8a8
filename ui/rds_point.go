package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/rds"
	"pgrescue/restore/recovery"
)

// rdsPointPage shows what the instance can be restored to, its window and
// snapshots drawn on a time line, and takes the restore point: the latest
// restorable time, a point in time typed in the engineer's zone (checked
// against the window as it is typed), or a snapshot.
type rdsPointPage struct {
	basePage
	flow    *rdsFlow
	job     *job
	status  *rds.Status
	err     error // Status's
	options []rdsPointOption
	cursor  int
	offset  int
	input   textinput.Model
	parsed  recovery.Target
	note    string // how a typed time was read
	problem error  // why the choice cannot go on
	askTime bool   // plain mode: the time is the next question
}

type rdsPointKind int

const (
	pointLatest rdsPointKind = iota
	pointTime
	pointSnapshot
)

type rdsPointOption struct {
	kind rdsPointKind
	snap *rds.Snapshot
}

func newRDSPointPage(f *rdsFlow) *rdsPointPage {
	p := &rdsPointPage{flow: f, input: newTextInput("e.g. 2026-11-25 02:53:00, or 02:53", 34)}
	p.next = rdsCrumbs[2:]
	f.point = p
	return p
}

func (p *rdsPointPage) Crumb() string { return "Restore point" }
func (p *rdsPointPage) Typing() bool  { return p.chosen().kind == pointTime && p.status != nil }

func (p *rdsPointPage) Focus(m *Model) tea.Cmd {
	if p.Typing() {
		return p.input.Focus()
	}
	return nil
}

func (p *rdsPointPage) Keys() []key.Binding {
	switch {
	case p.job != nil:
		return nil
	case p.err != nil:
		return []key.Binding{binding("r", "read the instance again", "r")}
	case p.Typing():
		return []key.Binding{binding("up/down", "choose", "up", "down"), keyContinue}
	}
	return []key.Binding{binding("up/down", "choose", "up", "down"), keyContinue}
}

func (p *rdsPointPage) chosen() rdsPointOption {
	if p.cursor < len(p.options) {
		return p.options[p.cursor]
	}
	return rdsPointOption{kind: -1}
}

// load reads the instance's window, snapshots and retained backups.
func (p *rdsPointPage) load(m *Model) tea.Cmd {
	p.err, p.status = nil, nil
	id, now, backend := p.flow.source, m.deps.Now(), m.deps.RDS
	m.say("Reading %s's restore window and snapshots…", id)
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		st, err := backend.Status(ctx, id, now)
		if err != nil {
			return err
		}
		return st
	})
	p.job = j
	return cmd
}

func (p *rdsPointPage) loaded(m *Model, result any) tea.Cmd {
	if err, ok := result.(error); ok {
		p.err = err
		m.deps.Journal.Event("rds-status", err.Error())
		m.say("%s", err.Error())
		if m.plain() {
			return m.end(err)
		}
		return nil
	}
	st := result.(*rds.Status)
	p.status = st
	p.options = nil
	if w := p.window(); w != nil {
		p.options = append(p.options, rdsPointOption{kind: pointLatest}, rdsPointOption{kind: pointTime})
	}
	for i := range st.Snapshots {
		p.options = append(p.options, rdsPointOption{kind: pointSnapshot, snap: &st.Snapshots[i]})
	}
	p.cursor = min(p.cursor, max(len(p.options)-1, 0)) // read again: the choice stays
	for _, l := range p.sentences(m) {
		m.say("%s", l)
	}
	m.deps.Journal.Event("rds-status", strings.Join(p.sentences(m), " "))
	p.revalidate(m)
	return p.Focus(m)
}

// window is what a point-in-time restore can reach: the instance's, or a
// deleted instance's retained backup's; nil when there is none.
func (p *rdsPointPage) window() *rds.Window {
	st := p.status
	var w *rds.Window
	switch {
	case st == nil:
	case st.Instance != nil:
		w = st.Window
	case len(st.Retained) > 0:
		w = &st.Retained[0].Window
	}
	if w == nil || w.Latest.IsZero() {
		return nil
	}
	return w
}

// sentences describe the instance and its window once, in words.
func (p *rdsPointPage) sentences(m *Model) []string {
	st, zone := p.status, p.flow.zone
	var lines []string
	if st.Instance != nil {
		lines = append(lines, st.ID+": "+rdsInstanceLine(*st.Instance)+".")
	} else {
		lines = append(lines, st.ID+" no longer exists.")
		for _, r := range st.Retained {
			lines = append(lines, fmt.Sprintf("AWS kept its automated backups (retained, %s %s, %d GiB).", r.Engine, r.EngineVersion, r.AllocatedGiB))
		}
	}
	if w := p.window(); w != nil {
		text := fmt.Sprintf("It can be restored to any second from %s to %s", rds.Both(w.Earliest, zone), rds.Both(w.Latest, zone))
		if w.EarliestEstimated {
			text += " (the earliest estimated from the retention)"
		}
		lines = append(lines, text+" ("+windowTerms(w)+").")
	} else {
		lines = append(lines, "It has no point-in-time window (automated backups are off): only its snapshots can be restored.")
	}
	if len(st.Snapshots) == 0 {
		lines = append(lines, "It has no snapshot.")
	} else {
		lines = append(lines, snapshotCount(len(st.Snapshots))+", newest first.")
	}
	return lines
}

// windowLine is the window and the snapshots in a line or two, for the
// screen (plain mode says the sentences).
func (p *rdsPointPage) windowLine() string {
	st, zone := p.status, p.flow.zone
	text := ""
	if st.Instance == nil {
		text = st.ID + " no longer exists; AWS kept its automated backups. "
	}
	if w := p.window(); w != nil {
		text += fmt.Sprintf("Any second from %s to %s (%s)", rds.Both(w.Earliest, zone), rds.Both(w.Latest, zone), windowTerms(w))
	} else {
		text += "No point-in-time window (automated backups are off)"
	}
	return text + "; " + snapshotCount(len(st.Snapshots)) + "."
}

// windowTerms are the retention and the daily backup window.
func windowTerms(w *rds.Window) string {
	terms := fmt.Sprintf("backups kept %d days", w.RetentionDays)
	if w.BackupWindow != "" {
		terms += ", taken daily in " + w.BackupWindow + " UTC"
	}
	return terms
}

func (p *rdsPointPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		p.job = nil
		return p.loaded(m, msg.result)
	case tea.KeyPressMsg:
		if p.job != nil {
			return nil
		}
		if p.err != nil {
			if msg.String() == "r" {
				return p.load(m)
			}
			return nil
		}
		switch msg.String() {
		case "up":
			return p.move(m, -1)
		case "down":
			return p.move(m, 1)
		case "enter":
			return p.choose(m)
		}
	}
	if !p.Typing() {
		return nil
	}
	return updateInput(&p.input, msg, func() { p.revalidate(m) })
}

func (p *rdsPointPage) move(m *Model, by int) tea.Cmd {
	if len(p.options) == 0 {
		return nil
	}
	p.cursor = min(max(p.cursor+by, 0), len(p.options)-1)
	p.revalidate(m)
	if p.Typing() {
		return p.input.Focus()
	}
	p.input.Blur()
	return nil
}

// revalidate checks the choice: a typed time is parsed as the WAL-E
// target is, in the engineer's zone, and must be inside the window; a
// snapshot must be available.
func (p *rdsPointPage) revalidate(m *Model) {
	p.problem, p.parsed, p.note = nil, recovery.Target{}, ""
	o := p.chosen()
	switch o.kind {
	case pointTime:
		text := strings.TrimSpace(p.input.Value())
		if text == "" {
			p.problem = errTyped("Type the time to restore to, in " + zoneName(p.flow.zone, m.deps.Now()) + " unless you add a zone (+00, UTC).")
			return
		}
		t, err := recovery.ParseTargetTimeOn(text, p.flow.zone, m.deps.Now())
		if err != nil {
			p.problem = err
			return
		}
		w := p.window()
		if t.DateAssumed {
			p.note = " (no date given: today)"
			if t.Time.After(w.Latest) { // a time of day still to come today is yesterday's
				t = t.OnDateOf(t.Time.AddDate(0, 0, -1))
				p.note = " (no date given: yesterday)"
			}
		}
		p.parsed = t
		p.problem = outsideWindow(p.flow.source, t.Time, w, m.deps.Now(), p.flow.zone)
	case pointSnapshot:
		if s := o.snap; s.Status != "available" {
			p.problem = errTyped(fmt.Sprintf("The snapshot %s is %s (%d%%), not available: wait for it, or choose another.", s.ID, s.Status, s.Progress))
		}
	}
}

// outsideWindow refuses a time the window does not reach, with the window
// in the engineer's zone and UTC (the engine's Prepare refuses it too).
func outsideWindow(id string, t time.Time, w *rds.Window, now time.Time, zone *time.Location) error {
	if w.Contains(t) {
		return nil
	}
	why := "before the earliest restorable time"
	if t.After(w.Latest) {
		why = "after the latest restorable time"
		if t.After(now) {
			why = "in the future"
		}
	}
	return errTyped(fmt.Sprintf("%s is %s. %s can be restored from %s to %s: choose a time inside the window, the latest restorable time or a snapshot.",
		rds.Both(t, zone), why, id, rds.Both(w.Earliest, zone), rds.Both(w.Latest, zone)))
}

// zoneName is the zone's abbreviation now ("UTC", "GMT", "CET").
func zoneName(zone *time.Location, now time.Time) string {
	name, _ := now.In(zone).Zone()
	return name
}

// sentence says what the choice restores to.
func (p *rdsPointPage) sentence() string {
	zone := p.flow.zone
	switch o := p.chosen(); o.kind {
	case pointLatest:
		return "Restore to the latest restorable time, now " + rds.Both(p.window().Latest, zone) + " (AWS takes the latest when the restore starts)."
	case pointTime:
		note := p.note
		if p.parsed.AssumedLocal {
			note = " (read as " + zoneName(zone, p.parsed.Time) + ")" + note
		}
		return "Restore to " + rds.Both(p.parsed.Time, zone) + note + "."
	case pointSnapshot:
		return "Restore the " + o.snap.Type + " snapshot " + o.snap.ID + ", taken " + rds.Both(o.snap.Created, zone) + "."
	}
	return ""
}

// choose goes on to the name with the restore point chosen.
func (p *rdsPointPage) choose(m *Model) tea.Cmd {
	if p.status == nil || len(p.options) == 0 {
		return nil
	}
	p.revalidate(m)
	if p.problem != nil {
		return nil
	}
	req := rds.Request{Source: p.flow.source, Now: m.deps.Now(), Zone: p.flow.zone}
	switch o := p.chosen(); o.kind {
	case pointLatest:
		req.Latest = true
	case pointTime:
		req.TargetTime = p.parsed.Time
	case pointSnapshot:
		req.Snapshot = o.snap.ID
	}
	req.Target = p.flow.req.Target // a name typed before, kept when coming back
	p.flow.req = req
	p.input.Blur()
	m.deps.Journal.Event("rds-target", p.sentence())
	name := newRDSNamePage(m, p.flow)
	return m.push(name)
}

func (p *rdsPointPage) Ask(m *Model) *Question {
	if p.job != nil || p.status == nil {
		return nil
	}
	if p.askTime {
		return &Question{Text: "Point in time (" + zoneName(p.flow.zone, m.deps.Now()) + " unless you add a zone such as +00)"}
	}
	q := &Question{Text: "Restore point", Default: p.cursor}
	for _, o := range p.options {
		q.Options = append(q.Options, p.optionText(o, true))
	}
	return q
}

func (p *rdsPointPage) Answer(m *Model, a Answer) tea.Cmd {
	if p.askTime {
		p.askTime = false
		p.input.SetValue(a.Text)
	} else {
		p.cursor = a.Choice
		if p.chosen().kind == pointTime {
			p.askTime = true
			return nil
		}
	}
	p.revalidate(m)
	if p.problem != nil {
		m.say("%s", p.problem.Error())
		return nil // the choice again
	}
	m.say("%s", p.sentence())
	return p.choose(m)
}

// optionText is one restore point as the list shows it.
func (p *rdsPointPage) optionText(o rdsPointOption, long bool) string {
	zone := p.flow.zone
	switch o.kind {
	case pointLatest:
		return "Latest restorable time (" + rds.Both(p.window().Latest, zone) + ")"
	case pointTime:
		return "A point in time inside the window (type it)"
	}
	s := o.snap
	kind := "manual"
	if s.Type == "automated" {
		kind = "auto"
	}
	state := ""
	if s.Status != "available" {
		state = fmt.Sprintf(" [%s %d%%]", s.Status, s.Progress)
	}
	if long {
		return fmt.Sprintf("Snapshot %s: %s, taken %s%s", s.ID, s.Type, rds.Both(s.Created, zone), state)
	}
	return fmt.Sprintf("%s  %-6s %s%s", s.Created.In(zone).Format("2006-01-02 15:04 MST"), kind, s.ID, state)
}

func (p *rdsPointPage) View(m *Model) string {
	w := m.width - 2
	var head strings.Builder
	head.WriteString(m.st.Bold.Render("What should "+p.flow.source+" be restored to?") + "\n")
	switch {
	case p.job != nil:
		return head.String() + "\n" + m.st.Running.Render("Reading the restore window, the snapshots and any retained backups…") + "\n"
	case p.err != nil:
		return head.String() + "\n" + m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n\n" +
			wrapWords("Press r to read it again, or esc to choose another instance.", w) + "\n"
	case p.status == nil:
		return head.String()
	}
	head.WriteString(wrapWords(p.windowLine(), w) + "\n\n")
	for _, l := range rdsTimeline(w, p.window(), p.status.Snapshots, p.chosenTime(), p.flow.zone) {
		head.WriteString(l + "\n")
	}
	head.WriteString("\n")

	var list strings.Builder
	for i, o := range p.options {
		text := truncate(p.optionText(o, false), w-2)
		if i == p.cursor {
			list.WriteString(m.st.Cursor.Render("> ") + m.st.Selected.Render(text) + "\n")
		} else {
			list.WriteString("  " + text + "\n")
		}
	}
	foot := p.choiceView(m, w)
	room := max(m.bodyHeight()-strings.Count(head.String(), "\n")-strings.Count(foot, "\n"), 3)
	p.offset = max(min(p.offset, p.cursor), p.cursor-room+2)
	return head.String() + scrollLines(list.String(), &p.offset, room) + "\n" + foot
}

// choiceView is the time field when a time is chosen, and what the choice
// restores to or why it cannot.
func (p *rdsPointPage) choiceView(m *Model, w int) string {
	var b strings.Builder
	if p.chosen().kind == pointTime {
		b.WriteString("Time (" + zoneName(p.flow.zone, m.deps.Now()) + ", or add a zone): " + p.input.View() + "\n")
	}
	switch {
	case p.problem != nil && !(p.chosen().kind == pointTime && strings.TrimSpace(p.input.Value()) == ""):
		b.WriteString(m.st.Error.Render(wrapWords(p.problem.Error(), w)) + "\n")
	case p.problem != nil:
		b.WriteString(wrapWords(p.problem.Error(), w) + "\n")
	default:
		b.WriteString(wrapWords(p.sentence()+" Press enter to name the new instance.", w) + "\n")
	}
	return b.String()
}

// chosenTime is the moment the choice restores to, for the time line.
func (p *rdsPointPage) chosenTime() time.Time {
	switch o := p.chosen(); o.kind {
	case pointLatest:
		return p.window().Latest
	case pointTime:
		return p.parsed.Time
	case pointSnapshot:
		return o.snap.Created
	}
	return time.Time{}
}

// rdsTimeline draws the window and the snapshots on one time line, width
// cells wide: the days (midnight in the engineer's zone, "|"), the span a
// point-in-time restore reaches ("="), each snapshot ("a" automated, "m"
// manual, "+" several) and the chosen moment ("^"; "<" or ">" when it is
// off the line). The line takes in the window and every snapshot, and at
// least an hour, so a lone snapshot still has a line around it.
func rdsTimeline(width int, w *rds.Window, snaps []rds.Snapshot, chosen time.Time, zone *time.Location) []string {
	var start, end time.Time
	widen := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if start.IsZero() || t.Before(start) {
			start = t
		}
		if end.IsZero() || t.After(end) {
			end = t
		}
	}
	tl := timeline{Chosen: chosen}
	if w != nil {
		widen(w.Earliest)
		widen(w.Latest)
		tl.Covered = []timeSpan{{w.Earliest, w.Latest}}
	}
	for _, s := range snaps {
		widen(s.Created)
		tl.Below = append(tl.Below, snapshotMark(s))
	}
	if start.IsZero() {
		return nil
	}
	if end.Sub(start) < time.Hour {
		start, end = start.Add(-30*time.Minute), end.Add(30*time.Minute)
	}
	tl.From, tl.To = start, end
	tl.Ticks = midnightTicks(width, start, end, zone)
	tl.Legend = "= window  a/m automated/manual snapshot  ^ chosen  | midnight " + zoneName(zone, end)
	if w == nil {
		tl.Legend = "- no window  a/m automated/manual snapshot  ^ chosen  | midnight " + zoneName(zone, end)
	}
	return tl.draw(width)
}

// snapshotMark is a snapshot on the time line: "a" automated, "m" manual.
func snapshotMark(s rds.Snapshot) timeMark {
	if s.Type == "automated" {
		return timeMark{At: s.Created, Glyph: 'a'}
	}
	return timeMark{At: s.Created, Glyph: 'm'}
}

// midnightTicks are the midnights in zone between start and end, labelled
// with the date. When the days are too narrow for a label each, only every
// step-th day is labelled, and drawn too unless every other day would be
// (then all are, as that still reads as days).
func midnightTicks(width int, start, end time.Time, zone *time.Location) []timeTick {
	step := 1
	if perDay := float64(width) / max(end.Sub(start).Hours()/24, 1); perDay < 7 {
		step = int(7/perDay) + 1
	}
	first := start.In(zone)
	midnight := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, zone).AddDate(0, 0, 1)
	var ticks []timeTick
	for d := 0; midnight.Before(end); midnight, d = midnight.AddDate(0, 0, 1), d+1 {
		var t timeTick
		t.At = midnight
		if step <= 2 || d%step == 0 {
			t.Glyph = '|'
		}
		if d%step == 0 {
			t.Label = midnight.Format("01-02")
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func snapshotCount(n int) string {
	if n == 1 {
		return "1 snapshot"
	}
	return fmt.Sprintf("%d snapshots", n)
}
