package keyring

import (
	"bytes"
	"context"
	"io"
	"path/filepath"

	"pgrescue/gpg"
	"pgrescue/problem"
)

// verifier checks a change after it was applied, and records how in res.
type verifier func(ctx context.Context, res *Result) error

// testMessage is what a change is verified with when no archived object is
// at hand (the runbook's step needs no S3): a message encrypted to the key
// itself, with its public part, which needs no passphrase.
const testMessage = "pgrescue: this message checks a change of the key's passphrase\n"

// ensureObject gives the change something to decrypt: the archived object,
// else a test message encrypted to key now.
func (c *Change) ensureObject(ctx context.Context, key gpg.KeyInfo) error {
	if c.Object != nil {
		return nil
	}
	r, err := c.Keyring.Recipient(ctx, key.Fingerprint)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w, err := r.Encrypt(&buf)
	if err == nil {
		_, err = io.WriteString(w, testMessage)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return errVerify(c.Keyring.Path, "cannot encrypt a test message to key "+key.String()+": "+err.Error())
	}
	c.Object, c.ObjectName = buf.Bytes(), "a test message encrypted to key "+key.String()+" (no archived object was at hand)"
	return nil
}

// verifyNoPassphrase proves what WAL-E needs: the archived object (or a
// test message encrypted to the key) decrypts with the keyring and no
// passphrase at all.
func (c *Change) verifyNoPassphrase(ctx context.Context, res *Result) error {
	key, err := c.relist(ctx, res.Key)
	if err != nil {
		return err
	}
	if still := partsWith(key, gpg.Protected); len(still) > 0 {
		return errVerify(c.Keyring.Path, "the key is still protected after removing its passphrase: "+describeParts(still))
	}
	if err := c.ensureObject(ctx, key); err != nil {
		return err
	}
	if err := c.decrypt(ctx, nil); err != nil {
		return errVerify(c.ObjectName, "the archived object does not decrypt without a passphrase: "+err.Error())
	}
	res.Verified = "decrypted " + c.ObjectName + " with " + c.decrypter() + " and no passphrase"
	return nil
}

// verifyNeedsPassphrase proves the protection is back: without a passphrase
// the object no longer decrypts, and with it (when at hand) it does.
func (c *Change) verifyNeedsPassphrase(passphrase []byte) verifier {
	return func(ctx context.Context, res *Result) error {
		key, err := c.relist(ctx, res.Key)
		if err != nil {
			return err
		}
		for _, p := range key.Parts {
			if p.Encrypt && p.Protection == gpg.Unprotected {
				return errVerify(c.Keyring.Path, "the encryption key "+p.LongID()+" is still unprotected")
			}
		}
		if err := c.ensureObject(ctx, key); err != nil {
			return err
		}
		if err := c.decrypt(ctx, nil); err == nil {
			return errVerify(c.ObjectName, "the archived object still decrypts without a passphrase")
		}
		res.Verified = c.ObjectName + " no longer decrypts without a passphrase (" + c.decrypter() + ")"
		if passphrase == nil {
			return nil
		}
		if err := c.decrypt(ctx, passphrase); err != nil {
			return errVerify(c.ObjectName, "the archived object does not decrypt with the passphrase: "+err.Error())
		}
		res.Verified += ", and decrypts with it"
		return nil
	}
}

func (c *Change) relist(ctx context.Context, before gpg.KeyInfo) (gpg.KeyInfo, error) {
	keys, err := c.Keyring.SecretKeys(ctx)
	if err != nil {
		return gpg.KeyInfo{}, err
	}
	m, ok := FindPart(keys, before.KeyID)
	if !ok {
		return gpg.KeyInfo{}, errVerify(c.Keyring.Path, "key "+before.String()+" is no longer in the keyring")
	}
	return m.Key, nil
}

func (c *Change) decrypter() string {
	if c.Keyring.Format == GnuPG2 {
		return "`gpg --batch --decrypt`, as WAL-E runs it"
	}
	return "secring.gpg read as GnuPG 1 reads it"
}

// decrypt opens the object with the keyring, with passphrase or none. A
// GnuPG 2 home is tested with its own gpg, whose agent caches passphrases:
// the cache is cleared around the attempt so it proves what is on disk.
func (c *Change) decrypt(ctx context.Context, passphrase []byte) error {
	if c.Keyring.Format == GnuPG2 {
		parts := c.allParts(ctx)
		c.Keyring.clearAgentCache(ctx, parts)
		defer c.Keyring.clearAgentCache(ctx, parts)
		return c.Keyring.gpgDecrypt(ctx, c.Object, passphrase)
	}
	keys, err := gpg.LoadKeyFile(filepath.Join(c.Keyring.Path, secringName))
	if err != nil {
		return err
	}
	if passphrase != nil {
		keys.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) { return bytes.Clone(passphrase), nil })
	}
	plain, err := keys.Decrypt(bytes.NewReader(c.Object), c.ObjectName)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, plain)
	return err
}

func (c *Change) allParts(ctx context.Context) []gpg.KeyPart {
	keys, _ := c.Keyring.SecretKeys(ctx)
	var parts []gpg.KeyPart
	for _, k := range keys {
		parts = append(parts, k.Parts...)
	}
	return parts
}

func errVerify(subject, why string) *problem.Error {
	e := problem.New(problem.LocalIO, subject, "the change could not be verified, so it was undone",
		"the keyring is as it was before; follow the runbook by hand (see --dry-run for the commands)")
	e.Detail = why
	return e
}
