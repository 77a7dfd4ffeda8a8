// Package walinspect shows what happened in archived WAL, so that an
// engineer can stop replay just before the damage: it reads the output of
// the server's own pg_waldump (never a parser of ours for a format that
// changes every release), and sums it up per transaction: rows inserted,
// updated and deleted per relation, relations truncated or dropped, schema
// changes, with the commit time and LSN that a recovery target needs.
package walinspect

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pgrescue/restore/pglog"
)

// RelFile names a relation's files as the WAL does: tablespace, database
// and relfilenode (not the relation's OID: they differ after a rewrite).
type RelFile struct {
	Tablespace, Database, Node uint32
}

func (r RelFile) String() string { return fmt.Sprintf("%d/%d/%d", r.Tablespace, r.Database, r.Node) }

// MarshalText names the relation in JSON as pg_waldump does: "1663/5/16384".
func (r RelFile) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// firstUserOID is PostgreSQL's FirstNormalObjectId: objects below it come
// with initdb (the catalogs), so rows changed there are schema changes.
const firstUserOID = 16384

// Catalog reports whether the relation is one of initdb's (a system catalog).
func (r RelFile) Catalog() bool { return r.Node < firstUserOID }

// Record is one line of pg_waldump's output.
type Record struct {
	Rmgr string
	Xid  uint32
	LSN  pglog.LSN
	Desc string
}

// ParseRecord reads one line; ok is false for a line that is not a record
// (pg_waldump's statistics, a blank line).
func ParseRecord(line string) (Record, bool) {
	rmgr, xid, lsn, desc, ok := splitRecord([]byte(line))
	if !ok {
		return Record{}, false
	}
	return Record{Rmgr: string(rmgr), Xid: xid, LSN: lsn, Desc: string(desc)}, true
}

// splitRecord reads the fixed head of a record line without allocating:
//
//	rmgr: Heap  len (rec/tot):  54/  54, tx:  726, lsn: 0/02034F90, prev 0/02034F68, desc: DELETE …
//
// pg_waldump prints gigabytes of these; a regular expression per line
// made reading them four times slower than pg_waldump writing them.
func splitRecord(line []byte) (rmgr []byte, xid uint32, lsn pglog.LSN, desc []byte, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte("rmgr: "))
	if !found {
		return nil, 0, 0, nil, false
	}
	rmgr, rest, found = bytes.Cut(rest, []byte(" "))
	if !found || len(rmgr) == 0 {
		return nil, 0, 0, nil, false
	}
	if _, rest, found = bytes.Cut(rest, []byte(", tx:")); !found {
		return nil, 0, 0, nil, false
	}
	number, rest, found := bytes.Cut(bytes.TrimLeft(rest, " "), []byte(", lsn: "))
	if !found {
		return nil, 0, 0, nil, false
	}
	x, isNumber := decimal(number)
	if !isNumber || x > 1<<32-1 {
		return nil, 0, 0, nil, false
	}
	at, rest, found := bytes.Cut(rest, []byte(", prev "))
	if !found {
		return nil, 0, 0, nil, false
	}
	lsn, err := pglog.ParseLSN(string(at))
	if err != nil {
		return nil, 0, 0, nil, false
	}
	if _, desc, found = bytes.Cut(rest, []byte(", desc: ")); !found {
		return nil, 0, 0, nil, false
	}
	return rmgr, uint32(x), lsn, desc, true
}

// decimal reads an unsigned decimal number, all of b.
func decimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// leadingDecimal reads the digits at the start of b; ok is false when
// there are none.
func leadingDecimal(b []byte) (n uint64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + uint64(b[i]-'0')
		i++
	}
	return n, b[i:], i > 0
}

// The description of the millions of row records is read in the
// scanner's buffer, without a copy; these methods read a Record's alike.

// op is the first word of a record's description: "DELETE", "INSERT+INIT".
func (r Record) op() string { return string(opOf([]byte(r.Desc))) }

// rel is the relation of the record's first block reference.
func (r Record) rel() (RelFile, bool) { return relOf([]byte(r.Desc)) }

// tuples is a MULTI_INSERT's row count.
func (r Record) tuples() int64 { return tuplesOf([]byte(r.Desc)) }

// opOf is the first word of a description without its flags: "INSERT"
// for "INSERT+INIT off 1".
func opOf(desc []byte) []byte {
	word, _, _ := bytes.Cut(desc, []byte(" "))
	word, _, _ = bytes.Cut(word, []byte("+"))
	return bytes.TrimSuffix(word, []byte(","))
}

