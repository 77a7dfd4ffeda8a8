package ui

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// needWaldump skips a test that reads the fixture's WAL without pg_waldump 15.
func needWaldump(t *testing.T) {
	t.Helper()
	if _, err := walinspect.FindWaldump(t.Context(), recovery.Version{Major: 15}, ""); err != nil {
		testtool.Missing(t, "pg_waldump 15", "install it with: sudo apt-get install postgresql-15")
	}
}

// toMoment walks to the target page and finds the moment in the WAL of the
// backup proposed there.
func toMoment(t *testing.T, m *Model) *momentPage {
	t.Helper()
	toBackup(t, m)
	press(t, m, "f")
	p := onTop[*momentPage](t, m)
	if p.running || p.err != nil || p.result == nil {
		t.Fatalf("the inspection: running %v, error %v", p.running, p.err)
	}
	return p
}

func TestMomentScreens(t *testing.T) {
	needWaldump(t)
	eachSize(t, "moment", func(t *testing.T, m *Model) {
		p := toMoment(t, m)
		if n := len(p.result.Transactions); n != 3 {
			t.Errorf("%d transactions, want 3", n)
		}
		// The walk shows the window's read: the path of pg_waldump is the
		// installed one, the same on every machine with postgresql-15.
	})
	eachSize(t, "moment-chosen", func(t *testing.T, m *Model) {
		toMoment(t, m)
		press(t, m, "up", "enter")
		onTop[*backupPage](t, m)
	})
	eachSize(t, "moment-plan", func(t *testing.T, m *Model) {
		toMoment(t, m)
		press(t, m, "enter", "enter")
		onTop[*planPage](t, m)
	})
}

// TestChoosingATransactionTargetsItsXid: the transaction chosen becomes an
// exclusive xid target with its backup, and the plan shows it as xid, LSN
// and commit time.
func TestChoosingATransactionTargetsItsXid(t *testing.T) {
	needWaldump(t)
	m, _ := newModel(t, 120, 40)
	p := toMoment(t, m)
	tx := p.result.Transactions[len(p.result.Transactions)-1]
	press(t, m, "enter")
	b := onTop[*backupPage](t, m)
	f := b.flow
	if want := (recovery.Target{Xid: tx.Xid, Exclusive: true}); f.req.Target != want || f.req.Backup != p.backup || f.moment != tx {
		t.Fatalf("target %+v backup %q, want %+v %q", f.req.Target, f.req.Backup, want, p.backup)
	}
	if got := screen(m); !strings.Contains(got, xidSentence(tx)) {
		t.Errorf("the target page does not say %q:\n%s", xidSentence(tx), got)
	}
	press(t, m, "enter")
	plan := onTop[*planPage](t, m)
	if plan.plan.Options.Target != f.req.Target {
		t.Errorf("planned to %+v", plan.plan.Options.Target)
	}
	got := screen(m)
	for _, want := range []string{"transaction " + strconv.FormatUint(uint64(tx.Xid), 10), "LSN " + tx.LSN.String(), tx.At.UTC().Format("2006-01-02 15:04:05.000000"), "same microsecond"} {
		if !strings.Contains(got, want) {
			t.Errorf("the plan lacks %q:\n%s", want, got)
		}
	}
	// Typing a time replaces the transaction.
	press(t, m, "esc")
	typeText(t, m, "2026-11-25 02:53:00+00")
	if b.parsed.Xid != 0 || !b.parsed.IsTime() {
		t.Errorf("after typing a time the target is %+v", b.parsed)
	}
}

// TestPlainModeFindsTheMoment: line by line, f at the target reads the WAL,
// a number chooses the transaction and the plan follows.
func TestPlainModeFindsTheMoment(t *testing.T) {
	needWaldump(t)
	passphrase, err := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	answers := strings.Join([]string{"content-publisher", "", "", strings.TrimSpace(string(passphrase)), "f", "3", ""}, "\n") + "\n"
	var out strings.Builder
	outcome := RunPlain(plainDeps(t, func(d *Deps) { d.DryRun = true }), strings.NewReader(answers), &out)
	transcript := out.String()
	if outcome.Err != nil {
		t.Fatalf("%v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"f: find the moment", "Reading the WAL of backup", "3 destructive transactions", "3. ",
		"Stop just before transaction", "The xid is exact", "Dry run: nothing was run."} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
}

// TestMomentReadingStops: while the WAL is read the page shows segments and
// records, and ctrl+c stops the reading and returns to the target.
func TestMomentReadingStops(t *testing.T) {
	for _, s := range sizes {
		t.Run(s.name, func(t *testing.T) {
			m, _ := newModel(t, s.width, s.height)
			toBackup(t, m)
			b := onTop[*backupPage](t, m)
			p := newMomentPage(b.flow, "base_000000010000000000000016_00000016", fixedNow.Add(-time.Hour), fixedNow)
			p.running, p.progress = true, walinspect.Event{Segment: "000000010000000000000017", Done: 2, Total: 3, Records: 4100}
			drive(t, m, m.push(p))
			golden(t, m, "moment-reading-"+s.name)
			press(t, m, "ctrl+c")
			onTop[*backupPage](t, m)
			if p.running || m.quitting {
				t.Errorf("after ctrl+c: running %v, quit asked %v", p.running, m.quitting)
			}
		})
	}
}
