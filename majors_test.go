package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/pgbin"
	"pgrescue/internal/pgtest"
	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
)

// TestEveryMajorsServerIsReadRight starts a real server of every major
// pgrescue supports from 10 (Debian's, or the npm package's) and checks
// what pgrescue reads of a cluster against it: PG_VERSION and the WAL's
// page magic name the server's major, and pg_control, read natively, says
// what the server's own functions say. What each installation lacks (the
// npm packages have no client programs) is logged.
func TestEveryMajorsServerIsReadRight(t *testing.T) {
	testtool.EndToEnd(t)
	for _, major := range pgbin.Majors {
		t.Run(fmt.Sprintf("PostgreSQL %d", major), func(t *testing.T) {
			t.Parallel()
			in := pgbin.Get(t, major)
			opts := pgtest.Options{Bin: in.Bin}
			if major >= 11 {
				opts.WALSegmentMB = 64 // not the default, so pg_control's own is read
			}
			s := pgtest.StartWith(t, opts)
			if s.Major != major {
				t.Fatalf("%s started PostgreSQL %d", in.Source, s.Major)
			}
			v, err := recovery.ReadVersion(s.DataDir)
			if err != nil || v.Major != major {
				t.Errorf("PG_VERSION read as %s (%v)", v, err)
			}
			controlMatchesTheServer(t, s)
			wal := filepath.Join(s.DataDir, "pg_wal")
			if major < 10 {
				wal = filepath.Join(s.DataDir, "pg_xlog")
			}
			segment := s.PSQL(t, "postgres", "SELECT pg_walfile_name(pg_current_wal_lsn())")
			f, err := os.Open(filepath.Join(wal, segment))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			head := make([]byte, 2)
			f.Read(head)
			if got, ok := walinspect.VersionOfSegment(head); !ok || got.Major != major {
				t.Errorf("the WAL's page magic %#04x read as %s (%v)", uint16(head[0])|uint16(head[1])<<8, got, ok)
			}
		})
	}
}

