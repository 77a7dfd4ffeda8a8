package wale

import "testing"

// TestBackupNamesFromPoints: WAL-E names a backup after its start point's
// segment and the decimal offset in it, and records the stop point's
// segment as pg_walfile_name does (the previous one on a boundary).
func TestBackupNamesFromPoints(t *testing.T) {
	m := walPoint.FindStringSubmatch("pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1")
	start, err := parsePoint(m)
	if err != nil {
		t.Fatal(err)
	}
	if seg := segmentOf(start.lsn, start.timeline, DefaultSegmentSize, false); seg.String() != "000000010000000000000002" || start.lsn%DefaultSegmentSize != 40 {
		t.Errorf("start %s offset %d", seg, start.lsn%DefaultSegmentSize)
	}
	if seg := segmentOf(0x3000000, 2, DefaultSegmentSize, true); seg.String() != "000000020000000000000002" {
		t.Errorf("a stop on a boundary is in %s", seg)
	}
	if seg := segmentOf(0x1_2A000100, 1, DefaultSegmentSize, true); seg.String() != "00000001000000010000002A" {
		t.Errorf("stop in %s", seg)
	}
}

func TestExcludedAsWALEExcludes(t *testing.T) {
	for name, want := range map[string]bool{
		"postgresql.conf": true, "pg_hba.conf": true, "./pg_ident.conf": true, "pg_wal/000000010000000000000003": true,
		"./pg_wal/archive_status/": true, "pg_wal": false, "pg_wal/": false, "base/1/1259": false, "backup_label": false,
		"postgresql.auto.conf": false, "base/16384/pgsql_tmp/x": true, "pg_stat_tmp/global.stat": true, "lost+found": true,
		"conf.d/postgresql.conf": false,
	} {
		if got := excluded(name); got != want {
			t.Errorf("excluded(%q) = %v, want %v", name, got, want)
		}
	}
}
