package recovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// Server starts and stops PostgreSQL on a restored data directory, with
// plain pg_ctl or, for a Debian cluster, pg_ctlcluster. Zero fields get safe
// defaults when the server is prepared. A Server is not safe for concurrent
// use.
type Server struct {
	DataDir string
	Version Version // zero: read from PG_VERSION
	BinDir  string  // "": FindBinaries(Version)
	Owner   Owner   // zero (no Name): the data directory's owner
	// Port is 0 for the first port from 54320 that no server uses; with a
	// Debian cluster it must be the cluster's own (see resolveCluster).
	Port int
	// SocketDir is "" for a new directory under /tmp that only the owner can
	// enter, so nothing else can connect while recovery runs.
	SocketDir string
	// LogFile is "" for <DataDir>.pgrescue.log beside the data directory;
	// with a Debian cluster it is the cluster's log.
	LogFile string
	// Cluster, when set, starts the data directory as that Debian cluster.
	Cluster *Cluster
	// ExtraEnv is added to the server's otherwise minimal environment;
	// restore_command inherits it (e.g. AWS_PROFILE=restore).
	ExtraEnv []string

	resolved      bool
	portChosen    bool // Port was picked by pgrescue, not given
	ownSocketDir  bool // SocketDir is pgrescue's private directory
	socketCreated bool
	logOffset     int64
}

// StartOption is one setting passed on the postmaster command line, where it
// overrides every configuration file.
type StartOption struct {
	Name, Value string
	Why         string
}

// Arg renders the option as the postmaster takes it inside pg_ctl -o.
func (o StartOption) Arg() string { return "-c " + o.Name + "=" + shellcmd.Quote(o.Value) }

// howToUndo is said of the options that change how the server behaves
// after recovery: pg_ctl restart would keep them.
const howToUndo = "; to drop it, stop the server and start it again without pgrescue (pg_ctl start, not pg_ctl restart, which reuses the options recorded in postmaster.opts)"

// StartOptions lists the settings Start passes on the command line. Port
// and socket directory are filled in by Prepare (or Commands), so callers
// can tell the user, for instance, that archive_mode is off and how to turn
// it back on.
func (s *Server) StartOptions() []StartOption {
	opts := []StartOption{
		{"lc_messages", "C", "untranslated log messages, so pgrescue can follow recovery"},
		{"log_line_prefix", "%m [%p] ", "a known log line prefix (time and PID), so pgrescue can follow recovery"},
		{"archive_mode", "off", "so the restored server cannot push a new timeline into the production archive" + howToUndo},
		{"port", strconv.Itoa(s.Port), "a port no other server uses"},
		{"unix_socket_directories", s.SocketDir, "a socket directory of its own"},
	}
	if s.Cluster == nil {
		opts = append(opts, StartOption{"listen_addresses", "", "no TCP connections: only the owner, through the socket" + howToUndo})
	}
	// Hot standby checks that max_connections and four other settings are
	// at least the primary's; WAL-E restores come with no postgresql.conf,
	// so the defaults would fail recovery (10-13) or pause it (14+). Replay
	// is followed in the log, so read-only connections are not needed.
	opts = append(opts, StartOption{"hot_standby", "off", "no read-only connections during recovery, so settings lower than the primary's cannot stop it"})
	if s.Version.HasProgressLines() {
		opts = append(opts, StartOption{"log_startup_progress_interval", "1s", "a \"redo in progress\" line every second"})
	}
	return opts
}

func (s *Server) postgresOptions() string {
	args := make([]string, 0, 8)
	for _, o := range s.StartOptions() {
		args = append(args, o.Arg())
	}
	return strings.Join(args, " ")
}

// LogOffset is the size the log had just before Start: this start's lines
// begin there.
func (s *Server) LogOffset() int64 { return s.logOffset }

