package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/internal/tmuxtest"
)

var (
	briefedPassphrase = regexp.MustCompile(`found in the secrets store: (\S+)`)
	briefedAccident   = regexp.MustCompile(`At (\d\d:\d\d:\d\d) UTC on (\d+ \w+ \d{4})`)
	sandboxDir        = regexp.MustCompile(`sandbox ready in (\S+) `)
	// The accident's briefing says roughly when, in whole minutes, and how
	// many documents the DELETE removed.
	briefedWindow  = regexp.MustCompile(`Some time between (\d\d:\d\d) and (\d\d:\d\d) UTC on (\d+ \w+ \d{4})`)
	briefedDeleted = regexp.MustCompile(`(\d+) of its \d+ documents were deleted`)
	// A transaction on the moment page: its head line, then what it did.
	momentTx = regexp.MustCompile(`^( > |   )(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) UTC\s+xid (\d+) committed at LSN`)
)

// chooseTheDelete moves the moment page's cursor to the transaction that
// deleted the briefing's number of rows from one relation (documents: the
// page shows relations as numbers) and changed nothing else, and returns
// its xid and commit time, the cursor on it.
func chooseTheDelete(t *testing.T, term *tmuxtest.Session, screen, rows string) (xid string, at time.Time) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	cursor, target := -1, -1
	var xids []string
	var times []string
	for i, l := range lines {
		m := momentTx.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] == " > " {
			cursor = len(xids)
		}
		if i+1 < len(lines) && regexp.MustCompile(`^\s+\d+/\d+/\d+: `+rows+` deleted$`).MatchString(strings.TrimRight(lines[i+1], " ")) {
			if target >= 0 {
				t.Fatalf("two transactions deleted %s rows:\n%s", rows, screen)
			}
			target = len(xids)
		}
		xids = append(xids, m[3])
		times = append(times, m[2])
	}
	if cursor < 0 || target < 0 {
		t.Fatalf("no cursor, or no transaction that deleted just %s rows, on the moment page:\n%s", rows, screen)
	}
	for ; cursor < target; cursor++ {
		term.Keys("Down")
	}
	for ; cursor > target; cursor-- {
		term.Keys("Up")
	}
	term.WaitFor("Enter: stop just before transaction "+xids[target]+", exactly.", 5*time.Second)
	at, err := time.Parse("2006-01-02 15:04:05.000000", times[target])
	if err != nil {
		t.Fatal(err)
	}
	return xids[target], at
}

