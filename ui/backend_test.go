package ui

import (
	"bytes"
	"context"
	"flag"
	"os"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
	"pgrescue/restore/walinspect"
	"pgrescue/shellcmd"
)

func TestMain(m *testing.M) {
	flag.Parse()
	time.Local = time.UTC // screens show local times: make them the same everywhere
	os.Exit(m.Run())
}

// fixtureBackend is the wizard's backend over the real engines and the real
// WAL-E fixture archive (served by an in-process S3). Run is not used by
// model tests: they feed the engine's events to the run screen directly.
type fixtureBackend struct {
	archive  *wale.Archive
	keys     *gpg.Keys // the fixture's keys, for Inspect: it decrypts the WAL
	keyFile  string
	where    string // how screens name the key file: the same on every machine
	unlocked bool
	stopped  int // restored servers stopped for another try
	// scoutHold makes ScoutNames wait after its second step until ctx is
	// done; scoutErr is its failure.
	scoutHold bool
	scoutErr  error
}

func newFixtureBackend(t *testing.T) *fixtureBackend {
	archive, _ := walefixture.Open(t)
	keys := archive.Keys
	archive.Keys = nil // locked until the GPG step unlocks it
	return &fixtureBackend{archive: archive, keys: keys, keyFile: walefixture.Path(t, "gpg-secret-protected.asc"), where: "key file testdata/wale-pg15/gpg-secret-protected.asc"}
}

func (b *fixtureBackend) options(req WALERequest) walerestore.Options {
	return walerestore.Options{
		Archive: b.archive, PGData: req.PGData, Backup: req.Backup, Target: req.Target, MoveAside: req.MoveAside,
		Keys: walerestore.KeySource{Where: b.where, List: func(context.Context) ([]gpg.KeyInfo, error) {
			keys, err := gpg.LoadKeyFile(b.keyFile)
			if err != nil {
				return nil, err
			}
			return keys.Describe(), nil
		}},
	}
}

var fixtureConfig = walerestore.Resolved{Detail: "WALE_S3_PREFIX=" + walefixture.Prefix + " (from envdir /etc/wal-e/env.d/WALE_S3_PREFIX)"}

func (b *fixtureBackend) Preflight(ctx context.Context, req WALERequest, report func(walerestore.Check)) *walerestore.Report {
	return walerestore.Preflight(ctx, b.options(req), fixtureConfig, report)
}

func (b *fixtureBackend) Plan(ctx context.Context, req WALERequest, checked *walerestore.Report) (*walerestore.Plan, error) {
	opts := b.options(req)
	opts.Replay.WALFetch = []string{"/usr/local/bin/pgrescue", "--envdir", "/etc/wal-e/env.d"}
	return walerestore.NewPlan(ctx, opts, walerestore.Recheck(ctx, opts, fixtureConfig, checked))
}

// Run restores nothing: model tests feed the run screen's events
// directly; a run started by the keys ends at once with this error.
func (b *fixtureBackend) Run(context.Context, *walerestore.Plan, func(walerestore.Event)) (*walerestore.Result, error) {
	return nil, problem.New(problem.Usage, "test", "model tests do not run restores", "")
}

// Inspect reads the fixture archive's WAL with the real engine and the
// installed pg_waldump, showing every transaction that changed a row.
func (b *fixtureBackend) Inspect(ctx context.Context, req WALERequest, backup string, report func(walinspect.Event)) (*walinspect.Inspection, error) {
	archive := *b.archive
	archive.Keys = b.keys
	in, _, err := walinspect.InspectBackup(ctx, &archive, backup, walinspect.Request{Options: walinspect.Options{MinRows: 1}}, report)
	return in, err
}

// ScoutNames gives the names the real scout reads from the fixture's base
// backup (TestWizardNamesTheMomentFromTheBackup runs it through the binary
// with PostgreSQL; ui tests start no server), after its steps.
func (b *fixtureBackend) ScoutNames(ctx context.Context, req WALERequest, backup string, report func(walinspect.ScoutStep)) (*walinspect.Names, error) {
	report(walinspect.ScoutFetch)
	report(walinspect.ScoutRecover)
	if b.scoutHold {
		<-ctx.Done()
		report(walinspect.ScoutStop)
		return nil, ctx.Err()
	}
	report(walinspect.ScoutRead)
	report(walinspect.ScoutStop)
	if b.scoutErr != nil {
		return nil, b.scoutErr
	}
	return &walinspect.Names{Source: "the base backup " + backup + " (restored to a scratch copy)",
		Databases: map[uint32]string{16384: "fixturedb"}, Files: map[walinspect.RelFile]string{{Tablespace: 1663, Database: 16384, Node: 16386}: "public.events"}}, nil
}

// Stop records that the restored server was asked to stop.
func (b *fixtureBackend) Stop(context.Context, *walerestore.Result) error {
	b.stopped++
	return nil
}

func (b *fixtureBackend) KeyStatus(ctx context.Context, req GPGRequest) (KeyStatus, error) {
	return KeyStatus{Where: b.where, Recipient: "0xEC57899CFCBA07F4", Encrypted: true,
		Key: `0x97431D9C5CEB8FBF "WAL-E fixture <wale-fixture@example.invalid>"`, Protected: true, Unlocked: b.unlocked, CanRemove: true}, nil
}

// Unlock checks the passphrase for real: it decrypts an archived object.
func (b *fixtureBackend) Unlock(ctx context.Context, req GPGRequest, passphrase []byte) error {
	data, err := os.ReadFile(b.keyFile)
	if err != nil {
		return err
	}
	// Named as on every machine: errors quoting the source appear on screen.
	keys, err := gpg.LoadKeys(bytes.NewReader(data), "testdata/wale-pg15/gpg-secret-protected.asc")
	if err != nil {
		return err
	}
	held := append([]byte(nil), passphrase...)
	keys.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) { return append([]byte(nil), held...), nil })
	data, uri, _, err := b.archive.SampleSegment(ctx)
	if err != nil {
		return err
	}
	if _, err := keys.Decrypt(bytesReader(data), uri); err != nil {
		return err
	}
	b.unlocked = true
	return nil
}

func (b *fixtureBackend) RemovePassphrase(context.Context, GPGRequest, []byte) (*keyring.Result, error) {
	return nil, problem.New(problem.Usage, "test", "model tests do not change keyrings", "")
}

func (b *fixtureBackend) RemovePassphraseCommands(context.Context, GPGRequest) ([]shellcmd.Command, error) {
	return []shellcmd.Command{{Why: "see the key's id", Line: "sudo cat /etc/wal-e/env.d/WALE_GPG_KEY_ID"}}, nil
}

// drive runs a command as Bubble Tea would and feeds its messages back
// until nothing is left to do; a quit ends it.
func drive(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	runCommands(m, cmd)
}

// press sends keys ("enter", "down", or text to type) and runs what they start.
func press(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		drive(t, m, cmd)
	}
}

func typeText(t *testing.T, m *Model, text string) {
	t.Helper()
	for _, r := range text {
		_, cmd := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		drive(t, m, cmd)
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