// resolve fills in the defaults that need no side effects.
func (s *Server) resolve() error {
	if s.resolved {
		return nil
	}
	var err error
	if s.DataDir, err = absDataDir(s.DataDir); err != nil {
		return err
	}
	if s.Version == (Version{}) {
		if s.Version, err = ReadVersion(s.DataDir); err != nil {
			return err
		}
	}
	if s.Owner.Name == "" {
		if s.Owner, err = OwnerOf(s.DataDir); err != nil {
			return err
		}
	}
	if s.Cluster != nil {
		if err := s.resolveCluster(); err != nil {
			return err
		}
	}
	if s.BinDir == "" {
		if s.BinDir, err = FindBinaries(s.Version); err != nil {
			return err
		}
	}
	if err := s.resolveLogFile(); err != nil {
		return err
	}
	s.resolved = true
	return nil
}

func (s *Server) resolveLogFile() error {
	if s.LogFile == "" {
		s.LogFile = s.DataDir + ".pgrescue.log"
	}
	abs, err := filepath.Abs(s.LogFile)
	if err != nil {
		return problem.Wrap(err, problem.Usage, s.LogFile, "bad log file path", "give the log file as an absolute path")
	}
	s.LogFile = abs
	// pg_ctl puts both paths in double quotes inside a shell command.
	for _, p := range []string{s.DataDir, s.LogFile} {
		if strings.ContainsAny(p, "\"$`\\") {
			return problem.New(problem.Usage, p, "pg_ctl cannot take a path containing \" $ ` or \\", "use a path without them (rename or symlink the directory)")
		}
	}
	return nil
}

// resolveCluster takes the port, socket directory and log from the Debian
// cluster's configuration. They cannot be overridden: pg_ctlcluster checks
// that the server came up on the cluster's configured socket and would
// report a start elsewhere as a failure while the server runs on.
func (s *Server) resolveCluster() error {
	c := *s.Cluster
	if c.Version != s.Version.String() {
		return problem.New(problem.Usage, "cluster "+c.String(), fmt.Sprintf("cluster %s is for PostgreSQL %s but the data directory holds %s", c, c.Version, s.Version),
			"name the cluster of the data directory's version (pg_lsclusters lists them)")
	}
	cs, err := c.settings()
	if err != nil {
		return err
	}
	want, _ := canonicalDir(s.DataDir)
	if got, _ := canonicalDir(cs.DataDir); got != want {
		return problem.New(problem.Usage, "cluster "+c.String(), fmt.Sprintf("cluster %s uses the data directory %s, not %s", c, cs.DataDir, s.DataDir),
			"restore into the cluster's data directory, or leave the cluster out to start the data directory with pg_ctl")
	}
	conf := filepath.Join(c.ConfigDir(), "postgresql.conf")
	if err := clusterFixed("port", strconv.Itoa(s.Port), strconv.Itoa(cs.Port), s.Port == 0, conf, c); err != nil {
		return err
	}
	if err := clusterFixed("unix_socket_directories", s.SocketDir, cs.SocketDir, s.SocketDir == "", conf, c); err != nil {
		return err
	}
	if err := clusterFixed("log file", s.LogFile, c.LogFile(), s.LogFile == "", conf, c); err != nil {
		return err
	}
	s.Port, s.SocketDir, s.LogFile = cs.Port, cs.SocketDir, c.LogFile()
	return nil
}

func clusterFixed(name, given, configured string, unset bool, conf string, c Cluster) error {
	if unset || given == configured {
		return nil
	}
	return problem.New(problem.Usage, name, fmt.Sprintf("cluster %s uses %s %s; pg_ctlcluster cannot start it with %s", c, name, configured, given),
		fmt.Sprintf("leave the %s out, or change it in %s first (pg_conftool %s %s set …)", name, conf, c.Version, c.Name))
}

// FillDefaults fills in every default without changing anything: binaries,
// owner, log file, the name of the private socket directory and a free
// port. Prepare (and Start) then create exactly what it named.
func (s *Server) FillDefaults() error { return s.fillDefaults() }

