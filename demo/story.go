package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
)

// The application's data: content-publisher's documents, written in
// batches a second or so apart so that every batch has its own commit time
// and several WAL segments reach the archive, yet the WAL stays small
// enough for the build to take seconds.
const (
	batchRows   = 500
	pace        = time.Second
	countQuery  = "SELECT count(*) FROM documents"
	accidentSQL = "DELETE FROM documents WHERE document_type = 'news_story'"
	// accidentGap is how long after the target the DELETE happens at the
	// earliest: a target typed to the second lands between the two.
	accidentGap = 2 * time.Second
)

const schemaSQL = `CREATE TABLE documents (
	id bigint PRIMARY KEY,
	content_id uuid NOT NULL UNIQUE,
	base_path text NOT NULL UNIQUE,
	title text NOT NULL,
	document_type text NOT NULL,
	body text NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX index_documents_on_document_type ON documents (document_type);
`

// insertSQL writes documents from..to: every third one a news story, the
// others guides, with GOV.UK-like paths and titles. It then prints the
// clock just after the commit, in microseconds since the epoch.
const insertSQL = `BEGIN;
INSERT INTO documents (id, content_id, base_path, title, document_type, body, updated_at)
SELECT g, md5('content-publisher/' || g)::uuid,
	'/government/' || d.section || '/' || lower(replace(d.title, ' ', '-')) || '-' || g,
	d.title, d.document_type, repeat(md5(g::text) || ' ', 12), clock_timestamp()
FROM generate_series(%d, %d) AS g,
LATERAL (SELECT
	(ARRAY['news_story', 'guide', 'detailed_guide'])[g %% 3 + 1] AS document_type,
	(ARRAY['news', 'guidance', 'guidance'])[g %% 3 + 1] AS section,
	(ARRAY['Minister visits', 'Changes to', 'How to apply for', 'Funding for', 'Consultation on', 'Update on'])[g %% 6 + 1]
		|| ' ' || (ARRAY['school meals', 'flood defences', 'driving licences', 'apprenticeships', 'rural broadband', 'cycle routes', 'pension credit'])[g %% 7 + 1] AS title
) AS d;
COMMIT;
SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
`

// firstWrites creates the application's database and its first documents,
// then closes the WAL segment so the archive holds it before the backup.
func (b *builder) firstWrites(ctx context.Context) error {
	p := b.primary
	if _, err := p.psql(ctx, "postgres", "CREATE DATABASE "+sandboxDatabase+";\n"); err != nil {
		return err
	}
	if _, err := p.psql(ctx, sandboxDatabase, schemaSQL); err != nil {
		return err
	}
	if err := b.batches(ctx, 2); err != nil {
		return err
	}
	_, err := b.switchWAL(ctx)
	return err
}

// laterWrites goes on writing after the backup: two batches before the
// accident, four when the disk is lost, all of which a restore must have.
func (b *builder) laterWrites(ctx context.Context) error {
	n := 2
	if b.s.Scenario.Name == diskLostScenario {
		n = 4
	}
	b.s.laterFrom = b.now()
	if err := b.batches(ctx, n); err != nil {
		return err
	}
	rows, err := b.count(ctx)
	if err != nil {
		return err
	}
	b.s.Expected.RowsBefore = rows
	b.s.lastIDBefore = b.nextID - 1
	b.s.Expected.RowsAfter = rows // until writes after an accident
	return nil
}

// accident deletes every news story, at least accidentGap after the whole
// second that follows the last write: that second is the target hint.
func (b *builder) accident(ctx context.Context) error {
	target := b.lastWrite.Truncate(time.Second).Add(time.Second)
	if err := b.waitUntil(ctx, target.Add(accidentGap)); err != nil {
		return err
	}
	out, err := b.primary.psql(ctx, sandboxDatabase, "BEGIN;\n"+accidentSQL+";\nCOMMIT;\n"+
		"SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;\n")
	if err != nil {
		return err
	}
	at, err := parseMicros(out)
	if err != nil {
		return err
	}
	rows, err := b.count(ctx)
	if err != nil {
		return err
	}
	b.s.AccidentAt = at
	b.s.TargetHint = target.In(time.Local).Format("2006-01-02 15:04:05")
	b.s.Expected.RowsDeleted = b.s.Expected.RowsBefore - rows
	return nil
}

// writesAfterAccident is the application carrying on, unaware: rows a
// correct restore must not have.
func (b *builder) writesAfterAccident(ctx context.Context) error {
	if err := b.sleep(ctx, pace); err != nil {
		return err
	}
	if err := b.batches(ctx, 2); err != nil {
		return err
	}
	rows, err := b.count(ctx)
	b.s.Expected.RowsAfter = rows
	return err
}

