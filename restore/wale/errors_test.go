package wale

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"pgrescue/format/lzop"
	"pgrescue/gpg"
	"pgrescue/internal/s3test"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

const walName = "000000010000000000000011"

func wantKind(t *testing.T, err error, kind problem.Kind, mentions ...string) {
	t.Helper()
	if problem.KindOf(err) != kind {
		t.Fatalf("got %v (kind %v), want kind %v", err, problem.KindOf(err), kind)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error does not mention %q:\n%v", m, err)
		}
	}
	var pe *problem.Error
	if errors.As(err, &pe); pe.Next == "" {
		t.Errorf("error gives no next step: %v", err)
	}
}

func fetchWAL(a *Archive, t *testing.T) error {
	_, err := a.FetchWAL(context.Background(), walName, filepath.Join(t.TempDir(), "RECOVERYXLOG"))
	return err
}

func TestEncryptedArchiveWithoutAKey(t *testing.T) {
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	err := fetchWAL(archiveAt(t, srv, fixturePrefix, nil), t)
	wantKind(t, err, problem.KeyMissing, "s3://wale-fixtures/pg15-primary/wal_005/"+walName+".lzo")
}

func otherKeyFile(t *testing.T) (path, keyID string) {
	t.Helper()
	e, err := openpgp.NewEntity("someone else", "", "else@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	path = filepath.Join(t.TempDir(), "other.asc")
	os.WriteFile(path, buf.Bytes(), 0o600)
	return path, fmt.Sprintf("%016X", e.PrimaryKey.KeyId)
}

func TestKeyThatIsNotTheRecipient(t *testing.T) {
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	path, id := otherKeyFile(t)
	keys, err := gpg.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = fetchWAL(archiveAt(t, srv, fixturePrefix, keys), t)
	recipients, _ := gpg.RecipientKeyIDs(bytes.NewReader(mustRead(t, s3test.FixturePath(t, "wale-pg15", "s3", "wale-fixtures", "pg15-primary", "wal_005", walName+".lzo"))))
	wantKind(t, err, problem.WrongKey, id, fmt.Sprintf("%016X", recipients[0]))
}

func TestProtectedKeyWithoutPassphrase(t *testing.T) {
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	keys, _ := gpg.LoadKeyFile(s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"))
	err := fetchWAL(archiveAt(t, srv, fixturePrefix, keys), t)
	wantKind(t, err, problem.PassphraseNeeded)
	if strings.Contains(strings.ToLower(err.Error()), "lzo") && !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("a key problem reported as a format problem: %v", err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	keys, _ := gpg.LoadKeyFile(s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"))
	keys.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) { return []byte("wrong horse"), nil })
	err := fetchWAL(archiveAt(t, srv, fixturePrefix, keys), t)
	wantKind(t, err, problem.WrongPassphrase)
	if strings.Contains(err.Error(), "wrong horse") {
		t.Error("the passphrase appears in the error")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var fixtureTime = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// plainWAL is a real WAL-E lzop stream of segment 11, decrypted: archives
// without WALE_GPG_KEY_ID store exactly this.
func plainWAL(t *testing.T) []byte {
	return mustRead(t, filepath.Join("..", "..", "format", "lzop", "testdata", "wal-"+walName+".lzo"))
}

func TestUnencryptedArchiveIsReadWithoutAKey(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "plain")
	srv.Put(t, "plain", "p/wal_005/"+walName+".lzo", plainWAL(t), "", fixtureTime)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	if _, err := archiveAt(t, srv, "s3://plain/p", nil).FetchWAL(context.Background(), walName, dest); err != nil {
		t.Fatal(err)
	}
	walPageHeader(t, walName, mustRead(t, dest))
}

// TestUnencryptedObjectWithAProtectedKey: an object that is not encrypted
// is read as it is, and the passphrase of the key given is never asked for.
func TestUnencryptedObjectWithAProtectedKey(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "plain")
	srv.Put(t, "plain", "p/wal_005/"+walName+".lzo", plainWAL(t), "", fixtureTime)
	keys, err := gpg.LoadKeyFile(s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"))
	if err != nil {
		t.Fatal(err)
	}
	keys.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) {
		t.Error("the passphrase was asked for an object that is not encrypted")
		return nil, errors.New("not asked")
	})
	if err := fetchWAL(archiveAt(t, srv, "s3://plain/p", keys), t); err != nil {
		t.Fatal(err)
	}
}

// TestObjectNeitherEncryptedNorCompressed: what a proxy's error page or a
// foreign file in the prefix looks like; the diagnosis is about the object,
// never about keys or passphrases, and shows its first bytes.
func TestObjectNeitherEncryptedNorCompressed(t *testing.T) {
	for name, body := range map[string][]byte{
		"html": []byte("<html><body>503 Service Unavailable</body></html>"),
		"gzip": {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6},
	} {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t)
			srv.CreateBucket(t, "plain")
			srv.Put(t, "plain", "p/wal_005/"+walName+".lzo", body, "", fixtureTime)
			keys, _ := gpg.LoadKeyFile(s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"))
			err := fetchWAL(archiveAt(t, srv, "s3://plain/p", keys), t)
			wantKind(t, err, problem.Corrupt, "neither lzop-compressed nor OpenPGP-encrypted", fmt.Sprintf("% x", body[:4]), "s3://plain/p/wal_005/"+walName+".lzo")
			if strings.Contains(err.Error(), "passphrase") {
				t.Errorf("a format problem reported as a key problem: %v", err)
			}
		})
	}
}

