package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/internal/tmuxtest"
	"pgrescue/internal/walefixture"
)

// wizardSession starts the real binary's wizard on a tmux terminal against
// the fixture archive.
func wizardSession(t *testing.T, envdir string, extra ...string) (*tmuxtest.Session, string) {
	t.Helper()
	home := t.TempDir()
	journalPath := filepath.Join(t.TempDir(), "journal.jsonl")
	args := append([]string{binary, "--envdir", envdir, "--gpg-key", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"),
		"--journal", journalPath}, extra...)
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 100, Height: 30, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}}, args...)
	return term, journalPath
}

// TestWizardRestoresToTheThirdTarget goes from the application list to
// "Done" as an engineer would: the protected key is unlocked in memory, the
// third target of the fixture is typed, and the restored database has the
// rows it had then.
func TestWizardRestoresToTheThirdTarget(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	m := walefixture.ReadManifest(t)
	point := m.PITRPoints[2]
	pgdata := restoreDir(t)
	term, journalPath := wizardSession(t, envdir, "--pgdata", pgdata)
	toBackupStep(t, term)
	term.Type(point.RFC3339)
	term.WaitFor("Press enter to see the plan.", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("The plan: nothing has been changed yet", 20*time.Second)
	term.Keys("Enter")
	term.WaitFor("Done.", 120*time.Second)
	t.Logf("done:\n%s", term.Screen())
	term.Keys("q")
	if code := term.WaitExit(30 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	history := term.History()
	s := runningServer(t, pgdata, history)
	if got := countRows(t, s); got != point.ExpectedRows {
		t.Errorf("%d rows, want %d", got, point.ExpectedRows)
	}
	journal, _ := os.ReadFile(journalPath)
	passphrase, _ := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	if strings.Contains(string(journal), string(passphrase)) || strings.Contains(history, string(passphrase)) {
		t.Error("the passphrase was written to the journal or the screen")
	}
}

// toGPGStep walks the wizard from the application list to the GPG step of
// content-publisher's WAL-E restore: the fixture's key is protected.
func toGPGStep(t *testing.T, term *tmuxtest.Session) {
	t.Helper()
	toSourceChoice(t, term)
	term.Keys("Enter")
	term.WaitFor("Press enter for the GPG step.", 20*time.Second)
	term.Keys("Enter")
	term.WaitFor("Unlock it in memory", 10*time.Second)
}

// toBackupStep goes on from the GPG step, unlocking the key in memory.
func toBackupStep(t *testing.T, term *tmuxtest.Session) {
	t.Helper()
	toGPGStep(t, term)
	passphrase, _ := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	unlockInMemory(t, term, string(passphrase))
}

// toSourceChoice answers content-publisher and its hosting, up to the
// choice between WAL-E and the nightly pg_dump.
func toSourceChoice(t *testing.T, term *tmuxtest.Session) {
	t.Helper()
	term.WaitFor("Which application's database needs restoring?", 10*time.Second)
	term.Type("content-publisher")
	term.Keys("Enter")
	term.WaitFor("hosted on Carrenza", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Which backup should the restore come from?", 5*time.Second)
}

// unlockInMemory takes the GPG step's default and goes on to the backups.
func unlockInMemory(t *testing.T, term *tmuxtest.Session, passphrase string) {
	t.Helper()
	term.Keys("Enter")
	term.WaitFor("Passphrase (kept in memory only", 5*time.Second)
	term.Type(passphrase)
	term.Keys("Enter")
	term.WaitFor("Unlocked in memory for this restore", 20*time.Second)
	term.Keys("Enter")
	term.WaitFor("Choose the base backup and the target", 10*time.Second)
}

// toPlan walks on to the plan of a restore to the end of the archive.
func toPlan(t *testing.T, term *tmuxtest.Session) {
	t.Helper()
	toBackupStep(t, term)
	term.WaitFor("Press enter to see the plan.", 10*time.Second)
	term.Keys("Enter")
	term.WaitFor("The plan: nothing has been changed yet", 20*time.Second)
}

// stalledFetch starts a restore over an old cluster whose fetch the S3
// server stalls: the moment an engineer gives up or the machine shuts down.
func stalledFetch(t *testing.T) (term *tmuxtest.Session, pgdata, journalPath string) {
	t.Helper()
	envdir, srv := fixtureEnvdir(t)
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: "tar_partitions", Times: s3test.Always}, s3test.Stall(time.Minute, 4096))
	pgdata = filepath.Join(t.TempDir(), "main")
	oldCluster(t, pgdata)
	term, journalPath = wizardSession(t, envdir, "--pgdata", pgdata)
	toPlan(t, term)
	term.WaitFor("[changes what is on disk]", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Nothing has been changed.", 5*time.Second)
	term.Type(pgdata)
	term.Keys("Enter")
	term.WaitFor("Fetch  [", 20*time.Second)
	return term, pgdata, journalPath
}

// stoppedCleanly: exit 130, the old cluster whole where it was moved, the
// partial restore labelled.
func stoppedCleanly(t *testing.T, term *tmuxtest.Session, pgdata string) {
	t.Helper()
	if code := term.WaitExit(30 * time.Second); code != 130 {
		t.Errorf("exit %d, want 130 (interrupted)", code)
	}
	if kept := movedAside(t, pgdata); len(kept) != 1 {
		t.Errorf("the old data directory is not intact beside %s", pgdata)
	}
	if partial, _ := filepath.Glob(pgdata + ".pgrescue-incomplete-*"); len(partial) != 1 {
		t.Errorf("the partial restore is not labelled: %v", partial)
	}
}

// TestWizardCtrlCDuringFetchKeepsTheOldDataDirectory: the fetch is slowed
// down by the S3 server; ctrl+c asks once, the second cancels, and the old
// cluster is where it was moved, whole.
func TestWizardCtrlCDuringFetchKeepsTheOldDataDirectory(t *testing.T) {
	term, pgdata, journalPath := stalledFetch(t)
	term.Keys("C-c")
	term.WaitFor("Cancel the restore? Press ctrl+c again", 5*time.Second)
	term.Keys("C-c")
	term.WaitFor("The restore was cancelled. Nothing was deleted.", 30*time.Second)
	term.Keys("q")
	stoppedCleanly(t, term, pgdata)
	journal, _ := os.ReadFile(journalPath)
	if !strings.Contains(string(journal), "cancelled by the engineer") {
		t.Errorf("the journal does not record the cancellation:\n%s", journal)
	}
	if r := pgrescue(t, nil, "journal", journalPath); r.code != 0 || !strings.Contains(r.stdout, "Fetch base backup") || !strings.Contains(r.stdout, "cancelled") {
		t.Errorf("pgrescue journal: %+v", r)
	}
}

// TestWizardHonoursNoColorAndResizes: colour escapes only without NO_COLOR,
// and a resize to 80x24 redraws within the new size.
func TestWizardHonoursNoColorAndResizes(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	coloured := func(env ...string) bool {
		home := t.TempDir()
		term := tmuxtest.Start(t, tmuxtest.Options{Width: 100, Height: 30, Env: append([]string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}, env...)},
			binary, "--envdir", envdir, "--journal", filepath.Join(home, "j.jsonl"))
		term.WaitFor("Which application's database needs restoring?", 10*time.Second)
		styled := term.ScreenWithStyles()
		if len(env) == 0 {
			term.Resize(80, 24)
			time.Sleep(500 * time.Millisecond)
			screen := term.WaitFor("[Application] > Hosting", 5*time.Second)
			for i, line := range strings.Split(strings.TrimRight(screen, "\n"), "\n") {
				if len([]rune(line)) > 80 || i >= 24 {
					t.Errorf("after resizing to 80x24, line %d does not fit: %q", i+1, line)
				}
			}
		}
		term.Keys("C-c")
		term.WaitExit(10 * time.Second)
		return hasColour(styled)
	}
	if !coloured() {
		t.Error("no colour without NO_COLOR: the check below could not fail")
	}
	if coloured("NO_COLOR=1") {
		t.Error("colour escapes with NO_COLOR=1")
	}
	if coloured("NO_COLOR=yes") {
		t.Error("colour escapes with NO_COLOR=yes (any value counts)")
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// hasColour reports a colour in SGR sequences: 30-38, 40-48, 90-97 or
// 100-107. 39 and 49 (back to the default colours) are what tmux writes
// around plain text, and attributes such as bold are not colour.
func hasColour(styled string) bool {
	for _, m := range sgr.FindAllStringSubmatch(styled, -1) {
		for _, p := range strings.Split(m[1], ";") {
			n, err := strconv.Atoi(p)
			if err == nil && ((n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107)) {
				return true
			}
		}
	}
	return false
}

// TestPlainWizardThroughAPipe answers the line-by-line wizard from a pipe
// (as a script or a screen reader user would) and restores for real.
func TestPlainWizardThroughAPipe(t *testing.T) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	m := walefixture.ReadManifest(t)
	point := m.PITRPoints[1]
	pgdata := restoreDir(t)
	passphrase, _ := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	answers := strings.Join([]string{
		"content-publisher", // application
		"",                  // hosting: Carrenza, as the catalog says
		"",                  // source: WAL-E
		string(passphrase),  // unlock in memory
		point.RFC3339,       // target
		"",                  // the backup chosen for the target
		"yes",               // start
	}, "\n") + "\n"
	cmd := exec.Command(binary, "--envdir", envdir, "--gpg-key", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"),
		"--journal", filepath.Join(t.TempDir(), "j.jsonl"), "--pgdata", pgdata)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader(answers)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	s := runningServer(t, pgdata, out.String())
	if got := countRows(t, s); got != point.ExpectedRows {
		t.Errorf("%d rows, want %d", got, point.ExpectedRows)
	}
	transcript := errOut.String()
	for _, want := range []string{"The production version of this application is hosted on Carrenza.", "[WARN] The archive's GPG key",
		"Unlocked in memory", "Started: Fetch base backup " + point.RestoreFromBackup, "Replay milestone: promoted"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Contains(transcript+out.String(), string(passphrase)) || strings.Contains(transcript, "\x1b[") {
		t.Error("the passphrase or an escape sequence was printed")
	}
	// Work done once: the preflight lists the archive, the plan lists the
	// backups again (a newer one may have completed), nothing else does.
	if b, w := srv.Listings("basebackups_005/"), srv.Listings("wal_005/"); b != 2 || w != 1 {
		t.Errorf("the restore listed the backups %d times and the WAL %d times, want 2 and 1", b, w)
	}
}

// TestDumbTerminalGetsThePlainWizard: TERM=dumb cannot draw screens, so the
// wizard asks line by line even on a terminal.
func TestDumbTerminalGetsThePlainWizard(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	home := t.TempDir()
	term := tmuxtest.Start(t, tmuxtest.Options{Term: "dumb", Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home}},
		binary, "--envdir", envdir, "--journal", filepath.Join(home, "j.jsonl"))
	term.WaitFor("pgrescue: PostgreSQL restore wizard (plain mode).", 10*time.Second)
	term.WaitFor("Application (its name;", 5*time.Second)
	term.Type("seal")
	term.Keys("Enter")
	term.WaitFor("hosted on Heroku", 5*time.Second)
	term.Keys("Enter")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestWizardRemovesThePassphraseSafely takes the runbook's fix through the
// wizard on a real GnuPG 2 keyring (found through GNUPGHOME, as WAL-E would
// find it): typed confirmation, passphrase, backup, verification with gpg,
// and the restore goes on with the key unprotected.
func TestWizardRemovesThePassphraseSafely(t *testing.T) {
	testtool.Need(t, "gpg")
	testtool.Need(t, "gpg-connect-agent")
	envdir, _ := fixtureEnvdir(t)
	passFile := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	passphrase, _ := os.ReadFile(passFile)
	gnupg := gpgHomeWithFixture(t, passFile)
	home := t.TempDir()
	journalPath := filepath.Join(home, "j.jsonl")
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 100, Height: 30, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GNUPGHOME=" + gnupg}},
		binary, "--envdir", envdir, "--journal", journalPath, "--pgdata", filepath.Join(t.TempDir(), "main"))
	toGPGStep(t, term)
	term.Keys("Down")
	term.WaitFor("The same by hand", 5*time.Second)
	for i := 0; i < 20 && !strings.Contains(term.Screen(), "passwd"); i++ { // the runbook's gpg --edit-key … passwd, further down
		term.Keys("PageDown")
		time.Sleep(100 * time.Millisecond)
	}
	term.WaitFor("passwd", time.Second)
	term.Keys("Enter")
	term.WaitFor("Type remove and press enter", 5*time.Second)
	term.Type("remove")
	term.Keys("Enter")
	term.WaitFor("Passphrase (kept in memory only", 5*time.Second)
	term.Type(string(passphrase))
	term.Keys("Enter")
	screen := term.WaitFor("The passphrase was removed from key", 30*time.Second)
	if !strings.Contains(strings.Join(strings.Fields(screen), " "), "backed up first to "+gnupg+"/pgrescue-backups/") {
		t.Errorf("the backup is not named:\n%s", screen)
	}
	object := s3test.FixturePath(t, "wale-pg15", "s3", "wale-fixtures", "pg15-primary", "wal_005", "000000010000000000000012.lzo")
	if !gpgDecrypts(t, gnupg, object) {
		t.Fatal("after the wizard removed the passphrase, gpg --batch -d still fails")
	}
	term.Keys("Enter")
	term.WaitFor("Choose the base backup and the target", 20*time.Second)
	term.Keys("C-c")
	term.WaitFor("Quit pgrescue?", 5*time.Second) // answers would be lost: it asks once
	term.Keys("C-c")
	if code := term.WaitExit(10 * time.Second); code != 130 {
		t.Errorf("exit %d after quitting before anything ran, want 130 (interrupted)", code)
	}
	journal, _ := os.ReadFile(journalPath)
	if strings.Contains(string(journal)+term.History(), string(passphrase)) {
		t.Error("the passphrase was written to the journal or the screen")
	}
}

// TestWizardRefusesAConfigForAnUnknownApplication: a misspelt application
// in pgrescue's config is named, with its line, before anything starts.
func TestWizardRefusesAConfigForAnUnknownApplication(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.yaml")
	os.WriteFile(config, []byte("applications:\n  content-publsher:\n    pgdata: /var/lib/postgresql/9.3/main\n"), 0o644)
	r := pgrescue(t, nil, "--config", config, "--plain")
	if r.code == 0 || !strings.Contains(r.stderr, config+":2") || !strings.Contains(r.stderr, "content-publsher") {
		t.Fatalf("%+v", r)
	}
}

// TestWizardSIGTERMDuringFetchStopsCleanly: a SIGTERM (a shutdown, a killed
// SSH session's cleanup) ends the program loop without the model seeing
// it; the restore must still be cancelled and waited for, the old cluster
// kept, the partial one labelled, and the exit status say "interrupted".
func TestWizardSIGTERMDuringFetchStopsCleanly(t *testing.T) {
	for _, sig := range []string{"TERM", "HUP"} { // HUP: the terminal or SSH session closed
		t.Run(sig, func(t *testing.T) { signalDuringFetch(t, sig) })
	}
}

func signalDuringFetch(t *testing.T, sig string) {
	term, pgdata, journalPath := stalledFetch(t)
	out, err := exec.Command("pgrep", "-f", "^"+binary+" .*--journal "+journalPath).Output()
	pids := strings.Fields(string(out))
	if err != nil || len(pids) != 1 {
		t.Fatalf("cannot find the wizard's process: %v %q", err, out)
	}
	if err := exec.Command("kill", "-"+sig, pids[0]).Run(); err != nil {
		t.Fatal(err)
	}
	stoppedCleanly(t, term, pgdata)
}

// TestWizardNamesTheMomentFromTheBackup: on "find the moment", n names the
// relations from the base backup's own catalog (the scout: the backup
// restored to a scratch copy in TMPDIR, recovered to its end, read, stopped
// and removed). ctrl+c during the scout stops it and leaves nothing; a
// second n finishes, and the fixture's table is shown by name.
func TestWizardNamesTheMomentFromTheBackup(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	scratch := t.TempDir()
	os.Chmod(scratch, 0o755)
	home := t.TempDir()
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 110, Height: 40, Env: []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "TMPDIR=" + scratch, "TZ=UTC"}},
		binary, "--envdir", envdir, "--gpg-key", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"), "--journal", filepath.Join(home, "j.jsonl"),
		"--pgdata", restoreDir(t))
	toBackupStep(t, term)
	term.Keys("f")
	term.WaitFor("n name · esc back", 60*time.Second)

	term.Keys("n")
	term.WaitFor("recovering the copy", 60*time.Second)
	term.Keys("C-c")
	term.WaitFor("scratch copy removed", 30*time.Second)
	if left := scoutLeftovers(t, scratch); left != "" {
		t.Errorf("after ctrl+c the scout left: %s", left)
	}

	term.Keys("n")
	named := term.WaitFor("Relations named from", 120*time.Second)
	if !strings.Contains(named, "public.events: ") {
		t.Errorf("the fixture's table events is not named:\n%s", named)
	}
	if left := scoutLeftovers(t, scratch); left != "" {
		t.Errorf("after naming the scout left: %s", left)
	}
	term.Keys("C-c")
	term.WaitFor("Press ctrl+c again to quit", 5*time.Second)
	term.Keys("C-c")
	term.WaitExit(30 * time.Second)
}

// scoutLeftovers lists what a scout left in its scratch folder, and its
// server if one still runs.
func scoutLeftovers(t *testing.T, scratch string) string {
	t.Helper()
	var left []string
	entries, _ := os.ReadDir(scratch)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "pgrescue-scout-") {
			left = append(left, e.Name())
		}
	}
	if out, _ := pgrep(scratch); out != "" {
		left = append(left, "running: "+out)
	}
	return strings.Join(left, "; ")
}
