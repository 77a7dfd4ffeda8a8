package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/restore/recovery"
)

// restoreDir returns a path for a data directory that the postgres user
// can reach: t.TempDir's parents are private to root.
func restoreDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for dir := base; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		os.Chmod(dir, 0o755)
	}
	testRoots.Store(base, true)
	return filepath.Join(base, "restore")
}

var connectLine = regexp.MustCompile(`psql -h (\S+) -p (\d+) -U (\S+)`)

// runningServer reads where replay left the server from its summary, and
// stops it at the end of the test.
func runningServer(t *testing.T, pgdata, summary string) *recovery.Server {
	t.Helper()
	m := connectLine.FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no connection line in the summary:\n%s", summary)
	}
	port, _ := strconv.Atoi(m[2])
	s := &recovery.Server{DataDir: pgdata, Port: port, SocketDir: m[1]}
	t.Cleanup(func() {
		if err := s.Stop(context.Background(), "fast"); err != nil {
			t.Errorf("stopping the restored server: %v", err)
		}
	})
	return s
}

func countRows(t *testing.T, s *recovery.Server) int {
	t.Helper()
	m := walefixture.ReadManifest(t)
	out, err := s.Psql(context.Background(), m.Postgres.Database, m.Postgres.CountQuery)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("count: %q", out)
	}
	return n
}

func needPostgres(t *testing.T) {
	testtool.Need(t, "pg_ctl")
	testtool.Need(t, "psql")
	if os.Geteuid() == 0 {
		if _, err := recovery.OwnerOf("/var/lib/postgresql"); err != nil {
			testtool.Missing(t, "postgres user", "install the postgresql package, which creates it")
		}
	}
}

// TestReplayToEveryTargetOfTheFixture restores the real WAL-E archive with
// backup-fetch and replays it with a real PostgreSQL 15 to each of the five
// moments in its manifest and to the end, from each backup the manifest
// names: the row count must match every time.
func TestReplayToEveryTargetOfTheFixture(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	m := walefixture.ReadManifest(t)
	type run struct {
		name, backup, target string
		rows                 int
	}
	var runs []run
	for _, p := range m.PITRPoints {
		runs = append(runs, run{"after_batch_" + strconv.Itoa(p.AfterBatch), p.RestoreFromBackup, p.RFC3339, p.ExpectedRows})
	}
	for _, b := range []string{"base_000000010000000000000012_00000012", m.Latest} {
		runs = append(runs, run{"end_from_" + b, b, "", m.Final.ExpectedRows})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			pgdata := restoreDir(t)
			args := append([]string{"--envdir", envdir}, keyArgs(t)...)
			if res := pgrescue(t, nil, append(args, "backup-fetch", pgdata, r.backup)...); res.code != 0 {
				t.Fatalf("backup-fetch: %+v", res)
			}
			replayArgs := append(args, "replay", "--pgdata", pgdata)
			if r.target != "" {
				replayArgs = append(replayArgs, "--target-time", r.target)
			}
			res := pgrescue(t, nil, replayArgs...)
			if res.code != 0 {
				t.Fatalf("replay exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			}
			s := runningServer(t, pgdata, res.stdout)
			for _, left := range []string{filepath.Join(s.SocketDir, "pgrescue"), filepath.Join(s.SocketDir, "pgrescue-prefetch.sock"),
				filepath.Join(pgdata, "pg_wal", ".pgrescue-prefetch")} {
				if _, err := os.Stat(left); err == nil {
					t.Errorf("%s left behind after recovery", left)
				}
			}
			if got := countRows(t, s); got != r.rows {
				t.Errorf("%d rows, want %d\n%s", got, r.rows, res.stderr)
			}
			for _, want := range []string{"== consistent", "== redo done", "== promoted", "== ready", "log: ", "replay 100.0%"} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
				}
			}
			if r.target != "" && !strings.Contains(res.stdout, "recovery stopped before commit") {
				t.Errorf("summary does not say where recovery stopped:\n%s", res.stdout)
			}
			// The recovery settings are gone once recovery has finished.
			auto, _ := os.ReadFile(filepath.Join(pgdata, "postgresql.auto.conf"))
			if strings.Contains(string(auto), "restore_command") {
				t.Errorf("restore_command left in postgresql.auto.conf:\n%s", auto)
			}
		})
	}
	_ = time.Second
}

