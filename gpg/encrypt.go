package gpg

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/problem"
)

// Recipient is the public key archived objects are encrypted to, as WAL-E
// encrypts them with `gpg -e -z 0 -r WALE_GPG_KEY_ID`.
type Recipient struct {
	entity *openpgp.Entity
	source string
}

// LoadRecipient reads a public or secret key file (armored or binary) and
// picks the key keyID names (fingerprint, long or short id, of the primary
// key or a subkey); "" picks the file's only key.
func LoadRecipient(path, keyID string) (*Recipient, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read the key file to encrypt to",
			"check the path; export the public key with `gpg --export --armor KEYID > FILE`")
	}
	return ParseRecipient(data, path, keyID)
}

// ParseRecipient is LoadRecipient on bytes; source names them in errors.
func ParseRecipient(data []byte, source, keyID string) (*Recipient, error) {
	entities, err := readKeyRing(data)
	if err != nil {
		return nil, errBadKey(source, "it is not an OpenPGP key", err)
	}
	var matches []*openpgp.Entity
	for _, e := range entities {
		if keyID == "" || entityHasID(e, keyID) {
			matches = append(matches, e)
		}
	}
	switch {
	case len(matches) == 1:
		return &Recipient{entity: matches[0], source: source}, nil
	case len(matches) == 0:
		return nil, problem.New(problem.WrongKey, source, "the key file holds no key "+keyID,
			"give the file that holds the archive's key (WALE_GPG_KEY_ID)")
	}
	return nil, problem.New(problem.Usage, source, fmt.Sprintf("the key file holds %d keys", len(matches)),
		"name the one to encrypt to with WALE_GPG_KEY_ID (--gpg-key-id)")
}

func readKeyRing(data []byte) (openpgp.EntityList, error) {
	if bytes.Contains(data[:min(len(data), 64)], []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return openpgp.ReadKeyRing(block.Body)
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// entityHasID matches a WALE_GPG_KEY_ID against the primary key and every
// subkey, as gpg -r does.
func entityHasID(e *openpgp.Entity, id string) bool {
	want := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(id), "0x"), "0X"))
	matches := func(pk *packet.PublicKey) bool {
		fpr := fmt.Sprintf("%X", pk.Fingerprint)
		return fpr == want || strings.HasSuffix(fpr, want) && (len(want) == 16 || len(want) == 8)
	}
	if matches(e.PrimaryKey) {
		return true
	}
	for _, sub := range e.Subkeys {
		if matches(sub.PublicKey) {
			return true
		}
	}
	return false
}

// Encrypt returns a writer whose plaintext reaches w encrypted to the
// recipient as gpg writes WAL-E objects: a public-key session key packet to
// the encryption subkey, then integrity-protected data (SEIPD v1 with MDC)
// holding a binary literal packet with no name, and no compression (-z 0:
// the data is lzop-compressed already). Close finishes the message but not w.
func (r *Recipient) Encrypt(w io.Writer) (io.WriteCloser, error) {
	config := &packet.Config{DefaultCipher: packet.CipherAES256, DefaultCompressionAlgo: packet.CompressionNone}
	plain, err := openpgp.Encrypt(w, []*openpgp.Entity{r.entity}, nil, &openpgp.FileHints{IsBinary: true}, config)
	if err != nil {
		return nil, problem.Wrap(err, problem.BadKey, r.source, "cannot encrypt to this key",
			"check that the key has an encryption subkey that has not expired (gpg --list-keys)")
	}
	return plain, nil
}

// KeyID is the long id of the recipient's primary key.
func (r *Recipient) KeyID() uint64 { return r.entity.PrimaryKey.KeyId }
