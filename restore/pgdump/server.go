package pgdump

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"pgrescue/internal/lazyregexp"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/shellcmd"
)

// Server is the PostgreSQL a dump is imported into, reached the way the
// engineer's own psql would: libpq's environment (PGHOST, PGPORT, PGUSER,
// PGPASSWORD, PGSSLMODE…) and ~/.pgpass, overridden by the fields set here.
type Server struct {
	Host string
	Port string
	User string
	// DSN is a libpq connection string without dbname ("host=db1 port=5432
	// user=postgres"), used instead of Host, Port and User when set.
	DSN  string
	Psql string // the psql program; "psql" on PATH unless set
	// MaintenanceDB is the database psql connects to before the dump's
	// CREATE DATABASE and for the checks; "postgres" unless set.
	MaintenanceDB string
	// As runs psql as another operating-system user: root running the
	// runbook's `sudo -iu postgres psql`, for the local socket's peer
	// authentication. The dump is still read by pgrescue itself.
	As *recovery.Owner
}

func (s Server) psql() string {
	if s.Psql != "" {
		return s.Psql
	}
	return "psql"
}

func (s Server) maintenanceDB() string {
	if s.MaintenanceDB != "" {
		return s.MaintenanceDB
	}
	return "postgres"
}

// connArgs are psql's connection flags for db. -w: never prompt for a
// password (a prompt would hang a pipeline); libpq reads it from .pgpass
// or PGPASSWORD, never from the command line.
func (s Server) connArgs(db string) []string {
	args := []string{"-X", "-w", "-v", "ON_ERROR_STOP=1"}
	if s.DSN != "" {
		return append(args, "-d", strings.TrimSpace(s.DSN+" dbname="+quoteConn(db)))
	}
	if s.Host != "" {
		args = append(args, "-h", s.Host)
	}
	if s.Port != "" {
		args = append(args, "-p", s.Port)
	}
	if s.User != "" {
		args = append(args, "-U", s.User)
	}
	return append(args, "-d", db)
}

// quoteConn quotes a value for a libpq connection string.
func quoteConn(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// String names the server in messages: what libpq will use.
func (s Server) String() string {
	if s.DSN != "" {
		return "PostgreSQL at " + s.DSN
	}
	host := cmp.Or(s.Host, os.Getenv("PGHOST"), "the local socket")
	port := cmp.Or(s.Port, os.Getenv("PGPORT"), "5432")
	user := cmp.Or(s.User, os.Getenv("PGUSER"), currentUser())
	if s.As != nil && s.User == "" {
		user = s.As.Name
	}
	return "PostgreSQL at " + host + " port " + port + " as " + user
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "the current user"
}

// PsqlLine is the psql command line for db, as an engineer would type it.
func (s Server) PsqlLine(db string) string {
	words := []string{s.psql()}
	if s.As != nil {
		words = []string{"sudo", "-u", s.As.Name, s.psql()}
	}
	return shellcmd.Join(append(words, s.connArgs(db)...))
}

// command is psql on db with extra arguments.
func (s Server) command(ctx context.Context, db string, extra ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.psql(), append(s.connArgs(db), extra...)...)
	// ctrl+c: psql sends PostgreSQL a cancel request on SIGINT and exits,
	// so the server stops the statement instead of finishing it alone.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(os.Environ(), "PGAPPNAME=pgrescue", "PGCONNECT_TIMEOUT=10")
	if s.As != nil {
		s.As.RunAs(cmd)
		cmd.Dir = "/"                                                                         // the user may not enter ours
		cmd.Env = append(cmd.Env, "HOME="+s.As.Home, "USER="+s.As.Name, "LOGNAME="+s.As.Name) // its ~/.pgpass
	}
	return cmd
}

// Query runs one SQL statement on db and returns its rows, fields split.
func (s Server) Query(ctx context.Context, db, sql string) ([][]string, error) {
	cmd := s.command(ctx, db, "-A", "-t", "-q", "-F", "\t", "-f", "-")
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, s.psqlError(ctx, err, stderr.String(), db)
	}
	return recovery.Rows(stdout.String()), nil
}

// Exec runs statements on db.
func (s Server) Exec(ctx context.Context, db, sql string) error {
	_, err := s.Query(ctx, db, sql)
	return err
}

var connectFailure = lazyregexp.New(`(?i)could not connect|connection to server|could not translate host name|no password supplied|password authentication failed|no pg_hba\.conf entry|Peer authentication failed|does not exist$|timeout expired`)

