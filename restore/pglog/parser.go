package pglog

import (
	"fmt"
	"strings"
)

// State summarises a restore as seen in the log so far.
type State struct {
	// StartupPID is the startup process's PID, learned from its first
	// recovery line ("database system was interrupted", "restored log file",
	// "redo starts at", …); 0 while unknown or when the prefix has no %p.
	StartupPID int

	RecoveryStarted bool   // "starting archive/point-in-time recovery"
	RecoveryTarget  string // RecoveryStarting.Target ("" = to the end of the archive)

	RedoStart LSN // "redo starts at" (or the backup's redo LSN, 15.6+, until then)
	// CurrentLSN is the best estimate of replay's position: the highest of
	// the start of the newest restored segment, the "redo in progress" LSN
	// (15+), and the redo start and consistency LSNs. Segment starts run
	// ahead of replay by the server's read-ahead (two segments in
	// wale-replay-log-pg15.txt), so once redo is done CurrentLSN is set to
	// the redo done LSN and stays there.
	CurrentLSN   LSN
	LastRestored string // newest WAL segment name restored (not .history files)

	Consistent    bool
	ConsistentLSN LSN
	HotStandby    bool // ready to accept read-only connections

	StoppedAtTarget bool
	StopDetail      string // StoppingAtTarget.Detail
	// Paused is true after a Paused event until the startup process logs
	// anything that shows replay moving again (resuming is not logged).
	Paused bool

	RedoDone    bool
	RedoDoneLSN LSN

	// Timeline is the backup's timeline (15.6+ line, else the timeline of
	// the restored segments) until promotion picks a new one.
	Timeline                uint32
	ArchiveRecoveryComplete bool
	Ready                   bool // accepting read-write connections: done
	ShutdownAtTarget        bool
	ShutDown                bool

	StartupExited   bool
	StartupExitCode int

	// Fatal is the first FATAL/PANIC of the startup process, if any, with
	// the DETAIL/HINT lines attached so far.
	Fatal *Fatal

	Lines int // lines fed, attached ones included
}

// Parser turns log lines into Events and keeps State. It is not safe for
// concurrent use; feed it from the goroutine that reads the log.
type Parser struct {
	segmentSize      int64
	state            State
	timelineSelected bool // a "selected new timeline ID" was seen

	// open is the last Fatal or Paused event while DETAIL/HINT lines may
	// still follow it; any other line closes it.
	open annotated
}

// annotated is an event that DETAIL/HINT/continuation lines attach to.
type annotated interface {
	Event
	annotate(l Line)
}

func (f *Fatal) annotate(l Line)  { f.Annotations.annotate(l, &f.Message) }
func (p *Paused) annotate(l Line) { p.Annotations.annotate(l, nil) }

// NewParser returns a parser for a log written with 16 MiB WAL segments.
func NewParser() *Parser {
	return &Parser{segmentSize: DefaultSegmentSize}
}

// SetSegmentSize sets the WAL segment size used to turn restored segment
// names into LSNs (pg_controldata's "Bytes per WAL segment"). Non-positive
// values mean DefaultSegmentSize.
func (p *Parser) SetSegmentSize(size int64) {
	p.segmentSize = normalSegmentSize(size)
}

// State returns a snapshot of what the log has shown so far.
func (p *Parser) State() State {
	s := p.state
	if s.Fatal != nil {
		copied := *s.Fatal
		s.Fatal = &copied
	}
	return s
}

// Feed parses one log line and returns its event. The line may end in "\n"
// (or "\r\n"); a string holding several lines is split and yields one event
// per line, in order. Every line yields exactly one event: DETAIL, HINT and
// continuation lines that belong to the Fatal or Paused event before them
// yield an *Attached whose To is that event, updated in place.
func (p *Parser) Feed(raw string) []Event {
	raw = strings.TrimSuffix(raw, "\n")
	if !strings.Contains(raw, "\n") {
		return []Event{p.feedLine(raw)}
	}
	lines := strings.Split(raw, "\n")
	events := make([]Event, 0, len(lines))
	for _, line := range lines {
		events = append(events, p.feedLine(line))
	}
	return events
}

