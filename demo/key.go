package demo

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/problem"
)

// passphraseWords are plain, unambiguous words: the passphrase is read off
// a screen and typed, as one copied from a secrets store would be.
var passphraseWords = []string{
	"anchor", "badger", "beacon", "bramble", "canal", "candle", "cobalt", "copper",
	"cricket", "dolphin", "ember", "falcon", "fennel", "fjord", "gravel", "harbour",
	"hazel", "heron", "island", "jigsaw", "juniper", "kettle", "lantern", "lemon",
	"maple", "meadow", "mirror", "nutmeg", "orchard", "otter", "paddle", "pebble",
	"pepper", "quarry", "quill", "raven", "ribbon", "saddle", "salmon", "shingle",
	"spruce", "thistle", "timber", "tunnel", "velvet", "walnut", "willow", "yonder",
}

// newPassphrase is three random words and a number, e.g. "otter-quarry-lemon-42":
// easy to read aloud, and not guessable from the sandbox.
func newPassphrase() (string, error) {
	parts := make([]string, 0, 4)
	for range 3 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passphraseWords))))
		if err != nil {
			return "", err
		}
		parts = append(parts, passphraseWords[n.Int64()])
	}
	n, err := rand.Int(rand.Reader, big.NewInt(90))
	if err != nil {
		return "", err
	}
	return strings.Join(append(parts, fmt.Sprint(n.Int64()+10)), "-"), nil
}

// sandboxKey is the archive's key pair.
type sandboxKey struct {
	fingerprint string // WALE_GPG_KEY_ID
	public      []byte // the public key, armored
	secring     []byte // secring.gpg: the secret key, protected
	pubring     []byte // pubring.gpg
}

// keyUserID names the key as GOV.UK's WAL-E keys named their machine.
const (
	keyName    = "WAL-E postgresql-primary-1"
	keyComment = "pgrescue sandbox"
	keyEmail   = "postgres@postgresql-primary-1.sandbox.invalid"
	keyRSABits = 2048
)

// newKey generates an RSA 2048 key with an encryption subkey and protects
// its secret parts with passphrase as gpg 1 does: iterated and salted S2K,
// a SHA-1 check of the secret (S2K usage 254), and CFB encryption.
func newKey(passphrase string, now func() time.Time) (*sandboxKey, error) {
	config := &packet.Config{
		RSABits:       keyRSABits,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          now,
	}
	e, err := openpgp.NewEntity(keyName, keyComment, keyEmail, config)
	if err != nil {
		return nil, problem.Wrap(err, problem.Unknown, "GPG key", "cannot generate the sandbox's GPG key", "run pgrescue demo again")
	}
	k := &sandboxKey{fingerprint: strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))}
	var pub bytes.Buffer
	if err := e.Serialize(&pub); err != nil {
		return nil, keyError(err)
	}
	k.pubring = pub.Bytes()
	if k.public, err = armored(k.pubring); err != nil {
		return nil, keyError(err)
	}
	if err := e.EncryptPrivateKeys([]byte(passphrase), config); err != nil {
		return nil, keyError(err)
	}
	var sec bytes.Buffer
	if err := e.SerializePrivateWithoutSigning(&sec, config); err != nil {
		return nil, keyError(err)
	}
	k.secring = sec.Bytes()
	return k, nil
}

func keyError(err error) error {
	return problem.Wrap(err, problem.Unknown, "GPG key", "cannot write the sandbox's GPG key", "run pgrescue demo again")
}

func armored(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, map[string]string{"Comment": "pgrescue sandbox: the key WAL-E encrypts to"})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeGnuPG1Home writes home as GnuPG 1 keeps one: secring.gpg and
// pubring.gpg, the directory 0700 and the rings 0600, owned by whoever runs
// pgrescue (gpg refuses a home others can read).
func (k *sandboxKey) writeGnuPG1Home(home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return problem.Wrap(err, problem.LocalIO, home, "cannot create the sandbox's GnuPG home", "check the sandbox folder's free space and permissions")
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return problem.Wrap(err, problem.LocalIO, home, "cannot make the GnuPG home private", "check the sandbox folder's permissions")
	}
	for name, data := range map[string][]byte{"secring.gpg": k.secring, "pubring.gpg": k.pubring} {
		if err := writePrivate(filepath.Join(home, name), data); err != nil {
			return err
		}
	}
	return nil
}

// verify proves, before anything is archived, that pgrescue reads the home
// as the trainee will meet it: every secret part protected, and unlocked by
// the passphrase to decrypt what the recipient encrypts.
func (k *sandboxKey) verify(ctx context.Context, home, passphrase string, recipient *gpg.Recipient) error {
	ring, err := keyring.Open(home)
	if err != nil {
		return err
	}
	infos, err := ring.SecretKeys(ctx)
	if err != nil {
		return err
	}
	if len(infos) != 1 || !infos[0].Protected {
		return problem.New(problem.Unknown, home, "the sandbox's GnuPG home does not hold exactly one protected secret key", "run pgrescue demo again")
	}
	keys, err := ring.LoadKeys(ctx, func(gpg.KeyInfo) ([]byte, error) { return []byte(passphrase), nil })
	if err != nil {
		return err
	}
	keys.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) { return []byte(passphrase), nil })
	probe := []byte("pgrescue sandbox probe")
	var sealed bytes.Buffer
	w, err := recipient.Encrypt(&sealed)
	if err != nil {
		return err
	}
	if _, err := w.Write(probe); err != nil {
		return keyError(err)
	}
	if err := w.Close(); err != nil {
		return keyError(err)
	}
	plain, err := keys.Decrypt(&sealed, "sandbox probe")
	if err != nil {
		return err
	}
	got, err := io.ReadAll(plain)
	if err != nil || !bytes.Equal(got, probe) {
		return problem.New(problem.Unknown, home, "the sandbox's key does not decrypt what is encrypted to it", "run pgrescue demo again")
	}
	return nil
}

// writePrivate writes a file only its owner may read.
func writePrivate(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return problem.Wrap(err, problem.LocalIO, path, "cannot write a sandbox file", "check the sandbox folder's free space and permissions")
	}
	return os.Chmod(path, 0o600)
}