func TestCorruptLzopBlockNamesObjectAndOffset(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "plain")
	data := plainWAL(t)
	data[len(data)/2] ^= 0x55
	srv.Put(t, "plain", "p/wal_005/"+walName+".lzo", data, "", fixtureTime)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	_, err := archiveAt(t, srv, "s3://plain/p", nil).FetchWAL(context.Background(), walName, dest)
	wantKind(t, err, problem.Corrupt, "s3://plain/p/wal_005/"+walName+".lzo", "offset")
	if _, statErr := os.Stat(dest); statErr == nil {
		t.Error("a corrupt WAL file was put in place")
	}
}

func TestTruncatedDownload(t *testing.T) {
	a, srv := fixtureArchive(t)
	srv.Faults().Inject(s3test.Match{Method: http.MethodGet, KeyContains: walName, Times: s3test.Always}, s3test.TruncateAt(1000))
	wantKind(t, fetchWAL(a, t), problem.Truncated, walName)
}

func TestTransientServerErrorsAreRetried(t *testing.T) {
	a, srv := fixtureArchive(t)
	srv.Faults().Inject(s3test.Match{Method: http.MethodGet, KeyContains: walName, Times: 2}, s3test.Respond(500, "InternalError", "try again"))
	if err := fetchWAL(a, t); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSegmentIsNotFound(t *testing.T) {
	a, _ := fixtureArchive(t)
	dest := filepath.Join(t.TempDir(), "RECOVERYXLOG")
	_, err := a.FetchWAL(context.Background(), "0000000100000000000000FE", dest)
	wantKind(t, err, problem.NotFound, "0000000100000000000000FE")
	if _, statErr := os.Stat(dest); statErr == nil {
		t.Error("DEST exists after a miss")
	}
	_, err = a.FetchWAL(context.Background(), "00000002.history", dest)
	wantKind(t, err, problem.NotFound)
}

func TestWrongRegionAccessDeniedAndNoSuchBucket(t *testing.T) {
	a, srv := fixtureArchive(t)
	ctx := context.Background()
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(301, "PermanentRedirect", "use the right endpoint", "x-amz-bucket-region", "eu-west-2"))
	_, err := a.ListBackups(ctx)
	wantKind(t, err, problem.RegionEndpoint, "eu-west-2")

	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(403, "AccessDenied", "Access Denied"))
	_, err = a.ListBackups(ctx)
	wantKind(t, err, problem.AccessDenied)

	_, err = archiveAt(t, srv, "s3://no-such-bucket/pg15-primary", nil).ListBackups(ctx)
	wantKind(t, err, problem.NoSuchBucket, "no-such-bucket")
}

