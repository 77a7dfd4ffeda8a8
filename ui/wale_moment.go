package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// momentPage is "find the moment": it reads the WAL of the backup chosen on
// the target page with pg_waldump, shows the window's destructive
// transactions on a time line and in a list, and sets the target to stop
// just before the one the engineer chooses: its xid, exactly.
type momentPage struct {
	basePage
	flow     *waleFlow
	backup   string    // the backup whose window is read
	from, to time.Time // the window, for the time line
	job      *job
	running  bool
	progress walinspect.Event
	result   *walinspect.Inspection
	err      error
	cursor   int
	naming   naming // the relations' names, read by a scout
}

// naming is the scout that names the relations from the base backup's own
// catalog, and what it found.
type naming struct {
	job      *job
	step     walinspect.ScoutStep // what it is doing; "" when not running
	stopping bool                 // cancelled: its copy is being removed
	stopped  bool                 // cancelled, and its copy removed
	names    *walinspect.Names
	err      error
}

// namesDone is the scout's names, or why there are none.
type namesDone struct {
	names *walinspect.Names
	err   error
}

var keyNames = binding("n", "name", "n")

// momentResult is the inspection, or why there is none.
type momentResult struct {
	in  *walinspect.Inspection
	err error
}

func newMomentPage(f *waleFlow, backup string, from, to time.Time) *momentPage {
	p := &momentPage{flow: f, backup: backup, from: from, to: to}
	p.next = waleCrumbs[2:]
	return p
}

func (p *momentPage) Crumb() string { return "Find the moment" }

func (p *momentPage) Keys() []key.Binding {
	if p.result != nil && len(p.result.Transactions) > 0 {
		keys := []key.Binding{keyChoose, binding("enter", "stop before it", "enter")}
		if p.canName() {
			keys = append(keys, keyNames)
		}
		return keys
	}
	return nil
}

// start runs the inspection as a job.
func (p *momentPage) start(m *Model) tea.Cmd {
	p.running, p.result, p.err, p.cursor = true, nil, nil, 0
	m.say("Reading the WAL of backup %s with pg_waldump…", p.backup)
	req, backup, backend := p.flow.req, p.backup, m.deps.WALE
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		in, err := backend.Inspect(ctx, req, backup, func(e walinspect.Event) { emit(e) })
		return momentResult{in: in, err: err}
	})
	p.job = j
	return cmd
}

// canName: the list is shown without names, and no scout runs.
func (p *momentPage) canName() bool {
	return p.result != nil && len(p.result.Transactions) > 0 && p.naming.names == nil && p.naming.job == nil
}

// name starts the scout: the base backup restored to a scratch copy and
// recovered to its end, its catalog read, the copy stopped and removed.
func (p *momentPage) name(m *Model) tea.Cmd {
	p.naming = naming{step: walinspect.ScoutFetch}
	m.say("Naming the relations from backup %s's own catalog: it is restored to a scratch copy, read, then removed…", p.backup)
	req, backup, backend := p.flow.req, p.backup, m.deps.WALE
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		names, err := backend.ScoutNames(ctx, req, backup, func(step walinspect.ScoutStep) { emit(step) })
		return namesDone{names: names, err: err}
	})
	p.naming.job = j
	return cmd
}

// named takes the scout's result.
func (p *momentPage) named(m *Model, r namesDone) {
	if p.naming.stopping {
		p.naming = naming{stopped: true}
		m.say("Stopped naming the relations: the scratch copy is removed.")
		return
	}
	p.naming = naming{names: r.names, err: r.err}
	m.deps.Journal.Event("moment", "relation names from backup "+p.backup+": "+errText(r.err))
	if r.err != nil {
		m.say("%s", r.err)
		return
	}
	p.sayResult(m)
}

