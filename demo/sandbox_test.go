package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/hosting"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/storage/s3store"
	"pgrescue/walesettings"
)

// TestBuildAccidentScenario builds the default sandbox and checks it the
// way the trainee will meet it: the settings files, a protected key in a
// GnuPG 1 home, an archive every object of which the real gpg and lzop
// read, one base backup, the DELETE found in the archived WAL as the
// wizard's "find the moment" finds it, and restores with pgrescue that
// Check judges: to just before the DELETE's transaction, the rows of just
// before the accident; to the end of the archive, the accident replayed.
func TestBuildAccidentScenario(t *testing.T) {
	t.Parallel()
	needPostgreSQL(t)
	testtool.Need(t, "lzop")
	testtool.Need(t, "gpg")
	sb, steps := buildSandbox(t, Options{})

	checkProgress(t, steps, "The accident")
	checkStory(t, sb)
	checkSettings(t, sb)
	checkKeyring(t, sb)
	checkNoPassphraseOnDisk(t, sb)
	store := sandboxStore(t, sb)
	checkEveryObjectWithRealTools(t, sb, store)
	backups, err := wale.NewArchive(store, nil).ListBackups(t.Context())
	if err != nil || len(backups) != 1 {
		t.Fatalf("the archive lists %d backups (%v), want 1", len(backups), err)
	}

	if st, err := os.Stat(filepath.Join(sb.PrimaryDir, "PG_VERSION")); err != nil || sb.RestoreDir != sb.PrimaryDir {
		t.Fatalf("the damaged primary should wait at the restore path: %v %v", st, err)
	}
	if _, alive := livePostmaster(sb.PrimaryDir); alive {
		t.Fatal("the primary still runs after Build")
	}
	pass := passphraseFile(t, sb)
	tests := filepath.Join(sb.Dir, "test-restores")
	if err := os.Mkdir(tests, 0o755); err != nil {
		t.Fatal(err)
	}

	// The trainee's restore, into the primary's own directory: just before
	// the DELETE found in the WAL, as the wizard's "find the moment" sets it.
	xid := findTheDelete(t, sb, pass)
	r := restoreWithPgrescue(t, sb, pass, sb.RestoreDir, "--target-xid", itoa(int(xid)), "--target-exclusive")
	v, err := sb.Check(t.Context(), r.socketDir, r.port, r.user)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.Rows != sb.Expected.RowsBefore {
		t.Errorf("restore to just before transaction %d: verdict %+v, want OK with %d rows", xid, v, sb.Expected.RowsBefore)
	}
	t.Logf("verdict: %s", v.Message)

	r = restoreWithPgrescue(t, sb, pass, filepath.Join(tests, "end"))
	v, err = sb.Check(t.Context(), r.socketDir, r.port, r.user)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK || v.Rows != sb.Expected.RowsAfter || !strings.Contains(v.Message, "was replayed") {
		t.Errorf("restore to the end of the archive: verdict %+v, want not OK with %d rows", v, sb.Expected.RowsAfter)
	}
	for _, n := range []int{sb.Expected.RowsAfter, sb.Expected.RowsBefore} {
		if !strings.Contains(v.Message, itoa(n)) {
			t.Errorf("the verdict does not name %d: %s", n, v.Message)
		}
	}

	if !strings.Contains(v.Message, "press f on the target page to find the DELETE") {
		t.Errorf("the verdict does not say how to find the DELETE: %s", v.Message)
	}

	// Both restored servers still run: Close must stop them.
	checkCloseRemovesTheSandbox(t, sb)
}

// inspectedTx is a transaction as pgrescue wal-inspect --json shows it.
type inspectedTx struct {
	Xid       uint32
	Committed bool
	At        time.Time
	Rows      map[string]struct{ Inserted, Updated, Deleted int64 }
}

