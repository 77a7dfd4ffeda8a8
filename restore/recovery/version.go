package recovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pgrescue/problem"
)

// Version is a PostgreSQL major version: {9, 3} for 9.3, {15, 0} for 15.
// Before 10 a major version had two numbers; from 10 on it has one.
type Version struct{ Major, Minor int }

// The range pgrescue knows the recovery configuration of (see
// shared/research/pg-recovery.md §2).
var (
	oldestSupported = Version{9, 3}
	newestSupported = Version{18, 0}
)

// ReadVersion reads the major version from the data directory's PG_VERSION.
func ReadVersion(pgdata string) (Version, error) {
	path := filepath.Join(pgdata, "PG_VERSION")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Version{}, problem.Wrap(err, problem.Usage, path,
			"this is not a PostgreSQL data directory: PG_VERSION is missing",
			"give the directory the base backup was restored into (it holds PG_VERSION, base/ and global/)")
	}
	if err != nil {
		return Version{}, problem.Wrap(err, problem.LocalIO, path, "cannot read PG_VERSION",
			"check the data directory's permissions, or run as root or its owner")
	}
	v, err := ParseVersion(string(data))
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			pe.Subject = path
		}
		return Version{}, err
	}
	return v, nil
}

// ParseVersion parses the text of PG_VERSION ("9.3", "15"; surrounding white
// space allowed) and checks that pgrescue supports it.
func ParseVersion(s string) (Version, error) {
	text := strings.TrimSpace(s)
	v, ok := parseMajor(text)
	if !ok {
		return Version{}, problem.New(problem.Corrupt, "PG_VERSION",
			fmt.Sprintf("PG_VERSION holds %q, which is not a PostgreSQL major version", text),
			"the restore may be damaged: PG_VERSION holds 9.3 … 9.6 or 10 … 18; fetch the backup again")
	}
	if !v.supported() {
		return Version{}, problem.New(problem.Usage, "PG_VERSION",
			fmt.Sprintf("PostgreSQL %s is not supported: pgrescue configures recovery for %s to %s", v, oldestSupported, newestSupported),
			"configure recovery by hand following that version's documentation (chapter \"Continuous Archiving and Point-in-Time Recovery\")")
	}
	return v, nil
}

// parseMajor accepts "9.N" and "N" (N >= 10) without range checks.
func parseMajor(text string) (Version, bool) {
	major, minor, dotted := strings.Cut(text, ".")
	m, err := strconv.Atoi(major)
	if err != nil || m < 1 || major != strconv.Itoa(m) {
		return Version{}, false
	}
	if !dotted {
		return Version{Major: m}, m >= 10
	}
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 || minor != strconv.Itoa(n) || m >= 10 {
		return Version{}, false
	}
	return Version{Major: m, Minor: n}, true
}

// supported reports whether v is a released major version pgrescue knows:
// 9.3 to 9.6, then 10 to 18.
func (v Version) supported() bool {
	if v.Major == 9 {
		return v.Minor >= oldestSupported.Minor && v.Minor <= 6
	}
	return v.Major >= 10 && v.Major <= newestSupported.Major
}

// String gives the version as PostgreSQL names it: "9.3", "15".
func (v Version) String() string {
	if v.Major < 10 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return strconv.Itoa(v.Major)
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return !v.less(Version{major, minor})
}

func (v Version) less(o Version) bool {
	return v.Major < o.Major || v.Major == o.Major && v.Minor < o.Minor
}

// UsesSignalFiles reports whether recovery is requested with recovery.signal
// and ordinary settings (12+) rather than recovery.conf.
func (v Version) UsesSignalFiles() bool { return v.AtLeast(12, 0) }

// HasTargetAction reports whether recovery_target_action exists (9.5+);
// before it, pause_at_recovery_target did its job.
func (v Version) HasTargetAction() bool { return v.AtLeast(9, 5) }

// WALDir names the WAL directory inside the data directory.
func (v Version) WALDir() string {
	if v.AtLeast(10, 0) {
		return "pg_wal"
	}
	return "pg_xlog"
}

// HasProgressLines reports whether the server logs "redo in progress" lines
// (log_startup_progress_interval, 15+).
func (v Version) HasProgressLines() bool { return v.AtLeast(15, 0) }
