package walinspect

import (
	"bufio"
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"pgrescue/restore/pglog"
)

// Counts are rows changed in one relation.
type Counts struct {
	Inserted, Updated, Deleted int64
}

func (c Counts) total() int64 { return c.Inserted + c.Updated + c.Deleted }

func (c *Counts) add(d Counts) {
	c.Inserted += d.Inserted
	c.Updated += d.Updated
	c.Deleted += d.Deleted
}

// relation is the counts of one relation, made on first use.
func (t *Tx) relation(rel RelFile) *Counts {
	sum := t.Rows[rel]
	if sum == nil {
		sum = &Counts{}
		t.Rows[rel] = sum
	}
	return sum
}

// Tx is one transaction as the WAL shows it.
type Tx struct {
	Xid       uint32
	Committed bool      // false: aborted
	At        time.Time // its commit (or abort) time, UTC
	LSN       pglog.LSN // its commit (or abort) record
	First     pglog.LSN // its first record read
	Rows      map[RelFile]*Counts
	Created   []RelFile // relation files made: CREATE TABLE, TRUNCATE, a rewrite
	Removed   []RelFile // relation files removed at commit: DROP, TRUNCATE, a rewrite
	Locked    []uint32  // relation OIDs locked access exclusive (DDL, TRUNCATE, DROP)
}

// Dropped are the relations the transaction removed without making new
// files: DROP TABLE (or DROP INDEX…).
func (t *Tx) Dropped() []RelFile {
	if len(t.Created) > 0 {
		return nil
	}
	return t.Removed
}

// Replaced are relations whose files were swapped for new ones: TRUNCATE,
// or a rewrite (ALTER TABLE … TYPE, VACUUM FULL, CLUSTER).
func (t *Tx) Replaced() []RelFile {
	if len(t.Created) == 0 {
		return nil
	}
	return t.Removed
}

// UserRows are the rows changed outside the system catalogs.
func (t *Tx) UserRows() Counts {
	var sum Counts
	for rel, c := range t.Rows {
		if !rel.Catalog() {
			sum.add(*c)
		}
	}
	return sum
}

// SchemaChange: rows of the system catalogs changed under an access
// exclusive lock or with new relation files (CREATE, ALTER, DROP), not
// the catalog upkeep of ANALYZE or autovacuum, which takes neither.
func (t *Tx) SchemaChange() bool {
	if len(t.Locked) == 0 && len(t.Created) == 0 {
		return false
	}
	for rel, c := range t.Rows {
		if rel.Catalog() && c.total() > 0 {
			return true
		}
	}
	return false
}

// Relations are the user relations the transaction changed rows of, most
// rows first.
func (t *Tx) Relations() []RelFile {
	var rels []RelFile
	for rel := range t.Rows {
		if !rel.Catalog() {
			rels = append(rels, rel)
		}
	}
	slices.SortFunc(rels, func(a, b RelFile) int {
		if d := t.Rows[b].total() - t.Rows[a].total(); d != 0 {
			return int(max(min(d, 1), -1))
		}
		return int(a.Node) - int(b.Node)
	})
	return rels
}

// destructive reports a transaction worth showing: many rows deleted or
// updated, a relation dropped or truncated, or a schema change.
func (t *Tx) destructive(minRows int64) bool {
	u := t.UserRows()
	return u.Deleted+u.Updated >= minRows || len(t.Removed) > 0 || t.SchemaChange() || u.Inserted >= 10*minRows
}

// Minute sums the transactions that ended in one minute.
type Minute struct {
	At              time.Time
	Commits, Aborts int
	Rows            Counts
}

// Options bound an inspection.
type Options struct {
	// MinRows is how many rows deleted or updated make a transaction
	// worth showing (default 100); drops, truncates and schema changes
	// always are.
	MinRows  int64
	From, To time.Time // commit times to keep; zero: no bound
	Database uint32    // only this database's relations; 0: all
}

// Result is what an inspection found.
type Result struct {
	Transactions []*Tx     // the destructive ones, in commit order
	Minutes      []*Minute // every minute with a commit or abort
	Records      int64
	First, Last  pglog.LSN
	Unfinished   int // transactions still open at the end of the WAL read
}

// Progress is reported every few thousand records.
type Progress struct {
	Records int64
	LSN     pglog.LSN
}

// Reader sums up pg_waldump's output as it streams: memory holds the open
// transactions, the destructive ones and one entry per minute, whatever
// the size of the WAL. One Reader may be fed several runs of segments (a
// gap between them is the caller's to record).
type Reader struct{ in *reader }

// NewReader starts an inspection.
func NewReader(o Options) *Reader {
	if o.MinRows <= 0 {
		o.MinRows = 100
	}
	return &Reader{in: &reader{o: o, open: map[uint32]*Tx{}, res: &Result{}}}
}

// Feed reads pg_waldump's output. Records at or before the last one fed
// since startRun are skipped: a run read in chunks overlaps by a segment.
func (r *Reader) Feed(ctx context.Context, out io.Reader, progress func(Progress)) error {
	in := r.in
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // a commit's invalidation list can be long
	for sc.Scan() {
		rmgr, xid, lsn, desc, ok := splitRecord(sc.Bytes())
		if !ok || lsn <= in.seen {
			continue
		}
		in.seen = lsn
		rec := Record{Xid: xid, LSN: lsn}
		switch name := summed(rmgr); {
		case xid == 0 || name == "":
		case name == "Heap" || name == "Heap2":
			// Millions of these: read in the scanner's buffer.
			in.rows(xid, lsn, desc)
		default:
			rec.Rmgr, rec.Desc = name, string(desc)
		}
		in.add(rec)
		if in.res.Records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(Progress{Records: in.res.Records, LSN: rec.LSN})
			}
		}
	}
	return sc.Err()
}

