package replay

import (
	"fmt"
	"time"

	"pgrescue/restore/pglog"
	"pgrescue/restore/wale"
)

// Progress is the honest arithmetic of a replay: where WAL replay started,
// where it will end, where it is now, how fast it moves. Positions are LSNs
// (byte positions in the WAL stream), observed from the server log:
// "restored log file" gives segment granularity on every version, "redo in
// progress … current LSN" (15+) the exact position.
type Progress struct {
	SegmentSize int64
	Start       uint64 // redo start: backup_label, the control file's checkpoint, or "redo starts at"
	End         uint64 // end of the newest archived segment, or of the segment holding the target
	EndExact    bool   // false while End is only an estimate (a target time inside a segment)
	Current     uint64
	Began       time.Time
	Finished    bool // redo done: Current is final

	LastRestored  string // the newest WAL file restored from the archive
	RestoredCount int    // segments restored so far

	samples []sample // (time, LSN), for the rate over a sliding window
	seen    map[string]bool
}

type sample struct {
	at  time.Time
	lsn uint64
}

// rateWindow is long enough to smooth one-segment steps, short enough to
// follow a change of pace (a burst of bulk loads in the WAL).
const rateWindow = 15 * time.Second

// NewProgress starts the model at start with the expected end.
func NewProgress(start, end uint64, endExact bool, segmentSize int64, began time.Time) *Progress {
	if segmentSize <= 0 {
		segmentSize = wale.DefaultSegmentSize
	}
	p := &Progress{SegmentSize: segmentSize, Start: start, End: end, EndExact: endExact, Current: start, Began: began}
	p.samples = []sample{{began, start}}
	return p
}

// RedoStarts sets the exact start once the server says where redo begins.
func (p *Progress) RedoStarts(lsn uint64, at time.Time) {
	p.Start = lsn
	if p.Current < lsn {
		p.Current = lsn
	}
	p.samples = []sample{{at, lsn}}
}

// Restored counts a WAL file PostgreSQL received from the archive. Its
// position comes from the log parser (see ReplayedTo), which knows the
// server reads a segment or two ahead of replay.
func (p *Progress) Restored(name string) {
	p.LastRestored = name
	if _, err := wale.ParseSegment(name); err != nil {
		return // a .history file
	}
	// PostgreSQL asks for the last segment again at the end of recovery:
	// count each segment once.
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[name] {
		p.seen[name] = true
		p.RestoredCount++
	}
}

// HasRestored reports whether PostgreSQL received the segment name.
func (p *Progress) HasRestored(name string) bool { return p.seen[name] }

// ReplayedTo records replay's position, as the log parser estimates it
// (pglog.State.CurrentLSN); positions never go back until Done.
func (p *Progress) ReplayedTo(lsn uint64, at time.Time) { p.advance(lsn, at) }

// Done records "redo done at": the final position. Restored segments run
// ahead of replay (the server reads ahead), so the position may go back.
func (p *Progress) Done(lsn uint64, at time.Time) {
	p.advance(lsn, at)
	p.Current = lsn
	p.Finished = true
}

func (p *Progress) advance(lsn uint64, at time.Time) {
	if lsn <= p.Current {
		return
	}
	p.Current = lsn
	if p.End < lsn {
		p.End = lsn // the estimate was short; never show more than 100%
	}
	p.samples = append(p.samples, sample{at, lsn})
	for len(p.samples) > 2 && at.Sub(p.samples[1].at) > rateWindow {
		p.samples = p.samples[1:]
	}
}

// Snapshot is the model at one moment, ready to print.
type Snapshot struct {
	Percent       float64 // 0 to 100; 100 only once redo is done
	Current       uint64
	Start, End    uint64
	EndExact      bool
	SegmentsDone  int
	SegmentsLeft  int
	Rate          float64 // bytes of WAL per second over the last window; 0 when unknown
	ETA           time.Duration
	HasETA        bool
	Elapsed       time.Duration
	LastRestored  string
	Finished      bool
	SegmentsTotal int
}

// At computes the snapshot at now.
func (p *Progress) At(now time.Time) Snapshot {
	s := Snapshot{
		Current: p.Current, Start: p.Start, End: p.End, EndExact: p.EndExact,
		Elapsed: now.Sub(p.Began), LastRestored: p.LastRestored, Finished: p.Finished,
	}
	size := uint64(p.SegmentSize)
	startSeg := p.Start / size
	endSeg := startSeg
	if p.End > 0 {
		endSeg = (p.End - 1) / size
	}
	curSeg := p.Current / size
	s.SegmentsTotal = int(endSeg-startSeg) + 1
	s.SegmentsDone = int(curSeg - startSeg)
	s.SegmentsLeft = max(int(endSeg)-int(curSeg), 0)
	switch {
	case p.Finished:
		s.Percent, s.SegmentsDone, s.SegmentsLeft = 100, s.SegmentsTotal, 0
	case p.End > p.Start:
		s.Percent = min(100*float64(p.Current-p.Start)/float64(p.End-p.Start), 99.9)
	}
	s.Rate = p.rate()
	if s.Rate > 0 && !p.Finished {
		s.ETA = time.Duration(float64(p.End-p.Current) / s.Rate * float64(time.Second))
		s.HasETA = true
	}
	return s
}

// A rate is only shown once it rests on enough observation: the first
// records after the start would otherwise promise hours or seconds.
const (
	minRateSpan  = 2 * time.Second
	minRateBytes = 1 << 20
)

func (p *Progress) rate() float64 {
	if len(p.samples) < 2 {
		return 0
	}
	first, last := p.samples[0], p.samples[len(p.samples)-1]
	d := last.at.Sub(first.at)
	if d < minRateSpan || last.lsn-first.lsn < minRateBytes {
		return 0
	}
	return float64(last.lsn-first.lsn) / d.Seconds()
}

// String is one progress line for plain output.
func (s Snapshot) String() string {
	line := fmt.Sprintf("replay %5.1f%%  at %s  segments %d done, %d left", s.Percent, FormatLSN(s.Current), s.SegmentsDone, s.SegmentsLeft)
	if s.Rate > 0 {
		line += fmt.Sprintf("  %s/s", wale.HumanBytes(int64(s.Rate)))
	}
	if s.HasETA {
		line += "  ETA " + s.ETA.Round(time.Second).String()
	}
	if !s.EndExact && !s.Finished {
		line += " (end estimated)"
	}
	return line + "  elapsed " + s.Elapsed.Round(time.Second).String()
}

// FormatLSN writes an LSN as PostgreSQL does: %X/%X.
func FormatLSN(lsn uint64) string { return pglog.LSN(lsn).String() }