// TestDemoFirstScenarioToAPassingCheck is a trainee's run of `pgrescue
// demo`: the sandbox is built, the briefing read (it says only roughly
// when the DELETE ran), the protected key unlocked with the passphrase from
// the "secrets store", the DELETE found in the archived WAL with "find the
// moment" and the target set just before it, the damaged primary moved
// aside, and the final check passes. Without --keep nothing is left: no
// folder, no server.
func TestDemoFirstScenarioToAPassingCheck(t *testing.T) {
	needPostgres(t)
	testtool.Need(t, "pg_basebackup")
	home := t.TempDir()
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 110, Height: 40, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "TZ=UTC"}},
		binary, "demo")
	briefing := term.WaitFor("enter start the exercise", 90*time.Second)
	joined := strings.Join(strings.Fields(briefing), " ")
	pass := briefedPassphrase.FindStringSubmatch(joined)
	window := briefedWindow.FindStringSubmatch(joined)
	deleted := briefedDeleted.FindStringSubmatch(joined)
	if pass == nil || window == nil || deleted == nil || !strings.Contains(joined, "press f to find the moment") {
		t.Fatalf("the briefing lacks the passphrase, the accident's rough time, the rows deleted or how to find the DELETE:\n%s", briefing)
	}
	if at := briefedAccident.FindString(joined); at != "" {
		t.Fatalf("the briefing gives the accident's exact time %q:\n%s", at, briefing)
	}

	term.Keys("Enter")
	toGPGStep(t, term)
	unlockInMemory(t, term, pass[1])
	// Find the moment: the chosen backup's WAL read with pg_waldump, its
	// transactions that changed many rows listed with their commit times.
	term.Keys("f")
	found := term.WaitFor("Enter: stop just before transaction", 120*time.Second)
	xid, at := chooseTheDelete(t, term, found, deleted[1])
	t.Logf("the briefing's window: %s to %s UTC; the DELETE found: transaction %s, committed at %s", window[1], window[2], xid, at.Format("15:04:05.000000"))
	from, err := time.Parse("2 January 2006 15:04", window[3]+" "+window[1])
	if err != nil {
		t.Fatal(err)
	}
	to, err := time.Parse("2 January 2006 15:04", window[3]+" "+window[2])
	if err != nil {
		t.Fatal(err)
	}
	if !to.After(from) { // the window crosses midnight: the date is its end's
		from = from.Add(-24 * time.Hour)
	}
	if at.Before(from) || !at.Before(to) || to.Sub(from) > 5*time.Minute {
		t.Errorf("the DELETE committed at %s, outside the briefing's window %s to %s UTC on %s", at, window[1], window[2], window[3])
	}
	if strings.Contains(joined, at.Format("15:04:05")) {
		t.Errorf("the briefing gives the DELETE's exact time %s:\n%s", at.Format("15:04:05"), briefing)
	}
	term.Keys("Enter")
	target := term.WaitFor("Press enter to see the plan.", 10*time.Second)
	if want := "Stop just before transaction " + xid; !strings.Contains(strings.Join(strings.Fields(target), " "), want) {
		t.Fatalf("the target page does not say %q:\n%s", want, target)
	}
	term.Keys("Enter")
	plan := term.WaitFor("[changes what is on disk]", 20*time.Second)
	pgdata := regexp.MustCompile(`type (\S+) \(the data directory's last two names`).FindStringSubmatch(strings.Join(strings.Fields(plan), " "))
	if pgdata == nil {
		t.Fatalf("the plan does not ask for the data directory's name:\n%s", plan)
	}
	term.Type(pgdata[1])
	term.Keys("Enter")
	// The replay is paced so a trainee sees it: a real rate and an ETA.
	term.WaitFor("Replay [", 60*time.Second)
	seen := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !seen; time.Sleep(250 * time.Millisecond) {
		screen := term.Screen()
		seen = strings.Contains(screen, "/s of WAL, ETA") && !strings.Contains(screen, "ETA unknown yet") && !strings.Contains(screen, " 0 B/s")
	}
	if !seen {
		t.Errorf("the replay showed no rate and ETA:\n%s", term.Screen())
	}
	done := term.WaitFor("Exercise passed", 120*time.Second)
	if !strings.Contains(done, "You took") {
		t.Errorf("the verdict does not say how long it took:\n%s", done)
	}
	term.Keys("q")
	if code := term.WaitExit(60 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	dir := sandboxDir.FindStringSubmatch(term.History()) // printed before the wizard took the screen
	if dir == nil {
		t.Fatalf("no sandbox folder named:\n%s", term.History())
	}
	if _, err := os.Stat(dir[1]); err == nil {
		t.Errorf("the sandbox %s was left behind without --keep", dir[1])
	}
	if out, _ := pgrep(dir[1]); out != "" {
		t.Errorf("processes of the sandbox are still running:\n%s", out)
	}
}

// TestDemoKeepLeavesTheFolder: --keep leaves the sandbox's folder (its
// servers stopped); --scenario alone lists the scenarios.
func TestDemoKeepLeavesTheFolderAndListsScenarios(t *testing.T) {
	r := pgrescue(t, nil, "demo", "--scenario")
	if r.code != 0 || !strings.Contains(r.stdout, "accident") || !strings.Contains(r.stdout, "disk-lost") {
		t.Fatalf("scenario list: %+v", r)
	}
	needPostgres(t)
	dir := filepath.Join(restoreDir(t), "sandbox")
	r = pgrescue(t, nil, "demo", "--keep", "--dir", dir, "--scenario", "disk-lost", "--plain")
	if _, err := os.Stat(filepath.Join(dir, "env.d")); err != nil {
		t.Errorf("--keep left no sandbox in %s: %+v", dir, r)
	}
	if out, _ := pgrep(dir); out != "" {
		t.Errorf("servers of the kept sandbox still run:\n%s", out)
	}
	if r2 := pgrescue(t, nil, "demo", "--scenario", "no-such"); r2.code != 3 || !strings.Contains(r2.stderr, "accident") {
		t.Errorf("unknown scenario: %+v", r2)
	}
}

// pgrep lists the processes whose command line mentions dir.
func pgrep(dir string) (string, error) {
	out, err := exec.Command("pgrep", "-af", dir).Output()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "pgrep") && !strings.Contains(l, "tmux") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n"), err
}