func TestNoBackupsTellsAnEmptyPrefixFromMissingBaseBackups(t *testing.T) {
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	ctx := context.Background()
	_, _, err := archiveAt(t, srv, "s3://wale-fixtures/wrong-prefix", nil).Select(ctx, "LATEST")
	wantKind(t, err, problem.NoBackups, "nothing at all", "WALE_S3_PREFIX")

	srv.Put(t, "wale-fixtures", "walonly/wal_005/"+walName+".lzo", plainWAL(t), "", fixtureTime)
	_, _, err = archiveAt(t, srv, "s3://wale-fixtures/walonly", nil).Select(ctx, "LATEST")
	wantKind(t, err, problem.NoBackups, "no complete base backup")

	_, _, err = archiveAt(t, srv, fixturePrefix, nil).Select(ctx, "base_000000010000000000000099_00000099")
	wantKind(t, err, problem.NoBackups, "base_000000010000000000000099_00000099")
}

func TestRefusesALiveOrNonEmptyDataDirectory(t *testing.T) {
	a, _ := fixtureArchive(t)
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "main")
	os.MkdirAll(dataDir, 0o700)
	live := strconv.Itoa(os.Getpid()) + "\n" // a process that runs: this test
	os.WriteFile(filepath.Join(dataDir, "postmaster.pid"), []byte(live), 0o600)
	_, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", MoveAside: true}, nil)
	wantKind(t, err, problem.DataDirInUse, "postmaster.pid", "PID "+strconv.Itoa(os.Getpid()))

	// A stale postmaster.pid (its server died) is no obstacle, as for
	// PostgreSQL: what refuses the directory now is that it is not empty.
	stale := strconv.Itoa(testtool.DeadPID(t)) + "\n"
	os.WriteFile(filepath.Join(dataDir, "postmaster.pid"), []byte(stale), 0o600)
	_, err = a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST"}, nil)
	wantKind(t, err, problem.DataDirInUse, "--move-aside")
	if got := mustRead(t, filepath.Join(dataDir, "postmaster.pid")); string(got) != stale {
		t.Fatal("the refused data directory was changed")
	}

	os.WriteFile(filepath.Join(dataDir, "postmaster.pid"), []byte("not a pid\n"), 0o600)
	_, err = a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", MoveAside: true}, nil)
	wantKind(t, err, problem.DataDirInUse, "cannot be read")
}

