package pglog

import (
	"testing"
	"time"
)

func TestParseLinePrefixes(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05.999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name, raw         string
		time              time.Time
		pid, sessionLine  int
		userDB, sev, msg  string
		hasTime, isServer bool
	}{
		{"%m [%p]", "2026-11-25 02:33:05.123 UTC [1234] LOG:  redo starts at 0/3000028",
			utc("2026-11-25 02:33:05.123"), 1234, 0, "", "LOG", "redo starts at 0/3000028", true, true},
		{"%m [%p] %q%u@%d client", "2026-11-25 02:48:13.770 UTC [7613] postgres@postgres FATAL:  the database system is not accepting connections",
			utc("2026-11-25 02:48:13.770"), 7613, 0, "postgres@postgres", "FATAL", "the database system is not accepting connections", true, true},
		{"%t", "2026-11-25 02:48:16 UTC LOG:  archive recovery complete",
			utc("2026-11-25 02:48:16"), 0, 0, "", "LOG", "archive recovery complete", true, true},
		{"empty", "LOG:  archive recovery complete",
			time.Time{}, 0, 0, "", "LOG", "archive recovery complete", false, true},
		{"Debian %t [%p-%l] background", "2016-01-01 12:00:00 GMT [2345-1] LOG:  redo starts at 0/3000028",
			utc("2016-01-01 12:00:00"), 2345, 1, "", "LOG", "redo starts at 0/3000028", true, true},
		{"Debian %t [%p-%l] client", "2016-01-01 12:00:00 GMT [2346-3] [unknown]@[unknown] FATAL:  the database system is starting up",
			utc("2016-01-01 12:00:00"), 2346, 3, "[unknown]@[unknown]", "FATAL", "the database system is starting up", true, true},
		{"DEBUG", "2026-11-25 02:33:05.123 UTC [1234] DEBUG:  could not restore file \"00000001000000000000000B\" from archive: child process exited with exit code 1",
			utc("2026-11-25 02:33:05.123"), 1234, 0, "", "DEBUG", "could not restore file \"00000001000000000000000B\" from archive: child process exited with exit code 1", true, true},
		{"cp stderr", "cp: cannot stat '/x/00000002.history': No such file or directory",
			time.Time{}, 0, 0, "", "", "cp: cannot stat '/x/00000002.history': No such file or directory", false, false},
		{"WAL-E DETAIL has one space", "        DETAIL: The absolute URI that could not be located is s3://x.",
			time.Time{}, 0, 0, "", "", "        DETAIL: The absolute URI that could not be located is s3://x.", false, false},
		{"user@host text is not user@db", "scp user@host:  copied",
			time.Time{}, 0, 0, "", "", "scp user@host:  copied", false, false},
		{"CRLF", "LOG:  archive recovery complete\r\n",
			time.Time{}, 0, 0, "", "LOG", "archive recovery complete", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := ParseLine(c.raw)
			if l.HasTime != c.hasTime || (c.hasTime && !l.Time.Equal(c.time)) || l.PID != c.pid || l.SessionLine != c.sessionLine ||
				l.UserDB != c.userDB || l.Severity != c.sev || l.Message != c.msg || l.IsServerLine() != c.isServer {
				t.Errorf("ParseLine(%q) = %+v", c.raw, l)
			}
		})
	}
}

func TestParseLineTimeZones(t *testing.T) {
	cases := []struct {
		zone    string
		offset  int // seconds east of UTC
		hasTime bool
	}{
		{"UTC", 0, true}, {"GMT", 0, true}, {"BST", 3600, true}, {"CET", 3600, true},
		{"CEST", 7200, true}, {"EST", -5 * 3600, true}, {"EDT", -4 * 3600, true},
		{"+03", 3 * 3600, true}, {"+0530", 5*3600 + 1800, true}, {"-0330", -(3*3600 + 1800), true},
		{"+05:45", 5*3600 + 45*60, true},
		// Ambiguous or unknown: wall clock kept at offset 0, HasTime false.
		{"IST", 0, false}, {"CST", 0, false}, {"XYZT", 0, false},
	}
	for _, c := range cases {
		l := ParseLine("2026-03-01 10:20:30.5 " + c.zone + " [9] LOG:  x")
		_, offset := l.Time.Zone()
		if l.HasTime != c.hasTime || offset != c.offset || l.PID != 9 || l.Severity != "LOG" {
			t.Errorf("zone %s: HasTime %v offset %d pid %d sev %q", c.zone, l.HasTime, offset, l.PID, l.Severity)
		}
		if l.Time.Hour() != 10 || l.Time.Minute() != 20 || l.Time.Nanosecond() != 500_000_000 {
			t.Errorf("zone %s: wall clock changed: %v", c.zone, l.Time)
		}
	}
	if l := ParseLine("2026-03-01 10:20:30 lowercase LOG:  x"); l.Severity != "" || l.Prefix != "" {
		t.Errorf("a lower-case word is not a zone: %+v", l)
	}
}

func TestParseLineTranslatedSeverities(t *testing.T) {
	cases := []struct{ raw, foreign, sev string }{
		{"2026-11-25 02:40:59.447 UTC [774] FEHLER:  Relation »x« existiert nicht", "FEHLER", ""},
		{"2026-11-25 02:40:59.447 UTC [774] TIPP:  Führen Sie pg_wal_replay_resume() aus.", "TIPP", ""},
		{"FEHLER:  Relation »x« existiert nicht", "FEHLER", ""},
		{"СООБЩЕНИЕ:  система БД готова принимать подключения", "СООБЩЕНИЕ", ""},
		{"2026-11-25 02:40:59.447 UTC [774] ВАЖНО:  x", "ВАЖНО", ""},
		// German kept LOG (and DETAIL) untranslated: those are English words.
		{"2026-11-25 02:40:59.447 UTC [774] LOG:  Redo beginnt bei 0/3000028", "", "LOG"},
	}
	for _, c := range cases {
		l := ParseLine(c.raw)
		if l.ForeignSeverity != c.foreign || l.Severity != c.sev || !l.IsServerLine() {
			t.Errorf("ParseLine(%q): severity %q foreign %q", c.raw, l.Severity, l.ForeignSeverity)
		}
	}
}

func TestParseLineContinuation(t *testing.T) {
	l := ParseLine("\tIf you are not restoring from a backup, try removing the file \"backup_label\".")
	if !l.Continuation || l.Message != "If you are not restoring from a backup, try removing the file \"backup_label\"." || l.IsServerLine() {
		t.Errorf("%+v", l)
	}
}
