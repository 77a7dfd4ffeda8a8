package journal

import (
	"fmt"
	"strings"
	"time"
)

// maxErrorRunes is how much of an error text a summary line keeps: the
// first sentence says what failed; the journal holds the rest.
const maxErrorRunes = 100

// Summary renders a short timeline for the end of a session: for each
// session in records, a header, one line per step and command (start time,
// result, duration, what), and how the session ended. A step or command with
// no end record is "unfinished": the session was cut short while it ran.
func Summary(records []Record) string {
	var b strings.Builder
	for _, s := range sessions(records) {
		s.render(&b)
	}
	return b.String()
}

// sessionView gathers one session's records; a file appended to by resumed
// restores holds several sessions.
type sessionView struct {
	head  *Record
	items []item // steps, commands and events, in the order they began
	byID  map[int64]*spanView
	end   *Record
}

// item is one line of the timeline: a span, or an event.
type item struct {
	span  *spanView
	event *Record
}

type spanView struct{ start, end *Record }

// sessions groups records by session, in the order sessions begin. A new
// session record starts a new session even under a known id.
func sessions(records []Record) []*sessionView {
	var all []*sessionView
	current := map[string]*sessionView{}
	for i := range records {
		rec := &records[i]
		s := current[rec.Session]
		if s == nil || rec.Type == TypeSession {
			s = &sessionView{byID: map[int64]*spanView{}}
			current[rec.Session] = s
			all = append(all, s)
		}
		s.add(rec)
	}
	return all
}

func (s *sessionView) add(rec *Record) {
	switch rec.Type {
	case TypeSession:
		s.head = rec
	case TypeSessionEnd:
		s.end = rec
	case TypeStepStart, TypeCommandStart:
		sp := &spanView{start: rec}
		s.byID[rec.Span] = sp
		s.items = append(s.items, item{span: sp})
	case TypeStepEnd, TypeCommandEnd:
		if sp := s.byID[rec.Span]; sp != nil {
			sp.end = rec
			return
		}
		s.items = append(s.items, item{span: &spanView{end: rec}})
	case TypeEvent:
		s.items = append(s.items, item{event: rec})
	}
}

func (s *sessionView) render(b *strings.Builder) {
	b.WriteString(s.header() + "\n")
	for _, it := range s.items {
		if it.event != nil {
			b.WriteString("  " + eventLine(it.event) + "\n")
			continue
		}
		b.WriteString("  " + it.span.line() + "\n")
	}
	b.WriteString("  " + s.footer() + "\n")
}

func (s *sessionView) header() string {
	if s.head == nil || s.head.Meta == nil {
		return "session (its first record is missing)"
	}
	m := s.head.Meta
	h := fmt.Sprintf("session %s: pgrescue %s, %s@%s, started %s", s.head.Session, m.Version, m.User, m.Host,
		m.Start.UTC().Format("2006-01-02 15:04:05 UTC"))
	if m.DryRun {
		h += ", dry run"
	}
	return h
}

func (s *sessionView) footer() string {
	if s.end == nil {
		return "no session-end record: the session was cut short, or is still running"
	}
	return fmt.Sprintf("ended %s after %s: %s", clock(s.end.Time), round(s.end.Duration), outcome(s.end))
}

// line renders a step or command: the end record knows everything, the start
// record alone means it never finished.
func (sp *spanView) line() string {
	rec, result, took := sp.end, "", "-"
	if rec != nil {
		result, took = rec.Result, round(rec.Duration)
	} else {
		rec, result = sp.start, "unfinished"
	}
	kind, what := "step", rec.Name
	if rec.Type == TypeCommandStart || rec.Type == TypeCommandEnd {
		kind = "command"
		if rec.Line != "" {
			what = "$ " + rec.Line
		}
	}
	if rec.Error != "" {
		what += " — " + shorten(rec.Error)
	}
	return fmt.Sprintf("%s  %-7s  %-10s  %8s  %s", clock(sp.began()), kind, result, took, what)
}

// eventLine renders a decision or a notable moment: what kind, and what.
func eventLine(rec *Record) string {
	return fmt.Sprintf("%s  %-7s  %-10s  %8s  %s", clock(rec.Time), "event", rec.Kind, "", shorten(rec.Message))
}

func (sp *spanView) began() time.Time {
	if sp.start != nil {
		return sp.start.Time
	}
	return sp.end.Start
}

func outcome(rec *Record) string {
	if rec.Error == "" {
		return rec.Result
	}
	return rec.Result + ": " + shorten(rec.Error)
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// round keeps about three significant digits under a second (850µs, 42ms)
// and tenths of a second above (2m3.5s): enough to compare steps.
func round(d Duration) string {
	v := time.Duration(d)
	switch {
	case v < time.Millisecond:
		return v.Round(time.Microsecond).String()
	case v < time.Second:
		return v.Round(time.Millisecond).String()
	}
	return v.Round(100 * time.Millisecond).String()
}

// shorten keeps an error's first line, cut to maxErrorRunes.
func shorten(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > maxErrorRunes {
		return string(r[:maxErrorRunes-1]) + "…"
	}
	return s
}
