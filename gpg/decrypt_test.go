package gpg

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
)

const (
	fixtureKeyFile        = "testdata/gpg-secret-protected.asc"
	fixturePassphraseFile = "testdata/gpg-passphrase.txt"
	fixtureObject         = "testdata/000000010000000000000011.lzo"
	fixtureKeyID          = 0x97431D9C5CEB8FBF
	fixtureRecipient      = 0xEC57899CFCBA07F4 // the encryption subkey WAL-E's gpg encrypted to
)

// decryptAll decrypts a whole object and returns what was read before the
// error, insisting that a failure never ends in a clean io.EOF.
func decryptAll(keys *Keys, ciphertext []byte, object string) ([]byte, error) {
	r, err := keys.Decrypt(bytes.NewReader(ciphertext), object)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func assertKind(t *testing.T, err error, want problem.Kind) *problem.Error {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *problem.Error; want kind %s", err, err, want)
	}
	if pe.Kind != want {
		t.Fatalf("kind %s, want %s: %v", pe.Kind, want, err)
	}
	assertNoSecret(t, err)
	return pe
}

// assertNoSecret fails if an error text gives away a passphrase.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	fixture, _ := os.ReadFile(fixturePassphraseFile)
	for _, secret := range []string{testPassphrase, string(fixture), "wrong horse"} {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Fatalf("error text contains a passphrase: %v", err)
		}
	}
}

func assertMentions(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error text lacks %q:\n%v", part, err)
		}
	}
}

func fixtureKeys(t *testing.T) *Keys {
	t.Helper()
	keys, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys.SetPassphrase(PassphraseFromFile(fixturePassphraseFile))
	return keys
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestIsEncrypted(t *testing.T) {
	cases := []struct {
		name   string
		prefix []byte
		want   bool
	}{
		{"lzop magic", lzopMagic[:], false},
		{"gpg PKESK, old format", []byte{0x85, 0x01, 0x0C, 0x03}, true},
		{"PKESK, new format", []byte{0xC1, 0xC0}, true},
		{"SKESK (gpg -c), old format", []byte{0x8C, 0x0D}, true},
		{"SEIPD, new format", []byte{0xD2, 0xED}, true},
		{"AEAD encrypted data", []byte{0xD4, 0x40}, true},
		{"literal data (gpg --store)", []byte{0xCB, 0x10}, false},
		{"sentinel JSON", []byte(`{"wal_segment_backup_stop"`), false},
		{"extended_version.txt", []byte("PostgreSQL 15.18"), false},
		{"empty", nil, false},
		{"one PKESK byte", []byte{0x85}, true},
	}
	for _, c := range cases {
		if got := IsEncrypted(c.prefix); got != c.want {
			t.Errorf("%s: IsEncrypted(% x) = %v, want %v", c.name, c.prefix, got, c.want)
		}
	}
	if !IsEncrypted(readFile(t, fixtureObject)) {
		t.Error("the fixture WAL object is not recognised as encrypted")
	}
}

func TestFixtureWALObjectMatchesGPG(t *testing.T) {
	got, err := decryptAll(fixtureKeys(t), readFile(t, fixtureObject), fixtureObject)
	if err != nil {
		t.Fatal(err)
	}
	if !hasLzopMagic(got) {
		t.Fatalf("decrypted fixture starts with % x, not the lzop magic", got[:min(len(got), 9)])
	}
	// Cross-check with real gpg, which WAL-E itself runs to decrypt.
	requireTool(t, "gpg")
	requireTool(t, "gpgconf")
	home, err := shortHome(t.Cleanup)
	if err != nil {
		t.Fatal(err)
	}
	unlock := []string{"--pinentry-mode", "loopback", "--passphrase-file", fixturePassphraseFile}
	mustGPG(t, "gpg", home, nil, append(unlock, "--import", fixtureKeyFile)...)
	want := mustGPG(t, "gpg", home, nil, append(unlock, "-d", "-q", fixtureObject)...)
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("pgrescue and gpg disagree: %d bytes vs %d bytes", len(got), len(want))
	}
}

