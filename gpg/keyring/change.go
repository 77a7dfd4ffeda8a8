package keyring

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"pgrescue/gpg"
	"pgrescue/problem"
)

// Change is one passphrase operation on one key of a keyring.
type Change struct {
	Keyring    *Keyring
	Key        string             // which key: fingerprint, key id or user id; "" picks the object's recipient
	Object     []byte             // an archived object, decrypted to verify the result
	ObjectName string             // names Object in messages
	Passphrase gpg.PassphraseFunc // the current passphrase (remove), or the one to set (restore --set)
	Now        func() time.Time   // names the backup; time.Now when nil
}

// Result says what a Change did.
type Result struct {
	Key      gpg.KeyInfo
	Changed  []gpg.KeyPart // the secret parts whose protection changed
	Backup   string        // the backup made (remove) or put back (restore)
	Verified string        // how the result was checked
	NoChange string        // why nothing needed doing
}

// RemovePassphrase removes the passphrase of the key, as the runbook's
// `gpg --edit-key` / `passwd` session does, so that WAL-E's `gpg -d --batch`
// works. The passphrase is checked before anything is written; the key's
// files are backed up first; a failure after that puts every byte back.
func (c *Change) RemovePassphrase(ctx context.Context) (*Result, error) {
	key, err := c.selectKey(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: key}
	parts := partsWith(key, gpg.Protected)
	if len(parts) == 0 {
		res.NoChange = "no secret part of key " + key.String() + " is protected by a passphrase"
		return res, nil
	}
	passphrase, err := c.ask(key)
	if err != nil {
		return nil, err
	}
	defer clear(passphrase)
	// The snapshot comes before the passphrase check because gpg-agent
	// rewrites an imported key's file the first time it unlocks it; the
	// backup then holds the files exactly as they were found.
	before, err := c.Keyring.takeSnapshot(c.Keyring.filesOf(parts))
	if err != nil {
		return nil, err
	}
	if err := c.checkPassphrase(ctx, key, parts, passphrase); err != nil {
		return nil, c.undo(before, err)
	}
	res.Changed = parts
	return res, c.transaction(ctx, before, res, true, func(before snapshot) error {
		return c.removeProtection(ctx, key, parts, passphrase, before)
	}, c.verifyNoPassphrase)
}

// SetPassphrase protects the key's unprotected secret parts with a new
// passphrase: restore-passphrase when no backup is to be used.
func (c *Change) SetPassphrase(ctx context.Context) (*Result, error) {
	key, err := c.selectKey(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: key}
	parts := partsWith(key, gpg.Unprotected)
	if len(parts) == 0 {
		res.NoChange = "every secret part of key " + key.String() + " is already protected"
		return res, nil
	}
	passphrase, err := c.ask(key)
	if err != nil {
		return nil, err
	}
	defer clear(passphrase)
	res.Changed = parts
	before, err := c.Keyring.takeSnapshot(c.Keyring.filesOf(parts))
	if err != nil {
		return nil, err
	}
	return res, c.transaction(ctx, before, res, false, func(before snapshot) error {
		return c.addProtection(ctx, key, parts, passphrase, before)
	}, c.verifyNeedsPassphrase(passphrase))
}

// RestoreBackup puts back the key files saved by RemovePassphrase (dir ""
// means the newest backup), then checks that the key needs its passphrase
// again.
func (c *Change) RestoreBackup(ctx context.Context, dir string) (*Result, error) {
	var err error
	if dir == "" {
		if dir, err = c.Keyring.NewestBackup(); err != nil {
			return nil, err
		}
	}
	saved, err := readBackup(dir)
	if err != nil {
		return nil, err
	}
	key, err := c.selectKey(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: key, Backup: dir, Changed: partsWith(key, gpg.Unprotected)}
	// The current, unprotected files are not backed up: a copy would leave
	// the very secret this command exists to protect lying on disk. They
	// are only held in memory, to undo a failed restore.
	// The passphrase is not tried on the restored files: they are byte for
	// byte those it unlocked before it was removed, and unlocking an
	// imported key lets gpg-agent rewrite its file.
	before, err := c.Keyring.takeSnapshot(sortedNames(saved))
	if err != nil {
		return nil, err
	}
	return res, c.transaction(ctx, before, res, false, func(snapshot) error {
		return c.Keyring.rollback(saved)
	}, c.verifyNeedsPassphrase(nil))
}

