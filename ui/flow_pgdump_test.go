package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"pgrescue/restore/pgdump"
)

// treeBackend lists real autopostgresqlbackup trees with the engine; the
// screens of the check and the import, which need a server, are tested
// through the real binary (pgdump_test.go at the top).
type treeBackend struct{}

func (treeBackend) List(ctx context.Context, url string, _ []byte) (*pgdump.Listing, []string, error) {
	src, err := pgdump.ParseSource(url, pgdump.SourceOptions{})
	if err != nil {
		return nil, nil, err
	}
	l, err := pgdump.List(ctx, src, time.UTC)
	return l, nil, err
}

func (treeBackend) Prepare(context.Context, PgDumpRequest, func(pgdump.Event)) (*pgdump.Plan, error) {
	return nil, errors.New("the screen tests have no server")
}

func (treeBackend) Run(context.Context, *pgdump.Plan, func(pgdump.Event)) (*pgdump.Result, error) {
	return nil, errors.New("the screen tests have no server")
}

// nightlyNames is a week of GOV.UK's dumps of content-publisher's database.
func nightlyNames(t *testing.T) string {
	root := t.TempDir()
	db := "content_publisher_production"
	for i, name := range []string{
		"daily/" + db + "/" + db + "_2026-11-25_03h00m.Wednesday.sql.gz",
		"daily/" + db + "/" + db + "_2026-11-24_03h00m.Tuesday.sql.gz",
		"weekly/" + db + "/" + db + "_week.47.2026-11-21_03h00m.sql.gz",
		"daily/postgres_globals/postgres_globals_2026-11-25_03h00m.Wednesday.sql.gz",
		"daily/other_production/other_production_2026-11-25_03h00m.Wednesday.sql.gz",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, 1<<20*(i+1)), 0o600)
		taken, _ := time.Parse("2006-01-02_15h04m", regexp.MustCompile(`\d{4}-\d{2}-\d{2}_\d{2}h\d{2}m`).FindString(name))
		os.Chtimes(p, taken.Add(2*time.Minute), taken.Add(2*time.Minute)) // written as the script writes
	}
	return root
}

func toDumpSources(t *testing.T, m *Model) *dumpSourcePage {
	m.deps.PgDump = treeBackend{}
	typeText(t, m, "content-publisher")
	press(t, m, "enter", "enter", "down", "enter")
	return onTop[*dumpSourcePage](t, m)
}

func TestPgDumpScreens(t *testing.T) {
	eachSize(t, "pgdump-sources", func(t *testing.T, m *Model) { toDumpSources(t, m) })
	eachSize(t, "pgdump-source-missing", func(t *testing.T, m *Model) {
		p := toDumpSources(t, m)
		p.flow.sources[0].url = "/srv/pgrescue-test-absent"
		press(t, m, "enter")
		onTop[*dumpSourcePage](t, m)
	})
	eachSize(t, "pgdump-replace-sessions", func(t *testing.T, m *Model) { m.deps.PgDump = treeBackend{}; toReplace(t, m) })
	eachSize(t, "pgdump-replace-terminate", func(t *testing.T, m *Model) { m.deps.PgDump = treeBackend{}; toReplace(t, m, "t") })
	eachSize(t, "pgdump-dumps", func(t *testing.T, m *Model) {
		p := toDumpSources(t, m)
		p.flow.sources[0].url = nightlyNames(t)
		press(t, m, "enter", "down")
		onTop[*dumpChoicePage](t, m)
	})
}

// Replace answers as PostgreSQL does while the application is connected
// (the real swap is tested through the binary: pgdump_test.go).
func (treeBackend) Replace(context.Context, *pgdump.Plan, bool) (*pgdump.Swap, error) {
	return nil, pgdump.SessionsError("content_publisher_production", []pgdump.Session{
		{PID: 4242, User: "content_publisher", Application: "puma: cluster worker 0", Client: "10.1.4.12", State: "idle", Since: "2026-11-25 02:58:11 UTC"},
		{PID: 4243, User: "content_publisher", Application: "sidekiq 6.5", Client: "10.1.4.13", State: "active", Since: "2026-11-25 02:58:12 UTC"},
	})
}

// toReplace is the replace page after a verified restore, with the
// application still connected; t once asks for the second t.
func toReplace(t *testing.T, m *Model, keys ...string) {
	f := &pgDumpFlow{req: PgDumpRequest{Source: "/var/lib/autopostgresqlbackup", Database: "content_publisher_production", Replace: true}}
	plan := &pgdump.Plan{Request: pgdump.Request{Database: "content_publisher_production", Into: "content_publisher_production_restored_20261125T0310"}}
	r := &dumpReplacePage{flow: f, plan: plan}
	drive(t, m, tea.Batch(m.push(r), r.start(m, false)))
	press(t, m, keys...)
	onTop[*dumpReplacePage](t, m)
}
