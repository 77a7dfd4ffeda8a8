package walinspect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
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
	Workers int    // segments fetched at once; 0 is DefaultWorkers
	Options Options
}

// Gap is WAL missing from the archive between two segments it holds.
type Gap struct{ After, Before string }

// Event reports an inspection's progress.
type Event struct {
	Segment     string // the segment just fetched; "" when records were read
	Done, Total int    // segments fetched so far, of all
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

// chunkBytes is how much WAL one pg_waldump run reads: enough that
// starting it costs nothing, little enough that the next chunk is fetched
// while this one is read, and the disk holds two chunks, not the window.
var chunkBytes int64 = 128 << 20

// DefaultWorkers is how many segments are fetched at once: decrypting and
// decompressing, not reading, is the slow part.
const DefaultWorkers = 2

// Inspect fetches the window's segments and reads them with pg_waldump as
// they arrive, chunk by chunk, summing the transactions up. A missing
// segment ends a run: the gap is reported and the inspection goes on
// after it. The disk holds at most two chunks of segments.
func Inspect(ctx context.Context, req Request, report func(Event)) (*Inspection, error) {
	if len(req.Segments) == 0 {
		return nil, noSegments()
	}
	dir, err := os.MkdirTemp(req.TempDir, "pgrescue-wal-inspect-*")
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, req.TempDir, "cannot make a folder for the WAL to inspect", "give --tempdir with room for 300 MiB of WAL")
	}
	defer os.RemoveAll(dir)
	if report == nil {
		report = func(Event) {}
	}
	ins := &inspection{req: req, dir: dir, progress: &progress{report: report, last: Event{Total: len(req.Segments)}}, rd: NewReader(req.Options),
		out: &Inspection{From: req.Segments[0].Name, To: req.Segments[len(req.Segments)-1].Name}}
	read := 0
	for _, run := range runs(req.Segments, req.SegmentSize) {
		if read > 0 {
			ins.out.Gaps = append(ins.out.Gaps, Gap{After: req.Segments[read-1].Name, Before: run[0].Name})
		}
		if err := ins.run(ctx, run, read); err != nil {
			return nil, err
		}
		read += len(run)
	}
	ins.out.Result = ins.rd.Result()
	return ins.out, nil
}

// inspection is one Inspect under way.
type inspection struct {
	req      Request
	dir      string
	progress *progress
	rd       *Reader
	out      *Inspection
}

// run reads one run of consecutive segments: pg_waldump reads chunk after
// chunk while the fetcher fills the next. A chunk starts at the segment
// of the last record read, as a record can cross into the next segment
// and pg_waldump leaves out one that crosses the end of its last file;
// the Reader skips the records it was fed already.
func (ins *inspection) run(ctx context.Context, run []wale.WALObject, before int) error {
	per := max(1, int(chunkBytes/max(ins.req.SegmentSize, 1)))
	f := startFetching(ctx, ins.req, ins.dir, run, 2*per+1, func(fetched int, name string) {
		ins.progress.fetched(before+fetched, name)
	})
	defer f.stop()
	ins.rd.startRun()
	first := 0
	for last := min(per, len(run)) - 1; ; last = min(last+per, len(run)-1) {
		if err := f.wait(last); err != nil {
			return err
		}
		if err := ins.dump(ctx, run, first, last); err != nil {
			return err
		}
		if last == len(run)-1 {
			return nil
		}
		next := max(segmentOf(run, ins.rd.last(), ins.req.SegmentSize, first), last+1-per)
		f.release(first, next)
		first = next
	}
}

// dump reads run[first..last] with pg_waldump, found from the first
// segment the first time.
func (ins *inspection) dump(ctx context.Context, run []wale.WALObject, first, last int) error {
	out := ins.out
	if out.Version == (recovery.Version{}) {
		var err error
		if out.Waldump, out.Version, err = waldumpFor(ctx, filepath.Join(ins.dir, run[first].Name), ins.req.Waldump); err != nil {
			return err
		}
	}
	return Dump(ctx, out.Waldump, out.Version, ins.dir, run[first].Name, run[last].Name, ins.rd, ins.progress.read)
}

// segmentOf is the index in run, from from on, of the segment holding lsn.
func segmentOf(run []wale.WALObject, lsn pglog.LSN, size int64, from int) int {
	for i := len(run) - 1; i > from; i-- {
		if run[i].Segment.Number(size)*uint64(size) <= uint64(lsn) {
			return i
		}
	}
	return from
}

// progress tells report of segments fetched and records read, from the
// fetchers and the reader: one call at a time, each with both counts.
type progress struct {
	mu     sync.Mutex
	report func(Event)
	last   Event
}

func (p *progress) fetched(done int, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last.Segment, p.last.Done = name, done
	p.report(p.last)
}

func (p *progress) read(r Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last.Segment, p.last.Records, p.last.LSN = "", r.Records, r.LSN
	p.report(p.last)
}

func noSegments() error {
	return problem.New(problem.NoBackups, "WAL", "the archive holds no WAL segment in this window", "widen --from/--to, or check the archive with pgrescue wal-list")
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