// relOf reads the first block reference's relation:
// "blkref #0: rel 1663/5/16384 blk 0" (16 puts a comma after the node).
func relOf(desc []byte) (RelFile, bool) {
	_, ref, found := bytes.Cut(desc, []byte("blkref #0: rel "))
	if !found {
		return RelFile{}, false
	}
	var ids [3]uint32
	for i := range ids {
		n, rest, ok := leadingDecimal(ref)
		if !ok || n > 1<<32-1 || (i < 2 && !bytes.HasPrefix(rest, []byte("/"))) {
			return RelFile{}, false
		}
		ids[i] = uint32(n)
		ref = bytes.TrimPrefix(rest, []byte("/"))
	}
	return RelFile{ids[0], ids[1], ids[2]}, true
}

func relFile(ts, db, node string) RelFile {
	t, _ := strconv.ParseUint(ts, 10, 32)
	d, _ := strconv.ParseUint(db, 10, 32)
	n, _ := strconv.ParseUint(node, 10, 32)
	return RelFile{uint32(t), uint32(d), uint32(n)}
}

// tuplesOf is a MULTI_INSERT's row count: "ntuples: 61, flags: 0x02" from
// PostgreSQL 16, "61 tuples flags 0x02" before.
func tuplesOf(desc []byte) int64 {
	if _, after, found := bytes.Cut(desc, []byte("ntuples: ")); found {
		if n, _, ok := leadingDecimal(after); ok {
			return int64(n)
		}
	}
	if before, _, found := bytes.Cut(desc, []byte(" tuples")); found {
		i := len(before)
		for i > 0 && before[i-1] >= '0' && before[i-1] <= '9' {
			i--
		}
		if n, _, ok := leadingDecimal(before[i:]); ok {
			return int64(n)
		}
	}
	return 1
}

// pathRel reads a relation path as commit records and Storage records
// name it: base/DB/NODE, global/NODE, pg_tblspc/TS/PG_<version>/DB/NODE.
func pathRel(path string) (RelFile, bool) {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) == 3 && parts[0] == "base":
		return relFile("1663", parts[1], parts[2]), true
	case len(parts) == 2 && parts[0] == "global":
		return relFile("1664", "0", parts[1]), true
	case len(parts) == 5 && parts[0] == "pg_tblspc":
		return relFile(parts[1], parts[3], parts[4]), true
	}
	return RelFile{}, false
}

// waldumpTime is how pg_waldump prints a commit time when run with TZ=UTC.
const waldumpTime = "2006-01-02 15:04:05.999999 MST"

// ending is what a COMMIT or ABORT record says.
type ending struct {
	committed bool
	at        time.Time
	rels      []RelFile // relations whose files go: dropped, or replaced by a TRUNCATE or a rewrite
	subxacts  []uint32  // its committed subtransactions, whose rows are its own
}

// ending reads a COMMIT or ABORT record:
// "COMMIT 2026-12-04 09:20:30.820982 UTC; rels: base/5/16384; subxacts: 726".
func (r Record) ending() (ending, bool) {
	op := r.op()
	if op != "COMMIT" && op != "ABORT" {
		return ending{}, false
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.Desc, op), " ")
	stamp, tail, _ := strings.Cut(rest, ";")
	at, err := time.Parse(waldumpTime, strings.TrimSpace(stamp))
	if err != nil {
		return ending{}, false
	}
	e := ending{committed: op == "COMMIT", at: at.UTC()}
	for _, part := range strings.Split(tail, ";") {
		part = strings.TrimSpace(part)
		if list, found := strings.CutPrefix(part, "rels: "); found {
			for _, p := range strings.Fields(list) {
				if rel, ok := pathRel(p); ok {
					e.rels = append(e.rels, rel)
				}
			}
		}
		if list, found := strings.CutPrefix(part, "subxacts:"); found {
			for _, x := range strings.Fields(list) {
				if xid, err := strconv.ParseUint(x, 10, 32); err == nil {
					e.subxacts = append(e.subxacts, uint32(xid))
				}
			}
		}
	}
	return e, true
}

var lockedRel = regexp.MustCompile(`db (\d+) rel (\d+)`)

// locks are the relation OIDs a Standby LOCK record names: the access
// exclusive locks of DDL, TRUNCATE and DROP.
func (r Record) locks() []uint32 {
	var oids []uint32
	for _, m := range lockedRel.FindAllStringSubmatch(r.Desc, -1) {
		if oid, err := strconv.ParseUint(m[2], 10, 32); err == nil {
			oids = append(oids, uint32(oid))
		}
	}
	return oids
}