func TestMoveAsideKeepsTheOldDataDirectory(t *testing.T) {
	a, _ := fixtureArchive(t)
	dataDir := filepath.Join(t.TempDir(), "main")
	os.MkdirAll(dataDir, 0o700)
	os.WriteFile(filepath.Join(dataDir, "old-file"), []byte("precious"), 0o600)
	res, err := a.FetchBackup(context.Background(), FetchOptions{DataDir: dataDir, Backup: "LATEST", MoveAside: true,
		Now: func() time.Time { return fixtureTime }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := dataDir + ".pgrescue-20261125T030000Z"
	if res.MovedAsideTo != want || string(mustRead(t, filepath.Join(want, "old-file"))) != "precious" {
		t.Fatalf("moved to %q", res.MovedAsideTo)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "old-file")); err == nil {
		t.Fatal("old file still in the restored data directory")
	}
}

// putBackup stores a one-partition backup: the tar stream lzop'd by the real
// lzop binary, unencrypted, and a sentinel.
func putBackup(t *testing.T, srv *s3test.Server, bucket, prefix, name string, tarData []byte, expanded int64) {
	t.Helper()
	lzopBin := testtool.Need(t, "lzop")
	cmd := exec.Command(lzopBin, "-c")
	cmd.Stdin = bytes.NewReader(tarData)
	compressed, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	base := prefix + "/basebackups_005/" + name
	srv.Put(t, bucket, base+"/tar_partitions/part_00000000.tar.lzo", compressed, "", fixtureTime)
	sentinel := fmt.Sprintf(`{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "00000012", "expanded_size_bytes": %d, "spec": {"base_prefix": "/var/lib/postgresql/15/main/", "tablespaces": []}}`, expanded)
	srv.Put(t, bucket, base+"_backup_stop_sentinel.json", []byte(sentinel), "application/json", fixtureTime.Add(time.Second))
}

func tarOf(t *testing.T, name, body string) []byte {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	w.WriteHeader(&tar.Header{Name: "/", Typeflag: tar.TypeDir, Mode: 0o700, ModTime: fixtureTime})
	w.WriteHeader(&tar.Header{Name: "PG_VERSION", Typeflag: tar.TypeReg, Mode: 0o600, Size: 3, ModTime: fixtureTime})
	w.Write([]byte("15\n"))
	w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(body)), ModTime: fixtureTime})
	w.Write([]byte(body))
	w.Close()
	return buf.Bytes()
}

func TestTarMemberEscapingTheDataDirectoryIsRefused(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "evil")
	const name = "base_000000010000000000000012_00000012"
	putBackup(t, srv, "evil", "p", name, tarOf(t, "../../escaped", "gotcha"), 9)
	parent := t.TempDir()
	dataDir := filepath.Join(parent, "data", "main")
	_, err := archiveAt(t, srv, "s3://evil/p", nil).FetchBackup(context.Background(),
		FetchOptions{DataDir: dataDir, Backup: "LATEST", Now: func() time.Time { return fixtureTime }}, nil)
	wantKind(t, err, problem.UnsafeMember, "../../escaped", "part_00000000.tar.lzo")
	if _, statErr := os.Stat(filepath.Join(parent, "escaped")); statErr == nil {
		t.Fatal("the member was written outside the data directory")
	}
	aside := dataDir + ".pgrescue-incomplete-20261125T030000Z"
	if _, statErr := os.Stat(filepath.Join(aside, "PG_VERSION")); statErr != nil || !strings.Contains(err.Error(), aside) {
		t.Errorf("the partial restore should be set aside at %s and the error should say so: %v", aside, err)
	}
}

func TestNotEnoughDiskSpace(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "big")
	putBackup(t, srv, "big", "p", "base_000000010000000000000012_00000012", tarOf(t, "f", "x"), 1<<60)
	dataDir := filepath.Join(t.TempDir(), "main")
	_, err := archiveAt(t, srv, "s3://big/p", nil).FetchBackup(context.Background(), FetchOptions{DataDir: dataDir, Backup: "LATEST"}, nil)
	wantKind(t, err, problem.DiskSpace, "1.0 EiB")
	if _, statErr := os.Stat(dataDir); statErr == nil {
		t.Error("the data directory was created although the restore was refused")
	}
}

func TestCancelledFetchIsInterruptedAndLabelled(t *testing.T) {
	a, srv := fixtureArchive(t)
	srv.Faults().Inject(s3test.Match{Method: http.MethodGet, KeyContains: "part_", Times: s3test.Always}, s3test.Stall(time.Minute, 100000))
	ctx, cancel := context.WithCancel(context.Background())
	dataDir := filepath.Join(t.TempDir(), "main")
	start := time.Now()
	cancelOnceStarted := func(e Event) { // the download is under way: the data directory exists
		if _, ok := e.(FetchStarted); ok {
			time.AfterFunc(200*time.Millisecond, cancel)
		}
	}
	_, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", Now: func() time.Time { return fixtureTime }}, cancelOnceStarted)
	wantKind(t, err, problem.Interrupted)
	if time.Since(start) > 10*time.Second {
		t.Errorf("cancellation took %v", time.Since(start))
	}
	if _, statErr := os.Stat(dataDir + ".pgrescue-incomplete-20261125T030000Z"); statErr != nil {
		t.Errorf("partial restore not set aside: %v", statErr)
	}
}

