package recovery

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// wantKind checks err is a *problem.Error of kind and mentions every word.
func wantKind(t *testing.T, err error, kind problem.Kind, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s", kind)
	}
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is %T, not a *problem.Error", err, err)
	}
	if pe.Kind != kind {
		t.Errorf("kind %s, want %s: %v", pe.Kind, kind, err)
	}
	if pe.Next == "" {
		t.Errorf("error without a next step: %v", err)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error does not mention %q: %v", m, err)
		}
	}
}

// dbUser is the account test data directories belong to: postgres when we
// are root (PostgreSQL refuses root), else ourselves.
func dbUser(t *testing.T) Owner {
	t.Helper()
	name := "postgres"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		name = u.Username
	}
	u, err := user.Lookup(name)
	if err != nil {
		testtool.Missing(t, "user postgres", "install postgresql, which creates it")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	o, err := lookupOwner("test", uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// sharedDir makes a directory the database user can traverse and write:
// t.TempDir's parents are private to root.
func sharedDir(t *testing.T, owner Owner) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgrescue-recovery-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, owner.UID, owner.GID); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeDataDir is a data directory with only PG_VERSION, owned by the
// database user, for tests that never start a server.
func fakeDataDir(t *testing.T, version string) string {
	t.Helper()
	owner := dbUser(t)
	dir := filepath.Join(sharedDir(t, owner), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "PG_VERSION"), version+"\n")
	if os.Geteuid() == 0 {
		for _, p := range []string{dir, filepath.Join(dir, "PG_VERSION")} {
			if err := os.Chown(p, owner.UID, owner.GID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// installedVersion is the major version of the PostgreSQL on PATH, or the
// test is skipped (failed under CI) when there is none.
func installedVersion(t *testing.T) Version {
	t.Helper()
	initdb := testtool.Need(t, "initdb")
	testtool.Need(t, "pg_ctl")
	testtool.Need(t, "psql")
	v, err := binDirVersion(filepath.Dir(initdb))
	if err != nil {
		t.Fatalf("cannot tell the version of %s: %v", initdb, err)
	}
	return v
}

// walERestore makes a real data directory with initdb, as the database
// user, then takes away what WAL-E does not archive.
func walERestore(t *testing.T) (string, Version) {
	t.Helper()
	v := installedVersion(t)
	owner := dbUser(t)
	dir := filepath.Join(sharedDir(t, owner), "data")
	runAs(t, owner, "initdb", "-D", dir, "--no-sync", "--auth=peer", "--encoding=UTF8", "--locale=C")
	for _, name := range configFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, v
}

func runAs(t *testing.T, owner Owner, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = "/"
	cmd.Env = owner.env(filepath.Dir(path), nil)
	if err := owner.RunAs(cmd); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// startForTest starts srv and makes sure it is stopped when the test ends.
func startForTest(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if err := srv.Stop(context.Background(), "immediate"); err != nil {
			t.Errorf("stopping the test server: %v", err)
		}
	})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitForLog waits until the log, read from offset, contains needle, and
// returns what it read.
func waitForLog(t *testing.T, path string, offset int64, needle string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) < offset {
			t.Fatalf("the log shrank below the start offset %d", offset)
		}
		since := string(data[offset:])
		if strings.Contains(since, needle) {
			return since
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q did not appear in %s after offset %d; the log says:\n%s", needle, path, offset, since)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func psql(t *testing.T, srv *Server, sql string) string {
	t.Helper()
	out, err := srv.Psql(context.Background(), "postgres", sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileOwner(t *testing.T, path string) (uid int, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Uid), st.Mode()
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}
