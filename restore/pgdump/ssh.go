package pgdump

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// SSH is the onsite backup machine's copy of a primary's tree, e.g.
// ssh://backup-1.management/data/backups/<fqdn>/var/lib/autopostgresqlbackup,
// read through the system ssh: the engineer's agent, ~/.ssh/config and
// known_hosts apply, and BatchMode makes a question (a new host key, a
// password) an error instead of a prompt that would hang the restore.
type SSH struct {
	raw     string
	user    string
	host    string
	port    string
	root    string
	program string
	options []string
}

func parseSSH(s string, opts SourceOptions) (*SSH, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Path == "" || u.Path == "/" {
		return nil, problem.New(problem.Usage, "--source "+s, "not an ssh source",
			"write it as ssh://[user@]host[:port]/path, e.g. ssh://backup-1.management/data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup")
	}
	src := &SSH{raw: s, host: u.Hostname(), port: u.Port(), root: strings.TrimSuffix(u.Path, "/"), program: "ssh", options: opts.SSHOptions}
	if u.User != nil {
		src.user = u.User.Username()
		if _, has := u.User.Password(); has {
			return nil, problem.New(problem.Usage, "--source", "a password in the ssh URL", "use a key (ssh-agent) instead: pgrescue never passes secrets in arguments")
		}
	}
	if opts.SSHProgram != "" {
		src.program = opts.SSHProgram
	}
	return src, nil
}

func (s *SSH) String() string { return s.raw }

func (s *SSH) destination() string {
	if s.user != "" {
		return s.user + "@" + s.host
	}
	return s.host
}

// args are ssh's options and destination, before the remote command.
func (s *SSH) args() []string {
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"}
	args = append(args, s.options...)
	if s.port != "" {
		args = append(args, "-p", s.port)
	}
	return append(args, s.destination(), "--")
}

// remote runs a command on the backup machine. The remote shell reads
// the words again, so each is quoted.
func (s *SSH) remote(ctx context.Context, words ...string) *exec.Cmd {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellcmd.Quote(w)
	}
	return exec.CommandContext(ctx, s.program, append(s.args(), strings.Join(quoted, " "))...)
}

// List walks the tree with the remote find: size, time and path of each
// file, NUL-separated so any name survives.
func (s *SSH) List(ctx context.Context) ([]Entry, error) {
	cmd := s.remote(ctx, "find", s.root+"/", "-name", "lost+found", "-prune", "-o", "-type", "f", "-printf", `%s %T@ %P\0`)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, s.failure(err, stderr.String(), s.root)
	}
	var entries []Entry
	for _, rec := range strings.Split(stdout.String(), "\x00") {
		size, rest, ok1 := strings.Cut(rec, " ")
		stamp, name, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 {
			continue
		}
		n, _ := strconv.ParseInt(size, 10, 64)
		secs, _ := strconv.ParseFloat(stamp, 64)
		entries = append(entries, Entry{Path: name, Size: n, ModTime: time.Unix(0, int64(secs*1e9))})
	}
	return entries, nil
}

// Open streams a file with the remote cat: nothing is copied on either
// machine.
func (s *SSH) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	full := s.root + "/" + path
	cmd := s.remote(ctx, "cat", "--", full)
	stderr := &tail{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, s.failure(err, "", full)
	}
	return &commandReader{r: out, wait: func() error {
		if err := cmd.Wait(); err != nil {
			return s.failure(err, stderr.String(), full)
		}
		return nil
	}}, nil
}

func (s *SSH) FetchCommand(path string) string {
	words := []string{"ssh"}
	if s.port != "" {
		words = append(words, "-p", s.port)
	}
	return strings.Join(append(words, s.destination(), "cat", shellcmd.Quote(shellcmd.Quote(s.root+"/"+path))), " ")
}

// failure explains what ssh or the remote command said.
func (s *SSH) failure(err error, stderr, path string) error {
	var exitErr *exec.ExitError
	if errors.Is(err, exec.ErrNotFound) {
		return problem.Wrap(err, problem.Config, s.program, "ssh is not installed", "install openssh-client")
	}
	msg := strings.TrimSpace(stderr)
	where := s.destination()
	switch {
	case strings.Contains(msg, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		return detailed(problem.New(problem.HostKey, where, "the backup machine's host key has CHANGED since it was last recorded",
			"do not go on until you know why (a rebuilt machine, or someone in the middle): check the key's fingerprint with the machine's owners, then remove the old line with ssh-keygen -R "+s.host), msg)
	case strings.Contains(msg, "Host key verification failed"), strings.Contains(msg, "No ED25519 host key is known"), strings.Contains(msg, "host key is known"):
		return detailed(problem.New(problem.HostKey, where, "the backup machine's host key is not in known_hosts, and pgrescue never accepts one blindly",
			"connect once by hand (ssh "+where+"), check the fingerprint it shows against the one you were given, and accept it"), msg)
	case strings.Contains(msg, "Permission denied ("), strings.Contains(msg, "Too many authentication failures"):
		// ssh's own refusal names the methods it tried: "Permission denied (publickey)."
		return detailed(problem.New(problem.AccessDenied, where, "the backup machine refused the login",
			"load your key into the agent (ssh-add), check the user in the URL (the backups belong to govuk-backup), and that ssh "+where+" works by hand"), msg)
	case strings.Contains(msg, "No such file or directory"):
		return detailed(problem.New(problem.NoBackups, where+":"+path, "no such path on the backup machine",
			"the machine keeps each primary's tree under /data/backups/<fqdn>/var/lib/autopostgresqlbackup: list them with ssh "+where+" ls /data/backups"), msg)
	case strings.Contains(msg, "Permission denied"): // find's or cat's, on the far side
		return detailed(problem.New(problem.AccessDenied, where+":"+path, "the backup machine's user cannot read the file", "connect as the backups' owner (govuk-backup)"), msg)
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 255:
		return detailed(problem.Wrap(err, problem.Network, where, "ssh could not reach the backup machine",
			"check the host name and port, the VPN, and that ssh "+where+" works by hand"), msg)
	}
	return detailed(problem.Wrap(err, problem.Unknown, where+":"+path, "reading the backup machine failed", "read ssh's message"), msg)
}

func detailed(e *problem.Error, msg string) *problem.Error {
	if msg != "" {
		e.Detail = msg
	}
	return e
}

// commandReader is a program's output that, at its end, reports how the
// program ended: a stream cut short by a dropped connection is an error,
// never a quiet end of file.
type commandReader struct {
	r    io.ReadCloser
	wait func() error
	done bool
	err  error
}

func (c *commandReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		if werr := c.finish(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

func (c *commandReader) finish() error {
	if !c.done {
		c.done = true
		c.err = c.wait()
	}
	return c.err
}

func (c *commandReader) Close() error {
	c.r.Close()
	if !c.done {
		c.done = true
		c.wait() // stopped early on purpose: the program's complaint is not news
	}
	return nil
}