// findTheDelete reads the archive's WAL with pgrescue wal-inspect, which
// reads it as the wizard's "find the moment" does (the latest backup's
// window, pg_waldump, at least 100 rows): the accident must be there, the
// newest destructive transaction (the one the moment page points at
// first), committed just before AccidentAt and deleting exactly the
// documents the briefing says. It returns its xid.
func findTheDelete(t *testing.T, sb *Sandbox, passFile string) uint32 {
	t.Helper()
	cmd := exec.Command(binary, "--envdir", sb.Envdir, "--gpg-passphrase-file", passFile, "wal-inspect", "--json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pgrescue wal-inspect: %v\n%s", err, stderr.String())
	}
	var in struct{ Transactions []inspectedTx }
	if err := json.Unmarshal(stdout.Bytes(), &in); err != nil {
		t.Fatalf("pgrescue wal-inspect --json: %v\n%s", err, stdout.String())
	}
	var deletes []inspectedTx
	for _, tx := range in.Transactions {
		for _, c := range tx.Rows {
			if c.Deleted > 0 {
				deletes = append(deletes, tx)
				break
			}
		}
	}
	if len(deletes) != 1 || len(in.Transactions) == 0 || in.Transactions[len(in.Transactions)-1].Xid != deletes[0].Xid {
		t.Fatalf("want the DELETE as the one and newest destructive transaction; wal-inspect found %+v", in.Transactions)
	}
	tx := deletes[0]
	var deleted int64
	for rel, c := range tx.Rows {
		if c.Updated != 0 || c.Inserted != 0 {
			t.Errorf("the DELETE also changed %s: %+v", rel, c)
		}
		deleted += c.Deleted
	}
	if !tx.Committed || deleted != int64(sb.Expected.RowsDeleted) || deleted < 100 {
		t.Errorf("the DELETE: committed %v, %d rows deleted, want %d (at least the inspector's 100)", tx.Committed, deleted, sb.Expected.RowsDeleted)
	}
	if gap := sb.AccidentAt.Sub(tx.At); gap < 0 || gap > time.Second {
		t.Errorf("the DELETE committed at %s, the accident was noted at %s", tx.At, sb.AccidentAt)
	}
	from, to := accidentWindow(sb)
	if tx.At.Before(from) || !tx.At.Before(to) {
		t.Errorf("the DELETE at %s is outside the briefing's window %s to %s", tx.At, from, to)
	}
	t.Logf("wal-inspect found the DELETE: xid %d at %s, %d rows deleted, %d destructive transactions", tx.Xid, tx.At, deleted, len(in.Transactions))
	return tx.Xid
}

func checkProgress(t *testing.T, steps []Progress, want string) {
	t.Helper()
	if len(steps) < 2 {
		t.Fatalf("progress: %v", steps)
	}
	var titles []string
	for i, p := range steps {
		titles = append(titles, p.Step)
		if p.Done != i || p.Total != len(steps)-1 {
			t.Errorf("progress %d: %+v", i, p)
		}
	}
	for _, title := range []string{"Starting the S3 server", "Creating the cluster (initdb)", "Writing the application's data", "Taking a base backup (backup-push)", want} {
		if !slices.Contains(titles, title) {
			t.Errorf("no progress step %q in %q", title, titles)
		}
	}
}

// briefedExactTime is how the RDS briefing gives its time (the end-to-end
// tests read it so); the accident's must not.
var briefedExactTime = regexp.MustCompile(`At (\d\d:\d\d:\d\d) UTC on (\d+ \w+ \d{4})`)