// TestDemoCtrlCDuringTheBuildLeavesNothing: a ctrl+c while the sandbox is
// being built stops its servers and removes its folder.
func TestDemoCtrlCDuringTheBuildLeavesNothing(t *testing.T) {
	needPostgres(t)
	home := t.TempDir()
	dir := filepath.Join(restoreDir(t), "sandbox")
	term := tmuxtest.Start(t, tmuxtest.Options{Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}}, binary, "demo", "--dir", dir)
	term.WaitFor("Writing the application's data", 60*time.Second)
	term.Keys("C-c")
	if code := term.WaitExit(60 * time.Second); code == 0 {
		t.Errorf("exit 0 after ctrl+c")
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the sandbox %s was left behind", dir)
	}
	if out, _ := pgrep(dir); out != "" {
		t.Errorf("processes of the sandbox are still running:\n%s", out)
	}
}

// TestDemoHangupLeavesNothing: closing the terminal while the sandbox's
// primary runs (SIGHUP) stops its servers and removes its folder, as ctrl+c
// does. It used to leave PostgreSQL running, archiving to a dead S3.
func TestDemoHangupLeavesNothing(t *testing.T) {
	needPostgres(t)
	home := t.TempDir()
	dir := filepath.Join(restoreDir(t), "sandbox")
	term := tmuxtest.Start(t, tmuxtest.Options{Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}}, binary, "demo", "--dir", dir)
	term.WaitFor("Writing the application's data", 60*time.Second)
	if out, _ := pgrep(dir); out == "" {
		t.Fatal("no server of the sandbox runs: the check below could not fail")
	}
	term.Hangup()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := pgrep(dir)
		_, statErr := os.Stat(dir)
		if out == "" && statErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the hangup: processes %q, folder left: %v", out, statErr == nil)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDemoAsAnOrdinaryUserInPlainMode: the second scenario, run by a user
// who is not root (postgres here) on a terminal that cannot draw screens:
// the plain wizard briefs, asks line by line (the passphrase unechoed),
// restores to the end of the archive and checks the result.
func TestDemoAsAnOrdinaryUserInPlainMode(t *testing.T) {
	needPostgres(t)
	if os.Geteuid() != 0 {
		t.Skip("this test switches to the postgres user; as an ordinary user every other demo test already runs as one")
	}
	testtool.Need(t, "setpriv")
	shared := filepath.Join(restoreDir(t), "bin")
	os.MkdirAll(shared, 0o755)
	exe := sharedForPostgres(t, shared, binary, 0o755)
	home := filepath.Join(filepath.Dir(shared), "home")
	os.MkdirAll(home, 0o700)
	exec.Command("chown", "postgres:postgres", home).Run()
	term := tmuxtest.Start(t, tmuxtest.Options{Term: "dumb", Width: 120, Height: 50, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}},
		"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", exe, "demo", "--scenario", "disk-lost")
	briefing := term.WaitFor("Press enter to start the clock", 90*time.Second)
	pass := briefedPassphrase.FindStringSubmatch(strings.Join(strings.Fields(briefing), " "))
	if pass == nil {
		t.Fatalf("no passphrase in the briefing:\n%s", briefing)
	}
	answer := func(prompt, text string, wait time.Duration) {
		t.Helper()
		term.WaitFor(prompt, wait)
		term.Type(text)
		term.Keys("Enter")
	}
	term.Keys("Enter")
	answer("Application (its name;", "content-publisher", 5*time.Second)
	answer("Hosting [2]:", "", 5*time.Second)
	answer("Source [1]:", "", 5*time.Second)
	answer("Passphrase (not shown):", pass[1], 30*time.Second)
	answer("Target time", "", 20*time.Second)
	answer("Backup [1]:", "", 5*time.Second)
	answer("Type yes to start the restore", "yes", 20*time.Second)
	term.WaitFor("Exercise passed", 120*time.Second)
	if code := term.WaitExit(60 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := strings.Count(term.History(), pass[1]); n != 1 { // the briefing shows it once; typing it must not
		t.Errorf("the passphrase appears %d times on the terminal", n)
	}
}

