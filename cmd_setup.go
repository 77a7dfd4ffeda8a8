package main

import (
	"context"
	"os"

	"golang.org/x/term"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/restore/wale"
	"pgrescue/storage/s3store"
	"pgrescue/walesettings"
)

const defaultEnvdirNote = walesettings.DefaultEnvdir + " when it exists"

// settings resolves flags > environment > envdir.
func (a *app) settings() (*walesettings.Settings, error) {
	flags := map[string]walesettings.FlagValue{}
	set := func(name, flag, value string) {
		if value != "" {
			flags[name] = walesettings.FlagValue{Flag: "--" + flag, Value: value}
		}
	}
	set(walesettings.S3Prefix, "s3-prefix", a.s3Prefix)
	set(walesettings.Region, "aws-region", a.region)
	set(walesettings.S3Endpoint, "s3-endpoint", a.endpoint)
	set(walesettings.AccessKeyID, "aws-access-key-id", a.accessKeyID)
	set(walesettings.GPGKeyID, "gpg-key-id", a.gpgKeyID)
	set(walesettings.GPGKeyFile, "gpg-key", a.gpgKey)
	set(walesettings.GPGPassFile, "gpg-passphrase-file", a.passphraseFile)
	return walesettings.Resolve(walesettings.Sources{Envdir: a.envdir, EnvdirExplicit: a.envdir != "", Flags: flags})
}

// openArchive connects to the archive the settings name, with the secret key
// when one was given.
func (a *app) openArchive(ctx context.Context) (*wale.Archive, *walesettings.Settings, error) {
	s, err := a.settings()
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	keys, err := loadKeys(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	return wale.NewArchive(store, keys), s, nil
}

// openStore connects to the S3 location the settings name.
func openStore(ctx context.Context, s *walesettings.Settings) (*s3store.Store, error) {
	loc, opts, err := s.S3()
	if err != nil {
		return nil, err
	}
	return s3store.New(ctx, loc, opts)
}

// loadKeys reads the secret key file, or else the GnuPG keyring WAL-E would
// use (GNUPGHOME, or the postgres user's ~/.gnupg), and decides where a
// passphrase would come from: a file, the environment, or a masked prompt.
func loadKeys(ctx context.Context, s *walesettings.Settings) (*gpg.Keys, error) {
	return loadKeysWith(ctx, s, passphraseSource(s))
}

// loadKeysWith loads the keys with passphrase as their passphrase source.
// No keyring is not an error: an unencrypted archive needs none, and an
// encrypted object then reports the missing key with the next step.
func loadKeysWith(ctx context.Context, s *walesettings.Settings, passphrase gpg.PassphraseFunc) (*gpg.Keys, error) {
	if path := s.Get(walesettings.GPGKeyFile); path != "" {
		keys, err := gpg.LoadKeyFile(path)
		if err != nil {
			return nil, err
		}
		keys.SetPassphrase(passphrase)
		return keys, nil
	}
	k, err := keyring.Open(keyring.DefaultHome(s.Get(walesettings.GNUPGHome)))
	if err != nil {
		return nil, nil
	}
	if k.Format == keyring.GnuPG2 {
		// Exporting a protected key from gpg-agent needs its passphrase:
		// only ask when an object is actually decrypted.
		return gpg.LazyKeys(func() (*gpg.Keys, error) { return k.LoadKeys(ctx, passphrase) }), nil
	}
	keys, err := k.LoadKeys(ctx, passphrase)
	if err != nil {
		return nil, err
	}
	keys.SetPassphrase(passphrase)
	return keys, nil
}

// passphraseSource is the configured passphrase, else a masked prompt on
// the terminal when there is one.
func passphraseSource(s *walesettings.Settings) gpg.PassphraseFunc {
	if configured := configuredPassphrase(s); configured != nil {
		return configured
	}
	if tty, err := os.Open("/dev/tty"); err == nil {
		interactive := term.IsTerminal(int(tty.Fd()))
		tty.Close()
		if interactive {
			return gpg.PromptPassphrase("/dev/tty")
		}
	}
	return nil
}

// configuredPassphrase is the passphrase from --gpg-passphrase-file or
// PGRESCUE_GPG_PASSPHRASE; nil when neither is set.
func configuredPassphrase(s *walesettings.Settings) gpg.PassphraseFunc {
	if file := s.Get(walesettings.GPGPassFile); file != "" {
		return gpg.PassphraseFromFile(file)
	}
	if v, ok := s.Lookup(walesettings.GPGPassphrase); ok && v.Value != "" {
		return func(gpg.KeyInfo) ([]byte, error) { return []byte(v.Value), nil }
	}
	return nil
}

// stderrIsTerminal decides between a rewriting progress line and log lines.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