// fillDefaults adds the defaults a dry run can show without changing anything: the
// name of the private socket directory and a free port.
func (s *Server) fillDefaults() error {
	if err := s.resolve(); err != nil {
		return err
	}
	if s.SocketDir == "" {
		s.SocketDir, s.ownSocketDir = newPrivateSocketDirName(), true
	}
	if !filepath.IsAbs(s.SocketDir) {
		return problem.New(problem.Usage, s.SocketDir, "the socket directory must be an absolute path", "give it as an absolute path, or leave it out for a private one under /tmp")
	}
	if s.Port == 0 {
		port, err := choosePort(s.SocketDir)
		if err != nil {
			return err
		}
		s.Port, s.portChosen = port, true
	}
	return checkSocketDir(s.SocketDir, s.Port)
}

// Prepare fills in every default, creating the private socket directory.
// Start calls it; call it first to learn the port, socket directory and log
// file before starting.
func (s *Server) Prepare() error {
	if err := s.fillDefaults(); err != nil {
		return err
	}
	if s.ownSocketDir && !s.socketCreated {
		if err := s.createPrivateSocketDir(); err != nil {
			return err
		}
	}
	if s.portChosen && (usedInAny([]string{s.SocketDir, debianSocketDir, "/tmp"}, s.Port) || !tcpFree(s.Port)) {
		s.Port, s.portChosen = 0, false // taken since it was planned: choose again
		return s.fillDefaults()
	}
	return nil
}

// createPrivateSocketDir creates the planned directory, or another fresh
// name should the planned one have been taken meanwhile.
func (s *Server) createPrivateSocketDir() error {
	for tries := 0; ; tries++ {
		err := makePrivateSocketDir(s.SocketDir, s.Owner)
		if err == nil {
			s.socketCreated = true
			return nil
		}
		if !errors.Is(err, fs.ErrExist) || tries == 5 {
			return problem.Wrap(err, problem.LocalIO, s.SocketDir, "cannot create a private socket directory for "+s.Owner.Name,
				"check /tmp is writable, or give a socket directory the owner can write")
		}
		s.SocketDir = newPrivateSocketDirName()
	}
}

// Start starts PostgreSQL in the background and returns without waiting:
// recovery can take hours, so the caller follows the log from LogOffset.
// It refuses a data directory with a live postmaster.pid. After a failed
// start, Stop removes the private socket directory.
func (s *Server) Start(ctx context.Context) error {
	if err := s.resolve(); err != nil {
		return err
	}
	if err := RefuseLive(s.DataDir, "start PostgreSQL"); err != nil {
		return err
	}
	if err := s.Owner.refuseRootOwner(s.DataDir); err != nil {
		return err
	}
	if err := s.Prepare(); err != nil {
		return err
	}
	if err := s.refusePortInUse(); err != nil {
		return err
	}
	offset, err := s.openLog()
	if err != nil {
		return err
	}
	s.logOffset = offset
	out, err := s.runAsOwner(ctx, s.startArgv())
	var explained *problem.Error
	if errors.As(err, &explained) {
		return err // could not even run the command: already says why
	}
	if err != nil {
		return s.startFailed(ctx, out, err)
	}
	return nil
}

// refusePortInUse catches a port taken by a live server before PostgreSQL
// fails on it, with the fix. pg_ctlcluster does its own check.
func (s *Server) refusePortInUse() error {
	if s.Cluster != nil {
		return nil
	}
	lock := socketPath(s.SocketDir, s.Port) + ".lock"
	pid, _, err := readLockFile(lock) // the rule of RunningServer, for the socket's lock file
	if err != nil {
		return nil
	}
	if pid = max(pid, -pid); processAlive(pid) {
		return problem.New(problem.Usage, lock, fmt.Sprintf("port %d is in use in %s by PID %d", s.Port, s.SocketDir, pid),
			"give another port, or leave it out to pick a free one")
	}
	return nil
}

