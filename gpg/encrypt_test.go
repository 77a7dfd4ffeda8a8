package gpg

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"testing"

	"pgrescue/problem"
)

func encryptTo(t *testing.T, r *Recipient, plain []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := r.Encrypt(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestEncryptAsWALEDoes: the object is encrypted to the fixture key's
// encryption subkey, as WAL-E's objects are, and both pgrescue and the real
// gpg decrypt it.
func TestEncryptAsWALEDoes(t *testing.T) {
	for _, id := range []string{"", "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF", "97431D9C5CEB8FBF", "0xEC57899CFCBA07F4", "5CEB8FBF"} {
		r, err := LoadRecipient(fixtureKeyFile, id)
		if err != nil {
			t.Fatalf("key id %q: %v", id, err)
		}
		if r.KeyID() != fixtureKeyID {
			t.Errorf("key id %q picked %X", id, r.KeyID())
		}
	}
	r, _ := LoadRecipient(fixtureKeyFile, "")
	plain := randomish(3<<20+17, 7)
	object := encryptTo(t, r, plain)
	if !IsEncrypted(object) {
		t.Fatal("the object does not start as an OpenPGP message")
	}
	ids, err := RecipientKeyIDs(bytes.NewReader(object))
	if err != nil || len(ids) != 1 || ids[0] != fixtureRecipient {
		t.Fatalf("recipients %X, %v", ids, err)
	}
	got, err := fixtureKeys(t).Decrypt(bytes.NewReader(object), "object")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(got); err != nil || !bytes.Equal(data, plain) {
		t.Fatalf("pgrescue's decryption differs: %v", err)
	}
	home := t.TempDir()
	requireTool(t, "gpg")
	passphrase, _ := os.ReadFile(fixturePassphraseFile)
	mustGPG(t, "gpg", home, nil, "--pinentry-mode", "loopback", "--passphrase", string(passphrase), "--import", fixtureKeyFile)
	cmd := exec.Command("gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--decrypt", "--output", "-", "/dev/fd/3")
	cmd.Stdin = bytes.NewReader(passphrase)
	objectFile, _ := os.CreateTemp(t.TempDir(), "obj")
	objectFile.Write(object)
	objectFile.Seek(0, 0)
	cmd.ExtraFiles = []*os.File{objectFile}
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("gpg -d: %v (%d bytes)", err, len(out))
	}
}

func TestRecipientErrors(t *testing.T) {
	if _, err := LoadRecipient(fixtureKeyFile, "0123456789ABCDEF"); !problem.Is(err, problem.WrongKey) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := LoadRecipient("testdata/does-not-exist.asc", ""); !problem.Is(err, problem.LocalIO) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ParseRecipient([]byte("not a key"), "x.asc", ""); !problem.Is(err, problem.BadKey) {
		t.Errorf("garbage: %v", err)
	}
}
