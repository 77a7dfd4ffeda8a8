package journal

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// Span is a step or command under way. End it exactly once; later calls are
// ignored, so `defer span.End(err)` after an explicit End is harmless. A nil
// *Span (from a nil *Journal) does nothing.
type Span struct {
	j     *Journal
	id    int64
	kind  string // "step" or "command", the prefix of its record types
	name  string
	line  string
	start time.Time
	ended atomic.Bool
}

// Step records that a step of the wizard or of the restore begins.
func (j *Journal) Step(name string) *Span {
	return j.begin("step", name, "")
}

// Command records that a command begins, described by its shell equivalent:
// why it is run and the line an engineer could paste.
func (j *Journal) Command(c shellcmd.Command) *Span {
	return j.begin("command", c.Why, c.Line)
}

func (j *Journal) begin(kind, name, line string) *Span {
	if j == nil {
		return nil
	}
	s := &Span{j: j, id: j.spans.Add(1), kind: kind, name: name, line: line, start: time.Now()}
	j.write(&Record{Type: kind + "-start", Time: s.start.UTC(), Span: s.id, Name: name, Line: line})
	return s
}

// End records the result: ok for a nil error, cancelled for a cancelled
// context or an interrupted problem, error otherwise, with the error's text.
// The end record repeats the name and command line, redacted again, so it
// also hides secrets registered while the span ran.
func (s *Span) End(err error) {
	if s == nil || !s.ended.CompareAndSwap(false, true) {
		return
	}
	end := time.Now()
	rec := &Record{Type: s.kind + "-end", Time: end.UTC(), Span: s.id, Name: s.name, Line: s.line,
		Start: s.start.UTC(), Duration: Duration(end.Sub(s.start))}
	setResult(rec, err)
	s.j.write(rec)
}

// setResult classifies err for an end record.
func setResult(rec *Record, err error) {
	switch {
	case err == nil:
		rec.Result = ResultOK
		return
	case errors.Is(err, context.Canceled) || problem.Is(err, problem.Interrupted):
		rec.Result = ResultCancelled
	default:
		rec.Result = ResultError
	}
	rec.Error = err.Error()
	var pe *problem.Error
	if errors.As(err, &pe) {
		rec.Problem = pe.Kind.String()
	}
}
