// Package walinspect shows what happened in archived WAL, so that an
// engineer can stop replay just before the damage: it reads the output of
// the server's own pg_waldump (never a parser of ours for a format that
// changes every release), and sums it up per transaction: rows inserted,
// updated and deleted per relation, relations truncated or dropped, schema
// changes, with the commit time and LSN that a recovery target needs.
package walinspect

import (
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

var recordLine = regexp.MustCompile(`^rmgr: (\S+)\s+len \(rec/tot\):\s*\d+/\s*\d+, tx:\s*(\d+), lsn: ([0-9A-F]+/[0-9A-F]+), prev [0-9A-F]+/[0-9A-F]+, desc: (.*)$`)

// ParseRecord reads one line; ok is false for a line that is not a record
// (pg_waldump's statistics, a blank line).
func ParseRecord(line string) (Record, bool) {
	m := recordLine.FindStringSubmatch(line)
	if m == nil {
		return Record{}, false
	}
	xid, err := strconv.ParseUint(m[2], 10, 32)
	if err != nil {
		return Record{}, false
	}
	lsn, err := pglog.ParseLSN(m[3])
	if err != nil {
		return Record{}, false
	}
	return Record{Rmgr: m[1], Xid: uint32(xid), LSN: lsn, Desc: m[4]}, true
}

// op is the first word of a record's description: "DELETE", "INSERT+INIT".
func (r Record) op() string {
	word, _, _ := strings.Cut(r.Desc, " ")
	word, _, _ = strings.Cut(word, "+")
	return strings.TrimSuffix(word, ",")
}

var blockRel = regexp.MustCompile(`blkref #0: rel (\d+)/(\d+)/(\d+)`)

// rel is the relation of the record's first block reference.
func (r Record) rel() (RelFile, bool) {
	m := blockRel.FindStringSubmatch(r.Desc)
	if m == nil {
		return RelFile{}, false
	}
	return relFile(m[1], m[2], m[3]), true
}

func relFile(ts, db, node string) RelFile {
	t, _ := strconv.ParseUint(ts, 10, 32)
	d, _ := strconv.ParseUint(db, 10, 32)
	n, _ := strconv.ParseUint(node, 10, 32)
	return RelFile{uint32(t), uint32(d), uint32(n)}
}

var tuplesCount = regexp.MustCompile(`(\d+) tuples`)

// tuples is a MULTI_INSERT's row count.
func (r Record) tuples() int64 {
	m := tuplesCount.FindStringSubmatch(r.Desc)
	if m == nil {
		return 1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
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

// ending reads a COMMIT or ABORT record: its time and the relations whose
// files go at commit (dropped, or replaced by a TRUNCATE or a rewrite).
func (r Record) ending() (committed bool, at time.Time, rels []RelFile, ok bool) {
	op := r.op()
	if op != "COMMIT" && op != "ABORT" {
		return false, time.Time{}, nil, false
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.Desc, op), " ")
	stamp, tail, _ := strings.Cut(rest, ";")
	at, err := time.Parse(waldumpTime, strings.TrimSpace(stamp))
	if err != nil {
		return false, time.Time{}, nil, false
	}
	for _, part := range strings.Split(tail, ";") {
		if list, found := strings.CutPrefix(strings.TrimSpace(part), "rels: "); found {
			for _, p := range strings.Fields(list) {
				if rel, ok := pathRel(p); ok {
					rels = append(rels, rel)
				}
			}
		}
	}
	return op == "COMMIT", at.UTC(), rels, true
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
