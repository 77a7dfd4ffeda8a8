package pglog

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Line is one line of a server log (stderr destination), split into the
// log_line_prefix fields pgrescue can rely on and the message.
//
// ParseLine understands these prefixes, the ones PostgreSQL and Debian's
// postgresql-common have shipped as defaults since 9.3:
//
//	''                      LOG:  msg                       (upstream ≤ 9.6)
//	'%t '                   2026-11-25 02:48:16 UTC LOG:  msg (Debian ≤ 157)
//	'%t [%p-%l] %q%u@%d '   … UTC [1234-1] user@db LOG:  msg (Debian 158+)
//	'%m [%p] '              … 02:33:05.123 UTC [1234] LOG:  msg (upstream 10+)
//	'%m [%p] %q%u@%d '      … [1234] postgres@postgres FATAL:  msg (Debian now)
type Line struct {
	Raw string // the line as read, without the line terminator

	// Time is the %t/%m timestamp. HasTime is true only when the line has one
	// and its zone is known (UTC, GMT, a numeric offset or an abbreviation in
	// zoneOffsets). With an unknown abbreviation the wall clock is kept in a
	// zone of that name at offset 0 (as if UTC) and HasTime is false: right
	// for display and for differences between lines of one log, wrong as an
	// instant.
	Time    time.Time
	HasTime bool

	PID         int    // %p; 0 when the prefix has no PID
	SessionLine int    // %l in Debian's "[%p-%l]"; 0 when absent
	UserDB      string // %u@%d, present only on client backends' lines (%q hides it elsewhere)

	// Severity is the English severity ("LOG", "FATAL", "DEBUG2", …), "" when
	// none was recognised. A translated severity such as German "FEHLER" or
	// "TIPP" is never mapped to an English one: it goes to ForeignSeverity and
	// Severity stays "". (Words that translators left unchanged, German "LOG"
	// and "DETAIL" for example, are of course English.)
	Severity        string
	ForeignSeverity string

	Prefix  string // the raw text before the severity (or before Message when there is none)
	Message string // text after "SEVERITY:  ", or the whole line when nothing was recognised

	// Continuation marks a line starting with a TAB: PostgreSQL's way of
	// continuing a multi-line message, DETAIL or HINT. Message is the text
	// after the TAB.
	Continuation bool
}

// IsServerLine reports whether the line was written by PostgreSQL's error
// reporting, in English or another language (continuations excluded).
func (l Line) IsServerLine() bool {
	return l.Severity != "" || l.ForeignSeverity != ""
}

// englishSeverities are the words error_severity() prints with lc_messages=C.
// Every DEBUGn level prints as plain "DEBUG"; the numbered forms are accepted
// for logs written by other tools.
var englishSeverities = map[string]bool{
	"LOG": true, "FATAL": true, "PANIC": true, "ERROR": true, "WARNING": true,
	"NOTICE": true, "INFO": true, "DEBUG": true, "DEBUG1": true, "DEBUG2": true,
	"DEBUG3": true, "DEBUG4": true, "DEBUG5": true, "DETAIL": true, "HINT": true,
	"CONTEXT": true, "STATEMENT": true, "LOCATION": true, "QUERY": true,
}

// severitySeparator is what follows the severity word. The two spaces tell a
// server line from "cp: cannot stat …" and WAL-E's "DETAIL: …".
const severitySeparator = ":  "

// longestSeverityWord bounds the search for the separator; translated
// severities are longer than English ones ("СООБЩЕНИЕ" is 18 bytes).
const longestSeverityWord = 40

// ParseLine splits one log line. It never fails: a line it cannot read is
// returned with only Raw and Message (the whole line) set, which is what
// restore_command's own stderr looks like.
func ParseLine(raw string) Line {
	text := strings.TrimRight(raw, "\r\n")
	l := Line{Raw: text, Message: text}
	if rest, ok := strings.CutPrefix(text, "\t"); ok {
		l.Continuation = true
		l.Message = rest
		return l
	}
	pos := parsePrefix(text, &l)
	if parseSeverity(text, pos, &l) {
		return l
	}
	// A user@db guess that is not followed by a severity was message text.
	if l.UserDB != "" {
		pos -= len(l.UserDB) + 1
		l.UserDB = ""
	}
	l.Prefix = text[:pos]
	l.Message = text[pos:]
	return l
}

// parsePrefix reads the optional timestamp, [pid] and user@db fields and
// returns the offset of what follows them.
func parsePrefix(text string, l *Line) int {
	pos := parseTimestamp(text, l)
	pos = parsePID(text, pos, l)
	if pos > 0 {
		// %u@%d is only taken after a timestamp or PID, so that a bare
		// "user@host: message" from a restore command is not mistaken for it.
		pos = parseUserDB(text, pos, l)
	}
	return pos
}

// parseSeverity looks for "WORD:  " at pos and fills Severity or
// ForeignSeverity, Prefix and Message.
func parseSeverity(text string, pos int, l *Line) bool {
	rest := text[pos:]
	limit := min(len(rest), longestSeverityWord+len(severitySeparator))
	idx := strings.Index(rest[:limit], severitySeparator)
	if idx <= 0 {
		return false
	}
	word := rest[:idx]
	switch {
	case englishSeverities[word]:
		l.Severity = word
	case isForeignSeverity(word, pos > 0):
		l.ForeignSeverity = word
	default:
		return false
	}
	l.Prefix = text[:pos]
	l.Message = rest[idx+len(severitySeparator):]
	return true
}

// isForeignSeverity accepts a single word of letters as a translated
// severity. Without any prefix to vouch for the line the word must also be
// upper case ("FEHLER", "СООБЩЕНИЕ"), which restore commands' messages
// ("cp: …", "sh: 1: …") never are.
func isForeignSeverity(word string, afterPrefix bool) bool {
	if utf8.RuneCountInString(word) < 2 {
		return false
	}
	for _, r := range word {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) {
			return false
		}
		if !afterPrefix && !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// parsePID reads "[1234] " or Debian's "[1234-5] " at pos.
func parsePID(text string, pos int, l *Line) int {
	rest := text[pos:]
	if !strings.HasPrefix(rest, "[") {
		return pos
	}
	end := strings.Index(rest, "] ")
	if end < 2 {
		return pos
	}
	pidText, lineText, hasLine := strings.Cut(rest[1:end], "-")
	pid, ok := atoiDigits(pidText)
	if !ok {
		return pos
	}
	sessionLine := 0
	if hasLine {
		if sessionLine, ok = atoiDigits(lineText); !ok {
			return pos
		}
	}
	l.PID, l.SessionLine = pid, sessionLine
	return pos + end + len("] ")
}

// parseUserDB takes "user@db " at pos. The severity check in ParseLine
// undoes it when no severity follows.
func parseUserDB(text string, pos int, l *Line) int {
	rest := text[pos:]
	end := strings.IndexByte(rest, ' ')
	if end <= 0 {
		return pos
	}
	token := rest[:end]
	if !strings.Contains(token, "@") || strings.HasSuffix(token, ":") {
		return pos
	}
	l.UserDB = token
	return pos + end + 1
}

// atoiDigits parses a non-empty run of ASCII digits that fits an int.
func atoiDigits(s string) (int, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
