package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
)

// The nightly-dump scenario is the runbook's legacy path: last night's
// pg_dump of the application's database, laid out as autopostgresqlbackup
// lays it out on the primary's mount point, and sent offsite by duplicity
// (file://, without encryption) when duplicity is installed. The primary
// keeps running: the trainee restores into a new database beside the live
// one, which an accident has since damaged.

const nightlyDumpScenario = "nightly-dump"

// dumpTreeRoot is where the sandbox keeps "the primary's root": the tree
// sits at its var/lib/autopostgresqlbackup, as duplicity saw it from /.
func (s *Sandbox) dumpTreeRoot() string { return filepath.Join(s.Dir, "primary-root") }

// nightlyDump writes last night's dumps at 03:00 yesterday, local time, with
// the real pg_dump (--create, as CREATE_DATABASE=yes) and pg_dumpall
// --globals-only, gzipped, in daily/ and latest/.
func (b *builder) nightlyDump(ctx context.Context) error {
	s, p := b.s, b.primary
	y := b.now().AddDate(0, 0, -1)
	taken := time.Date(y.Year(), y.Month(), y.Day(), 3, 0, 0, 0, time.Local)
	stamp := taken.Format("2006-01-02_15h04m") + "." + taken.Weekday().String()
	s.DumpTree = filepath.Join(s.dumpTreeRoot(), "var", "lib", "autopostgresqlbackup")
	conn := []string{"-h", p.socketDir, "-p", strconv.Itoa(p.port), "-U", p.owner.Name}
	for _, d := range []struct {
		db   string
		args []string
		tool string
	}{
		{sandboxDatabase, append(append([]string{}, conn...), "--create", sandboxDatabase), "pg_dump"},
		{"postgres_globals", append(append([]string{}, conn...), "--globals-only"), "pg_dumpall"},
	} {
		sql, err := p.run(ctx, nil, d.tool, d.args...)
		if err != nil {
			return problem.Wrap(err, problem.Unknown, d.tool, "the sandbox's nightly dump failed", "read the message; the primary's log is "+p.logFile)
		}
		name := d.db + "_" + stamp + ".sql.gz"
		data, err := gzipped([]byte(sql))
		if err != nil {
			return err
		}
		for _, path := range []string{filepath.Join(s.DumpTree, "daily", d.db, name), filepath.Join(s.DumpTree, "latest", name)} {
			if err := writeDump(path, data, taken.Add(2*time.Minute)); err != nil {
				return err
			}
		}
		if d.db == sandboxDatabase {
			s.DumpFile = filepath.Join("daily", d.db, name)
		}
	}
	rows, err := b.count(ctx)
	s.Expected.RowsBefore = rows
	s.DumpTakenAt = taken
	return err
}

func gzipped(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	err := zw.Close()
	return buf.Bytes(), err
}

// writeDump writes a dump file as the script does: mode 600, its time that
// of the run.
func writeDump(path string, data []byte, at time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fileError(path, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fileError(path, err)
	}
	return os.Chtimes(path, at, at)
}

// sendOffsite backs the tree up with the real duplicity to a file://
// archive in the sandbox, as the backup machine sent it to S3.
func (b *builder) sendOffsite(ctx context.Context) error {
	s := b.s
	if _, err := exec.LookPath("duplicity"); err != nil {
		return nil // the other two sources still work; the briefing says so
	}
	archive := filepath.Join(s.Dir, "offsite")
	cache := filepath.Join(s.Dir, ".duplicity-cache")
	cmd := exec.CommandContext(ctx, "duplicity", "--no-encryption", "--no-print-statistics", "--archive-dir", cache,
		s.dumpTreeRoot(), "file://"+archive)
	if out, err := cmd.CombinedOutput(); err != nil {
		return problem.Wrap(err, problem.Unknown, "duplicity", "the sandbox's offsite copy failed", strings.TrimSpace(string(out)))
	}
	s.OffsiteURL = "file://" + archive
	return nil
}

// damage is the day after the dump: more documents, then every news story
// deleted by mistake; the live database keeps running, damaged.
func (b *builder) damage(ctx context.Context) error {
	if err := b.batches(ctx, 2); err != nil {
		return err
	}
	if _, err := b.primary.psql(ctx, sandboxDatabase, accidentSQL+";\n"); err != nil {
		return err
	}
	rows, err := b.count(ctx)
	b.s.Expected.RowsAfter = rows
	return err
}

// describeNightly is the nightly-dump briefing.
func describeNightly(s *Sandbox) string {
	offsite := "duplicity is not installed here, so there is no offsite copy to practise on."
	if s.OffsiteURL != "" {
		offsite = "The backup machine also sent it offsite with duplicity (here " + s.OffsiteURL + ")."
	}
	return fmt.Sprintf("%s's production database %s lost every news story to a mistaken `%s` this morning; it now has %d documents, and the WAL-E archive is not to be used for this exercise. "+
		"Last night at %s autopostgresqlbackup dumped it to the primary's mount point (here %s). %s "+
		"Restore that dump into a new database next to the live one (the live one must not be touched), and check that its documents table has the %d rows of last night: run %s in it.",
		s.App, s.Database, accidentSQL, s.Expected.RowsAfter, s.DumpTakenAt.Format("15:04 on Monday 2 January"), s.DumpTree, offsite, s.Expected.RowsBefore, s.Expected.Query)
}

// checkNightly finds a database other than the live one that holds last
// night's documents.
func (s *Sandbox) checkNightly(ctx context.Context, socketDir string, port int, user string) (Verdict, error) {
	owner, err := psqlOwner(user)
	if err != nil {
		return Verdict{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	run := func(db, sql string) (string, error) {
		return runOwner(ctx, owner, s.bins.Dir, nil, s.bins.path("psql"), "-X", "-A", "-t", "-q", "-h", socketDir, "-p", strconv.Itoa(port), "-U", user, "-d", db, "-c", sql)
	}
	out, err := run("postgres", "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname NOT IN ('postgres', "+quoteLiteral(s.Database)+") ORDER BY oid DESC")
	if err != nil {
		return Verdict{}, problem.Wrap(err, problem.Unknown, socketDir, "cannot list the sandbox's databases", "check the primary is running")
	}
	live, _ := run(s.Database, countQuery)
	for _, db := range strings.Fields(out) {
		n, err := run(db, countQuery)
		rows, convErr := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || convErr != nil {
			continue
		}
		v := Verdict{Rows: rows}
		if rows == s.Expected.RowsBefore && strings.TrimSpace(live) == strconv.Itoa(s.Expected.RowsAfter) {
			v.OK = true
			v.Message = fmt.Sprintf("%s has %d documents, as last night's dump; the live %s was left as it was (%d).", db, rows, s.Database, s.Expected.RowsAfter)
		} else {
			v.Message = fmt.Sprintf("%s has %d documents, not the %d of last night's dump (the live %s has %s).", db, rows, s.Expected.RowsBefore, s.Database, strings.TrimSpace(live))
		}
		return v, nil
	}
	return Verdict{Message: "no database other than the live " + s.Database + " holds a documents table: restore the dump into a new database"}, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
