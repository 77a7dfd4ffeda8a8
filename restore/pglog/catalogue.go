package pglog

import (
	"strconv"
	"strings"
	"time"
)

// The catalogue of LOG-level recovery messages, PostgreSQL 9.3–18, from
// pg-recovery.md §1.1/§1.2 (18 words them as 17 does: checked on a real
// server by TestEveryMajorRestoresFromItsArchive). Only English (lc_messages=C) wording is matched:
// a translated line stays an Other event rather than being guessed at.

// logMessage matches one message; build returns nil when the text after the
// prefix does not parse, and the line then becomes Other.
type logMessage struct {
	prefix string
	// exact means the whole message must equal prefix.
	exact bool
	// fromStartup marks messages only the startup process writes: they tell
	// the parser the startup process's PID.
	fromStartup bool
	build       func(o Origin, rest string, p *Parser) Event
}

var logCatalogue = []logMessage{
	{prefix: "starting archive recovery", exact: true, fromStartup: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &RecoveryStarting{Origin: o}
	}},
	{prefix: "starting point-in-time recovery to ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		return &RecoveryStarting{Origin: o, Target: rest}
	}},
	{prefix: "starting backup recovery with redo LSN ", fromStartup: true, build: buildBackupRecoveryStarting},
	{prefix: "completed backup recovery with redo LSN ", fromStartup: true, build: buildBackupRecoveryCompleted},
	{prefix: `restored log file "`, fromStartup: true, build: buildRestoredFile},
	{prefix: "redo starts at ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		return withLSN(rest, func(l LSN) Event { return &RedoStarts{Origin: o, LSN: l} })
	}},
	{prefix: "consistent recovery state reached at ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		return withLSN(rest, func(l LSN) Event { return &Consistent{Origin: o, LSN: l} })
	}},
	{prefix: "database system is ready to accept read only connections", exact: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &ReadyReadOnly{Origin: o}
	}},
	{prefix: "database system is ready to accept read-only connections", exact: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &ReadyReadOnly{Origin: o}
	}},
	{prefix: "recovery stopping ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		return &StoppingAtTarget{Origin: o, Detail: rest}
	}},
	{prefix: "pausing at the end of recovery", exact: true, fromStartup: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &Paused{Origin: o, AtTarget: true}
	}},
	{prefix: "recovery has paused", exact: true, fromStartup: true, build: func(o Origin, _ string, p *Parser) Event {
		// ≤12 uses this wording for the pause at the target as well.
		return &Paused{Origin: o, AtTarget: p.state.StoppedAtTarget}
	}},
	{prefix: "redo done at ", fromStartup: true, build: buildRedoDone},
	{prefix: "last completed transaction was at log time ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		return &LastTransaction{Origin: o, At: rest}
	}},
	{prefix: "selected new timeline ID: ", fromStartup: true, build: func(o Origin, rest string, _ *Parser) Event {
		id, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			return nil
		}
		return &NewTimeline{Origin: o, ID: uint32(id)}
	}},
	{prefix: "archive recovery complete", exact: true, fromStartup: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &ArchiveRecoveryComplete{Origin: o}
	}},
	{prefix: "database system is ready to accept connections", exact: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &Ready{Origin: o}
	}},
	{prefix: "shutdown at recovery target", exact: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &ShutdownAtTarget{Origin: o}
	}},
	{prefix: "database system is shut down", exact: true, build: func(o Origin, _ string, _ *Parser) Event {
		return &ShutDown{Origin: o}
	}},
	{prefix: "startup process (PID ", build: buildStartupProcessExited},
	{prefix: `could not restore file "`, build: buildRestoreCommandFailed},
}

// startupOnlyMessages are other messages only the startup process writes;
// they produce Other events but reveal its PID early, before any WAL is
// restored (a restore_command that is "not found" fails on the very first
// .history probe).
var startupOnlyMessages = []string{
	"database system was ", // interrupted; shut down at; shut down in recovery at; not properly shut down
	"entering standby mode",
	"creating missing WAL directory",
	"invalid checkpoint record",
	"invalid primary checkpoint record",
	"invalid secondary checkpoint record",
}

// recoveryFailures are the FATAL messages of a failed recovery (§1.2). They
// decide whether a FATAL without a PID in the prefix, or from a process not
// yet known, is the startup process's.
var recoveryFailures = []string{
	"recovery ended before configured recovery target was reached",
	"could not locate required checkpoint record",
	"could not locate a valid checkpoint record",
	`could not restore file "`,
	"requested recovery stop point is before consistent recovery point",
	"WAL ends before end of online backup",
	"WAL ends before consistent recovery point",
	`archive file "`,
	"could not find redo location referenced by checkpoint record",
	"requested timeline ",
	"recovery target timeline ",
	"hot standby is not possible because",
	`using recovery command file "recovery.conf" is not supported`,
	"unrecognized recovery parameter",
	`recovery command file "recovery.conf" must specify restore_command`,
	"must specify restore_command when standby mode is not enabled",
	`must specify "restore_command" when standby mode is not enabled`,
	"multiple recovery targets specified",
	"invalid data in history file",
	`invalid data in file "backup_label"`,
	"backup_label contains data inconsistent with control file",
	`required WAL directory "`,
	"online backup was canceled, recovery cannot continue",
}

