package ui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/recovery"
	"pgrescue/restore/walerestore"
	"pgrescue/restore/walinspect"
)

// The WAL-E flow restores a whole cluster from a WAL-E archive in S3: the
// preflight (and the GPG flow when the key is protected), the backup and
// the target, the plan, the restore live, and the summary.

// waleSourceText is how the source page offers this flow.
const waleSourceText = "WAL-E continuous archive in S3 (recommended): any moment after a nightly base backup, to within about " +
	"5 minutes of the last change. Restores the whole cluster of the primary."

// waleCrumbs are the flow's pages, for the breadcrumb.
var waleCrumbs = []string{"Preflight", "Backup", "Plan", "Restore", "Done"}

// WALERequest is what the WAL-E flow gathers.
type WALERequest struct {
	Envdir    string // WAL-E envdir; "" for the default (/etc/wal-e/env.d or flags)
	PGData    string
	Cluster   string // a Debian cluster VERSION/NAME to start, "" for plain pg_ctl
	Backup    string // a backup name; "" chooses the newest before the target
	Target    recovery.Target
	MoveAside bool
}

// WALEBackend does the WAL-E flow's work over the engines; the wizard holds
// no restore logic. Every method may be called from a goroutine of its own.
type WALEBackend interface {
	Preflight(ctx context.Context, req WALERequest, report func(walerestore.Check)) *walerestore.Report
	// Plan plans from the preflight's report, checking again only what may
	// have changed while the engineer read the earlier screens: the data
	// directory, the server, the newest backup.
	Plan(ctx context.Context, req WALERequest, checked *walerestore.Report) (*walerestore.Plan, error)
	Run(ctx context.Context, plan *walerestore.Plan, report func(walerestore.Event)) (*walerestore.Result, error)
	// Stop stops the server a restore left running, so that the engineer
	// can restore again with another target.
	Stop(ctx context.Context, res *walerestore.Result) error
	// Inspect reads the archived WAL of one base backup's window (a name,
	// or LATEST) with pg_waldump and sums it up per transaction: the
	// target page's "find the moment".
	Inspect(ctx context.Context, req WALERequest, backup string, report func(walinspect.Event)) (*walinspect.Inspection, error)
	// ScoutNames names the relations of one base backup from its own
	// catalog: the backup restored to a scratch copy and recovered to its
	// end, read, then stopped and removed (walinspect.Scout).
	ScoutNames(ctx context.Context, req WALERequest, backup string, report func(walinspect.ScoutStep)) (*walinspect.Names, error)
}

// waleFlow is the flow's state, shared by its pages.
type waleFlow struct {
	req         WALERequest
	report      *walerestore.Report // the last preflight's
	keyResolved bool                // the GPG flow made the key usable
	pre         *preflightPage
	backup      *backupPage
	moment      *walinspect.Tx // the transaction chosen on the moment page, while the target is its xid
}

// startWALE begins the flow with what the application's config knows.
func startWALE(m *Model, s Selection) tea.Cmd {
	f := &waleFlow{req: m.deps.Defaults}
	if f.req.Envdir == "" {
		f.req.Envdir = s.Details.WALEEnvdir
	}
	if f.req.PGData == "" {
		// The data directory and its Debian cluster name one place: take
		// the cluster only with the directory it belongs to.
		f.req.PGData, f.req.Cluster = s.Details.PGData, s.Details.Cluster
	}
	f.pre = &preflightPage{flow: f}
	f.pre.next = waleCrumbs[1:]
	f.backup = newBackupPage(f, m.deps.Now)
	return tea.Batch(m.push(f.pre), f.pre.enter(m))
}

// keyStep opens the GPG flow for the archive's key; once the key is usable
// the restore goes on to the backup.
func (f *waleFlow) keyStep(m *Model) tea.Cmd {
	return startGPG(m, GPGRequest{Envdir: f.req.Envdir}, waleCrumbs[1:], func(m *Model) tea.Cmd {
		f.keyResolved = true
		if f.report == nil || !f.report.OK() {
			// Opened from a preflight that did not pass: check again with
			// the key usable.
			return tea.Batch(m.back(), f.pre.start(m))
		}
		return f.toBackup(m)
	})
}

// afterPreflight goes on from a passing preflight: to the GPG flow while
// the key is still locked, else to the backup and target.
func (f *waleFlow) afterPreflight(m *Model) tea.Cmd {
	if f.report.KeyProtected && !f.keyResolved {
		return f.keyStep(m)
	}
	return f.toBackup(m)
}

func (f *waleFlow) toBackup(m *Model) tea.Cmd {
	return tea.Batch(m.push(f.backup), f.backup.enter(m))
}