// checkStory checks the numbers and times the briefing will give.
func checkStory(t *testing.T, sb *Sandbox) {
	t.Helper()
	e := sb.Expected
	if e.RowsDeleted <= 0 || e.RowsBefore <= e.RowsDeleted || e.RowsAfter <= e.RowsBefore-e.RowsDeleted || e.RowsAfter == e.RowsBefore {
		t.Fatalf("implausible expectation: %+v", e)
	}
	target, err := recovery.ParseTargetTime(sb.TargetHint, time.Local)
	if err != nil {
		t.Fatal(err)
	}
	if gap := sb.AccidentAt.Sub(target.Time); gap < accidentGap {
		t.Errorf("the hint %s is only %s before the accident at %s", sb.TargetHint, gap, sb.AccidentAt)
	}
	// The briefing gives the accident's time only roughly: a window of whole
	// minutes holding the accident and the writes before it since the
	// backup, so the DELETE has to be found in the WAL.
	from, to := accidentWindow(sb)
	if sb.laterFrom.Before(from) || !sb.laterFrom.Before(sb.AccidentAt) || !sb.AccidentAt.Before(to) || to.Sub(from) > 5*time.Minute {
		t.Errorf("the window %s to %s does not hold the writes from %s and the accident at %s", from, to, sb.laterFrom, sb.AccidentAt)
	}
	for _, want := range []string{sb.App, sb.Database, itoa(e.RowsBefore), itoa(e.RowsDeleted), accidentSQL,
		"between " + from.UTC().Format("15:04") + " and " + to.UTC().Format("15:04 UTC on 2 January 2006"), "local time", "press f to find the moment"} {
		if !strings.Contains(e.Describe, want) {
			t.Errorf("the description lacks %q: %s", want, e.Describe)
		}
	}
	for _, exact := range []string{sb.AccidentAt.UTC().Format("15:04:05"), sb.AccidentAt.In(time.Local).Format("15:04:05"), sb.TargetHint} {
		if strings.Contains(e.Describe, exact) {
			t.Errorf("the description gives the exact time %q: %s", exact, e.Describe)
		}
	}
	if briefedExactTime.MatchString(e.Describe) {
		t.Errorf("the description matches %s: %s", briefedExactTime, e.Describe)
	}
	if e.Query != "SELECT count(*) FROM documents" {
		t.Errorf("query %q", e.Query)
	}
}

// checkSettings reads the envdir, catalog and config as pgrescue does.
func checkSettings(t *testing.T, sb *Sandbox) {
	t.Helper()
	env, err := walesettings.ReadEnvdir(sb.Envdir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"WALE_S3_PREFIX": "s3://pgrescue-demo/carrenza/postgresql-primary-1", "WALE_S3_ENDPOINT": sb.S3Endpoint,
		"WALE_GPG_KEY_ID": sb.KeyID, "GNUPGHOME": sb.GNUPGHome,
	}
	for name, value := range want {
		if env[name] != value {
			t.Errorf("envdir %s = %q, want %q", name, env[name], value)
		}
	}
	if !strings.HasPrefix(sb.S3Endpoint, "http+path://127.0.0.1:") || env["AWS_ACCESS_KEY_ID"] == "" || env["AWS_SECRET_ACCESS_KEY"] == "" {
		t.Errorf("envdir: %v", env)
	}
	cfg, err := hosting.LoadConfig(sb.Config)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.App(sb.App)
	if cfg.CatalogPath != sb.Catalog || !slices.Equal(d.Databases, []string{sb.Database}) || d.WALEEnvdir != sb.Envdir || d.PGData != sb.RestoreDir {
		t.Errorf("config: catalog %q, %s: %+v", cfg.CatalogPath, sb.App, d)
	}
	catalog, err := hosting.LoadCatalog(sb.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, a := range catalog.Apps {
		hosts[a.HostingName()] = true
	}
	app, ok := catalog.Find(sb.App)
	if !ok || app.HostedOn != hosting.Carrenza || len(hosts) < 2 {
		t.Errorf("catalog: %s %v %+v; hostings %v", sb.App, ok, app, hosts)
	}
}

// checkKeyring opens the GnuPG home as pgrescue's keyring package does.
func checkKeyring(t *testing.T, sb *Sandbox) {
	t.Helper()
	st, err := os.Stat(sb.GNUPGHome)
	if err != nil || st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() {
		t.Errorf("GnuPG home: %v %v", st.Mode(), err)
	}
	ring, err := keyring.Open(sb.GNUPGHome)
	if err != nil || ring.Format != keyring.GnuPG1 {
		t.Fatalf("keyring: %v %+v", err, ring)
	}
	infos, err := ring.SecretKeys(t.Context())
	if err != nil || len(infos) != 1 || !infos[0].Protected || infos[0].Fingerprint != sb.KeyID {
		t.Fatalf("secret keys: %+v %v", infos, err)
	}
	for _, p := range infos[0].Parts {
		if p.Protection != gpg.Protected || p.Algorithm != "rsa2048" {
			t.Errorf("key part %s: %s, %s", p.LongID(), p.Protection, p.Algorithm)
		}
	}
}

// checkNoPassphraseOnDisk: the passphrase is for the trainee to give, as
// from a secrets store; no file of the sandbox may hold it.
func checkNoPassphraseOnDisk(t *testing.T, sb *Sandbox) {
	t.Helper()
	filepath.WalkDir(sb.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(sb.Passphrase)) {
			t.Errorf("%s holds the passphrase", path)
		}
		return nil
	})
}

