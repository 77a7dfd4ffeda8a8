package recovery

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestInstalledBinDirsNewestFirst: Debian's and the PGDG RPMs' layouts are
// both searched, ordered by the version in their names, not the alphabet
// (which puts 9.6 after 18).
func TestInstalledBinDirsNewestFirst(t *testing.T) {
	root := t.TempDir()
	var made []string
	for _, dir := range []string{"lib/postgresql/9.6/bin", "lib/postgresql/18/bin", "pgsql-16/bin", "lib/postgresql/10/bin", "pgsql-9.5/bin"} {
		made = append(made, filepath.Join(root, dir))
		if err := os.MkdirAll(made[len(made)-1], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	saved := InstallGlobs
	InstallGlobs = []string{filepath.Join(root, "lib/postgresql/*/bin"), filepath.Join(root, "pgsql-*/bin")}
	t.Cleanup(func() { InstallGlobs = saved })
	want := []string{made[1], made[2], made[3], made[0], made[4]}
	if got := InstalledBinDirs(); !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}
