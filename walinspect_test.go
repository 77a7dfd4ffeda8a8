package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// TestWALInspectReadsTheFixtureArchive reads the WAL of the real WAL-E
// archive of testdata (PostgreSQL 15, GPG, lzop) with the installed
// pg_waldump 15, through the same fetcher as recovery, without a network
// server of AWS's.
func TestWALInspectReadsTheFixtureArchive(t *testing.T) {
	testtool.EndToEnd(t)
	if _, err := walinspect.FindWaldump(t.Context(), recovery.Version{Major: 15}, ""); err != nil {
		testtool.Missing(t, "pg_waldump 15", "install it with: sudo apt-get install postgresql-15")
	}
	envdir, _ := fixtureEnvdir(t)
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	args = append(args, "wal-inspect", "--min-rows", "1")
	r := pgrescue(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "(PostgreSQL 15, read by ") || !strings.Contains(r.stdout, "per minute (UTC):") ||
		!regexp.MustCompile(`to stop just before it: --backup base_\w+ --target-xid \d+ --target-exclusive`).MatchString(r.stdout) {
		t.Fatalf("wal-inspect: %+v", r)
	}
	// --dry-run: the same as shell commands, and nothing fetched.
	temp := t.TempDir()
	r = pgrescue(t, nil, append(args, "--dry-run", "--tempdir", temp)...)
	if r.code != 0 || !strings.Contains(r.stdout, "aws s3 cp s3://wale-fixtures/pg15-primary/wal_005/000000010000000000000016.lzo - | gpg -d") ||
		!strings.Contains(r.stdout, "TZ=UTC /usr/lib/postgresql/15/bin/pg_waldump --path "+temp+"/pgrescue-wal-inspect --rmgr Heap") {
		t.Errorf("--dry-run: %+v", r)
	}
	if left, _ := os.ReadDir(temp); len(left) != 0 {
		t.Errorf("--dry-run fetched into %s: %v", temp, left)
	}
	r = pgrescue(t, nil, append(args, "--json")...)
	var res struct {
		Records      int64
		Version      struct{ Major int }
		Transactions []struct{ Xid uint32 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); r.code != 0 || err != nil || res.Records == 0 || res.Version.Major != 15 {
		t.Fatalf("--json: %v %+v\n%s\n%s", err, res, r.stdout, r.stderr)
	}
	t.Logf("%d records, %d transactions shown", res.Records, len(res.Transactions))
}

// TestTargetXidStopsJustBeforeTheDelete is the point: a server
// archives through pgrescue, a mass DELETE commits, wal-inspect finds it in
// the archive with its xid and commit time, and a restore to
// --target-xid X --target-exclusive has the rows from just before it, where
// --target-time at its commit time (inclusive, as PostgreSQL's default)
// replays the DELETE too.
func TestTargetXidStopsJustBeforeTheDelete(t *testing.T) {
	needPostgres(t)
	testtool.Need(t, "pg_basebackup")
	_, envdir, key, exe, work := pushedArchive(t)
	pg := newBenchPostgres(t)
	primary := initBenchPrimary(t, pg, work)
	primary.archiveCommand = exe + " --envdir " + envdir + " --gpg-key " + key + " wal-push %p"
	primary.start(t)
	primary.psql(t, "CREATE TABLE bench_rows (id bigint PRIMARY KEY, account text, amount numeric, at timestamptz, hash text)")
	primary.psql(t, "CREATE TABLE old_reports (id int); INSERT INTO old_reports SELECT generate_series(1, 10)")
	primary.psql(t, "CREATE TABLE audit_log (id int); INSERT INTO audit_log SELECT generate_series(1, 10)")
	primary.insertRows(t, 1, 2000)
	if r := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "backup-push", "--pgdata", primary.dataDir); r.code != 0 {
		t.Fatalf("backup-push: %+v", r)
	}
	primary.insertRows(t, 2001, 3000)
	primary.psql(t, "DELETE FROM bench_rows WHERE id <= 1200")
	primary.psql(t, "UPDATE bench_rows SET hash = 'x' WHERE id > 2800")
	primary.psql(t, "TRUNCATE audit_log")
	primary.psql(t, "DROP TABLE old_reports")
	primary.insertRows(t, 3001, 3100)
	primary.switchAndStop(t)

	pass := []string{"--envdir", envdir, "--gpg-key", key, "--gpg-passphrase-file", s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")}
	r := pgrescue(t, nil, append(pass, "wal-inspect", "--json")...)
	var res struct {
		Transactions []struct {
			Xid  uint32
			At   time.Time
			Rows map[string]struct{ Deleted int64 }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); r.code != 0 || err != nil {
		t.Fatalf("wal-inspect: %v %+v", err, r)
	}
	var xid uint32
	var at time.Time
	for _, tx := range res.Transactions {
		for _, c := range tx.Rows {
			if c.Deleted == 1200 {
				xid, at = tx.Xid, tx.At
			}
		}
	}
	if xid == 0 {
		t.Fatalf("wal-inspect did not find the DELETE of 1200 rows:\n%s", r.stdout)
	}
	count := func(name string, target ...string) int {
		t.Helper()
		pgdata := filepath.Join(work, name)
		args := append(append(append([]string{}, pass...), "restore", "wal-e", "--pgdata", pgdata, "--yes"), target...)
		res := pgrescue(t, nil, args...)
		if res.code != 0 {
			t.Fatalf("restore %v: exit %d\n%s\n%s", target, res.code, res.stdout, res.stderr)
		}
		s := runningServer(t, pgdata, res.stdout)
		out, err := s.Psql(t.Context(), "postgres", "SELECT count(*) FROM bench_rows")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n
	}
	scoutNamesTheDroppedTable(t, pass, work)
	if got := count("before-xid", "--target-xid", strconv.FormatUint(uint64(xid), 10), "--target-exclusive"); got != 3000 {
		t.Errorf("--target-xid %d --target-exclusive: %d rows, want the 3000 from just before the DELETE", xid, got)
	}
	if got := count("at-commit-time", "--target-time", at.UTC().Format("2006-01-02 15:04:05.000000+00")); got != 1800 {
		t.Errorf("--target-time at the DELETE's commit (%s): %d rows, want 1800: the DELETE is replayed too", at, got)
	}
}

// scoutNamesTheDroppedTable: with no server to ask, --scout restores the
// base backup to a scratch copy and names the relations from its catalog:
// the DELETE's, the UPDATE's, the TRUNCATE's and the dropped table too,
// and --database finds its OID there; it leaves nothing behind: no folder,
// no server.
func scoutNamesTheDroppedTable(t *testing.T, pass []string, work string) {
	t.Helper()
	temp := filepath.Join(work, "scout-temp")
	if err := os.Mkdir(temp, 0o755); err != nil {
		t.Fatal(err)
	}
	r := pgrescue(t, nil, append(pass, "wal-inspect", "--tempdir", temp)...)
	if r.code != 0 || !strings.Contains(r.stdout, "give --dsn to name them") || strings.Contains(r.stdout, "public.bench_rows") {
		t.Fatalf("without a server or --scout, numbers and how to get names: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = pgrescue(t, nil, append(pass, "wal-inspect", "--database", "postgres")...)
	if r.code != problem.Usage.Code() || !strings.Contains(r.stderr, "add --dsn (a server that has it) or --scout") {
		t.Errorf("--database by name without a catalog: exit %d\n%s", r.code, r.stderr)
	}
	r = pgrescue(t, nil, append(pass, "wal-inspect", "--scout", "--tempdir", temp, "--database", "content_store")...)
	if r.code != problem.Usage.Code() || !strings.Contains(r.stderr, "no database of that name") || !strings.Contains(r.stderr, "postgres, template0, template1") {
		t.Errorf("--database naming no database: exit %d\n%s", r.code, r.stderr)
	}
	r = pgrescue(t, nil, append(pass, "wal-inspect", "--scout", "--tempdir", temp, "--database", "postgres")...)
	if r.code != 0 {
		t.Fatalf("wal-inspect --scout: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"public.bench_rows: 1200 deleted", "public.bench_rows: 200 updated", "public.audit_log: TRUNCATE or rewrite (its files replaced)",
		"public.old_reports: DROP (its files removed)", "relations named from the base backup base_"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("wal-inspect --scout does not say %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "scout: stopping and removing the copy") {
		t.Errorf("the scout's steps were not shown:\n%s", r.stderr)
	}
	if left, _ := os.ReadDir(temp); len(left) != 0 {
		t.Errorf("the scout left %v in %s", left, temp)
	}
	if out, _ := pgrep(temp); out != "" {
		t.Errorf("the scout's server is still running:\n%s", out)
	}
}
