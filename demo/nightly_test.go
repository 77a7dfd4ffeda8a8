package demo

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
	"pgrescue/restore/pgdump"
)

// TestNightlyDumpScenario builds the legacy path's exercise: the primary
// runs, damaged; last night's dump is on "its" mount point and in the
// offsite copy; the check refuses until the dump is restored beside the
// live database, with the engine the wizard uses, and then passes.
func TestNightlyDumpScenario(t *testing.T) {
	t.Parallel()
	needPostgreSQL(t)
	testtool.Need(t, "duplicity")
	sb, steps := buildSandbox(t, Options{Scenario: nightlyDumpScenario})
	if !slices.ContainsFunc(steps, func(p Progress) bool { return p.Step == "Last night's dump (pg_dump, as autopostgresqlbackup)" }) {
		t.Errorf("steps: %v", steps)
	}
	if _, alive := livePostmaster(sb.PrimaryDir); !alive {
		t.Fatal("the primary must run: the trainee restores into it")
	}
	e := sb.Expected
	if e.RowsBefore == e.RowsAfter || !strings.Contains(e.Describe, strconv.Itoa(e.RowsBefore)) || sb.OffsiteURL == "" {
		t.Fatalf("the story: %+v, offsite %q", e, sb.OffsiteURL)
	}
	v, err := sb.Check(t.Context(), sb.PrimarySocket, sb.PrimaryPort, sb.Owner)
	if err != nil || v.OK || !strings.Contains(v.Message, "no database other than the live") {
		t.Fatalf("before any restore: %+v %v", v, err)
	}
	for _, source := range []string{sb.DumpTree, sb.OffsiteURL} {
		src, err := pgdump.ParseSource(source, pgdump.SourceOptions{TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgdump.Prepare(context.Background(), pgdump.Request{Source: src, Database: sb.Database, Location: time.Local, Now: time.Now(),
			Into:   "restored_from_" + strconv.Itoa(len(source)),
			Server: pgdump.Server{Host: sb.PrimarySocket, Port: strconv.Itoa(sb.PrimaryPort), User: sb.Owner, Psql: sb.bins.path("psql")}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if _, err := plan.Run(context.Background(), nil); err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if c, ok := src.(interface{ Close() error }); ok {
			c.Close()
		}
	}
	v, err = sb.Check(t.Context(), sb.PrimarySocket, sb.PrimaryPort, sb.Owner)
	if err != nil || !v.OK {
		t.Fatalf("after the restore: %+v %v", v, err)
	}
}
