package walerestore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/problem"
	"pgrescue/restore/wale"
)

// listings counts the S3 listings made since the last reset, by what they
// listed, and the objects read.
func listings(srv *s3test.Server) map[string]int {
	n := map[string]int{"backups": srv.Listings("basebackups_005/"), "wal": srv.Listings("wal_005/"),
		"partitions": srv.Listings("/tar_partitions/")}
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.Key != "" {
			n["get"]++
		}
	}
	return n
}

// TestARestoreListsTheArchiveOnce: the preflight lists the backups and the
// WAL; the plan, made later, lists only the backups again (a newer one may
// have completed); the fetch lists nothing and reads the key-check object
// no more.
func TestARestoreListsTheArchiveOnce(t *testing.T) {
	archive, srv := walefixture.Open(t)
	opts := Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: filepath.Join(t.TempDir(), "main")}
	ctx := context.Background()
	srv.ResetRequests()
	rep := Preflight(ctx, opts, fixtureConfig, nil)
	if !rep.OK() {
		t.Fatalf("preflight: %+v", rep.FirstFailure())
	}
	afterPreflight := listings(srv)
	if afterPreflight["backups"] != 1 || afterPreflight["wal"] != 1 || afterPreflight["partitions"] != 0 {
		t.Errorf("the preflight listed %v, want the backups and the WAL once each", afterPreflight)
	}
	srv.ResetRequests()
	plan, err := NewPlan(ctx, opts, Recheck(ctx, opts, fixtureConfig, rep))
	if err != nil {
		t.Fatal(err)
	}
	if got := listings(srv); got["backups"] != 1 || got["wal"] != 0 || got["partitions"] != 1 {
		t.Errorf("the plan listed %v, want the backups again, the backup's partitions, and no WAL", got)
	}
	srv.ResetRequests()
	res, err := archive.FetchBackup(ctx, wale.FetchOptions{DataDir: opts.PGData, Backup: plan.Backup.Name, Resolved: plan.resolved}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := listings(srv)
	if got["backups"]+got["wal"]+got["partitions"] != 0 || got["get"] != res.Partitions+1 {
		t.Errorf("the fetch made %v, want one GET per partition (%d), one for the key check, and no listing", got, res.Partitions)
	}
}

// TestRecheckListsAgainWhenTheBackupsChanged: a backup that completed (or
// vanished) since the preflight makes the plan's recheck a whole preflight.
func TestRecheckListsAgainWhenTheBackupsChanged(t *testing.T) {
	archive, srv := walefixture.Open(t)
	opts := Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: filepath.Join(t.TempDir(), "main")}
	ctx := context.Background()
	rep := Preflight(ctx, opts, fixtureConfig, nil)
	older := *rep
	older.Backups = rep.Backups[:len(rep.Backups)-1] // as if the newest had not completed yet
	srv.ResetRequests()
	again := Recheck(ctx, opts, fixtureConfig, &older)
	if got := listings(srv); got["backups"] != 2 || got["wal"] != 1 {
		t.Errorf("the recheck listed %v, want the backups twice (the check, then the preflight) and the WAL", got)
	}
	if len(again.Backups) != len(rep.Backups) || again.Chosen == nil || again.Chosen.Name != rep.Chosen.Name {
		t.Errorf("the recheck did not see the newest backup: %+v", again.Chosen)
	}
}

// TestPreflightAndFetchAgreeOnAStalePIDFile: a postmaster.pid left by a
// server that died passes the preflight (as PostgreSQL would start over
// it), and the fetch that follows does not refuse what the preflight
// passed: the old cluster is moved aside with its stale file.
func TestPreflightAndFetchAgreeOnAStalePIDFile(t *testing.T) {
	archive, _ := walefixture.Open(t)
	opts := Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: filepath.Join(t.TempDir(), "main"), MoveAside: true}
	writeFile(t, opts.PGData, "PG_VERSION", "15\n")
	writeFile(t, opts.PGData, "postmaster.pid", strconv.Itoa(testtool.DeadPID(t))+"\n"+opts.PGData+"\n")
	ctx := context.Background()
	rep := Preflight(ctx, opts, fixtureConfig, nil)
	if c := rep.Check(CheckServer); c.Status != Warning || !strings.Contains(c.Detail, "moved aside") {
		t.Fatalf("server check %+v, want the move-aside warning", c)
	}
	plan, err := NewPlan(ctx, opts, rep)
	if err != nil {
		t.Fatal(err)
	}
	res, err := archive.FetchBackup(ctx, wale.FetchOptions{DataDir: opts.PGData, Backup: plan.Backup.Name, MoveAside: true, Resolved: plan.resolved}, nil)
	if err != nil {
		t.Fatalf("the fetch refused what the preflight passed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res.MovedAsideTo, "postmaster.pid")); err != nil {
		t.Errorf("the old cluster was not kept whole: %v", err)
	}
}

