package wizardbackend

import (
	"context"
	"sync"
	"time"

	"pgrescue/journal"
	"pgrescue/restore/pgdump"
	"pgrescue/ui"
)

// PgDump carries out the wizard's pg_dump flow with the engine restore
// pg-dump uses. The server is reached through libpq's settings, as psql
// would; each source is opened once, so a duplicity archive's restored
// files serve both the listing and the restore.
type PgDump struct {
	Server   pgdump.Server
	Location *time.Location
	Options  pgdump.SourceOptions
	Now      func() time.Time

	// Journal is told every passphrase, so no record can carry one.
	Journal *journal.Journal

	mu       sync.Mutex
	sources  map[string]pgdump.Source
	listings map[string]*pgdump.Listing // each source's last listing, for Prepare
	report   func(pgdump.Event)         // the running step's, for duplicity's progress
}

var _ ui.PgDumpBackend = (*PgDump)(nil)

func (b *PgDump) source(url string) (pgdump.Source, error) { return b.sourceWith(url, nil) }

// sourceWith opens the source, again when a passphrase is given (the
// archive's files restored so far are removed with the old one).
func (b *PgDump) sourceWith(url string, passphrase []byte) (pgdump.Source, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.sources[url]; ok && passphrase == nil {
		return s, nil
	}
	if s, ok := b.sources[url].(interface{ Close() error }); ok {
		s.Close()
	}
	delete(b.listings, url)
	opts := b.Options
	opts.Progress = b.sourceProgress
	if len(passphrase) > 0 {
		opts.Passphrase = string(passphrase)
		b.Journal.AddSecret(opts.Passphrase)
	}
	s, err := pgdump.ParseSource(url, opts)
	if err != nil {
		return nil, err
	}
	if b.sources == nil {
		b.sources = map[string]pgdump.Source{}
	}
	b.sources[url] = s
	return s, nil
}

// List lists a source and says what the source says about itself.
func (b *PgDump) List(ctx context.Context, url string, passphrase []byte) (*pgdump.Listing, []string, error) {
	src, err := b.sourceWith(url, passphrase)
	if err != nil {
		return nil, nil, err
	}
	l, err := pgdump.List(ctx, src, b.Location)
	if err == nil {
		b.mu.Lock()
		if b.listings == nil {
			b.listings = map[string]*pgdump.Listing{}
		}
		b.listings[url] = l
		b.mu.Unlock()
	}
	var notes []string
	if n, ok := src.(interface{ Notes() []string }); ok && err == nil {
		notes = n.Notes()
	}
	return l, notes, err
}

// sourceProgress hands a source's own progress (duplicity's volumes) to
// the step that is waiting for it.
func (b *PgDump) sourceProgress(line string) {
	b.mu.Lock()
	report := b.report
	b.mu.Unlock()
	if report != nil {
		report(pgdump.Event{Stage: pgdump.StageFetch, Note: line})
	}
}

func (b *PgDump) reporting(report func(pgdump.Event)) func() {
	b.mu.Lock()
	b.report = report
	b.mu.Unlock()
	return func() { b.mu.Lock(); b.report = nil; b.mu.Unlock() }
}

func (b *PgDump) Prepare(ctx context.Context, req ui.PgDumpRequest, report func(pgdump.Event)) (*pgdump.Plan, error) {
	defer b.reporting(report)()
	src, err := b.source(req.Source)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	b.mu.Lock()
	listing := b.listings[req.Source] // the one the engineer chose from
	b.mu.Unlock()
	return pgdump.Prepare(ctx, pgdump.Request{Source: src, Database: req.Database, Dump: req.Dump, Globals: req.Globals,
		Jobs: req.Jobs, Location: b.Location, Server: b.Server, Now: now(), Listing: listing}, report)
}

func (b *PgDump) Run(ctx context.Context, plan *pgdump.Plan, report func(pgdump.Event)) (*pgdump.Result, error) {
	defer b.reporting(report)()
	return plan.Run(ctx, report)
}

// Close releases what the sources hold (duplicity's restored files).
func (b *PgDump) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.sources {
		if c, ok := s.(interface{ Close() error }); ok {
			c.Close()
		}
	}
	b.sources = nil
}

// Replace is restore pg-dump --replace's swap: the live database kept
// under another name, the restored one in its place.
func (b *PgDump) Replace(ctx context.Context, plan *pgdump.Plan, terminate bool) (*pgdump.Swap, error) {
	swap, err := plan.Server.PlanSwap(ctx, plan.Database, plan.Into, plan.Now)
	if err != nil {
		return nil, err
	}
	if terminate {
		return swap, swap.RunEndingSessions(ctx, plan.Server)
	}
	return swap, swap.Run(ctx, plan.Server)
}
