package tarx

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/problem"
)

var mtime = time.Date(2026, 11, 25, 2, 52, 45, 0, time.UTC)

type member struct {
	name, link string
	typ        byte
	mode       int64
	body       string
	uname      string
}

func tarStream(t *testing.T, members []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: m.mode, ModTime: mtime, Size: int64(len(m.body)), Uname: m.uname, Format: tar.FormatPAX}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == tar.TypeReg {
			w.Write([]byte(m.body))
		}
	}
	w.Close()
	return buf.Bytes()
}

func extract(t *testing.T, dir string, stream []byte, opts Options) (*Extractor, error) {
	t.Helper()
	x, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if err := x.Extract(context.Background(), bytes.NewReader(stream), "part_00000000.tar.lzo"); err != nil {
		return x, err
	}
	return x, x.Finish()
}

func TestExtractsWALELayoutWithRootMember(t *testing.T) {
	dir := t.TempDir()
	stream := tarStream(t, []member{
		{name: "/", typ: tar.TypeDir, mode: 0o700}, // WAL-E's data directory itself
		{name: "PG_VERSION", typ: tar.TypeReg, mode: 0o600, body: "15\n"},
		{name: "base", typ: tar.TypeDir, mode: 0o700},
		{name: "base/1/1259", typ: tar.TypeReg, mode: 0o600, body: strings.Repeat("x", 100000)}, // parent not listed first
		{name: "pg_wal", typ: tar.TypeDir, mode: 0o700},
		{name: "global/pg_control", typ: tar.TypeReg, mode: 0o600, body: "control"},
		{name: "link-inside", typ: tar.TypeSymlink, link: "base/1"},
		{name: "hard", typ: tar.TypeLink, link: "PG_VERSION"},
	})
	x, err := extract(t, dir, stream, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "PG_VERSION")); string(got) != "15\n" {
		t.Errorf("PG_VERSION = %q", got)
	}
	st, err := os.Stat(filepath.Join(dir, "base/1/1259"))
	if err != nil || st.Size() != 100000 || st.Mode().Perm() != 0o600 || !st.ModTime().Equal(mtime) {
		t.Errorf("base/1/1259: %v %v", st, err)
	}
	for _, d := range []string{".", "base", "pg_wal"} {
		st, err := os.Stat(filepath.Join(dir, d))
		if err != nil || st.Mode().Perm() != 0o700 || !st.ModTime().Equal(mtime) {
			t.Errorf("directory %s: mode %v time %v err %v", d, st.Mode(), st.ModTime(), err)
		}
	}
	if target, _ := os.Readlink(filepath.Join(dir, "link-inside")); target != "base/1" {
		t.Errorf("symlink target %q", target)
	}
	if x.FilesWritten() != 3 || x.BytesWritten() != 3+100000+7 {
		t.Errorf("counters: %d files, %d bytes", x.FilesWritten(), x.BytesWritten())
	}
}

func TestRefusesMembersEscapingTheDataDirectory(t *testing.T) {
	cases := map[string][]member{
		"dot-dot":          {{name: "../escaped", typ: tar.TypeReg, mode: 0o600, body: "x"}},
		"nested dot-dot":   {{name: "base/../../escaped", typ: tar.TypeReg, mode: 0o600, body: "x"}},
		"absolute":         {{name: "/tmp/escaped", typ: tar.TypeReg, mode: 0o600, body: "x"}},
		"symlink outside":  {{name: "evil", typ: tar.TypeSymlink, link: "/etc"}},
		"symlink up":       {{name: "base/evil", typ: tar.TypeSymlink, link: "../../.."}},
		"hardlink outside": {{name: "evil", typ: tar.TypeLink, link: "../outside"}},
		"device":           {{name: "dev", typ: tar.TypeChar, mode: 0o600}},
		"fifo":             {{name: "fifo", typ: tar.TypeFifo, mode: 0o600}},
	}
	for name, members := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "main")
			os.Mkdir(dir, 0o700)
			_, err := extract(t, dir, tarStream(t, members), Options{})
			if problem.KindOf(err) != problem.UnsafeMember {
				t.Fatalf("got %v, want an unsafe-member error", err)
			}
			if !strings.Contains(err.Error(), "part_00000000.tar.lzo") || !strings.Contains(err.Error(), strconv.Quote(members[0].name)) {
				t.Errorf("error should name the partition and member: %v", err)
			}
			if _, err := os.Lstat(filepath.Join(parent, "escaped")); err == nil {
				t.Error("a file was written outside the data directory")
			}
		})
	}
}