// errText is "ok" or the error, for the journal.
func errText(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// Interrupt (ctrl+c) stops the reading and goes back to the target, or
// stops the scout and stays; with nothing running it is the wizard's usual
// ctrl+c.
func (p *momentPage) Interrupt(m *Model) tea.Cmd {
	switch {
	case p.running:
		p.stop()
		return m.back()
	case p.naming.job != nil:
		if !p.naming.stopping {
			p.stopNaming()
		}
		return nil
	}
	return m.interrupt()
}

// Abandon stops the reading, and the scout, when the program ends under
// the page: the scout's server must not outlive pgrescue.
func (p *momentPage) Abandon(m *Model, wait func(*job) bool) {
	if p.running && p.job != nil {
		wait(p.job)
	}
	if p.naming.job != nil {
		wait(p.naming.job)
	}
}

func (p *momentPage) stop() {
	if p.job != nil {
		p.job.cancel()
	}
	p.running = false
	p.stopNaming()
}

// stopNaming stops a scout under way: it stops its server and removes its
// copy as it returns (the wizard waits for that before it ends).
func (p *momentPage) stopNaming() {
	if p.naming.job != nil {
		p.naming.job.cancel()
		p.naming.stopping = true
	}
}

func (p *momentPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		if j := p.naming.job; j != nil && msg.id == j.id {
			for _, e := range msg.events {
				if step, ok := e.(walinspect.ScoutStep); ok {
					p.naming.step = step
				}
			}
			return j.listen()
		}
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		for _, e := range msg.events {
			if ev, ok := e.(walinspect.Event); ok {
				p.progress = ev
			}
		}
		return p.job.listen()
	case jobDone:
		if j := p.naming.job; j != nil && msg.id == j.id {
			p.named(m, msg.result.(namesDone))
			return nil
		}
		if p.job == nil || msg.id != p.job.id {
			return nil
		}
		r := msg.result.(momentResult)
		p.running, p.result, p.err = false, r.in, r.err
		p.cursor = 0
		if r.in != nil {
			p.cursor = max(len(r.in.Transactions)-1, 0) // the newest: usually the accident
		}
		p.sayResult(m)
		return nil
	case tea.KeyPressMsg:
		if p.running || p.result == nil {
			return nil
		}
		switch msg.String() {
		case "up", "k":
			p.cursor = max(p.cursor-1, 0)
		case "down", "j":
			p.cursor = min(p.cursor+1, max(len(p.result.Transactions)-1, 0))
		case "enter":
			if len(p.result.Transactions) > 0 {
				return p.choose(m, p.result.Transactions[p.cursor])
			}
		case "n":
			if p.canName() {
				return p.name(m)
			}
		}
	}
	return nil
}

// choose sets the flow's target to stop just before tx, with the backup
// fixed to the one inspected, and returns to the target page.
func (p *momentPage) choose(m *Model, tx *walinspect.Tx) tea.Cmd {
	p.stopNaming()
	f := p.flow
	f.req.Target = recovery.Target{Xid: tx.Xid, Exclusive: true}
	f.req.Backup = p.backup
	f.moment = tx
	sentence := xidSentence(tx)
	m.deps.Journal.Event("moment", "backup "+p.backup+", "+sentence)
	m.say("%s", sentence)
	b := f.backup
	b.chooseMoment(p.backup, tx)
	cmd := m.back()
	if m.plain() {
		return tea.Batch(cmd, b.submit(m))
	}
	return cmd
}

// xidSentence says where an xid target stops.
func xidSentence(tx *walinspect.Tx) string {
	return fmt.Sprintf("Stop just before transaction %d (committed at %s UTC).", tx.Xid, tx.At.UTC().Format("2006-01-02 15:04:05.000000"))
}

// sayResult prints the inspection in plain mode.
func (p *momentPage) sayResult(m *Model) {
	if !m.plain() {
		return
	}
	if p.err != nil {
		m.say("%s", p.err)
		return
	}
	for _, l := range p.summary() {
		m.say("%s", l)
	}
	for i, tx := range p.result.Transactions {
		m.say("%d. %s", i+1, txHead(tx))
		m.say("   %s", txWhat(tx, p.naming.names))
	}
}

// Ask is the transaction to stop just before, by its number.
func (p *momentPage) Ask(m *Model) *Question {
	if p.running {
		return nil
	}
	if p.err != nil || len(p.result.Transactions) == 0 {
		return &Question{Text: "Press enter to go back to the target"}
	}
	if p.naming.job != nil {
		return nil
	}
	if p.canName() {
		return &Question{Text: fmt.Sprintf("Stop just before which transaction (1-%d; n: name the relations from the base backup; empty: back to the target)", len(p.result.Transactions))}
	}
	return &Question{Text: fmt.Sprintf("Stop just before which transaction (1-%d; empty: back to the target)", len(p.result.Transactions))}
}

