// Package session is the set-up every pgrescue command and the wizard
// share, built once from the global flags: the WAL-E settings they resolve
// to (envdir, environment, flags), the archive in S3, the keys that decrypt
// it and where a passphrase comes from, the GnuPG home WAL-E uses, and the
// journal. The commands (package cli) and the wizard's backends (package
// wizardbackend) both start from a Session, so a restore reads the same
// settings whichever front-end runs it.
package session

import (
	"context"
	"os"

	"golang.org/x/term"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/journal"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
	"pgrescue/storage/s3store"
	"pgrescue/walesettings"
)

// Flags are the global flags as given on the command line; "" is unset.
type Flags struct {
	Envdir         string
	S3Prefix       string
	Region         string
	Endpoint       string
	AccessKeyID    string
	GPGKeyID       string
	GPGKey         string
	PassphraseFile string
}

// Session is one run's set-up. It holds no connection: each step opens
// what it needs from the same settings.
type Session struct {
	Flags Flags
	// Journal records the session for the incident review (the wizard's;
	// nil for a command): every secret the set-up meets is added to its
	// redactions, so no record can carry one.
	Journal *journal.Journal
}

// New is the session the flags describe.
func New(f Flags) *Session { return &Session{Flags: f} }

// WithEnvdir is the session reading envdir when no --envdir flag named one
// (the wizard's application config may name it). restore_command's child
// process is given the same envdir, so it reads the same settings.
func (s *Session) WithEnvdir(envdir string) *Session {
	c := *s
	if c.Flags.Envdir == "" && envdir != "" {
		c.Flags.Envdir = envdir
	}
	return &c
}

// Settings resolves the WAL-E settings: flags > environment > envdir.
func (s *Session) Settings() (*walesettings.Settings, error) {
	flags := map[string]walesettings.FlagValue{}
	set := func(name, flag, value string) {
		if value != "" {
			flags[name] = walesettings.FlagValue{Flag: "--" + flag, Value: value}
		}
	}
	set(walesettings.S3Prefix, "s3-prefix", s.Flags.S3Prefix)
	set(walesettings.Region, "aws-region", s.Flags.Region)
	set(walesettings.S3Endpoint, "s3-endpoint", s.Flags.Endpoint)
	set(walesettings.AccessKeyID, "aws-access-key-id", s.Flags.AccessKeyID)
	set(walesettings.GPGKeyID, "gpg-key-id", s.Flags.GPGKeyID)
	set(walesettings.GPGKeyFile, "gpg-key", s.Flags.GPGKey)
	set(walesettings.GPGPassFile, "gpg-passphrase-file", s.Flags.PassphraseFile)
	return walesettings.Resolve(walesettings.Sources{Envdir: s.Flags.Envdir, EnvdirExplicit: s.Flags.Envdir != "", Flags: flags})
}

// OpenArchive connects to the archive the settings name, with the secret key
// when one was given.
func (s *Session) OpenArchive(ctx context.Context) (*wale.Archive, *walesettings.Settings, error) {
	st, err := s.Settings()
	if err != nil {
		return nil, nil, err
	}
	store, err := OpenStore(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	keys, err := LoadKeys(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	return wale.NewArchive(store, keys), st, nil
}

// OpenStore connects to the S3 location the settings name.
func OpenStore(ctx context.Context, s *walesettings.Settings) (*s3store.Store, error) {
	loc, opts, err := s.S3()
	if err != nil {
		return nil, err
	}
	return s3store.New(ctx, loc, opts)
}

// LoadKeys reads the secret key file, or else the GnuPG keyring WAL-E would
// use (GNUPGHOME, or the postgres user's ~/.gnupg), and decides where a
// passphrase would come from: a file, the environment, or a masked prompt.
func LoadKeys(ctx context.Context, s *walesettings.Settings) (*gpg.Keys, error) {
	return LoadKeysWith(ctx, s, PassphraseSource(s))
}

// LoadKeysWith loads the keys with passphrase as their passphrase source.
// No keyring is not an error: an unencrypted archive needs none, and an
// encrypted object then reports the missing key with the next step.
func LoadKeysWith(ctx context.Context, s *walesettings.Settings, passphrase gpg.PassphraseFunc) (*gpg.Keys, error) {
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

// PassphraseSource is the configured passphrase, else a masked prompt on
// the terminal when there is one.
func PassphraseSource(s *walesettings.Settings) gpg.PassphraseFunc {
	if configured := ConfiguredPassphrase(s); configured != nil {
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

// ConfiguredPassphrase is the passphrase from --gpg-passphrase-file or
// PGRESCUE_GPG_PASSPHRASE; nil when neither is set.
func ConfiguredPassphrase(s *walesettings.Settings) gpg.PassphraseFunc {
	if file := s.Get(walesettings.GPGPassFile); file != "" {
		return gpg.PassphraseFromFile(file)
	}
	if v, ok := s.Lookup(walesettings.GPGPassphrase); ok && v.Value != "" {
		return func(gpg.KeyInfo) ([]byte, error) { return []byte(v.Value), nil }
	}
	return nil
}

// KeySource lists the keys the archive can be decrypted with, without any
// passphrase: the key file given, or the keyring WAL-E would use.
func KeySource(s *walesettings.Settings) walerestore.KeySource {
	if path := s.Get(walesettings.GPGKeyFile); path != "" {
		return walerestore.KeySource{Where: "key file " + path, List: func(context.Context) ([]gpg.KeyInfo, error) {
			keys, err := gpg.LoadKeyFile(path)
			if err != nil {
				return nil, err
			}
			return keys.Describe(), nil
		}}
	}
	k, err := keyring.Open(keyring.DefaultHome(s.Get(walesettings.GNUPGHome)))
	if err != nil {
		return walerestore.KeySource{}
	}
	return walerestore.KeySource{Where: "keyring " + k.Path, List: k.SecretKeys}
}