// TestFetchWithoutAKeyChangesNothingAndNeverCrashes: the key is checked on
// the first partition before anything is created (it used to leave a
// .pgrescue-incomplete directory each time), and closing a pipeline whose
// decryption failed waits for its download stage (closing the body under
// it crashed pgrescue in about a quarter of runs). Many runs, under -race
// in make test.
func TestFetchWithoutAKeyChangesNothingAndNeverCrashes(t *testing.T) {
	a, _ := fixtureArchive(t)
	a.Keys = nil
	ctx := context.Background()
	parent := t.TempDir()
	dataDir := filepath.Join(parent, "main")
	for i := 0; i < 40; i++ {
		_, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST"}, nil)
		wantKind(t, err, problem.KeyMissing, "no secret key")
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("a fetch that could not decrypt left %d entries, e.g. %s", len(entries), entries[0].Name())
	}
}

// TestImpossibleSentinelsAreRefusedByField: a negative size, an offset that
// is not one, a stop before the start: each is refused as corrupt, naming
// the field, instead of "-5 B expanded".
func TestImpossibleSentinelsAreRefusedByField(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "odd")
	for name, tc := range map[string]struct{ sentinel, field string }{
		"negative size": {`{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "00000028", "expanded_size_bytes": -5}`, "expanded_size_bytes -5"},
		"bad offset":    {`{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "zz", "expanded_size_bytes": 5}`, "wal_segment_offset_backup_stop"},
		"huge offset":   {`{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "FFFFFFFF", "expanded_size_bytes": 5}`, "wal_segment_offset_backup_stop"},
		"stop first":    {`{"wal_segment_backup_stop": "000000010000000000000011", "wal_segment_offset_backup_stop": "00000028", "expanded_size_bytes": 5}`, "before the backup's start"},
		"bad stop":      {`{"wal_segment_backup_stop": "0001", "expanded_size_bytes": 5}`, "wal_segment_backup_stop"},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := strings.ReplaceAll(name, " ", "-")
			key := prefix + "/basebackups_005/base_000000010000000000000012_00000040_backup_stop_sentinel.json"
			srv.Put(t, "odd", key, []byte(tc.sentinel), "application/json", fixtureTime)
			a := archiveAt(t, srv, "s3://odd/"+prefix, nil)
			backups, err := a.ListBackups(context.Background())
			if err != nil || len(backups) != 1 {
				t.Fatalf("%v %v", backups, err)
			}
			err = a.LoadDetail(context.Background(), &backups[0])
			wantKind(t, err, problem.Corrupt, tc.field, key)
		})
	}
}

