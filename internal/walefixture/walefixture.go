// Package walefixture opens the real WAL-E 1.1.1 archive of testdata/wale-pg15
// for tests outside package wale: served by an in-process S3 server, with the
// fixture's passphrase-protected key unlocked by its passphrase file.
package walefixture

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"pgrescue/gpg"
	"pgrescue/internal/s3test"
	"pgrescue/restore/wale"
	"pgrescue/storage/s3store"
)

// Prefix is the fixture's WALE_S3_PREFIX.
const Prefix = "s3://wale-fixtures/pg15-primary"

// Open starts an S3 server holding the fixture and returns the archive on it.
func Open(t testing.TB) (*wale.Archive, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	return At(t, srv, Prefix, Keys(t)), srv
}

// At opens the archive under prefix on srv.
func At(t testing.TB, srv *s3test.Server, prefix string, keys *gpg.Keys) *wale.Archive {
	t.Helper()
	loc, err := s3store.ParsePrefix(prefix)
	if err != nil {
		t.Fatal(err)
	}
	store, err := s3store.New(context.Background(), loc, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	return wale.NewArchive(store, keys)
}

// Keys is the fixture's protected secret key with its passphrase.
func Keys(t testing.TB) *gpg.Keys {
	t.Helper()
	keys, err := gpg.LoadKeyFile(Path(t, "gpg-secret-protected.asc"))
	if err != nil {
		t.Fatal(err)
	}
	keys.SetPassphrase(gpg.PassphraseFromFile(Path(t, "gpg-passphrase.txt")))
	return keys
}

// Path names a file of the fixture.
func Path(t testing.TB, elems ...string) string {
	return s3test.FixturePath(t, append([]string{"wale-pg15"}, elems...)...)
}

// Manifest is the part of manifest.json the tests check against.
type Manifest struct {
	PITRPoints []struct {
		AfterBatch         int    `json:"after_batch"`
		RecoveryTargetTime string `json:"recovery_target_time"`
		RFC3339            string `json:"rfc3339"`
		ExpectedRows       int    `json:"expected_rows"`
		ArchivedThrough    string `json:"archived_through_segment"`
		RestoreFromBackup  string `json:"restore_from_backup"`
	} `json:"pitr_points"`
	Final struct {
		ExpectedRows        int    `json:"expected_rows"`
		LastArchivedSegment string `json:"last_archived_segment"`
	} `json:"final"`
	Postgres struct {
		Database   string `json:"database"`
		CountQuery string `json:"count_query"`
	} `json:"postgresql"`
	Latest string `json:"LATEST"`
}

// ReadManifest parses the fixture's manifest.json.
func ReadManifest(t testing.TB) Manifest {
	t.Helper()
	data, err := os.ReadFile(Path(t, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