// psqlError explains a failed psql: a server it could not reach or that
// refused the login, or a statement's ERROR.
func (s Server) psqlError(ctx context.Context, err error, stderr, db string) error {
	if ctx.Err() != nil {
		return problem.Wrap(ctx.Err(), problem.Interrupted, s.String(), "stopped", "")
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 2 || connectFailure().MatchString(firstLine(stderr)) {
		settings := "-h/-p/-U (or PGHOST, PGPORT, PGUSER)"
		if s.DSN != "" {
			settings = "the connection string (libpq's host=… port=… user=…)"
		}
		e := problem.Wrap(err, problem.ServerUnreachable, s.String()+", database "+db, "cannot connect to the PostgreSQL server",
			"check "+settings+", that the server is running, and that pg_hba.conf lets this user in; a password goes in ~/.pgpass or PGPASSWORD, never on the command line")
		e.Detail = psqlMessage(stderr)
		return e
	}
	if errors.Is(err, exec.ErrNotFound) {
		return problem.Wrap(err, problem.Config, s.psql(), "psql is not installed", "install the PostgreSQL client (apt-get install postgresql-client) or give --psql PATH")
	}
	e := problem.Wrap(err, problem.ImportFailed, s.String()+", database "+db, "psql stopped on an error", "read the error")
	e.Detail = psqlMessage(stderr)
	return e
}

// psqlMessage is the error psql printed, without its location prefix.
func psqlMessage(stderr string) string {
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if i := strings.Index(line, "ERROR:"); i >= 0 {
			line = line[i:]
		}
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
		if len(lines) == 4 {
			break
		}
	}
	if len(lines) == 0 {
		return "psql printed nothing"
	}
	return strings.Join(lines, "; ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// tail keeps the last bytes written to it: psql's stderr during a long
// import, whose last lines hold the error.
type tail struct {
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }

// firstError keeps psql's first ERROR line: with ON_ERROR_STOP it is the
// one that stopped the import.
type firstError struct {
	tail
	first string
}

func (f *firstError) Write(p []byte) (int, error) {
	if f.first == "" {
		if i := bytes.Index(p, []byte("ERROR:")); i >= 0 {
			line, _, _ := bytes.Cut(p[i:], []byte("\n"))
			f.first = string(line)
		}
	}
	return f.tail.Write(p)
}

// AsPostgresWhenRoot is the runbook's way on the primary: run as root with
// no user given (no -U, no PGUSER) and no host (the local socket), psql runs
// as the postgres account, whom peer authentication lets in.
func (s *Server) AsPostgresWhenRoot() {
	if os.Geteuid() != 0 || s.User != "" || os.Getenv("PGUSER") != "" || s.As != nil {
		return
	}
	if host := cmp.Or(s.Host, os.Getenv("PGHOST")); host != "" && !strings.HasPrefix(host, "/") {
		return // TCP: the password or certificate decides, not the OS user
	}
	if o, err := recovery.UserNamed("postgres"); err == nil {
		s.As = &o
	}
}

// DatabaseExists reports whether the server has a database of that name.
func (s Server) DatabaseExists(ctx context.Context, name string) (bool, error) {
	rows, err := s.Query(ctx, s.maintenanceDB(), "SELECT 1 FROM pg_catalog.pg_database WHERE datname = "+QuoteLiteral(name))
	return len(rows) > 0, err
}

// Roles lists the server's roles.
func (s Server) Roles(ctx context.Context) (map[string]bool, error) {
	rows, err := s.Query(ctx, s.maintenanceDB(), "SELECT rolname FROM pg_catalog.pg_roles")
	if err != nil {
		return nil, err
	}
	roles := map[string]bool{}
	for _, r := range rows {
		roles[r[0]] = true
	}
	return roles, nil
}

// Version is the server's version string (e.g. 15.18).
func (s Server) Version(ctx context.Context) (string, error) {
	rows, err := s.Query(ctx, s.maintenanceDB(), "SHOW server_version")
	if err != nil {
		return "", err
	}
	if len(rows) == 0 || len(strings.Fields(rows[0][0])) == 0 {
		return "", nil
	}
	return strings.Fields(rows[0][0])[0], nil
}

// inUse is PostgreSQL refusing to rename a database a session is on.
func inUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "being accessed by other users")
}

// Rename renames a database; nobody may be connected to it.
func (s Server) Rename(ctx context.Context, from, to string) error {
	return s.Exec(ctx, s.maintenanceDB(), "ALTER DATABASE "+QuoteIdent(from)+" RENAME TO "+QuoteIdent(to))
}
