package recovery

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"pgrescue/problem"
)

// BinDirs are where packages put a major version's server
// binaries: Debian/Ubuntu (apt.postgresql.org included), then the PGDG RPMs.
// The version's own directory comes before PATH, which often holds only the
// newest version's wrappers.
func BinDirs(v Version) []string {
	return []string{"/usr/lib/postgresql/" + v.String() + "/bin", "/usr/pgsql-" + v.String() + "/bin"}
}

// FindBinaries returns the directory holding postgres and pg_ctl for major
// version v, checked with postgres --version: a server of another major
// version cannot read the data directory.
func FindBinaries(v Version) (string, error) {
	dirs := BinDirs(v)
	if path, err := exec.LookPath("postgres"); err == nil {
		dirs = append(dirs, filepath.Dir(path))
	}
	var seen []string
	for _, dir := range dirs {
		found, err := binDirVersion(dir)
		if err != nil {
			continue
		}
		if found.Major == v.Major && found.Minor == v.Minor {
			return dir, nil
		}
		seen = append(seen, fmt.Sprintf("%s holds PostgreSQL %s", dir, found))
	}
	return "", missingBinaries(v, seen)
}

var serverVersionPattern = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// binDirVersion runs dir/postgres --version, and checks pg_ctl is beside it.
// The answer is kept for the process while the binary is the same file
// (same size and time): a preflight and its recheck ask the same question.
func binDirVersion(dir string) (Version, error) {
	if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err != nil {
		return Version{}, err
	}
	st, err := os.Stat(filepath.Join(dir, "postgres"))
	if err != nil {
		return Version{}, err
	}
	key := versionKey{dir: dir, size: st.Size(), mtime: st.ModTime().UnixNano()}
	if v, ok := knownVersions.Load(key); ok {
		return v.(Version), nil
	}
	v, err := InstalledVersion(context.Background(), dir)
	if err == nil {
		knownVersions.Store(key, v)
	}
	return v, err
}

// versionKey names one postgres binary as found on disk.
type versionKey struct {
	dir         string
	size, mtime int64
}

var knownVersions sync.Map // versionKey → Version

// InstalledVersion asks dir's postgres for its major version
// (postgres --version), which is what a data directory must match.
func InstalledVersion(ctx context.Context, dir string) (Version, error) {
	return ProgramVersion(ctx, filepath.Join(dir, "postgres"))
}

// ProgramVersion asks a PostgreSQL program (postgres, pg_waldump, psql…)
// for its major version: "(PostgreSQL) 9.6.24" is 9.6, "15.18" is 15.
func ProgramVersion(ctx context.Context, program string) (Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, program, "--version").Output()
	if err != nil {
		return Version{}, err
	}
	m := serverVersionPattern.FindStringSubmatch(string(out))
	if m == nil {
		return Version{}, fmt.Errorf("unexpected %s --version output %q", filepath.Base(program), strings.TrimSpace(string(out)))
	}
	text := m[1]
	if m[1] == "9" && m[2] != "" {
		text += "." + m[2] // 9.x.y: the major version has two numbers
	}
	v, ok := parseMajor(text)
	if !ok {
		return Version{}, fmt.Errorf("unexpected %s --version output %q", filepath.Base(program), strings.TrimSpace(string(out)))
	}
	return v, nil
}

func missingBinaries(v Version, seen []string) error {
	e := problem.New(problem.Config, "PostgreSQL "+v.String()+" server",
		"the PostgreSQL "+v.String()+" server programs (postgres, pg_ctl) are not installed; the restored data directory needs exactly that major version",
		fmt.Sprintf("install them: sudo apt-get install postgresql-%s (older versions come from the PGDG repository, https://wiki.postgresql.org/wiki/Apt), "+
			"or on Red Hat systems sudo dnf install postgresql%s-server", v, strings.ReplaceAll(v.String(), ".", "")))
	if len(seen) > 0 {
		e.Detail = "found only: " + strings.Join(seen, "; ")
	}
	return e
}

// InstallGlobs are where packages install each major version's programs:
// Debian's and the PGDG RPMs' directories (BinDirs names one version's).
var InstallGlobs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}

// InstalledBinDirs lists the directories InstallGlobs match, by the version
// in their names, newest first: 18 before 9.6.
func InstalledBinDirs() []string {
	var dirs []string
	for _, glob := range InstallGlobs {
		matches, _ := filepath.Glob(glob)
		dirs = append(dirs, matches...)
	}
	slices.SortStableFunc(dirs, func(a, b string) int {
		va, vb := versionOfInstallDir(a), versionOfInstallDir(b)
		return cmp.Compare(vb.Major*100+vb.Minor, va.Major*100+va.Minor)
	})
	return dirs
}

// versionOfInstallDir is the version an install directory's name gives
// (/usr/lib/postgresql/15/bin, /usr/pgsql-9.6/bin); zero when none.
func versionOfInstallDir(binDir string) Version {
	v, _ := parseMajor(strings.TrimPrefix(filepath.Base(filepath.Dir(binDir)), "pgsql-"))
	return v
}

// FindProgram returns the first of candidates (paths of one program) whose
// --version accept takes; seen says what the others were, for the error.
// The one search behind pg_waldump's and pg_basebackup's.
func FindProgram(ctx context.Context, candidates []string, accept func(Version) bool) (found string, seen []string) {
	for _, c := range candidates {
		v, err := ProgramVersion(ctx, c)
		if err != nil {
			continue
		}
		if accept(v) {
			return c, nil
		}
		seen = append(seen, fmt.Sprintf("%s is PostgreSQL %s's", c, v))
	}
	return "", seen
}

// FindBackupClient returns the directory of a pg_basebackup (with its psql)
// that can back up a running server of version v: pg_basebackup refuses a
// server newer than itself, so one of v or newer, from the installed
// PostgreSQL versions (newest first) or PATH.
func FindBackupClient(ctx context.Context, v Version) (string, error) {
	dirs := append(BinDirs(v), InstalledBinDirs()...)
	if path, err := exec.LookPath("pg_basebackup"); err == nil {
		dirs = append(dirs, filepath.Dir(path))
	}
	var candidates []string
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "psql")); err == nil {
			candidates = append(candidates, filepath.Join(dir, "pg_basebackup"))
		}
	}
	found, seen := FindProgram(ctx, candidates, func(f Version) bool { return f.AtLeast(v.Major, v.Minor) })
	if found != "" {
		return filepath.Dir(found), nil
	}
	e := problem.New(problem.Config, "pg_basebackup",
		fmt.Sprintf("no pg_basebackup of PostgreSQL %s or newer was found: backing up a running PostgreSQL %s server needs one (an older one refuses it)", v, v),
		fmt.Sprintf("install it (sudo apt-get install postgresql-client-%s), or stop the server cleanly and run backup-push --while-offline, which needs no client program", v))
	e.Detail = "looked in " + strings.Join(dirs, ", ")
	if len(seen) > 0 {
		e.Detail = strings.Join(seen, "; ")
	}
	return "", e
}
