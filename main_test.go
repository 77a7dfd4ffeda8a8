package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/restore/recovery"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pgr-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pgrescue")
	// Built as `make build` builds it: the tests and benchmarks run the
	// static binary engineers copy to a database machine.
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		panic(string(out))
	}
	sockets := emptySocketDirs()
	code := m.Run()
	if !nothingLeftBehind(sockets) {
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// testRoots are the folders the tests restored into (restoreDir), where
// the servers they and pgrescue start have their data directories.
var testRoots sync.Map

// nothingLeftBehind checks, after every test, that no process runs on a
// folder of theirs (a PostgreSQL a test or pgrescue started) and that no
// empty /tmp/pgrescue-* socket directory was left by a server that
// stopped. Another package's tests may be between mkdir and start, or stop
// and rmdir, at this moment: a socket directory counts only if it is still
// there and empty a moment later.
func nothingLeftBehind(before map[string]bool) bool {
	ok := true
	testRoots.Range(func(root, _ any) bool {
		if out, _ := pgrep(root.(string)); out != "" {
			fmt.Fprintf(os.Stderr, "FAIL: processes of the tests are still running:\n%s\n", out)
			ok = false
		}
		return true
	})
	left := func() map[string]bool {
		now := emptySocketDirs()
		for d := range before {
			delete(now, d)
		}
		return now
	}
	if len(left()) > 0 {
		time.Sleep(2 * time.Second)
		if now := left(); len(now) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the tests left empty socket directories behind: %v\n", now)
			ok = false
		}
	}
	return ok
}

// emptySocketDirs are the private socket directories in /tmp that no
// server uses: empty, or holding only pgrescue's own files (its copy for
// restore_command, the prefetcher's socket), which go with the server.
func emptySocketDirs() map[string]bool {
	dirs := map[string]bool{}
	found, _ := filepath.Glob("/tmp/pgrescue-*")
	for _, d := range found {
		entries, err := os.ReadDir(d)
		if err != nil || !recovery.PrivateSocketDir(d) {
			continue
		}
		unused := true
		for _, e := range entries {
			unused = unused && slices.Contains(recovery.PrivateSocketFiles, e.Name())
		}
		if unused {
			dirs[d] = true
		}
	}
	return dirs
}

type result struct {
	stdout, stderr string
	code           int
}

// pgrescue runs the real binary with a clean environment plus env.
func pgrescue(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return pgrescueWithInput(t, env, "", args...)
}

// pgrescueWithInput runs the real binary with answers on its stdin.
func pgrescueWithInput(t *testing.T, env []string, input string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

// fixtureEnvdir serves the WAL-E fixture and writes an envdir for it, as
// GOV.UK's puppet did in /etc/wal-e/env.d.
func fixtureEnvdir(t *testing.T) (envdir string, srv *s3test.Server) {
	srv = s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	opts := srv.Options()
	envdir = t.TempDir()
	for name, value := range map[string]string{
		"WALE_S3_PREFIX":        "s3://wale-fixtures/pg15-primary\n",
		"WALE_S3_ENDPOINT":      opts.Endpoint + "\n",
		"AWS_REGION":            "us-east-1\n",
		"AWS_ACCESS_KEY_ID":     opts.AccessKeyID + "\n",
		"AWS_SECRET_ACCESS_KEY": opts.SecretAccessKey + "\n",
		"WALE_GPG_KEY_ID":       "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF\n",
	} {
		os.WriteFile(filepath.Join(envdir, name), []byte(value), 0o640)
	}
	return envdir, srv
}

func keyArgs(t *testing.T) []string {
	return []string{"--gpg-key", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"),
		"--gpg-passphrase-file", s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")}
}

func TestVersionAndHelpListEveryCommand(t *testing.T) {
	if r := pgrescue(t, nil, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "pgrescue version ") {
		t.Fatalf("--version: %+v", r)
	}
	r := pgrescue(t, nil, "help")
	for _, cmd := range []string{"backup-list ", "backup-fetch ", "wal-fetch ", "wal-list ", "replay ", "settings ", "rds-status ", "rds ", "pgrescue exit-codes "} {
		if !strings.Contains(r.stdout, "  "+cmd) {
			t.Errorf("help does not list %s:\n%s", cmd, r.stdout)
		}
	}
	if r := pgrescue(t, nil, "config", "--help"); r.code != 0 || !strings.Contains(r.stdout, "pgrescue settings") {
		t.Errorf("config is no longer an alias of settings: %+v", r)
	}
	r = pgrescue(t, nil, "help", "exit-codes")
	for _, line := range []string{"1  not-found", "9  key-missing", "15  unsafe-member", "21  replay-incomplete", "22  recovery-failed",
		"31  rds-not-found", "36  rds-failed", "38  throttled", "130  interrupted"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("exit-codes lacks %q:\n%s", line, r.stdout)
		}
	}
}

func TestUsageErrorsExitThree(t *testing.T) {
	if r := pgrescue(t, nil, "backup-fetch", "only-one-arg"); r.code != 3 || !strings.Contains(r.stderr, "usage: pgrescue backup-fetch") {
		t.Fatalf("%+v", r)
	}
	if r := pgrescue(t, nil, "backup-list", "--no-such-flag"); r.code != 3 {
		t.Fatalf("%+v", r)
	}
}

func TestBackupListIsWALECompatible(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	want, _ := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "logs", "backup-list-detail.tsv"))
	r := pgrescue(t, nil, "--envdir", envdir, "backup-list", "--detail")
	if r.code != 0 || r.stdout != string(want) {
		t.Fatalf("exit %d\n%q\nwant\n%q\nstderr %s", r.code, r.stdout, want, r.stderr)
	}
	want, _ = os.ReadFile(s3test.FixturePath(t, "wale-pg15", "logs", "backup-list-detail-LATEST.tsv"))
	if r := pgrescue(t, nil, "--envdir", envdir, "backup-list", "--detail", "LATEST"); r.stdout != string(want) {
		t.Fatalf("LATEST: %q", r.stdout)
	}
	r = pgrescue(t, nil, "--envdir", envdir, "backup-list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 || rows[1]["latest"] != true || rows[0]["expanded_size_bytes"].(float64) != 31139202 {
		t.Fatalf("json: %v %s", err, r.stdout)
	}
	if r := pgrescue(t, nil, "--envdir", envdir, "backup-list", "not-a-backup"); r.code != 3 {
		t.Fatalf("bad query: %+v", r)
	}
}

