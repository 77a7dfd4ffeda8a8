package walinspect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
)

// Request is one inspection of archived WAL.
type Request struct {
	Segments    []wale.WALObject // the window's segments, in order
	SegmentSize int64
	// Fetch restores one archived segment to dest (the archive's FetchWAL).
	Fetch   func(ctx context.Context, name, dest string) error
	Waldump string // pg_waldump to use; "" finds the one of the WAL's major version
	TempDir string // where segments wait for pg_waldump; "" is the system's
	Options Options
}

// Gap is WAL missing from the archive between two segments it holds.
type Gap struct{ After, Before string }

// Event reports an inspection's progress.
type Event struct {
	Segment     string // the segment fetched
	Done, Total int    // segments read so far, of all
	Records     int64
	LSN         pglog.LSN
}

// Inspection is a finished inspection.
type Inspection struct {
	*Result
	Gaps    []Gap
	Version recovery.Version // the PostgreSQL major version that wrote the WAL
	Waldump string           // the program that read it
	From    string           // the first segment read
	To      string           // the last
}

// Inspect fetches the window's segments run by run (a missing segment ends
// a run: the gap is reported and the inspection goes on after it), reads
// each run with pg_waldump, and sums the transactions up. Only one run of
// segments is on disk at a time, removed once read.
func Inspect(ctx context.Context, req Request, report func(Event)) (*Inspection, error) {
	if len(req.Segments) == 0 {
		return nil, problem.New(problem.NoBackups, "WAL", "the archive holds no WAL segment in this window", "widen --from/--to, or check the archive with pgrescue wal-list")
	}
	if report == nil {
		report = func(Event) {}
	}
	dir, err := os.MkdirTemp(req.TempDir, "pgrescue-wal-inspect-*")
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, req.TempDir, "cannot make a folder for the WAL to inspect", "give --tempdir with room for the window's WAL")
	}
	defer os.RemoveAll(dir)
	rd := NewReader(req.Options)
	out := &Inspection{From: req.Segments[0].Name, To: req.Segments[len(req.Segments)-1].Name}
	done := 0
	for _, run := range runs(req.Segments, req.SegmentSize) {
		if done > 0 {
			out.Gaps = append(out.Gaps, Gap{After: req.Segments[done-1].Name, Before: run[0].Name})
		}
		for _, seg := range run {
			if err := req.Fetch(ctx, seg.Name, filepath.Join(dir, seg.Name)); err != nil {
				return nil, err
			}
			done++
			report(Event{Segment: seg.Name, Done: done, Total: len(req.Segments)})
		}
		if out.Version == (recovery.Version{}) {
			if out.Waldump, out.Version, err = waldumpFor(ctx, filepath.Join(dir, run[0].Name), req.Waldump); err != nil {
				return nil, err
			}
		}
		progress := func(p Progress) { report(Event{Done: done, Total: len(req.Segments), Records: p.Records, LSN: p.LSN}) }
		if err := Dump(ctx, out.Waldump, dir, run[0].Name, run[len(run)-1].Name, rd, progress); err != nil {
			return nil, err
		}
		for _, seg := range run {
			os.Remove(filepath.Join(dir, seg.Name))
		}
	}
	out.Result = rd.Result()
	return out, nil
}

// runs splits segments at every gap in their numbering.
func runs(segs []wale.WALObject, size int64) [][]wale.WALObject {
	var all [][]wale.WALObject
	start := 0
	for i := 1; i <= len(segs); i++ {
		if i == len(segs) || segs[i].Segment.Timeline != segs[i-1].Segment.Timeline ||
			segs[i].Segment.Number(size) != segs[i-1].Segment.Number(size)+1 {
			all = append(all, segs[start:i])
			start = i
		}
	}
	return all
}

// waldumpFor finds the pg_waldump of the major version that wrote a segment;
// given is --pg-waldump: checked to be of that version too.
func waldumpFor(ctx context.Context, path, given string) (string, recovery.Version, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", recovery.Version{}, problem.Wrap(err, problem.LocalIO, path, "cannot read a fetched segment", "")
	}
	defer f.Close()
	head := make([]byte, 2)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", recovery.Version{}, problem.Wrap(err, problem.Corrupt, path, "the segment is empty", "")
	}
	v, ok := VersionOfSegment(head)
	if !ok && given != "" {
		return given, v, nil // a version pgrescue does not know: the engineer's program reads it
	}
	if !ok {
		return "", v, &problem.Error{Kind: problem.Corrupt, Subject: filepath.Base(path),
			Summary: fmt.Sprintf("the segment's page magic %#04x is no PostgreSQL version pgrescue knows (9.3 to 18)", uint16(head[0])|uint16(head[1])<<8),
			Next:    "give the pg_waldump of the server that wrote it with --pg-waldump"}
	}
	program, err := FindWaldump(ctx, v, given)
	return program, v, err
}

// SegmentsBetween chooses the segments whose upload times cover commits from from to
// to: from the last one uploaded before from (it holds the commits just
// before its upload) to the first uploaded after to. Zero times do not bound.
func SegmentsBetween(segs []wale.WALObject, from, to time.Time) []wale.WALObject {
	first, last := 0, len(segs)-1
	if !from.IsZero() {
		for i, s := range segs {
			if s.LastModified.Before(from) {
				first = i
			}
		}
	}
	if !to.IsZero() {
		for i := first; i < len(segs); i++ {
			if !segs[i].LastModified.Before(to) {
				last = i
				break
			}
		}
	}
	if first > last {
		return nil
	}
	return segs[first : last+1]
}
