package walinspect_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/restore/walinspect"
)

var segmentName = regexp.MustCompile(`^[0-9A-F]{24}$`)

// serverWAL is the real WAL of a test cluster: a table, a mass DELETE, an
// UPDATE, a TRUNCATE and a DROP TABLE, each in a segment of its own.
func serverWAL(t *testing.T) (s *pgtest.Server, segs []wale.WALObject, oid map[string]string, began time.Time) {
	s = pgtest.Start(t)
	// Keep every segment in pg_wal: there is no archive to hand them to.
	s.PSQL(t, "postgres", "ALTER SYSTEM SET wal_keep_size = '1GB'")
	s.PSQL(t, "postgres", "SELECT pg_reload_conf()")
	began = time.Now()
	oid = map[string]string{}
	steps := []string{
		"CREATE TABLE documents (id int PRIMARY KEY, body text); INSERT INTO documents SELECT g, 'x' FROM generate_series(1, 1000) g",
		"DELETE FROM documents WHERE id <= 300",
		"UPDATE documents SET body = 'y' WHERE id > 900",
		"CREATE TABLE scratch (a int); INSERT INTO scratch SELECT generate_series(1, 10)",
		"TRUNCATE scratch",
		"DROP TABLE scratch",
	}
	for _, sql := range steps {
		s.PSQL(t, "postgres", sql)
		if strings.HasPrefix(sql, "CREATE") {
			name := strings.Fields(sql)[2]
			oid[name] = s.PSQL(t, "postgres", "SELECT pg_relation_filepath('"+name+"')")
		}
		s.PSQL(t, "postgres", "SELECT pg_switch_wal()")
	}
	// Files after the current one are old segments recycled for later use,
	// never archived.
	segs = walSegments(t, s)
	return s, segs, oid, began
}

func firstRel(tx *walinspect.Tx) walinspect.RelFile { return tx.Relations()[0] }

func copyFrom(dir string) func(ctx context.Context, name, dest string) error {
	return func(_ context.Context, name, dest string) error {
		in, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dest)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	}
}

// relFile turns pg_relation_filepath's base/DB/NODE into the WAL's name.
func relFile(path string) string {
	parts := strings.Split(path, "/")
	return "1663/" + parts[1] + "/" + parts[2]
}

