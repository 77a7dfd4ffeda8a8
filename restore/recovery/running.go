package recovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// PIDFile is the name of the lock file a running PostgreSQL server keeps in
// its data directory.
const PIDFile = "postmaster.pid"

// ServerStatus is what a data directory's postmaster.pid says.
type ServerStatus struct {
	PID     int  // the process ID it records; 0 when there is no postmaster.pid
	Running bool // a process with that ID exists
	// SingleUser: the file was written by a single-user backend
	// (postgres --single), which PostgreSQL records as a negative PID; PID
	// is then the positive one. pg_ctl cannot stop such a backend.
	SingleUser bool
	// Port and SocketDir are what the server wrote on lines 4 and 5 (its
	// port and first Unix socket directory), 0 and "" when absent; they are
	// only worth using when Running.
	Port      int
	SocketDir string
}

// RunningServer is pgrescue's one rule for "is a server running on this data
// directory", used by the preflight, the fetch, the recovery settings, the
// server start and the demo. It is PostgreSQL's own, as CreateLockFile
// decides whether it may start:
//
//   - no postmaster.pid: no server;
//   - its first line is a process ID (negative for a single-user backend)
//     and a process with that ID exists (kill(pid, 0) succeeds): running;
//   - no process has that ID (ESRCH): the file is stale, left by a server
//     that died, and no obstacle: PostgreSQL replaces it when it starts.
//
// Two choices are pgrescue's, both on the side of refusing: kill failing
// with EPERM counts as running (PostgreSQL takes it as stale because it
// always runs as the data directory's owner; pgrescue may run as another
// user, and then EPERM is how the owner's server answers), and a live ID is
// taken as the server even if another program reused it (PostgreSQL would
// go on to ask whether the old shared memory segment is still attached;
// RefuseLive says how to tell by hand). A pid file that cannot be read, is
// empty or does not start with an ID is an error naming the file, so
// callers refuse rather than guess: PostgreSQL refuses those too.
func RunningServer(pgdata string) (ServerStatus, error) {
	pid, lines, err := readLockFile(filepath.Join(pgdata, PIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ServerStatus{}, nil
	}
	if err != nil {
		return ServerStatus{}, err
	}
	st := ServerStatus{PID: pid}
	if pid < 0 {
		st = ServerStatus{PID: -pid, SingleUser: true}
	}
	st.Running = processAlive(st.PID)
	// PostgreSQL's LOCK_FILE_LINE_PORT and LOCK_FILE_LINE_SOCKET_DIR
	if len(lines) >= 4 {
		st.Port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	if len(lines) >= 5 {
		st.SocketDir = strings.TrimSpace(lines[4])
	}
	return st, nil
}

// readLockFile reads a PostgreSQL lock file (postmaster.pid, or a socket's
// .s.PGSQL.<port>.lock, which have the same format): the process ID on its
// first line, negative for a single-user backend, and all its lines. A
// missing file is returned as fs.ErrNotExist.
func readLockFile(path string) (pid int, lines []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	lines = strings.Split(string(data), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid == 0 {
		return 0, nil, fmt.Errorf("%s does not start with a process ID (first line %q)", path, lines[0])
	}
	return pid, lines, nil
}

// processAlive uses kill(pid, 0): EPERM still means the process exists.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// RefuseLive refuses to touch a data directory whose server is running
// (RunningServer): changing its files under it, or starting a second server
// on it, destroys data. The refusal is a problem.DataDirInUse naming
// postmaster.pid, the PID and how to stop the server or tell that the file
// is stale; nil means no server runs there (a stale file is no obstacle).
func RefuseLive(pgdata, doing string) error {
	pidFile := filepath.Join(pgdata, PIDFile)
	st, err := RunningServer(pgdata)
	if err != nil {
		return problem.Wrap(err, problem.DataDirInUse, pidFile, "refusing to "+doing+": postmaster.pid exists but cannot be read, so a server may be running",
			"check with `pg_ctl -D "+shellcmd.Quote(pgdata)+" status`; if no server runs on it, move postmaster.pid away")
	}
	switch {
	case !st.Running:
		return nil
	case st.SingleUser:
		return problem.New(problem.DataDirInUse, pidFile,
			fmt.Sprintf("refusing to %s: a single-user PostgreSQL backend (postgres --single) is running on this data directory (PID %d)", doing, st.PID),
			fmt.Sprintf("end its session (pg_ctl cannot stop it), then run again; if `ps -p %d` shows no postgres, postmaster.pid is stale: move it away", st.PID))
	}
	return problem.New(problem.DataDirInUse, pidFile,
		fmt.Sprintf("refusing to %s: PostgreSQL is running on this data directory (PID %d)", doing, st.PID),
		fmt.Sprintf("stop it first (pg_ctl -D %s stop -m fast), then run again; if `ps -p %d` shows no postgres, postmaster.pid is stale: move it away", shellcmd.Quote(pgdata), st.PID))
}