// TestSharedFixtureArchive decrypts every object of the real WAL-E archive:
// WAL segments and tar partitions give lzop streams, sentinels and
// extended_version.txt are stored in clear and pass through unchanged.
func TestSharedFixtureArchive(t *testing.T) {
	sharedFixtureRoot := s3test.FixturePath(t, "wale-pg15", "s3") // the repository's copy of the shared fixture
	keys := fixtureKeys(t)
	objects := 0
	err := filepath.WalkDir(sharedFixtureRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		objects++
		stored := readFile(t, path)
		got, err := decryptAll(keys, stored, path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		switch {
		case strings.HasSuffix(path, ".lzo") && !hasLzopMagic(got):
			t.Errorf("%s: decrypted to % x..., not an lzop stream", path, got[:min(len(got), 9)])
		case !strings.HasSuffix(path, ".lzo") && !bytes.Equal(got, stored):
			t.Errorf("%s: a clear object was changed", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if objects < 15 {
		t.Fatalf("walked %d objects, the manifest lists 15", objects)
	}
}

func TestRecipientKeyIDs(t *testing.T) {
	ids, err := RecipientKeyIDs(bytes.NewReader(readFile(t, fixtureObject)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != fixtureRecipient {
		t.Fatalf("recipients %x, want [%x]", ids, uint64(fixtureRecipient))
	}
	ids, err = RecipientKeyIDs(bytes.NewReader(lzopMagic[:]))
	if err != nil || len(ids) != 0 {
		t.Fatalf("plain lzop: recipients %x, error %v; want none", ids, err)
	}
}

// TestDecryptEveryKeyKind runs every key kind, protected and not, exported
// armored and binary, through the gpg versions that may have written an
// archive: gpg 2.2 (AES256 by default), gpg 1.4 (AES256 or CAST5 when told).
func TestDecryptEveryKeyKind(t *testing.T) {
	plain := randomish(300_007, 1) // not a multiple of any block size
	type encryption struct {
		tool  string
		extra []string
	}
	gpg2Default := encryption{"gpg", nil}
	gpg2AES128 := encryption{"gpg", []string{"--cipher-algo", "AES128"}}
	gpg1Default := encryption{"gpg1", nil}
	gpg1CAST5 := encryption{"gpg1", []string{"--cipher-algo", "CAST5"}}
	cases := []struct {
		env         *gpgEnv
		key         string
		encryptions []encryption
	}{
		{gpg2, "rsa-protected", []encryption{gpg2Default, gpg2AES128, gpg1CAST5}},
		{gpg2, "rsa-plain", []encryption{gpg2Default, gpg1Default}},
		{gpg2, "ed25519-protected", []encryption{gpg2Default}},
		{gpg2, "ed25519-plain", []encryption{gpg2Default}},
		{gpg1, "gpg1-rsa-protected", []encryption{gpg1Default, gpg1CAST5, gpg2Default}},
		{gpg1, "gpg1-rsa-plain", []encryption{gpg1Default, gpg1CAST5}},
		{gpg1, "gpg1-rsa-cast5-protected", []encryption{gpg1CAST5}},
	}
	for _, c := range cases {
		for _, enc := range c.encryptions {
			for _, format := range []string{"armored", "binary"} {
				name := fmt.Sprintf("%s/%s%s/%s", c.key, enc.tool, strings.Join(enc.extra, ""), format)
				t.Run(name, func(t *testing.T) {
					requireTool(t, enc.tool)
					k := c.env.key(t, c.key)
					ciphertext := encrypt(t, enc.tool, k, plain, enc.extra...)
					exported := k.armored
					if format == "binary" {
						exported = k.binary
					}
					keys, err := LoadKeys(bytes.NewReader(exported), name)
					if err != nil {
						t.Fatal(err)
					}
					checkDescription(t, keys, k)
					keys.SetPassphrase(PassphraseFromEnv("PGRESCUE_TEST_PASSPHRASE"))
					t.Setenv("PGRESCUE_TEST_PASSPHRASE", k.passphrase)
					got, err := decryptAll(keys, ciphertext, name)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, plain) {
						t.Fatalf("decrypted %d bytes differ from the %d bytes encrypted", len(got), len(plain))
					}
				})
			}
		}
	}
}

func checkDescription(t *testing.T, keys *Keys, k *testKey) {
	t.Helper()
	infos := keys.Describe()
	if len(infos) != 1 {
		t.Fatalf("Describe gave %d keys, want 1", len(infos))
	}
	info := infos[0]
	if info.Fingerprint != k.fpr || info.KeyID != fingerprintKeyID(t, k.fpr) {
		t.Errorf("described as %s / %x, gpg says %s", info.Fingerprint, info.KeyID, k.fpr)
	}
	if info.Protected != (k.passphrase != "") {
		t.Errorf("Protected = %v, but the key has a passphrase: %v", info.Protected, k.passphrase != "")
	}
	if len(info.UserIDs) != 1 || !strings.Contains(info.UserIDs[0], k.uid) {
		t.Errorf("user ids %q, want one with %s", info.UserIDs, k.uid)
	}
	if len(info.SubkeyIDs) != 1 || len(info.EncryptionKeyIDs) != 1 || info.EncryptionKeyIDs[0] != info.SubkeyIDs[0] {
		t.Errorf("subkeys %x, encryption keys %x: want the one subkey to be the encryption key", info.SubkeyIDs, info.EncryptionKeyIDs)
	}
}

func fingerprintKeyID(t *testing.T, fpr string) uint64 {
	t.Helper()
	var id uint64
	if _, err := fmt.Sscanf(fpr[len(fpr)-16:], "%x", &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBatchBoundaries decrypts sizes around the block, chunk and batch
// boundaries of the streaming decrypter, where an off-by-one would hide.
func TestBatchBoundaries(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	keys := k.load(t)
	sizes := []int{0, 1, 13, 14, 15, 16, 17, 21, 22, 23, 8191, 8192, 8193,
		batchSize - mdcTrailerSize - 19, batchSize - 19, batchSize, batchSize + 1, 2*batchSize + 5}
	for _, size := range sizes {
		plain := randomish(size, byte(size))
		got, err := decryptAll(keys, encrypt(t, "gpg", k, plain), fmt.Sprint(size))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d bytes: decrypted data differs", size)
		}
	}
}

// TestSmallReads reads one byte at a time, as a careless caller might.
func TestSmallReads(t *testing.T) {
	want := readFile(t, fixtureObject)
	r, err := fixtureKeys(t).Decrypt(bytes.NewReader(want), fixtureObject)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(oneByteReader{r}, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	if !hasLzopMagic(got) || len(got) < len(want)-600 {
		t.Fatalf("read %d bytes one at a time", len(got))
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

func TestPlainObjectsPassThrough(t *testing.T) {
	plain := append(append([]byte{}, lzopMagic[:]...), randomish(5000, 3)...)
	for _, keys := range []*Keys{nil, fixtureKeys(t)} {
		got, err := decryptAll(keys, plain, "plain.lzo")
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("plain lzop with keys %v: error %v, equal %v", keys != nil, err, bytes.Equal(got, plain))
		}
	}
	got, err := decryptAll(nil, nil, "empty")
	if err != nil || len(got) != 0 {
		t.Fatalf("empty object: %d bytes, error %v", len(got), err)
	}
}

func TestKeyMissing(t *testing.T) {
	_, err := decryptAll(nil, readFile(t, fixtureObject), "s3://wale-fixtures/pg15-primary/wal_005/000000010000000000000011.lzo")
	assertKind(t, err, problem.KeyMissing)
	assertMentions(t, err, "0xEC57899CFCBA07F4", "--gpg-key FILE", "gpg --export-secret-keys --armor 0xEC57899CFCBA07F4",
		"s3://wale-fixtures/pg15-primary/wal_005/000000010000000000000011.lzo")
}

func TestWrongKey(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	keys := k.load(t)
	_, err := decryptAll(keys, readFile(t, fixtureObject), fixtureObject)
	assertKind(t, err, problem.WrongKey)
	info := keys.Describe()[0]
	assertMentions(t, err, "0xEC57899CFCBA07F4", keyID(info.KeyID), keyID(info.SubkeyIDs[0]), fixtureObject)
}

func TestPassphraseNeeded(t *testing.T) {
	ciphertext := readFile(t, fixtureObject)
	noFunc, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := LoadKeyFile(fixtureKeyFile)
	empty.SetPassphrase(PassphraseFromEnv("PGRESCUE_TEST_UNSET_VARIABLE"))
	noTerminal, _ := LoadKeyFile(fixtureKeyFile)
	noTerminal.SetPassphrase(PromptPassphrase(filepath.Join(t.TempDir(), "no-such-tty")))
	for name, keys := range map[string]*Keys{"no passphrase function": noFunc, "empty passphrase": empty, "no terminal": noTerminal} {
		_, err := decryptAll(keys, ciphertext, fixtureObject)
		assertKind(t, err, problem.PassphraseNeeded)
		assertMentions(t, err, "0x97431D9C5CEB8FBF", "lzo or tar header", "--gpg-passphrase-file FILE", "PGRESCUE_GPG_PASSPHRASE", "terminal")
		if t.Failed() {
			t.Fatalf("case %s", name)
		}
	}
}

func TestWrongPassphrase(t *testing.T) {
	keys, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	keys.SetPassphrase(func(KeyInfo) ([]byte, error) {
		calls.Add(1)
		return []byte("wrong horse battery staple"), nil
	})
	ciphertext := readFile(t, fixtureObject)
	for range 3 {
		_, err := decryptAll(keys, ciphertext, fixtureObject)
		assertKind(t, err, problem.WrongPassphrase)
		assertMentions(t, err, "0x97431D9C5CEB8FBF", fixtureObject)
	}
	if calls.Load() != 1 {
		t.Fatalf("passphrase asked %d times, want once", calls.Load())
	}
}

func TestPassphraseWipedAfterUse(t *testing.T) {
	keys, err := LoadKeyFile(fixtureKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	var handedOut []byte
	keys.SetPassphrase(func(KeyInfo) ([]byte, error) {
		handedOut = []byte(strings.TrimSpace(string(readFile(t, fixturePassphraseFile))))
		return handedOut, nil
	})
	if _, err := decryptAll(keys, readFile(t, fixtureObject), fixtureObject); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(handedOut, make([]byte, len(handedOut))) {
		t.Fatal("the passphrase bytes were not wiped after unlocking")
	}
}

// TestPassphraseOnceConcurrent starts 8 decryptions at once with a protected
// key: exactly one may ask for the passphrase, the others wait and reuse it.
func TestPassphraseOnceConcurrent(t *testing.T) {
	for _, name := range []string{"fixture", "ed25519-protected"} {
		t.Run(name, func(t *testing.T) {
			var keys *Keys
			var ciphertext, want []byte
			passphrase := testPassphrase
			if name == "fixture" {
				keys, _ = LoadKeyFile(fixtureKeyFile)
				ciphertext = readFile(t, fixtureObject)
				passphrase = string(readFile(t, fixturePassphraseFile))
			} else {
				k := gpg2.key(t, name)
				keys = k.load(t)
				want = randomish(3*batchSize+77, 9)
				ciphertext = encrypt(t, "gpg", k, want)
			}
			var calls atomic.Int32
			keys.SetPassphrase(func(KeyInfo) ([]byte, error) {
				calls.Add(1)
				return []byte(passphrase), nil
			})
			var wg sync.WaitGroup
			results := make([][]byte, 8)
			errs := make([]error, 8)
			for i := range 8 {
				wg.Go(func() { results[i], errs[i] = decryptAll(keys, ciphertext, fmt.Sprint("object ", i)) })
			}
			wg.Wait()
			for i := range 8 {
				if errs[i] != nil {
					t.Fatalf("decryption %d: %v", i, errs[i])
				}
				if want != nil && !bytes.Equal(results[i], want) || !bytes.Equal(results[i], results[0]) {
					t.Fatalf("decryption %d gave different data", i)
				}
			}
			if calls.Load() != 1 {
				t.Fatalf("passphrase asked %d times, want once", calls.Load())
			}
		})
	}
}

// TestDamagedCiphertext flips single bytes: in the session key packet, the
// first encrypted block, the middle of the data and the MDC. Each must be
// reported as damage, and no reader may end with a clean io.EOF.
func TestDamagedCiphertext(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	keys := k.load(t)
	plain := randomish(3*batchSize/2, 5)
	ciphertext := encrypt(t, "gpg", k, plain)
	positions := map[string]int{
		"RSA session key":     100,
		"first block":         280,
		"middle":              len(ciphertext) / 2,
		"within the last 22":  len(ciphertext) - 10,
		"last byte (the MDC)": len(ciphertext) - 1,
	}
	for name, pos := range positions {
		damaged := bytes.Clone(ciphertext)
		damaged[pos] ^= 0x40
		got, err := decryptAll(keys, damaged, name)
		if err == nil {
			t.Fatalf("%s: byte %d flipped, yet decryption ended cleanly with %d bytes", name, pos, len(got))
		}
		assertKind(t, err, problem.Corrupt)
		assertMentions(t, err, name)
	}
	// The real archive object, damaged in the middle.
	fixture := readFile(t, fixtureObject)
	fixture[len(fixture)/2] ^= 0x01
	_, err := decryptAll(fixtureKeys(t), fixture, fixtureObject)
	assertKind(t, err, problem.Corrupt)
	assertMentions(t, err, "integrity check", fixtureObject)
}

func TestTruncatedCiphertext(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	keys := k.load(t)
	ciphertext := encrypt(t, "gpg", k, randomish(3*batchSize/2, 6))
	cuts := map[string]int{
		"in the session key packet":     50,
		"after the session key packet":  271,
		"in the first block":            280,
		"in half":                       len(ciphertext) / 2,
		"one byte short":                len(ciphertext) - 1,
		"at a partial-length boundary":  272 + 1 + 8192, // gpg writes 8 KiB chunks
		"before the last partial chunk": len(ciphertext) - 30,
	}
	for name, cut := range cuts {
		got, err := decryptAll(keys, ciphertext[:cut], name)
		if err == nil {
			t.Fatalf("%s: cut at %d of %d bytes, yet decryption ended cleanly with %d bytes", name, cut, len(ciphertext), len(got))
		}
		if !problem.Is(err, problem.Truncated) {
			assertKind(t, err, problem.Corrupt)
		}
		assertNoSecret(t, err)
	}
	fixture := readFile(t, fixtureObject)
	_, err := decryptAll(fixtureKeys(t), fixture[:len(fixture)/2], fixtureObject)
	assertKind(t, err, problem.Truncated)
	assertMentions(t, err, fixtureObject)
}

// TestSourceErrorsPassThrough: a network or disk error of the caller's reader
// is the caller's to classify, so it comes back unchanged.
func TestSourceErrorsPassThrough(t *testing.T) {
	fixture := readFile(t, fixtureObject)
	broken := errors.New("connection reset by peer")
	for _, at := range []int{0, 100, len(fixture) / 2} {
		r := io.MultiReader(bytes.NewReader(fixture[:at]), failingReader{broken})
		plain, err := fixtureKeys(t).Decrypt(r, fixtureObject)
		if err == nil {
			_, err = io.ReadAll(plain)
		}
		if !errors.Is(err, broken) || problem.KindOf(err) != problem.Unknown {
			t.Fatalf("failure after %d bytes came back as %v (%s)", at, err, problem.KindOf(err))
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// TestStubSubkey: a key whose encryption subkey's secret part is missing (a
// smartcard, or deleted) gets BadKey, not a misleading wrong-key verdict.
func TestStubSubkey(t *testing.T) {
	k := gpg2.key(t, "rsa-plain")
	home, err := shortHome(t.Cleanup)
	if err != nil {
		t.Fatal(err)
	}
	mustGPG(t, "gpg", home, k.binary, "--import")
	subkeyFpr := subkeyFingerprint(t, home, k.fpr)
	mustGPG(t, "gpg", home, nil, "--yes", "--delete-secret-keys", subkeyFpr+"!")
	stubbed := mustGPG(t, "gpg", home, nil, "--pinentry-mode", "loopback", "--passphrase", "", "--export-secret-keys", k.fpr)
	keys, err := LoadKeys(bytes.NewReader(stubbed), "stubbed.gpg")
	if err != nil {
		t.Fatal(err)
	}
	if info := keys.Describe()[0]; len(info.EncryptionKeyIDs) != 0 {
		t.Errorf("a stub is listed as able to decrypt: %x", info.EncryptionKeyIDs)
	}
	_, err = decryptAll(keys, encrypt(t, "gpg", k, []byte("data")), "stubbed")
	assertKind(t, err, problem.BadKey)
	assertMentions(t, err, "stub", "smartcard")
}

func subkeyFingerprint(t *testing.T, home, fpr string) string {
	t.Helper()
	out := mustGPG(t, "gpg", home, nil, "--with-colons", "--with-subkey-fingerprints", "--list-secret-keys", fpr)
	inSubkey := false
	for line := range strings.SplitSeq(string(out), "\n") {
		fields := strings.Split(line, ":")
		switch {
		case fields[0] == "ssb":
			inSubkey = true
		case fields[0] == "fpr" && inSubkey && len(fields) > 9:
			return fields[9]
		}
	}
	t.Fatalf("no subkey fingerprint in:\n%s", out)
	return ""
}

// TestNoIntegrityProtection: data encrypted without an MDC (gpg 1.4
// --disable-mdc) is refused, as gpg 2.2 refuses it, with an explanation.
func TestNoIntegrityProtection(t *testing.T) {
	k := gpg1.key(t, "gpg1-rsa-plain")
	ciphertext := encrypt(t, "gpg1", k, []byte("no mdc"), "--disable-mdc")
	_, err := decryptAll(k.load(t), ciphertext, "no-mdc")
	assertKind(t, err, problem.Corrupt)
	assertMentions(t, err, "integrity protection", "gpg -d")
}