func sandboxStore(t *testing.T, sb *Sandbox) *s3store.Store {
	t.Helper()
	env, err := walesettings.ReadEnvdir(sb.Envdir)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s3store.ParsePrefix(env["WALE_S3_PREFIX"])
	if err != nil {
		t.Fatal(err)
	}
	store, err := s3store.New(t.Context(), loc, s3store.Options{Region: env["AWS_REGION"], Endpoint: env["WALE_S3_ENDPOINT"],
		AccessKeyID: env["AWS_ACCESS_KEY_ID"], SecretAccessKey: env["AWS_SECRET_ACCESS_KEY"]})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// checkEveryObjectWithRealTools decrypts every .lzo object with gpg, the
// secret key imported from the sandbox's secring.gpg with the passphrase,
// and decompresses it with lzop, as WAL-E's restore would; one WAL object
// is also opened natively with the keyring and the passphrase.
func checkEveryObjectWithRealTools(t *testing.T, sb *Sandbox, store *s3store.Store) {
	t.Helper()
	pass := passphraseFile(t, sb)
	home := importedGPGHome(t, sb, pass)
	var keys []string
	err := store.List(t.Context(), store.Location().Prefix, func(o s3store.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wal, parts int
	for _, key := range keys {
		switch {
		case strings.Contains(key, "/wal_005/"):
			wal++
		case strings.Contains(key, "/tar_partitions/"):
			parts++
		}
		if !strings.HasSuffix(key, ".lzo") {
			continue
		}
		data, err := store.GetBytes(t.Context(), key, 64<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !gpg.IsEncrypted(data) {
			t.Errorf("%s is not encrypted", key)
		}
		testtool.DecodeLikeWALE(t, home, pass, key, data)
	}
	if wal < 5 || parts < 1 {
		t.Fatalf("the archive holds %d WAL objects and %d partitions: %q", wal, parts, keys)
	}
	checkNativeDecryption(t, sb, store, keys)
}

func importedGPGHome(t *testing.T, sb *Sandbox, pass string) string {
	t.Helper()
	home := testtool.GnuPGHome(t)
	out, err := exec.Command("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", pass,
		"--import", filepath.Join(sb.GNUPGHome, "secring.gpg")).CombinedOutput()
	if err != nil {
		t.Fatalf("gpg --import secring.gpg: %v: %s", err, out)
	}
	return home
}

func checkNativeDecryption(t *testing.T, sb *Sandbox, store *s3store.Store, keys []string) {
	t.Helper()
	ring, _ := keyring.Open(sb.GNUPGHome)
	loaded, err := ring.LoadKeys(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded.SetPassphrase(func(gpg.KeyInfo) ([]byte, error) { return []byte(sb.Passphrase), nil })
	i := slices.IndexFunc(keys, func(k string) bool { return strings.Contains(k, "/wal_005/") })
	data, err := store.GetBytes(t.Context(), keys[i], 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := loaded.Decrypt(bytes.NewReader(data), keys[i])
	if err == nil {
		_, err = io.Copy(io.Discard, plain)
	}
	if err != nil {
		t.Errorf("the keyring with the passphrase cannot decrypt %s: %v", keys[i], err)
	}
}

// checkCloseRemovesTheSandbox closes a sandbox whose restored servers still
// run, and looks for anything left: processes, the folder, the S3 server.
func checkCloseRemovesTheSandbox(t *testing.T, sb *Sandbox) {
	t.Helper()
	if len(sandboxProcesses(sb.Dir)) == 0 {
		t.Fatal("no server runs in the sandbox before Close: this checks nothing")
	}
	addr := strings.TrimPrefix(sb.S3Endpoint, "http+path://")
	sockets := restoreSocketDirs(sb.Dir)
	if len(sockets) == 0 {
		t.Error("no restored server runs from a private socket directory: that part of Close is not checked")
	}
	if err := sb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitNoProcesses(t, sb.Dir)
	for _, d := range sockets {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("the restored server's socket directory %s is left behind", d)
		}
	}
	if _, err := os.Stat(sb.Dir); err == nil {
		t.Errorf("the sandbox folder %s is still there", sb.Dir)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("the S3 server still answers on %s", addr)
	}
	if err := sb.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// TestCloseRemovesEverything: a "disk-lost" sandbox restored to the end of
// the archive passes its check; Close stops the restored server and
// removes the folder. A build cancelled with Keep stops the primary it
// started and leaves the folder.
func TestCloseRemovesEverything(t *testing.T) {
	t.Parallel()
	needPostgreSQL(t)
	t.Run("disk-lost", func(t *testing.T) {
		t.Parallel()
		sb, steps := buildSandbox(t, Options{Scenario: "disk-lost"})
		checkProgress(t, steps, "Losing the primary's disk")
		if _, err := os.Stat(sb.PrimaryDir); err == nil {
			t.Errorf("the lost primary is still at %s", sb.PrimaryDir)
		}
		if _, err := os.Stat(sb.RestoreDir); err == nil || sb.RestoreDir == sb.PrimaryDir {
			t.Errorf("the restore path %s is not fresh", sb.RestoreDir)
		}
		e := sb.Expected
		if !sb.AccidentAt.IsZero() || sb.TargetHint != "" || e.RowsDeleted != 0 || e.RowsAfter != e.RowsBefore || e.RowsAfter == 0 {
			t.Errorf("disk-lost story: %+v, accident %v, hint %q", e, sb.AccidentAt, sb.TargetHint)
		}
		r := restoreWithPgrescue(t, sb, passphraseFile(t, sb), sb.RestoreDir)
		v, err := sb.Check(t.Context(), r.socketDir, r.port, r.user)
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK || v.Rows != e.RowsAfter || !strings.Contains(v.Message, itoa(e.RowsAfter)) {
			t.Errorf("verdict %+v, want OK with %d rows", v, e.RowsAfter)
		}
		checkCloseRemovesTheSandbox(t, sb)
	})
	t.Run("keep", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(reachableDir(t), "kept")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		primaryRan := false
		_, err := Build(ctx, Options{Dir: dir, Keep: true, Executable: binary}, func(p Progress) {
			if p.Step == "Writing the application's data" {
				primaryRan = len(sandboxProcesses(dir)) > 0
				cancel()
			}
		})
		if problem.KindOf(err) != problem.Interrupted {
			t.Fatalf("a cancelled build: %v", err)
		}
		if !primaryRan {
			t.Fatal("the primary was not running when the build was cancelled: this checks nothing")
		}
		waitNoProcesses(t, dir)
		if _, err := os.Stat(filepath.Join(dir, "env.d")); err != nil {
			t.Errorf("with Keep, the folder should remain: %v", err)
		}
	})
}

// TestCheckNamesWhatWentWrong judges restores that stopped too early, too
// late and right, without a server.
func TestCheckNamesWhatWentWrong(t *testing.T) {
	sb := &Sandbox{Scenario: Scenarios[0], AccidentAt: time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC), TargetHint: "2026-11-25 03:04:02",
		Expected: Expectation{RowsBefore: 2000, RowsDeleted: 666, RowsAfter: 2334}, lastIDBefore: 2000}
	for _, c := range []struct {
		counts restoredCounts
		ok     bool
		says   string
	}{
		{restoredCounts{rows: 2000, deleted: 666}, true, "deleted documents are back"},
		{restoredCounts{rows: 2334, later: 1000}, false, "end of the archive"},
		{restoredCounts{rows: 1334}, false, "was replayed"},
		{restoredCounts{rows: 2500, deleted: 666, later: 500}, false, "written after it are there"},
		{restoredCounts{rows: 1500, deleted: 500}, false, "too early"},
	} {
		v := sb.judgeAccident(c.counts)
		if v.OK != c.ok || v.Rows != c.counts.rows || !strings.Contains(v.Message, c.says) || !strings.Contains(v.Message, "2000") {
			t.Errorf("%+v: %+v, want ok=%v saying %q", c.counts, v, c.ok, c.says)
		}
		// A failure says how to aim right: the DELETE found with f on the
		// target page, stopped just before.
		advice := "press f on the target page to find the DELETE in the archived WAL, and choose it to stop just before it"
		if !c.ok && !strings.Contains(v.Message, advice) {
			t.Errorf("%+v: the verdict does not say how to find the DELETE: %s", c.counts, v.Message)
		}
	}
	lost := &Sandbox{Scenario: Scenarios[1], Expected: Expectation{RowsBefore: 3000, RowsAfter: 3000}}
	if v := lost.judgeDiskLost(2500); v.OK || !strings.Contains(v.Message, "500 documents are missing") {
		t.Errorf("disk-lost, 2500 rows: %+v", v)
	}
	if v := lost.judgeDiskLost(3000); !v.OK {
		t.Errorf("disk-lost, 3000 rows: %+v", v)
	}
}

// TestAccidentBriefingGivesAWindow: the briefing says roughly when, in
// whole minutes from the writes after the backup to the minute after the
// DELETE, and how to find the DELETE; never its second.
func TestAccidentBriefingGivesAWindow(t *testing.T) {
	sb := &Sandbox{Scenario: Scenarios[0], App: "content-publisher", Database: "content_publisher_production",
		AccidentAt: time.Date(2026, 11, 25, 3, 4, 5, 123000, time.UTC), TargetHint: "2026-11-25 03:04:02",
		laterFrom: time.Date(2026, 11, 25, 3, 3, 58, 0, time.UTC),
		Expected:  Expectation{Query: countQuery, RowsBefore: 2000, RowsDeleted: 667, RowsAfter: 2333}}
	got := describeScenario(sb)
	for _, want := range []string{"Some time between 03:03 and 03:05 UTC on 25 November 2026", "667 of its 2000 documents were deleted",
		"1000 documents written after the accident", "press f to find the moment", "and choose the DELETE, to stop just before it",
		"the 2000 documents there were just before the DELETE", "Run SELECT count(*) FROM documents to see."} {
		if !strings.Contains(got, want) {
			t.Errorf("the briefing lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "03:04:05") || strings.Contains(got, "03:04:02") || briefedExactTime.MatchString(got) {
		t.Errorf("the briefing gives the exact time: %s", got)
	}
	// Writes after the backup that began in the accident's minute: the
	// window is that minute.
	sb.laterFrom = time.Date(2026, 11, 25, 3, 4, 1, 0, time.UTC)
	if got := describeScenario(sb); !strings.Contains(got, "between 03:04 and 03:05 UTC") {
		t.Errorf("the briefing: %s", got)
	}
}

// restoreSocketDirs are the private socket directories of the restored
// servers running in dir.
func restoreSocketDirs(dir string) []string {
	var dirs []string
	for _, d := range dataDirsUnder(dir) {
		if s := postmasterSocketDir(d); recovery.PrivateSocketDir(s) {
			dirs = append(dirs, s)
		}
	}
	return dirs
}

func itoa(n int) string { return strconv.Itoa(n) }
