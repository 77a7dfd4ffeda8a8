package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/internal/walefixture"
)

// oldCluster puts a stand-in for the cluster being replaced in dir: the
// restore must move it aside intact.
func oldCluster(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("15\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "old-cluster-marker"), []byte("keep me"), 0o600)
}

func movedAside(t *testing.T, pgdata string) []string {
	t.Helper()
	aside, _ := filepath.Glob(pgdata + ".pgrescue-*")
	var kept []string
	for _, dir := range aside {
		if data, err := os.ReadFile(filepath.Join(dir, "old-cluster-marker")); err == nil && string(data) == "keep me" {
			kept = append(kept, dir)
		}
	}
	return kept
}

// TestRestoreWALEToTheThirdTarget is the wizard's restore as one command,
// with a real PostgreSQL 15: preflight, plan, move aside, fetch, replay.
func TestRestoreWALEToTheThirdTarget(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	m := walefixture.ReadManifest(t)
	point := m.PITRPoints[2]
	pgdata := restoreDir(t)
	oldCluster(t, pgdata)
	args := append(append([]string{"--envdir", envdir}, keyArgs(t)...), "restore", "wal-e", "--pgdata", pgdata,
		"--target-time", point.RFC3339, "--move-aside", "--yes")
	res := pgrescue(t, nil, args...)
	if res.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	s := runningServer(t, pgdata, res.stdout)
	if got := countRows(t, s); got != point.ExpectedRows {
		t.Errorf("%d rows, want %d", got, point.ExpectedRows)
	}
	if kept := movedAside(t, pgdata); len(kept) != 1 {
		t.Errorf("the old data directory was not kept intact beside %s", pgdata)
	}
	for _, want := range []string{
		"[ OK ] WAL-E settings found: WALE_S3_PREFIX=s3://wale-fixtures/pg15-primary (from envdir",
		"[WARN] The archive's GPG key:", "[WARN] PostgreSQL stopped on the data directory:",
		"[ OK ] WAL continuity to the target", "== Fetch base backup " + point.RestoreFromBackup, "== promoted",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	for _, want := range []string{"# 1. Move the data directory", "[changes what is on disk]", "# 3. Start PostgreSQL in recovery",
		"the old data directory is kept at " + pgdata + ".pgrescue-", "next: Standbys: replication may fail", "pgrescue gpg restore-passphrase"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
}

// Without --yes, or with --dry-run, or when a check fails, nothing changes.
func TestRestoreWALERunsNothingWithoutConsent(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		says  string
	}{
		{"no --yes", []string{"--move-aside"}, 3, "nothing was run: the plan above needs your go-ahead"},
		{"dry run", []string{"--move-aside", "--yes", "--dry-run"}, 0, "# plan: restore"},
		{"no --move-aside", []string{"--yes"}, 16, "[FAIL] PostgreSQL stopped on the data directory: the data directory is not empty"},
		{"target before the backups", []string{"--move-aside", "--yes", "--target-time", "2020-01-01 00:00:00+00"}, 8, "[FAIL] S3 reachable and the archive listed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgdata := filepath.Join(t.TempDir(), "main")
			oldCluster(t, pgdata)
			before := listTree(t, filepath.Dir(pgdata))
			args := append(append([]string{"--envdir", envdir}, keyArgs(t)...), "restore", "wal-e", "--pgdata", pgdata)
			res := pgrescue(t, nil, append(args, tc.flags...)...)
			if res.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", res.code, tc.code, res.stderr)
			}
			if !strings.Contains(res.stdout+res.stderr, tc.says) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.says, res.stdout, res.stderr)
			}
			if after := listTree(t, filepath.Dir(pgdata)); after != before {
				t.Errorf("files changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestRestoreWithALockedKeyChangesNothing: a protected key and no
// passphrase used to move the cluster aside, leave an empty main, then
// fail with exit 11. The key is now checked on the first partition before
// anything moves: the cluster stays exactly where and as it was.
func TestRestoreWithALockedKeyChangesNothing(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	pgdata := restoreDir(t)
	oldCluster(t, pgdata)
	before := dirListing(t, filepath.Dir(pgdata))
	res := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", keyArgs(t)[1], "restore", "wal-e", "--pgdata", pgdata, "--move-aside", "--yes")
	if res.code != 11 || !strings.Contains(res.stderr, "passphrase") {
		t.Fatalf("exit %d, want 11 (passphrase needed)\nstderr:\n%s", res.code, res.stderr)
	}
	if after := dirListing(t, filepath.Dir(pgdata)); after != before {
		t.Errorf("the restore changed the directory before failing:\nbefore %s\nafter  %s", before, after)
	}
	if data, err := os.ReadFile(filepath.Join(pgdata, "old-cluster-marker")); err != nil || string(data) != "keep me" {
		t.Errorf("the old cluster is not where it was: %v", err)
	}
}

// dirListing is dir's entries and theirs, one level down, as one string.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
		if e.IsDir() {
			sub, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			for _, s := range sub {
				names = append(names, e.Name()+"/"+s.Name())
			}
		}
	}
	return strings.Join(names, " ")
}