// TestDemoNightlyDumpThroughTheOffsiteCopy is the legacy path's exercise,
// full screen: the trainee takes the pg_dump branch, reads the offsite
// duplicity copy, restores last night's dump into a new database beside
// the damaged live one, and the check passes; nothing is left behind.
func TestDemoNightlyDumpThroughTheOffsiteCopy(t *testing.T) {
	needPostgres(t)
	testtool.Need(t, "duplicity")
	home := t.TempDir()
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 110, Height: 40, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "TZ=UTC"}},
		binary, "demo", "--scenario", "nightly-dump")
	briefing := term.WaitFor("enter start the exercise", 90*time.Second)
	if !strings.Contains(strings.Join(strings.Fields(briefing), " "), "The offsite copy (duplicity") {
		t.Fatalf("the briefing does not name the offsite copy:\n%s", briefing)
	}
	term.Keys("Enter")
	toSourceChoice(t, term)
	term.Keys("Down", "Enter")
	term.WaitFor("Where are the nightly dumps?", 5*time.Second)
	term.Keys("Down", "Down", "Enter") // the offsite copy
	dumps := term.WaitFor("Which dump? Newest first", 60*time.Second)
	if !strings.Contains(dumps, "stopped going offsite") {
		t.Errorf("the offsite copy is not flagged as possibly stale:\n%s", dumps)
	}
	term.Keys("Enter")
	term.WaitFor("Press enter to start the import", 60*time.Second)
	term.Keys("Enter")
	done := term.WaitFor("Exercise passed", 120*time.Second)
	if !strings.Contains(done, "Verified: 1 tables") {
		t.Errorf("the verification is not shown:\n%s", done)
	}
	term.Keys("q")
	if code := term.WaitExit(60 * time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, term.History())
	}
	dir := sandboxDir.FindStringSubmatch(term.History())
	if dir == nil {
		t.Fatalf("no sandbox folder named:\n%s", term.History())
	}
	if _, err := os.Stat(dir[1]); err == nil {
		t.Errorf("the sandbox %s was left behind", dir[1])
	}
	if out, _ := pgrep(dir[1]); out != "" {
		t.Errorf("processes of the sandbox are still running:\n%s", out)
	}
}

// TestDemoRDSToACutOver is the RDS exercise as a trainee runs it, full
// screen, against the in-process RDS simulator: the application's instance,
// a point in time typed from the briefing, the plan, the live wait, the
// check, and the cut-over by rename with the old name typed.
func TestDemoRDSToACutOver(t *testing.T) {
	testtool.EndToEnd(t)
	testtool.Need(t, "tmux")
	home := t.TempDir()
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 120, Height: 45, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "TZ=UTC"}},
		binary, "demo", "--scenario", "rds")
	briefing := strings.Join(strings.Fields(term.WaitFor("enter start the exercise", 30*time.Second)), " ")
	at := briefedAccident.FindStringSubmatch(briefing)
	if at == nil || !strings.Contains(briefing, "the AWS RDS API is simulated") {
		t.Fatalf("the briefing:\n%s", briefing)
	}
	accident, err := time.Parse("2 January 2006 15:04:05", at[2]+" "+at[1])
	if err != nil {
		t.Fatal(err)
	}
	term.Keys("Enter")
	term.WaitFor("Which application's database needs restoring?", 10*time.Second)
	term.Type("local-links")
	term.Keys("Enter")
	term.WaitFor("Its PostgreSQL database is an Amazon RDS instance", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Which RDS instance holds local-links-manager's database?", 10*time.Second)
	term.Keys("Enter")
	term.WaitFor("What should local-links-manager-postgres be restored to?", 10*time.Second)
	term.Keys("Down", "Enter")
	term.Type(accident.Add(-2*time.Minute).Format("2006-01-02 15:04:05") + "+00")
	term.WaitFor("Press enter to name the new instance", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Name the new instance", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Press y to start", 10*time.Second)
	term.Keys("y")
	term.WaitFor("is creating", 10*time.Second)
	available := term.WaitFor("c cut over", 90*time.Second)
	if !strings.Contains(available, "Restored from DB instance local-links-manager-postgres to") || !strings.Contains(available, "cut-over is still to do") {
		t.Errorf("the wait's end shows no AWS event or no check:\n%s", available)
	}
	term.Keys("c")
	term.WaitFor("Rename, keeping the endpoint", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("type the old instance's name", 5*time.Second)
	term.Type("local-links-manager-postgres")
	term.Keys("Enter")
	done := term.WaitFor("Exercise passed", 90*time.Second)
	if !strings.Contains(done, "The cut-over is done") {
		t.Errorf("the verdict:\n%s", done)
	}
	term.Keys("q")
	if code := term.WaitExit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(term.History(), "delete-db-instance --db-instance-identifier local-links-manager-postgres-before-") {
		t.Errorf("the summary does not say how to delete the old instance:\n%s", term.History())
	}
}