// openLog makes sure the owner can append to the log (pg_ctl opens it as
// the owner) and returns its size before this start.
func (s *Server) openLog() (int64, error) {
	if s.Cluster != nil {
		st, err := os.Stat(s.LogFile) // pg_ctlcluster creates it
		if err != nil {
			return 0, nil
		}
		return st.Size(), nil
	}
	f, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, privateFileMode)
	if err != nil {
		return 0, problem.Wrap(err, problem.LocalIO, s.LogFile, "cannot create the server log", "give a log file in a directory you may write to")
	}
	defer f.Close()
	if err := chownToOwner(f, s.Owner); err != nil {
		return 0, problem.Wrap(err, problem.LocalIO, s.LogFile, "cannot give the server log to "+s.Owner.Name, "give a log file on a file system that allows chown")
	}
	st, err := f.Stat()
	if err != nil {
		return 0, problem.Wrap(err, problem.LocalIO, s.LogFile, "cannot read the server log", "check its permissions")
	}
	return st.Size(), nil
}

func (s *Server) startFailed(ctx context.Context, out []byte, err error) error {
	detail := strings.TrimSpace(string(out))
	if tail := logTail(s.LogFile, s.logOffset, 2048); tail != "" {
		detail += "; the server log says: " + tail
	}
	kind := problem.Unknown
	if ctx.Err() != nil {
		kind = problem.Interrupted
	}
	return &problem.Error{Kind: kind, Subject: s.LogFile, Summary: "PostgreSQL did not start", Detail: detail, Err: err,
		Next: "read this start's part of the server log: " + s.followLogLine(s.logOffset)}
}

// logTail returns up to max bytes from the end of path, reading no earlier
// than offset.
func logTail(path string, offset, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size()-max > offset {
		offset = st.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(f, max))
	return strings.TrimSpace(string(data))
}

// pgCtl is the pg_ctl of the data directory's version.
func (s *Server) pgCtl() string { return filepath.Join(s.BinDir, "pg_ctl") }

// startArgv is the start command; -W because pg_ctl 10+ otherwise waits at
// most 60 s and reports a long recovery as a failed start (so would
// pg_ctlcluster, which instead checks the socket itself).
func (s *Server) startArgv() []string {
	if c := s.Cluster; c != nil {
		return []string{"pg_ctlcluster", c.Version, c.Name, "start", "--", "-W", "-o", s.postgresOptions()}
	}
	return []string{s.pgCtl(), "start", "-D", s.DataDir, "-l", s.LogFile, "-W", "-o", s.postgresOptions()}
}

// stopTimeout bounds pg_ctl's wait: a shutdown during recovery waits for the
// restore_command in progress, which may be a slow download.
const stopTimeout = "300"

func (s *Server) stopArgv(mode string) []string {
	if c := s.Cluster; c != nil {
		return []string{"pg_ctlcluster", "-m", mode, c.Version, c.Name, "stop"}
	}
	return []string{s.pgCtl(), "stop", "-D", s.DataDir, "-m", mode, "-w", "-t", stopTimeout}
}

// runAsOwner runs argv as the data directory's owner, in its own session
// (so a ctrl+c meant for pgrescue does not reach the server), from / (the
// owner may not be allowed into our working directory), with the minimal
// environment.
func (s *Server) runAsOwner(ctx context.Context, argv []string, extraEnv ...string) ([]byte, error) {
	cmd := s.ownerCommand(ctx, argv, extraEnv...)
	if cmd.Err != nil {
		return nil, problem.Wrap(cmd.Err, problem.Config, argv[0], argv[0]+" is not installed",
			"install it (pg_ctlcluster: sudo apt-get install postgresql-common), or leave the Debian cluster out to use pg_ctl")
	}
	if err := s.Owner.RunAs(cmd); err != nil {
		return nil, err
	}
	return cmd.CombinedOutput()
}

