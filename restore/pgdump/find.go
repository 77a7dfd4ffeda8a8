// Package pgdump is the runbook's legacy path: the nightly plain-SQL
// pg_dump files GOV.UK's autopostgresqlbackup wrote on the primary's
// dedicated mount point, which the onsite backup machine pulled and
// duplicity sent offsite. This file finds and names them; it reads names,
// sizes and times only, so every source (a directory, ssh, duplicity) can
// list its files the same way.
package pgdump

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Kind is which rotation a dump belongs to.
type Kind string

const (
	Daily   Kind = "daily"
	Weekly  Kind = "weekly"  // written on Saturdays instead of the daily
	Monthly Kind = "monthly" // on the 1st, in addition to the daily
	Latest  Kind = "latest"  // LATEST=yes: a copy of the newest of each database
)

// Compression is how the SQL is compressed (autopostgresqlbackup's COMP).
type Compression string

const (
	Gzip  Compression = "gzip"
	Bzip2 Compression = "bzip2"
	XZ    Compression = "xz"
	None  Compression = "none"
)

// GlobalsDatabase is the pseudo-database autopostgresqlbackup dumps roles
// and tablespaces under (pg_dumpall --globals-only).
const GlobalsDatabase = "postgres_globals"

// Entry is a file a source holds: its path relative to the tree's root
// (e.g. daily/db/db_2026-11-25_03h00m.Wednesday.sql.gz), size and time.
type Entry struct {
	Path    string
	Size    int64
	ModTime time.Time
}

// Dump is one recognised dump file.
type Dump struct {
	Entry
	Database     string // "" for a dump of every database (SEPDIR=no)
	Kind         Kind
	TakenAt      time.Time // from the name, in the primary's time zone
	Compression  Compression
	Encrypted    bool   // .enc: openssl smime, needs the key to read
	Week         int    // a weekly dump's ISO week
	TimeMismatch string // the file's time disagrees with its name
}

// AllDatabases reports a SEPDIR=no dump, which holds every database.
func (d Dump) AllDatabases() bool { return d.Database == "" }

// Globals reports the roles-and-tablespaces dump.
func (d Dump) Globals() bool { return d.Database == GlobalsDatabase }

// Listing is what a tree holds: its dumps, newest first, the backup
// machine's tarball of latest/ when there is one, and every other file,
// which is listed as not recognised rather than guessed at.
type Listing struct {
	Dumps         []Dump
	LatestTarball *Entry // latest.tbz2, written by GOV.UK's post-backup hook
	Unrecognised  []Entry
}

// The names autopostgresqlbackup 1.0/1.1 writes (DATE is
// YYYY-MM-DD_HHhMMm, DOW the weekday, M the month, W the ISO week), then
// .gz, .bz2 or .xz, then .enc when encrypted.
const (
	stamp    = `(\d{4})-(\d{2})-(\d{2})_(\d{2})h(\d{2})m`
	nameTail = `\.sql(\.gz|\.bz2|\.xz)?(\.enc)?$`
)

var (
	perDatabase = sync.OnceValue(func() map[Kind]*regexp.Regexp {
		return map[Kind]*regexp.Regexp{
			Daily:   regexp.MustCompile(`^(.+)_` + stamp + `\.[A-Za-z]+` + nameTail),
			Weekly:  regexp.MustCompile(`^(.+)_week\.(\d{2})\.` + stamp + nameTail),
			Monthly: regexp.MustCompile(`^(.+)_` + stamp + `\.[A-Za-z]+\.(.+)` + nameTail),
		}
	})
	allDatabases = sync.OnceValue(func() map[Kind]*regexp.Regexp {
		return map[Kind]*regexp.Regexp{
			Daily:   regexp.MustCompile(`^` + stamp + `\.[A-Za-z]+` + nameTail),
			Weekly:  regexp.MustCompile(`^week\.(\d{2})\.` + stamp + nameTail),
			Monthly: regexp.MustCompile(`^` + stamp + `\.[A-Za-z]+\.all-databases` + nameTail),
		}
	})
)

// Classify names every entry of a tree. loc is the primary's time zone, in
// which the names' times were written.
func Classify(entries []Entry, loc *time.Location) *Listing {
	if loc == nil {
		loc = time.Local
	}
	l := &Listing{}
	for _, e := range entries {
		e.Path = path.Clean(filepath.ToSlash(e.Path))
		if e.Path == "latest.tbz2" {
			entry := e
			l.LatestTarball = &entry
			continue
		}
		if d, ok := classify(e, loc); ok {
			l.Dumps = append(l.Dumps, d)
		} else {
			l.Unrecognised = append(l.Unrecognised, e)
		}
	}
	sort.SliceStable(l.Dumps, func(i, j int) bool { return l.Dumps[i].TakenAt.After(l.Dumps[j].TakenAt) })
	return l
}