func isRecoveryFailure(message string) bool {
	return hasAnyPrefix(message, recoveryFailures)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// lookupLogMessage finds the catalogue entry for message and the text after
// its prefix.
func lookupLogMessage(message string) (logMessage, string, bool) {
	for _, m := range logCatalogue {
		rest, ok := strings.CutPrefix(message, m.prefix)
		if !ok || (m.exact && rest != "") {
			continue
		}
		return m, rest, true
	}
	return logMessage{}, "", false
}

func withLSN(text string, build func(LSN) Event) Event {
	lsn, err := ParseLSN(text)
	if err != nil {
		return nil
	}
	return build(lsn)
}

// buildBackupRecoveryStarting parses
// "X/Y, checkpoint LSN X/Y, on timeline ID N".
func buildBackupRecoveryStarting(o Origin, rest string, _ *Parser) Event {
	redo, rest, ok1 := strings.Cut(rest, ", checkpoint LSN ")
	checkpoint, timeline, ok2 := strings.Cut(rest, ", on timeline ID ")
	if !ok1 || !ok2 {
		return nil
	}
	redoLSN, err1 := ParseLSN(redo)
	checkpointLSN, err2 := ParseLSN(checkpoint)
	tli, err3 := strconv.ParseUint(timeline, 10, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	return &BackupRecoveryStarting{Origin: o, RedoLSN: redoLSN, CheckpointLSN: checkpointLSN, Timeline: uint32(tli)}
}

// buildBackupRecoveryCompleted parses "X/Y and end LSN X/Y".
func buildBackupRecoveryCompleted(o Origin, rest string, _ *Parser) Event {
	redo, end, ok := strings.Cut(rest, " and end LSN ")
	if !ok {
		return nil
	}
	redoLSN, err1 := ParseLSN(redo)
	endLSN, err2 := ParseLSN(end)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &BackupRecoveryCompleted{Origin: o, RedoLSN: redoLSN, EndLSN: endLSN}
}

func buildRestoredFile(o Origin, rest string, _ *Parser) Event {
	name, ok := strings.CutSuffix(rest, `" from archive`)
	if !ok || name == "" || strings.Contains(name, `"`) {
		return nil
	}
	return &RestoredFile{Origin: o, Name: name}
}

// buildRedoDone parses "X/Y" (≤13) or "X/Y system usage: …" (14+).
func buildRedoDone(o Origin, rest string, _ *Parser) Event {
	at, usage, _ := strings.Cut(rest, " system usage: ")
	return withLSN(at, func(l LSN) Event { return &RedoDone{Origin: o, LSN: l, Usage: usage} })
}

// buildStartupProcessExited parses "N) exited with exit code M" and
// "N) was terminated by signal S: name".
func buildStartupProcessExited(o Origin, rest string, _ *Parser) Event {
	pidText, how, ok := strings.Cut(rest, ") ")
	pid, okPID := atoiDigits(pidText)
	if !ok || !okPID {
		return nil
	}
	if code, ok := strings.CutPrefix(how, "exited with exit code "); ok {
		n, okCode := atoiDigits(code)
		if !okCode {
			return nil
		}
		return &StartupProcessExited{Origin: o, PID: pid, Code: n}
	}
	if signal, ok := strings.CutPrefix(how, "was terminated by signal "); ok {
		number, _, _ := strings.Cut(signal, ":")
		n, okSignal := atoiDigits(number)
		if !okSignal {
			return nil
		}
		return &StartupProcessExited{Origin: o, PID: pid, Code: -1, Signal: n}
	}
	return nil
}

func buildRestoreCommandFailed(o Origin, rest string, _ *Parser) Event {
	file, reason, ok := parseRestoreFailure(`could not restore file "` + rest)
	if !ok {
		return nil
	}
	return &RestoreCommandFailed{Origin: o, File: file, Reason: reason}
}

// parseRestoreFailure reads `could not restore file "F" from archive: R`.
func parseRestoreFailure(message string) (file, reason string, ok bool) {
	rest, ok := strings.CutPrefix(message, `could not restore file "`)
	if !ok {
		return "", "", false
	}
	file, reason, ok = strings.Cut(rest, `" from archive: `)
	return file, reason, ok
}

// progressMarker separates the phase from the timer in every 15+ startup
// progress message ("%s, elapsed time: %ld.%02d s, …").
const progressMarker = ", elapsed time: "

// buildProgress reads a startup progress line, or returns nil.
func buildProgress(o Origin, message string) Event {
	phase, rest, ok := strings.Cut(message, progressMarker)
	if !ok {
		return nil
	}
	seconds, detail, _ := strings.Cut(rest, " s")
	elapsed, ok := parseSeconds(seconds)
	if !ok {
		return nil
	}
	detail = strings.TrimPrefix(detail, ", ")
	if phase == "redo in progress" {
		lsnText, ok := strings.CutPrefix(detail, "current LSN: ")
		if !ok {
			return nil
		}
		return withLSN(lsnText, func(l LSN) Event { return &RedoProgress{Origin: o, LSN: l, Elapsed: elapsed} })
	}
	return &StartupProgress{Origin: o, Phase: phase, Elapsed: elapsed, Detail: detail}
}

// parseSeconds reads "4.83" (whole seconds, a dot, hundredths) exactly,
// without going through floating point.
func parseSeconds(text string) (time.Duration, bool) {
	whole, frac, _ := strings.Cut(text, ".")
	secs, ok := atoiDigits(whole)
	if !ok {
		return 0, false
	}
	d := time.Duration(secs) * time.Second
	scale := time.Second
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return 0, false
		}
		scale /= 10
		d += time.Duration(frac[i]-'0') * scale
	}
	return d, true
}
