package wale

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgrescue/gpg"
	"pgrescue/internal/s3test"
	"pgrescue/storage/s3store"
)

const fixturePrefix = "s3://wale-fixtures/pg15-primary"

// fixtureArchive serves the real WAL-E 1.1.1 archive of testdata/wale-pg15
// from an in-process S3 server, with the fixture's protected key unlocked by
// its passphrase file.
func fixtureArchive(t *testing.T) (*Archive, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	srv.LoadFixture(t, "wale-pg15")
	return archiveAt(t, srv, fixturePrefix, fixtureKeys(t)), srv
}

func archiveAt(t *testing.T, srv *s3test.Server, prefix string, keys *gpg.Keys) *Archive {
	t.Helper()
	loc, err := s3store.ParsePrefix(prefix)
	if err != nil {
		t.Fatal(err)
	}
	store, err := s3store.New(context.Background(), loc, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	return NewArchive(store, keys)
}

func fixtureKeys(t *testing.T) *gpg.Keys {
	t.Helper()
	keys, err := gpg.LoadKeyFile(s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc"))
	if err != nil {
		t.Fatal(err)
	}
	keys.SetPassphrase(gpg.PassphraseFromFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")))
	return keys
}

func fixtureLog(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(s3test.FixturePath(t, "wale-pg15", "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBackupListMatchesWALEOutputByteForByte(t *testing.T) {
	a, _ := fixtureArchive(t)
	ctx := context.Background()
	backups, err := a.ListBackups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	WriteBackupList(&plain, backups)
	if want := fixtureLog(t, "backup-list.tsv"); !bytes.Equal(plain.Bytes(), want) {
		t.Errorf("backup-list:\n%q\nwant\n%q", plain.String(), want)
	}
	if err := a.LoadAllDetails(ctx, backups); err != nil {
		t.Fatal(err)
	}
	var detail bytes.Buffer
	WriteBackupList(&detail, backups)
	if want := fixtureLog(t, "backup-list-detail.tsv"); !bytes.Equal(detail.Bytes(), want) {
		t.Errorf("backup-list --detail:\n%q\nwant\n%q", detail.String(), want)
	}
	latest, _, err := a.Select(ctx, "LATEST")
	if err != nil {
		t.Fatal(err)
	}
	a.LoadDetail(ctx, &latest)
	var one bytes.Buffer
	WriteBackupList(&one, []Backup{latest})
	if want := fixtureLog(t, "backup-list-detail-LATEST.tsv"); !bytes.Equal(one.Bytes(), want) {
		t.Errorf("backup-list --detail LATEST:\n%q\nwant\n%q", one.String(), want)
	}
}

// listing is the fixture's `ls -la` of a restored data directory: name ->
// (type, mode, size for files).
type entry struct {
	mode string
	size int64
}

func readListing(t *testing.T, data []byte) map[string]entry {
	out := map[string]entry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[8] == "." || f[8] == ".." {
			continue
		}
		size, _ := strconv.ParseInt(f[4], 10, 64)
		if f[0][0] == 'd' {
			size = -1 // directory sizes depend on the file system
		}
		out[f[8]] = entry{mode: f[0], size: size}
	}
	return out
}

func TestBackupFetchOfEachBackupMatchesWALERestore(t *testing.T) {
	a, _ := fixtureArchive(t)
	ctx := context.Background()
	backups, _ := a.ListBackups(ctx)
	if len(backups) != 2 {
		t.Fatalf("%d backups", len(backups))
	}
	for _, b := range backups {
		t.Run(b.Name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "main")
			var events []Event
			res, err := a.FetchBackup(ctx, FetchOptions{DataDir: dataDir, Backup: b.Name, Workers: 2}, func(e Event) { events = append(events, e) })
			if err != nil {
				t.Fatal(err)
			}
			want := readListing(t, fixtureLog(t, "restored-datadir-listing-"+b.Name+".txt"))
			got := map[string]entry{}
			entries, _ := os.ReadDir(dataDir)
			for _, e := range entries {
				info, _ := e.Info()
				size := info.Size()
				if info.IsDir() {
					size = -1
				}
				got[e.Name()] = entry{mode: info.Mode().String(), size: size}
			}
			for name, w := range want {
				g, ok := got[name]
				wantMode := strings.Replace(w.mode, "d", "d", 1)
				if !ok || g.size != w.size || !strings.HasSuffix(g.mode, wantMode[1:]) {
					t.Errorf("%s: got %+v, want %+v", name, g, w)
				}
			}
			if len(got) != len(want) {
				t.Errorf("restored %d entries, WAL-E's restore had %d: %v", len(got), len(want), got)
			}
			if res.Bytes != res.Backup.Sentinel.ExpandedSizeBytes {
				t.Errorf("extracted %d bytes, sentinel says %d", res.Bytes, res.Backup.Sentinel.ExpandedSizeBytes)
			}
			if st, _ := os.Stat(dataDir); st.Mode().Perm() != 0o700 {
				t.Errorf("data directory mode %v", st.Mode())
			}
			checkControlFile(t, dataDir)
			assertEventOrder(t, events)
		})
	}
}

// checkControlFile asks PostgreSQL's own pg_controldata to read the restored
// control file: a byte-exact restore shows a cleanly shut down cluster.
func checkControlFile(t *testing.T, dataDir string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_controldata")
	if len(bins) == 0 {
		return // the PostgreSQL end-to-end tests report the missing server
	}
	out, err := exec.Command(bins[len(bins)-1], dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_controldata: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Database cluster state:               shut down")) {
		t.Errorf("pg_controldata:\n%s", out)
	}
}

func assertEventOrder(t *testing.T, events []Event) {
	t.Helper()
	var kinds []string
	var last FetchProgress
	for _, e := range events {
		switch e := e.(type) {
		case BackupChosen:
			kinds = append(kinds, "chosen")
		case FetchStarted:
			kinds = append(kinds, "started")
		case PartitionDone:
			kinds = append(kinds, "partition")
		case FetchProgress:
			last = e
		}
	}
	if strings.Join(kinds, ",") != "chosen,started,partition" {
		t.Errorf("events %v", kinds)
	}
	if last.PartitionsDone != last.Partitions || last.Downloaded != last.CompressedTotal || last.Extracted != last.ExpandedTotal {
		t.Errorf("final progress %+v", last)
	}
}

// walPageHeader checks the long page header PostgreSQL writes at the start
// of every segment (XLogLongPageHeaderData, little-endian on x86).
func walPageHeader(t *testing.T, name string, data []byte) {
	t.Helper()
	s, _ := ParseSegment(name)
	h, ok := ReadSegmentHeader(data)
	wantAddr := uint64(s.Log)<<32 | uint64(s.Seg)*DefaultSegmentSize
	if !ok || h.Magic != 0xD110 || h.Info&0x0002 == 0 || h.Timeline != s.Timeline || h.PageAddr != wantAddr || h.SegmentSize != DefaultSegmentSize || h.BlockSize != 8192 {
		t.Errorf("%s: %+v", name, h)
	}
}

func TestWALFetchOfEverySegment(t *testing.T) {
	a, _ := fixtureArchive(t)
	ctx := context.Background()
	objects, ignored, err := a.ListWAL(ctx)
	if err != nil || len(ignored) != 0 || len(objects) != 9 {
		t.Fatalf("%d objects, ignored %v, %v", len(objects), ignored, err)
	}
	dir := t.TempDir()
	for _, o := range objects {
		dest := filepath.Join(dir, "RECOVERYXLOG")
		res, err := a.FetchWAL(ctx, o.Name, dest)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		data, _ := os.ReadFile(dest)
		if res.Bytes != DefaultSegmentSize || len(data) != DefaultSegmentSize {
			t.Fatalf("%s: %d bytes", o.Name, len(data))
		}
		walPageHeader(t, o.Name, data)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestContinuityOfTheFixtureArchive(t *testing.T) {
	a, _ := fixtureArchive(t)
	ctx := context.Background()
	objects, _, _ := a.ListWAL(ctx)
	backups, _ := a.ListBackups(ctx)
	for _, b := range backups {
		c := CheckContinuity(b.Start, objects, a.SegmentSize)
		if !c.Complete() || c.Newest.String() != "000000010000000000000018" {
			t.Errorf("%s: %+v", b.Name, c)
		}
	}
}