// TestPreflightRefusesABackupThisMachineCannotStart: the server programs of
// the backup's major version are looked for before anything changes (they
// were found missing only after the move aside and the whole download).
func TestPreflightRefusesABackupThisMachineCannotStart(t *testing.T) {
	archive, srv := walefixture.Open(t)
	rep := Preflight(context.Background(), Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: filepath.Join(t.TempDir(), "main")}, fixtureConfig, nil)
	latest := rep.Chosen.Name
	// As if the backup had been taken by a PostgreSQL 12 (not installed here).
	srv.Put(t, "wale-fixtures", archive.Layout.ExtendedVersionKey(latest), []byte("PostgreSQL 12.22 on x86_64-pc-linux-gnu"), "text/plain", time.Now())
	rep = Preflight(context.Background(), Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: filepath.Join(t.TempDir(), "main")}, fixtureConfig, nil)
	c := rep.Check(CheckServer)
	if c.Status != Failed || !problem.Is(c.Err, problem.Config) || !strings.Contains(c.Detail, "PostgreSQL 12 server programs") || !strings.Contains(c.Fix, "postgresql-12") {
		t.Fatalf("server check %+v", c)
	}
}

// TestPreflightRefusesAFolderItCannotWriteIn: a data directory whose parent
// is read-only (immutable, for root) fails the server check before
// anything changes, naming the folder.
func TestPreflightRefusesAFolderItCannotWriteIn(t *testing.T) {
	parent := t.TempDir()
	pgdata := filepath.Join(parent, "main")
	os.MkdirAll(pgdata, 0o700)
	if os.Geteuid() == 0 {
		chattr := testtool.Need(t, "chattr")
		if out, err := exec.Command(chattr, "+i", parent).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i %s: %v %s (the test needs CAP_LINUX_IMMUTABLE)", parent, err, out)
		}
		t.Cleanup(func() { exec.Command(chattr, "-i", parent).Run() })
	} else {
		os.Chmod(parent, 0o500)
		t.Cleanup(func() { os.Chmod(parent, 0o700) })
	}
	archive, _ := walefixture.Open(t)
	rep := Preflight(context.Background(), Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
		PGData: pgdata, MoveAside: true}, fixtureConfig, nil)
	c := rep.Check(CheckServer)
	if c.Status != Failed || !problem.Is(c.Err, problem.LocalIO) || !strings.Contains(c.Detail, parent) {
		t.Fatalf("server check %+v", c)
	}
}

// TestPreflightAndFetchAgreeOnARefusedPIDFile is the other half: what the
// preflight refuses (a live server, a single-user backend, a pid file that
// names no process), the fetch refuses too, as the same DataDirInUse, even
// when asked to move the directory aside, and nothing is changed.
func TestPreflightAndFetchAgreeOnARefusedPIDFile(t *testing.T) {
	archive, _ := walefixture.Open(t)
	for name, pidFile := range map[string]string{
		"live":        strconv.Itoa(os.Getpid()) + "\n",
		"single-user": strconv.Itoa(-os.Getpid()) + "\n",
		"malformed":   "postgres\n",
	} {
		t.Run(name, func(t *testing.T) {
			opts := Options{Archive: archive, Keys: fixtureKeySource(t, walefixture.Path(t, "gpg-secret-protected.asc")),
				PGData: filepath.Join(t.TempDir(), "main"), MoveAside: true}
			writeFile(t, opts.PGData, "PG_VERSION", "15\n")
			writeFile(t, opts.PGData, "postmaster.pid", pidFile)
			ctx := context.Background()
			rep := Preflight(ctx, opts, fixtureConfig, nil)
			if c := rep.Check(CheckServer); c.Status != Failed || !problem.Is(c.Err, problem.DataDirInUse) {
				t.Fatalf("server check %+v, want a DataDirInUse failure", c)
			}
			_, err := archive.FetchBackup(ctx, wale.FetchOptions{DataDir: opts.PGData, Backup: "LATEST", MoveAside: true}, nil)
			if !problem.Is(err, problem.DataDirInUse) {
				t.Fatalf("the fetch did not refuse what the preflight refused: %v", err)
			}
			if _, err := os.Stat(filepath.Join(opts.PGData, "PG_VERSION")); err != nil {
				t.Errorf("the refused data directory was changed: %v", err)
			}
		})
	}
}
