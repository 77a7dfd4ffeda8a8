package walerestore

import (
	"context"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/restore/wale"
)

// ArchiveKey is what the archive needs to be decrypted and who holds it.
type ArchiveKey struct {
	Object     string   // the archived object read (the smallest WAL segment)
	NoObject   string   // why there was none to read; the rest is then empty
	Recipients []uint64 // the keys it is encrypted to; none when not encrypted
	// Held is the key part that decrypts it, when the key source holds
	// one; nil when the source has no key for any recipient.
	Held *keyring.Match
}

// Encrypted reports whether the archive needs a key at all.
func (k ArchiveKey) Encrypted() bool { return len(k.Recipients) > 0 }

// Protected reports whether the key that decrypts the archive needs a
// passphrase.
func (k ArchiveKey) Protected() bool { return k.Held != nil && k.Held.Part.Protection == gpg.Protected }

// FindArchiveKey reads the recipient of the archive's smallest WAL segment
// (every object is encrypted alike) and looks for it in src, which needs no
// passphrase to list its keys. src.List nil means no key source was found.
func FindArchiveKey(ctx context.Context, archive *wale.Archive, src KeySource) (ArchiveKey, error) {
	return findArchiveKey(ctx, archive, src, nil)
}

// findArchiveKey is FindArchiveKey choosing the object among the WAL
// already listed (nil lists it).
func findArchiveKey(ctx context.Context, archive *wale.Archive, src KeySource, listed []wale.WALObject) (ArchiveKey, error) {
	data, uri, why, err := archive.SampleSegmentIn(ctx, listed)
	if err != nil || data == nil {
		return ArchiveKey{NoObject: why}, err
	}
	found := ArchiveKey{Object: uri}
	if found.Recipients, err = keyring.Recipients(data, uri); err != nil || !found.Encrypted() || src.List == nil {
		return found, err
	}
	keys, err := src.List(ctx)
	if err != nil {
		return found, err
	}
	for _, id := range found.Recipients {
		if m, ok := keyring.FindPart(keys, id); ok {
			found.Held = &m
			break
		}
	}
	return found, nil
}
