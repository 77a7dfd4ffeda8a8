package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/internal/pgbin"
	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// TestEveryMajorsServerIsReadRight starts a real server of every major
// pgrescue supports from 10 (Debian's, or the npm package's) and checks
// what pgrescue reads of a cluster against it: PG_VERSION and the WAL's
// page magic name the server's major, and pg_control, read natively, says
// what the server's own functions say. What each installation lacks (the
// npm packages have no client programs) is logged.
func TestEveryMajorsServerIsReadRight(t *testing.T) {
	testtool.EndToEnd(t)
	for _, major := range pgbin.Majors {
		t.Run(fmt.Sprintf("PostgreSQL %d", major), func(t *testing.T) {
			t.Parallel()
			in := pgbin.Get(t, major)
			opts := pgtest.Options{Bin: in.Bin}
			if major >= 11 {
				opts.WALSegmentMB = 64 // not the default, so pg_control's own is read
			}
			s := pgtest.StartWith(t, opts)
			if s.Major != major {
				t.Fatalf("%s started PostgreSQL %d", in.Source, s.Major)
			}
			v, err := recovery.ReadVersion(s.DataDir)
			switch {
			case major > 17:
				// Recovery of 18 is not claimed until a whole restore is
				// tested on it (issue 17): it is refused by name.
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("PostgreSQL %d is not supported", major)) {
					t.Errorf("PG_VERSION of %d: %s, %v", major, v, err)
				}
			case err != nil || v.Major != major:
				t.Errorf("PG_VERSION read as %s (%v)", v, err)
			}
			controlMatchesTheServer(t, s)
			wal := filepath.Join(s.DataDir, "pg_wal")
			if major < 10 {
				wal = filepath.Join(s.DataDir, "pg_xlog")
			}
			segment := s.PSQL(t, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())")
			f, err := os.Open(filepath.Join(wal, segment))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			head := make([]byte, 2)
			f.Read(head)
			if got, ok := walinspect.VersionOfSegment(head); !ok || got.Major != major {
				t.Errorf("the WAL's page magic %#04x read as %s (%v)", uint16(head[0])|uint16(head[1])<<8, got, ok)
			}
		})
	}
}

// controlMatchesTheServer reads pg_control after a checkpoint and compares
// it with pg_control_system(), pg_control_checkpoint() and
// pg_control_init(), the server's own reading of it.
func controlMatchesTheServer(t *testing.T, s *pgtest.Server) {
	t.Helper()
	s.PSQL(t, "postgres", "CHECKPOINT")
	want := s.PSQL(t, "postgres", `SELECT s.pg_control_version, s.system_identifier, c.checkpoint_lsn, c.redo_lsn, c.timeline_id, i.bytes_per_wal_segment
		FROM pg_control_system() s, pg_control_checkpoint() c, pg_control_init() i`)
	c, err := recovery.ReadControl(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d|%d|%s|%s|%d|%d", c.Version, c.SystemID, pglog.LSN(c.Checkpoint), pglog.LSN(c.Redo), c.Timeline, c.SegmentSize)
	if got != want || c.State != recovery.DBInProduction {
		t.Errorf("pg_control read as %s (%s), the server says %s", got, c.State, want)
	}
}
