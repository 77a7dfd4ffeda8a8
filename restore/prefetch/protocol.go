package prefetch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/wale"
)

// The protocol is one JSON line each way per connection: the client names
// the file PostgreSQL asked for, the Server answers with a staged path, "not
// in the archive", or the failure explained.
type request struct {
	Fetch string `json:"fetch"`
}

type reply struct {
	Status  string `json:"status"` // "ok", "notfound" or "error"
	Path    string `json:"path,omitempty"`
	Kind    int    `json:"kind,omitempty"`
	Subject string `json:"subject,omitempty"`
	Summary string `json:"summary,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Next    string `json:"next,omitempty"`
}

// handle answers one connection.
func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if json.Unmarshal(line, &req) != nil {
		writeReply(conn, errorReply(problem.New(problem.Usage, "prefetch socket", "malformed request", "")))
		return
	}
	conn.SetReadDeadline(time.Time{})
	// The client disconnecting (PostgreSQL shutting down kills
	// restore_command) abandons the wait but not the fetch.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go watchHangup(conn, cancel)
	path, err := s.request(ctx, req.Fetch)
	switch {
	case err == nil:
		writeReply(conn, reply{Status: "ok", Path: path})
	case problem.Is(err, problem.NotFound):
		writeReply(conn, reply{Status: "notfound"})
	default:
		writeReply(conn, errorReply(err))
	}
}

// watchHangup cancels when the peer closes its end.
func watchHangup(conn net.Conn, cancel context.CancelFunc) {
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		cancel()
	}
}

func writeReply(conn net.Conn, r reply) {
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	b, _ := json.Marshal(r)
	conn.Write(append(b, '\n'))
}

func errorReply(err error) reply {
	var pe *problem.Error
	if errors.As(err, &pe) {
		detail := pe.Detail
		if detail == "" && pe.Err != nil {
			detail = pe.Err.Error()
		}
		return reply{Status: "error", Kind: int(pe.Kind), Subject: pe.Subject, Summary: pe.Summary, Detail: detail, Next: pe.Next}
	}
	return reply{Status: "error", Kind: int(problem.Unknown), Summary: err.Error()}
}

// ErrNoServer means nothing answers on the socket: the replay that started
// the prefetcher has ended. The caller fetches the file itself instead.
var ErrNoServer = errors.New("no prefetcher is listening")

// Request asks the prefetcher on socketPath for one WAL file and returns the
// staged file, which the caller must move into place (Deliver). A file not
// in the archive is a problem.NotFound error; ErrNoServer when nothing listens.
func Request(ctx context.Context, socketPath, name string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return "", ErrNoServer
		}
		return "", problem.Wrap(err, problem.LocalIO, socketPath, "cannot reach the prefetcher", "check that restore_command runs as the data directory's owner")
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	b, _ := json.Marshal(request{Fetch: name})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return "", ErrNoServer
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return "", problem.Wrap(ctx.Err(), problem.Interrupted, name, "wal-fetch was interrupted", "")
		}
		return "", ErrNoServer // the replay ended while we waited
	}
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return "", problem.Wrap(err, problem.Unknown, socketPath, "the prefetcher sent a malformed answer", "")
	}
	switch r.Status {
	case "ok":
		return r.Path, nil
	case "notfound":
		return "", problem.New(problem.NotFound, name, "not in the archive", "")
	default:
		return "", &problem.Error{Kind: problem.Kind(r.Kind), Subject: r.Subject, Summary: r.Summary, Detail: r.Detail, Next: r.Next}
	}
}

// Deliver moves a staged file to dest (PostgreSQL's %p). The staging folder
// lives beside pg_wal so this is a rename; a copy covers a pg_wal that is a
// symlink to another file system.
func Deliver(staged, dest string) error {
	err := os.Rename(staged, dest)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		if err != nil {
			return problem.Wrap(err, problem.LocalIO, dest, "cannot move the prefetched WAL file into place", "check permissions of "+filepath.Dir(dest))
		}
		return nil
	}
	return copyThenRemove(staged, dest)
}

func copyThenRemove(staged, dest string) error {
	in, err := os.Open(staged)
	if err != nil {
		return problem.Wrap(err, problem.LocalIO, staged, "cannot read the prefetched WAL file", "")
	}
	defer in.Close()
	if _, err := wale.WriteAtomically(dest, in); err != nil {
		return err
	}
	os.Remove(staged)
	return nil
}