// transaction backs up the snapshot of the files it may change when asked, applies the change and verifies it; on any failure it writes the
// snapshot back so the keyring is byte-identical to before.
func (c *Change) transaction(ctx context.Context, before snapshot, res *Result, backup bool,
	apply func(snapshot) error, verify verifier) error {
	var err error
	if backup {
		if res.Backup, err = c.Keyring.writeBackup(before, c.now()); err != nil {
			return err
		}
	}
	if err := apply(before); err != nil {
		return c.undo(before, err)
	}
	if err := verify(ctx, res); err != nil {
		return c.undo(before, err)
	}
	return nil
}

// undo restores the snapshot after a failure and says so in the error.
func (c *Change) undo(before snapshot, cause error) error {
	if err := c.Keyring.rollback(before); err != nil {
		return errors.Join(cause, problem.Wrap(err, problem.LocalIO, c.Keyring.Path,
			"putting the keyring back after the failure also failed",
			"copy the files of the backup printed above back into the GnuPG home"))
	}
	return cause
}

func (c *Change) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// filesOf names the files that hold parts, relative to the home.
func (k *Keyring) filesOf(parts []gpg.KeyPart) []string {
	if k.Format != GnuPG2 {
		return []string{secringName}
	}
	var names []string
	for _, p := range parts {
		if p.Keygrip != "" && p.Protection != gpg.Stub && p.Protection != gpg.SecretMissing {
			names = append(names, keyFileName(p.Keygrip))
		}
	}
	return names
}

func partsWith(key gpg.KeyInfo, protection gpg.Protection) []gpg.KeyPart {
	var parts []gpg.KeyPart
	for _, p := range key.Parts {
		if p.Protection == protection {
			parts = append(parts, p)
		}
	}
	return parts
}

// ask obtains the passphrase once; an empty one is no passphrase.
func (c *Change) ask(key gpg.KeyInfo) ([]byte, error) {
	if c.Passphrase == nil {
		return nil, errNoPassphrase(key)
	}
	passphrase, err := c.Passphrase(key)
	if err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, errNoPassphrase(key)
	}
	return passphrase, nil
}

func errNoPassphrase(key gpg.KeyInfo) *problem.Error {
	return problem.New(problem.PassphraseNeeded, key.String(), "this needs the key's passphrase and none was given",
		"give it with --passphrase-file FILE (only the passphrase in it) or in "+gpg.PassphraseEnv+
			", or run pgrescue on a terminal to be asked for it")
}

// checkPassphrase tries the passphrase on every protected part before
// anything is backed up or written, so a wrong one leaves no trace.
func (c *Change) checkPassphrase(ctx context.Context, key gpg.KeyInfo, parts []gpg.KeyPart, passphrase []byte) error {
	if c.Keyring.Format == GnuPG2 {
		for _, p := range parts {
			if err := c.Keyring.agentPasswd(ctx, p.Keygrip, passphrase, "PASSPHRASE", true); err != nil {
				return err
			}
		}
		return nil
	}
	current, err := c.Keyring.takeSnapshot([]string{secringName})
	if err != nil {
		return err
	}
	_, err = c.newSecring(key, current, unlockWith(passphrase, c.Keyring.Path))
	return err
}

func unlockWith(passphrase []byte, keyring string) func(*packet.PrivateKey) error {
	return func(priv *packet.PrivateKey) error {
		if priv.Encrypted && priv.Decrypt(passphrase) != nil {
			return errWrongPassphrase(keyring)
		}
		return nil
	}
}

