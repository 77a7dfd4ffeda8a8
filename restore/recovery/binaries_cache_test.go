package recovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerVersionIsAskedOncePerBinary: postgres --version runs once for
// a binary, and again when the binary is replaced (a package upgrade).
func TestServerVersionIsAskedOncePerBinary(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	os.WriteFile(filepath.Join(dir, "pg_ctl"), nil, 0o755)
	postgres := filepath.Join(dir, "postgres")
	write := func(version string) {
		os.WriteFile(postgres, []byte("#!/bin/sh\necho x >> "+calls+"\necho 'postgres (PostgreSQL) "+version+"'\n"), 0o755)
	}
	write("15.3")
	for range 3 {
		if v, err := binDirVersion(dir); err != nil || v.String() != "15" {
			t.Fatalf("%v %v", v, err)
		}
	}
	write("16.1")
	later := time.Now().Add(time.Minute)
	os.Chtimes(postgres, later, later)
	if v, err := binDirVersion(dir); err != nil || v.String() != "16" {
		t.Fatalf("after the upgrade: %v %v", v, err)
	}
	data, _ := os.ReadFile(calls)
	if n := strings.Count(string(data), "x"); n != 2 {
		t.Errorf("postgres --version ran %d times, want 2 (once per binary)", n)
	}
}
