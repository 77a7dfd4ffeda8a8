package wizardbackend

import (
	"os"
	"path/filepath"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/internal/walefixture"
	"pgrescue/restore/recovery"
	"pgrescue/restore/walinspect"
	"pgrescue/session"
	"pgrescue/ui"
)

// TestInspectReadsTheArchiveTheSessionNames: the wizard's "find the
// moment" reads the archive the envdir names, with the session's key and
// passphrase, through the same engine as wal-inspect.
func TestInspectReadsTheArchiveTheSessionNames(t *testing.T) {
	testtool.EndToEnd(t)
	if _, err := walinspect.FindWaldump(t.Context(), recovery.Version{Major: 15}, ""); err != nil {
		testtool.Missing(t, "pg_waldump 15", "install it with: sudo apt-get install postgresql-15")
	}
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	opts := srv.Options()
	envdir := t.TempDir()
	for name, value := range map[string]string{
		"WALE_S3_PREFIX": "s3://wale-fixtures/pg15-primary", "WALE_S3_ENDPOINT": opts.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": opts.AccessKeyID, "AWS_SECRET_ACCESS_KEY": opts.SecretAccessKey,
		"WALE_GPG_KEY_ID": "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF",
	} {
		os.WriteFile(filepath.Join(envdir, name), []byte(value+"\n"), 0o600)
	}
	b := New(session.New(session.Flags{Envdir: envdir, GPGKey: walefixture.Path(t, "gpg-secret-protected.asc"),
		PassphraseFile: walefixture.Path(t, "gpg-passphrase.txt")}))
	var events int
	in, err := b.Inspect(t.Context(), ui.WALERequest{Envdir: envdir}, "", func(walinspect.Event) { events++ })
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != (recovery.Version{Major: 15}) || in.Records == 0 || events == 0 || len(in.Minutes) == 0 {
		t.Fatalf("inspection: version %s, %d records, %d events, %d minutes", in.Version, in.Records, events, len(in.Minutes))
	}
}
