package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/restore/recovery"
)

// restoreDir returns a path for a data directory that the postgres user
// can reach: t.TempDir's parents are private to root.
func restoreDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for dir := base; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		os.Chmod(dir, 0o755)
	}
	return filepath.Join(base, "restore")
}

var connectLine = regexp.MustCompile(`psql -h (\S+) -p (\d+) -U (\S+)`)

// runningServer reads where replay left the server from its summary, and
// stops it at the end of the test.
func runningServer(t *testing.T, pgdata, summary string) *recovery.Server {
	t.Helper()
	m := connectLine.FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no connection line in the summary:\n%s", summary)
	}
	port, _ := strconv.Atoi(m[2])
	s := &recovery.Server{DataDir: pgdata, Port: port, SocketDir: m[1]}
	t.Cleanup(func() {
		if err := s.Stop(context.Background(), "fast"); err != nil {
			t.Errorf("stopping the restored server: %v", err)
		}
	})
	return s
}

func countRows(t *testing.T, s *recovery.Server) int {
	t.Helper()
	m := walefixture.ReadManifest(t)
	out, err := s.Psql(context.Background(), m.Postgres.Database, m.Postgres.CountQuery)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("count: %q", out)
	}
	return n
}

func needPostgres(t *testing.T) {
	testtool.Need(t, "pg_ctl")
	testtool.Need(t, "psql")
	if os.Geteuid() == 0 {
		if _, err := recovery.OwnerOf("/var/lib/postgresql"); err != nil {
			testtool.Missing(t, "postgres user", "install the postgresql package, which creates it")
		}
	}
}

// TestReplayToEveryTargetOfTheFixture restores the real WAL-E archive with
// backup-fetch and replays it with a real PostgreSQL 15 to each of the five
// moments in its manifest and to the end, from each backup the manifest
// names: the row count must match every time.
func TestReplayToEveryTargetOfTheFixture(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	m := walefixture.ReadManifest(t)
	type run struct {
		name, backup, target string
		rows                 int
	}
	var runs []run
	for _, p := range m.PITRPoints {
		runs = append(runs, run{"after_batch_" + strconv.Itoa(p.AfterBatch), p.RestoreFromBackup, p.RFC3339, p.ExpectedRows})
	}
	for _, b := range []string{"base_000000010000000000000012_00000012", m.Latest} {
		runs = append(runs, run{"end_from_" + b, b, "", m.Final.ExpectedRows})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			pgdata := restoreDir(t)
			args := append([]string{"--envdir", envdir}, keyArgs(t)...)
			if res := pgrescue(t, nil, append(args, "backup-fetch", pgdata, r.backup)...); res.code != 0 {
				t.Fatalf("backup-fetch: %+v", res)
			}
			replayArgs := append(args, "replay", "--pgdata", pgdata)
			if r.target != "" {
				replayArgs = append(replayArgs, "--target-time", r.target)
			}
			res := pgrescue(t, nil, replayArgs...)
			if res.code != 0 {
				t.Fatalf("replay exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			}
			s := runningServer(t, pgdata, res.stdout)
			if got := countRows(t, s); got != r.rows {
				t.Errorf("%d rows, want %d\n%s", got, r.rows, res.stderr)
			}
			for _, want := range []string{"== consistent", "== redo done", "== promoted", "== ready", "log: ", "replay 100.0%"} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
				}
			}
			if r.target != "" && !strings.Contains(res.stdout, "recovery stopped before commit") {
				t.Errorf("summary does not say where recovery stopped:\n%s", res.stdout)
			}
			// The recovery settings are gone once recovery has finished.
			auto, _ := os.ReadFile(filepath.Join(pgdata, "postgresql.auto.conf"))
			if strings.Contains(string(auto), "restore_command") {
				t.Errorf("restore_command left in postgresql.auto.conf:\n%s", auto)
			}
		})
	}
	_ = time.Second
}
