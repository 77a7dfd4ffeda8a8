package walerestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/gpg"
	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
)

func fixtureKeySource(t *testing.T, path string) KeySource {
	return KeySource{Where: "key file " + path, List: func(context.Context) ([]gpg.KeyInfo, error) {
		keys, err := gpg.LoadKeyFile(path)
		if err != nil {
			return nil, err
		}
		return keys.Describe(), nil
	}}
}

func fixtureOptions(t *testing.T) Options {
	archive, _ := walefixture.Open(t)
	return Options{
		Archive: archive,
		Keys:    fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData:  filepath.Join(t.TempDir(), "main"),
	}
}

var fixtureConfig = Resolved{Detail: "WALE_S3_PREFIX=" + walefixture.Prefix + " (from the test)"}

func statuses(rep *Report) string {
	var parts []string
	for _, c := range rep.Checks {
		parts = append(parts, string(c.ID)+"="+string(c.Status))
	}
	return strings.Join(parts, " ")
}

func TestPreflightOfTheFixtureWarnsOnlyAboutTheProtectedKey(t *testing.T) {
	opts := fixtureOptions(t)
	var seen []Check
	rep := Preflight(context.Background(), opts, fixtureConfig, func(c Check) { seen = append(seen, c) })
	want := "settings=passed archive=passed key=warning server=passed disk=passed continuity=passed"
	if got := statuses(rep); got != want {
		t.Fatalf("checks %s, want %s\n%+v", got, want, rep.Checks)
	}
	if len(seen) != 2*len(CheckTitles) || seen[0].Status != Running || seen[1].Status != Passed {
		t.Errorf("each check is reported running then done: %+v", seen)
	}
	m := walefixture.ReadManifest(t)
	if rep.Chosen == nil || rep.Chosen.Name != m.Latest {
		t.Errorf("chose %+v, want LATEST %s", rep.Chosen, m.Latest)
	}
	if !rep.KeyProtected || !strings.Contains(rep.Check(CheckKey).Fix, "in memory") {
		t.Errorf("key check: %+v", rep.Check(CheckKey))
	}
	if !strings.Contains(rep.Check(CheckArchive).Detail, "2 base backups") {
		t.Errorf("archive check: %+v", rep.Check(CheckArchive))
	}
}

