package pgdump

import (
	"bufio"
	"context"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// importParallel loads a dump with several connections, as pg_restore -j
// does for its own format: the schema (everything before the first COPY)
// in one psql, then the COPY sections shared among Jobs connections, then
// the rest (sequences, indexes, constraints, grants) in one psql. A plain
// dump cannot be read from the middle, so each connection decompresses
// the dump itself and skips to its sections: decompression is several
// times faster than PostgreSQL loads rows.
func (p *Plan) importParallel(ctx context.Context, report func(Event)) error {
	s := p.Script
	db := p.Server.maintenanceDB()
	if s.Database == "" {
		if err := p.createEmpty(ctx); err != nil {
			return err
		}
		db = p.Into
	}
	loaded := &atomic.Int64{}
	stop := p.parallelProgress(ctx, loaded, report)
	defer stop()
	schema := &filter{rename: p.Into}
	err := p.feed(ctx, db, schema, func(Event) {}, func(sql io.Reader, w io.Writer) error {
		return schema.run(&countingReader{r: io.LimitReader(sql, s.DataStart), n: loaded}, w)
	})
	if err != nil {
		return err
	}
	if err := p.loadSections(ctx, loaded); err != nil {
		return err
	}
	rest := &filter{rename: p.Into}
	return p.feed(ctx, p.Into, rest, func(Event) {}, func(sql io.Reader, w io.Writer) error {
		if err := writePreamble(w, s.Preamble); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, sql, s.DataEnd); err != nil {
			return err
		}
		return rest.run(&countingReader{r: sql, n: loaded}, w)
	})
}

// loadSections shares the COPY sections among Jobs connections, largest
// first to the least loaded, and waits for them all.
func (p *Plan) loadSections(ctx context.Context, loaded *atomic.Int64) error {
	shares := shareSections(p.Script.Tables, p.Jobs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, share := range shares {
		if len(share) == 0 {
			continue
		}
		wg.Add(1)
		go func(share []TableData) {
			defer wg.Done()
			if err := p.loadShare(ctx, share, loaded); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(share)
	}
	wg.Wait()
	return first
}

// shareSections is the longest-processing-time-first schedule: each
// section, biggest first, goes to the connection with the least bytes;
// each connection then reads its sections in the dump's order.
func shareSections(tables []TableData, jobs int) [][]TableData {
	sorted := append([]TableData(nil), tables...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].End-sorted[i].Offset > sorted[j].End-sorted[j].Offset })
	shares := make([][]TableData, jobs)
	load := make([]int64, jobs)
	for _, t := range sorted {
		least := 0
		for i := range load {
			if load[i] < load[least] {
				least = i
			}
		}
		shares[least] = append(shares[least], t)
		load[least] += t.End - t.Offset
	}
	for _, s := range shares {
		sort.Slice(s, func(i, j int) bool { return s[i].Offset < s[j].Offset })
	}
	return shares
}

// loadShare is one connection's COPY sections, copied byte for byte.
func (p *Plan) loadShare(ctx context.Context, share []TableData, loaded *atomic.Int64) error {
	f := &filter{}
	return p.feed(ctx, p.Into, f, func(Event) {}, func(sql io.Reader, w io.Writer) error {
		if err := writePreamble(w, p.Script.Preamble); err != nil {
			return err
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		var pos int64
		for _, t := range share {
			if _, err := io.CopyN(io.Discard, sql, t.Offset-pos); err != nil {
				return err
			}
			f.current.Store(t.Table)
			if _, err := io.CopyN(bw, &countingReader{r: sql, n: loaded}, t.End-t.Offset); err != nil {
				return err
			}
			pos = t.End
		}
		return bw.Flush()
	})
}

// writePreamble starts a connection with the dump's session settings.
func writePreamble(w io.Writer, preamble []string) error {
	_, err := io.WriteString(w, strings.Join(preamble, "\n")+"\n")
	return err
}

// countingReader adds the bytes read to a shared count.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// parallelProgress reports the SQL bytes loaded by every connection (the
// compressed position means little when each connection reads the whole
// file).
func (p *Plan) parallelProgress(ctx context.Context, loaded *atomic.Int64, report func(Event)) func() {
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				report(Event{Stage: StageImport, Read: loaded.Load(), Total: p.Script.Bytes, Of: len(p.Script.Tables),
					Elapsed: time.Since(start), Note: "SQL bytes loaded by " + strconv.Itoa(p.Jobs) + " connections"})
			}
		}
	}()
	return func() { close(done); <-finished }
}
