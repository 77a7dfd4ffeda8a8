package pglog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is what one log line means for a restore. Every line fed to the
// Parser yields exactly one Event: a typed one when the line is in the
// catalogue of recovery messages (PostgreSQL 9.3–17, English wording only),
// RestoreCommandOutput for text without a server prefix, Other for any other
// server line, and Attached for a DETAIL/HINT/continuation line that belongs
// to the Fatal or Paused event just before it. A UI can therefore show the
// whole log from the events alone.
//
// The concrete types are pointers (*RedoStarts, *Fatal, …); a type switch on
// them is the intended use.
type Event interface {
	// Source is the line the event was read from.
	Source() Line
	// String is a compact one-line description, stable enough for golden files.
	String() string
	isEvent()
}

// Origin carries the line an event came from. It is embedded in every event.
type Origin struct {
	Line Line
}

// Source returns the line the event came from.
func (o Origin) Source() Line { return o.Line }
func (Origin) isEvent()       {}

// RecoveryStarting is "starting archive recovery" (Target "", replay to the
// end of the archive) or "starting point-in-time recovery to X" (Target X:
// a time, `XID 123`, a quoted restore point, `WAL location (LSN) "0/3000060"`
// or `earliest consistent point`).
type RecoveryStarting struct {
	Origin
	Target string
}

// BackupRecoveryStarting is the 15.6+/16.2+/17 line naming the backup's redo
// and checkpoint LSNs and timeline.
type BackupRecoveryStarting struct {
	Origin
	RedoLSN, CheckpointLSN LSN
	Timeline               uint32
}

// BackupRecoveryCompleted is the 15.6+/16.2+/17 line saying the end of the
// base backup has been replayed.
type BackupRecoveryCompleted struct {
	Origin
	RedoLSN, EndLSN LSN
}

// RestoredFile is `restored log file "NAME" from archive`. Name is a WAL
// segment (24 hex digits) or a timeline history file ("00000002.history").
type RestoredFile struct {
	Origin
	Name string
}

// RedoStarts is "redo starts at X/Y".
type RedoStarts struct {
	Origin
	LSN LSN
}

// RedoProgress is 15+'s "redo in progress, elapsed time: S.CC s, current
// LSN: X/Y", logged every log_startup_progress_interval.
type RedoProgress struct {
	Origin
	LSN     LSN
	Elapsed time.Duration
}

// StartupProgress is any other 15+ startup progress line, such as "syncing
// data directory (fsync)" or "resetting unlogged relations (init)". Detail is
// what follows the elapsed time ("current path: ./base/5/16391").
type StartupProgress struct {
	Origin
	Phase   string
	Elapsed time.Duration
	Detail  string
}

// Consistent is "consistent recovery state reached at X/Y".
type Consistent struct {
	Origin
	LSN LSN
}

// ReadyReadOnly is "database system is ready to accept read only
// connections" (≤13) or "… read-only connections" (14+): hot standby is open,
// replay goes on.
type ReadyReadOnly struct {
	Origin
}

// StoppingAtTarget is any "recovery stopping …" line; Detail is the rest
// ("before commit of transaction 733, time …", `after WAL location (LSN)
// "0/3000060"`, `at restore point "x", time …`, "after reaching consistency").
type StoppingAtTarget struct {
	Origin
	Detail string
}

// Annotations are the DETAIL, HINT and other lines PostgreSQL writes after a
// message in the same report, each on its own line with the same prefix,
// plus the TAB-led continuation lines of any of them.
type Annotations struct {
	Detail string
	Hint   string
	// Attached holds every line attached to the event, in order, so that
	// nothing of the log is lost (CONTEXT and STATEMENT lines included).
	Attached  []Line
	lastField annotationField
}

// annotationField is where a TAB continuation line goes: the field filled by
// the line before it.
type annotationField int

const (
	fieldMessage annotationField = iota
	fieldDetail
	fieldHint
	fieldElsewhere
)

// annotate records l; message is the event's own message text, extended by
// continuation lines that come before any DETAIL or HINT.
func (a *Annotations) annotate(l Line, message *string) {
	a.Attached = append(a.Attached, l)
	switch {
	case l.Continuation:
		a.extend(l.Message, message)
	case l.Severity == "DETAIL":
		a.lastField = fieldDetail
		a.Detail = joinLines(a.Detail, l.Message)
	case l.Severity == "HINT":
		a.lastField = fieldHint
		a.Hint = joinLines(a.Hint, l.Message)
	default:
		a.lastField = fieldElsewhere
	}
}

