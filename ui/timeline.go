package ui

import (
	"strings"
	"time"
)

// minTimelineWidth is the narrowest a time line is drawn: below it the
// labels crowd each other out and the line says nothing a list does not.
const minTimelineWidth = 20

// timeline is what a page puts on its time line. The page chooses what is
// marked and with which glyph; draw owns the rest (the scale, the axis, the
// labels, the chosen marker), so every time line in the wizard reads the
// same way.
type timeline struct {
	From, To time.Time  // the line's two ends: its first and last cell
	Covered  []timeSpan // "=" on the axis, "-" elsewhere
	Ticks    []timeTick // clock readings on the axis, labelled above it
	OnAxis   []timeMark // marks drawn over the axis
	Below    []timeMark // marks in the row under the axis
	Chosen   time.Time  // "^" under it, "<" or ">" when off the line; zero: none
	Legend   string     // the last line, wrapped to the width
}

// timeSpan is a stretch of the line drawn "=".
type timeSpan struct{ From, To time.Time }

// timeTick is a clock reading: Glyph on the axis (none when 0) and Label
// above it when it fits without touching the previous one ("" for none).
type timeTick struct {
	At    time.Time
	Glyph byte
	Label string
}

// timeMark is one thing that happened at At, drawn as Glyph.
type timeMark struct {
	At    time.Time
	Glyph byte
}

// draw lays the time line out width cells wide: the labels, the axis, the
// row of marks and the legend. It is nil when there is nothing to scale (an
// unknown start, To not after From) or no room for it.
func (tl timeline) draw(width int) []string {
	if tl.From.IsZero() || width < minTimelineWidth || !tl.To.After(tl.From) {
		return nil
	}
	s := timeScale{from: tl.From, span: tl.To.Sub(tl.From), n: width}
	axis := s.axis(tl.Covered)
	labels := s.ticks(axis, tl.Ticks)
	below := []byte(strings.Repeat(" ", width))
	s.mark(axis, tl.OnAxis)
	s.mark(below, tl.Below)
	s.choose(below, tl.Chosen)
	return []string{
		strings.TrimRight(string(labels), " "),
		string(axis),
		strings.TrimRight(string(below), " "),
		wrapWords(tl.Legend, width),
	}
}

// timeScale maps a time to one of n columns: from is the first, from+span
// the last, and a time between goes to the nearest.
type timeScale struct {
	from time.Time
	span time.Duration
	n    int
}

// col is t's column, off the line (below 0 or above n-1) when t is outside
// it, so that the chosen marker can say which way it lies. Adding 0.5 and
// truncating rounds to the nearest inside the line; a time just before
// the start still rounds to column 0.
func (s timeScale) col(t time.Time) int {
	return int(float64(t.Sub(s.from))/float64(s.span)*float64(s.n-1) + 0.5)
}

// clamped is t's column held to the line, so that a mark is never lost.
func (s timeScale) clamped(t time.Time) int {
	return min(max(s.col(t), 0), s.n-1)
}

// axis is the bare axis: "-", with each covered span "=".
func (s timeScale) axis(covered []timeSpan) []byte {
	axis := []byte(strings.Repeat("-", s.n))
	for _, c := range covered {
		for i := max(s.col(c.From), 0); i <= min(s.col(c.To), s.n-1); i++ {
			axis[i] = '='
		}
	}
	return axis
}

// ticks draws each tick on the axis and returns the row of labels above
// it. A label goes only where it fits whole and a cell clear of the one
// before, so labels never run into each other; a tick off the line is
// dropped, as its label would name the wrong cell.
func (s timeScale) ticks(axis []byte, ticks []timeTick) []byte {
	labels := []byte(strings.Repeat(" ", s.n))
	free := 0
	for _, t := range ticks {
		c := s.col(t.At)
		if c < 0 || c > s.n-1 {
			continue
		}
		if t.Glyph != 0 {
			axis[c] = t.Glyph
		}
		if t.Label != "" && c >= free && c+len(t.Label) <= s.n {
			copy(labels[c:], t.Label)
			free = c + len(t.Label) + 1
		}
	}
	return labels
}

// mark draws each mark on row, held to the line. Different marks in one
// cell become "+", so that neither hides the other; the same mark twice
// stays itself.
func (s timeScale) mark(row []byte, marks []timeMark) {
	taken := make([]bool, s.n)
	for _, m := range marks {
		c, glyph := s.clamped(m.At), m.Glyph
		if taken[c] && row[c] != glyph {
			glyph = '+'
		}
		row[c], taken[c] = glyph, true
	}
}

// choose draws the chosen moment on row: "^" under it, or "<" / ">" at the
// end it lies beyond, so a choice off the line is still seen (and not
// mistaken for one at the edge).
func (s timeScale) choose(row []byte, chosen time.Time) {
	if chosen.IsZero() {
		return
	}
	switch c := s.col(chosen); {
	case c < 0:
		row[0] = '<'
	case c > s.n-1:
		row[s.n-1] = '>'
	default:
		row[c] = '^'
	}
}