// lzopOf compresses data as WAL-E's wal-push would store it (unencrypted).
func lzopOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lzop.NewWriter(&buf, lzop.WriterOptions{})
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWALFetchRefusesSegmentsOfTheWrongShape: PostgreSQL takes a short
// segment for the end of WAL and finishes recovery early with no error, so
// a segment whose length, header or position is not that of a whole
// segment of this cluster is refused as corrupt and never put in place.
func TestWALFetchRefusesSegmentsOfTheWrongShape(t *testing.T) {
	good, err := io.ReadAll(lzop.NewReader(bytes.NewReader(plainWAL(t))))
	if err != nil || len(good) != DefaultSegmentSize {
		t.Fatalf("fixture segment: %d bytes, %v", len(good), err)
	}
	srv := s3test.Start(t)
	srv.CreateBucket(t, "wal")
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		segment string
		data    []byte
		want    string
	}{
		"13 bytes":        {walName, []byte("short segment"), "too short"},
		"64 MiB":          {walName, append(append([]byte{}, good...), make([]byte, 48<<20)...), "67108864 bytes long, but its header says the cluster's segments are 16777216"},
		"half":            {walName, good[:8<<20], "8388608 bytes long"},
		"not WAL":         {walName, bytes.Repeat([]byte("x"), DefaultSegmentSize), "does not start with a WAL segment header"},
		"another segment": {"000000010000000000000012", good, "not segment 000000010000000000000012"},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := strings.ReplaceAll(name, " ", "-")
			srv.Put(t, "wal", prefix+"/wal_005/"+tc.segment+".lzo", lzopOf(t, tc.data), "", fixtureTime)
			dest := filepath.Join(dir, prefix)
			_, err := archiveAt(t, srv, "s3://wal/"+prefix, nil).FetchWAL(context.Background(), tc.segment, dest)
			wantKind(t, err, problem.Corrupt, tc.want)
			if _, statErr := os.Stat(dest); statErr == nil {
				t.Error("the refused segment was put in place")
			}
		})
	}
	srv.Put(t, "wal", "ok/wal_005/"+walName+".lzo", lzopOf(t, good), "", fixtureTime)
	if _, err := archiveAt(t, srv, "s3://wal/ok", nil).FetchWAL(context.Background(), walName, filepath.Join(dir, "ok")); err != nil {
		t.Errorf("a whole segment was refused: %v", err)
	}
}

// TestADataDirectoryReadyForTablespacesIsUsed: the refusal for a backup
// with tablespaces asks for the pg_tblspc/OID symlinks first; a data
// directory holding only those is then used as it is (it was refused as
// not empty, and --move-aside took the links away with it).
func TestADataDirectoryReadyForTablespacesIsUsed(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "tablespaces")
	compressed := lzopOf(t, tarOf(t, "base/1/1259", "rows"))
	base := "p/basebackups_005/base_000000010000000000000012_00000012"
	srv.Put(t, "tablespaces", base+"/tar_partitions/part_00000000.tar.lzo", compressed, "", fixtureTime)
	sentinel := `{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "00000028", "expanded_size_bytes": 100,
		"spec": {"base_prefix": "/var/lib/postgresql/15/main/", "tablespaces": ["16400"], "16400": {"loc": "/srv/ts/", "link": "pg_tblspc/16400"}}}`
	srv.Put(t, "tablespaces", base+"_backup_stop_sentinel.json", []byte(sentinel), "application/json", fixtureTime.Add(time.Second))
	a := archiveAt(t, srv, "s3://tablespaces/p", nil)
	dataDir := filepath.Join(t.TempDir(), "main")
	ctx := context.Background()
	_, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST"}, nil)
	wantKind(t, err, problem.Usage, "pg_tblspc/16400 -> /srv/ts", "ln -s")

	tablespace := t.TempDir()
	os.MkdirAll(filepath.Join(dataDir, "pg_tblspc"), 0o700)
	if err := os.Symlink(tablespace, filepath.Join(dataDir, "pg_tblspc", "16400")); err != nil {
		t.Fatal(err)
	}
	res, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST"}, nil)
	if err != nil || res.MovedAsideTo != "" {
		t.Fatalf("the prepared data directory was refused or moved: %v %+v", err, res)
	}
	if dest, _ := os.Readlink(filepath.Join(dataDir, "pg_tblspc", "16400")); dest != tablespace {
		t.Errorf("the tablespace link is %q, want %q", dest, tablespace)
	}
	if got := mustRead(t, filepath.Join(dataDir, "base/1/1259")); string(got) != "rows" {
		t.Errorf("restored %q", got)
	}
}

