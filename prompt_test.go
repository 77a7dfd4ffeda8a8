package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/tmuxtest"
)

// TestPassphraseIsAskedOnceOnTheTerminal runs wal-fetch with a protected key
// and no passphrase source on a real terminal: the key is named, the
// passphrase is asked once, not echoed, and unlocks the key in memory.
func TestPassphraseIsAskedOnceOnTheTerminal(t *testing.T) {
	passphrase, err := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typed string
		code        int // wal-fetch exits 2 on every error, as WAL-E does
		says        string
	}{
		{"right", string(passphrase), 0, ""},
		{"wrong", "not-" + string(passphrase), 2, "does not unlock the GPG secret key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			envdir, _ := fixtureEnvdir(t)
			dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
			term := tmuxtest.Start(t, tmuxtest.Options{Env: []string{"HOME=" + t.TempDir()}}, binary,
				"--envdir", envdir, "--gpg-key", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"),
				"wal-fetch", "000000010000000000000011", dest)
			term.WaitFor("Passphrase (not shown):", 20*time.Second)
			if screen := term.Screen(); !strings.Contains(screen, "0x97431D9C5CEB8FBF") {
				t.Errorf("the prompt does not name the key:\n%s", screen)
			}
			term.Type(tc.typed)
			term.Keys("Enter")
			if code := term.WaitExit(20 * time.Second); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			screen := term.History()
			if strings.Contains(screen, string(passphrase)) {
				t.Errorf("the passphrase was shown:\n%s", screen)
			}
			if n := strings.Count(screen, "Passphrase (not shown):"); n != 1 {
				t.Errorf("asked %d times:\n%s", n, screen)
			}
			if !strings.Contains(screen, tc.says) {
				t.Errorf("the screen does not say %q:\n%s", tc.says, screen)
			}
			if _, err := os.Stat(dest); (err == nil) != (tc.code == 0) {
				t.Errorf("segment written: %v, exit %d", err == nil, tc.code)
			}
		})
	}
}
