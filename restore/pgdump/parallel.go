package pgdump

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pgrescue/problem"
)

// importParallel loads a dump with several connections, as pg_restore -j
// does for its own format: the schema (everything before the first COPY)
// on one psql, then the COPY sections on Jobs connections, then the rest
// (sequences, indexes, constraints, grants) on one psql. A plain dump
// cannot be read from the middle, so each connection reads the dump
// itself and takes the next COPY section no other has taken: one loading
// a big table is passed by the others, which skip it at the speed of
// decompression. The first connection also keeps what follows the data,
// which is small, to load last.
func (p *Plan) importParallel(ctx context.Context, report func(Event)) error {
	db, err := p.firstDB(ctx)
	if err != nil {
		return err
	}
	loaded := &atomic.Int64{}
	current := &atomic.Value{}
	stopProgress := p.parallelProgress(ctx, loaded, current, report)
	defer stopProgress()
	schema := &filter{rename: p.Into}
	err = p.feed(ctx, db, schema, func(Event) {}, func(sql io.Reader, w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		err := schema.each(sql, func(line, out []byte) error {
			if len(schema.script.Tables) > 0 {
				return errStop
			}
			loaded.Add(int64(len(line)))
			_, err := bw.Write(out)
			return err
		})
		if err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return err
	}
	whole, rest, err := p.loadSections(ctx, schema.script.Preamble, loaded, current)
	if err != nil {
		return err
	}
	p.Script = whole
	if err := p.checkWhole(whole); err != nil {
		return err
	}
	return p.session(ctx, p.Into, p.Dump, func(w io.Writer) error {
		if err := writePreamble(w, whole.Preamble); err != nil {
			return err
		}
		_, err := w.Write(rest)
		loaded.Add(int64(len(rest)))
		return err
	})
}

// maxRest bounds what the first connection keeps of the dump after its
// data: a schema's indexes, constraints and grants are kilobytes to a few
// megabytes; more means data the plain format interleaves (large objects).
const maxRest = 64 << 20

// claims hands out COPY sections, by their place in the dump, once each.
type claims struct {
	mu    sync.Mutex
	taken map[int]bool
}

func (c *claims) take(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken[i] {
		return false
	}
	c.taken[i] = true
	return true
}

// loadSections runs Jobs connections over the dump and returns the first
// one's account of the whole dump (every section's rows) and what follows
// the data.
func (p *Plan) loadSections(ctx context.Context, preamble []string, loaded *atomic.Int64, current *atomic.Value) (*Script, []byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	board := &claims{taken: map[int]bool{}}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		whole *Script
		rest  bytes.Buffer
	)
	for i := range p.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep *bytes.Buffer
			if i == 0 {
				keep = &rest
			}
			s, err := p.loadClaimed(ctx, board, preamble, keep, loaded, current)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			if i == 0 {
				whole = s
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, nil, first
	}
	return whole, rest.Bytes(), nil
}

// loadClaimed is one connection: it reads the whole dump, loads each COPY
// section it is first to claim, and (for the first connection) keeps the
// dump's lines after its first COPY that are not COPY data.
func (p *Plan) loadClaimed(ctx context.Context, board *claims, preamble []string, keep *bytes.Buffer, loaded *atomic.Int64, current *atomic.Value) (*Script, error) {
	f := &filter{freeze: true, freezable: p.Head.Freezable}
	if keep != nil {
		f.rename = p.Into
	}
	err := p.feed(ctx, p.Into, f, func(Event) {}, func(sql io.Reader, w io.Writer) error {
		if err := writePreamble(w, preamble); err != nil {
			return err
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		inSection, loading := false, false
		err := f.each(sql, func(line, out []byte) error {
			switch {
			case !inSection && f.inCopy: // a COPY line
				inSection = true
				loading = board.take(len(f.script.Tables) - 1)
				if !loading {
					return nil
				}
				current.Store(f.script.Tables[len(f.script.Tables)-1].Table)
			case inSection:
				inSection = f.inCopy // false after the \. line
				if !loading {
					return nil
				}
			default:
				if keep != nil && len(f.script.Tables) > 0 {
					if keep.Len()+len(out) > maxRest {
						return problem.New(problem.Usage, p.Dump.Path, "--jobs: more than 64 MiB of the dump follows its table data (large objects?)", "restore it without --jobs")
					}
					keep.Write(out)
				}
				return nil
			}
			loaded.Add(int64(len(line)))
			_, err := bw.Write(out)
			return err
		})
		if err != nil {
			return err
		}
		return bw.Flush()
	})
	return &f.script, err
}

// writePreamble starts a connection with the dump's session settings.
func writePreamble(w io.Writer, preamble []string) error {
	_, err := io.WriteString(w, strings.Join(preamble, "\n")+"\n")
	return err
}

// parallelProgress reports the SQL bytes loaded by every connection (the
// compressed position means little when each connection reads the whole
// file).
func (p *Plan) parallelProgress(ctx context.Context, loaded *atomic.Int64, current *atomic.Value, report func(Event)) func() {
	start := time.Now()
	return every(ctx, 250*time.Millisecond, func() {
		e := Event{Stage: StageImport, Read: loaded.Load(), Elapsed: time.Since(start), Note: "SQL bytes loaded by " + strconv.Itoa(p.Jobs) + " connections"}
		if t, ok := current.Load().(string); ok {
			e.Table = t
		}
		report(e)
	})
}
