package journal_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/journal"
	"pgrescue/problem"
)

func TestReadAllNamesTheFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{})
	j.Step("fetch").End(nil)
	j.Close(nil)
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n") // session, start, end, session-end, ""
	damaged := lines[0] + lines[1] + "\n" + `{"type":"step-e` + "\n" + lines[2] + "{}\n" + lines[3]
	os.WriteFile(path, []byte(damaged), 0o600)

	recs, err := journal.ReadAll(path)
	if err == nil {
		t.Fatal("ReadAll read a damaged journal without an error")
	}
	for _, want := range []string{path + ", line 4", "1 more malformed line"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if problem.KindOf(err) != problem.Corrupt {
		t.Errorf("error kind %v, want corrupt", problem.KindOf(err))
	}
	if got := types(recs); got != "session step-start step-end session-end" {
		t.Errorf("records = %s, want every good line", got)
	}
}

func TestReadAllMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.jsonl")
	_, err := journal.ReadAll(path)
	if problem.KindOf(err) != problem.LocalIO || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadAll(missing) = %v, want a local-io problem naming the file", err)
	}
}
