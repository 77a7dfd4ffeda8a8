package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
)

// WAL-E decrypts with the postgres user's GnuPG keyring; pgrescue finds it
// the same way (GNUPGHOME here) when no key file is given, in a GnuPG 1
// home (secring.gpg, Ubuntu 14.04/16.04) and in a GnuPG 2 home.
func TestWALFetchWithTheKeyringInsteadOfAKeyFile(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	key := s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")
	pass := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	for _, tool := range []string{"gpg1", "gpg"} {
		t.Run(tool, func(t *testing.T) {
			bin := testtool.Need(t, tool)
			home := t.TempDir()
			os.Chmod(home, 0o700)
			if out, err := exec.Command(bin, "--homedir", home, "--batch", "--import", key).CombinedOutput(); err != nil {
				t.Fatalf("%s --import: %v\n%s", tool, err, out)
			}
			if tool == "gpg" {
				t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() })
			}
			// Listing decrypts nothing: the keyring is not even read.
			if r := pgrescue(t, []string{"GNUPGHOME=" + home}, "--envdir", envdir, "backup-list"); r.code != 0 || r.stderr != "" {
				t.Fatalf("backup-list with a protected keyring and no passphrase: exit %d\n%s", r.code, r.stderr)
			}
			dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
			r := pgrescue(t, []string{"GNUPGHOME=" + home}, "--envdir", envdir, "--gpg-passphrase-file", pass,
				"wal-fetch", "000000010000000000000012", dest)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if st, err := os.Stat(dest); err != nil || st.Size() != 16<<20 {
				t.Fatalf("fetched %v %v", st, err)
			}
			// Without the passphrase, the protected key is explained, not
			// mistaken for a damaged archive.
			r = pgrescue(t, []string{"GNUPGHOME=" + home}, "--envdir", envdir, "wal-fetch", "000000010000000000000013", dest+"2")
			if r.code != 2 || !strings.Contains(r.stderr, "protected") || strings.Contains(r.stderr, "lzop header") || strings.Contains(r.stderr, "not a valid lzo") {
				t.Fatalf("without a passphrase: exit %d\n%s", r.code, r.stderr)
			}
		})
	}
}