func TestConfigShowsSourcesAndMasksSecrets(t *testing.T) {
	envdir, srv := fixtureEnvdir(t)
	r := pgrescue(t, []string{"AWS_REGION=eu-west-2"}, "--envdir", envdir, "--gpg-key-id", "97431D9C5CEB8FBF", "settings")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{
		"WALE_S3_PREFIX", "s3://wale-fixtures/pg15-primary", "envdir " + envdir + "/WALE_S3_PREFIX",
		"eu-west-2", "environment", "97431D9C5CEB8FBF", "flag --gpg-key-id", "AKIA…WXYZ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, srv.Options().SecretAccessKey) {
		t.Error("config printed the secret access key")
	}
}

func TestBackupFetchProgressOnStderrSummaryOnStdout(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	dataDir := filepath.Join(t.TempDir(), "main")
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	r := pgrescue(t, nil, append(args, "backup-fetch", "--pool-size", "2", dataDir, "LATEST")...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if !strings.HasPrefix(r.stdout, "restored base_000000010000000000000016_00000016 into "+dataDir) {
		t.Errorf("stdout: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, "fetching 1 partition(s)") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "global", "pg_control")); err != nil {
		t.Error(err)
	}
	// Again, into the now non-empty directory: refused with its own exit status.
	r = pgrescue(t, nil, append(args, "backup-fetch", dataDir, "LATEST")...)
	if r.code != 16 || !strings.Contains(r.stderr, "--move-aside") {
		t.Errorf("second fetch: %+v", r)
	}
	r = pgrescue(t, nil, append(args, "backup-fetch", "--dry-run", "--move-aside", dataDir, "LATEST")...)
	if r.code != 0 || !strings.Contains(r.stdout, "| gpg -d -q --batch | lzop -d -c | tar -x -C") || !strings.Contains(r.stdout, "sync -f "+dataDir) {
		t.Errorf("dry run: %+v", r)
	}
}

// TestBackupFetchNoSyncSaysSo: --no-sync restores the same files, says
// they are not on disk yet and how to flush them, and its plan has no sync.
func TestBackupFetchNoSyncSaysSo(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	dataDir := filepath.Join(t.TempDir(), "main")
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	r := pgrescue(t, nil, append(args, "backup-fetch", "--no-sync", dataDir, "LATEST")...)
	if r.code != 0 || !strings.Contains(r.stdout, "not flushed to disk (--no-sync): run `sync -f "+dataDir+"`") {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "global", "pg_control")); err != nil {
		t.Error(err)
	}
	r = pgrescue(t, nil, append(args, "backup-fetch", "--dry-run", "--no-sync", filepath.Join(t.TempDir(), "x"), "LATEST")...)
	if r.code != 0 || strings.Contains(r.stdout, "sync -f") || !strings.Contains(r.stdout, "tar -x -C") {
		t.Errorf("dry run: %+v", r)
	}
	synced := pgrescue(t, nil, append(args, "backup-fetch", filepath.Join(t.TempDir(), "y"), "LATEST")...)
	if synced.code != 0 || strings.Contains(synced.stdout, "not flushed") {
		t.Errorf("a synced fetch: %+v", synced)
	}
}

func TestWALFetchExitStatusesForRestoreCommand(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	dir := t.TempDir()
	args := append([]string{"--envdir", envdir}, keyArgs(t)...)
	r := pgrescue(t, nil, append(args, "wal-fetch", "000000010000000000000014", filepath.Join(dir, "RECOVERYXLOG"))...)
	if st, err := os.Stat(filepath.Join(dir, "RECOVERYXLOG")); r.code != 0 || err != nil || st.Size() != 16<<20 {
		t.Fatalf("fetch: %+v", r)
	}
	r = pgrescue(t, nil, append(args, "wal-fetch", "0000000100000000000000FE", filepath.Join(dir, "X"))...)
	if r.code != 1 {
		t.Fatalf("missing segment must exit 1: %+v", r)
	}
	// No key: not "not in archive" (which would end recovery early) but a failure.
	r = pgrescue(t, nil, "--envdir", envdir, "wal-fetch", "000000010000000000000014", filepath.Join(dir, "Y"))
	if r.code != 2 || !strings.Contains(r.stderr, "--gpg-key") {
		t.Fatalf("no key must exit 2 with advice: %+v", r)
	}
}

func TestWALListReportsContinuity(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	r := pgrescue(t, nil, "--envdir", envdir, "wal-list", "--backup", "base_000000010000000000000012_00000012")
	if r.code != 0 || !strings.Contains(r.stdout, "9 segments") || !strings.Contains(r.stdout, "newest archived segment: 000000010000000000000018 (7 segments") || !strings.Contains(r.stdout, "complete") {
		t.Fatalf("%+v", r)
	}
}

// TestBadValuesAreUsageErrorsNamingTheRange: a blank --target-time (an
// unset variable in a script) is refused instead of replaying to the end of
// the archive; counts and ports outside their range are refused with it;
// and restore_command's wal-fetch never answers a bad flag with a status
// PostgreSQL reads as "not in the archive".
func TestBadValuesAreUsageErrorsNamingTheRange(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay", "--pgdata", dir, "--target-time", ""}, 3, "--target-time"},
		{[]string{"restore", "wal-e", "--pgdata", dir, "--target-time", "  ", "--yes"}, 3, "the target time is empty"},
		{[]string{"backup-fetch", "--pool-size", "-1", dir, "LATEST"}, 3, "from 1 to 64"},
		{[]string{"restore", "wal-e", "--pgdata", dir, "--pool-size", "0"}, 3, "from 1 to 64"},
		{[]string{"replay", "--pgdata", dir, "--prefetch", "-5"}, 3, "from 0 to 256"},
		{[]string{"replay", "--pgdata", dir, "--port", "70000"}, 3, "from 0 to 65535"},
		{[]string{"wal-fetch", "--abort-on-error", "--no-such-flag", "000000010000000000000012", "x"}, 200, "no-such-flag"},
		{[]string{"wal-fetch", "--abort-on-error", "000000010000000000000012"}, 200, "usage"},
		{[]string{"wal-fetch", "--no-such-flag", "000000010000000000000012", "x"}, 2, "no-such-flag"},
	} {
		r := pgrescue(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("pgrescue %s: exit %d, want %d with %q\n%s", strings.Join(tc.args, " "), r.code, tc.code, tc.want, r.stderr)
		}
	}
}

