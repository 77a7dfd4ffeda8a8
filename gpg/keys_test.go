package gpg

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/problem"
)

func TestLoadFixtureKey(t *testing.T) {
	keys, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	infos := keys.Describe()
	if len(infos) != 1 {
		t.Fatalf("%d keys, want 1", len(infos))
	}
	info := infos[0]
	if info.Fingerprint != "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF" || info.KeyID != fixtureKeyID {
		t.Errorf("fingerprint %s, key id %X", info.Fingerprint, info.KeyID)
	}
	if !info.Protected || info.Source != fixtureKeyFile || len(info.UserIDs) != 1 {
		t.Errorf("described as %+v", info)
	}
	if len(info.EncryptionKeyIDs) != 1 || info.EncryptionKeyIDs[0] != fixtureRecipient {
		t.Errorf("encryption keys %X, want the subkey %X", info.EncryptionKeyIDs, uint64(fixtureRecipient))
	}
	// Describe hands out copies: changing them changes nothing inside.
	info.UserIDs[0] = "changed"
	if keys.Describe()[0].UserIDs[0] == "changed" {
		t.Error("Describe exposes internal slices")
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	public := "/work/shared/fixtures/wale-pg15/gpg-public.asc"
	if _, err := os.Stat(public); err != nil {
		public = write("public.asc", publicKeyOf(t, gpg2.key(t, "rsa-plain")))
	}
	cases := []struct {
		name, path string
		kind       problem.Kind
		mentions   string
	}{
		{"missing file", filepath.Join(dir, "absent.asc"), problem.LocalIO, "--gpg-key"},
		{"empty file", write("empty.asc", nil), problem.BadKey, "empty"},
		{"public key only", public, problem.BadKey, "only public keys"},
		{"an archive object", fixtureObject, problem.BadKey, "archive object"},
		{"armored message", write("msg.asc", []byte("-----BEGIN PGP MESSAGE-----\n\nhQEMA+xXiZz8ugf0\n=AAAA\n-----END PGP MESSAGE-----\n")), problem.BadKey, "message"},
		{"gpg-agent key file", write("ABCD.key", []byte("Created: 20261125T000000\nKey: (protected-private-key (rsa (n #00#)))\n")), problem.BadKey, "private-keys-v1.d"},
		{"text", write("notes.txt", []byte("the key is in the safe\n")), problem.BadKey, "cannot be parsed"},
	}
	for _, c := range cases {
		_, err := LoadKeyFile(c.path)
		pe := assertKind(t, err, c.kind)
		assertMentions(t, err, c.path, c.mentions)
		if pe.Next == "" {
			t.Errorf("%s: no next step", c.name)
		}
	}
}

func publicKeyOf(t *testing.T, k *testKey) []byte {
	t.Helper()
	return mustGPG(t, k.tool, k.home, nil, "--armor", "--export", k.fpr)
}

// TestSeveralKeys: one file holding several keys, exported together or
// concatenated, decrypts objects encrypted to any of them.
func TestSeveralKeys(t *testing.T) {
	rsa := gpg2.key(t, "rsa-plain")
	ed := gpg2.key(t, "ed25519-protected")
	together := mustGPG(t, "gpg", rsa.home, nil, "--pinentry-mode", "loopback", "--passphrase", testPassphrase,
		"--armor", "--export-secret-keys", rsa.fpr, ed.fpr)
	variants := map[string][]byte{
		"one armored block":    together,
		"concatenated armored": append(append(publicKeyOf(t, rsa), rsa.armored...), ed.armored...),
		"concatenated binary":  append(bytes.Clone(rsa.binary), ed.binary...),
	}
	plain := randomish(10_000, 7)
	toRSA, toEd := encrypt(t, "gpg", rsa, plain), encrypt(t, "gpg", ed, plain)
	for name, file := range variants {
		keys, err := LoadKeys(bytes.NewReader(file), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := len(keys.Describe()); n != 2 {
			t.Fatalf("%s: %d keys described, want 2", name, n)
		}
		keys.SetPassphrase(func(KeyInfo) ([]byte, error) { return []byte(testPassphrase), nil })
		for _, ciphertext := range [][]byte{toRSA, toEd} {
			if got, err := decryptAll(keys, ciphertext, name); err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s: error %v, data equal %v", name, err, bytes.Equal(got, plain))
			}
		}
	}
}

// TestHiddenRecipient: gpg --throw-keyids writes key id 0; every key is tried.
func TestHiddenRecipient(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	ciphertext := encrypt(t, "gpg", k, []byte("hidden"), "--throw-keyids")
	if ids, err := RecipientKeyIDs(bytes.NewReader(ciphertext)); err != nil || len(ids) != 1 || ids[0] != 0 {
		t.Fatalf("recipients %X, error %v; want [0]", ids, err)
	}
	got, err := decryptAll(k.load(t), ciphertext, "hidden")
	if err != nil || string(got) != "hidden" {
		t.Fatalf("got %q, error %v", got, err)
	}
	other := gpg1.key(t, "gpg1-rsa-plain")
	_, err = decryptAll(other.load(t), ciphertext, "hidden")
	assertKind(t, err, problem.WrongKey)
	assertMentions(t, err, "hides its recipient", keyID(other.load(t).Describe()[0].KeyID))
}

func TestPassphraseFromFile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"secret":        "secret",
		"secret\n":      "secret",
		"secret\r\n":    "secret",
		"secret\n\n":    "secret\n",
		" secret \n":    " secret ",
		"two words\t\n": "two words\t",
	}
	for content, want := range cases {
		path := filepath.Join(dir, "p")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := PassphraseFromFile(path)(KeyInfo{})
		if err != nil || string(got) != want {
			t.Errorf("file %q gave %q, %v; want %q", content, got, err, want)
		}
	}
	_, err := PassphraseFromFile(filepath.Join(dir, "absent"))(KeyInfo{})
	assertKind(t, err, problem.LocalIO)
	assertMentions(t, err, "--gpg-passphrase-file")
}

