package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
)

// binarySearchGlobs are where packages install a major version's server
// programs, besides PATH (Debian's /usr/bin holds only wrappers, and no
// initdb). A variable so that tests can point it at a fake root.
var binarySearchGlobs = recovery.InstallGlobs

// requiredPrograms are what the build runs: the server, its control and
// client programs, and pg_basebackup for backup-push.
var requiredPrograms = []string{"initdb", "pg_ctl", "postgres", "psql", "pg_basebackup"}

// oldestSandboxMajor is the first version with pg_switch_wal and the
// replica wal_level the build uses.
const oldestSandboxMajor = 10

// postgresBinaries is one installed PostgreSQL major version.
type postgresBinaries struct {
	Dir     string
	Version recovery.Version
}

func (b postgresBinaries) path(program string) string { return filepath.Join(b.Dir, program) }

// findPostgreSQL picks the highest installed version pgrescue can restore,
// since a restore needs the same major version as the sandbox's cluster and
// the newest one is what an engineer most likely has.
func findPostgreSQL(ctx context.Context) (postgresBinaries, error) {
	var best postgresBinaries
	var seen []string
	for _, dir := range candidateBinDirs() {
		found, note := inspectBinDir(ctx, dir)
		if note != "" {
			seen = append(seen, note)
			continue
		}
		if found.Version.Major > best.Version.Major {
			best = found
		}
	}
	if best.Dir == "" {
		return best, noPostgreSQL(seen)
	}
	return best, nil
}

// candidateBinDirs lists the directory of initdb on PATH (symlinks
// resolved, so its siblings are found) and every directory the search globs
// match, each once.
func candidateBinDirs() []string {
	var dirs []string
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			initdb = real
		}
		dirs = append(dirs, filepath.Dir(initdb))
	}
	for _, glob := range binarySearchGlobs {
		matches, _ := filepath.Glob(glob)
		dirs = append(dirs, matches...)
	}
	seen := map[string]bool{}
	unique := dirs[:0]
	for _, d := range dirs {
		key := d
		if real, err := filepath.EvalSymlinks(d); err == nil {
			key = real
		}
		if !seen[key] {
			seen[key] = true
			unique = append(unique, d)
		}
	}
	return unique
}

// inspectBinDir checks a directory holds every program and a version the
// sandbox can use; otherwise it says why not, for the error's detail.
func inspectBinDir(ctx context.Context, dir string) (postgresBinaries, string) {
	for _, p := range requiredPrograms {
		if st, err := os.Stat(filepath.Join(dir, p)); err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return postgresBinaries{}, fmt.Sprintf("%s has no %s", dir, p)
		}
	}
	v, err := recovery.InstalledVersion(ctx, dir)
	if err != nil {
		return postgresBinaries{}, fmt.Sprintf("%s/postgres --version: %v", dir, err)
	}
	if v.Major < oldestSandboxMajor {
		return postgresBinaries{}, fmt.Sprintf("%s holds PostgreSQL %s, which the sandbox cannot use (it needs %d to 17)", dir, v, oldestSandboxMajor)
	}
	return postgresBinaries{Dir: dir, Version: v}, ""
}

func noPostgreSQL(seen []string) error {
	e := problem.New(problem.Config, "PostgreSQL server programs",
		"no usable PostgreSQL server is installed: the sandbox runs a real cluster and needs initdb, pg_ctl, postgres, psql and pg_basebackup "+
			"(PostgreSQL "+strconv.Itoa(oldestSandboxMajor)+" to 17)",
		"install it: sudo apt-get install postgresql (on Red Hat systems: sudo dnf install postgresql-server), then run pgrescue demo again")
	where := append([]string{"initdb on PATH"}, binarySearchGlobs...)
	e.Detail = "looked in " + strings.Join(where, ", ")
	if len(seen) > 0 {
		e.Detail += "; found only: " + strings.Join(seen, "; ")
	}
	return e
}