func (p *momentPage) Answer(m *Model, a Answer) tea.Cmd {
	text := strings.TrimSpace(a.Text)
	if text == "" || p.result == nil {
		return m.back()
	}
	if strings.EqualFold(text, "n") && p.canName() {
		return p.name(m)
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > len(p.result.Transactions) {
		m.say("Answer a number from 1 to %d, or nothing to go back.", len(p.result.Transactions))
		return nil
	}
	return p.choose(m, p.result.Transactions[n-1])
}

// summary says what was read.
func (p *momentPage) summary() []string {
	in := p.result
	lines := []string{fmt.Sprintf("Read %d WAL records of backup %s (segments %s to %s, PostgreSQL %s, by %s).",
		in.Records, p.backup, in.From, in.To, in.Version, in.Waldump)}
	for _, g := range in.Gaps {
		lines = append(lines, fmt.Sprintf("Warning: the archive has no WAL between %s and %s: transactions there are not shown.", g.After, g.Before))
	}
	if len(in.Transactions) == 0 {
		return append(lines, "No destructive transaction in this window: no large DELETE or UPDATE, TRUNCATE, DROP or schema change.")
	}
	return append(lines, fmt.Sprintf("%d destructive transactions, oldest first. %s", len(in.Transactions), p.namesSentence(true)))
}

// namesSentence says how relations are shown, and how to name them; long
// also says what naming does (plain mode, which has the room).
func (p *momentPage) namesSentence(long bool) string {
	switch n := p.naming; {
	case n.names != nil:
		return "Relations named from " + n.names.Source + "."
	case n.stopping:
		return "Stopping the scout: its copy of the base backup is being removed…"
	case n.job != nil:
		return "Naming the relations: " + string(n.step) + "… (ctrl+c stops it)"
	case n.err != nil:
		return "Relations are numbers (tablespace/database/relfilenode): the base backup's catalog could not be read."
	case n.stopped:
		return "Relations are numbers (tablespace/database/relfilenode). Naming them was stopped and the scratch copy removed; n starts again."
	}
	if !long {
		return "Relations are numbers (n names them from the backup)."
	}
	return "Relations are numbers (tablespace/database/relfilenode): n names them from the base backup's catalog " +
		"(restored to a scratch copy, then removed; it takes as long as restoring the backup)."
}

// txHead is a transaction's commit time (UTC, and local when it differs),
// xid and LSN.
func txHead(tx *walinspect.Tx) string {
	verb := "committed"
	if !tx.Committed {
		verb = "aborted"
	}
	at := tx.At.UTC().Format("2006-01-02 15:04:05.000000") + " UTC"
	if local := tx.At.Local(); local.Format("-0700") != "+0000" {
		at += " (" + local.Format("15:04:05 MST") + ")"
	}
	return fmt.Sprintf("%s  xid %d %s at LSN %s", at, tx.Xid, verb, tx.LSN)
}

// txWhat is what a transaction did, relation by relation, named when
// names were read.
func txWhat(tx *walinspect.Tx, names *walinspect.Names) string {
	what := tx.What(names)
	if len(what) == 0 {
		return "no user rows changed"
	}
	return strings.Join(what, "; ")
}

func (p *momentPage) View(m *Model) string {
	w := m.width - 2
	var s strings.Builder
	s.WriteString(m.st.Bold.Render("Find the moment: the WAL of backup "+p.backup) + "\n\n")
	switch {
	case p.running:
		e := p.progress
		fraction := 0.0
		if e.Total > 0 {
			fraction = float64(e.Done) / float64(e.Total)
		}
		s.WriteString(m.st.Running.Render("Reading the archived WAL with pg_waldump…") + "\n")
		s.WriteString(fmt.Sprintf("%s  segment %d of %d, %d records\n", bar(fraction, min(w-40, 40)), e.Done, e.Total, e.Records))
		s.WriteString("\n" + wrapWords("esc or ctrl+c stops reading and goes back to the target.", w) + "\n")
		return s.String()
	case p.err != nil:
		s.WriteString(m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n\nPress esc to go back to the target.\n")
		return s.String()
	case p.result == nil:
		return s.String()
	}
	in := p.result
	s.WriteString(wrapWords(fmt.Sprintf("Read %d WAL records, segments %s to %s (PostgreSQL %s).", in.Records, in.From, in.To, in.Version), w) + "\n")
	for _, g := range in.Gaps {
		s.WriteString(m.st.Warn.Render(wrapWords(fmt.Sprintf("Warning: the archive has no WAL between %s and %s: transactions there are not shown.", g.After, g.Before), w)) + "\n")
	}
	if len(in.Transactions) == 0 {
		s.WriteString(wrapWords("No destructive transaction in this window: no large DELETE or UPDATE, TRUNCATE, DROP or schema change. Press esc to go back to the target.", w) + "\n")
		return s.String()
	}
	s.WriteString(wrapWords(fmt.Sprintf("%d destructive transactions, oldest first. %s", len(in.Transactions), p.namesSentence(false)), w) + "\n")
	if p.naming.err != nil {
		s.WriteString(m.st.Error.Render(wrapWords(p.naming.err.Error(), w)) + "\n")
	}
	txs := p.result.Transactions
	var chosen time.Time
	if len(txs) > 0 {
		chosen = txs[p.cursor].At
	}
	if tl := momentTimeline(w, p.from, p.to, txs, chosen, time.Local); tl != nil {
		s.WriteString("\n" + strings.Join(tl, "\n") + "\n")
	}
	s.WriteString("\n")
	head := strings.Count(s.String(), "\n")
	var list []string
	for i, tx := range txs {
		line := txHead(tx)
		if i == p.cursor {
			line = m.st.Cursor.Render(" > ") + m.st.Selected.Render(line)
		} else {
			line = "   " + line
		}
		list = append(list, truncate(line, w), "     "+truncate(txWhat(tx, p.naming.names), w-5))
	}
	foot := ""
	if len(txs) > 0 {
		foot = wrapWords(fmt.Sprintf("Enter: stop just before transaction %d, exactly.", txs[p.cursor].Xid), w)
	}
	room := m.bodyHeight() - head - strings.Count(foot, "\n") - 2
	offset := 0
	if need := 2*p.cursor + 3 - room; room > 0 && need > 0 { // the chosen one's two lines in sight
		offset = need + need%2 // from a transaction's first line
	}
	s.WriteString(scrollLines(strings.Join(list, "\n"), &offset, room))
	if foot != "" {
		s.WriteString("\n\n" + foot)
	}
	return s.String() + "\n"
}

// momentTimeline draws a WAL window on one line, width cells wide: the
// window ("="), clock ticks ("|", labelled in zone), each transaction
// ("x"), the chosen one ("^" under it). The window is widened to take in
// every transaction, so none falls off the line.
func momentTimeline(width int, from, to time.Time, txs []*walinspect.Tx, chosen time.Time, zone *time.Location) []string {
	var marks []timeMark
	for _, tx := range txs {
		if from.IsZero() || tx.At.Before(from) {
			from = tx.At
		}
		if to.IsZero() || tx.At.After(to) {
			to = tx.At
		}
		marks = append(marks, timeMark{At: tx.At, Glyph: 'x'})
	}
	return timeline{
		From: from, To: to,
		Covered: []timeSpan{{from, to}},
		Ticks:   clockTicks(width, from, to, zone),
		OnAxis:  marks,
		Chosen:  chosen,
		Legend:  "= the backup's window  x destructive transaction  ^ chosen  | time " + zoneName(zone, to),
	}.draw(width)
}

// clockTicks are the round clock times between from and to, labelled in
// zone: the finest step (1s to a day) whose labels still fit with room
// between them, with seconds only when the step is under a minute.
func clockTicks(width int, from, to time.Time, zone *time.Location) []timeTick {
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	var step time.Duration
	layout := "15:04"
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		layout = "15:04"
		if s < time.Minute {
			layout = "15:04:05"
		}
		if float64(width)*float64(s)/float64(span) >= float64(len(layout)+3) {
			step = s
			break
		}
	}
	var ticks []timeTick
	for t := from.Truncate(step).Add(step); step > 0 && t.Before(to); t = t.Add(step) {
		ticks = append(ticks, timeTick{At: t, Glyph: '|', Label: t.In(zone).Format(layout)})
	}
	return ticks
}
