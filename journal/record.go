package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"pgrescue/problem"
)

// The record types. A step or command writes a start record when it begins
// and an end record when it ends, so a journal cut short by a crash still
// shows what was under way.
const (
	TypeSession      = "session"
	TypeStepStart    = "step-start"
	TypeStepEnd      = "step-end"
	TypeCommandStart = "command-start"
	TypeCommandEnd   = "command-end"
	TypeEvent        = "event"
	TypeSessionEnd   = "session-end"
)

// The results an end record can carry.
const (
	ResultOK        = "ok"
	ResultError     = "error"
	ResultCancelled = "cancelled"
)

// Record is one line of a journal.
//
// The journal is written with encoding/json from this one struct, not with
// slog.NewJSONHandler: the file is a document that `pgrescue journal show`
// and incident reviewers read back, so its schema belongs to pgrescue and the
// writer and ReadAll share a single definition of it. A slog handler would own
// the top-level keys (time, level, msg) and still leave the redaction walk
// over attributes to be written here.
type Record struct {
	Type     string         `json:"type"`
	Time     time.Time      `json:"time"`
	Session  string         `json:"session"`        // the same on every record of a session, as files may hold several
	Span     int64          `json:"span,omitempty"` // links a step's or command's start and end records
	Name     string         `json:"name,omitempty"` // the step's name, or why the command is run
	Line     string         `json:"line,omitempty"` // the command line
	Kind     string         `json:"kind,omitempty"` // an event's kind: "warning", "milestone", ...
	Message  string         `json:"message,omitempty"`
	Start    time.Time      `json:"start,omitzero"`    // on end records: when the span or session began
	Duration Duration       `json:"duration,omitzero"` // on end records
	Result   string         `json:"result,omitempty"`  // on end records: ok, error or cancelled
	Error    string         `json:"error,omitempty"`
	Problem  string         `json:"problem,omitempty"` // the problem kind of the error, when it has one
	Attrs    map[string]any `json:"attrs,omitempty"`
	Meta     *Meta          `json:"meta,omitempty"` // on session records

	attrs []slog.Attr // raw attributes, converted and redacted when written
}

// Meta describes a session, for the first record of its journal. Open fills
// in User, Host, PID and Start when they are left zero.
type Meta struct {
	Version string    `json:"version"`
	User    string    `json:"user"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Args    []string  `json:"args"` // redacted before they are written
	Start   time.Time `json:"start"`
	DryRun  bool      `json:"dry_run"`
}

// Duration is a time.Duration written as Go writes durations ("1m2.5s"), so
// a person reading the raw file need not divide nanoseconds.
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// ReadAll reads a journal back. A malformed line does not stop it: it returns
// every well-formed record together with an error naming the file and the
// first malformed line, so a damaged journal can still be reviewed.
func ReadAll(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "the session journal could not be read",
			"check the path; journals are kept in $XDG_STATE_HOME/pgrescue or ~/.local/state/pgrescue")
	}
	defer f.Close()
	return readRecords(path, bufio.NewReader(f))
}

func readRecords(path string, r *bufio.Reader) ([]Record, error) {
	var recs []Record
	var bad *problem.Error
	more := 0
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			rec, perr := parseRecord(line)
			switch {
			case perr == nil:
				recs = append(recs, rec)
			case bad == nil:
				bad = malformed(path, n, perr)
			default:
				more++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return recs, problem.Wrap(err, problem.LocalIO, path, "the session journal could not be read to the end", "check the file system holding it")
		}
	}
	if bad == nil {
		return recs, nil
	}
	if more > 0 {
		bad.Detail = fmt.Sprintf("%v (and %d more malformed lines after it)", bad.Err, more)
	}
	return recs, bad
}

func parseRecord(line []byte) (Record, error) {
	var rec Record
	if err := json.Unmarshal(line, &rec); err != nil {
		return rec, err
	}
	if rec.Type == "" {
		return rec, errors.New(`the record has no "type"`)
	}
	return rec, nil
}

func malformed(path string, line int, err error) *problem.Error {
	return problem.Wrap(err, problem.Corrupt, fmt.Sprintf("%s, line %d", path, line),
		"a line of the session journal is not a journal record",
		"the other lines were read; look at that line to see what was written (a full disk or a crash can cut one short)")
}