// batches writes n batches a pace apart, closing the WAL segment after
// every odd one so that the archive grows segment by segment.
func (b *builder) batches(ctx context.Context, n int) error {
	for i := range n {
		if i > 0 {
			if err := b.sleep(ctx, pace); err != nil {
				return err
			}
		}
		if err := b.insertBatch(ctx); err != nil {
			return err
		}
		if i%2 == 0 && i+1 < n {
			if _, err := b.switchWAL(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *builder) insertBatch(ctx context.Context) error {
	from, to := b.nextID, b.nextID+batchRows-1
	out, err := b.primary.psql(ctx, sandboxDatabase, fmt.Sprintf(insertSQL, from, to))
	if err != nil {
		return err
	}
	b.nextID = to + 1
	b.lastWrite, err = parseMicros(out)
	return err
}

func (b *builder) count(ctx context.Context) (int, error) {
	out, err := b.primary.psql(ctx, sandboxDatabase, countQuery+";\n")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		return 0, problem.Wrap(err, problem.Unknown, countQuery, "unexpected output from the sandbox's primary: "+out, "run pgrescue demo again")
	}
	return n, nil
}

// switchWAL closes the current WAL segment, so the archiver hands it to
// archive_command, and returns its name.
func (b *builder) switchWAL(ctx context.Context) (string, error) {
	return b.primary.psql(ctx, "postgres", "SELECT pg_walfile_name(pg_switch_wal());\n")
}

// waitArchived waits for the archiver's own account of segment: it works
// whatever archive_command is, and a failing wal-push shows up there too.
func (b *builder) waitArchived(ctx context.Context, segment string) error {
	var last string
	err := waitFor(ctx, time.Minute, func() (bool, error) {
		out, err := b.primary.psql(ctx, "postgres",
			"SELECT coalesce(last_archived_wal, '') >= '"+segment+"', coalesce(last_failed_wal, '') FROM pg_stat_archiver;\n")
		if err != nil {
			return false, err
		}
		done, failed, _ := strings.Cut(out, "|")
		last = failed
		return done == "t", nil
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	e := problem.Wrap(err, problem.Network, "archive_command", "WAL segment "+segment+" was not archived within a minute",
		"read the primary's log, where wal-push explains: "+b.primary.logFile)
	e.Detail = "last failed segment: " + last + "; log: " + b.primary.logTail()
	return e
}

func parseMicros(out string) (time.Time, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
	if err != nil {
		return time.Time{}, problem.Wrap(err, problem.Unknown, "clock_timestamp()", "unexpected output from the sandbox's primary: "+out, "run pgrescue demo again")
	}
	return time.UnixMicro(n), nil
}

func (b *builder) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// waitUntil sleeps until the build's clock reaches t.
func (b *builder) waitUntil(ctx context.Context, t time.Time) error {
	for {
		d := t.Sub(b.now())
		if d <= 0 {
			return nil
		}
		if err := b.sleep(ctx, min(d, 100*time.Millisecond)); err != nil {
			return err
		}
	}
}

// describe writes the briefing's paragraph.
func (b *builder) describe() {
	b.s.Expected.Describe = describeScenario(b.s)
}

func describeScenario(s *Sandbox) string {
	e := s.Expected
	if isRDS(s.Scenario.Name) {
		return describeRDS(s)
	}
	if s.Scenario.Name == nightlyDumpScenario {
		return describeNightly(s)
	}
	if s.Scenario.Name == diskLostScenario {
		return fmt.Sprintf("The disk of postgresql-primary-1, the Carrenza PostgreSQL primary that holds %s's production database %s, "+
			"has failed: its data directory %s is gone. WAL-E had archived every WAL segment to S3 until then. "+
			"Restore the database from the WAL-E archive into %s, to the end of the archive. "+
			"A correct restore has all %d documents the application wrote: run %s to see.",
			s.App, s.Database, s.PrimaryDir, s.RestoreDir, e.RowsAfter, e.Query)
	}
	later := e.RowsAfter - (e.RowsBefore - e.RowsDeleted)
	return fmt.Sprintf("Some time %s, someone ran `%s` on %s's production database %s, on the Carrenza primary postgresql-primary-1: "+
		"%d of its %d documents were deleted. Nobody noted the exact time, and the application also wrote documents in those minutes "+
		"before the DELETE, so a guessed time loses them or keeps the accident. The application went on writing, so the archive also holds "+
		"%d documents written after the accident. The primary has been stopped. Restore it from the WAL-E archive to just before the DELETE: "+
		"%s. A correct restore has the %d documents there were just before the DELETE — the deleted ones are back, "+
		"everything written before the accident is there, and nothing written after it. Run %s to see.",
		describeWindow(accidentWindow(s)), accidentSQL, s.App, s.Database, e.RowsDeleted, e.RowsBefore, later, findAdvice, e.RowsBefore, e.Query)
}

// findAdvice is how a trainee finds the accident: the wizard's "find the
// moment" lists the archived WAL's transactions that deleted many rows, and
// choosing one stops replay just before it, to the transaction.
const findAdvice = "on the page where you choose the backup and the target, press f to find the moment " +
	"(pgrescue reads the archived WAL and lists the transactions that deleted many rows, with their commit times) " +
	"and choose the DELETE, to stop just before it"

// accidentWindow is the briefing's rough "when": whole minutes from the
// first write after the backup, which it contains along with the
// accident, to the minute after the accident's.
func accidentWindow(s *Sandbox) (from, to time.Time) {
	first := s.laterFrom
	if first.IsZero() || first.After(s.AccidentAt) {
		first = s.AccidentAt
	}
	return first.Truncate(time.Minute), s.AccidentAt.Truncate(time.Minute).Add(time.Minute)
}

// describeWindow gives a window of whole minutes in UTC and local time,
// never a second: the briefing must not give the accident's exact time.
func describeWindow(from, to time.Time) string {
	return "between " + from.UTC().Format("15:04") + " and " + to.UTC().Format("15:04 UTC on 2 January 2006") +
		" (local time: " + from.In(time.Local).Format("15:04") + " to " + to.In(time.Local).Format("15:04 MST") + ")"
}

// describeTime gives a moment in UTC, as logs and the archive show it, and
// in local time, as recovery targets without a zone are read.
func describeTime(t time.Time) string {
	return t.UTC().Format("15:04:05 UTC on 2 January 2006") + " (local time: " + t.In(time.Local).Format("15:04:05 MST") + ")"
}