func TestRefusesWritingThroughAPlantedSymlink(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "main")
	outside := filepath.Join(parent, "outside")
	os.Mkdir(dir, 0o700)
	os.Mkdir(outside, 0o700)
	// A symlink already in the target (not from the tar) pointing outside must not be followed.
	os.Symlink(outside, filepath.Join(dir, "base"))
	_, err := extract(t, dir, tarStream(t, []member{{name: "base/escaped", typ: tar.TypeReg, mode: 0o600, body: "x"}}), Options{})
	if problem.KindOf(err) != problem.UnsafeMember {
		t.Fatalf("got %v, want unsafe-member", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "escaped")); err == nil {
		t.Fatal("wrote through the symlink")
	}
}

func TestSymlinkedWALDirectoryBecomesADirectory(t *testing.T) {
	dir := t.TempDir()
	var warnings []string
	_, err := extract(t, dir, tarStream(t, []member{
		{name: "pg_wal", typ: tar.TypeSymlink, link: "/mnt/wal-disk/pg_wal"},
	}), Options{Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(filepath.Join(dir, "pg_wal"))
	if err != nil || !st.IsDir() {
		t.Fatalf("pg_wal should be a directory: %v %v", st, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "/mnt/wal-disk/pg_wal") {
		t.Errorf("warnings: %v", warnings)
	}
}

func TestTruncatedStreamIsReported(t *testing.T) {
	stream := tarStream(t, []member{{name: "big", typ: tar.TypeReg, mode: 0o600, body: strings.Repeat("y", 10000)}})
	_, err := extract(t, t.TempDir(), stream[:3000], Options{})
	if problem.KindOf(err) != problem.Truncated || !strings.Contains(err.Error(), "part_00000000.tar.lzo") {
		t.Fatalf("got %v", err)
	}
}

func TestGarbageIsCorrupt(t *testing.T) {
	garbage := bytes.Repeat([]byte("not a tar header "), 64)
	_, err := extract(t, t.TempDir(), garbage, Options{})
	if problem.KindOf(err) != problem.Corrupt {
		t.Fatalf("got %v", err)
	}
}

func TestTablespaceMembersGoToTheirLocation(t *testing.T) {
	dir, ts := t.TempDir(), t.TempDir()
	_, err := extract(t, dir, tarStream(t, []member{
		{name: "pg_tblspc/16385/PG_15_202209061/16384/16386", typ: tar.TypeReg, mode: 0o600, body: "ts data"},
	}), Options{Tablespaces: map[string]string{"pg_tblspc/16385": ts}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(ts, "PG_15_202209061/16384/16386")); string(got) != "ts data" {
		t.Fatalf("tablespace file: %q", got)
	}
}

func TestOwnersAreKeptByNameWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	dir := t.TempDir()
	_, err = extract(t, dir, tarStream(t, []member{
		{name: "/", typ: tar.TypeDir, mode: 0o700, uname: "nobody"},
		{name: "PG_VERSION", typ: tar.TypeReg, mode: 0o600, body: "15\n", uname: "nobody"},
	}), Options{Chown: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "PG_VERSION")} {
		st, _ := os.Stat(p)
		if uid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)); uid != nobody.Uid {
			t.Errorf("%s owned by %s, want nobody (%s)", p, uid, nobody.Uid)
		}
	}
}

// TestHostileModesAreNotRestored: a tar that makes the data directory 0777,
// a file world-writable and setuid, a directory setgid and sticky gets
// owner-only (or group-read) modes: a base backup cannot open the cluster
// to other users.
func TestHostileModesAreNotRestored(t *testing.T) {
	dir := t.TempDir()
	stream := tarStream(t, []member{
		{name: "/", typ: tar.TypeDir, mode: 0o777},
		{name: "PG_VERSION", typ: tar.TypeReg, mode: 0o4777, body: "15\n"},
		{name: "base", typ: tar.TypeDir, mode: 0o3777},
		{name: "base/1", typ: tar.TypeReg, mode: 0o666, body: "x"},
		{name: "group", typ: tar.TypeDir, mode: 0o750},
		{name: "group/file", typ: tar.TypeReg, mode: 0o640, body: "y"},
	})
	if _, err := extract(t, dir, stream, Options{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{".": 0o700, "PG_VERSION": 0o750, "base": 0o750, "base/1": 0o640, "group": 0o750, "group/file": 0o640} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
}

// TestGroupAccessClusterKeepsItsDataDirectoryMode: 0750, as PostgreSQL 11+
// writes it for group access, is kept for the data directory itself.
func TestGroupAccessClusterKeepsItsDataDirectoryMode(t *testing.T) {
	dir := t.TempDir()
	if _, err := extract(t, dir, tarStream(t, []member{{name: "/", typ: tar.TypeDir, mode: 0o750}}), Options{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o750 {
		t.Errorf("mode %v, want 0750", st.Mode().Perm())
	}
}