func TestInspectRealWALWithAGap(t *testing.T) {
	testtool.EndToEnd(t)
	s, segs, oid, began := serverWAL(t)
	major, err := recovery.ParseVersion(strings.Split(strings.Fields(s.PSQL(t, "postgres", "SHOW server_version"))[0], ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := walinspect.FindWaldump(t.Context(), major, ""); err != nil {
		testtool.Missing(t, "pg_waldump", err.Error())
	}
	req := walinspect.Request{Segments: segs, SegmentSize: 16 << 20, Fetch: copyFrom(filepath.Join(s.DataDir, "pg_wal")), TempDir: t.TempDir(),
		Options: walinspect.Options{MinRows: 50, From: began}}
	res, err := walinspect.Inspect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Transactions) != 6 {
		t.Errorf("%d transactions shown, want the 6 steps'", len(res.Transactions))
	}
	if res.Version != major || len(res.Gaps) != 0 {
		t.Fatalf("version %s, gaps %v", res.Version, res.Gaps)
	}
	docs := relFile(oid["documents"])
	var deleted, updated, truncated, dropped *walinspect.Tx
	for _, tx := range res.Transactions {
		for rel, c := range tx.Rows {
			if rel.String() == docs && c.Deleted == 300 {
				deleted = tx
			}
			if rel.String() == docs && c.Updated == 100 {
				updated = tx
			}
		}
		if len(tx.Replaced()) == 1 && tx.Replaced()[0].String() == relFile(oid["scratch"]) {
			truncated = tx
		}
		if len(tx.Dropped()) == 1 {
			dropped = tx
		}
	}
	if deleted == nil || updated == nil || truncated == nil || dropped == nil {
		t.Fatalf("found: delete %v, update %v, truncate %v, drop %v in %d transactions", deleted, updated, truncated, dropped, len(res.Transactions))
	}
	if deleted.At.Before(began) || deleted.At.After(time.Now()) || !deleted.Committed || !(deleted.LSN < updated.LSN) {
		t.Errorf("the DELETE's commit: %s at %s", deleted.At, deleted.LSN)
	}

	// Names from the server: the living table by name, the dropped one by number.
	dsn := "host=127.0.0.1 port=" + strconv.Itoa(s.Port) + " user=" + s.User
	names, err := walinspect.Catalog{Server: pgdump.Server{DSN: dsn, Psql: filepath.Join(s.Client, "psql")}, Source: dsn}.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for rel := range deleted.Rows {
		if got := names.File(rel); got != "public.documents" {
			t.Errorf("%s is named %q", rel, got)
		}
	}
	if got := names.File(dropped.Dropped()[0]); got != dropped.Dropped()[0].String() {
		t.Errorf("the dropped table's file got a name: %q", got)
	}
	if got := names.Database(firstRel(deleted).Database); got != "postgres" {
		t.Errorf("database: %q", got)
	}
	if _, err := (walinspect.Catalog{Server: pgdump.Server{DSN: "host=127.0.0.1 port=1 connect_timeout=2"}}).Load(t.Context()); !problem.Is(err, problem.ServerUnreachable) || !strings.Contains(err.Error(), "check the connection string") {
		t.Errorf("no server: %v", err)
	}

	// A segment missing in the middle: reported, and what follows is read.
	var middle int
	for i, seg := range segs {
		if seg.Segment.Number(16<<20)*(16<<20) > uint64(updated.LSN) {
			middle = i - 1
			break
		}
	}
	req.Segments = slices.Delete(slices.Clone(segs), middle, middle+1)
	res, err = walinspect.Inspect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gaps) != 1 || res.Gaps[0].Before != segs[middle+1].Name {
		t.Fatalf("gaps: %v (removed %s)", res.Gaps, segs[middle].Name)
	}
	if !slices.ContainsFunc(res.Transactions, func(tx *walinspect.Tx) bool { return len(tx.Dropped()) == 1 }) {
		t.Error("the DROP after the gap was not found")
	}
}

func TestAnotherMajorsWaldumpIsRefusedByName(t *testing.T) {
	testtool.EndToEnd(t)
	program, err := walinspect.FindWaldump(t.Context(), recovery.Version{Major: 15}, "")
	if err != nil {
		testtool.Missing(t, "pg_waldump 15", err.Error())
	}
	_, err = walinspect.FindWaldump(t.Context(), recovery.Version{Major: 13}, program)
	if !problem.Is(err, problem.Config) || !strings.Contains(err.Error(), "PostgreSQL 15's") || !strings.Contains(err.Error(), "postgresql-client-13") {
		t.Fatalf("%v", err)
	}
	if v, ok := walinspect.VersionOfSegment([]byte{0x10, 0xD1}); !ok || v != (recovery.Version{Major: 15}) {
		t.Errorf("0xD110: %s %v", v, ok)
	}
	if v, ok := walinspect.VersionOfSegment([]byte{0x93, 0xD0}); !ok || v.String() != "9.6" {
		t.Errorf("0xD093: %s %v", v, ok)
	}
	if _, ok := walinspect.VersionOfSegment([]byte{0, 0}); ok {
		t.Error("a zero page read as a version")
	}
}

