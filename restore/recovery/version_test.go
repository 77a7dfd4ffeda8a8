package recovery

import (
	"os"
	"path/filepath"
	"testing"

	"pgrescue/problem"
)

func TestReadVersionEverySupportedVersion(t *testing.T) {
	cases := []struct {
		text                            string
		want                            Version
		signals, targetAction, progress bool
		walDir                          string
	}{
		{"9.3", Version{9, 3}, false, false, false, "pg_xlog"},
		{"9.4", Version{9, 4}, false, false, false, "pg_xlog"},
		{"9.5", Version{9, 5}, false, true, false, "pg_xlog"},
		{"9.6", Version{9, 6}, false, true, false, "pg_xlog"},
		{"10", Version{10, 0}, false, true, false, "pg_wal"},
		{"11", Version{11, 0}, false, true, false, "pg_wal"},
		{"12", Version{12, 0}, true, true, false, "pg_wal"},
		{"13", Version{13, 0}, true, true, false, "pg_wal"},
		{"14", Version{14, 0}, true, true, false, "pg_wal"},
		{"15", Version{15, 0}, true, true, true, "pg_wal"},
		{"16", Version{16, 0}, true, true, true, "pg_wal"},
		{"17", Version{17, 0}, true, true, true, "pg_wal"},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "PG_VERSION"), c.text+"\n")
			v, err := ReadVersion(dir)
			if err != nil {
				t.Fatal(err)
			}
			if v != c.want || v.String() != c.text {
				t.Errorf("got %+v (%s), want %+v (%s)", v, v, c.want, c.text)
			}
			if v.UsesSignalFiles() != c.signals || v.HasTargetAction() != c.targetAction || v.HasProgressLines() != c.progress || v.WALDir() != c.walDir {
				t.Errorf("%s: signals %v action %v progress %v waldir %s", v, v.UsesSignalFiles(), v.HasTargetAction(), v.HasProgressLines(), v.WALDir())
			}
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	cases := []struct {
		text string
		kind problem.Kind
	}{
		{"", problem.Corrupt},
		{"abc", problem.Corrupt},
		{"9", problem.Corrupt},      // 9.x needs its second number
		{"9.3.1", problem.Corrupt},  // PG_VERSION holds the major version only
		{"10.1", problem.Corrupt},   // from 10 the major version is one number
		{"015", problem.Corrupt},    // not how PostgreSQL writes it
		{"-15", problem.Corrupt},    //
		{"15\x00", problem.Corrupt}, // a damaged file
		{"8.4", problem.Usage},      // real, but older than pgrescue supports
		{"9.2", problem.Usage},      //
		{"19", problem.Usage},       // newer than pgrescue knows
		{"9.10", problem.Usage},     // never released: outside the range
	}
	for _, c := range cases {
		_, err := ParseVersion(c.text)
		wantKind(t, err, c.kind, "PG_VERSION")
	}
	if _, err := ParseVersion(" 15 \n"); err != nil {
		t.Errorf("white space around the version: %v", err)
	}
}

func TestReadVersionMissingOrUnreadable(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadVersion(dir)
	wantKind(t, err, problem.Usage, filepath.Join(dir, "PG_VERSION"), "not a PostgreSQL data directory")

	if err := os.Mkdir(filepath.Join(dir, "PG_VERSION"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = ReadVersion(dir)
	wantKind(t, err, problem.LocalIO, "cannot read PG_VERSION")

	bad := t.TempDir()
	writeFile(t, filepath.Join(bad, "PG_VERSION"), "banana\n")
	_, err = ReadVersion(bad)
	wantKind(t, err, problem.Corrupt, filepath.Join(bad, "PG_VERSION"), `"banana"`)
}

func TestVersionAtLeast(t *testing.T) {
	v := Version{9, 6}
	if !v.AtLeast(9, 5) || !v.AtLeast(9, 6) || v.AtLeast(10, 0) {
		t.Errorf("9.6 compared wrongly")
	}
}
