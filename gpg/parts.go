package gpg

import (
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Protection says how the secret part of one key is stored.
type Protection string

// The protections a secret part can have. WAL-E only works with Unprotected.
const (
	Unprotected       Protection = "unprotected"
	Protected         Protection = "protected" // encrypted with a passphrase
	Stub              Protection = "stub"      // only a placeholder: the secret is on a card or was not exported
	SecretMissing     Protection = "missing"   // a public subkey without any secret part
	ProtectionUnknown Protection = "unknown"   // gpg-agent could not say
)

// KeyPart is the primary key or one subkey of a secret key, with what status
// reports about it.
type KeyPart struct {
	KeyID       uint64
	Fingerprint string // upper-case hex
	Keygrip     string // gpg-agent's name for the secret part (GnuPG 2.1+ homes only)
	Subkey      bool
	Algorithm   string    // as gpg names it: rsa2048, ed25519, cv25519
	Created     time.Time // zero when unknown
	Expires     time.Time // zero: never expires
	Encrypt     bool      // can decrypt archive objects
	Protection  Protection
}

// LongID is the part's key id as gpg prints it with --keyid-format 0xlong.
func (p KeyPart) LongID() string { return keyID(p.KeyID) }

// partOf describes a key packet as read from a key file or secring.gpg.
func partOf(pub *packet.PublicKey, protection Protection) KeyPart {
	return KeyPart{
		KeyID:       pub.KeyId,
		Fingerprint: strings.ToUpper(fmt.Sprintf("%x", pub.Fingerprint)),
		Subkey:      pub.IsSubkey,
		Algorithm:   AlgorithmName(pub),
		Created:     pub.CreationTime.UTC(),
		Protection:  protection,
	}
}

func protectionOf(p *packet.PrivateKey) Protection {
	switch {
	case p.Dummy():
		return Stub
	case p.Encrypted:
		return Protected
	}
	return Unprotected
}

// AlgorithmName names a key's algorithm the way `gpg --list-keys` does, so
// that what pgrescue prints can be compared with gpg's own listing.
func AlgorithmName(pub *packet.PublicKey) string {
	switch pub.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		return withBits("rsa", pub)
	case packet.PubKeyAlgoDSA:
		return withBits("dsa", pub)
	case packet.PubKeyAlgoElGamal:
		return withBits("elg", pub)
	case packet.PubKeyAlgoEd25519:
		return "ed25519"
	case packet.PubKeyAlgoX25519:
		return "cv25519"
	case packet.PubKeyAlgoECDH, packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA:
		if curve, err := pub.Curve(); err == nil {
			return GPGCurveName(string(curve))
		}
	}
	return fmt.Sprintf("algo%d", pub.PubKeyAlgo)
}

func withBits(name string, pub *packet.PublicKey) string {
	bits, err := pub.BitLength()
	if err != nil {
		return name
	}
	return fmt.Sprintf("%s%d", name, bits)
}

// GPGCurveName maps a curve name to the short one gpg prints ("cv25519").
func GPGCurveName(curve string) string {
	switch strings.ToLower(curve) {
	case "curve25519", "cv25519", "x25519":
		return "cv25519"
	case "ed25519", "ed25519legacy":
		return "ed25519"
	}
	return strings.ToLower(curve)
}
