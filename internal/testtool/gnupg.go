package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// GnuPGHome makes an empty GnuPG home for the real gpg, private (0700) and
// with a short path, since gpg-agent's socket path is limited; its agent is
// stopped and the home removed at the end of the test.
func GnuPGHome(t testing.TB) string {
	t.Helper()
	home, err := os.MkdirTemp("", "g")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	return home
}

// DecodeLikeWALE decrypts and decompresses an archived object with the real
// gpg and lzop, as WAL-E's restore pipeline does (gpg -d | lzop -d), and
// fails the test, naming the object, if either tool refuses it. home is a
// GnuPG home holding the secret key; passFile holds its passphrase.
func DecodeLikeWALE(t testing.TB, home, passFile, name string, object []byte) {
	t.Helper()
	Need(t, "gpg")
	Need(t, "lzop")
	f := filepath.Join(t.TempDir(), "object")
	if err := os.WriteFile(f, object, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `gpg --homedir "$1" --batch --quiet --pinentry-mode loopback --passphrase-file "$2" -d "$3" | lzop -d -c > /dev/null`,
		"sh", home, passFile, f)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: gpg -d | lzop -d: %v %s", name, err, out)
	}
}
