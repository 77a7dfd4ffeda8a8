package replay

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
)

func TestParseBackupLabel(t *testing.T) {
	text := "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\nCHECKPOINT LOCATION: 0/3000060\nBACKUP METHOD: streamed\n"
	st, err := parseBackupLabel(text, mib16)
	if err != nil || st.LSN != 0x3000028 || st.Segment.String() != "000000010000000000000003" || st.Source != "backup_label" {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := parseBackupLabel("LABEL: x\n", mib16); err == nil {
		t.Error("a label without START WAL LOCATION was accepted")
	}
}

// TestStartFromTheFixturesControlFile: the fixture's first backup was
// taken offline, so replay starts at its pg_control's checkpoint. pgrescue
// reads the file itself, and must read what the real pg_controldata 15
// printed for it (logs/pg_controldata-at-backups.txt).
func TestStartFromTheFixturesControlFile(t *testing.T) {
	text, err := os.ReadFile(walefixture.Path(t, "logs", "pg_controldata-at-backups.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The file holds pg_controldata at both backups; the first is base 12's.
	first, _, _ := strings.Cut(string(text)[1:], "pg_control version number")
	want := map[string]string{}
	for _, line := range strings.Split(string(text)[:1]+first, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			want[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	archive, _ := walefixture.Open(t)
	pgdata := filepath.Join(t.TempDir(), "data")
	if _, err := archive.FetchBackup(t.Context(), wale.FetchOptions{DataDir: pgdata, Backup: "base_000000010000000000000012_00000012"}, nil); err != nil {
		t.Fatal(err)
	}
	ctl, err := recovery.ReadControl(pgdata)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"pg_control version number":         strconv.FormatUint(uint64(ctl.Version), 10),
		"Database system identifier":        strconv.FormatUint(ctl.SystemID, 10),
		"Database cluster state":            ctl.State.String(),
		"Latest checkpoint location":        FormatLSN(ctl.Checkpoint),
		"Latest checkpoint's REDO location": FormatLSN(ctl.Redo),
		"Latest checkpoint's TimeLineID":    strconv.FormatUint(uint64(ctl.Timeline), 10),
		"Bytes per WAL segment":             strconv.FormatInt(ctl.SegmentSize, 10),
	}
	for k, v := range got {
		if want[k] != v {
			t.Errorf("%s: read %q, pg_controldata printed %q", k, v, want[k])
		}
	}
	st, err := ReadStart(pgdata)
	if err != nil || FormatLSN(st.LSN) != "0/12000028" || st.Segment.String() != "000000010000000000000012" || st.Source != "pg_control" || st.Resuming {
		t.Fatalf("%+v %v", st, err)
	}
	os.Remove(filepath.Join(pgdata, "global", "pg_control"))
	if _, err := ReadStart(pgdata); !problem.Is(err, problem.Corrupt) {
		t.Errorf("no pg_control: %v", err)
	}
}

func TestFindBackup(t *testing.T) {
	archive, _ := walefixture.Open(t)
	backups, err := archive.ListBackups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seg := func(s string) wale.Segment { v, _ := wale.ParseSegment(s); return v }
	st := Start{Segment: seg("000000010000000000000016"), SegmentSize: mib16}
	if b, err := FindBackup(backups, st, "/d"); err != nil || b.Name != "base_000000010000000000000016_00000016" {
		t.Errorf("exact: %v %v", b.Name, err)
	}
	// An interrupted replay moved the checkpoint to segment 14: the data
	// directory still holds the backup that started at 12.
	st = Start{Segment: seg("000000010000000000000014"), SegmentSize: mib16, Resuming: true}
	if b, err := FindBackup(backups, st, "/d"); err != nil || b.Name != "base_000000010000000000000012_00000012" {
		t.Errorf("resuming: %v %v", b.Name, err)
	}
	st.Resuming = false
	if _, err := FindBackup(backups, st, "/d"); !problem.Is(err, problem.NoBackups) || !strings.Contains(err.Error(), "--backup") {
		t.Errorf("no match: %v", err)
	}
}
