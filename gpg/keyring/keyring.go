// Package keyring finds and changes the GnuPG keyrings WAL-E decrypts with:
// a GnuPG 1.x home (secring.gpg, as on Ubuntu 14.04/16.04), read and
// rewritten natively; a GnuPG 2.1+ home (private-keys-v1.d), handled through
// the gpg and gpg-connect-agent binaries in batch mode with loopback pinentry,
// because only gpg-agent may read or write its key files; and an exported key
// file.
//
// It reports every secret key and whether each secret part is protected by a
// passphrase, checks the keyring against an archived object's recipient, and
// removes or restores a passphrase the way the runbook's `gpg --edit-key` /
// `passwd` session does, but with a backup first, atomic writes, files left
// with their owner and mode, and a verification by decrypting a real archived
// object. The passphrase never reaches argv, the environment, or a log.
package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"

	"pgrescue/gpg"
	"pgrescue/problem"
)

// Format is the kind of keyring found at a path.
type Format string

// The keyrings pgrescue understands.
const (
	GnuPG1  Format = "gnupg1"   // secring.gpg holds the secret keys
	GnuPG2  Format = "gnupg2"   // private-keys-v1.d, owned by gpg-agent
	KeyFile Format = "key-file" // gpg --export-secret-keys output
)

// The files that tell the formats apart.
const (
	secringName    = "secring.gpg"
	privateKeysDir = "private-keys-v1.d"
)

// PostgresUser is who runs PostgreSQL, and so WAL-E, on Debian and Ubuntu.
const PostgresUser = "postgres"

// Keyring is one place secret keys live.
type Keyring struct {
	Path   string // the GnuPG home, or the key file
	Format Format
	Owner  Owner
}

// Owner is the user a keyring belongs to: gpg runs as this user, and every
// file pgrescue writes in the keyring ends up owned by them.
type Owner struct {
	UID, GID uint32
	Name     string // "" when the uid has no passwd entry
	Home     string // the user's home directory, for gpg's HOME
}

func (o Owner) String() string {
	if o.Name == "" {
		return fmt.Sprintf("uid %d", o.UID)
	}
	return fmt.Sprintf("%s (uid %d)", o.Name, o.UID)
}

// DefaultHome is where WAL-E's gpg looks: GNUPGHOME when set, otherwise
// ~/.gnupg of the user who runs PostgreSQL, otherwise of the current user.
// gnupgHome is the GNUPGHOME setting ("" when unset).
func DefaultHome(gnupgHome string) string {
	if gnupgHome != "" {
		return gnupgHome
	}
	if u, err := user.Lookup(PostgresUser); err == nil && u.HomeDir != "" {
		return filepath.Join(u.HomeDir, ".gnupg")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".gnupg")
	}
	return ".gnupg"
}

// Open finds out what path holds: a GnuPG 2.1+ home (private-keys-v1.d wins
// when both exist, since gpg 2.1 migrated secring.gpg into it and ignores
// the old file from then on), a GnuPG 1 home, or a key file.
func Open(path string) (*Keyring, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errNoKeyring(path, err)
	}
	k := &Keyring{Path: path, Owner: ownerOf(st)}
	switch {
	case !st.IsDir():
		k.Format = KeyFile
	case exists(filepath.Join(path, privateKeysDir)):
		k.Format = GnuPG2
	case exists(filepath.Join(path, secringName)):
		k.Format = GnuPG1
	default:
		return nil, errNoKeyring(path, errors.New("it has neither secring.gpg (GnuPG 1) nor private-keys-v1.d (GnuPG 2.1+)"))
	}
	return k, nil
}

