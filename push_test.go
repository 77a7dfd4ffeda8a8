package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
)

// sharedForPostgres copies path into dir (made reachable by the postgres
// user) and returns the copy: the server runs archive_command as postgres,
// which cannot enter root's temporary directories.
func sharedForPostgres(t *testing.T, dir, path string, mode os.FileMode) string {
	t.Helper()
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.Base(path))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(out, src)
	out.Close()
	os.Chmod(dst, mode)
	return dst
}

// TestWALPushAndBackupPushMakeAnArchiveEveryToolReads: a real PostgreSQL 15
// archives its WAL through pgrescue wal-push and is backed up with
// backup-push while it runs; then the real gpg and lzop read every object,
// pgrescue lists the backup, and restores it to the primary's last row.
func TestWALPushAndBackupPushMakeAnArchiveEveryToolReads(t *testing.T) {
	needPostgres(t)
	for _, tool := range []string{"gpg", "lzop", "initdb", "pg_basebackup"} {
		testtool.Need(t, tool)
	}
	srv, envdir, key, exe, work := pushedArchive(t)
	pg := newBenchPostgres(t)
	primary := initBenchPrimary(t, pg, work)
	primary.archiveCommand = exe + " --envdir " + envdir + " --gpg-key " + key + " wal-push %p"
	primary.start(t)
	primary.psql(t, "CREATE TABLE bench_rows (id bigint PRIMARY KEY, account text, amount numeric, at timestamptz, hash text)")
	primary.insertRows(t, 1, 20000)

	r := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "backup-push", "--pgdata", primary.dataDir, "--partition-size", "4194304")
	if r.code != 0 {
		t.Fatalf("backup-push: %+v", r)
	}
	name := strings.Fields(r.stdout)[0]
	primary.insertRows(t, 20001, 30000)
	want := primary.rows(t)
	primary.switchAndStop(t)

	checkEveryObjectWithRealTools(t, srv)
	list := pgrescue(t, nil, "--envdir", envdir, "backup-list")
	if list.code != 0 || !strings.Contains(list.stdout, name) {
		t.Fatalf("backup-list does not show %s: %+v", name, list)
	}
	pgdata := filepath.Join(work, "restored")
	passFile := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	res := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "--gpg-passphrase-file", passFile,
		"restore", "wal-e", "--pgdata", pgdata, "--yes")
	if res.code != 0 {
		t.Fatalf("restore: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	s := runningServer(t, pgdata, res.stdout)
	out, err := s.Psql(t.Context(), "postgres", "SELECT count(*) FROM bench_rows")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(out)); got != want {
		t.Errorf("%d rows restored, want %d", got, want)
	}
}

// pushedArchive is an empty WAL-E archive in a loopback S3 bucket, its
// envdir, the GPG key it encrypts to, and pgrescue where the postgres user
// can run it as archive_command; work is a folder for data directories.
func pushedArchive(t *testing.T) (srv *s3test.Server, envdir, key, exe, work string) {
	srv = s3test.Start(t)
	srv.CreateBucket(t, "pushed")
	opts := srv.Options()

	work = restoreDir(t)
	os.MkdirAll(work, 0o755)
	shared := filepath.Join(filepath.Dir(work), "shared")
	os.MkdirAll(shared, 0o755)
	exe = sharedForPostgres(t, shared, binary, 0o755)
	key = sharedForPostgres(t, shared, s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"), 0o644)
	envdir = filepath.Join(shared, "env.d")
	os.MkdirAll(envdir, 0o755)
	for name, value := range map[string]string{
		"WALE_S3_PREFIX": "s3://pushed/pg15", "WALE_S3_ENDPOINT": opts.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY": opts.SecretAccessKey,
		"WALE_GPG_KEY_ID": "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF", "PGRESCUE_GPG_KEY": key,
	} {
		os.WriteFile(filepath.Join(envdir, name), []byte(value+"\n"), 0o644)
	}
	return srv, envdir, key, exe, work
}

// checkEveryObjectWithRealTools decrypts and decompresses every stored
// object with gpg and lzop, as WAL-E would on restore.
func checkEveryObjectWithRealTools(t *testing.T, srv *s3test.Server) {
	t.Helper()
	passFile := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	home := gpgHomeWithFixture(t, passFile)
	objects := srv.Objects(t, "pushed")
	if len(objects) < 5 {
		t.Fatalf("only %d objects stored", len(objects))
	}
	for _, o := range objects {
		if !strings.HasSuffix(o.Key, ".lzo") {
			continue
		}
		testtool.DecodeLikeWALE(t, home, passFile, o.Key, o.Data)
	}
}

// TestWALPushDryRunPrintsWALEsPipeline: the pipeline WAL-E would run for
// the file, and nothing stored.
func TestWALPushDryRunPrintsWALEsPipeline(t *testing.T) {
	envdir, srv := fixtureEnvdir(t)
	key := s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")
	wal := filepath.Join(t.TempDir(), "000000010000000000000030")
	os.WriteFile(wal, make([]byte, 1024), 0o600)
	srv.ResetRequests()
	r := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "wal-push", "--dry-run", wal)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"lzop -c < " + wal, "gpg -e -z 0 -r 97431D9C5CEB8FBF", "aws s3 cp --sse AES256 - s3://wale-fixtures/pg15-primary/wal_005/000000010000000000000030.lzo"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, req := range srv.Requests() {
		if req.Method == "PUT" {
			t.Errorf("a dry run stored %s", req.Key)
		}
	}
}

// TestBackupPushNamesAServerThatIsNotRunning: a postmaster.pid left by a
// server that died is no server (recovery.RunningServer's rule): backup-push
// says so instead of connecting to the port the dead server wrote.
func TestBackupPushNamesAServerThatIsNotRunning(t *testing.T) {
	needPostgres(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "PG_VERSION"), []byte(installedMajor(t)+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(fmt.Sprintf("%d\n%s\n1700000000\n5432\n/tmp\nlocalhost\n  5432001  0\nready\n", testtool.DeadPID(t), dir)), 0o600)
	r := pgrescue(t, nil, "--s3-prefix", "s3://bucket/pg", "backup-push", "--pgdata", dir)
	if r.code != 3 || !strings.Contains(r.stderr, "no server is running on this data directory") {
		t.Fatalf("%+v", r)
	}
}

// installedMajor is the major version of the PostgreSQL the tests run.
func installedMajor(t *testing.T) string {
	out, err := exec.Command(testtool.Need(t, "pg_ctl"), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out)) // pg_ctl (PostgreSQL) 15.18 (Debian …)
	if len(f) < 3 {
		t.Fatalf("pg_ctl --version: %q", out)
	}
	return strings.Split(f[2], ".")[0]
}
