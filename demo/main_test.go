package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// binary is pgrescue itself, for archive_command and the restores. It is
// built in a directory private to us, so a run as root also exercises the
// copy Build makes for the postgres user.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pgrescue-demo-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pgrescue")
	build := exec.Command("go", "build", "-o", binary, "pgrescue")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as `make build` builds it
	if out, err := build.CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needPostgreSQL skips (fails under CI) a test that builds a sandbox when
// PostgreSQL or, as root, the postgres user is missing.
func needPostgreSQL(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"initdb", "pg_ctl", "psql"} {
		testtool.Need(t, tool)
	}
	if _, err := clusterOwner(); err != nil {
		testtool.Missing(t, "postgres user", "install the postgresql package, which creates it")
	}
}

// buildSandbox builds one, closed at the end of the test, and logs how
// long the build took: the issue promises well under a minute.
func buildSandbox(t *testing.T, opts Options) (*Sandbox, []Progress) {
	t.Helper()
	opts.Executable = binary
	var steps []Progress
	began := time.Now()
	sb, err := Build(t.Context(), opts, func(p Progress) { steps = append(steps, p) })
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	t.Logf("%s sandbox built in %s (%d steps) in %s", sb.Scenario.Name, time.Since(began).Round(100*time.Millisecond), len(steps)-1, sb.Dir)
	if took := time.Since(began); took > time.Minute {
		t.Errorf("the build took %s, more than the minute the issue allows", took)
	}
	return sb, steps
}

// reachableDir is a temporary directory the postgres user can reach:
// t.TempDir's parents are private to root.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return dir
}

// passphraseFile holds the sandbox's passphrase, as an engineer would save
// what the secrets store gave them.
func passphraseFile(t *testing.T, sb *Sandbox) string {
	t.Helper()
	path := filepath.Join(reachableDir(t), "passphrase")
	if err := os.WriteFile(path, []byte(sb.Passphrase+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var connectLine = regexp.MustCompile(`psql -h (\S+) -p (\d+) -U (\S+)`)

// restored is where a restore left its server running.
type restored struct {
	socketDir string
	port      int
	user      string
}

// restoreWithPgrescue runs the whole restore as an engineer would without
// the wizard, and reads where the server runs from its summary. target is
// the target's flags (--target-time T, or --target-xid X
// --target-exclusive); none is the end of the archive.
func restoreWithPgrescue(t *testing.T, sb *Sandbox, passFile, pgdata string, target ...string) restored {
	t.Helper()
	args := []string{"--envdir", sb.Envdir, "--gpg-passphrase-file", passFile, "restore", "wal-e", "--pgdata", pgdata, "--yes"}
	args = append(args, target...)
	if _, err := os.Stat(pgdata); err == nil {
		args = append(args, "--move-aside")
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("pgrescue %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	m := connectLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no connection line in the restore's summary:\n%s", stdout.String())
	}
	port, _ := strconv.Atoi(m[2])
	t.Logf("restore to %q took %s", strings.Join(target, " "), time.Since(began).Round(100*time.Millisecond))
	return restored{socketDir: m[1], port: port, user: m[3]}
}

// sandboxProcesses lists the processes working in dir or naming a path in
// it on their command line: what Close must leave none of.
func sandboxProcesses(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		cwd, _ := os.Readlink("/proc/" + e.Name() + "/cwd")
		inside := strings.HasPrefix(cwd, dir+"/") || cwd == dir
		for _, a := range args {
			inside = inside || strings.HasPrefix(a, dir+"/")
		}
		if inside {
			found = append(found, e.Name()+": "+strings.Join(args, " "))
		}
	}
	return found
}

// waitNoProcesses allows the postmaster's children a moment to exit
// after pg_ctl stop returned.
func waitNoProcesses(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := sandboxProcesses(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the sandbox still run after Close:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUnknownScenario(t *testing.T) {
	_, err := FindScenario("flood")
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.Usage {
		t.Fatalf("FindScenario(flood) = %v, want a usage problem", err)
	}
	for _, s := range Scenarios {
		if !strings.Contains(err.Error(), s.Name) {
			t.Errorf("the error does not list %q: %v", s.Name, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "sandbox")
	if _, err := Build(context.Background(), Options{Scenario: "flood", Dir: dir}, nil); problem.KindOf(err) != problem.Usage {
		t.Fatalf("Build with an unknown scenario: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("Build made the folder of a sandbox it could not build")
	}
	if s, err := FindScenario(""); err != nil || s.Name != "accident" || Scenarios[1].Name != "disk-lost" {
		t.Errorf("the default scenario is %q (%v); the scenarios are %v", s.Name, err, Scenarios)
	}
	if s, err := FindScenario("Disk-Lost"); err != nil || s.Name != "disk-lost" {
		t.Errorf("FindScenario(Disk-Lost) = %v, %v", s, err)
	}
}

func TestNoPostgreSQLGivesTheInstallCommand(t *testing.T) {
	fake := t.TempDir()
	// A client-only installation: psql, but no server programs.
	bin := filepath.Join(fake, "15", "bin")
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "psql"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	saved := binarySearchGlobs
	binarySearchGlobs = []string{filepath.Join(fake, "*", "bin")}
	t.Cleanup(func() { binarySearchGlobs = saved })
	t.Setenv("PATH", t.TempDir())

	dir := filepath.Join(t.TempDir(), "sandbox")
	_, err := Build(context.Background(), Options{Dir: dir, Executable: binary}, nil)
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.Config {
		t.Fatalf("Build without PostgreSQL = %v, want a config problem", err)
	}
	if !strings.Contains(pe.Next, "sudo apt-get install postgresql") {
		t.Errorf("the next step does not give the install command: %q", pe.Next)
	}
	if !strings.Contains(err.Error(), bin+" has no initdb") {
		t.Errorf("the error does not say what was found: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("Build made the folder of a sandbox it could not build")
	}
}
