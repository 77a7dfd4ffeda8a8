package wale

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestTarDirectoryOfAStoppedCluster: files and directories with their
// contents, a symlinked pg_wal as an empty directory, other links as
// links, and a socket left behind skipped.
func TestTarDirectoryOfAStoppedCluster(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "base", "1"), 0o700)
	os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte("16\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "base", "1", "1259"), bytes.Repeat([]byte{7}, 8192), 0o600)
	os.WriteFile(filepath.Join(elsewhere, "000000010000000000000001"), []byte("wal"), 0o600)
	if err := os.Symlink(elsewhere, filepath.Join(dir, "pg_wal")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("PG_VERSION", filepath.Join(dir, "version-link"))
	l, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	var buf bytes.Buffer
	if err := tarDirectory(t.Context(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	if h := got["base/1/1259"]; h == nil || h.Size != 8192 || h.Typeflag != tar.TypeReg {
		t.Errorf("a relation file: %+v", h)
	}
	if h := got["pg_wal/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("the symlinked pg_wal: %+v", h)
	}
	if got["pg_wal/000000010000000000000001"] != nil {
		t.Error("WAL kept elsewhere was followed into the backup")
	}
	if h := got["version-link"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "PG_VERSION" {
		t.Errorf("a symlink: %+v", h)
	}
	if got[".s.PGSQL.5432"] != nil {
		t.Error("a socket was archived")
	}
}