func (a *Annotations) extend(text string, message *string) {
	switch a.lastField {
	case fieldMessage:
		if message != nil {
			*message = joinLines(*message, text)
		}
	case fieldDetail:
		a.Detail = joinLines(a.Detail, text)
	case fieldHint:
		a.Hint = joinLines(a.Hint, text)
	}
}

func joinLines(existing, more string) string {
	if existing == "" {
		return more
	}
	return existing + "\n" + more
}

// Paused is "pausing at the end of recovery" (13+, AtTarget true) or
// "recovery has paused" (a manual pg_wal_replay_pause() on 13+; on ≤12 also
// the pause at the target, so AtTarget is true when a StoppingAtTarget line
// came first). The HINT naming the resume function is attached to it.
type Paused struct {
	Origin
	AtTarget bool
	Annotations
}

// RedoDone is "redo done at X/Y", with " system usage: …" on 14+ (Usage).
// The LSN is the start of the last record replayed.
type RedoDone struct {
	Origin
	LSN   LSN
	Usage string
}

// LastTransaction is "last completed transaction was at log time …"; At is
// the server's text, for example "2026-11-25 02:33:09.783689+00".
type LastTransaction struct {
	Origin
	At string
}

// NewTimeline is "selected new timeline ID: N", the moment of promotion.
type NewTimeline struct {
	Origin
	ID uint32
}

// ArchiveRecoveryComplete is "archive recovery complete". Alone it does not
// prove the archive was replayed to the end: a gap ends recovery silently.
type ArchiveRecoveryComplete struct {
	Origin
}

// Ready is "database system is ready to accept connections": recovery is
// over and the server is promoted.
type Ready struct {
	Origin
}

// ShutdownAtTarget is the postmaster's "shutdown at recovery target"
// (recovery_target_action=shutdown, or pause with hot_standby=off on 12+).
type ShutdownAtTarget struct {
	Origin
}

// ShutDown is "database system is shut down".
type ShutDown struct {
	Origin
}

// Fatal is a FATAL or PANIC line. FromStartup is true when it came from the
// startup process, which means recovery failed; FATALs of client
// connections ("the database system is starting up", "… not accepting
// connections") are not. Following DETAIL/HINT lines of the same process are
// attached to it (see Attached). Restore is set when the message is the
// restore_command failure `could not restore file "…" from archive: …`.
type Fatal struct {
	Origin
	Severity    string
	Message     string
	FromStartup bool
	Restore     *RestoreCommandFailed
	Annotations
}

// StartupProcessExited is the postmaster's "startup process (PID n) exited
// with exit code N" or "… was terminated by signal S: …" (Code -1 then).
type StartupProcessExited struct {
	Origin
	PID    int
	Code   int
	Signal int
}

// RestoreCommandFailed is `could not restore file "FILE" from archive: REASON`
// at a non-fatal level (DEBUG2, visible only with log_min_messages=debug2).
// Reason is "child process exited with exit code 1" on 9.6+, "return code N"
// on 9.3. The FATAL form is a Fatal with Restore set.
type RestoreCommandFailed struct {
	Origin
	File   string
	Reason string
}

// RestoreCommandOutput is a line with no server prefix or severity: the
// restore command's own stderr (cp, sh, WAL-E, pgrescue), which PostgreSQL
// passes through unchanged.
type RestoreCommandOutput struct {
	Origin
	Text string
}

// Other is any other line: a server line whose message is not in the
// catalogue (including every translated message), a DETAIL/HINT that does
// not follow a Fatal or Paused, or a stray continuation line.
type Other struct {
	Origin
}

// Attached is the event for a DETAIL, HINT, CONTEXT, STATEMENT, QUERY or
// LOCATION line, or a TAB continuation, that belongs to the Fatal or Paused
// event before it (same PID and user@db, nothing else in between). To is that
// event, already updated with the line (its Detail, Hint, Message and
// Attached fields); a UI that keeps the *Fatal it was given sees the update.
type Attached struct {
	Origin
	To Event
}

func (e *RecoveryStarting) String() string {
	if e.Target == "" {
		return "RecoveryStarting archive"
	}
	return "RecoveryStarting target=" + quote(e.Target)
}

func (e *BackupRecoveryStarting) String() string {
	return fmt.Sprintf("BackupRecoveryStarting redo=%s checkpoint=%s tli=%d", e.RedoLSN, e.CheckpointLSN, e.Timeline)
}

