// Package pgtest starts a real PostgreSQL server for a test: initdb and
// pg_ctl of the installed major in a temp dir, run as the postgres user
// when the test runs as root, listening on 127.0.0.1 and a socket of its
// own, with trust authentication. Tests reach it through libpq's usual
// settings (Env), as an engineer's psql would.
package pgtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/shellcmd"
)

// Server is a running test cluster.
type Server struct {
	Bin     string // the directory of initdb, pg_ctl and postgres
	Client  string // the directory of psql, pg_dump and pg_dumpall: Bin's when it has them
	Major   int    // the server's major version
	DataDir string
	Port    int
	User    string // the superuser
	uid     int
	gid     int
	logFile string
	options string // the server's command-line settings, for Start
}

// Start makes and starts a cluster; the test's cleanup stops it.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// Options change the cluster Start makes.
type Options struct {
	// LocalAuth is pg_hba's method on the socket: trust unless set (peer:
	// only the OS user of the role's name, as Debian's clusters have it).
	LocalAuth string
	// Durable keeps PostgreSQL's defaults a production server runs with
	// (fsync on, max_wal_size 1GB) instead of the tests' faster settings:
	// for benchmarks, whose figures must hold on a real server.
	Durable bool
	// Bin is the server programs' directory (pgbin.Get's, for another
	// major than the installed one); "" is the initdb on PATH. When it has
	// no psql or pg_dump (the npm packages), the ones on PATH are used:
	// libpq's clients talk to every server version.
	Bin string
	// WALSegmentMB is initdb's --wal-segsize (11+); 0 is the default 16.
	WALSegmentMB int
	// Settings are more of the server's settings, "name=value", given on
	// its command line (archive_mode, archive_command…).
	Settings []string
}

// StartWith makes and starts a cluster with opts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	// The installed PostgreSQL's directory, with its client programs.
	installed := filepath.Dir(realPath(testtool.Need(t, "initdb")))
	s := &Server{Bin: opts.Bin, User: "postgres", uid: os.Geteuid(), gid: os.Getegid()}
	if s.Bin == "" {
		s.Bin = installed
	}
	s.Client = s.Bin
	if _, err := os.Stat(filepath.Join(s.Bin, "psql")); err != nil {
		s.Client = installed
	}
	for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(s.Bin, tool)); err != nil {
			testtool.Missing(t, tool, "install the postgresql package")
		}
	}
	for _, tool := range []string{"psql", "pg_dump", "pg_dumpall"} {
		if _, err := os.Stat(filepath.Join(s.Client, tool)); err != nil {
			testtool.Missing(t, tool, "install the postgresql package")
		}
	}
	if s.uid == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testtool.Missing(t, "postgres user", "install the postgresql package, which creates it")
		}
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
	}
	work := t.TempDir()
	// the server's user enters it (t.TempDir makes both levels 0700)
	os.Chmod(filepath.Dir(work), 0o755)
	os.Chmod(work, 0o755)
	s.DataDir = filepath.Join(work, "data")
	s.logFile = filepath.Join(work, "server.log")
	s.mkdir(t, s.DataDir)
	if f, err := os.Create(s.logFile); err == nil {
		f.Close()
		os.Chown(s.logFile, s.uid, s.gid)
	}
	s.Port = testtool.FreePort(t)
	local := opts.LocalAuth
	if local == "" {
		local = "trust"
	}
	initdb := []string{"-D", s.DataDir, "-U", s.User, "--auth-local=" + local, "--auth-host=trust", "-E", "UTF8", "--locale=C", "--no-sync"}
	if opts.WALSegmentMB > 0 {
		initdb = append(initdb, "--wal-segsize="+strconv.Itoa(opts.WALSegmentMB))
	}
	s.Run(t, "initdb", initdb...)
	serverOpts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(s.Port),
		"-c unix_socket_directories=" + s.DataDir,
	}, " ")
	if !opts.Durable {
		serverOpts += " -c fsync=off -c max_wal_size=4GB"
	}
	for _, setting := range opts.Settings {
		serverOpts += " -c " + shellcmd.Quote(setting)
	}
	s.options = serverOpts
	s.Start(t)
	t.Cleanup(func() { s.command("pg_ctl", "stop", "-D", s.DataDir, "-m", "immediate", "-w").Run() })
	num, err := strconv.Atoi(s.PSQL(t, "postgres", "SHOW server_version_num"))
	if err != nil {
		t.Fatalf("server_version_num: %v", err)
	}
	s.Major = num / 10000
	return s
}

// Start starts the cluster again after Stop, with the same settings.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.Run(t, "pg_ctl", "start", "-D", s.DataDir, "-l", s.logFile, "-w", "-t", "60", "-o", s.options)
}

// Stop shuts the cluster down cleanly (fast), as an engineer would before
// an offline backup.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.Run(t, "pg_ctl", "stop", "-D", s.DataDir, "-m", "fast", "-w", "-t", "60")
}

// realPath follows a program's symlinks (Debian's PATH holds links to
// /usr/lib/postgresql/N/bin).
func realPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

func (s *Server) mkdir(t testing.TB, dir string) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, s.uid, s.gid)
}

// command runs one of the server's programs as the cluster's owner.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	dir := s.Bin
	if name == "psql" || name == "pg_dump" || name == "pg_dumpall" {
		dir = s.Client
	}
	cmd := exec.Command(filepath.Join(dir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.uid != os.Geteuid() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid)}}
		cmd.Dir = "/"
	}
	return cmd
}

// Run runs a program of the server's installation and returns its output.
func (s *Server) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := s.command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\nlog: %s", name, strings.Join(args, " "), err, out, s.LogTail())
	}
	return string(out)
}

// Env is the libpq environment that reaches the server over TCP.
func (s *Server) Env() []string {
	return []string{"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(s.Port), "PGUSER=" + s.User}
}

// PSQL runs SQL in db and returns its unaligned, tuples-only output.
func (s *Server) PSQL(t testing.TB, db, sql string) string {
	t.Helper()
	return strings.TrimSpace(s.Run(t, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", db, "-c", sql))
}

// Dump runs pg_dump with autopostgresqlbackup's options (plain SQL, --create
// unless told otherwise) and returns the SQL.
func (s *Server) Dump(t testing.TB, db string, extra ...string) []byte {
	t.Helper()
	args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", s.User}, extra...)
	out, err := s.command("pg_dump", append(args, db)...).Output()
	if err != nil {
		t.Fatalf("pg_dump %s: %v", db, err)
	}
	return out
}

// DumpGlobals runs pg_dumpall --globals-only, as autopostgresqlbackup does
// for its postgres_globals pseudo-database.
func (s *Server) DumpGlobals(t testing.TB) []byte {
	t.Helper()
	out, err := s.command("pg_dumpall", "--globals-only", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", s.User).Output()
	if err != nil {
		t.Fatalf("pg_dumpall --globals-only: %v", err)
	}
	return out
}

// Databases lists the cluster's databases, for tests that check nothing
// was dropped or left behind.
func (s *Server) Databases(t testing.TB) []string {
	t.Helper()
	return strings.Fields(s.PSQL(t, "postgres", "SELECT datname FROM pg_database ORDER BY 1"))
}

// LogTail is the end of the server's log.
func (s *Server) LogTail() string {
	data, _ := os.ReadFile(s.logFile)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(data)
}
