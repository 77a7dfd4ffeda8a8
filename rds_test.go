package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/internal/mototest"
	"pgrescue/internal/rdssim"
	"pgrescue/internal/testtool"
)

// motoEnv is moto_server with GOV.UK's source instance, and the
// environment that points the real binary at it as an engineer's shell
// would: keys in the environment, AWS_ENDPOINT_URL_RDS for the endpoint.
func motoEnv(t *testing.T) []string {
	srv := mototest.Start(t)
	srv.MakeSource(t, "eu-west-1")
	return []string{
		"AWS_ENDPOINT_URL_RDS=" + srv.URL, "AWS_ENDPOINT_URL_ROUTE_53=" + srv.URL,
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=" + rdsSecret, "AWS_REGION=eu-west-1",
		"XDG_STATE_HOME=" + t.TempDir(),
	}
}

const rdsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func TestRDSStatusRestoreAndCutOverThroughTheBinary(t *testing.T) {
	env := motoEnv(t)
	src := mototest.SourceInstance
	r := pgrescue(t, env, "rds-status", "--instance", src)
	if r.code != 0 || !strings.Contains(r.stdout, "point in time: from") || !strings.Contains(r.stdout, mototest.SourceSnapshot) {
		t.Fatalf("rds-status: %+v", r)
	}
	r = pgrescue(t, env, "rds-status", "--instance", src, "--json")
	var st struct {
		Instance struct{ Engine, SubnetGroup string }
		Window   struct{ RetentionDays int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Instance.SubnetGroup != "blue-govuk-rds-subnet" || st.Window.RetentionDays != 7 {
		t.Fatalf("rds-status --json: %v %+v\n%s", err, st, r.stdout)
	}
	if r := pgrescue(t, env, "rds-status", "--app", "local-links-manager"); r.code != 0 || !strings.Contains(r.stdout, src) {
		t.Fatalf("rds-status --app: %+v", r)
	}

	r = pgrescue(t, env, "restore", "rds", "--instance", src, "--latest", "--target-instance", "llm-restored", "--dry-run")
	for _, want := range []string{"aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier " + src,
		"--db-subnet-group-name blue-govuk-rds-subnet", "--db-parameter-group-name local-links-manager-postgres-20220705",
		"--multi-az", "--port 5433", "DB subnet group", "aws rds wait db-instance-available"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 {
		t.Fatalf("dry run: %+v", r)
	}
	if r := pgrescue(t, env, "restore", "rds", "--instance", src, "--latest", "--target-instance", "llm-restored"); r.code != 3 || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("without --yes: %+v", r)
	}
	r = pgrescue(t, env, "restore", "rds", "--instance", src, "--latest", "--target-instance", "llm-restored", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "available: llm-restored at llm-restored.") || !strings.Contains(r.stdout, "psql 'host=llm-restored.") {
		t.Fatalf("restore: %+v", r)
	}
	if r := pgrescue(t, env, "rds", "cut-over", "--old", src, "--new", "llm-restored", "--yes", "--confirm", "local-links"); r.code != 3 {
		t.Fatalf("a cut-over confirmed with the wrong name: %+v", r)
	}
	r = pgrescue(t, env, "rds", "cut-over", "--old", src, "--new", "llm-restored", "--yes", "--confirm", src)
	if r.code != 0 || !regexp.MustCompile(`delete-db-instance --db-instance-identifier `+src+`-before-\d{12}`).MatchString(r.stdout) {
		t.Fatalf("cut-over: %+v", r)
	}
	r = pgrescue(t, env, "rds-status", "--instance", src, "--json")
	if !strings.Contains(r.stdout, "pgrescue:restored-from") {
		t.Fatalf("after the cut-over, %s is not the restored instance:\n%s", src, r.stdout)
	}
	noSecretAnywhere(t, env, rdsSecret)
}

// noSecretAnywhere reads every journal the commands wrote.
func noSecretAnywhere(t *testing.T, env []string, secret string) {
	t.Helper()
	var state string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_STATE_HOME="); ok {
			state = v
		}
	}
	n := 0
	filepath.Walk(state, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
			if data, _ := os.ReadFile(path); strings.Contains(string(data), secret) {
				t.Errorf("%s holds the AWS secret", path)
			}
		}
		return nil
	})
	if n == 0 {
		t.Errorf("no journal was written under %s", state)
	}
}