// startRun is called before a run of segments that does not follow the
// one fed last (after a gap or on another timeline): its records are all
// new, whatever their LSNs.
func (r *Reader) startRun() { r.in.seen = 0 }

// last is the LSN of the last record fed.
func (r *Reader) last() pglog.LSN { return r.in.seen }

// summed returns the resource managers whose records the Reader sums up,
// as a constant string, and "" for the others.
func summed(rmgr []byte) string {
	for _, name := range summedRmgrs {
		if string(rmgr) == name {
			return name
		}
	}
	return ""
}

// Result is what was found so far.
func (r *Reader) Result() *Result {
	r.in.res.Unfinished = len(r.in.open)
	return r.in.res
}

// Read is one Reader fed one stream.
func Read(ctx context.Context, out io.Reader, o Options, progress func(Progress)) (*Result, error) {
	r := NewReader(o)
	err := r.Feed(ctx, out, progress)
	return r.Result(), err
}

type reader struct {
	o       Options
	open    map[uint32]*Tx
	res     *Result
	minutes map[time.Time]*Minute
	seen    pglog.LSN // the last record fed: Feed skips those up to it
}

// tx is the open transaction xid, begun at lsn if it is new.
func (in *reader) tx(xid uint32, lsn pglog.LSN) *Tx {
	t := in.open[xid]
	if t == nil {
		t = &Tx{Xid: xid, First: lsn, Rows: map[RelFile]*Counts{}}
		in.open[xid] = t
	}
	return t
}

func (in *reader) add(rec Record) {
	res := in.res
	res.Records++
	if res.First == 0 {
		res.First = rec.LSN
	}
	res.Last = rec.LSN
	if rec.Xid == 0 {
		return // not part of a transaction: checkpoints, pruning, hint bits
	}
	switch rec.Rmgr {
	case "Heap", "Heap2":
		in.rows(rec.Xid, rec.LSN, []byte(rec.Desc))
	case "Storage":
		if rec.op() == "CREATE" {
			if rel, ok := pathRel(pathOf(rec.Desc)); ok && in.wanted(rel) {
				t := in.tx(rec.Xid, rec.LSN)
				t.Created = append(t.Created, rel)
			}
		}
	case "Standby":
		if rec.op() == "LOCK" {
			t := in.tx(rec.Xid, rec.LSN)
			t.Locked = append(t.Locked, rec.locks()...)
		}
	case "Transaction":
		in.end(rec)
	}
}

// pathOf is the path in a Storage record: "CREATE base/5/16394".
func pathOf(desc string) string {
	_, path, _ := strings.Cut(desc, " ")
	path, _, _ = strings.Cut(path, " ")
	return path
}

func (in *reader) wanted(rel RelFile) bool {
	return in.o.Database == 0 || rel.Database == in.o.Database || rel.Database == 0
}

// rows counts the rows a heap record changes, reading its description
// in place.
func (in *reader) rows(xid uint32, lsn pglog.LSN, desc []byte) {
	rel, ok := relOf(desc)
	if !ok || !in.wanted(rel) {
		return
	}
	var c Counts
	switch string(opOf(desc)) {
	case "INSERT":
		c.Inserted = 1
	case "MULTI_INSERT":
		c.Inserted = tuplesOf(desc)
	case "UPDATE", "HOT_UPDATE":
		c.Updated = 1
	case "DELETE":
		c.Deleted = 1
	default:
		return // LOCK, PRUNE, VACUUM, VISIBLE, CONFIRM…: no row changes
	}
	in.tx(xid, lsn).relation(rel).add(c)
}

func (in *reader) end(rec Record) {
	e, ok := rec.ending()
	if !ok {
		return
	}
	t := in.tx(rec.Xid, rec.LSN)
	delete(in.open, rec.Xid)
	for _, sub := range e.subxacts {
		t.absorb(in.open[sub])
		delete(in.open, sub)
	}
	if (!in.o.From.IsZero() && e.at.Before(in.o.From)) || (!in.o.To.IsZero() && e.at.After(in.o.To)) {
		return
	}
	t.Committed, t.At, t.LSN = e.committed, e.at, rec.LSN
	for _, rel := range e.rels {
		if in.wanted(rel) {
			t.Removed = append(t.Removed, rel)
		}
	}
	in.minute(t)
	if t.destructive(in.o.MinRows) {
		in.res.Transactions = append(in.res.Transactions, t)
	}
}

// absorb adds a committed subtransaction's work (a SAVEPOINT's, which the
// WAL records under its own xid) to its top-level transaction.
func (t *Tx) absorb(sub *Tx) {
	if sub == nil {
		return
	}
	for rel, c := range sub.Rows {
		t.relation(rel).add(*c)
	}
	t.Created = append(t.Created, sub.Created...)
	t.Locked = append(t.Locked, sub.Locked...)
	t.First = min(t.First, sub.First)
}

func (in *reader) minute(t *Tx) {
	if in.minutes == nil {
		in.minutes = map[time.Time]*Minute{}
	}
	at := t.At.Truncate(time.Minute)
	m := in.minutes[at]
	if m == nil {
		m = &Minute{At: at}
		in.minutes[at] = m
		in.res.Minutes = append(in.res.Minutes, m)
	}
	if !t.Committed {
		m.Aborts++
		return
	}
	m.Commits++
	m.Rows.add(t.UserRows())
}