// fetchedFixture restores a backup of the fixture for a replay test.
func fetchedFixture(t *testing.T, envdir, backup string) (pgdata string, args []string) {
	t.Helper()
	pgdata = restoreDir(t)
	args = append([]string{"--envdir", envdir}, keyArgs(t)...)
	if res := pgrescue(t, nil, append(args, "backup-fetch", pgdata, backup)...); res.code != 0 {
		t.Fatalf("backup-fetch: %+v", res)
	}
	return pgdata, args
}

const firstBackup = "base_000000010000000000000012_00000012"

// A segment missing from the archive: PostgreSQL stops before it and
// promotes as if the archive ended there. pgrescue warns before starting,
// names the segment after "redo done", and exits 21 with the server up.
func TestReplayReportsAGapByName(t *testing.T) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	srv.Delete(t, "wale-fixtures", "pg15-primary/wal_005/000000010000000000000014.lzo")
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata)...)
	if res.code != 21 {
		t.Fatalf("exit %d, want 21 (replay-incomplete)\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	s := runningServer(t, pgdata, res.stdout)
	if !strings.Contains(res.stderr, "WARNING: the archive is missing 1 WAL segment(s)") {
		t.Errorf("no warning before the start:\n%s", res.stderr)
	}
	if !strings.Contains(res.stderr, "WAL was left unreplayed") || !strings.Contains(res.stderr, "000000010000000000000014") {
		t.Errorf("the gap is not named after redo done:\n%s", res.stderr)
	}
	// Batches 3 to 6 came after the gap.
	if got := countRows(t, s); got >= walefixture.ReadManifest(t).Final.ExpectedRows {
		t.Errorf("%d rows: everything replayed despite the gap?", got)
	}
}

// A target after the newest archived WAL is refused before anything runs.
func TestReplayRefusesATargetAfterTheArchive(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	before := listTree(t, pgdata)
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata, "--target-time", "2026-11-25 03:30:00+00")...)
	if res.code != 3 || !strings.Contains(res.stderr, "the target is after the newest archived WAL") || !strings.Contains(res.stderr, "000000010000000000000018") {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if after := listTree(t, pgdata); after != before {
		t.Errorf("the data directory changed:\nbefore\n%s\nafter\n%s", before, after)
	}
	if _, err := os.Stat(pgdata + ".pgrescue.log"); err == nil {
		t.Error("a server log was created: something ran")
	}
	// A target before the backup completed names the backup that can reach it.
	res = pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata, "--target-time", "2026-11-25T02:52:40Z")...)
	if res.code != 8 && res.code != 3 || !strings.Contains(res.stderr, "before backup "+firstBackup+" completed") {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
}

func TestReplayDryRunChangesNothing(t *testing.T) {
	needPostgres(t)
	envdir, _ := fixtureEnvdir(t)
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	before := listTree(t, pgdata)
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata, "--backup", firstBackup, "--target-time", "2026-11-25T02:52:57.892164Z", "--dry-run")...)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	for _, want := range []string{"recovery.signal", "recovery_target_time = '2026-11-25 02:52:57.892164+00'", "restore_command",
		"wal-fetch --prefetch-socket", "--abort-on-error", "pg_ctl start", "archive_mode=off", "lc_messages=C", "backup " + firstBackup} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, res.stdout)
		}
	}
	if after := listTree(t, pgdata); after != before {
		t.Errorf("the data directory changed:\n%s\n%s", before, after)
	}
	// The private socket directory is named, not created.
	m := regexp.MustCompile(`unix_socket_directories=(\S+)`).FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("no socket directory in the dry run:\n%s", res.stdout)
	}
	if _, err := os.Stat(m[1]); err == nil {
		t.Errorf("the dry run created %s", m[1])
	}
}