// tablespaceArchive is a backup whose sentinel names tablespace 16400.
func tablespaceArchive(t *testing.T) *Archive {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "tablespaces")
	base := "p/basebackups_005/base_000000010000000000000012_00000012"
	srv.Put(t, "tablespaces", base+"/tar_partitions/part_00000000.tar.lzo", lzopOf(t, tarOf(t, "base/1/1259", "rows")), "", fixtureTime)
	sentinel := `{"wal_segment_backup_stop": "000000010000000000000012", "wal_segment_offset_backup_stop": "00000028", "expanded_size_bytes": 100,
		"spec": {"base_prefix": "/var/lib/postgresql/15/main/", "tablespaces": ["16400"], "16400": {"loc": "/srv/ts/", "link": "pg_tblspc/16400"}}}`
	srv.Put(t, "tablespaces", base+"_backup_stop_sentinel.json", []byte(sentinel), "application/json", fixtureTime.Add(time.Second))
	return archiveAt(t, srv, "s3://tablespaces/p", nil)
}

// TestTablespaceMapping: --tablespace-mapping OID=DIR puts a tablespace in
// a new directory with its symlink made (as pg_basebackup does); a mapping
// of no tablespace, or to a directory with files, is refused first; and a
// data directory moved aside gets its tablespace links back.
func TestTablespaceMapping(t *testing.T) {
	a := tablespaceArchive(t)
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "main")
	mapped := filepath.Join(t.TempDir(), "ts16400")
	_, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", TablespaceMapping: map[string]string{"99": mapped}}, nil)
	wantKind(t, err, problem.Usage, "--tablespace-mapping 99=", "16400 (/srv/ts)")
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "x"), nil, 0o600)
	_, err = a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", TablespaceMapping: map[string]string{"16400": busy}}, nil)
	wantKind(t, err, problem.DataDirInUse, busy, "not empty")
	if _, statErr := os.Stat(dataDir); statErr == nil {
		t.Fatal("a refused mapping created the data directory")
	}

	if _, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", TablespaceMapping: map[string]string{"16400": mapped}}, nil); err != nil {
		t.Fatal(err)
	}
	if dest, _ := os.Readlink(filepath.Join(dataDir, "pg_tblspc", "16400")); dest != mapped {
		t.Errorf("pg_tblspc/16400 -> %q, want %q", dest, mapped)
	}
	if st, err := os.Stat(mapped); err != nil || !st.IsDir() {
		t.Errorf("the mapped directory was not made: %v", err)
	}

	// Restoring again over it, moved aside: the link is made anew.
	res, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: "LATEST", MoveAside: true}, nil)
	if err != nil || res.MovedAsideTo == "" {
		t.Fatalf("%v %+v", err, res)
	}
	if dest, _ := os.Readlink(filepath.Join(dataDir, "pg_tblspc", "16400")); dest != mapped {
		t.Errorf("after a move aside pg_tblspc/16400 -> %q, want %q", dest, mapped)
	}
}

// TestATablespaceWithFilesIsNotWrittenOver: the directory a tablespace link
// points to holds files (the replaced cluster's tablespace): the restore is
// refused before any change, with the mapping to use instead.
func TestATablespaceWithFilesIsNotWrittenOver(t *testing.T) {
	a := tablespaceArchive(t)
	dataDir := filepath.Join(t.TempDir(), "main")
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "PG_VERSION"), []byte("15\n"), 0o600)
	os.MkdirAll(filepath.Join(dataDir, "pg_tblspc"), 0o700)
	os.Symlink(old, filepath.Join(dataDir, "pg_tblspc", "16400"))
	os.WriteFile(filepath.Join(dataDir, "PG_VERSION"), []byte("15\n"), 0o600)
	_, err := a.FetchBackup(context.Background(), FetchOptions{DataDir: dataDir, Backup: "LATEST", MoveAside: true}, nil)
	wantKind(t, err, problem.DataDirInUse, old, "--tablespace-mapping 16400=")
	if _, statErr := os.Stat(filepath.Join(dataDir, "PG_VERSION")); statErr != nil {
		t.Error("the data directory was moved although the restore was refused")
	}
}
