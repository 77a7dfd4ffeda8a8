package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/shellcmd"
)

// primary is the sandbox's PostgreSQL cluster, run as its owner.
type primary struct {
	bins      postgresBinaries
	owner     recovery.Owner
	dataDir   string
	socketDir string
	logFile   string
	port      int
	// localAuth is pg_hba's method on the socket: peer (the owner only),
	// or trust for the nightly-dump exercise, where pgrescue itself (root,
	// or the owner) connects to load a dump; the socket's folder is the
	// owner's alone either way.
	localAuth string
}

// run runs one of the cluster's programs as its owner.
func (p *primary) run(ctx context.Context, stdin io.Reader, program string, args ...string) (string, error) {
	return runOwner(ctx, p.owner, p.bins.Dir, stdin, p.bins.path(program), args...)
}

// initdb creates the cluster with the owner as superuser, so that the
// restored copy's pg_hba.conf (peer, for the data directory's owner) lets
// the same user in; TCP is refused outright, the socket uses peer.
func (p *primary) initdb(ctx context.Context) error {
	auth := p.localAuth
	if auth == "" {
		auth = "peer"
	}
	_, err := p.run(ctx, nil, "initdb", "-D", p.dataDir, "-U", p.owner.Name, "--auth-local="+auth, "--auth-host=reject",
		"-E", "UTF8", "--locale=C", "-N")
	if err != nil {
		return problem.Wrap(err, problem.LocalIO, p.dataDir, "initdb could not create the sandbox's cluster",
			"read initdb's message; the sandbox folder needs a few hundred MB free")
	}
	return nil
}

// configure appends the sandbox's settings to postgresql.conf rather than
// passing them on pg_ctl's command line, which goes through a shell: paths
// need no second quoting, and WAL-E leaves postgresql.conf out of base
// backups, so a restore starts without them, as in production.
func (p *primary) configure(archiveCommand string) error {
	conf := filepath.Join(p.dataDir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fileError(conf, err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, p.settings(archiveCommand)); err != nil {
		return fileError(conf, err)
	}
	return f.Close()
}

func (p *primary) settings(archiveCommand string) string {
	lines := []string{
		"",
		"# Added by pgrescue demo. This training primary archives every WAL segment",
		"# with pgrescue wal-push, as WAL-E's wal-push archived GOV.UK's primaries.",
		"listen_addresses = ''",
		"port = " + strconv.Itoa(p.port),
		"unix_socket_directories = " + confQuote(p.socketDir),
		"wal_level = replica",
		"max_wal_senders = 4",
		"archive_mode = on",
		"archive_command = " + confQuote(archiveCommand),
		"autovacuum = off # no background commits between the exercise's own",
		"fsync = off # a disposable cluster, stopped cleanly: build faster",
		"max_wal_size = 1GB",
		"log_line_prefix = '%m [%p] '",
		"",
	}
	return strings.Join(lines, "\n")
}

// confQuote writes a postgresql.conf string value.
func confQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// archiveCommand is WAL-E's `envdir ENVDIR wal-e wal-push %p` done by
// pgrescue. --gpg-key names the public key: the envdir's GNUPGHOME belongs
// to whoever runs pgrescue, which the server's user may not read.
func archiveCommand(exe, envdir, publicKey string) string {
	q := func(s string) string { return strings.ReplaceAll(shellcmd.Quote(s), "%", "%%") }
	return q(exe) + " --envdir " + q(envdir) + " --gpg-key " + q(publicKey) + ` wal-push "%p"`
}

func (p *primary) start(ctx context.Context) error {
	if _, err := p.run(ctx, nil, "pg_ctl", "start", "-D", p.dataDir, "-l", p.logFile, "-w", "-t", "60"); err != nil {
		e := problem.Wrap(err, problem.RecoveryFailed, p.dataDir, "the sandbox's primary did not start", "read its log: "+p.logFile)
		e.Detail = err.Error() + "; log: " + p.logTail()
		return e
	}
	return nil
}

func (p *primary) stop(ctx context.Context) error {
	if _, err := p.run(ctx, nil, "pg_ctl", "stop", "-D", p.dataDir, "-m", "fast", "-w", "-t", "60"); err != nil {
		return problem.Wrap(err, problem.Unknown, p.dataDir, "the sandbox's primary did not stop", "read its log: "+p.logFile)
	}
	return nil
}

// psql runs a script in db and returns its unaligned, tuples-only output.
func (p *primary) psql(ctx context.Context, db, script string) (string, error) {
	out, err := p.run(ctx, strings.NewReader(script), "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", p.socketDir, "-p", strconv.Itoa(p.port), "-U", p.owner.Name, "-d", db, "-f", "-")
	if err != nil {
		return "", problem.Wrap(err, problem.Unknown, db+" on the sandbox's primary", "a statement of the sandbox's story failed",
			"read the message; the primary's log is "+p.logFile)
	}
	return strings.TrimSpace(out), nil
}

// logTail is the end of the server log, for errors.
func (p *primary) logTail() string {
	data, err := os.ReadFile(p.logFile)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	const keep = 1500
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return strings.TrimSpace(string(data))
}

// firstPort is where the search for a free port starts: above the 54320 from
// which pgrescue picks ports for restored servers, so a restore during the
// exercise never hesitates over the sandbox's.
const firstPort = 54400

// choosePort finds a port no server uses: free on 127.0.0.1 and without a
// socket in the sandbox's or the usual socket directories, so psql with a
// default socket directory cannot reach the wrong server.
func choosePort(socketDir string) (int, error) {
	for port := firstPort; port < firstPort+100; port++ {
		if portFree(socketDir, port) {
			return port, nil
		}
	}
	return 0, problem.New(problem.Config, fmt.Sprintf("ports %d-%d", firstPort, firstPort+99), "no free port for the sandbox's PostgreSQL",
		"stop some of the PostgreSQL servers on this machine, or old sandboxes (pgrescue demo's folders under "+os.TempDir()+")")
}

func portFree(socketDir string, port int) bool {
	for _, dir := range []string{socketDir, "/tmp", "/var/run/postgresql"} {
		if _, err := os.Lstat(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))); err == nil {
			return false
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// maxSocketPath is the longest Unix socket path Linux accepts.
const maxSocketPath = 107

// socketDirFor is dir when a socket fits under it, otherwise a new private
// directory under /tmp, which the caller removes (made reports that).
func socketDirFor(dir string, owner recovery.Owner) (socketDir string, made bool, err error) {
	if len(filepath.Join(dir, ".s.PGSQL.54400.lock")) <= maxSocketPath {
		return dir, false, mkdirOwned(dir, 0o700, owner)
	}
	tmp, err := os.MkdirTemp("/tmp", "pgrescue-demo-")
	if err != nil {
		return "", false, fileError("/tmp", err)
	}
	return tmp, true, mkdirOwned(tmp, 0o700, owner)
}

// waitFor polls cond until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
