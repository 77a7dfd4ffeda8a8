package ui

import (
	"os"
	"path/filepath"
	"strings"
)

// completePath completes a directory path typed so far, as a shell's tab
// does: the one directory it can mean, or as far as the candidates agree.
// Only directories are offered: the fields it serves take a data directory.
func completePath(typed string) string {
	dir, prefix := filepath.Split(typed)
	list := dir
	if list == "" {
		list = "."
	}
	entries, err := os.ReadDir(list)
	if err != nil {
		return typed
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || (strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		if st, err := os.Stat(filepath.Join(list, e.Name())); err == nil && st.IsDir() {
			names = append(names, e.Name())
		}
	}
	switch len(names) {
	case 0:
		return typed
	case 1:
		return dir + names[0] + "/"
	}
	common := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, common) {
			common = common[:len(common)-1]
		}
	}
	return dir + common
}