// classify reads one path: KIND/DB/FILE (SEPDIR=yes), KIND/FILE (SEPDIR=no)
// or latest/FILE (a copy of a per-database file).
func classify(e Entry, loc *time.Location) (Dump, bool) {
	parts := splitPath(e.Path)
	d := Dump{Entry: e}
	switch {
	case len(parts) == 3 && (parts[0] == string(Daily) || parts[0] == string(Weekly) || parts[0] == string(Monthly)):
		d.Kind = Kind(parts[0])
		return d, d.readPerDatabase(parts[2], parts[1], loc)
	case len(parts) == 2 && parts[0] == string(Latest), len(parts) == 3 && parts[0] == tarballName && parts[1] == string(Latest):
		d.Kind = Latest
		for _, k := range []Kind{Weekly, Monthly, Daily} { // weekly and monthly names are the more specific
			if d.readPerDatabaseAs(k, parts[len(parts)-1], "", loc) {
				return d, true
			}
		}
		return d, false
	case len(parts) == 2 && (parts[0] == string(Daily) || parts[0] == string(Weekly) || parts[0] == string(Monthly)):
		d.Kind = Kind(parts[0])
		return d, d.readAllDatabases(parts[1], loc)
	}
	return d, false
}

func splitPath(p string) []string {
	var parts []string
	for p != "." && p != "/" && p != "" {
		dir, file := path.Split(p)
		parts = append([]string{file}, parts...)
		p = path.Clean(dir)
		if dir == "" {
			break
		}
	}
	return parts
}

// readPerDatabase reads a SEPDIR=yes file in its database's directory.
func (d *Dump) readPerDatabase(file, dir string, loc *time.Location) bool {
	return d.readPerDatabaseAs(d.Kind, file, dir, loc)
}

// readPerDatabaseAs reads file as kind's per-database name; dir, when
// given, must be the database the name says.
func (d *Dump) readPerDatabaseAs(kind Kind, file, dir string, loc *time.Location) bool {
	m := perDatabase()[kind].FindStringSubmatch(file)
	if m == nil {
		return false
	}
	db, rest := m[1], m[2:]
	if kind == Weekly {
		d.Week, _ = strconv.Atoi(rest[0])
		rest = rest[1:]
	}
	if kind == Monthly && m[7] != db { // ${DB}_$DATE.$M.${DB}: the name says its database twice
		return false
	}
	if dir != "" && dir != db {
		return false
	}
	d.Database = db
	return d.read(rest, m, loc)
}

// readAllDatabases reads a SEPDIR=no file: every database in one dump.
func (d *Dump) readAllDatabases(file string, loc *time.Location) bool {
	m := allDatabases()[d.Kind].FindStringSubmatch(file)
	if m == nil {
		return false
	}
	rest := m[1:]
	if d.Kind == Weekly {
		d.Week, _ = strconv.Atoi(rest[0])
		rest = rest[1:]
	}
	return d.read(rest, m, loc)
}

// read takes the date fields (year, month, day, hour, minute) and the
// compression and encryption suffixes, which end every match.
func (d *Dump) read(fields []string, m []string, loc *time.Location) bool {
	n := func(i int) int { v, _ := strconv.Atoi(fields[i]); return v }
	t := time.Date(n(0), time.Month(n(1)), n(2), n(3), n(4), 0, 0, loc)
	if t.Month() != time.Month(n(1)) || t.Day() != n(2) || n(3) > 23 || n(4) > 59 {
		return false // 2026-02-30 or 25h: not a name autopostgresqlbackup wrote
	}
	d.TakenAt = t
	switch m[len(m)-2] {
	case ".gz":
		d.Compression = Gzip
	case ".bz2":
		d.Compression = Bzip2
	case ".xz":
		d.Compression = XZ
	default:
		d.Compression = None
	}
	d.Encrypted = m[len(m)-1] == ".enc"
	if !d.ModTime.IsZero() {
		if off := d.ModTime.Sub(t); off < -time.Hour || off > 24*time.Hour {
			d.TimeMismatch = fmt.Sprintf("the file was last written %s, but its name says %s", d.ModTime.In(loc).Format("2006-01-02 15:04 MST"), t.Format("2006-01-02 15:04 MST"))
		}
	}
	return true
}

// GlobalsOf finds the roles-and-tablespaces dump of the same night as d, of
// the same kind, which a restore may need first for the roles d's objects
// belong to.
func (l *Listing) GlobalsOf(d Dump) (Dump, bool) {
	y, m, day := d.TakenAt.Date()
	for _, g := range l.Dumps {
		gy, gm, gd := g.TakenAt.Date()
		if g.Globals() && g.Kind == d.Kind && gy == y && gm == m && gd == day {
			return g, true
		}
	}
	return Dump{}, false
}

// ScanDir lists a local tree (the mount point, or a copy of it) as entries.
func ScanDir(root string) ([]Entry, error) {
	var entries []Entry
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if de.Name() == "lost+found" {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		entries = append(entries, Entry{Path: filepath.ToSlash(rel), Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	return entries, err
}