func (p *Parser) feedLine(raw string) Event {
	p.state.Lines++
	l := ParseLine(raw)
	if ev := p.attach(l); ev != nil {
		return ev
	}
	p.open = nil
	ev := p.classify(l)
	p.apply(ev)
	if a, ok := ev.(annotated); ok {
		p.open = a
	}
	return ev
}

// annotationSeverities are the lines errfinish writes after the message of
// the same report.
var annotationSeverities = map[string]bool{
	"DETAIL": true, "HINT": true, "CONTEXT": true, "STATEMENT": true, "QUERY": true, "LOCATION": true,
}

// attach returns an *Attached when l continues the open Fatal/Paused event.
// PostgreSQL writes a whole report with one write(), so its DETAIL and HINT
// lines directly follow the message with the same prefix.
func (p *Parser) attach(l Line) Event {
	if p.open == nil {
		return nil
	}
	owner := p.open.Source()
	sameReport := annotationSeverities[l.Severity] && l.PID == owner.PID && l.UserDB == owner.UserDB
	if !l.Continuation && !sameReport {
		return nil
	}
	p.open.annotate(l)
	return &Attached{Origin: Origin{Line: l}, To: p.open}
}

// classify picks the event for a line that is not attached.
func (p *Parser) classify(l Line) Event {
	o := Origin{Line: l}
	switch {
	case l.Continuation:
		return &Other{Origin: o}
	case !l.IsServerLine():
		if l.Prefix != "" {
			return &Other{Origin: o} // a server prefix, but no severity we can read
		}
		return &RestoreCommandOutput{Origin: o, Text: l.Message}
	case l.Severity == "FATAL" || l.Severity == "PANIC":
		return p.fatal(l)
	case l.UserDB != "":
		// Client backends' lines: recovery messages never carry user@db.
		return &Other{Origin: o}
	case l.Severity == "LOG":
		return p.logEvent(l)
	}
	// restore_command failures are logged at DEBUG2 unless fatal.
	if file, reason, ok := parseRestoreFailure(l.Message); ok {
		return &RestoreCommandFailed{Origin: o, File: file, Reason: reason}
	}
	return &Other{Origin: o}
}

// logEvent matches a LOG line against the catalogue.
func (p *Parser) logEvent(l Line) Event {
	o := Origin{Line: l}
	if ev := buildProgress(o, l.Message); ev != nil {
		p.learnStartupPID(l) // progress lines come from the startup process only
		return ev
	}
	if m, rest, ok := lookupLogMessage(l.Message); ok {
		if ev := m.build(o, rest, p); ev != nil {
			if m.fromStartup {
				p.learnStartupPID(l)
			}
			return ev
		}
	}
	if hasAnyPrefix(l.Message, startupOnlyMessages) {
		p.learnStartupPID(l)
	}
	return &Other{Origin: o}
}

// learnStartupPID remembers the PID of a line only the startup process
// writes. The newest wins: a log can hold several server starts.
func (p *Parser) learnStartupPID(l Line) {
	if l.PID != 0 {
		p.state.StartupPID = l.PID
	}
}

func (p *Parser) fatal(l Line) Event {
	f := &Fatal{Origin: Origin{Line: l}, Severity: l.Severity, Message: l.Message}
	if file, reason, ok := parseRestoreFailure(l.Message); ok {
		f.Restore = &RestoreCommandFailed{Origin: f.Origin, File: file, Reason: reason}
	}
	f.FromStartup = p.isStartupFatal(l)
	if f.FromStartup && p.state.StartupPID == 0 {
		p.learnStartupPID(l)
	}
	return f
}

// isStartupFatal decides whether a FATAL means recovery failed. With a PID
// in the prefix it must be the startup process's. Two cases fall back on
// the message (a recovery failure from §1.2 and no user@db): a prefix
// without %p, and a startup process that failed before writing anything
// that reveals its PID (possible when it dies on its configuration).
func (p *Parser) isStartupFatal(l Line) bool {
	if l.UserDB != "" {
		return false
	}
	if l.PID != 0 && p.state.StartupPID != 0 {
		return l.PID == p.state.StartupPID
	}
	return isRecoveryFailure(l.Message)
}