func (c *Change) removeProtection(ctx context.Context, key gpg.KeyInfo, parts []gpg.KeyPart, passphrase []byte, before snapshot) error {
	if c.Keyring.Format == GnuPG2 {
		return c.agentChange(ctx, parts, passphrase, "PASSPHRASE")
	}
	return c.rewriteSecring(key, before, unlockWith(passphrase, c.Keyring.Path))
}

func (c *Change) addProtection(ctx context.Context, key gpg.KeyInfo, parts []gpg.KeyPart, passphrase []byte, before snapshot) error {
	if c.Keyring.Format == GnuPG2 {
		return c.agentChange(ctx, parts, passphrase, "NEW_PASSPHRASE")
	}
	return c.rewriteSecring(key, before, func(priv *packet.PrivateKey) error {
		if priv.Encrypted {
			return nil
		}
		return priv.Encrypt(passphrase)
	})
}

// agentChange changes each part through gpg-agent.
func (c *Change) agentChange(ctx context.Context, parts []gpg.KeyPart, passphrase []byte, inquiry string) error {
	for _, p := range parts {
		if err := c.Keyring.agentPasswd(ctx, p.Keygrip, passphrase, inquiry, false); err != nil {
			return err
		}
	}
	return nil
}

// rewriteSecring changes the key's packets in memory, and only when every
// one succeeded replaces secring.gpg, atomically, keeping mode and owner.
func (c *Change) rewriteSecring(key gpg.KeyInfo, before snapshot, change func(*packet.PrivateKey) error) error {
	data, err := c.newSecring(key, before, change)
	if err != nil {
		return err
	}
	old := before[secringName]
	return writeAtomic(filepath.Join(c.Keyring.Path, secringName), data, old.mode, old.uid, old.gid)
}

func (c *Change) newSecring(key gpg.KeyInfo, before snapshot, change func(*packet.PrivateKey) error) ([]byte, error) {
	data, err := rewriteSecring(before[secringName].data, key.KeyID, change)
	if err != nil {
		var pe *problem.Error
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, problem.Wrap(err, problem.BadKey, filepath.Join(c.Keyring.Path, secringName),
			"cannot rewrite secring.gpg", "use `gpg --edit-key` as the runbook describes (see --dry-run); nothing was changed")
	}
	return data, nil
}

// selectKey picks the key to change: the one named by Key, or the one the
// object is encrypted to, or the keyring's only key.
func (c *Change) selectKey(ctx context.Context) (gpg.KeyInfo, error) {
	keys, err := c.Keyring.SecretKeys(ctx)
	if err != nil {
		return gpg.KeyInfo{}, err
	}
	if c.Key != "" {
		return c.namedKey(keys)
	}
	if recipients, _ := Recipients(c.Object, c.ObjectName); len(recipients) > 0 {
		for _, id := range recipients {
			if m, ok := FindPart(keys, id); ok {
				return m.Key, nil
			}
		}
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	return gpg.KeyInfo{}, errChooseKey(c.Keyring.Path, keys, "the keyring holds several secret keys")
}

func (c *Change) namedKey(keys []gpg.KeyInfo) (gpg.KeyInfo, error) {
	matches := MatchKeyID(keys, c.Key)
	switch len(matches) {
	case 1:
		return matches[0].Key, nil
	case 0:
		return gpg.KeyInfo{}, errChooseKey(c.Keyring.Path, keys, fmt.Sprintf("no secret key matches --key %s", c.Key))
	}
	return gpg.KeyInfo{}, errChooseKey(c.Keyring.Path, keys, fmt.Sprintf("several secret keys match --key %s", c.Key))
}

func errChooseKey(path string, keys []gpg.KeyInfo, why string) *problem.Error {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Fingerprint + " " + k.String()
	}
	e := problem.New(problem.Usage, path, why, "name the key with --key FINGERPRINT (WALE_GPG_KEY_ID names the archive's key)")
	e.Detail = "secret keys: " + strings.Join(names, "; ")
	if len(keys) == 0 {
		e.Detail = "it holds no secret key"
	}
	return e
}
