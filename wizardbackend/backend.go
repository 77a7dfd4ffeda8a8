// Package wizardbackend carries out what the wizard's flows ask, with the
// same engines and the same session set-up as the commands: it implements
// ui.WALEBackend and ui.GPGBackend. It opens the archive once per envdir
// and holds a passphrase unlocked in the GPG step in memory only, for this
// process's restore.
package wizardbackend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/restore/prefetch"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
	"pgrescue/restore/walinspect"
	"pgrescue/session"
	"pgrescue/shellcmd"
	"pgrescue/ui"
	"pgrescue/walesettings"
)

// Backend is the wizard's backend for the WAL-E and GPG flows.
type Backend struct {
	session *session.Session
	journal *journal.Journal // told every secret, so no record can carry one
	// ReplayAtLeast makes the replay last at least this long (the demo's,
	// so a trainee sees it); 0 replays as fast as it can.
	ReplayAtLeast time.Duration

	mu         sync.Mutex
	openedFor  string // the envdir the archive was opened with
	archive    *wale.Archive
	settings   *walesettings.Settings
	passphrase []byte // from the GPG step; never written anywhere
}

// New is the backend over the session's settings; secrets it meets are
// added to the session journal's redactions.
func New(s *session.Session) *Backend { return &Backend{session: s, journal: s.Journal} }

// open returns the archive for req, opening it the first time.
func (b *Backend) open(ctx context.Context, envdir string) (*wale.Archive, *walesettings.Settings, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sess := b.session.WithEnvdir(envdir)
	if b.archive != nil && b.openedFor == sess.Flags.Envdir {
		return b.archive, b.settings, nil
	}
	s, err := sess.Settings()
	if err != nil {
		return nil, nil, err
	}
	for _, name := range walesettings.Known {
		if walesettings.IsSecret(name) {
			b.journal.AddSecret(s.Get(name))
		}
	}
	store, err := session.OpenStore(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	keys, err := b.loadKeys(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	b.archive, b.settings, b.openedFor = wale.NewArchive(store, keys), s, sess.Flags.Envdir
	return b.archive, s, nil
}

// loadKeys is session.LoadKeys without a terminal prompt: the wizard owns the
// terminal, so a passphrase comes from the GPG step, a file or the
// environment, and a missing one is an error that leads to the GPG step.
func (b *Backend) loadKeys(ctx context.Context, s *walesettings.Settings) (*gpg.Keys, error) {
	return session.LoadKeysWith(ctx, s, b.passphraseSource(s))
}

func (b *Backend) passphraseSource(s *walesettings.Settings) gpg.PassphraseFunc {
	if b.passphrase != nil {
		held := b.passphrase
		return func(gpg.KeyInfo) ([]byte, error) { return bytes.Clone(held), nil }
	}
	return session.ConfiguredPassphrase(s)
}

// options turns the wizard's request into the engine's options.
func (b *Backend) options(req ui.WALERequest, archive *wale.Archive, s *walesettings.Settings) (walerestore.Options, error) {
	opts := walerestore.Options{
		Archive: archive, Keys: session.KeySource(s), PGData: req.PGData, Backup: req.Backup,
		Target: req.Target, MoveAside: req.MoveAside, Workers: 4,
	}
	err := b.session.WithEnvdir(req.Envdir).ReplayOptions(&opts.Replay, req.Cluster)
	opts.Replay.Prefetch = prefetch.DefaultAhead // always: only this process holds the unlocked key
	opts.Replay.MinDuration = b.ReplayAtLeast
	return opts, err
}

func (b *Backend) Preflight(ctx context.Context, req ui.WALERequest, report func(walerestore.Check)) *walerestore.Report {
	archive, s, err := b.open(ctx, req.Envdir)
	if err != nil {
		return walerestore.Preflight(ctx, walerestore.Options{PGData: req.PGData}, walerestore.Resolved{Err: err}, report)
	}
	opts, err := b.options(req, archive, s)
	return walerestore.Preflight(ctx, opts, walerestore.ResolvedFrom(s, err), report)
}

func (b *Backend) Plan(ctx context.Context, req ui.WALERequest, checked *walerestore.Report) (*walerestore.Plan, error) {
	archive, s, err := b.open(ctx, req.Envdir)
	if err != nil {
		return nil, err
	}
	opts, err := b.options(req, archive, s)
	if err != nil {
		return nil, err
	}
	rep := walerestore.Recheck(ctx, opts, walerestore.ResolvedFrom(s, nil), checked)
	return walerestore.NewPlan(ctx, opts, rep)
}

func (b *Backend) Run(ctx context.Context, plan *walerestore.Plan, report func(walerestore.Event)) (*walerestore.Result, error) {
	return plan.Run(ctx, report)
}

// Stop stops the server a restore left running, so the engineer can
// restore again; the data directory stays as it is, to be moved aside.
func (b *Backend) Stop(ctx context.Context, res *walerestore.Result) error {
	if res == nil || res.Replay == nil || res.Replay.Server == nil {
		return nil
	}
	return res.Replay.Server.Stop(ctx, "fast")
}

func (b *Backend) KeyStatus(ctx context.Context, req ui.GPGRequest) (ui.KeyStatus, error) {
	archive, s, err := b.open(ctx, req.Envdir)
	if err != nil {
		return ui.KeyStatus{}, err
	}
	src := session.KeySource(s)
	st := ui.KeyStatus{Where: src.Where, Unlocked: b.unlocked()}
	if st.Where == "" {
		st.Where = "no key file and no keyring at " + keyring.DefaultHome(s.Get(walesettings.GNUPGHome))
	}
	k, err := walerestore.FindArchiveKey(ctx, archive, src)
	if err != nil || !k.Encrypted() {
		return st, err
	}
	st.Encrypted, st.Recipient = true, fmt.Sprintf("0x%016X", k.Recipients[0])
	if k.Held != nil {
		st.Key, st.Protected = k.Held.Key.String(), k.Protected()
	}
	st.CanRemove = s.Get(walesettings.GPGKeyFile) == "" && st.Key != ""
	return st, nil
}

func (b *Backend) unlocked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.passphrase != nil
}

// Unlock proves the passphrase by decrypting an archived object with a
// fresh copy of the keys, then keeps it: keys that met a wrong passphrase
// stay locked, so the archive's keys are replaced only on success.
func (b *Backend) Unlock(ctx context.Context, req ui.GPGRequest, passphrase []byte) error {
	archive, s, err := b.open(ctx, req.Envdir)
	if err != nil {
		return err
	}
	data, uri, why, err := archive.SampleSegment(ctx)
	if err != nil {
		return err
	}
	if data == nil {
		return problem.New(problem.Config, "WALE_S3_PREFIX", "cannot check the passphrase: "+why, "check the archive settings")
	}
	b.journal.AddSecret(string(passphrase))
	held := bytes.Clone(passphrase)
	trial := &Backend{session: b.session, passphrase: held}
	keys, err := trial.loadKeys(ctx, s)
	if err != nil {
		clear(held)
		return err
	}
	if err := decryptAll(keys, data, uri); err != nil {
		clear(held)
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.passphrase)
	b.passphrase = held
	archive.Keys = keys
	return nil
}

func decryptAll(keys *gpg.Keys, data []byte, uri string) error {
	r, err := keys.Decrypt(bytes.NewReader(data), uri)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, r)
	return err
}