// apply updates the state with an event that stands for a new line.
func (p *Parser) apply(ev Event) {
	s := &p.state
	switch e := ev.(type) {
	case *RecoveryStarting:
		s.RecoveryStarted, s.RecoveryTarget = true, e.Target
	case *BackupRecoveryStarting:
		if s.RedoStart == 0 {
			s.RedoStart = e.RedoLSN
		}
		p.setTimeline(e.Timeline)
	case *RestoredFile:
		p.restored(e.Name)
	case *RedoStarts:
		s.RedoStart = e.LSN
		p.advance(e.LSN)
	case *RedoProgress:
		p.advance(e.LSN)
		s.Paused = false
	case *Consistent:
		s.Consistent, s.ConsistentLSN = true, e.LSN
		p.advance(e.LSN)
	case *ReadyReadOnly:
		s.HotStandby = true
	case *StoppingAtTarget:
		s.StoppedAtTarget, s.StopDetail = true, e.Detail
	case *Paused:
		s.Paused = true
	case *RedoDone:
		// Replay is over: its final position replaces the estimate, which
		// read-ahead restores can have pushed a segment or two further.
		s.RedoDone, s.RedoDoneLSN, s.Paused = true, e.LSN, false
		s.CurrentLSN = e.LSN
	case *NewTimeline:
		s.Timeline, s.Paused = e.ID, false
		p.timelineSelected = true
	case *ArchiveRecoveryComplete:
		s.ArchiveRecoveryComplete = true
	case *Ready:
		s.Ready, s.Paused = true, false
	case *ShutdownAtTarget:
		s.ShutdownAtTarget = true
	case *ShutDown:
		s.ShutDown = true
	case *StartupProcessExited:
		s.StartupExited, s.StartupExitCode = true, e.Code
		if s.StartupPID == 0 {
			s.StartupPID = e.PID
		}
	case *Fatal:
		if e.FromStartup && s.Fatal == nil {
			s.Fatal = e
		}
	}
}

// restored records a restored file; only segments move the position.
func (p *Parser) restored(name string) {
	tli, segNo, err := ParseSegmentName(name, p.segmentSize)
	if err != nil {
		return // a .history file
	}
	p.state.LastRestored = name
	p.state.Paused = false
	p.setTimeline(tli)
	p.advance(SegmentStart(segNo, p.segmentSize))
}

// setTimeline follows the timeline of the WAL being replayed until the
// server selects a new one at promotion.
func (p *Parser) setTimeline(tli uint32) {
	if !p.timelineSelected {
		p.state.Timeline = tli
	}
}

func (p *Parser) advance(lsn LSN) {
	if !p.state.RedoDone {
		p.state.CurrentLSN = max(p.state.CurrentLSN, lsn)
	}
}

// String prints the state one field per line, for golden files and logs.
func (s State) String() string {
	var b strings.Builder
	field := func(name string, value any) { fmt.Fprintf(&b, "%s: %v\n", name, value) }
	field("StartupPID", s.StartupPID)
	field("RecoveryStarted", s.RecoveryStarted)
	field("RecoveryTarget", quote(s.RecoveryTarget))
	field("RedoStart", s.RedoStart)
	field("CurrentLSN", s.CurrentLSN)
	field("LastRestored", s.LastRestored)
	field("Consistent", s.Consistent)
	field("ConsistentLSN", s.ConsistentLSN)
	field("HotStandby", s.HotStandby)
	field("StoppedAtTarget", s.StoppedAtTarget)
	field("StopDetail", quote(s.StopDetail))
	field("Paused", s.Paused)
	field("RedoDone", s.RedoDone)
	field("RedoDoneLSN", s.RedoDoneLSN)
	field("Timeline", s.Timeline)
	field("ArchiveRecoveryComplete", s.ArchiveRecoveryComplete)
	field("Ready", s.Ready)
	field("ShutdownAtTarget", s.ShutdownAtTarget)
	field("ShutDown", s.ShutDown)
	field("StartupExited", s.StartupExited)
	field("StartupExitCode", s.StartupExitCode)
	if s.Fatal != nil {
		field("Fatal", s.Fatal)
	} else {
		field("Fatal", "none")
	}
	field("Lines", s.Lines)
	return b.String()
}
