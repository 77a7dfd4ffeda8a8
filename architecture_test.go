package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsGoOneWay keeps ARCHITECTURE.md true: the command line is the
// only package that knows cobra; the wizard knows no command, set-up or
// backend package (it reaches the engines only through its flow backends'
// types); the engines know no front-end.
func TestImportsGoOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		imports[pkg] = strings.Fields(deps)
	}
	deps := func(pkg string) map[string]bool { // everything pkg depends on
		seen := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			for _, d := range imports[p] {
				if !seen[d] {
					seen[d] = true
					walk(d)
				}
			}
		}
		walk(pkg)
		return seen
	}
	for pkg, direct := range imports {
		for _, d := range direct {
			if d == "github.com/spf13/cobra" && pkg != "pgrescue/cli" {
				t.Errorf("%s imports cobra: only pgrescue/cli may", pkg)
			}
		}
	}
	for d := range deps("pgrescue/ui") {
		if d == "pgrescue/cli" || d == "pgrescue/session" || d == "pgrescue/wizardbackend" || d == "github.com/spf13/cobra" {
			t.Errorf("pgrescue/ui depends on %s", d)
		}
	}
	for pkg := range imports {
		engine := strings.HasPrefix(pkg, "pgrescue/restore/") || strings.HasPrefix(pkg, "pgrescue/gpg") ||
			strings.HasPrefix(pkg, "pgrescue/format/") || strings.HasPrefix(pkg, "pgrescue/storage/")
		if !engine {
			continue
		}
		for d := range deps(pkg) {
			if d == "pgrescue/ui" || d == "pgrescue/cli" || d == "pgrescue/session" || strings.HasPrefix(d, "charm.land/") {
				t.Errorf("engine %s depends on the front-end package %s", pkg, d)
			}
		}
	}
}
