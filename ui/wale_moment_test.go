package ui

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/problem"
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
	eachSize(t, "moment-named", func(t *testing.T, m *Model) {
		p := toMoment(t, m)
		press(t, m, "n")
		if p.naming.names == nil || !strings.Contains(m.View().Content, "public.events: 1000 inserted") {
			t.Errorf("after n the relations are not named:\n%s", m.View().Content)
		}
		if keys := p.Keys(); len(keys) != 2 {
			t.Errorf("n is still offered once the names are read: %v", keys)
		}
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

// TestNamingStopsOrFails: ctrl+c during the scout stops it and stays on the
// page, which says the copy was removed and offers n again; a scout that
// fails leaves the numbers and says why.
func TestNamingStopsOrFails(t *testing.T) {
	needWaldump(t)
	m, _ := newModel(t, 100, 30)
	backend := m.deps.WALE.(*fixtureBackend)
	p := toMoment(t, m)
	backend.scoutHold = true
	_, cmd := m.Update(keyMsg("n"))
	rest := driveUntil(t, m, cmd, func() bool { return p.naming.step == walinspect.ScoutRecover })
	if flat := strings.Join(strings.Fields(m.View().Content), " "); !strings.Contains(flat, "recovering the copy to the end of the backup… (ctrl+c stops it)") {
		t.Errorf("the scout's step is not shown:\n%s", m.View().Content)
	}
	_, stop := m.Update(keyMsg("ctrl+c"))
	if !p.naming.stopping || m.quitting {
		t.Fatalf("ctrl+c: stopping %v, quitting %v", p.naming.stopping, m.quitting)
	}
	drive(t, m, tea.Batch(append(rest, stop)...))
	if onTop[*momentPage](t, m) != p || p.naming.job != nil || !p.naming.stopped ||
		!strings.Contains(strings.Join(strings.Fields(m.View().Content), " "), "scratch copy removed; n starts again") {
		t.Fatalf("after the scout stopped: %+v\n%s", p.naming, m.View().Content)
	}

	backend.scoutHold = false
	backend.scoutErr = problem.New(problem.Config, "pg_ctl", "no PostgreSQL 15 server programs", "install postgresql-15")
	press(t, m, "n")
	view := strings.Join(strings.Fields(m.View().Content), " ")
	if p.naming.names != nil || !strings.Contains(view, "no PostgreSQL 15 server programs") || !strings.Contains(view, "1663/16384/16386: 1000 inserted") {
		t.Errorf("a failed scout:\n%s", view)
	}
}

// TestPlainModeNamesTheMoment: line by line, n after the list names the
// relations and lists the transactions again.
func TestPlainModeNamesTheMoment(t *testing.T) {
	needWaldump(t)
	passphrase, err := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	answers := strings.Join([]string{"content-publisher", "", "", strings.TrimSpace(string(passphrase)), "f", "n", "3", ""}, "\n") + "\n"
	var out strings.Builder
	outcome := RunPlain(plainDeps(t, func(d *Deps) { d.DryRun = true }), strings.NewReader(answers), &out)
	transcript := out.String()
	if outcome.Err != nil {
		t.Fatalf("%v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"n: name the relations from the base backup", "Naming the relations from backup", "Relations named from the base backup",
		"   public.events: 1000 inserted", "Stop just before transaction 732"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
}
