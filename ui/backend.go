package ui

import (
	"context"

	"pgrescue/gpg/keyring"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walerestore"
	"pgrescue/shellcmd"
)

// Request is what the wizard has gathered for a WAL-E restore.
type Request struct {
	App       string // the application, for the journal and the summary
	Envdir    string // WAL-E envdir; "" for the default (/etc/wal-e/env.d or flags)
	PGData    string
	Cluster   string // a Debian cluster VERSION/NAME to start, "" for plain pg_ctl
	Backup    string // a backup name; "" chooses the newest before the target
	Target    recovery.Target
	MoveAside bool
}

// KeyStatus is what the GPG step shows about the archive's key.
type KeyStatus struct {
	Where     string // the keyring or key file searched
	Key       string // the key the archive is encrypted to, as gpg names it; "" when not held
	Recipient string // the recipient key id read from an archived object
	Encrypted bool
	Protected bool
	Unlocked  bool // a passphrase is held in memory for this restore
	CanRemove bool // the key is in a GnuPG home whose passphrase pgrescue can remove
}

// Backend does the work the wizard asks for. main implements it over the
// engines (walerestore, gpg/keyring); the wizard holds no restore logic.
// Every method may be called from a goroutine of its own.
type Backend interface {
	Preflight(ctx context.Context, req Request, report func(walerestore.Check)) *walerestore.Report
	// Plan runs the preflight again for req (silently) and plans from it:
	// the engineer may have spent minutes on the earlier screens, and the
	// archive, the data directory or the server may have changed since.
	Plan(ctx context.Context, req Request) (*walerestore.Plan, error)
	Run(ctx context.Context, plan *walerestore.Plan, report func(walerestore.Event)) (*walerestore.Result, error)
	KeyStatus(ctx context.Context, req Request) (KeyStatus, error)
	// Unlock checks the passphrase by decrypting an archived object and
	// keeps it in memory for this restore only.
	Unlock(ctx context.Context, req Request, passphrase []byte) error
	RemovePassphrase(ctx context.Context, req Request, passphrase []byte) (*keyring.Result, error)
	RemovePassphraseCommands(ctx context.Context, req Request) ([]shellcmd.Command, error)
}
