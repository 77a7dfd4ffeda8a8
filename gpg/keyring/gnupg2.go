package keyring

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"pgrescue/gpg"
)

// The fields of gpg's --with-colons listing that matter here (doc/DETAILS
// in GnuPG's source), counted from 0.
const (
	colType         = 0
	colBits         = 2
	colAlgo         = 3
	colKeyID        = 4
	colCreated      = 5
	colExpires      = 6
	colCapabilities = 11
	colToken        = 14 // "+" secret present, "#" stub, else a card serial
	colCurve        = 16
	colUserID       = 9 // also the fingerprint and keygrip in fpr/grp lines
)

// listArgs lists secret keys with keygrips, which name the key files of
// private-keys-v1.d, and fingerprints of subkeys.
var listArgs = []string{"--batch", "--no-tty", "--with-colons", "--fixed-list-mode", "--with-keygrip",
	"--with-fingerprint", "--list-secret-keys"}

// keyinfoArgs asks gpg-agent how each secret part is stored: the 7th word of
// each "S KEYINFO" line is P (protected), C (clear) or - (unknown).
var keyinfoArgs = []string{"KEYINFO --list", "/bye"}

// secretKeysGnuPG2 lists a GnuPG 2.1+ home through gpg and gpg-agent, since
// exporting its protected keys would need the passphrase.
func (k *Keyring) secretKeysGnuPG2(ctx context.Context) ([]gpg.KeyInfo, error) {
	listing, err := k.run(ctx, tool{name: "gpg", args: listArgs})
	if err != nil {
		return nil, err
	}
	protection, err := k.agentProtection(ctx)
	if err != nil {
		return nil, err
	}
	return parseColons(listing, protection, k.Path), nil
}

func (k *Keyring) agentProtection(ctx context.Context) (map[string]gpg.Protection, error) {
	out, err := k.run(ctx, tool{name: "gpg-connect-agent", args: keyinfoArgs})
	if err != nil {
		return nil, err
	}
	byGrip := make(map[string]gpg.Protection)
	for line := range strings.SplitSeq(string(out), "\n") {
		words := strings.Fields(line)
		if len(words) < 8 || words[0] != "S" || words[1] != "KEYINFO" {
			continue
		}
		switch words[7] {
		case "P":
			byGrip[words[2]] = gpg.Protected
		case "C":
			byGrip[words[2]] = gpg.Unprotected
		default:
			byGrip[words[2]] = gpg.ProtectionUnknown
		}
	}
	return byGrip, nil
}

// parseColons turns gpg's listing into the same KeyInfo that key files give.
func parseColons(listing []byte, protection map[string]gpg.Protection, source string) []gpg.KeyInfo {
	var keys []gpg.KeyInfo
	var current *gpg.KeyInfo
	var part *gpg.KeyPart
	for line := range bytes.SplitSeq(listing, []byte("\n")) {
		f := strings.Split(string(line), ":")
		if len(f) <= colUserID {
			continue
		}
		switch f[colType] {
		case "sec":
			keys = append(keys, gpg.KeyInfo{Source: source})
			current = &keys[len(keys)-1]
			current.Parts = append(current.Parts, colonPart(f, false))
			current.KeyID = current.Parts[0].KeyID
			part = &current.Parts[0]
		case "ssb":
			if current == nil {
				continue
			}
			current.Parts = append(current.Parts, colonPart(f, true))
			part = &current.Parts[len(current.Parts)-1]
			current.SubkeyIDs = append(current.SubkeyIDs, part.KeyID)
		case "fpr":
			if part != nil {
				part.Fingerprint = f[colUserID]
			}
		case "grp":
			if part != nil {
				part.Keygrip = f[colUserID]
				part.Protection = gripProtection(part.Protection, protection, part.Keygrip)
			}
		case "uid":
			if current != nil {
				current.UserIDs = append(current.UserIDs, unescapeColon(f[colUserID]))
			}
		}
	}
	for i := range keys {
		finishColonKey(&keys[i])
	}
	return keys
}

// gripProtection asks the agent unless the listing already said stub.
func gripProtection(listed gpg.Protection, agent map[string]gpg.Protection, grip string) gpg.Protection {
	if listed == gpg.Stub {
		return listed
	}
	if p, ok := agent[grip]; ok {
		return p
	}
	return gpg.SecretMissing
}

func finishColonKey(key *gpg.KeyInfo) {
	key.Fingerprint = key.Parts[0].Fingerprint
	for _, p := range key.Parts {
		if p.Encrypt && (p.Protection == gpg.Protected || p.Protection == gpg.Unprotected || p.Protection == gpg.ProtectionUnknown) {
			key.EncryptionKeyIDs = append(key.EncryptionKeyIDs, p.KeyID)
		}
		if p.Protection == gpg.Protected {
			key.Protected = true
		}
	}
}

func colonPart(f []string, subkey bool) gpg.KeyPart {
	id, _ := strconv.ParseUint(f[colKeyID], 16, 64)
	p := gpg.KeyPart{
		KeyID:     id,
		Subkey:    subkey,
		Algorithm: colonAlgorithm(f),
		Created:   colonTime(f[colCreated]),
		Expires:   colonTime(f[colExpires]),
		Encrypt:   strings.Contains(field(f, colCapabilities), "e"),
	}
	if field(f, colToken) == "#" {
		p.Protection = gpg.Stub
	}
	return p
}

func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// colonAlgorithm follows gpg's own names: RSA with its size, elliptic curve
// keys by curve.
func colonAlgorithm(f []string) string {
	switch f[colAlgo] {
	case "1", "2", "3":
		return "rsa" + f[colBits]
	case "16", "20":
		return "elg" + f[colBits]
	case "17":
		return "dsa" + f[colBits]
	}
	if curve := field(f, colCurve); curve != "" {
		return gpg.GPGCurveName(curve)
	}
	return "algo" + f[colAlgo]
}

// colonTime reads seconds since the epoch or, with --fixed-list-mode off, an
// ISO date; empty means none.
func colonTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC()
	}
	t, _ := time.Parse("20060102T150405", s)
	return t
}

// unescapeColon undoes gpg's \xHH escapes in user ids (':' is \x3a).
func unescapeColon(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