// A segment that cannot be fetched (S3 refuses it) must stop recovery with
// PostgreSQL's FATAL, not pass for the end of the archive and promote.
func TestReplayStopsWhenWALCannotBeFetched(t *testing.T) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: "wal_005/000000010000000000000014", Times: s3test.Always},
		s3test.Respond(403, "AccessDenied", "Access Denied"))
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata)...)
	if res.code != 22 {
		t.Fatalf("exit %d, want 22 (recovery-failed)\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"could not restore file \"000000010000000000000014\" from archive", "exit code 200", "S3 denied access"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(pgdata, "recovery.signal")); err != nil {
		t.Errorf("recovery.signal is gone: the server promoted (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(pgdata, "postmaster.pid")); err == nil {
		t.Error("the server is still running")
	}
}

func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil {
			b.WriteString(path + " " + info.Mode().String() + " " + strconv.FormatInt(info.Size(), 10) + " " + info.ModTime().String() + "\n")
		}
		return nil
	})
	return b.String()
}

// ctrl+c during replay stops the server cleanly and leaves the data
// directory resumable: the same replay run again finishes the job. A closed
// terminal (SIGHUP) does the same: it used to orphan PostgreSQL, which then
// promoted with nobody watching.
func TestReplayInterruptedThenResumed(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) { replayInterruptedThenResumed(t, sig) })
	}
}