// Describe names the keyring for people: path, format and owner.
func (k *Keyring) Describe() string {
	what := map[Format]string{
		GnuPG1:  "GnuPG 1 home, secret keys in secring.gpg",
		GnuPG2:  "GnuPG 2.1+ home, secret keys in private-keys-v1.d (read through gpg-agent)",
		KeyFile: "exported key file",
	}[k.Format]
	return fmt.Sprintf("%s (%s, owned by %s)", k.Path, what, k.Owner)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func ownerOf(st os.FileInfo) Owner {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return Owner{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	}
	o := Owner{UID: sys.Uid, GID: sys.Gid}
	if u, err := user.LookupId(fmt.Sprint(sys.Uid)); err == nil {
		o.Name, o.Home = u.Username, u.HomeDir
	}
	return o
}

func errNoKeyring(path string, cause error) *problem.Error {
	e := problem.Wrap(cause, problem.KeyMissing, path, "no GnuPG keyring here",
		"name the GnuPG home WAL-E uses with --homedir DIR (on GOV.UK machines ~postgres/.gnupg, "+
			"or GNUPGHOME in the WAL-E envdir), or a key file exported by `gpg --export-secret-keys` with --gpg-key FILE")
	e.Detail = cause.Error()
	return e
}

// LoadKeys reads the keyring's secret keys for native decryption. A GnuPG
// 2.1+ home is exported through gpg, which needs the passphrase of a
// protected key; passphrase may then supply it (nil: only unprotected keys
// can be exported).
func (k *Keyring) LoadKeys(ctx context.Context, passphrase gpg.PassphraseFunc) (*gpg.Keys, error) {
	switch k.Format {
	case GnuPG1:
		return gpg.LoadKeyFile(filepath.Join(k.Path, secringName))
	case GnuPG2:
		return k.exportKeys(ctx, passphrase)
	}
	return gpg.LoadKeyFile(k.Path)
}

// exportKeys exports a GnuPG 2.1+ home's secret keys through gpg. gpg needs
// the passphrase of a protected key to export it (it re-encrypts the key
// with it), so it is asked first, once, and kept in memory for the native
// decryption that unlocks the exported copy again.
func (k *Keyring) exportKeys(ctx context.Context, passphrase gpg.PassphraseFunc) (*gpg.Keys, error) {
	infos, err := k.secretKeysGnuPG2(ctx)
	if err != nil {
		return nil, err
	}
	t := tool{name: "gpg", args: []string{"--batch", "--no-tty", "--pinentry-mode", "error", "--export-secret-keys"}}
	if protected := firstProtected(infos); protected != nil {
		if passphrase == nil {
			return nil, errExportNeedsPassphrase(k.Path, *protected)
		}
		passphrase = rememberPassphrase(passphrase)
		secret, err := passphrase(*protected)
		if err != nil {
			return nil, err
		}
		defer clear(secret)
		t.args = []string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--export-secret-keys"}
		t.fd3 = secret
	}
	out, err := k.run(ctx, t)
	if err != nil {
		return nil, err
	}
	keys, err := gpg.LoadKeys(bytes.NewReader(out), k.Path)
	if err != nil {
		return nil, err
	}
	keys.SetPassphrase(passphrase)
	return keys, nil
}

func firstProtected(infos []gpg.KeyInfo) *gpg.KeyInfo {
	for i := range infos {
		if infos[i].Protected {
			return &infos[i]
		}
	}
	return nil
}

// rememberPassphrase asks once and hands out copies, since gpg.Keys wipes
// what it is given and both the export and the unlock need the passphrase.
func rememberPassphrase(ask gpg.PassphraseFunc) gpg.PassphraseFunc {
	var once sync.Once
	var secret []byte
	var failure error
	return func(key gpg.KeyInfo) ([]byte, error) {
		once.Do(func() { secret, failure = ask(key) })
		return bytes.Clone(secret), failure
	}
}

func errExportNeedsPassphrase(home string, key gpg.KeyInfo) *problem.Error {
	e := problem.New(problem.PassphraseNeeded, home,
		"reading the GnuPG 2 keyring needs the key's passphrase and none was given",
		"give it with --gpg-passphrase-file FILE or in "+gpg.PassphraseEnv+", or run pgrescue on a terminal to be asked for it")
	e.Detail = "key " + key.String() + " is protected, and gpg exports a protected key only after it is unlocked. " +
		"The runbook warns that WAL-E does not work with password-protected GPG secret keys; " +
		"pgrescue unlocks it in memory only"
	return e
}

// Recipient returns the key archived objects are encrypted to, as WAL-E's
// `gpg -e -r keyID` finds it: the public key, which needs no passphrase.
// A key file is read directly; a GnuPG home exports it with gpg (GnuPG 1's
// secring.gpg holds the public parts too).
func (k *Keyring) Recipient(ctx context.Context, keyID string) (*gpg.Recipient, error) {
	switch k.Format {
	case GnuPG2:
		args := []string{"--batch", "--no-tty", "--export"}
		if keyID != "" {
			args = append(args, keyID)
		}
		out, err := k.run(ctx, tool{name: "gpg", args: args})
		if err != nil {
			return nil, err
		}
		return gpg.ParseRecipient(out, k.Path, keyID)
	case GnuPG1:
		return gpg.LoadRecipient(filepath.Join(k.Path, secringName), keyID)
	}
	return gpg.LoadRecipient(k.Path, keyID)
}