// change is the keyring change the GPG step asks for, prepared as
// `pgrescue gpg remove-passphrase` prepares it: the keyring WAL-E uses,
// verified on an archived object.
func (b *Backend) change(ctx context.Context, req ui.GPGRequest) (*keyring.Change, error) {
	c, _, err := b.session.WithEnvdir(req.Envdir).PassphraseChange(ctx, "", "", "")
	return c, err
}

func (b *Backend) RemovePassphrase(ctx context.Context, req ui.GPGRequest, passphrase []byte) (*keyring.Result, error) {
	c, err := b.change(ctx, req)
	if err != nil {
		return nil, err
	}
	b.journal.AddSecret(string(passphrase))
	c.Passphrase = func(gpg.KeyInfo) ([]byte, error) { return bytes.Clone(passphrase), nil }
	res, err := c.RemovePassphrase(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.archive = nil // reload the keys, now without a passphrase
	b.mu.Unlock()
	return res, nil
}

func (b *Backend) RemovePassphraseCommands(ctx context.Context, req ui.GPGRequest) ([]shellcmd.Command, error) {
	c, err := b.change(ctx, req)
	if err != nil {
		return nil, err
	}
	return c.RemoveCommands(ctx)
}

// Inspect reads the WAL of one backup's window with the archive already
// opened for the envdir: the wizard's "find the moment", as
// pgrescue wal-inspect does it.
func (b *Backend) Inspect(ctx context.Context, req ui.WALERequest, backup string, report func(walinspect.Event)) (*walinspect.Inspection, error) {
	archive, _, err := b.open(ctx, req.Envdir)
	if err != nil {
		return nil, err
	}
	if backup == "" {
		backup = "LATEST"
	}
	in, _, err := walinspect.InspectBackup(ctx, archive, backup, walinspect.Request{}, report)
	return in, err
}

// ScoutNames names the relations from the backup's own catalog, as
// pgrescue wal-inspect --scout does, with the replay settings a restore
// of this archive would use.
func (b *Backend) ScoutNames(ctx context.Context, req ui.WALERequest, backup string, report func(walinspect.ScoutStep)) (*walinspect.Names, error) {
	archive, _, err := b.open(ctx, req.Envdir)
	if err != nil {
		return nil, err
	}
	opts := replay.Options{Prefetch: prefetch.DefaultAhead}                           // only this process holds the unlocked key
	if err := b.session.WithEnvdir(req.Envdir).ReplayOptions(&opts, ""); err != nil { // the scout's server is its own
		return nil, err
	}
	return walinspect.Scout{Archive: archive, Backup: backup, Replay: opts}.Names(ctx, report)
}
