package wale_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/wale"
)

const mib16 = 16 << 20

func fixtureListing(t *testing.T) ([]wale.Backup, []wale.WALObject) {
	t.Helper()
	archive, _ := walefixture.Open(t)
	ctx := context.Background()
	backups, err := archive.ListBackups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	objects, _, err := archive.ListWAL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return backups, objects
}

func TestWindowAndTargetsOfTheFixture(t *testing.T) {
	backups, objects := fixtureListing(t)
	m := walefixture.ReadManifest(t)
	for _, pt := range m.PITRPoints {
		target, err := time.Parse(time.RFC3339Nano, pt.RFC3339)
		if err != nil {
			t.Fatal(err)
		}
		b, err := wale.ChooseBackup(backups, target)
		if err != nil {
			t.Fatal(err)
		}
		if b.Name != pt.RestoreFromBackup {
			t.Errorf("target %s: proposed %s, manifest restores from %s", pt.RFC3339, b.Name, pt.RestoreFromBackup)
		}
		w := wale.NewWindow(b, objects, mib16)
		if err := w.CheckTarget(target); err != nil {
			t.Errorf("target %s refused: %v", pt.RFC3339, err)
		}
		if w.GapWarning() != "" {
			t.Errorf("gap reported in a complete archive: %s", w.GapWarning())
		}
		if end := w.EndForTarget(target, mib16); end <= b.Start.Number(mib16)*mib16 || end > w.EndLSN(mib16) {
			t.Errorf("end estimate %s out of range", pglog.LSN(end).String())
		}
	}
	latest, err := wale.ChooseBackup(backups, time.Time{})
	if err != nil || latest.Name != m.Latest {
		t.Fatalf("end of archive: proposed %s (%v), want %s", latest.Name, err, m.Latest)
	}
	w := wale.NewWindow(latest, objects, mib16)
	if w.Newest.String() != m.Final.LastArchivedSegment || pglog.LSN(w.EndLSN(mib16)).String() != "0/19000000" {
		t.Errorf("newest %s end %s", w.Newest, pglog.LSN(w.EndLSN(mib16)).String())
	}
}

func TestTargetsOutsideTheWindowAreRefused(t *testing.T) {
	backups, objects := fixtureListing(t)
	b, _ := wale.ChooseBackup(backups, time.Time{})
	w := wale.NewWindow(b, objects, mib16)

	after := w.To.Add(time.Minute)
	err := w.CheckTarget(after)
	if !problem.Is(err, problem.Usage) || !strings.Contains(err.Error(), "after the newest archived WAL") || !strings.Contains(err.Error(), "000000010000000000000018") {
		t.Errorf("target after the archive: %v", err)
	}
	err = w.CheckTarget(b.LastModified.Add(-time.Second))
	if !problem.Is(err, problem.Usage) || !strings.Contains(err.Error(), "before backup "+b.Name+" completed") {
		t.Errorf("target before the backup: %v", err)
	}
	_, err = wale.ChooseBackup(backups, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if !problem.Is(err, problem.NoBackups) || !strings.Contains(err.Error(), "base_000000010000000000000012_00000012") {
		t.Errorf("target before every backup: %v", err)
	}
}

func TestGapIsNamedBeforeAndAfterReplay(t *testing.T) {
	backups, objects := fixtureListing(t)
	var gapped []wale.WALObject
	for _, o := range objects {
		if o.Name != "000000010000000000000014" {
			gapped = append(gapped, o)
		}
	}
	b := backups[0] // starts at segment 12
	w := wale.NewWindow(b, gapped, mib16)
	warn := w.GapWarning()
	if !strings.Contains(warn, "missing 1 WAL segment") || !strings.Contains(warn, "000000010000000000000014") {
		t.Errorf("gap warning: %q", warn)
	}
	// PostgreSQL then stops in segment 13 and promotes.
	restored := map[string]bool{"000000010000000000000012": true, "000000010000000000000013": true}
	after := w.UnreplayedWarning(0x13FFFEC8, func(n string) bool { return restored[n] }, mib16)
	if !strings.Contains(after, "WAL was left unreplayed") || !strings.Contains(after, "000000010000000000000014") || !strings.Contains(after, "0/13FFFEC8") {
		t.Errorf("after replay: %q", after)
	}
	full := wale.NewWindow(b, objects, mib16)
	restored["000000010000000000000018"] = true
	if s := full.UnreplayedWarning(0x18000060, func(n string) bool { return restored[n] }, mib16); s != "" {
		t.Errorf("complete replay warned: %q", s)
	}
}