// TestManPageCompletionAndConfigEverywhere: the manual page is written
// from the command tree (every command, every exit status), shell
// completion exists, and every command takes --config.
func TestManPageCompletionAndConfigEverywhere(t *testing.T) {
	r := pgrescue(t, nil, "man")
	if r.code != 0 || !strings.HasPrefix(r.stdout, ".TH PGRESCUE 1") {
		t.Fatalf("man: %+v", r)
	}
	for _, want := range []string{"backup-fetch", "wal-fetch", "restore wal-e", "gpg remove-passphrase", ".SH EXIT STATUS", "datadir-in-use", "--target-time"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the manual page lacks %q", want)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if r := pgrescue(t, nil, "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "pgrescue") {
			t.Errorf("completion %s: %+v", shell, r)
		}
	}
	if r := pgrescue(t, nil, "backup-list", "--config", "/nonexistent.yaml", "--s3-prefix", "not-a-url"); strings.Contains(r.stderr, "unknown flag") {
		t.Errorf("a subcommand refuses --config: %s", r.stderr)
	}
}

// TestEveryCommandIsJournalled: a command that reads or changes the archive
// keeps a session journal with its true outcome, and `pgrescue journal
// --last N` shows the last runs as a timeline.
func TestEveryCommandIsJournalled(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	if r := pgrescue(t, env, "--envdir", envdir, "backup-list"); r.code != 0 {
		t.Fatalf("backup-list: %+v", r)
	}
	pgdata := filepath.Join(t.TempDir(), "main")
	if r := pgrescue(t, env, "--envdir", envdir, "--gpg-key", keyArgs(t)[1], "backup-fetch", pgdata, "LATEST"); r.code != 11 {
		t.Fatalf("backup-fetch with a locked key: %+v", r)
	}
	pgrescue(t, env, "--envdir", envdir, "wal-fetch", "000000010000000000000012", filepath.Join(t.TempDir(), "x")) // PostgreSQL's: no journal
	r := pgrescue(t, env, "journal", "--last", "5")
	if r.code != 0 {
		t.Fatalf("journal: %+v", r)
	}
	if n := strings.Count(r.stdout, "session "); n != 2 {
		t.Errorf("%d sessions, want 2 (backup-list, backup-fetch):\n%s", n, r.stdout)
	}
	for _, want := range []string{`event\s+command\s+pgrescue backup-list\n\s+ended .*: ok`, `event\s+command\s+pgrescue backup-fetch\n\s+ended .*: error: the GPG secret key is protected`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("the timeline lacks %s:\n%s", want, r.stdout)
		}
	}
}

