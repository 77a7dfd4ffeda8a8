package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pgrescue/internal/mototest"
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
