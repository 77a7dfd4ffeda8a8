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
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// TestEveryMajorsServerIsReadRight starts a real server of every major
// pgrescue supports from 10 (Debian's, or the npm package's) and checks
// what pgrescue reads of a cluster against it: PG_VERSION and the WAL's
// page magic name the server's major. What each installation lacks (the
// npm packages have no client programs) is logged.
func TestEveryMajorsServerIsReadRight(t *testing.T) {
	testtool.EndToEnd(t)
	for _, major := range pgbin.Majors {
		t.Run(fmt.Sprintf("PostgreSQL %d", major), func(t *testing.T) {
			t.Parallel()
			in := pgbin.Get(t, major)
			s := pgtest.StartWith(t, pgtest.Options{Bin: in.Bin})
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