func (s *Server) ownerCommand(ctx context.Context, argv []string, extraEnv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = append(s.Owner.env(s.BinDir, s.ExtraEnv), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second // never hang on a pipe a daemon kept
	return cmd
}

// Stop shuts the server down with mode smart, fast (the default) or
// immediate, and waits for it. Stopping a server that is not running does
// nothing. pgrescue's private socket directory is removed once empty.
func (s *Server) Stop(ctx context.Context, mode string) error {
	if mode == "" {
		mode = "fast"
	}
	if mode != "smart" && mode != "fast" && mode != "immediate" {
		return problem.New(problem.Usage, "shutdown mode "+strconv.Quote(mode), "the shutdown mode must be smart, fast or immediate", "use fast unless you know you need another")
	}
	if err := s.resolve(); err != nil {
		return err
	}
	if s.Running() {
		if out, err := s.runAsOwner(ctx, s.stopArgv(mode)); err != nil {
			return problem.Wrap(err, problem.Unknown, s.DataDir, "PostgreSQL did not stop: "+strings.TrimSpace(string(out)),
				"run it by hand and read the log: "+s.ownerLine(s.stopArgv("immediate")))
		}
	}
	s.release()
	return nil
}

// ReleaseIfStopped removes what pgrescue made for the server (its files in
// the private socket directory, then the directory) when the server is not
// running: after a recovery PostgreSQL ended itself (a FATAL), or one that
// never started. A running server keeps them.
func (s *Server) ReleaseIfStopped() {
	if !s.Running() {
		s.release()
	}
}

func (s *Server) release() {
	if s.socketCreated || PrivateSocketDir(s.SocketDir) {
		for _, own := range PrivateSocketFiles {
			os.Remove(filepath.Join(s.SocketDir, own))
		}
		if os.Remove(s.SocketDir) == nil { // only succeeds once empty
			s.socketCreated = false
		}
	}
}

// PrivateSocketFiles are what pgrescue itself puts in a private socket
// directory: the copy of itself restore_command runs as the server's user,
// and the prefetcher's socket. They go with the server.
var PrivateSocketFiles = []string{"pgrescue", "pgrescue-prefetch.sock"}

// PID returns the postmaster's PID when a live one is recorded in
// postmaster.pid.
func (s *Server) PID() (int, bool) {
	st, err := RunningServer(s.DataDir)
	if err != nil || !st.Running {
		return 0, false
	}
	return st.PID, true
}

// Running reports whether a live postmaster owns the data directory.
func (s *Server) Running() bool {
	_, ok := s.PID()
	return ok
}

// Psql runs one SQL command as the owner through the server's socket and
// returns psql's unaligned, tuples-only output without the final newline.
func (s *Server) Psql(ctx context.Context, db, sql string) (string, error) {
	return s.psql(ctx, s.psqlArgv(db, sql))
}

// psql runs psqlArgv's command line, the SQL last.
func (s *Server) psql(ctx context.Context, argv []string) (string, error) {
	if err := s.resolve(); err != nil {
		return "", err
	}
	if s.Port == 0 || s.SocketDir == "" {
		return "", problem.New(problem.Usage, s.DataDir, "the server has no port or socket directory yet", "start it first: Start picks them")
	}
	cmd := s.ownerCommand(ctx, argv, "PGCONNECT_TIMEOUT=10")
	if err := s.Owner.RunAs(cmd); err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", problem.Wrap(err, problem.Unknown, "psql -c "+strconv.Quote(argv[len(argv)-1]), "psql failed: "+strings.TrimSpace(stderr.String()),
			"check the server is up and accepts connections: "+s.followLogLine(s.logOffset))
	}
	return strings.TrimSuffix(string(out), "\n"), nil
}

// psqlArgv is psql running sql in db, unaligned and tuples only, with
// more options (a field separator) before the connection's.
func (s *Server) psqlArgv(db, sql string, more ...string) []string {
	psql := filepath.Join(s.BinDir, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	argv := append([]string{psql, "-X", "-A", "-t"}, more...)
	return append(argv, "-h", s.SocketDir, "-p", strconv.Itoa(s.Port), "-U", s.Owner.Name, "-d", db, "-c", sql)
}

// Query is Psql's output as rows of fields.
func (s *Server) Query(ctx context.Context, db, sql string) ([][]string, error) {
	out, err := s.psql(ctx, s.psqlArgv(db, sql, "-F", "\t"))
	if err != nil {
		return nil, err
	}
	return Rows(out), nil
}

// Rows splits psql's unaligned, tuples-only output with tabs between the
// fields (-A -t -F '\t') into rows of fields.
func Rows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}
