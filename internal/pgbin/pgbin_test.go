package pgbin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUntarRefusesMembersOutsideThePackage: a package's member may not
// leave the folder it is unpacked into.
func TestUntarRefusesMembersOutsideThePackage(t *testing.T) {
	for _, name := range []string{"package/../../etc/passwd", "other/native/bin/initdb", "/package/x"} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
		tw.Write([]byte("x"))
		tw.Close()
		gz.Close()
		tgz := filepath.Join(t.TempDir(), "p.tgz")
		os.WriteFile(tgz, buf.Bytes(), 0o644)
		dir := filepath.Join(t.TempDir(), "out")
		if err := untar(tgz, dir); err == nil || !strings.Contains(err.Error(), "outside the package") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLinkLibrariesRefusesLinksOutside: pg-symlinks.json may only link
// files of the package.
func TestLinkLibrariesRefusesLinksOutside(t *testing.T) {
	pkg := t.TempDir()
	os.MkdirAll(filepath.Join(pkg, "native", "lib"), 0o755)
	os.WriteFile(filepath.Join(pkg, "native", "pg-symlinks.json"), []byte(`[{"source":"../../etc/passwd","target":"native/lib/libx.so"}]`), 0o644)
	if err := linkLibraries(pkg); err == nil || !strings.Contains(err.Error(), "leaves the package") {
		t.Errorf("%v", err)
	}
	os.WriteFile(filepath.Join(pkg, "native", "lib", "libx.so.1.2"), []byte("lib"), 0o644)
	os.WriteFile(filepath.Join(pkg, "native", "pg-symlinks.json"), []byte(`[{"source":"native/lib/libx.so.1.2","target":"native/lib/libx.so.1"}]`), 0o644)
	if err := linkLibraries(pkg); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(pkg, "native", "lib", "libx.so.1")); err != nil || string(data) != "lib" {
		t.Errorf("the link: %q %v", data, err)
	}
}
