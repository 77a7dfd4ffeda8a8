package keyring

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"pgrescue/gpg"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// The fixture: a WAL segment archived by WAL-E, encrypted to the subkey of
// the protected fixture key.
const (
	fixtureKey        = "../testdata/gpg-secret-protected.asc"
	fixturePassphrase = "../testdata/gpg-passphrase.txt"
	fixtureObject     = "../testdata/000000010000000000000011.lzo"
	fixtureFpr        = "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF"
	fixtureRecipient  = 0xEC57899CFCBA07F4
	testPassphrase    = "tango-7 quartz lantern"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// newHome makes a short GnuPG home (gpg-agent's socket path is limited) and
// stops its agent at the end.
func newHome(t *testing.T, tool string) string {
	t.Helper()
	testtool.Need(t, tool)
	if tool == "gpg" {
		testtool.Need(t, "gpg-connect-agent")
		testtool.Need(t, "gpgconf")
	}
	return testtool.GnuPGHome(t)
}

func gpgIn(t *testing.T, tool, home string, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(tool, append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %v: %v: %s", tool, args, err, errOut.String())
	}
	return out.Bytes(), nil
}

func mustGPGIn(t *testing.T, tool, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := gpgIn(t, tool, home, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixtureHome imports the fixture key, protected, into a new home.
func fixtureHome(t *testing.T, tool string) string {
	home := newHome(t, tool)
	args := []string{"--import", fixtureKey}
	if tool == "gpg" {
		args = append([]string{"--pinentry-mode", "loopback", "--passphrase-file", fixturePassphrase}, args...)
	}
	mustGPGIn(t, tool, home, nil, args...)
	return home
}

func open(t *testing.T, path string) *Keyring {
	t.Helper()
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixturePassphraseFunc(gpg.KeyInfo) ([]byte, error) {
	return os.ReadFile(fixturePassphrase) // it has no trailing newline
}

func TestOpenTellsFormats(t *testing.T) {
	if k := open(t, fixtureKey); k.Format != KeyFile {
		t.Errorf("key file opened as %s", k.Format)
	}
	if k := open(t, fixtureHome(t, "gpg")); k.Format != GnuPG2 {
		t.Errorf("gpg 2 home opened as %s", k.Format)
	}
	if k := open(t, fixtureHome(t, "gpg1")); k.Format != GnuPG1 {
		t.Errorf("gpg 1 home opened as %s", k.Format)
	}
	_, err := Open(t.TempDir())
	if !problem.Is(err, problem.KeyMissing) || !strings.Contains(err.Error(), "--homedir") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestStatusOfFixtureEverywhere: the fixture key reads the same from a key
// file, a GnuPG 2 home and a GnuPG 1 home, and holds the objects' recipient.
func TestStatusOfFixtureEverywhere(t *testing.T) {
	recipients, err := Recipients(read(t, fixtureObject), fixtureObject)
	if err != nil || len(recipients) != 1 || recipients[0] != fixtureRecipient {
		t.Fatalf("recipients %X, %v", recipients, err)
	}
	for _, path := range []string{fixtureKey, fixtureHome(t, "gpg"), fixtureHome(t, "gpg1")} {
		keys, err := open(t, path).SecretKeys(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m, ok := FindPart(keys, fixtureRecipient)
		if !ok || m.Key.Fingerprint != fixtureFpr || !m.Part.Subkey || !m.Part.Encrypt || m.Part.Protection != gpg.Protected {
			t.Fatalf("%s: recipient found %v as %+v in %+v", path, ok, m.Part, keys)
		}
		primary := m.Key.Parts[0]
		if primary.Algorithm != "rsa2048" || primary.Created.IsZero() || !primary.Expires.IsZero() || primary.Protection != gpg.Protected {
			t.Errorf("%s: primary %+v", path, primary)
		}
		if len(m.Key.UserIDs) != 1 || !strings.Contains(m.Key.UserIDs[0], "wale-fixture@example.invalid") {
			t.Errorf("%s: user ids %q", path, m.Key.UserIDs)
		}
		for _, setting := range []string{fixtureFpr, "97431D9C5CEB8FBF", "0x5CEB8FBF", "EC57899CFCBA07F4", "wale-fixture@example.invalid"} {
			if got := MatchKeyID(keys, setting); len(got) != 1 || got[0].Key.Fingerprint != fixtureFpr {
				t.Errorf("%s: WALE_GPG_KEY_ID %s matched %d keys", path, setting, len(got))
			}
		}
		if got := MatchKeyID(keys, "DEADBEEFDEADBEEF"); len(got) != 0 {
			t.Errorf("%s: a foreign id matched", path)
		}
	}
}

// TestStatusOfGeneratedKeys: protection is reported per part for keys made
// by GnuPG 2.2 (RSA, ed25519/cv25519) and GnuPG 1.4 (RSA), protected or not.
func TestStatusOfGeneratedKeys(t *testing.T) {
	home2 := newHome(t, "gpg")
	for _, spec := range [][3]string{{"rsa2048", "rsa2048", testPassphrase}, {"ed25519", "cv25519", testPassphrase}, {"rsa2048", "rsa2048", ""}, {"ed25519", "cv25519", ""}} {
		generate2(t, home2, spec[0], spec[1], spec[2])
	}
	home1 := newHome(t, "gpg1")
	generate1(t, home1, testPassphrase)
	generate1(t, home1, "")
	for _, home := range []string{home2, home1} {
		keys, err := open(t, home).SecretKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range keys {
			want := gpg.Unprotected
			if strings.Contains(key.UserIDs[0], "protected") {
				want = gpg.Protected
			}
			if len(key.Parts) != 2 || key.Protected != (want == gpg.Protected) {
				t.Errorf("%s: %+v", key.UserIDs[0], key)
			}
			for _, p := range key.Parts {
				if p.Protection != want || p.Created.IsZero() || p.Fingerprint == "" {
					t.Errorf("%s: part %+v, want %s", key.UserIDs[0], p, want)
				}
			}
			if sub := key.Parts[1]; !sub.Encrypt || !strings.Contains(key.UserIDs[0], sub.Algorithm) {
				t.Errorf("%s: subkey %+v", key.UserIDs[0], sub)
			}
		}
	}
}

func generate2(t *testing.T, home, primary, subkey, passphrase string) {
	t.Helper()
	name := fmt.Sprintf("%s-%s", subkey, map[bool]string{true: "protected", false: "plain"}[passphrase != ""])
	uid := fmt.Sprintf("Test %s <%s@pgrescue.test>", name, name)
	unlock := []string{"--pinentry-mode", "loopback", "--passphrase", passphrase}
	mustGPGIn(t, "gpg", home, nil, append(unlock, "--quick-gen-key", uid, primary, "sign", "never")...)
	fpr := fingerprintOf(t, "gpg", home, name+"@pgrescue.test")
	mustGPGIn(t, "gpg", home, nil, append(unlock, "--quick-add-key", fpr, subkey, "encr", "never")...)
}

func generate1(t *testing.T, home, passphrase string) {
	t.Helper()
	name := "rsa2048-" + map[bool]string{true: "protected", false: "plain"}[passphrase != ""]
	params := fmt.Sprintf("Key-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\nSubkey-Type: RSA\nSubkey-Length: 2048\n"+
		"Subkey-Usage: encrypt\nName-Real: Test %s\nName-Email: %s@pgrescue.test\nExpire-Date: 0\n", name, name)
	if passphrase != "" {
		params += "Passphrase: " + passphrase + "\n"
	}
	mustGPGIn(t, "gpg1", home, []byte(params+"%commit\n"), "--quick-random", "--gen-key")
}

func fingerprintOf(t *testing.T, tool, home, uid string) string {
	t.Helper()
	out := mustGPGIn(t, tool, home, nil, "--with-colons", "--fingerprint", "--list-keys", uid)
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			return f[9]
		}
	}
	t.Fatalf("no fingerprint for %s", uid)
	return ""
}
