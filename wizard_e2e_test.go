package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
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
	term.WaitFor("Which application's database needs restoring?", 10*time.Second)
	term.Type("content-publisher")
	term.WaitFor("content-publisher", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("The production version of this application is hosted on Carrenza.", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Which backup should the restore come from?", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("Press enter for the GPG step.", 20*time.Second)
	t.Logf("preflight:\n%s", term.Screen())
	term.Keys("Enter")
	term.WaitFor("Unlock it in memory", 10*time.Second)
	term.Keys("Enter")
	term.WaitFor("Passphrase (kept in memory only", 5*time.Second)
	passphrase, _ := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	term.Type(string(passphrase))
	term.Keys("Enter")
	term.WaitFor("Unlocked in memory for this restore", 20*time.Second)
	term.Keys("Enter")
	term.WaitFor("Choose the base backup and the target", 10*time.Second)
	term.Type(point.RFC3339)
	term.WaitFor("Press enter to see the plan.", 5*time.Second)
	t.Logf("backup:\n%s", term.Screen())
	term.Keys("Enter")
	term.WaitFor("The plan: nothing has been changed yet", 20*time.Second)
	t.Logf("plan:\n%s", term.Screen())
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
	if strings.Contains(string(journal), string(passphrase)) || strings.Contains(history, string(passphrase)) {
		t.Error("the passphrase was written to the journal or the screen")
	}
}
