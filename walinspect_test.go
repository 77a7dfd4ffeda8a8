package main

import (
	"encoding/json"
	"strings"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/restore/walinspect"
)

// TestWALInspectReadsTheFixtureArchive reads the WAL of the real WAL-E
// archive of testdata (PostgreSQL 15, GPG, lzop) with the installed
// pg_waldump 15, through the same fetcher as recovery, without a network
// server of AWS's.
func TestWALInspectReadsTheFixtureArchive(t *testing.T) {
	testtool.EndToEnd(t)
	if _, err := walinspect.FindWaldump(t.Context(), 15, ""); err != nil {
		testtool.Missing(t, "pg_waldump 15", "install it with: sudo apt-get install postgresql-15")
	}
	envdir, _ := fixtureEnvdir(t)
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	args = append(args, "wal-inspect", "--min-rows", "1")
	r := pgrescue(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "(PostgreSQL 15, read by ") || !strings.Contains(r.stdout, "per minute (UTC):") {
		t.Fatalf("wal-inspect: %+v", r)
	}
	r = pgrescue(t, nil, append(args, "--json")...)
	var res struct {
		Records      int64
		Major        int
		Transactions []struct{ Xid uint32 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); r.code != 0 || err != nil || res.Records == 0 || res.Major != 15 {
		t.Fatalf("--json: %v %+v\n%s\n%s", err, res, r.stdout, r.stderr)
	}
	t.Logf("%d records, %d transactions shown", res.Records, len(res.Transactions))
}