func replayInterruptedThenResumed(t *testing.T, sig os.Signal) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: "wal_005/000000010000000000000015", Times: s3test.Always},
		s3test.Stall(time.Minute, -1))

	cmd := exec.Command(binary, append(args, "replay", "--pgdata", pgdata)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `restored log file "000000010000000000000014"`) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("replay never reached segment 14:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, stderr.String())
	}
	if pid, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid")); err == nil {
		t.Fatalf("the server still runs (postmaster.pid %q)\n%s", strings.SplitN(string(pid), "\n", 2)[0], stderr.String())
	}
	if !strings.Contains(stderr.String(), "run the same pgrescue replay again to resume") {
		t.Errorf("no next step:\n%s", stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(pgdata, "pg_wal", ".pgrescue-prefetch", "*")); len(left) > 0 {
		t.Errorf("staged files left behind: %v", left)
	}

	srv.Faults().Clear()
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata)...)
	if res.code != 0 {
		t.Fatalf("resumed replay: exit %d\n%s", res.code, res.stderr)
	}
	s := runningServer(t, pgdata, res.stdout)
	if got, want := countRows(t, s), walefixture.ReadManifest(t).Final.ExpectedRows; got != want {
		t.Errorf("%d rows after resuming, want %d", got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A gap before the target: PostgreSQL 13+ refuses to promote, and the
// engineer sees its FATAL line, the gap named beforehand, and what to do.
func TestReplayGapBeforeTheTargetFails(t *testing.T) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	srv.Delete(t, "wale-fixtures", "pg15-primary/wal_005/000000010000000000000013.lzo")
	pgdata, args := fetchedFixture(t, envdir, firstBackup)
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata, "--target-time", "2026-11-25T02:53:02.335231Z")...)
	if res.code != 22 {
		t.Fatalf("exit %d, want 22\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"WARNING: the archive is missing 1 WAL segment(s)", "000000010000000000000013",
		"FATAL:  recovery ended before configured recovery target was reached", "choose an earlier target"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
}

// On Debian the data directory is a cluster's, configured in
// /etc/postgresql: replay finds the cluster and starts it with pg_ctlcluster.
func TestReplayIntoADebianCluster(t *testing.T) {
	needPostgres(t)
	if os.Geteuid() != 0 {
		t.Skip("pg_createcluster needs root")
	}
	for _, tool := range []string{"pg_createcluster", "pg_ctlcluster", "pg_dropcluster"} {
		testtool.Need(t, tool)
	}
	envdir, _ := fixtureEnvdir(t)
	pgdata := restoreDir(t)
	name := "pgrescue_replay_" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("pg_createcluster", "15", name, "-d", pgdata, "-p", strconv.Itoa(freePort(t)), "--start-conf", "manual").CombinedOutput(); err != nil {
		t.Fatalf("pg_createcluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pg_dropcluster", "--stop", "15", name).CombinedOutput(); err != nil {
			t.Errorf("pg_dropcluster: %v\n%s", err, out)
		}
	})
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	if res := pgrescue(t, nil, append(args, "backup-fetch", "--move-aside", pgdata, firstBackup)...); res.code != 0 {
		t.Fatalf("backup-fetch: %+v", res)
	}
	pitr := walefixture.ReadManifest(t).PITRPoints[1]
	res := pgrescue(t, nil, append(args, "replay", "--pgdata", pgdata, "--target-time", pitr.RecoveryTargetTime)...)
	if res.code != 0 {
		t.Fatalf("replay exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "Debian cluster 15/"+name) || !regexp.MustCompile(`pg_ctlcluster .*15 `+name+` stop`).MatchString(res.stdout) {
		t.Errorf("the cluster was not used:\n%s\n%s", res.stderr, res.stdout)
	}
	if _, err := os.Stat(filepath.Join(pgdata, "postgresql.conf")); err == nil {
		t.Error("a postgresql.conf was written into a Debian cluster's data directory")
	}
	s := runningServer(t, pgdata, res.stdout)
	s.Cluster = &recovery.Cluster{Version: "15", Name: name}
	if got := countRows(t, s); got != pitr.ExpectedRows {
		t.Errorf("%d rows, want %d", got, pitr.ExpectedRows)
	}
}

// freePort finds a port no server uses, on TCP or as a socket in Debian's
// socket directory, for a cluster made by a test.
func freePort(t *testing.T) int {
	t.Helper()
	for port := 54399; port < 54499; port++ {
		if _, err := os.Stat(filepath.Join("/var/run/postgresql", ".s.PGSQL."+strconv.Itoa(port))); err == nil {
			continue
		}
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port in 54399-54498")
	return 0
}

// TestReplayInBandWithSettingsFromTheEnvironment: with --prefetch 0 every
// segment is fetched by restore_command itself, in the server's minimal
// environment. Settings pgrescue took from its own environment must reach
// it (it failed with "WALE_S3_PREFIX is not set", exit 22), and no secret
// may land in the recovery settings on disk.
func TestReplayInBandWithSettingsFromTheEnvironment(t *testing.T) {
	needPostgres(t)
	envdir, srv := fixtureEnvdir(t)
	pgdata, _ := fetchedFixture(t, envdir, firstBackup)
	shared := filepath.Join(filepath.Dir(pgdata), "bin")
	os.MkdirAll(shared, 0o755)
	exe := sharedForPostgres(t, shared, binary, 0o755) // restore_command runs as the server's user
	opts := srv.Options()
	cmd := exec.Command(exe, append(keyArgs(t), "replay", "--pgdata", pgdata, "--prefetch", "0")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WALE_S3_PREFIX=s3://wale-fixtures/pg15-primary",
		"WALE_S3_ENDPOINT=" + opts.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + opts.SecretAccessKey}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("replay --prefetch 0: %v\n%s", err, stderr.String())
	}
	s := runningServer(t, pgdata, stdout.String())
	if got, want := countRows(t, s), walefixture.ReadManifest(t).Final.ExpectedRows; got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
	for _, f := range []string{filepath.Join(pgdata, "postgresql.auto.conf"), pgdata + ".pgrescue.log"} {
		if data, _ := os.ReadFile(f); strings.Contains(string(data), opts.SecretAccessKey) {
			t.Errorf("the secret access key was written to %s", f)
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), opts.SecretAccessKey) {
		t.Error("the secret access key was printed")
	}
}
