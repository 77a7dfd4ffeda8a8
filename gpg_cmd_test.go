package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
)

const gpgFixtureFpr = "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF"

func TestGPGStatusNamesTheArchiveKey(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	key := s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")
	r := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "gpg", "status")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{
		"fingerprint " + gpgFixtureFpr, "rsa2048/0xEC57899CFCBA07F4", "[encrypt]", "passphrase-protected",
		"wal_005/000000010000000000000011.lzo is encrypted to 0xEC57899CFCBA07F4: the keyring holds it",
		"WAL-E does not work with password-protected GPG secret keys", "pgrescue gpg remove-passphrase",
		"WALE_GPG_KEY_ID " + gpgFixtureFpr,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "gpg", "status", "--json")
	var report struct {
		Keys []struct {
			Fingerprint string
			Parts       []struct{ Protection string }
		}
		Object struct {
			Recipients []string
			HeldBy     string `json:"held_by"`
			Protected  bool
		}
		KeyID struct{ Matches []string } `json:"wale_gpg_key_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(report.Keys) != 1 || report.Keys[0].Parts[1].Protection != "protected" || report.Object.HeldBy != gpgFixtureFpr ||
		!report.Object.Protected || len(report.KeyID.Matches) != 1 || report.Object.Recipients[0] != "0xEC57899CFCBA07F4" {
		t.Errorf("json: %s", r.stdout)
	}
}

// TestGPGStatusOfAnUnencryptedObject: a plain lzop object needs no key, and
// status says so instead of looking for a recipient.
func TestGPGStatusOfAnUnencryptedObject(t *testing.T) {
	envdir, _ := fixtureEnvdir(t)
	key := s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")
	object := "format/lzop/testdata/wal-000000010000000000000011.lzo"
	r := pgrescue(t, nil, "--envdir", envdir, "--gpg-key", key, "gpg", "--object", object, "status")
	if r.code != 0 || !strings.Contains(r.stdout, "archived object "+object+" is not encrypted: no key is needed to restore it") {
		t.Errorf("%+v", r)
	}
}

// TestGPGRemoveAndRestorePassphrase runs the real binary on a GnuPG 2 home
// holding the fixture key, and checks the result with the real gpg.
func TestGPGRemoveAndRestorePassphrase(t *testing.T) {
	testtool.Need(t, "gpg")
	testtool.Need(t, "gpg-connect-agent")
	envdir, _ := fixtureEnvdir(t)
	passFile := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	passphrase, _ := os.ReadFile(passFile)
	home := gpgHomeWithFixture(t, passFile)
	object := s3test.FixturePath(t, "wale-pg15", "s3", "wale-fixtures", "pg15-primary", "wal_005", "000000010000000000000012.lzo")
	gpgArgs := []string{"--envdir", envdir, "gpg", "--homedir", home}

	r := pgrescue(t, nil, append(gpgArgs, "remove-passphrase", "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "--edit-key "+gpgFixtureFpr+" passwd save") || !strings.Contains(r.stdout, "cp -p") {
		t.Fatalf("dry run: %+v", r)
	}
	r = pgrescue(t, nil, append(gpgArgs, "remove-passphrase", "--passphrase-file", passFile)...)
	if r.code != 0 || !strings.Contains(r.stdout, "backup: "+home+"/pgrescue-backups/") || !strings.Contains(r.stdout, "verified: decrypted s3://") {
		t.Fatalf("remove: %+v", r)
	}
	if !gpgDecrypts(t, home, object) {
		t.Fatal("after remove-passphrase, gpg --batch -d fails")
	}
	r2 := pgrescue(t, nil, append(gpgArgs, "restore-passphrase")...)
	if r2.code != 0 || !strings.Contains(r2.stdout, "no longer decrypts without a passphrase") {
		t.Fatalf("restore: %+v", r2)
	}
	if gpgDecrypts(t, home, object) {
		t.Fatal("after restore-passphrase, gpg --batch -d decrypts without a passphrase")
	}
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, r2.stderr} {
		if strings.Contains(out, string(passphrase)) {
			t.Fatal("the output shows the passphrase")
		}
	}
}

func TestGPGWrongPassphraseExitsTwelve(t *testing.T) {
	testtool.Need(t, "gpg")
	testtool.Need(t, "gpg-connect-agent")
	envdir, _ := fixtureEnvdir(t)
	home := gpgHomeWithFixture(t, s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt"))
	r := pgrescue(t, []string{"PGRESCUE_GPG_PASSPHRASE=not it"}, "--envdir", envdir, "gpg", "--homedir", home, "remove-passphrase")
	if r.code != 12 || strings.Contains(r.stderr, "not it") {
		t.Fatalf("%+v", r)
	}
}

func gpgHomeWithFixture(t *testing.T, passFile string) string {
	t.Helper()
	home := testtool.GnuPGHome(t)
	key := s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")
	out, err := exec.Command("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", passFile, "--import", key).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return home
}

// gpgDecrypts runs gpg as WAL-E does, unable to ask for a passphrase, after
// making the agent forget cached ones.
func gpgDecrypts(t *testing.T, home, object string) bool {
	t.Helper()
	exec.Command("gpgconf", "--homedir", home, "--reload", "gpg-agent").Run()
	cmd := exec.Command("gpg", "--homedir", home, "--batch", "--no-tty", "--pinentry-mode", "error", "--decrypt", object)
	return cmd.Run() == nil
}

// TestRemovePassphraseNeedsNoArchive: with no archive configured and no
// --object, the runbook's step works and says how it was verified (it used
// to refuse: "no archived object to verify the change with").
func TestRemovePassphraseNeedsNoArchive(t *testing.T) {
	testtool.Need(t, "gpg")
	passFile := s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")
	home := gpgHomeWithFixture(t, passFile)
	r := pgrescue(t, []string{"GNUPGHOME=" + home}, "gpg", "remove-passphrase", "--passphrase-file", passFile)
	if r.code != 0 || !strings.Contains(r.stdout, "verified: decrypted a test message encrypted to key") {
		t.Fatalf("%+v", r)
	}
	r = pgrescue(t, []string{"GNUPGHOME=" + home}, "gpg", "restore-passphrase")
	if r.code != 0 || !strings.Contains(r.stdout, "test message") || !strings.Contains(r.stdout, "no longer decrypts without a passphrase") {
		t.Fatalf("%+v", r)
	}
}