// TestTablespaceMappingIsReadAsPgBasebackupReadsIt: OID=DIR, repeatable; a
// malformed one is a usage error with an example.
func TestTablespaceMappingIsReadAsPgBasebackupReadsIt(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"16400", "abc=/srv/ts", "16400="} {
		r := pgrescue(t, nil, "backup-fetch", "--tablespace-mapping", bad, filepath.Join(dir, "main"), "LATEST")
		if r.code != 3 || !strings.Contains(r.stderr, "--tablespace-mapping 16400=/srv/postgresql/ts16400") {
			t.Errorf("--tablespace-mapping %s: %+v", bad, r)
		}
	}
}

// TestDumpListNamesTheNightlyDumps: the legacy dumps of an
// autopostgresqlbackup tree, newest first, by database, with the rest
// listed as not recognised; a malformed source is a usage error.
func TestDumpListNamesTheNightlyDumps(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"daily/db1/db1_2026-11-25_03h00m.Wednesday.sql.gz", "daily/db2/db2_2026-11-25_03h00m.Wednesday.sql.gz",
		"weekly/db1/db1_week.47.2026-11-21_03h00m.sql.gz", "daily/db1/db1_2026-11-24_03h00m.Tuesday.sql.gz.enc", "host-1.log"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755)
		os.WriteFile(filepath.Join(root, name), []byte("-- dump"), 0o600)
	}
	r := pgrescue(t, nil, "dump-list", "--source", root, "--database", "db1", "--timezone", "UTC")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "2026-11-25 03:00 UTC  daily") || !strings.Contains(lines[2], "encrypted") ||
		!strings.Contains(lines[3], "weekly") || lines[4] != "not recognised: host-1.log" || strings.Contains(r.stdout, "db2") {
		t.Errorf("dump-list:\n%s", r.stdout)
	}
	if r := pgrescue(t, nil, "dump-list", "--source", root, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"Database": "db2"`) {
		t.Errorf("--json: %+v", r)
	}
	if r := pgrescue(t, nil, "dump-list", "--source", "ssh://backup-1"); r.code != 3 || !strings.Contains(r.stderr, "ssh://[user@]host[:port]/path") {
		t.Errorf("an ssh source without a path: %+v", r)
	}
	if r := pgrescue(t, nil, "dump-list", "--source", root, "--timezone", "Mars/Olympus"); r.code != 3 || !strings.Contains(r.stderr, "--timezone") {
		t.Errorf("a bad time zone: %+v", r)
	}
}

// TestRecoveryTargetFlagsAreCheckedBeforeAnything: two targets at once, a
// malformed LSN, --target-exclusive alone and an unknown --target are usage
// errors naming the flags.
func TestRecoveryTargetFlagsAreCheckedBeforeAnything(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--target-xid", "726", "--target-time", "2026-11-25 14:05:00+00"}, "give one recovery target, not --target-time and --target-xid"},
		{[]string{"--target-lsn", "16-B3"}, `"16-B3" is not an LSN`},
		{[]string{"--target-exclusive"}, "--target-exclusive needs a target"},
		{[]string{"--target", "latest"}, "--target takes only immediate"},
		{[]string{"--target-xid", "2"}, "transaction ids below 3"},
	} {
		for _, cmd := range [][]string{{"replay"}, {"restore", "wal-e"}} {
			args := append(append(append([]string{}, cmd...), "--pgdata", t.TempDir()), tc.args...)
			if r := pgrescue(t, nil, args...); r.code != 3 || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
		}
	}
}
