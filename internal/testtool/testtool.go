// Package testtool lets end-to-end tests use real binaries (lzop, gpg, gpg1,
// postgres, tmux, duplicity) and say so when one is missing. A developer's
// run skips such a test with "missing tool: NAME"; CI sets
// PGRESCUE_REQUIRE_TOOLS=1 so a missing tool fails the run instead of
// silently testing less.
package testtool

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// RequireEnv is the variable that turns missing-tool skips into failures.
const RequireEnv = "PGRESCUE_REQUIRE_TOOLS"

// Need returns the path of a binary, or skips (fails under CI) the test.
// A test that needs a real program is an end-to-end test: the fast loop
// (go test -short) skips it.
func Need(t testing.TB, name string) string {
	t.Helper()
	EndToEnd(t)
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	Missing(t, name, "install it with: sudo apt-get install "+debianPackage(name))
	return ""
}

// EndToEnd skips a test that drives real programs (PostgreSQL, gpg, lzop,
// tmux, sshd) or the built binary when go test runs with -short, the
// fast loop; make test and CI run it.
func EndToEnd(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped by go test -short (make test runs it)")
	}
}

// Missing reports a tool that is absent.
func Missing(t testing.TB, name, hint string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("missing tool: %s (%s); %s is set, so this fails instead of skipping", name, hint, RequireEnv)
	}
	t.Skipf("missing tool: %s (%s)", name, hint)
}

func debianPackage(tool string) string {
	switch tool {
	case "gpg", "gpgconf", "gpg-connect-agent":
		return "gnupg"
	case "gpg1":
		return "gnupg1"
	case "setpriv":
		return "util-linux"
	case "chattr":
		return "e2fsprogs"
	case "postgres", "initdb", "pg_ctl", "pg_controldata":
		return "postgresql"
	}
	return tool // lzop, tmux, duplicity, time, curl: the package has the tool's name
}

// DeadPID is a process ID no process has: one above the kernel's pid_max,
// which kill(pid, 0) answers with ESRCH. It stands for the PID in a stale
// postmaster.pid left by a server that died.
func DeadPID(t testing.TB) int {
	t.Helper()
	data, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 1<<22 + 1 // the largest pid_max Linux allows, plus one
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid_max: %q", data)
	}
	return max + 1
}

// FreePort asks the kernel for a port nothing listens on, for a server a
// test starts on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
