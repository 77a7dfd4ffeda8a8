package session

import (
	"context"
	"os"

	"pgrescue/gpg/keyring"
	"pgrescue/problem"
	"pgrescue/restore/wale"
	"pgrescue/walesettings"
)

// GPGHome is what every GPG step starts from: the keyring WAL-E uses (or a
// key file) and an archived object to check a key against.
type GPGHome struct {
	Settings   *walesettings.Settings
	Keyring    *keyring.Keyring
	Object     []byte // nil when no archived object is at hand
	ObjectName string // the object's S3 URI or file
	NoObject   string // why there is no object
}

// OpenGPG opens the GnuPG home at homedir, else the key file given, else
// the home WAL-E would use (GNUPGHOME, ~postgres/.gnupg), with objectFile
// or else the archive's smallest WAL segment to check keys against.
func (s *Session) OpenGPG(ctx context.Context, homedir, objectFile string) (*GPGHome, error) {
	st, err := s.Settings()
	if err != nil {
		return nil, err
	}
	path := homedir
	if path == "" {
		path = st.Get(walesettings.GPGKeyFile)
	}
	if path == "" {
		path = keyring.DefaultHome(st.Get(walesettings.GNUPGHome))
	}
	k, err := keyring.Open(path)
	if err != nil {
		return nil, err
	}
	h := &GPGHome{Settings: st, Keyring: k}
	h.Object, h.ObjectName, h.NoObject, err = sampleObject(ctx, st, objectFile)
	return h, err
}

// sampleObject reads the --object file, or the archive's smallest WAL
// segment: small to download, and encrypted like every other object.
func sampleObject(ctx context.Context, s *walesettings.Settings, file string) (data []byte, name, why string, err error) {
	if file != "" {
		data, err = os.ReadFile(file)
		if err != nil {
			return nil, "", "", problem.Wrap(err, problem.LocalIO, file, "cannot read the archived object", "check the path given to --object")
		}
		return data, file, "", nil
	}
	if s.Get(walesettings.S3Prefix) == "" {
		return nil, "", "no archive is configured (WALE_S3_PREFIX) and no --object FILE was given", nil
	}
	store, err := OpenStore(ctx, s) // no keys: only the recipient is read
	if err != nil {
		return nil, "", "", err
	}
	return wale.NewArchive(store, nil).SampleSegment(ctx)
}

// PassphraseChange prepares a change of key's passphrase in the GnuPG home
// (OpenGPG's), verified on the archived object when one is at hand; a key
// file cannot be changed in place, since WAL-E's gpg does not read it.
func (s *Session) PassphraseChange(ctx context.Context, homedir, objectFile, key string) (*keyring.Change, *GPGHome, error) {
	h, err := s.OpenGPG(ctx, homedir, objectFile)
	if err != nil {
		return nil, nil, err
	}
	if h.Keyring.Format == keyring.KeyFile {
		return nil, nil, problem.New(problem.Usage, h.Keyring.Path, "a key file is not a keyring WAL-E uses",
			"name the GnuPG home of the user who runs WAL-E with --homedir DIR; pgrescue decrypts with a protected key file as it is")
	}
	// Without an archived object the change is verified with a message
	// encrypted to the key itself: the runbook's step needs no S3.
	return &keyring.Change{Keyring: h.Keyring, Key: key, Object: h.Object, ObjectName: h.ObjectName}, h, nil
}