func (e *BackupRecoveryCompleted) String() string {
	return fmt.Sprintf("BackupRecoveryCompleted redo=%s end=%s", e.RedoLSN, e.EndLSN)
}

func (e *RestoredFile) String() string { return "RestoredFile " + e.Name }
func (e *RedoStarts) String() string   { return "RedoStarts " + e.LSN.String() }

func (e *RedoProgress) String() string {
	return fmt.Sprintf("RedoProgress %s elapsed=%s", e.LSN, e.Elapsed)
}

func (e *StartupProgress) String() string {
	return fmt.Sprintf("StartupProgress %s elapsed=%s %s", quote(e.Phase), e.Elapsed, quote(e.Detail))
}

func (e *Consistent) String() string       { return "Consistent " + e.LSN.String() }
func (e *ReadyReadOnly) String() string    { return "ReadyReadOnly" }
func (e *StoppingAtTarget) String() string { return "StoppingAtTarget " + quote(e.Detail) }

func (e *Paused) String() string {
	return fmt.Sprintf("Paused atTarget=%t", e.AtTarget) + e.Annotations.summary()
}

func (e *RedoDone) String() string {
	if e.Usage == "" {
		return "RedoDone " + e.LSN.String()
	}
	return "RedoDone " + e.LSN.String() + " usage=" + quote(e.Usage)
}

func (e *LastTransaction) String() string         { return "LastTransaction " + quote(e.At) }
func (e *NewTimeline) String() string             { return fmt.Sprintf("NewTimeline %d", e.ID) }
func (e *ArchiveRecoveryComplete) String() string { return "ArchiveRecoveryComplete" }
func (e *Ready) String() string                   { return "Ready" }
func (e *ShutdownAtTarget) String() string        { return "ShutdownAtTarget" }
func (e *ShutDown) String() string                { return "ShutDown" }

func (e *Fatal) String() string {
	origin := "client"
	if e.FromStartup {
		origin = "startup"
	}
	s := fmt.Sprintf("Fatal %s %s%s %s", e.Severity, origin, pidTag(e.Line), quote(e.Message))
	if e.Restore != nil {
		s += " restore=" + e.Restore.File
	}
	return s + e.Annotations.summary()
}

// summary shows the DETAIL and HINT gathered so far.
func (a Annotations) summary() string {
	s := ""
	if a.Detail != "" {
		s += " detail=" + quote(a.Detail)
	}
	if a.Hint != "" {
		s += " hint=" + quote(a.Hint)
	}
	return s
}

func (e *StartupProcessExited) String() string {
	if e.Signal != 0 {
		return fmt.Sprintf("StartupProcessExited pid=%d signal=%d", e.PID, e.Signal)
	}
	return fmt.Sprintf("StartupProcessExited pid=%d code=%d", e.PID, e.Code)
}

func (e *RestoreCommandFailed) String() string {
	return fmt.Sprintf("RestoreCommandFailed %s reason=%s", e.File, quote(e.Reason))
}

func (e *RestoreCommandOutput) String() string { return "RestoreCommandOutput " + quote(e.Text) }

func (e *Other) String() string {
	return "Other " + describeLine(e.Line)
}

func (e *Attached) String() string {
	return fmt.Sprintf("Attached %s to %s", describeLine(e.Line), kindOf(e.To))
}

// describeLine is the severity, PID and message of a line in a few words.
func describeLine(l Line) string {
	var b strings.Builder
	switch {
	case l.Continuation:
		b.WriteString("continuation")
	case l.Severity != "":
		b.WriteString(l.Severity)
	case l.ForeignSeverity != "":
		b.WriteString("foreign=" + l.ForeignSeverity)
	default:
		b.WriteString("unrecognised")
	}
	b.WriteString(pidTag(l))
	b.WriteString(" ")
	b.WriteString(quote(l.Message))
	return b.String()
}

func pidTag(l Line) string {
	s := ""
	if l.PID != 0 {
		s += " pid=" + strconv.Itoa(l.PID)
	}
	if l.UserDB != "" {
		s += " " + l.UserDB
	}
	return s
}

// kindOf is the type name of an event without the package and pointer.
func kindOf(e Event) string {
	name := fmt.Sprintf("%T", e)
	name = strings.TrimPrefix(name, "*")
	return strings.TrimPrefix(name, "pglog.")
}

// maxQuoted keeps String() to one readable line; the full text is in the
// event's fields and Line.
const maxQuoted = 110

func quote(s string) string {
	if utf8.RuneCountInString(s) > maxQuoted {
		runes := []rune(s)
		s = string(runes[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}
