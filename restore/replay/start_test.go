package replay

import (
	"context"
	"os"
	"strings"
	"testing"

	"pgrescue/internal/walefixture"
	"pgrescue/problem"
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

func TestStartFromTheFixturesControlData(t *testing.T) {
	text, err := os.ReadFile(walefixture.Path(t, "logs", "pg_controldata-at-backups.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The file holds pg_controldata at both backups; the first is base 12's.
	first, _, _ := strings.Cut(string(text)[1:], "pg_control version number")
	ctl := parseControlData(string(text)[:1] + first)
	st, err := startFromControl(ctl, mib16, "pg_control")
	if err != nil || FormatLSN(st.LSN) != "0/12000028" || st.Segment.String() != "000000010000000000000012" {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := startFromControl(map[string]string{}, mib16, "pg_control"); !problem.Is(err, problem.Corrupt) {
		t.Errorf("empty control data: %v", err)
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
