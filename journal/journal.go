// Package journal keeps a session journal for the incident review: every
// step of the wizard or of `pgrescue restore`, every shell-equivalent command
// run, each with its start, end, duration and result, and notable events,
// with secrets redacted. One file per session, one JSON object per line.
//
// Each record is written with a single write and synced to disk before the
// call returns, so a crash, a killed SSH session or a lost machine leaves a
// readable journal up to the last thing that happened. Records are written
// per step, command and notable event (not per WAL segment), which keeps the
// cost of syncing negligible.
//
// A nil *Journal is valid and does nothing, so a caller that could not open a
// journal, or was asked not to keep one, carries on without checks.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pgrescue/problem"
)

// fileTime is the UTC time in default file names and session ids.
const fileTime = "20060102T150405Z"

// Journal is an open session journal. It is safe for concurrent use: the
// restore engine reports from its goroutines.
type Journal struct {
	path    string
	session string
	start   time.Time
	sync    bool // sync after each record: regular files only (--journal /dev/stderr works too)
	redact  Redactor
	spans   atomic.Int64

	mu     sync.Mutex // serialises writes, so records never interleave
	f      *os.File
	err    error // the first write failure, reported by Close
	closed bool
}

// DefaultDir returns where journals are kept when no --journal FILE is given:
// $XDG_STATE_HOME/pgrescue, else ~/.local/state/pgrescue, following the XDG
// base directory specification (which ignores a relative XDG_STATE_HOME).
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "pgrescue"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", problem.Wrap(err, problem.Config, "XDG_STATE_HOME", "there is no directory for the session journal",
			"set XDG_STATE_HOME or HOME, or give --journal FILE")
	}
	return filepath.Join(home, ".local", "state", "pgrescue"), nil
}

// Open starts a session journal and writes its first record, the session's
// Meta. An explicit path (--journal FILE) is appended to when it exists, so a
// resumed restore continues one journal; an empty path means a new file
// session-<UTC time>-<pid>.jsonl in DefaultDir, never an existing one. New
// files are private (0600) and new directories too (0700).
//
// The values of secret variables set in the environment (AWS_SECRET_ACCESS_KEY,
// PGPASSWORD, ...) are registered as secrets straight away; secrets read
// later, or from an envdir, must be given to AddSecret.
func Open(path string, meta Meta) (*Journal, error) {
	meta = meta.complete()
	f, path, err := create(path, meta)
	if err != nil {
		return nil, err
	}
	j := &Journal{path: path, session: sessionID(meta), start: meta.Start, f: f, sync: isRegular(f)}
	for _, name := range secretNames() {
		j.redact.AddSecret(os.Getenv(name))
	}
	head := meta
	head.Start = meta.Start.UTC()
	j.write(&Record{Type: TypeSession, Time: head.Start, Meta: &head})
	if j.err != nil {
		f.Close()
		return nil, j.err
	}
	return j, nil
}

// complete fills in what the process knows about itself.
func (m Meta) complete() Meta {
	if m.PID == 0 {
		m.PID = os.Getpid()
	}
	if m.Start.IsZero() {
		m.Start = time.Now()
	}
	if m.User == "" {
		m.User = userName()
	}
	if m.Host == "" {
		m.Host, _ = os.Hostname()
	}
	return m
}

func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "uid " + strconv.Itoa(os.Getuid())
}

func sessionID(m Meta) string {
	return m.Start.UTC().Format(fileTime) + "-" + strconv.Itoa(m.PID)
}

// create opens the journal file: the explicit path for appending, or a new
// file in DefaultDir.
func create(path string, meta Meta) (*os.File, string, error) {
	if path != "" {
		f, err := openAppend(path)
		return f, path, err
	}
	dir, err := DefaultDir()
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", openError(err, dir)
	}
	return createNew(dir, "session-"+sessionID(meta))
}

// createNew never reuses a name: two sessions of one process in one second
// (a wizard restarting a restore) get -2, -3, ...
func createNew(dir, base string) (*os.File, string, error) {
	for i := 1; ; i++ {
		name := base + ".jsonl"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.jsonl", base, i)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return nil, "", openError(err, path)
		}
		return f, path, nil
	}
}

// openAppend opens an explicit path for appending. If an earlier session was
// cut off in the middle of a line, it ends that line first, so the damage
// stays on the one line and the new records are readable.
func openAppend(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, openError(err, path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, openError(err, path)
	}
	if endsMidLine(f) {
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return nil, openError(err, path)
		}
	}
	return f, nil
}

func endsMidLine(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return false
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return false
	}
	defer r.Close()
	last := make([]byte, 1)
	_, err = r.ReadAt(last, st.Size()-1)
	return err == nil && last[0] != '\n'
}

func isRegular(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

func openError(err error, path string) error {
	return problem.Wrap(err, problem.LocalIO, path, "the session journal could not be created",
		"give --journal FILE in a directory you can write to")
}

// Path returns the journal's file, "" for a nil journal.
func (j *Journal) Path() string {
	if j == nil {
		return ""
	}
	return j.path
}

// AddSecret registers a value to be redacted from every later record: call it
// as soon as a passphrase or secret key is read, before it can appear in a
// command line or an error. See Redactor.AddSecret.
func (j *Journal) AddSecret(value string) {
	if j != nil {
		j.redact.AddSecret(value)
	}
}

// Event records something notable that is not a step: a warning, a
// milestone. Attributes are written under "attrs", groups as nested objects.
func (j *Journal) Event(kind, message string, attrs ...slog.Attr) {
	if j == nil {
		return
	}
	j.write(&Record{Type: TypeEvent, Time: time.Now().UTC(), Kind: kind, Message: message, attrs: attrs})
}

// Close writes the session-end record, with the session's total duration and
// its outcome, and closes the file. Records reported after Close are dropped.
// It returns the first failure to write the journal, if any, so the caller
// can tell the engineer the journal is incomplete.
func (j *Journal) Close(result error) error {
	if j == nil {
		return nil
	}
	end := time.Now()
	rec := &Record{Type: TypeSessionEnd, Time: end.UTC(), Start: j.start.UTC(), Duration: Duration(end.Sub(j.start))}
	setResult(rec, result)
	line := j.encode(rec)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.writeLocked(line)
	j.closed = true
	j.keep(j.f.Close())
	return j.err
}

// write redacts, encodes and writes one record.
func (j *Journal) write(rec *Record) {
	line := j.encode(rec)
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.closed {
		j.writeLocked(line)
	}
}

// encode is done outside the lock, so goroutines reporting at once only wait
// for each other's writes.
func (j *Journal) encode(rec *Record) []byte {
	rec.Session = j.session
	j.redact.record(rec)
	b, err := json.Marshal(rec)
	if err != nil {
		j.mu.Lock()
		j.keep(err)
		j.mu.Unlock()
		return nil
	}
	return append(b, '\n')
}

// writeLocked writes a whole line in one call, then syncs it.
func (j *Journal) writeLocked(line []byte) {
	if line == nil {
		return
	}
	_, err := j.f.Write(line)
	j.keep(err)
	if err == nil && j.sync {
		j.keep(j.f.Sync())
	}
}

// keep remembers the first failure, for Close.
func (j *Journal) keep(err error) {
	if err != nil && j.err == nil {
		j.err = problem.Wrap(err, problem.LocalIO, j.path, "the session journal could not be written",
			"check the free space and permissions where it is kept; the restore itself is not affected")
	}
}