func TestPassphraseFromEnv(t *testing.T) {
	t.Setenv("PGRESCUE_TEST_PASSPHRASE", "from env")
	got, err := PassphraseFromEnv("PGRESCUE_TEST_PASSPHRASE")(KeyInfo{})
	if err != nil || string(got) != "from env" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestPassphraseFileErrorKeepsItsSubject: a passphrase file that cannot be
// read is reported as such, naming the file, not as a wrong passphrase.
func TestPassphraseFileErrorKeepsItsSubject(t *testing.T) {
	keys, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	absent := filepath.Join(t.TempDir(), "absent")
	keys.SetPassphrase(PassphraseFromFile(absent))
	_, err = decryptAll(keys, readFile(t, fixtureObject), fixtureObject)
	assertKind(t, err, problem.LocalIO)
	assertMentions(t, err, absent)
}

// TestAEADFromGoCrypto covers integrity-protected data version 2 (RFC 9580
// AEAD), which GnuPG 2.2 and WAL-E never write, through go-crypto's own
// writer, since no gpg here produces it.
func TestAEADFromGoCrypto(t *testing.T) {
	config := &packet.Config{AEADConfig: &packet.AEADConfig{}, RSABits: 2048}
	entity, err := openpgp.NewEntity("AEAD", "", "aead@pgrescue.test", config)
	if err != nil {
		t.Fatal(err)
	}
	var exported bytes.Buffer
	if err := entity.SerializePrivate(&exported, config); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(&exported, "aead.gpg")
	if err != nil {
		t.Fatal(err)
	}
	plain := randomish(200_000, 8)
	var ciphertext bytes.Buffer
	w, err := openpgp.Encrypt(&ciphertext, []*openpgp.Entity{entity}, nil, nil, config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msg, err := readMessageHeader(bytes.NewReader(ciphertext.Bytes()))
	if se, ok := msg.data.(*packet.SymmetricallyEncrypted); err != nil || !ok || se.Version != 2 {
		t.Fatalf("go-crypto did not write integrity-protected data version 2: %T, %v", msg.data, err)
	}
	got, err := decryptAll(keys, ciphertext.Bytes(), "aead")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("error %v, data equal %v", err, bytes.Equal(got, plain))
	}
	damaged := bytes.Clone(ciphertext.Bytes())
	damaged[len(damaged)/2] ^= 1
	_, err = decryptAll(keys, damaged, "aead")
	assertKind(t, err, problem.Corrupt)
	r, err := keys.Decrypt(bytes.NewReader(ciphertext.Bytes()[:ciphertext.Len()/2]), "aead")
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !problem.Is(err, problem.Truncated) {
		assertKind(t, err, problem.Corrupt)
	}
}