// TestInspectInChunksReadsEveryRecordOnce: WAL written without a switch,
// so records cross from segment to segment, read one segment per
// pg_waldump run must sum up exactly as one run over it all, with at
// most three segments on disk at a time. A segment that cannot be
// fetched stops the inspection with its error, leaving no file behind.
func TestInspectInChunksReadsEveryRecordOnce(t *testing.T) {
	testtool.EndToEnd(t)
	s := pgtest.Start(t)
	s.PSQL(t, "postgres", "ALTER SYSTEM SET wal_keep_size = '1GB'")
	s.PSQL(t, "postgres", "SELECT pg_reload_conf()")
	began := time.Now()
	s.PSQL(t, "postgres", "CREATE TABLE t (id int, body text); INSERT INTO t SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, 200000) g")
	s.PSQL(t, "postgres", "DELETE FROM t WHERE id % 3 = 0")
	s.PSQL(t, "postgres", "UPDATE t SET body = 'x' WHERE id % 5 = 0")
	s.PSQL(t, "postgres", "SELECT pg_switch_wal()")
	segs := walSegments(t, s)
	if len(segs) < 4 {
		t.Fatalf("only %d segments of WAL", len(segs))
	}
	if _, err := walinspect.FindWaldump(t.Context(), recovery.Version{Major: 15}, ""); err != nil {
		testtool.Missing(t, "pg_waldump", err.Error())
	}
	pgWAL := filepath.Join(s.DataDir, "pg_wal")
	temp := t.TempDir()
	req := walinspect.Request{Segments: segs, SegmentSize: 16 << 20, Fetch: copyFrom(pgWAL), TempDir: temp,
		Options: walinspect.Options{From: began}}
	whole, err := walinspect.Inspect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}

	walinspect.SetChunkBytes(t, 16<<20)
	var most atomic.Int64 // the fetchers run two at a time
	req.Fetch = func(ctx context.Context, name, dest string) error {
		entries, _ := os.ReadDir(filepath.Dir(dest))
		for n := int64(len(entries) + 1); ; {
			if old := most.Load(); n <= old || most.CompareAndSwap(old, n) {
				break
			}
		}
		return copyFrom(pgWAL)(ctx, name, dest)
	}
	chunked, err := walinspect.Inspect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if chunked.Records != whole.Records || chunked.First != whole.First || chunked.Last != whole.Last || chunked.Unfinished != whole.Unfinished {
		t.Errorf("in chunks: %d records %s..%s, %d unfinished; in one run: %d records %s..%s, %d unfinished",
			chunked.Records, chunked.First, chunked.Last, chunked.Unfinished, whole.Records, whole.First, whole.Last, whole.Unfinished)
	}
	if summary(chunked) != summary(whole) {
		t.Errorf("in chunks:\n%s\nin one run:\n%s", summary(chunked), summary(whole))
	}
	if !strings.Contains(summary(whole), "deleted 66666") || !strings.Contains(summary(whole), "updated 26667") {
		t.Errorf("the DELETE or the UPDATE was not counted whole:\n%s", summary(whole))
	}
	if most.Load() > 3 {
		t.Errorf("%d segments were on disk at once; one chunk and the next are 3", most.Load())
	}

	broken := segs[len(segs)/2].Name
	req.Fetch = func(ctx context.Context, name, dest string) error {
		if name == broken {
			return problem.New(problem.Network, name, "the archive did not answer", "")
		}
		return copyFrom(pgWAL)(ctx, name, dest)
	}
	if _, err := walinspect.Inspect(t.Context(), req, nil); !problem.Is(err, problem.Network) || !strings.Contains(err.Error(), broken) {
		t.Errorf("a failed fetch: %v", err)
	}
	if left, _ := os.ReadDir(temp); len(left) != 0 {
		t.Errorf("left behind in the temporary folder: %v", left)
	}
}

// summary lists the transactions an inspection shows, one per line.
func summary(in *walinspect.Inspection) string {
	var lines []string
	for _, tx := range in.Transactions {
		u := tx.UserRows()
		lines = append(lines, fmt.Sprintf("%d at %s: inserted %d updated %d deleted %d", tx.Xid, tx.LSN, u.Inserted, u.Updated, u.Deleted))
	}
	return strings.Join(lines, "\n")
}

// walSegments are the segments a server has written so far, from pg_wal.
func walSegments(t *testing.T, s *pgtest.Server) []wale.WALObject {
	current := s.PSQL(t, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())")
	entries, err := os.ReadDir(filepath.Join(s.DataDir, "pg_wal"))
	if err != nil {
		t.Fatal(err)
	}
	var segs []wale.WALObject
	for _, e := range entries {
		if segmentName.MatchString(e.Name()) && e.Name() <= current {
			seg, _ := wale.ParseSegment(e.Name())
			segs = append(segs, wale.WALObject{Name: e.Name(), Kind: wale.WALSegment, Segment: seg})
		}
	}
	return segs
}