// controlMatchesTheServer reads pg_control after a checkpoint and compares
// it with pg_control_system(), pg_control_checkpoint() and
// pg_control_init(), the server's own reading of it.
func controlMatchesTheServer(t *testing.T, s *pgtest.Server) {
	t.Helper()
	s.PSQL(t, "postgres", "CHECKPOINT")
	want := s.PSQL(t, "postgres", `SELECT s.pg_control_version, s.system_identifier, c.checkpoint_lsn, c.redo_lsn, c.timeline_id, i.bytes_per_wal_segment
		FROM pg_control_system() s, pg_control_checkpoint() c, pg_control_init() i`)
	c, err := recovery.ReadControl(s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d|%d|%s|%s|%d|%d", c.Version, c.SystemID, pglog.LSN(c.Checkpoint), pglog.LSN(c.Redo), c.Timeline, c.SegmentSize)
	if got != want || c.State != recovery.DBInProduction {
		t.Errorf("pg_control read as %s (%s), the server says %s", got, c.State, want)
	}
}

// TestEveryMajorRestoresFromItsArchive is the whole restore on a real
// server of each major: the cluster archives its WAL through wal-push, is
// backed up running (pg_basebackup 15 up to 15, pgrescue's own BASE_BACKUP
// for newer servers) and offline in WAL-E's format (backup-push
// --while-offline: no client program of its version), writes on, and
// restore wal-e, with that major's server programs, replays the offline
// backup to a time inside the window and to the end of the archive, and
// the online one to the end, each with the rows of that moment.
func TestEveryMajorRestoresFromItsArchive(t *testing.T) {
	needPostgres(t)
	_, envdir, key, exe, work := pushedArchive(t)
	pass := []string{"--envdir", envdir, "--gpg-key", key, "--gpg-passphrase-file", s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")}
	for _, major := range pgbin.Majors {
		t.Run(fmt.Sprintf("PostgreSQL %d", major), func(t *testing.T) {
			t.Parallel()
			in := pgbin.Get(t, major)
			env := []string{"PATH=" + in.Bin + ":" + os.Getenv("PATH")} // restore finds the server programs of the backup's major there
			// Each major archives under a prefix of its own in the bucket.
			prefix := []string{"--s3-prefix", fmt.Sprintf("s3://pushed/pg%d", major)}
			archive := strings.Join(append([]string{exe, "--envdir", envdir, "--gpg-key", key}, prefix...), " ") + " wal-push %p"
			s := pgtest.StartWith(t, pgtest.Options{Bin: in.Bin, Settings: []string{"archive_mode=on", "archive_command=" + archive, "archive_timeout=0"}})
			s.PSQL(t, "postgres", "CREATE TABLE rows (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp()); INSERT INTO rows (id) SELECT generate_series(1, 1000)")
			// Backed up running: with Debian's pg_basebackup 15 up to 15, over
			// the replication protocol by pgrescue itself for newer servers,
			// which pg_basebackup 15 refuses.
			r := pgrescue(t, env, append(append(append([]string{}, pass...), prefix...), "backup-push", "--pgdata", s.DataDir)...)
			online := strings.Fields(r.stdout)
			if r.code != 0 || len(online) == 0 || !strings.HasPrefix(online[0], "base_") {
				t.Fatalf("backup-push of a running PostgreSQL %d: exit %d\n%s\n%s", major, r.code, r.stdout, r.stderr)
			}
			if native := strings.Contains(r.stderr, "taking the backup over the replication protocol itself"); native != (major > 15) {
				t.Errorf("PostgreSQL %d: BASE_BACKUP by pgrescue itself: %v\n%s", major, native, r.stderr)
			}
			s.Stop(t)
			if r := pgrescue(t, env, append(append(append([]string{}, pass...), prefix...), "backup-push", "--pgdata", s.DataDir, "--while-offline")...); r.code != 0 {
				t.Fatalf("backup-push --while-offline: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			s.Start(t)
			s.PSQL(t, "postgres", "INSERT INTO rows (id) SELECT generate_series(1001, 1500)")
			time.Sleep(1100 * time.Millisecond)
			target := s.PSQL(t, "postgres", "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
			time.Sleep(1100 * time.Millisecond)
			s.PSQL(t, "postgres", "INSERT INTO rows (id) SELECT generate_series(1501, 1800)")
			last := s.PSQL(t, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")
			waitArchived(t, s, last)
			s.Stop(t)

			count := func(name string, target ...string) int {
				t.Helper()
				pgdata := filepath.Join(work, fmt.Sprintf("pg%d-%s", major, name))
				args := append(append(append(append([]string{}, pass...), prefix...), "restore", "wal-e", "--pgdata", pgdata, "--yes"), target...)
				r := pgrescue(t, env, args...)
				if r.code != 0 {
					t.Fatalf("PostgreSQL %d, restore %v: exit %d\n%s\n%s", major, target, r.code, r.stdout, r.stderr)
				}
				checkSummary(t, major, r.stdout, slices.Contains(target, "--target-time"))
				srv := runningServer(t, pgdata, r.stdout)
				srv.BinDir = in.Bin
				out, err := srv.Psql(t.Context(), "postgres", "SELECT count(*) FROM rows")
				if err != nil {
					t.Fatal(err)
				}
				n, _ := strconv.Atoi(strings.TrimSpace(out))
				return n
			}
			if got := count("at-target", "--target-time", target); got != 1500 {
				t.Errorf("PostgreSQL %d, --target-time %s: %d rows, want 1500", major, target, got)
			}
			if got := count("to-end"); got != 1800 {
				t.Errorf("PostgreSQL %d, to the end of the archive: %d rows, want 1800", major, got)
			}
			if got := count("online-to-end", "--backup", online[0]); got != 1800 {
				t.Errorf("PostgreSQL %d, from the backup taken running (%s) to the end: %d rows, want 1800", major, online[0], got)
			}
		})
	}
}

// waitArchived waits until the archiver has stored segment.
func waitArchived(t *testing.T, s *pgtest.Server, segment string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s.PSQL(t, "postgres", "SELECT coalesce(last_archived_wal, '') >= '"+segment+"' FROM pg_stat_archiver") == "t" {
			return
		}
	}
	t.Fatalf("segment %s was not archived within a minute: %s", segment, s.PSQL(t, "postgres", "SELECT * FROM pg_stat_archiver"))
}

// checkSummary: the plan wrote the recovery settings as this major reads
// them, and the live replay read this major's log: where it stopped, the
// last transaction, the end of redo and the new timeline.
func checkSummary(t *testing.T, major int, summary string, toTarget bool) {
	t.Helper()
	want := []string{"last transaction replayed at", "redo done at", "new timeline 2"}
	if major <= 11 {
		want = append(want, "write recovery.conf", fmt.Sprintf("archive recovery settings for PostgreSQL %d", major))
	} else {
		want = append(want, `touch "$PGDATA"/recovery.signal`, "append pgrescue's recovery settings to postgresql.auto.conf")
	}
	if toTarget {
		want = append(want, "recovery stopped before commit of transaction")
	}
	for _, w := range want {
		if !strings.Contains(summary, w) {
			t.Errorf("PostgreSQL %d: the restore's output lacks %q:\n%s", major, w, summary)
		}
	}
}

// TestOfflineBackupPushRefusesWhatItCannotBackUp: backup-push
// --while-offline refuses a running cluster, one not shut down cleanly
// (its files need WAL from before its checkpoint) and one with tablespaces
// (which it does not store), each by name and before storing anything.
func TestOfflineBackupPushRefusesWhatItCannotBackUp(t *testing.T) {
	needPostgres(t)
	srv, envdir, key, _, _ := pushedArchive(t)
	s := pgtest.Start(t)
	push := func() result {
		t.Helper()
		return pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "backup-push", "--pgdata", s.DataDir, "--while-offline")
	}
	if r := push(); r.code != problem.DataDirInUse.Code() || !strings.Contains(r.stderr, "PostgreSQL is running on this data directory") {
		t.Errorf("a running cluster: exit %d\n%s", r.code, r.stderr)
	}
	s.Run(t, "pg_ctl", "stop", "-D", s.DataDir, "-m", "immediate", "-w")
	if r := push(); r.code != problem.Usage.Code() || !strings.Contains(r.stderr, "not shut down cleanly (pg_control says: in production)") {
		t.Errorf("a cluster stopped with -m immediate: exit %d\n%s", r.code, r.stderr)
	}
	s.Start(t)
	s.PSQL(t, "postgres", "SELECT 1")
	s.Stop(t)
	if err := os.Symlink(t.TempDir(), filepath.Join(s.DataDir, "pg_tblspc", "16999")); err != nil {
		t.Fatal(err)
	}
	if r := push(); r.code != problem.Usage.Code() || !strings.Contains(r.stderr, "pg_tblspc/16999") || !strings.Contains(r.stderr, "tablespaces") {
		t.Errorf("a cluster with a tablespace: exit %d\n%s", r.code, r.stderr)
	}
	if objects := srv.Objects(t, "pushed"); len(objects) != 0 {
		t.Errorf("refused backups stored %d objects, the first %s", len(objects), objects[0].Key)
	}
	os.Remove(filepath.Join(s.DataDir, "pg_tblspc", "16999"))
	if r := push(); r.code != 0 || !strings.Contains(r.stdout, "base_") {
		t.Errorf("the clean cluster: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestBackupPushPassesTheProgramsErrorThrough: a server that takes no
// replication connection fails pg_basebackup (15) and pgrescue's own
// BASE_BACKUP (17) alike; backup-push says the program's own words and
// stores nothing.
func TestBackupPushPassesTheProgramsErrorThrough(t *testing.T) {
	needPostgres(t)
	srv, envdir, key, _, _ := pushedArchive(t)
	for _, major := range []int{15, 17} {
		in := pgbin.Get(t, major)
		s := pgtest.StartWith(t, pgtest.Options{Bin: in.Bin, Settings: []string{"max_wal_senders=0"}})
		env := []string{"PATH=" + in.Bin + ":" + os.Getenv("PATH")}
		r := pgrescue(t, env, "--envdir", envdir, "--gpg-key", key, "backup-push", "--pgdata", s.DataDir)
		if r.code == 0 || !strings.Contains(r.stderr, "the base backup failed") || !strings.Contains(r.stderr, "max_wal_senders") {
			t.Errorf("PostgreSQL %d without WAL senders: exit %d\n%s", major, r.code, r.stderr)
		}
	}
	if objects := srv.Objects(t, "pushed"); len(objects) != 0 {
		t.Errorf("failed backups stored %d objects, the first %s", len(objects), objects[0].Key)
	}
}
