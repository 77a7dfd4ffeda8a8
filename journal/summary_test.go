package journal_test

import (
	"testing"
	"time"

	"pgrescue/journal"
)

func TestSummary(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	at := func(t time.Time, d time.Duration) time.Time { return t.Add(d) }
	const s1, s2 = "20260501T100000Z-42", "20260501T110000Z-43"
	wrong := "the passphrase does not unlock the secret key (key.asc): the S2K check failed after three attempts, so the passphrase typed is wrong. Next: type it again."
	records := []journal.Record{
		{Type: journal.TypeSession, Time: t0, Session: s1, Meta: &journal.Meta{Version: "1.4.0", User: "postgres", Host: "db-1", PID: 42, Start: t0, DryRun: true}},
		{Type: journal.TypeStepStart, Time: at(t0, time.Second), Session: s1, Span: 1, Name: "choose the backup"},
		{Type: journal.TypeStepEnd, Time: at(t0, 3500*time.Millisecond), Session: s1, Span: 1, Name: "choose the backup",
			Start: at(t0, time.Second), Duration: journal.Duration(2500 * time.Millisecond), Result: journal.ResultOK},
		{Type: journal.TypeCommandStart, Time: at(t0, 4*time.Second), Session: s1, Span: 2, Name: "decrypt", Line: "gpg --decrypt base.tar.lzo.gpg"},
		{Type: journal.TypeEvent, Time: at(t0, 4*time.Second), Session: s1, Kind: "gpg", Message: "passphrase refused (wrong-passphrase)"},
		{Type: journal.TypeCommandEnd, Time: at(t0, 4042*time.Millisecond), Session: s1, Span: 2, Name: "decrypt", Line: "gpg --decrypt base.tar.lzo.gpg",
			Start: at(t0, 4*time.Second), Duration: journal.Duration(42100 * time.Microsecond), Result: journal.ResultError, Error: wrong, Problem: "wrong-passphrase"},
		{Type: journal.TypeStepStart, Time: at(t0, time.Minute), Session: s1, Span: 3, Name: "replay WAL"},
		// A second session appended to the same file (a resumed restore), with
		// a step whose start line was lost.
		{Type: journal.TypeSession, Time: t1, Session: s2, Meta: &journal.Meta{Version: "1.4.0", User: "postgres", Host: "db-1", PID: 43, Start: t1}},
		{Type: journal.TypeCommandStart, Time: at(t1, 2*time.Second), Session: s2, Span: 1, Name: "start the server", Line: "pg_ctl -D /srv/pg start"},
		{Type: journal.TypeCommandEnd, Time: at(t1, 92240*time.Millisecond), Session: s2, Span: 1, Name: "start the server", Line: "pg_ctl -D /srv/pg start",
			Start: at(t1, 2*time.Second), Duration: journal.Duration(90240 * time.Millisecond), Result: journal.ResultCancelled, Error: "context canceled"},
		{Type: journal.TypeStepEnd, Time: at(t1, 96*time.Second), Session: s2, Span: 9, Name: "resume",
			Start: at(t1, 95*time.Second), Duration: journal.Duration(850 * time.Microsecond), Result: journal.ResultOK},
		{Type: journal.TypeSessionEnd, Time: at(t1, 2*time.Minute), Session: s2, Start: t1, Duration: journal.Duration(2 * time.Minute),
			Result: journal.ResultCancelled, Error: "context canceled"},
	}
	want := `session 20260501T100000Z-42: pgrescue 1.4.0, postgres@db-1, started 2026-05-01 10:00:00 UTC, dry run
  10:00:01  step     ok              2.5s  choose the backup
  10:00:04  command  error           42ms  $ gpg --decrypt base.tar.lzo.gpg — the passphrase does not unlock the secret key (key.asc): the S2K check failed after three attempts,…
  10:00:04  event    gpg                   passphrase refused (wrong-passphrase)
  10:01:00  step     unfinished         -  replay WAL
  no session-end record: the session was cut short, or is still running
session 20260501T110000Z-43: pgrescue 1.4.0, postgres@db-1, started 2026-05-01 11:00:00 UTC
  11:00:02  command  cancelled    1m30.2s  $ pg_ctl -D /srv/pg start — context canceled
  11:01:35  step     ok             850µs  resume
  ended 11:02:00 after 2m0s: cancelled: context canceled
`
	if got := journal.Summary(records); got != want {
		t.Errorf("Summary()\n got:\n%s\nwant:\n%s", got, want)
	}
	if got := journal.Summary(nil); got != "" {
		t.Errorf("Summary(nil) = %q, want empty", got)
	}
}
