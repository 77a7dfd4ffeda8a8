package walinspect

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Names turn the WAL's numbers into what people call things: relation
// files and OIDs into schema.table, database OIDs into names, as a server's
// catalog has them now. A relation dropped since keeps its number.
type Names struct {
	Source    string            // the server they were read from, for messages
	Databases map[uint32]string // OID → name
	Files     map[RelFile]string
	OIDs      map[[2]uint32]string // (database OID, relation OID) → name
}

// With is n completed by more: n's names where both have one (n is
// the live server, more the backup), more's where only it has one.
func (n *Names) With(more *Names) *Names {
	if n == nil {
		return more
	}
	if more == nil {
		return n
	}
	both := &Names{Source: n.Source + ", then " + more.Source, Databases: maps.Clone(more.Databases),
		Files: maps.Clone(more.Files), OIDs: maps.Clone(more.OIDs)}
	maps.Copy(both.Databases, n.Databases)
	maps.Copy(both.Files, n.Files)
	maps.Copy(both.OIDs, n.OIDs)
	return both
}

// File names a relation file: "public.documents", or its numbers.
func (n *Names) File(r RelFile) string {
	if n != nil {
		if name, ok := n.Files[r]; ok {
			return name
		}
	}
	return r.String()
}

// Relation names a relation OID of a database.
func (n *Names) Relation(db, oid uint32) string {
	if n != nil {
		if name, ok := n.OIDs[[2]uint32{db, oid}]; ok {
			return name
		}
	}
	return "relation " + strconv.FormatUint(uint64(oid), 10)
}

// DatabaseOID finds a database by name.
func (n *Names) DatabaseOID(name string) (uint32, bool) {
	if n != nil {
		for oid, db := range n.Databases {
			if db == name {
				return oid, true
			}
		}
	}
	return 0, false
}

// DatabaseNames are the databases' names, sorted.
func (n *Names) DatabaseNames() []string {
	if n == nil {
		return nil
	}
	return slices.Sorted(maps.Values(n.Databases))
}

// Database names a database OID.
func (n *Names) Database(oid uint32) string {
	if n != nil {
		if name, ok := n.Databases[oid]; ok {
			return name
		}
	}
	return "database " + strconv.FormatUint(uint64(oid), 10)
}

// Catalog reads names from a server's catalog, one query per database
// that accepts connections.
type Catalog struct {
	Server Querier
	Source string // the server, for messages
}

// Querier runs one SQL statement on a database and returns its rows
// (pgdump.Server, psql with libpq's settings or a DSN).
type Querier interface {
	Query(ctx context.Context, db, sql string) ([][]string, error)
}

// relationsSQL lists a database's relations with the file numbers the WAL
// uses: pg_relation_filenode (mapped catalogs have relfilenode 0) in the
// relation's tablespace (0 is the database's default).
const relationsSQL = `SELECT COALESCE(NULLIF(c.reltablespace, 0), d.dattablespace), pg_relation_filenode(c.oid), c.oid,
       CASE WHEN c.relisshared THEN 0 ELSE d.oid END, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, pg_database d
 WHERE d.datname = current_database() AND pg_relation_filenode(c.oid) IS NOT NULL`

// Load reads every database's relations.
func (c Catalog) Load(ctx context.Context) (*Names, error) {
	n := &Names{Source: c.Source, Databases: map[uint32]string{}, Files: map[RelFile]string{}, OIDs: map[[2]uint32]string{}}
	dbs, err := c.Server.Query(ctx, "postgres", "SELECT oid, datname, datallowconn FROM pg_database")
	if err != nil {
		return nil, err
	}
	for _, row := range dbs {
		if len(row) != 3 {
			continue
		}
		oid := parseOID(row[0])
		n.Databases[oid] = row[1]
		if row[2] != "t" {
			continue
		}
		rels, err := c.Server.Query(ctx, row[1], relationsSQL)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", row[1], err)
		}
		for _, r := range rels {
			if len(r) != 5 {
				continue
			}
			file := RelFile{Tablespace: parseOID(r[0]), Database: parseOID(r[3]), Node: parseOID(r[1])}
			n.Files[file] = r[4]
			n.OIDs[[2]uint32{parseOID(r[3]), parseOID(r[2])}] = r[4]
		}
	}
	return n, nil
}

func parseOID(s string) uint32 {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	return uint32(v)
}

// What says what the transaction did, one part per relation and change:
// "public.documents: 666 deleted", "1663/5/16391: TRUNCATE or rewrite
// (its files replaced)", "schema change (system catalogs)". Names may be
// nil: relations are then their numbers.
func (t *Tx) What(names *Names) []string {
	var what []string
	for _, rel := range t.Relations() {
		c := t.Rows[rel]
		var parts []string
		for _, p := range []struct {
			n    int64
			word string
		}{{c.Deleted, "deleted"}, {c.Updated, "updated"}, {c.Inserted, "inserted"}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
			}
		}
		what = append(what, names.File(rel)+": "+strings.Join(parts, ", "))
	}
	for _, rel := range t.Replaced() {
		what = append(what, names.File(rel)+": TRUNCATE or rewrite (its files replaced)")
	}
	for _, rel := range t.Dropped() {
		what = append(what, names.File(rel)+": DROP (its files removed)")
	}
	if t.SchemaChange() {
		what = append(what, "schema change (system catalogs)")
	}
	return what
}
