package walesettings

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/problem"
)

func writeEnvdir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadEnvdirDaemontoolsSemantics(t *testing.T) {
	dir := writeEnvdir(t, map[string]string{
		"WALE_S3_PREFIX":   "s3://bucket/path  \t\n",           // trailing white space trimmed
		"AWS_REGION":       "eu-west-1\nsecond line ignored\n", // first line only
		"MULTI":            "a\x00b\n",                         // NUL becomes newline
		"EMPTY":            "",                                 // empty file unsets
		".hidden":          "x",                                // ignored
		"WALE_GPG_KEY_ID":  "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF",
		"NO_NEWLINE_VALUE": "value",
	})
	vars, err := ReadEnvdir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"WALE_S3_PREFIX":   "s3://bucket/path",
		"AWS_REGION":       "eu-west-1",
		"MULTI":            "a\nb",
		"WALE_GPG_KEY_ID":  "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF",
		"NO_NEWLINE_VALUE": "value",
	}
	if len(vars) != len(want) {
		t.Fatalf("got %v, want %v", vars, want)
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
}

func TestPrecedenceFlagsThenEnvironmentThenEnvdir(t *testing.T) {
	dir := writeEnvdir(t, map[string]string{
		S3Prefix: "s3://from-envdir/p\n", Region: "eu-west-1\n", AccessKeyID: "AKIAENVDIR0000001234\n",
		SecretAccessKey: "envdir-secret-value\n", GPGKeyID: "ENVDIRKEY\n",
	})
	env := map[string]string{Region: "eu-west-2", GPGKeyID: "ENVKEY"}
	s, err := Resolve(Sources{
		Envdir: dir, EnvdirExplicit: true,
		Flags:   map[string]FlagValue{GPGKeyID: {Flag: "--gpg-key-id", Value: "FLAGKEY"}},
		Environ: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, value, source string }{
		{S3Prefix, "s3://from-envdir/p", "envdir " + dir + "/" + S3Prefix},
		{Region, "eu-west-2", "environment"},
		{GPGKeyID, "FLAGKEY", "flag --gpg-key-id"},
	}
	for _, c := range cases {
		v, _ := s.Lookup(c.name)
		if v.Value != c.value || v.Source != c.source {
			t.Errorf("%s = %q from %q, want %q from %q", c.name, v.Value, v.Source, c.value, c.source)
		}
	}
}

func TestReportMasksSecrets(t *testing.T) {
	dir := writeEnvdir(t, map[string]string{
		AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SecurityToken: "token-value-123", "WABS_ACCESS_KEY": "azure-secret",
	})
	s, err := Resolve(Sources{Envdir: dir, EnvdirExplicit: true, Environ: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, v := range s.Report() {
		all.WriteString(v.Name + "=" + v.Value + " (" + v.Source + ")\n")
	}
	out := all.String()
	for _, secret := range []string{"wJalrXUtnFEMI", "token-value-123", "azure-secret", "AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(out, secret) {
			t.Errorf("report shows secret %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "AKIA…MPLE") {
		t.Errorf("access key id should be shown masked as AKIA…MPLE:\n%s", out)
	}
	if !strings.Contains(out, "WALE_S3_PREFIX= (unset)") {
		t.Errorf("unset variables should be listed as unset:\n%s", out)
	}
}

func TestMissingExplicitEnvdirIsAConfigError(t *testing.T) {
	_, err := Resolve(Sources{Envdir: "/nonexistent/env.d", EnvdirExplicit: true})
	if problem.KindOf(err) != problem.Config || !strings.Contains(err.Error(), "/nonexistent/env.d") {
		t.Fatalf("got %v", err)
	}
}

func TestUnreadableEnvdirFileNamesTheFile(t *testing.T) {
	// A dangling symlink fails to open even for root, unlike a chmod 000 file.
	dir := writeEnvdir(t, nil)
	if err := os.Symlink("/nonexistent/target", filepath.Join(dir, Region)); err != nil {
		t.Fatal(err)
	}
	_, err := ReadEnvdir(dir)
	if problem.KindOf(err) != problem.Config || !strings.Contains(err.Error(), filepath.Join(dir, Region)) {
		t.Fatalf("got %v", err)
	}
}

func TestS3SettingsNeedAPrefixAndBothKeys(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	s, _ := Resolve(Sources{Envdir: writeEnvdir(t, nil), EnvdirExplicit: true, Environ: none})
	if _, _, err := s.S3(); problem.KindOf(err) != problem.Config || !strings.Contains(err.Error(), S3Prefix) {
		t.Fatalf("missing prefix: %v", err)
	}
	s, _ = Resolve(Sources{Envdir: writeEnvdir(t, map[string]string{S3Prefix: "s3://bkt/p", AccessKeyID: "AKIAXXXXXXXXXXXX"}), EnvdirExplicit: true, Environ: none})
	if _, _, err := s.S3(); problem.KindOf(err) != problem.Config || !strings.Contains(err.Error(), SecretAccessKey) {
		t.Fatalf("half credentials: %v", err)
	}
	s, _ = Resolve(Sources{Envdir: writeEnvdir(t, map[string]string{S3Prefix: "s3://bkt/p", SecurityToken: "tok"}), EnvdirExplicit: true, Environ: none})
	loc, opts, err := s.S3()
	if err != nil || loc.Bucket != "bkt" || loc.Prefix != "p/" || opts.SessionToken != "tok" || opts.AccessKeyID != "" {
		t.Fatalf("got %+v %+v %v", loc, opts, err)
	}
}
