package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"pgrescue/gpg"
	"pgrescue/problem"
)

// SecretKeys lists every secret key of the keyring with each part's
// protection. It never needs a passphrase.
func (k *Keyring) SecretKeys(ctx context.Context) ([]gpg.KeyInfo, error) {
	if k.Format == GnuPG2 {
		return k.secretKeysGnuPG2(ctx)
	}
	keys, err := k.LoadKeys(ctx, nil)
	if err != nil {
		return nil, err
	}
	return keys.Describe(), nil
}

// Match is one key part found by id.
type Match struct {
	Key  gpg.KeyInfo
	Part gpg.KeyPart
}

// FindPart returns the key holding the part with this long key id: the
// primary key or a subkey, as an object's recipient may be either.
func FindPart(keys []gpg.KeyInfo, id uint64) (Match, bool) {
	for _, key := range keys {
		for _, part := range key.Parts {
			if part.KeyID == id {
				return Match{Key: key, Part: part}, true
			}
		}
	}
	return Match{}, false
}

// MatchKeyID returns the keys that a WALE_GPG_KEY_ID value names, as gpg -r
// would pick them: a fingerprint, a long or short key id (with or without 0x)
// of the primary key or a subkey, or else a piece of a user id.
func MatchKeyID(keys []gpg.KeyInfo, setting string) []Match {
	hex := normalizeHexID(setting)
	var matches []Match
	for _, key := range keys {
		if m, ok := matchKey(key, setting, hex); ok {
			matches = append(matches, m)
		}
	}
	return matches
}

func matchKey(key gpg.KeyInfo, setting, hex string) (Match, bool) {
	for _, part := range key.Parts {
		if hex != "" && partHasID(part, hex) {
			return Match{Key: key, Part: part}, true
		}
	}
	if hex == "" && strings.TrimSpace(setting) != "" {
		for _, uid := range key.UserIDs {
			if strings.Contains(strings.ToLower(uid), strings.ToLower(strings.Trim(setting, " <>"))) {
				return Match{Key: key, Part: key.Parts[0]}, true
			}
		}
	}
	return Match{}, false
}

// partHasID compares a normalized hex id with a part's fingerprint or the
// key ids cut from its end (long: 16 digits, short: 8).
func partHasID(part gpg.KeyPart, hex string) bool {
	long := fmt.Sprintf("%016X", part.KeyID)
	switch len(hex) {
	case 40, 64:
		return part.Fingerprint == hex
	case 16:
		return long == hex
	case 8:
		return strings.HasSuffix(long, hex)
	}
	return false
}

// normalizeHexID upper-cases an id and drops 0x, spaces and a trailing "!"
// (gpg's "exactly this subkey"); "" when it is not a hex id.
func normalizeHexID(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "!")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	switch len(s) {
	case 8, 16, 40, 64:
	default:
		return ""
	}
	if _, err := strconv.ParseUint(s[:8], 16, 64); err != nil {
		return ""
	}
	if strings.Trim(s, "0123456789ABCDEF") != "" {
		return ""
	}
	return s
}

// Recipients reads the key ids an archived object is encrypted to from its
// first packets; none for an object that is not encrypted.
func Recipients(object []byte, name string) ([]uint64, error) {
	ids, err := gpg.RecipientKeyIDs(bytes.NewReader(object))
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) && pe.Subject == "" {
			copied := *pe
			copied.Subject = name
			return nil, &copied
		}
		return nil, err
	}
	return ids, nil
}
