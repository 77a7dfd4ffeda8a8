package journal_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/journal"
	"pgrescue/shellcmd"
)

func TestRedactorPatterns(t *testing.T) {
	var r journal.Redactor
	r.AddSecret("s3cr3t-passphrase")
	for _, c := range []struct{ in, want string }{
		// registered values, wherever they appear
		{"gpg: bad passphrase s3cr3t-passphrase for key", "gpg: bad passphrase [REDACTED] for key"},
		// NAME=value for config's secret names and the extra ones
		{"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "export AWS_SECRET_ACCESS_KEY=[REDACTED]"},
		{"AWS_SESSION_TOKEN=FQoGZXIvYXdz AWS_SECURITY_TOKEN=IQoJb3JpZ2lu aws s3 ls", "AWS_SESSION_TOKEN=[REDACTED] AWS_SECURITY_TOKEN=[REDACTED] aws s3 ls"},
		{"PGRESCUE_GPG_PASSPHRASE=abc pgrescue restore", "PGRESCUE_GPG_PASSPHRASE=[REDACTED] pgrescue restore"},
		{"PGPASSWORD=" + shellcmd.Quote("it's a secret") + " psql -h db", "PGPASSWORD=[REDACTED] psql -h db"},
		{`env "PGPASSWORD=hunter22" psql`, `env "PGPASSWORD=[REDACTED]" psql`},
		{"host=db password = hunter22 dbname=app", "host=db password = [REDACTED] dbname=app"},
		// --flag=value and --flag value
		{"gpg --batch --passphrase hunter22 --decrypt x.gpg", "gpg --batch --passphrase [REDACTED] --decrypt x.gpg"},
		{"pgrescue --dry-run --gpg-passphrase 'two words' restore", "pgrescue --dry-run --gpg-passphrase [REDACTED] restore"},
		{"pgrescue --gpg-passphrase=hunter22 --aws-secret-access-key wJalr", "pgrescue --gpg-passphrase=[REDACTED] --aws-secret-access-key [REDACTED]"},
		// passwords in URLs, and only the password
		{"psql postgres://app:hunter22@db:5432/app?sslmode=require", "psql postgres://app:[REDACTED]@db:5432/app?sslmode=require"},
		{"https://:tok%40en@s3.example/b?password=x2", "https://:[REDACTED]@s3.example/b?password=[REDACTED]"},
		// not secrets: left alone
		{"--gpg-passphrase-file /etc/wal-e/pass --passphrase-fd 0", "--gpg-passphrase-file /etc/wal-e/pass --passphrase-fd 0"},
		{"PGRESCUE_GPG_PASSPHRASE_FILE=/etc/pass AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "PGRESCUE_GPG_PASSPHRASE_FILE=/etc/pass AWS_ACCESS_KEY_ID=AKIAEXAMPLE"},
		{"psql postgres://app@db/app --pool-size 4 MY_PGPASSWORD=x", "psql postgres://app@db/app --pool-size 4 MY_PGPASSWORD=x"},
		{"the AWS_SESSION_TOKEN is not set", "the AWS_SESSION_TOKEN is not set"},
	} {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestAddSecret(t *testing.T) {
	var r journal.Redactor
	r.AddSecret("abc")        // too short to redact usefully
	r.AddSecret(" a'c\n")     // and so are its quoted forms
	r.AddSecret("abcd")       // a prefix of the next
	r.AddSecret("abcdefgh")   // must win over its prefix
	r.AddSecret("filepass\n") // as read from a passphrase file
	r.AddSecret("")
	got := r.String(`abc abcdefgh abcd filepass 'a'\''c'`)
	if want := `abc [REDACTED] [REDACTED] [REDACTED] 'a'\''c'`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAddSecretHidesItsQuotedForms(t *testing.T) {
	var r journal.Redactor
	secret := `it's "quoted" \ too`
	r.AddSecret(secret)
	for _, text := range []string{
		fmt.Sprintf("gpg: bad passphrase %q", secret),
		"unlock --with " + shellcmd.Quote(secret),
		"plain " + secret,
	} {
		if got := r.String(text); strings.Contains(got, "quoted") {
			t.Errorf("String(%q) = %q, which still shows the secret", text, got)
		}
	}
}

func TestRedactorArgs(t *testing.T) {
	var r journal.Redactor
	args := []string{"pgrescue", "--gpg-passphrase", "my pass phrase", "--passphrase=with space",
		"PGPASSWORD=pw12345", "--s3-prefix", "s3://bucket/prefix", "postgres://u:urlpass@h/db", "--dry-run"}
	want := []string{"pgrescue", "--gpg-passphrase", "[REDACTED]", "--passphrase=[REDACTED]",
		"PGPASSWORD=[REDACTED]", "--s3-prefix", "s3://bucket/prefix", "postgres://u:[REDACTED]@h/db", "--dry-run"}
	if got := r.Args(args); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Args()\n got %q\nwant %q", got, want)
	}
	// Values met in secret positions are hidden from then on, anywhere.
	got := r.String("rejected: my pass phrase, with space, pw12345")
	if want := "rejected: [REDACTED], [REDACTED], [REDACTED]"; got != want {
		t.Errorf("later text: got %q, want %q", got, want)
	}
}

// TestNoSecretReachesTheFile writes a session using every way a secret can
// come in, then looks for each secret in the file's bytes.
func TestNoSecretReachesTheFile(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret-access-key")
	t.Setenv("PGPASSWORD", "env-pg-password")
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j := open(t, path, journal.Meta{Args: []string{"pgrescue", "--gpg-passphrase", "arg passphrase",
		"--aws-session-token=arg-session-token", "restore"}})
	secrets := []string{"env-secret-access-key", "env-pg-password", "arg passphrase", "arg-session-token",
		"url-password", "attr-pg-password", "group-secret-key", "struct-passphrase", "struct-url-pass",
		"late-passphrase", "late-in-a-line", "close-password"}

	j.Event("info", "connecting to postgres://app:url-password@db/app")
	j.Event("info", "settings",
		slog.String("PGPASSWORD", "attr-pg-password"),
		slog.Group("aws", slog.String("region", "eu-west-1"), slog.String("AWS_SECRET_ACCESS_KEY", "group-secret-key")),
		slog.Any("cause", errors.New("auth failed for env-pg-password")),
		slog.Any("settings", struct{ Passphrase, Endpoint string }{"struct-passphrase", "https://k:struct-url-pass@s3"}))

	// A secret registered after a command was described and started ...
	cmd := j.Command(shellcmd.Command{Why: "decrypt", Line: "gpg --batch --decrypt base.tar.lzo.gpg"})
	described := shellcmd.Command{Why: "retry", Line: "unlock --with late-in-a-line"}
	j.AddSecret("late-passphrase")
	j.AddSecret("late-in-a-line")
	// ... is hidden in the error text that ends it, and in the command journaled next.
	cmd.End(fmt.Errorf("gpg: passphrase %q does not unlock the key", "late-passphrase"))
	j.Command(described).End(nil)
	// Values learnt from the arguments and attributes stay hidden in later text.
	j.Step("unlock").End(errors.New("arg passphrase and attr-pg-password were refused"))
	j.Close(errors.New("PGPASSWORD=close-password psql failed"))

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the journal contains the secret %q", s)
		}
	}
	if n := bytes.Count(data, []byte(journal.Placeholder)); n < len(secrets) {
		t.Errorf("%d placeholders in the journal, want at least %d", n, len(secrets))
	}
	for _, kept := range []string{"eu-west-1", "gpg --batch --decrypt base.tar.lzo.gpg", "https://k:[REDACTED]@s3"} {
		if !bytes.Contains(data, []byte(kept)) {
			t.Errorf("the journal lost %q, which is not secret", kept)
		}
	}
	readAll(t, path)
}