func TestPreflightChoosesTheBackupBeforeTheTarget(t *testing.T) {
	m := walefixture.ReadManifest(t)
	for _, p := range m.PITRPoints {
		opts := fixtureOptions(t)
		target, err := recovery.ParseTargetTime(p.RFC3339, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		opts.Target = target
		rep := Preflight(context.Background(), opts, fixtureConfig, nil)
		if !rep.OK() || rep.Chosen.Name != p.RestoreFromBackup {
			t.Errorf("target %s: chose %v (want %s): %s", p.RFC3339, rep.Chosen, p.RestoreFromBackup, statuses(rep))
		}
	}
}

func TestPreflightFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(t *testing.T, o *Options, c *Resolved)
		want   string
		kind   problem.Kind
	}{
		"no archive configured": {func(t *testing.T, o *Options, c *Resolved) { o.Archive = nil; *c = Resolved{} },
			"settings=failed archive=skipped key=skipped server=passed disk=skipped continuity=skipped", problem.Config},
		"target before every backup": {func(t *testing.T, o *Options, c *Resolved) {
			o.Target = recovery.Target{Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		}, "settings=passed archive=failed key=skipped server=passed disk=skipped continuity=skipped", problem.NoBackups},
		"target after the archive": {func(t *testing.T, o *Options, c *Resolved) {
			o.Target = recovery.Target{Time: time.Now().Add(24 * time.Hour)}
		}, "settings=passed archive=passed key=warning server=passed disk=passed continuity=failed", problem.Usage},
		"unknown backup": {func(t *testing.T, o *Options, c *Resolved) { o.Backup = "base_0000000100000000000000FF_00000040" },
			"settings=passed archive=failed key=skipped server=passed disk=skipped continuity=skipped", problem.NoBackups}, // as backup-fetch says it: one failure, one exit code
		"no key": {func(t *testing.T, o *Options, c *Resolved) { o.Keys = KeySource{} },
			"settings=passed archive=passed key=failed server=passed disk=passed continuity=passed", problem.KeyMissing},
		"another key": {func(t *testing.T, o *Options, c *Resolved) {
			o.Keys = KeySource{Where: "keyring /nowhere", List: func(context.Context) ([]gpg.KeyInfo, error) {
				return []gpg.KeyInfo{{KeyID: 1, Parts: []gpg.KeyPart{{KeyID: 1}}}}, nil
			}}
		}, "settings=passed archive=passed key=failed server=passed disk=passed continuity=passed", problem.WrongKey},
		"keyring unreadable": {func(t *testing.T, o *Options, c *Resolved) {
			o.Keys = KeySource{Where: "keyring /nowhere", List: func(context.Context) ([]gpg.KeyInfo, error) {
				return nil, problem.New(problem.LocalIO, "/nowhere", "gpg failed", "check the home")
			}}
		}, "settings=passed archive=passed key=failed server=passed disk=passed continuity=passed", problem.LocalIO},
		"non-empty data directory": {func(t *testing.T, o *Options, c *Resolved) { writeFile(t, o.PGData, "PG_VERSION", "15\n") },
			"settings=passed archive=passed key=warning server=failed disk=passed continuity=passed", problem.DataDirInUse},
		"cluster of another version": {func(t *testing.T, o *Options, c *Resolved) {
			o.Replay.Server.Cluster = &recovery.Cluster{Version: "9.3", Name: "main"}
		}, "settings=passed archive=passed key=warning server=failed disk=passed continuity=passed", problem.Usage},
		"running server": {func(t *testing.T, o *Options, c *Resolved) {
			writeFile(t, o.PGData, "PG_VERSION", "15\n")
			writeFile(t, o.PGData, "postmaster.pid", strconv.Itoa(os.Getpid())+"\n"+o.PGData+"\n")
			o.MoveAside = true
		}, "settings=passed archive=passed key=warning server=failed disk=passed continuity=passed", problem.DataDirInUse},
	} {
		t.Run(name, func(t *testing.T) {
			opts := fixtureOptions(t)
			cfg := fixtureConfig
			tc.change(t, &opts, &cfg)
			rep := Preflight(context.Background(), opts, cfg, nil)
			if got := statuses(rep); got != tc.want {
				t.Fatalf("checks %s\nwant   %s", got, tc.want)
			}
			failed := rep.FirstFailure()
			if failed == nil || problem.KindOf(failed.Err) != tc.kind || failed.Fix == "" {
				t.Fatalf("first failure %+v, want kind %v with a fix", failed, tc.kind)
			}
			if _, err := NewPlan(context.Background(), opts, rep); err == nil || !errors.Is(err, failed.Err) {
				t.Errorf("a plan was made despite the failure: %v", err)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPreflightWarnsAboutAGap(t *testing.T) {
	archive, srv := walefixture.Open(t)
	srv.Delete(t, "wale-fixtures", "pg15-primary/wal_005/000000010000000000000017.lzo")
	opts := fixtureOptions(t)
	opts.Archive = archive
	rep := Preflight(context.Background(), opts, fixtureConfig, nil)
	c := rep.Check(CheckContinuity)
	if c.Status != Warning || !strings.Contains(c.Detail, "000000010000000000000017") {
		t.Fatalf("continuity: %+v", c)
	}
	if !rep.OK() {
		t.Error("a gap is a warning, not a failure: the restore can stop before it")
	}
}

func TestPlanOfAMoveAsideAndATarget(t *testing.T) {
	m := walefixture.ReadManifest(t)
	opts := fixtureOptions(t)
	writeFile(t, opts.PGData, "PG_VERSION", "15\n")
	opts.MoveAside = true
	opts.Target, _ = recovery.ParseTargetTime(m.PITRPoints[2].RFC3339, time.UTC)
	opts.Replay.WALFetch = []string{"/usr/local/bin/pgrescue", "--envdir", "/etc/wal-e/env.d"}
	rep := Preflight(context.Background(), opts, fixtureConfig, nil)
	plan, err := NewPlan(context.Background(), opts, rep)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range plan.Actions {
		ids = append(ids, string(a.ID))
		if len(a.Commands) == 0 || a.Title == "" {
			t.Errorf("action %s has no commands or title", a.ID)
		}
	}
	if got := strings.Join(ids, ","); got != "move-aside,fetch,replay" {
		t.Fatalf("actions %s", got)
	}
	if !plan.Actions[0].Destructive || plan.Actions[1].Destructive {
		t.Error("only moving the data directory aside is destructive")
	}
	if plan.Version != "15" {
		t.Errorf("version %q from extended_version.txt", plan.Version)
	}
	script := ""
	for _, c := range plan.Commands() {
		script += c.Line + "\n"
	}
	for _, want := range []string{
		"mv " + opts.PGData, "aws s3 cp", "gpg -d", "lzop -d", "--backup " + m.PITRPoints[2].RestoreFromBackup,
		"recovery.signal", "recovery_target_time", opts.Target.PostgresLiteral(), "/usr/local/bin/pgrescue --envdir /etc/wal-e/env.d wal-fetch",
		"tail -f",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("plan lacks %q:\n%s", want, script)
		}
	}
	if entries, _ := os.ReadDir(opts.PGData); len(entries) != 1 {
		t.Error("planning changed the data directory")
	}
}

// TestCheckLinesAreWhatFrontEndsPrint: the plain form of a check, which the
// command line and the wizard's line-by-line mode both print; a passed
// check's fix is not a next step, and a running check prints nothing yet.
func TestCheckLinesAreWhatFrontEndsPrint(t *testing.T) {
	for _, tc := range []struct {
		check Check
		want  []string
	}{
		{Check{Title: "T", Status: Running, Detail: "d"}, nil},
		{Check{Title: "T", Status: Passed, Detail: "d", Fix: "f"}, []string{"[ OK ] T: d"}},
		{Check{Title: "T", Status: Skipped, Detail: "d"}, []string{"[SKIP] T: d"}},
		{Check{Title: "T", Status: Warning, Detail: "d", Fix: "f"}, []string{"[WARN] T: d", "       next: f"}},
		{Check{Title: "T", Status: Failed, Detail: "d", Fix: "f"}, []string{"[FAIL] T: d", "       next: f"}},
	} {
		if got := tc.check.Lines(); strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %q", tc.check.Status, got, tc.want)
		}
	}
}
