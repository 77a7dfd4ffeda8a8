package walinspect

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"pgrescue/restore/pglog"
	"pgrescue/restore/wale"
)

// The fixture is real pg_waldump 15 output (TZ=UTC) of: DELETE of 200 rows
// of documents (relfilenode 16384), an UPDATE of 51 of them, CREATE TABLE
// scratch with one row, TRUNCATE scratch, DROP TABLE scratch, and ALTER
// TABLE documents ADD COLUMN.
func readFixture(t *testing.T) *Result {
	t.Helper()
	f, err := os.Open("testdata/pg15-delete-update-truncate-drop.waldump")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Read(context.Background(), f, Options{MinRows: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func byXid(res *Result, xid uint32) *Tx {
	for _, tx := range res.Transactions {
		if tx.Xid == xid {
			return tx
		}
	}
	return nil
}

func TestReadFindsEachDestructiveTransaction(t *testing.T) {
	res := readFixture(t)
	documents := RelFile{1663, 5, 16384}
	del := byXid(res, 726)
	if del == nil || !del.Committed || del.Rows[documents] == nil || del.Rows[documents].Deleted != 200 || del.LSN.String() != "0/2037B68" ||
		!del.At.Equal(time.Date(2026, 12, 4, 8, 8, 0, 35155000, time.UTC)) {
		t.Fatalf("the DELETE: %+v", del)
	}
	if upd := byXid(res, 727); upd == nil || upd.UserRows().Updated != 51 || upd.UserRows().Deleted != 0 {
		t.Fatalf("the UPDATE: %+v", upd)
	}
	if created := byXid(res, 728); created == nil || !created.SchemaChange() || len(created.Created) != 1 {
		t.Fatalf("CREATE TABLE: %+v", created)
	}
	if byXid(res, 729) != nil {
		t.Error("a one-row INSERT was shown as destructive")
	}
	trunc := byXid(res, 730)
	if trunc == nil || !slices.Equal(trunc.Replaced(), []RelFile{{1663, 5, 16391}}) || trunc.Dropped() != nil || !slices.Contains(trunc.Locked, 16391) {
		t.Fatalf("TRUNCATE: %+v", trunc)
	}
	drop := byXid(res, 731)
	if drop == nil || !slices.Equal(drop.Dropped(), []RelFile{{1663, 5, 16394}}) || drop.Replaced() != nil {
		t.Fatalf("DROP TABLE: %+v", drop)
	}
	if alter := byXid(res, 732); alter == nil || !alter.SchemaChange() || !slices.Contains(alter.Locked, 16384) {
		t.Fatalf("ALTER TABLE: %+v", alter)
	}
	if res.Unfinished != 0 || res.Records < 400 {
		t.Errorf("records %d, unfinished %d", res.Records, res.Unfinished)
	}
	var commits int
	for _, m := range res.Minutes {
		commits += m.Commits
	}
	if commits < 7 || res.Minutes[0].Rows.Deleted != 200 {
		t.Errorf("minutes: %d commits, %+v", commits, res.Minutes[0])
	}
}

func TestReadKeepsOnlyTheWindowAndTheDatabase(t *testing.T) {
	f, _ := os.Open("testdata/pg15-delete-update-truncate-drop.waldump")
	defer f.Close()
	res, err := Read(context.Background(), f, Options{MinRows: 50, From: time.Date(2026, 12, 4, 8, 8, 0, 40000000, time.UTC)}, nil)
	if err != nil || byXid(res, 726) != nil || byXid(res, 731) == nil {
		t.Fatalf("From: %v %v", res.Transactions, err)
	}
	f.Seek(0, 0)
	res, _ = Read(context.Background(), f, Options{MinRows: 50, Database: 4}, nil)
	for _, tx := range res.Transactions {
		if len(tx.Relations()) > 0 || len(tx.Removed) > 0 {
			t.Fatalf("another database's changes kept: %+v", tx)
		}
	}
}

func TestParseRecordAndLSN(t *testing.T) {
	for _, bad := range []string{"", "pg_waldump: error: x", "rmgr: Heap len (rec/tot): 1/1, tx: x, lsn: 0/1, prev 0/0, desc: X"} {
		if _, ok := ParseRecord(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	// PostgreSQL 16 puts a comma after the relation.
	rec, ok := ParseRecord("rmgr: Heap        len (rec/tot):     54/    54, tx:        726, lsn: 0/02034F90, prev 0/02034F68, desc: DELETE xmax: 726, off: 1, infobits: [KEYS_UPDATED], flags: 0x00, blkref #0: rel 1663/5/16384, blk 0")
	if rel, _ := rec.rel(); !ok || rec.op() != "DELETE" || rel != (RelFile{1663, 5, 16384}) {
		t.Fatalf("%+v %v", rec, rel)
	}
	if rec.LSN != 0x02034F90 {
		t.Errorf("the record's LSN: %s", rec.LSN)
	}
	// LSNs are pglog's, printed as PostgreSQL prints them, also in JSON.
	for _, s := range []string{"0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		l, err := pglog.ParseLSN(s)
		if err != nil {
			t.Fatal(err)
		}
		if text, _ := l.MarshalText(); string(text) != s {
			t.Errorf("%s → %s", s, text)
		}
	}
	if _, err := pglog.ParseLSN("16-B3"); err == nil {
		t.Error("a bad LSN parsed")
	}
	if rel, ok := pathRel("pg_tblspc/16400/PG_15_202209061/5/16394"); !ok || rel != (RelFile{16400, 5, 16394}) {
		t.Errorf("tablespace path: %v", rel)
	}
}

// TestSegmentsBetweenCoverTheCommits: the last segment uploaded before
// from holds commits just before its upload, so it is kept; the first
// uploaded after to holds commits up to it.
func TestSegmentsBetweenCoverTheCommits(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	var segs []wale.WALObject
	for i := range 6 {
		segs = append(segs, wale.WALObject{Name: fmt.Sprint(i), LastModified: at.Add(time.Duration(i) * 10 * time.Minute)})
	}
	names := func(s []wale.WALObject) (out []string) {
		for _, o := range s {
			out = append(out, o.Name)
		}
		return out
	}
	for _, tc := range []struct {
		from, to time.Time
		want     []string
	}{
		{time.Time{}, time.Time{}, []string{"0", "1", "2", "3", "4", "5"}},
		{at.Add(15 * time.Minute), at.Add(25 * time.Minute), []string{"1", "2", "3"}},
		{at.Add(20 * time.Minute), time.Time{}, []string{"1", "2", "3", "4", "5"}},
		{time.Time{}, at.Add(5 * time.Minute), []string{"0", "1"}},
		{at.Add(2 * time.Hour), time.Time{}, []string{"5"}},
	} {
		if got := names(SegmentsBetween(segs, tc.from, tc.to)); !slices.Equal(got, tc.want) {
			t.Errorf("from %s to %s: %v, want %v", tc.from.Format("15:04"), tc.to.Format("15:04"), got, tc.want)
		}
	}
}

// TestReadCountsSavepointsWithTheirTransaction: the fixture is real
// pg_waldump 15 output (its Heap and Transaction records) of
//
//	BEGIN; SAVEPOINT a; DELETE …; RELEASE a; SAVEPOINT b; UPDATE …; ROLLBACK TO b; COMMIT;
//
// The WAL records the DELETE under the savepoint's xid 726, which the
// commit of 725 names as a subtransaction; the rolled-back UPDATE's xid
// 727 has an abort record of its own.
func TestReadCountsSavepointsWithTheirTransaction(t *testing.T) {
	f, err := os.Open("testdata/pg15-savepoints.waldump")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Read(context.Background(), f, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	documents := RelFile{1663, 5, 16384}
	top := byXid(res, 725)
	if top == nil || !top.Committed || top.Rows[documents] == nil || top.Rows[documents].Deleted != 133 || top.First.String() != "0/C5132E0" {
		t.Fatalf("the transaction with the savepoint: %+v", top)
	}
	if byXid(res, 726) != nil || res.Unfinished != 0 {
		t.Errorf("the savepoint is shown on its own, or left open (%d unfinished)", res.Unfinished)
	}
	if undone := byXid(res, 727); undone == nil || undone.Committed || undone.UserRows().Updated != 334 {
		t.Errorf("the rolled-back savepoint: %+v", undone)
	}
}

// TestParseRowCountsOfEveryVersion: MULTI_INSERT says its rows as "61
// tuples" up to PostgreSQL 15 and "ntuples: 61" from 16; a relation ends
// with a space or, from 16, a comma.
func TestParseRowCountsOfEveryVersion(t *testing.T) {
	for _, line := range []string{
		"rmgr: Heap2       len (rec/tot):   3627/  3627, tx:        731, lsn: 0/01A3C2D8, prev 0/01A3C2A0, desc: MULTI_INSERT+INIT 61 tuples flags 0x02, blkref #0: rel 1663/5/16384 blk 7",
		"rmgr: Heap2       len (rec/tot):   3627/  3627, tx:        731, lsn: 0/01A3C2D8, prev 0/01A3C2A0, desc: MULTI_INSERT+INIT ntuples: 61, flags: 0x02, blkref #0: rel 1663/5/16384, blk 7",
	} {
		rec, ok := ParseRecord(line)
		rel, relOK := rec.rel()
		if !ok || !relOK || rel != (RelFile{1663, 5, 16384}) || rec.op() != "MULTI_INSERT" || rec.tuples() != 61 || rec.Xid != 731 || rec.Rmgr != "Heap2" {
			t.Errorf("%s: %+v, rel %v, %d tuples", line, rec, rel, rec.tuples())
		}
	}
	for _, bad := range []string{
		"rmgr: Heap len (rec/tot): 1/1, tx: 99999999999, lsn: 0/1, prev 0/0, desc: X",
		"rmgr: Heap len (rec/tot): 1/1, tx: 1, lsn: 0/XYZ, prev 0/0, desc: X",
		"rmgr: Heap len (rec/tot): 1/1, tx: 1, lsn: 0/1, prev 0/0",
	} {
		if rec, ok := ParseRecord(bad); ok {
			t.Errorf("%q parsed: %+v", bad, rec)
		}
	}
}
