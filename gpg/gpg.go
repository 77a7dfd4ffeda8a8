// Package gpg decrypts WAL-E archive objects natively, so a restore needs no
// gpg binary, no gpg-agent and no GnuPG home directory.
//
// WAL-E pipes every object through `lzop | gpg -e -z 0 -r <WALE_GPG_KEY_ID>`:
// the object is an OpenPGP message made of a public-key encrypted session key
// packet (PKESK) addressed to the encryption subkey, then a symmetrically
// encrypted, integrity protected data packet (SEIPD with an MDC) holding one
// literal data packet whose body is the lzop stream. Objects of an archive made
// without WALE_GPG_KEY_ID are the bare lzop stream.
//
// Keys holds secret keys read from an exported key file. A passphrase-protected
// key is unlocked in memory the first time an object needs it, with a
// passphrase obtained once from a PassphraseFunc, and then shared by every
// later decryption in every goroutine. Neither the passphrase nor the unlocked
// key is ever written anywhere.
//
// Every failure is a *problem.Error that names the object or key file and the
// next step, because the person reading it is restoring a database under
// pressure, and gpg's own messages in WAL-E's logs ("decryption failed: No
// secret key", then "not a lzop file") sent people in the wrong direction.
package gpg

// OpenPGP packet tags (RFC 4880 section 4.3, RFC 9580) that can begin an
// encrypted message.
const (
	tagPKESK           = 1  // public-key encrypted session key: what `gpg -e -r` writes first
	tagSKESK           = 3  // symmetric-key encrypted session key (`gpg -c`)
	tagSED             = 9  // encrypted data without integrity protection (very old gpg)
	tagSEIPD           = 18 // encrypted and integrity protected data
	tagAEADEncrypted   = 20 // GnuPG 2.3+ AEAD (OCB) encrypted data
	lzopMagicLength    = 9
	sniffLength        = 16
	mdcTrailerSize     = 22 // MDC packet: tag byte, length byte, SHA-1
	mdcPacketTag       = 0xD3
	mdcPacketBodyBytes = 20
)

// lzopMagic opens every lzop stream, i.e. every unencrypted WAL-E object.
var lzopMagic = [lzopMagicLength]byte{0x89, 0x4C, 0x5A, 0x4F, 0x00, 0x0D, 0x0A, 0x1A, 0x0A}

// IsEncrypted reports whether prefix, the first bytes of an archived object,
// begins an encrypted OpenPGP message (a PKESK, SKESK or encrypted data packet
// comes first). It is false for the lzop magic and for anything else.
// One byte is enough to decide; more are ignored.
func IsEncrypted(prefix []byte) bool {
	if len(prefix) == 0 || hasLzopMagic(prefix) {
		return false
	}
	tag, ok := packetTag(prefix[0])
	if !ok {
		return false
	}
	switch tag {
	case tagPKESK, tagSKESK, tagSED, tagSEIPD, tagAEADEncrypted:
		return true
	}
	return false
}

func hasLzopMagic(prefix []byte) bool {
	return len(prefix) >= lzopMagicLength && [lzopMagicLength]byte(prefix[:lzopMagicLength]) == lzopMagic
}

// packetTag decodes the tag of an OpenPGP packet header byte, in the old
// format (gpg's PKESK is 0x85: tag 1) or the new one (SEIPD is 0xD2: tag 18).
func packetTag(header byte) (tag int, ok bool) {
	if header&0x80 == 0 {
		return 0, false
	}
	if header&0x40 != 0 {
		return int(header & 0x3F), true
	}
	return int(header>>2) & 0x0F, true
}
