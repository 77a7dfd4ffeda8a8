package replay

import (
	"math"
	"strings"
	"testing"
	"time"

	"pgrescue/restore/wale"
)

const mib16 = 16 << 20

// The worked example of pg-recovery.md §3.3, from pg15-replay-log-full.txt:
// redo from 0/3000028, newest archived segment 0x14.
func TestProgressMatchesTheWorkedExample(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 2, 33, 0, 0, time.UTC)
	p := NewProgress(0x3000028, 0x15000000, true, mib16, t0)
	for i, c := range []struct {
		lsn  uint64
		want float64
	}{{0x8FB64F8, 33.2}, {0xC9BCA48, 53.4}, {0xF215E90, 67.4}, {0x12FFE5A0, 88.9}} {
		p.ReplayedTo(c.lsn, t0.Add(time.Duration(i+1)*time.Second))
		got := p.At(t0.Add(time.Duration(i+1) * time.Second)).Percent
		if math.Abs(got-c.want) > 0.05 {
			t.Errorf("at %s: %.2f%%, want %.1f%%", FormatLSN(c.lsn), got, c.want)
		}
	}
	p.Done(0x14000110, t0.Add(5*time.Second))
	s := p.At(t0.Add(5 * time.Second))
	if s.Percent != 100 || s.SegmentsLeft != 0 || s.SegmentsDone != 18 || s.HasETA {
		t.Errorf("after redo done: %+v", s)
	}
}

func TestProgressNeverReaches100BeforeRedoDone(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := NewProgress(0x3000000, 0x5000000, false, mib16, t0)
	p.ReplayedTo(0x6000000, t0.Add(time.Second)) // past the estimated end
	s := p.At(t0.Add(time.Second))
	if s.Percent >= 100 || s.End != 0x6000000 {
		t.Errorf("percent %.1f end %s: the estimate must stretch, not overflow", s.Percent, FormatLSN(s.End))
	}
	if !strings.Contains(s.String(), "end estimated") {
		t.Errorf("line %q does not say the end is an estimate", s.String())
	}
}

func TestProgressFromRestoredSegments(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewProgress(0x12000000, 0x19000000, true, mib16, t0)
	for i, name := range []string{"00000002.history", "000000010000000000000012", "000000010000000000000013", "000000010000000000000014", "000000010000000000000014"} {
		p.Restored(name)
		if seg, err := wale.ParseSegment(name); err == nil {
			p.ReplayedTo(seg.Number(mib16)*mib16, t0.Add(time.Duration(i)*2*time.Second))
		}
	}
	s := p.At(t0.Add(6 * time.Second))
	if p.RestoredCount != 3 {
		t.Errorf("restored %d segments: the repeated last one counts once", p.RestoredCount)
	}
	if s.SegmentsDone != 2 || s.SegmentsLeft != 4 || s.SegmentsTotal != 7 || s.LastRestored != "000000010000000000000014" {
		t.Errorf("snapshot %+v", s)
	}
	// Two segments (32 MiB) in the 6 s since the start (segment 12 was
	// where replay began, so restoring it moved nothing).
	if want := float64(2*mib16) / 6; math.Abs(s.Rate-want) > 1 {
		t.Errorf("rate %.0f B/s, want %.0f", s.Rate, want)
	}
	// Replay is at the start of segment 14: five segments to the end of 18.
	if !s.HasETA || s.ETA != 15*time.Second {
		t.Errorf("ETA %v, want 15s for 80 MiB at 32 MiB per 6 s", s.ETA)
	}
	if p.RestoredCount != 3 {
		t.Errorf("restored count %d: the .history file is not a segment", p.RestoredCount)
	}
}

func TestRateUsesASlidingWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := NewProgress(0, 100*mib16, true, mib16, t0)
	// Slow for a minute, then fast: the rate must follow the recent pace.
	for i := 1; i <= 60; i++ {
		p.ReplayedTo(uint64(i)*1000, t0.Add(time.Duration(i)*time.Second))
	}
	for i := 1; i <= 20; i++ {
		p.ReplayedTo(60000+uint64(i)*mib16, t0.Add(time.Duration(60+i)*time.Second))
	}
	if r := p.At(t0.Add(80 * time.Second)).Rate; r < 0.9*mib16 {
		t.Errorf("rate %.0f B/s still dragged down by the slow minute", r)
	}
}
