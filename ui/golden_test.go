package ui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

var update = flag.Bool("update", false, "rewrite the golden screens")

// screen is what the engineer sees: the frame without colours, with
// trailing spaces trimmed so goldens are readable.
func screen(m *Model) string {
	lines := strings.Split(ansi.Strip(m.View().Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// golden compares the screen with testdata/golden/NAME.golden.
func golden(t *testing.T, m *Model, name string) {
	t.Helper()
	got := screen(m)
	if lines := strings.Count(got, "\n"); lines != m.height {
		t.Errorf("%s: the screen has %d lines, the terminal %d", name, lines, m.height)
	}
	for i, l := range strings.Split(got, "\n") {
		if w := ansi.StringWidth(l); w > m.width {
			t.Errorf("%s: line %d is %d cells wide, the terminal %d: %q", name, i+1, w, m.width, l)
		}
	}
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}
