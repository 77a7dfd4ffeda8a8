package ui

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTabCompletesADataDirectory: the one directory a prefix can mean, or
// as far as several agree; files and hidden entries are not offered.
func TestTabCompletesADataDirectory(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"postgresql/13/main", "postgresql/15/main", "postgresql/15/backup", ".hidden"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	os.WriteFile(filepath.Join(root, "postgresql", "13", "main.log"), nil, 0o600)
	for typed, want := range map[string]string{
		root + "/post":            "postgresql/",
		root + "/postgresql/1":    "postgresql/1",
		root + "/postgresql/13/m": "postgresql/13/main/",
		root + "/postgresql/15/":  "postgresql/15/",
		root + "/postgresql/15/b": "postgresql/15/backup/",
		root + "/nothing":         "nothing",
		root + "/":                "postgresql/",
	} {
		if got := completePath(typed); got != root+"/"+want {
			t.Errorf("%q completes to %q, want %q", typed, got, root+"/"+want)
		}
	}

	m, _ := newModel(t, 80, 24)
	typeText(t, m, "content-publisher")
	press(t, m, "enter", "enter")
	onTop[*sourcePage](t, m).sel.Details.PGData = ""
	press(t, m, "enter")
	typeText(t, m, root+"/postgresql/13/m")
	press(t, m, "tab")
	if got := onTop[*preflightPage](t, m).dir.Value(); got != root+"/postgresql/13/main/" {
		t.Errorf("tab in the data directory field: %q", got)
	}
}
