package pgwire_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"pgrescue/internal/pgbin"
	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
	"pgrescue/restore/pgwire"
)

// archiveNames lists a tar archive's members.
func archiveNames(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("the archive: %v", err)
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
}

// TestBaseBackupOfEachProtocol: the archive of a 14 server (a raw
// CopyOut stream) and of a 17 server (framed CopyData), with its backup
// label, and start and end points in order.
func TestBaseBackupOfEachProtocol(t *testing.T) {
	testtool.EndToEnd(t)
	for _, major := range []int{14, 17} {
		in := pgbin.Get(t, major)
		s := pgtest.StartWith(t, pgtest.Options{Bin: in.Bin})
		s.PSQL(t, "postgres", "CREATE TABLE t AS SELECT generate_series(1, 1000) AS id")
		var out bytes.Buffer
		var started *pgwire.Backup
		b, err := pgwire.BaseBackup(t.Context(), pgwire.Options{Host: s.DataDir, Port: s.Port, User: s.User}, &out, func(b pgwire.Backup) { started = &b })
		if err != nil {
			t.Fatalf("PostgreSQL %d: %v", major, err)
		}
		names := archiveNames(t, out.Bytes())
		if !names["backup_label"] || !names["PG_VERSION"] || !names["global/pg_control"] {
			t.Errorf("PostgreSQL %d: the archive lacks the backup label or the cluster's files (%d members)", major, len(names))
		}
		if started == nil || started.Start != b.Start || b.Start.LSN == "" || b.End.LSN == "" || b.Start.Timeline != "1" ||
			!strings.HasPrefix(b.ServerVersion, strings.TrimSpace(s.PSQL(t, "postgres", "SHOW server_version"))) {
			t.Errorf("PostgreSQL %d: %+v (started %+v)", major, b, started)
		}
	}
}

// TestBaseBackupRefusesWhatItCannotDo: a server asking for a password, a
// cluster with a tablespace, and no server at all, each said plainly.
func TestBaseBackupRefusesWhatItCannotDo(t *testing.T) {
	testtool.EndToEnd(t)
	s := pgtest.Start(t)
	dir := filepath.Join(filepath.Dir(s.DataDir), "space")
	os.Mkdir(dir, 0o700)
	uid, gid := ownerOf(t, s.DataDir)
	if err := os.Chown(dir, uid, gid); err != nil { // the server's user makes the tablespace there
		t.Fatal(err)
	}
	s.PSQL(t, "postgres", "CREATE TABLESPACE space LOCATION '"+dir+"'")
	_, err := pgwire.BaseBackup(t.Context(), pgwire.Options{Host: s.DataDir, Port: s.Port, User: s.User}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "tablespaces") {
		t.Errorf("a cluster with a tablespace: %v", err)
	}
	_, err = pgwire.BaseBackup(t.Context(), pgwire.Options{Host: "127.0.0.1", Port: testtool.FreePort(t), User: "postgres"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot connect to 127.0.0.1") {
		t.Errorf("no server: %v", err)
	}

	md5 := pgtest.StartWith(t, pgtest.Options{LocalAuth: "md5"})
	_, err = pgwire.BaseBackup(t.Context(), pgwire.Options{Host: md5.DataDir, Port: md5.Port, User: md5.User}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "asks for a password") {
		t.Errorf("a server asking for a password: %v", err)
	}
}

// ownerOf is the uid and gid a data directory belongs to.
func ownerOf(t *testing.T, path string) (int, int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid)
}
