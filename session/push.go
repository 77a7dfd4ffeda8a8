package session

import (
	"context"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/problem"
	"pgrescue/restore/wale"
	"pgrescue/walesettings"
)

// PushArchive opens the archive for writing: objects are encrypted to
// WALE_GPG_KEY_ID when it is set, as WAL-E does, found in the key file
// given or in the keyring WAL-E would use.
func (s *Session) PushArchive(ctx context.Context) (*wale.Archive, error) {
	st, err := s.Settings()
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, st)
	if err != nil {
		return nil, err
	}
	archive := wale.NewArchive(store, nil)
	keyID := st.Get(walesettings.GPGKeyID)
	if keyID == "" {
		return archive, nil
	}
	archive.Recipient, err = recipient(ctx, st, keyID)
	return archive, err
}

func recipient(ctx context.Context, s *walesettings.Settings, keyID string) (*gpg.Recipient, error) {
	if path := s.Get(walesettings.GPGKeyFile); path != "" {
		return gpg.LoadRecipient(path, keyID)
	}
	k, err := keyring.Open(keyring.DefaultHome(s.Get(walesettings.GNUPGHome)))
	if err != nil {
		return nil, problem.Wrap(err, problem.KeyMissing, "WALE_GPG_KEY_ID "+keyID, "WALE_GPG_KEY_ID is set but no key to encrypt to was found",
			"give --gpg-key FILE (the public key is enough), or run as the user whose keyring holds it")
	}
	return k.Recipient(ctx, keyID)
}