func TestRDSFailuresHaveTheirExitCodes(t *testing.T) {
	env := motoEnv(t)
	src := mototest.SourceInstance
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"unknown instance", []string{"rds-status", "--instance", "no-such-db"}, 31, "does not exist"},
		{"outside the window", []string{"restore", "rds", "--instance", src, "--target-time", "2020-01-01 00:00:00+00", "--dry-run"}, 32, "before the earliest restorable time"},
		{"name taken", []string{"restore", "rds", "--instance", src, "--latest", "--target-instance", src, "--dry-run"}, 33, "already exists"},
		{"bad name", []string{"restore", "rds", "--instance", src, "--latest", "--target-instance", "1st-copy", "--dry-run"}, 3, "not a valid RDS instance identifier"},
		{"two targets", []string{"restore", "rds", "--instance", src, "--latest", "--snapshot", "x", "--dry-run"}, 3, "exactly one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := pgrescue(t, env, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.says) {
				t.Fatalf("exit %d, want %d with %q:\n%s", r.code, tc.code, tc.says, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, rdsSecret) {
				t.Fatal("the AWS secret was printed")
			}
		})
	}
	// No credentials at all: the default chain names what it tried.
	bare := []string{"AWS_ENDPOINT_URL_RDS=" + env[0][len("AWS_ENDPOINT_URL_RDS="):], "AWS_REGION=eu-west-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=incident"}
	r := pgrescue(t, bare, "rds-status", "--instance", src)
	if r.code != 4 || !strings.Contains(r.stderr, `the AWS profile "incident" (AWS_PROFILE) is not in ~/.aws/config`) {
		t.Fatalf("a profile that does not exist: %+v", r)
	}
	bare = []string{"AWS_ENDPOINT_URL_RDS=" + env[0][len("AWS_ENDPOINT_URL_RDS="):], "AWS_REGION=eu-west-1", "AWS_EC2_METADATA_DISABLED=true"}
	r = pgrescue(t, bare, "rds-status", "--instance", src)
	if r.code != 6 || !strings.Contains(r.stderr, "no AWS credentials were found") || !strings.Contains(r.stderr, "profile default in ~/.aws") {
		t.Fatalf("no credentials: %+v", r)
	}
	bare = []string{"AWS_ENDPOINT_URL_RDS=" + env[0][len("AWS_ENDPOINT_URL_RDS="):], "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=x"}
	if r := pgrescue(t, bare, "rds-status", "--instance", src); r.code != 4 || !strings.Contains(r.stderr, "--region") {
		t.Fatalf("no region: %+v", r)
	}
}

// TestRDSCtrlCStopsTheWaitNotTheRestore runs the binary against the RDS
// simulator with a restore that never becomes available: SIGINT during the
// wait exits 130 with how to check on it later, and the restore is left to
// AWS (nothing deleted). --wait-limit ends the wait the same way, exit 37.
func TestRDSCtrlCStopsTheWaitNotTheRestore(t *testing.T) {
	testtool.EndToEnd(t)
	sim := rdssim.New(rdssim.Options{})
	if err := sim.AddInstance(rdssim.Instance{ID: "llm-postgres", BackupRetentionPeriod: 7}); err != nil {
		t.Fatal(err)
	}
	sim.StallRestore("llm-stuck")
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	env := []string{"AWS_ENDPOINT_URL_RDS=" + url, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=" + rdsSecret, "AWS_REGION=eu-west-1"}

	r := pgrescue(t, env, "restore", "rds", "--instance", "llm-postgres", "--latest", "--target-instance", "llm-stuck", "--wait-limit", "2s", "--yes")
	if r.code != 37 || !strings.Contains(r.stderr, "llm-stuck was still creating after") || !strings.Contains(r.stderr, "pgrescue rds-status --instance llm-stuck") {
		t.Fatalf("--wait-limit: %+v", r)
	}

	cmd := exec.Command(binary, "restore", "rds", "--instance", "llm-postgres", "--latest", "--target-instance", "llm-stuck-2", "--yes")
	sim.StallRestore("llm-stuck-2")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), "waiting until llm-stuck-2 is available"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the wait did not start:\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(stderr.String(), "the restore goes on in AWS") {
		t.Fatalf("SIGINT: %v\n%s", err, stderr.String())
	}
	if status, ok := sim.Status("llm-stuck-2"); !ok || status != "creating" {
		t.Fatalf("the restore was touched: %q %v", status, ok)
	}
	for _, req := range sim.Requests() {
		if strings.HasPrefix(req.Action, "Delete") || strings.HasPrefix(req.Action, "Stop") {
			t.Fatalf("pgrescue sent %s", req.Action)
		}
	}
}
