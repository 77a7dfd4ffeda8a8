package pgdump

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var london, _ = time.LoadLocation("Europe/London")

// tree lays out files as autopostgresqlbackup 1.1 names them, GOV.UK's
// settings first (SEPDIR=yes, gzip, LATEST=yes), then the other layouts,
// with each file's time 2 minutes after the time in its name.
func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]time.Time{
		"daily/content_publisher_production/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz":                               at(2026, 11, 25, 3, 2),
		"daily/content_publisher_production/content_publisher_production_2026-11-24_03h00m.Tuesday.sql.gz":                                 at(2026, 11, 24, 3, 2),
		"daily/postgres_globals/postgres_globals_2026-11-25_03h00m.Wednesday.sql.gz":                                                       at(2026, 11, 25, 3, 2),
		"daily/email-alert-api_production/email-alert-api_production_2026-11-25_03h00m.Wednesday.sql.bz2":                                  at(2026, 11, 25, 3, 2),
		"daily/publishing_api_production/publishing_api_production_2026-11-25_03h00m.Wednesday.sql.xz.enc":                                 at(2026, 11, 25, 3, 2),
		"weekly/content_publisher_production/content_publisher_production_week.47.2026-11-21_03h00m.sql.gz":                                at(2026, 11, 21, 3, 2),
		"monthly/content_publisher_production/content_publisher_production_2026-11-01_03h00m.November.content_publisher_production.sql.gz": at(2026, 11, 1, 3, 2),
		"latest/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz":                                                           at(2026, 11, 25, 3, 2),
		"latest.tbz2": at(2026, 11, 25, 3, 5),
		"daily/2026-11-25_03h00m.Wednesday.sql.gz":                                                        at(2026, 11, 25, 3, 2), // SEPDIR=no
		"weekly/week.47.2026-11-21_03h00m.sql.gz":                                                         at(2026, 11, 21, 3, 2),
		"monthly/2026-11-01_03h00m.November.all-databases.sql":                                            at(2026, 11, 1, 3, 2),
		"localhost-123456789.log":                                                                         at(2026, 11, 25, 3, 2),
		"daily/content_publisher_production/notes.txt":                                                    at(2026, 11, 25, 3, 2),
		"daily/other_db/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz":                  at(2026, 11, 25, 3, 2), // in another's folder
		"daily/content_publisher_production/content_publisher_production_2026-02-30_03h00m.Monday.sql.gz": at(2026, 2, 28, 3, 2),
		"daily/content_publisher_production/content_publisher_production_2026-11-20_03h00m.Friday.sql.gz": at(2026, 11, 25, 3, 2), // copied later
	}
	for name, mtime := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	os.MkdirAll(filepath.Join(root, "lost+found", "x"), 0o700)
	return root
}

func at(y, m, d, h, min int) time.Time { return time.Date(y, time.Month(m), d, h, min, 0, 0, london) }

func TestEveryLayoutIsRecognisedAndNothingGuessed(t *testing.T) {
	entries, err := ScanDir(tree(t))
	if err != nil {
		t.Fatal(err)
	}
	l := Classify(entries, london)
	got := map[string]Dump{}
	for _, d := range l.Dumps {
		got[d.Path] = d
	}
	for path, want := range map[string]struct {
		db          string
		kind        Kind
		taken       time.Time
		compression Compression
		encrypted   bool
		week        int
	}{
		"daily/content_publisher_production/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz":                               {"content_publisher_production", Daily, at(2026, 11, 25, 3, 0), Gzip, false, 0},
		"daily/postgres_globals/postgres_globals_2026-11-25_03h00m.Wednesday.sql.gz":                                                       {"postgres_globals", Daily, at(2026, 11, 25, 3, 0), Gzip, false, 0},
		"daily/email-alert-api_production/email-alert-api_production_2026-11-25_03h00m.Wednesday.sql.bz2":                                  {"email-alert-api_production", Daily, at(2026, 11, 25, 3, 0), Bzip2, false, 0},
		"daily/publishing_api_production/publishing_api_production_2026-11-25_03h00m.Wednesday.sql.xz.enc":                                 {"publishing_api_production", Daily, at(2026, 11, 25, 3, 0), XZ, true, 0},
		"weekly/content_publisher_production/content_publisher_production_week.47.2026-11-21_03h00m.sql.gz":                                {"content_publisher_production", Weekly, at(2026, 11, 21, 3, 0), Gzip, false, 47},
		"monthly/content_publisher_production/content_publisher_production_2026-11-01_03h00m.November.content_publisher_production.sql.gz": {"content_publisher_production", Monthly, at(2026, 11, 1, 3, 0), Gzip, false, 0},
		"latest/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz":                                                           {"content_publisher_production", Latest, at(2026, 11, 25, 3, 0), Gzip, false, 0},
		"daily/2026-11-25_03h00m.Wednesday.sql.gz":                                                                                         {"", Daily, at(2026, 11, 25, 3, 0), Gzip, false, 0},
		"weekly/week.47.2026-11-21_03h00m.sql.gz":                                                                                          {"", Weekly, at(2026, 11, 21, 3, 0), Gzip, false, 47},
		"monthly/2026-11-01_03h00m.November.all-databases.sql":                                                                             {"", Monthly, at(2026, 11, 1, 3, 0), None, false, 0},
	} {
		d, ok := got[path]
		if !ok {
			t.Errorf("%s was not recognised", path)
			continue
		}
		if d.Database != want.db || d.Kind != want.kind || !d.TakenAt.Equal(want.taken) || d.Compression != want.compression || d.Encrypted != want.encrypted || d.Week != want.week {
			t.Errorf("%s: %+v", path, d)
		}
		if d.TimeMismatch != "" {
			t.Errorf("%s: %s", path, d.TimeMismatch)
		}
	}
	var unrecognised []string
	for _, e := range l.Unrecognised {
		unrecognised = append(unrecognised, e.Path)
	}
	want := []string{"daily/content_publisher_production/content_publisher_production_2026-02-30_03h00m.Monday.sql.gz",
		"daily/content_publisher_production/notes.txt", "daily/other_db/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz",
		"localhost-123456789.log"}
	if strings.Join(slices.Sorted(slices.Values(unrecognised)), " ") != strings.Join(want, " ") {
		t.Errorf("not recognised: %v\nwant %v", unrecognised, want)
	}
	if l.LatestTarball == nil || l.LatestTarball.Path != "latest.tbz2" {
		t.Errorf("latest.tbz2: %+v", l.LatestTarball)
	}
	for i := 1; i < len(l.Dumps); i++ {
		if l.Dumps[i].TakenAt.After(l.Dumps[i-1].TakenAt) {
			t.Fatalf("not newest first at %d: %s after %s", i, l.Dumps[i].Path, l.Dumps[i-1].Path)
		}
	}
	late := got["daily/content_publisher_production/content_publisher_production_2026-11-20_03h00m.Friday.sql.gz"]
	if !strings.Contains(late.TimeMismatch, "last written 2026-11-25 03:02") {
		t.Errorf("a file written days after its name's time: %q", late.TimeMismatch)
	}
	daily := got["daily/content_publisher_production/content_publisher_production_2026-11-25_03h00m.Wednesday.sql.gz"]
	if g, ok := l.GlobalsOf(daily); !ok || g.Database != GlobalsDatabase {
		t.Errorf("no globals dump for the night of %s", daily.Path)
	}
	if _, ok := l.GlobalsOf(got["daily/content_publisher_production/content_publisher_production_2026-11-24_03h00m.Tuesday.sql.gz"]); ok {
		t.Error("a globals dump of another night was offered")
	}
}
