package ui

import (
	"strings"
	"testing"
	"time"
)

// t0 is the start of the test lines; with width 21 and a 100s window each
// cell is 5s, so the middle (50s) is column 10 and the end column 20.
var t0 = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

func at(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second)))
}

// drawn draws tl over 0..100s, 21 cells wide, and fails when it is nil.
func drawn(t *testing.T, tl timeline) []string {
	t.Helper()
	tl.From, tl.To = at(0), at(100)
	lines := tl.draw(21)
	if len(lines) != 4 {
		t.Fatalf("draw gave %d lines, want 4: %q", len(lines), lines)
	}
	return lines
}

func TestTimelineMarksAtEndsAndMiddle(t *testing.T) {
	lines := drawn(t, timeline{
		OnAxis: []timeMark{{at(0), 'x'}, {at(50), 'x'}, {at(100), 'x'}},
		Below:  []timeMark{{at(0), 'a'}, {at(50), 'm'}, {at(100), 'a'}},
	})
	if want := "x---------x---------x"; lines[1] != want {
		t.Errorf("axis %q, want %q", lines[1], want)
	}
	if want := "a         m         a"; lines[2] != want {
		t.Errorf("marks %q, want %q", lines[2], want)
	}
	// Rounding is to the nearest cell: 7.4s is nearer 5s (column 1), 7.6s
	// nearer 10s (column 2).
	lines = drawn(t, timeline{Below: []timeMark{{at(7.4), 'a'}, {at(7.6), 'm'}}})
	if want := " am"; lines[2] != want {
		t.Errorf("marks %q, want %q", lines[2], want)
	}
}

func TestTimelineMarkOutsideIsClamped(t *testing.T) {
	lines := drawn(t, timeline{
		OnAxis: []timeMark{{at(-30), 'x'}, {at(500), 'x'}},
		Below:  []timeMark{{at(-1000), 'a'}, {at(130), 'm'}},
	})
	if want := "x-------------------x"; lines[1] != want {
		t.Errorf("axis %q, want %q", lines[1], want)
	}
	if want := "a                   m"; lines[2] != want {
		t.Errorf("marks %q, want %q", lines[2], want)
	}
}

func TestTimelineMarksSharingACell(t *testing.T) {
	lines := drawn(t, timeline{
		OnAxis: []timeMark{{at(50), 'x'}, {at(51), 'x'}},
		Below:  []timeMark{{at(20), 'a'}, {at(21), 'a'}, {at(50), 'a'}, {at(51), 'm'}, {at(52), 'a'}},
	})
	if want := "----------x----------"; lines[1] != want {
		t.Errorf("the same mark twice: axis %q, want %q", lines[1], want)
	}
	if want := "    a     +"; lines[2] != want {
		t.Errorf("different marks in one cell: %q, want %q", lines[2], want)
	}
}

func TestTimelineChosen(t *testing.T) {
	for _, c := range []struct {
		name   string
		chosen time.Time
		want   string
	}{
		{"none", time.Time{}, "          m"},
		{"start", at(0), "^         m"},
		{"middle, over a mark", at(50), "          ^"},
		{"end", at(100), "          m         ^"},
		{"before the line", at(-10), "<         m"},
		{"after the line", at(110), "          m         >"},
		{"within half a cell of the start", at(-2), "^         m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := drawn(t, timeline{Below: []timeMark{{at(50), 'm'}}, Chosen: c.chosen})
			if lines[2] != c.want {
				t.Errorf("marks %q, want %q", lines[2], c.want)
			}
		})
	}
}

func TestTimelineCovered(t *testing.T) {
	for _, c := range []struct {
		name    string
		covered []timeSpan
		want    string
	}{
		{"none", nil, "---------------------"},
		{"all", []timeSpan{{at(0), at(100)}}, "====================="},
		{"the middle", []timeSpan{{at(25), at(75)}}, "-----===========-----"},
		{"over the ends", []timeSpan{{at(-50), at(10)}, {at(90), at(150)}}, "===---------------==="},
		{"off the line", []timeSpan{{at(-50), at(-20)}}, "---------------------"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if lines := drawn(t, timeline{Covered: c.covered}); lines[1] != c.want {
				t.Errorf("axis %q, want %q", lines[1], c.want)
			}
		})
	}
}

func TestTimelineTicks(t *testing.T) {
	lines := drawn(t, timeline{
		Covered: []timeSpan{{at(0), at(100)}},
		Ticks: []timeTick{
			{At: at(-10), Glyph: '|', Label: "off"}, // off the line: dropped
			{At: at(10), Glyph: '|', Label: "aa"},
			{At: at(15), Glyph: '|', Label: "bb"}, // touches "aa": unlabelled
			{At: at(25), Glyph: '|', Label: "cc"},
			{At: at(50), Label: "dd"},              // labelled, not drawn
			{At: at(75), Glyph: '|'},               // drawn, not labelled
			{At: at(95), Glyph: '|', Label: "eee"}, // runs past the end: unlabelled
		},
		OnAxis: []timeMark{{at(25), 'x'}}, // a mark wins over a tick
	})
	if want := "  aa cc   dd"; lines[0] != want {
		t.Errorf("labels %q, want %q", lines[0], want)
	}
	if want := "==||=x=========|===|="; lines[1] != want {
		t.Errorf("axis %q, want %q", lines[1], want)
	}
}

func TestTimelineNothingToDraw(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to time.Time
		width    int
	}{
		{"zero-length window", at(50), at(50), 40},
		{"end before start", at(50), at(10), 40},
		{"unknown start", time.Time{}, at(10), 40},
		{"narrow", at(0), at(100), minTimelineWidth - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := timeline{From: c.from, To: c.to, Below: []timeMark{{at(50), 'm'}}, Chosen: at(50), Legend: "legend"}
			if lines := tl.draw(c.width); lines != nil {
				t.Errorf("draw gave %q, want nil", lines)
			}
		})
	}
}

func TestTimelineNarrowest(t *testing.T) {
	tl := timeline{
		From: at(0), To: at(100),
		Covered: []timeSpan{{at(0), at(100)}},
		Below:   []timeMark{{at(0), 'a'}, {at(100), 'm'}},
		Chosen:  at(50),
		Legend:  "= window  a/m automated/manual snapshot",
	}
	lines := tl.draw(minTimelineWidth)
	if len(lines) != 4 {
		t.Fatalf("draw gave %q, want 4 lines", lines)
	}
	if want := strings.Repeat("=", minTimelineWidth); lines[1] != want {
		t.Errorf("axis %q, want %q", lines[1], want)
	}
	// 19 gaps over 100s: 50s is column 9.5, rounded up to 10.
	if want := "a         ^        m"; lines[2] != want {
		t.Errorf("marks %q, want %q", lines[2], want)
	}
	for _, l := range strings.Split(lines[3], "\n") {
		if len(l) > minTimelineWidth {
			t.Errorf("legend line %q is wider than %d", l, minTimelineWidth)
		}
	}
	if !strings.Contains(lines[3], "\n") {
		t.Errorf("legend %q not wrapped to %d", lines[3], minTimelineWidth)
	}
}
