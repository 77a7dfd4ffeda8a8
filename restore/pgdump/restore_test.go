package pgdump

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// The application's database as production had it: a role owning the
// tables, a name that needs quoting, a partitioned table, text with tabs
// and newlines, sequences, an index and a foreign key.
const appSchema = `
CREATE ROLE app_owner;
CREATE ROLE app_reader;
CREATE DATABASE "my-app" OWNER app_owner;
`

const appData = `
SET ROLE app_owner;
CREATE TABLE editions (id serial PRIMARY KEY, title text NOT NULL, body text, published timestamptz);
CREATE TABLE "Links" (id bigserial PRIMARY KEY, edition_id int REFERENCES editions(id), target text);
CREATE TABLE events (id int, at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO editions (title, body, published)
  SELECT 'Edition ' || g, E'line one\n\tline two ' || md5(g::text), timestamptz '2026-11-01' + g * interval '1 minute'
  FROM generate_series(1, 5000) g;
INSERT INTO "Links" (edition_id, target) SELECT 1 + g % 5000, '/path/' || g FROM generate_series(1, 12000) g;
INSERT INTO events SELECT g, date '2026-06-01' + (g % 400), 'event ' || g FROM generate_series(1, 3000) g;
CREATE INDEX links_target ON "Links" (target);
GRANT SELECT ON editions TO app_reader;
RESET ROLE;
`

// fixture is a server with the application's database, dumped the way
// autopostgresqlbackup does, and a second server to restore into.
type fixture struct {
	src, dst *pgtest.Server
	dump     []byte // pg_dump --create of my-app
	globals  []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testtool.EndToEnd(t)
	src := pgtest.Start(t)
	for _, stmt := range strings.Split(strings.TrimSpace(appSchema), "\n") {
		src.PSQL(t, "postgres", stmt)
	}
	src.PSQL(t, "my-app", appData)
	return &fixture{src: src, dst: pgtest.Start(t), dump: src.Dump(t, "my-app", "--create"), globals: src.DumpGlobals(t)}
}

// dumpTree writes files into an autopostgresqlbackup tree, compressed with the
// real tool of each suffix, as the script does.
func dumpTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for name, sql := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		data := sql
		for _, tool := range [][2]string{{".gz", "gzip"}, {".bz2", "bzip2"}, {".xz", "xz"}} {
			if strings.HasSuffix(strings.TrimSuffix(name, ".enc"), tool[0]) {
				data = compressWith(t, tool[1], sql)
			}
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func compressWith(t *testing.T, tool string, data []byte) []byte {
	t.Helper()
	cmd := exec.Command(testtool.Need(t, tool), "-c")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

const night = "2026-11-25_03h00m"

func dailyName(db, suffix string) string {
	return "daily/" + db + "/" + db + "_" + night + ".Wednesday.sql" + suffix
}

func (f *fixture) request(root string) Request {
	return Request{
		Source:   Dir{Root: root},
		Database: "my-app",
		Location: time.UTC,
		Server:   Server{Host: "127.0.0.1", Port: strconv.Itoa(f.dst.Port), User: "postgres", Psql: filepath.Join(f.dst.Client, "psql")},
		Now:      time.Date(2026, 12, 4, 4, 12, 0, 0, time.UTC),
	}
}

func (f *fixture) restore(t *testing.T, req Request) (*Result, error) {
	t.Helper()
	var events []Event
	plan, err := Prepare(context.Background(), req, func(e Event) { events = append(events, e) })
	if err != nil {
		return nil, err
	}
	return plan.Run(context.Background(), func(e Event) { events = append(events, e) })
}

// tableRows is a table's whole content, in order: what "row by row" compares.
func tableRows(t *testing.T, s *pgtest.Server, db, table string) string {
	return s.PSQL(t, db, "SELECT * FROM "+table+" ORDER BY 1, 2")
}

func (f *fixture) sameData(t *testing.T, restored string) {
	t.Helper()
	for _, table := range []string{"editions", `"Links"`, "events", "events_2027"} {
		want, got := tableRows(t, f.src, "my-app", table), tableRows(t, f.dst, restored, table)
		if want != got {
			t.Errorf("%s: restored rows differ from the original (%d vs %d bytes)", table, len(got), len(want))
		}
	}
	owner := f.dst.PSQL(t, restored, "SELECT tableowner FROM pg_tables WHERE tablename = 'editions'")
	if owner != "app_owner" {
		t.Errorf("owner of editions = %q", owner)
	}
	if n := f.dst.PSQL(t, restored, "SELECT count(*) FROM pg_indexes WHERE indexname = 'links_target'"); n != "1" {
		t.Errorf("index links_target missing after the restore")
	}
	if next := f.dst.PSQL(t, restored, "SELECT nextval('editions_id_seq')"); next != "5001" {
		t.Errorf("sequence after restore: nextval = %s, want 5001", next)
	}
}

func TestRestoreEachCompressionIntoANewDatabase(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	for i, suffix := range []string{".gz", ".bz2", ".xz", ""} {
		root := dumpTree(t, map[string][]byte{dailyName("my-app", suffix): f.dump})
		req := f.request(root)
		req.Now = req.Now.Add(time.Duration(i) * time.Minute)
		res, err := f.restore(t, req)
		if err != nil {
			t.Fatalf("%q: %v", suffix, err)
		}
		want := "my-app_restored_2026120" + "4T041" + strconv.Itoa(2+i)
		if res.Database != want {
			t.Fatalf("restored into %q, want %q", res.Database, want)
		}
		f.sameData(t, res.Database)
		if d := res.Verification.Differences(); len(d) > 0 || len(res.Verification.Tables) != 4 || res.Verification.Rows() != 20000 || len(res.Verification.Sequences) != 2 {
			t.Errorf("verification: %+v", res.Verification)
		}
	}
	if dbs := f.dst.Databases(t); slices.Contains(dbs, "my-app") {
		t.Errorf("the original name was created: %v", dbs)
	}
}

func TestRestoreWithJobsLoadsTheSameRows(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	req := f.request(dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.dump}))
	req.Jobs = 3
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs != 3 {
		t.Errorf("jobs = %d", res.Jobs)
	}
	f.sameData(t, res.Database)
}

func TestMissingRolesAreNamedBeforeAnyChangeAndGlobalsCreateThem(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_reader NOLOGIN") // exists, and must stay as it is
	root := dumpTree(t, map[string][]byte{
		dailyName("my-app", ".gz"):           f.dump,
		dailyName("postgres_globals", ".gz"): f.globals,
	})
	before := f.dst.Databases(t)
	_, err := f.restore(t, f.request(root))
	if !problem.Is(err, problem.RolesMissing) || !strings.Contains(err.Error(), "app_owner") || !strings.Contains(err.Error(), "--globals") {
		t.Fatalf("want roles-missing naming app_owner and --globals, got %v", err)
	}
	if after := f.dst.Databases(t); !slices.Equal(before, after) {
		t.Fatalf("databases changed: %v → %v", before, after)
	}
	req := f.request(root)
	req.Globals = true
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.RolesCreated, []string{"app_owner"}) {
		t.Errorf("roles created: %v", res.RolesCreated)
	}
	f.sameData(t, res.Database)
}

func TestBadDumpsAreRefusedBeforeAnyChange(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	gz := compressWith(t, "gzip", f.dump)
	other := bytes.ReplaceAll(f.dump, []byte(`"my-app"`), []byte("other_app"))
	cases := []struct {
		name  string
		files map[string][]byte
		raw   map[string][]byte // written as they are
		dump  string
		want  problem.Kind
	}{
		{name: "not gzip at all", raw: map[string][]byte{dailyName("my-app", ".gz"): []byte("<html>Not found</html>")}, want: problem.Corrupt},
		{name: "not a pg_dump", files: map[string][]byte{dailyName("my-app", ".gz"): []byte("hello\n")}, want: problem.Corrupt},
		{name: "cut short in its schema", raw: map[string][]byte{dailyName("my-app", ".gz"): gz[:200]}, want: problem.Truncated},
		{name: "another database's dump under this name", files: map[string][]byte{dailyName("my-app", ".gz"): other}, want: problem.WrongDatabase},
		{name: "asked for another database's file", files: map[string][]byte{dailyName("other_app", ".gz"): other}, dump: filepath.Base(dailyName("other_app", ".gz")), want: problem.WrongDatabase},
		{name: "encrypted without a key", raw: map[string][]byte{dailyName("my-app", ".gz.enc"): gz}, want: problem.KeyMissing},
		{name: "no dump of that database", files: map[string][]byte{dailyName("other_app", ".gz"): other}, want: problem.NoBackups},
	}
	before := f.dst.Databases(t)
	for _, c := range cases {
		root := dumpTree(t, c.files)
		for name, data := range c.raw {
			os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755)
			os.WriteFile(filepath.Join(root, name), data, 0o600)
		}
		req := f.request(root)
		req.Dump = c.dump
		_, err := f.restore(t, req)
		if !problem.Is(err, c.want) {
			t.Errorf("%s: want %v, got %v", c.name, c.want, err)
		}
	}
	if after := f.dst.Databases(t); !slices.Equal(before, after) {
		t.Fatalf("databases changed: %v → %v", before, after)
	}
}

// TestProblemsInTheRestOfTheDumpStopTheImport: what only the whole dump
// tells (cut short in its data, never finished by pg_dump, a grant to a
// role the server lacks) stops the import, named, and the new database is
// set aside as _incomplete; the live database is never touched.
func TestProblemsInTheRestOfTheDumpStopTheImport(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner")
	gz := compressWith(t, "gzip", f.dump)
	unfinished := f.dump[:bytes.Index(f.dump, []byte("CREATE INDEX"))]
	cases := []struct {
		name string
		data []byte
		raw  bool
		want problem.Kind
		says string
	}{
		{"cut short in its data", gz[:len(gz)*2/3], true, problem.Truncated, "truncated"},
		{"never finished by pg_dump", unfinished, false, problem.Truncated, "did not finish"},
		{"grants to a missing role", f.dump, false, problem.RolesMissing, "app_reader"},
	}
	for i, c := range cases {
		for _, jobs := range []int{1, 2} {
			data := c.data
			if !c.raw {
				data = compressWith(t, "gzip", data)
			}
			root := t.TempDir()
			p := filepath.Join(root, dailyName("my-app", ".gz"))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, data, 0o600)
			req := f.request(root)
			req.Jobs = jobs
			req.Into = "attempt_" + strconv.Itoa(i) + "_" + strconv.Itoa(jobs)
			_, err := f.restore(t, req)
			// the scout may find it before the import has created anything
			setAside := strings.Contains(err.Error(), req.Into+"_incomplete") || strings.Contains(err.Error(), "No database was created")
			if !problem.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || !setAside {
				t.Errorf("%s, --jobs %d: want %v saying %q and what became of %s, got %v", c.name, jobs, c.want, c.says, req.Into, err)
			}
			if dbs := f.dst.Databases(t); slices.Contains(dbs, req.Into) {
				t.Errorf("%s: %s was left under its name", c.name, req.Into)
			}
		}
	}
}

func TestTargetThatExistsAndServerThatRefusesAreNamed(t *testing.T) {
	f := newFixture(t)
	root := dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.dump})
	req := f.request(root)
	req.Into = "taken"
	f.dst.PSQL(t, "postgres", "CREATE DATABASE taken")
	if _, err := f.restore(t, req); !problem.Is(err, problem.DatabaseExists) || !strings.Contains(err.Error(), "taken") {
		t.Errorf("existing target: %v", err)
	}
	req = f.request(root)
	req.Server.Port = strconv.Itoa(closedPort(t))
	if _, err := f.restore(t, req); !problem.Is(err, problem.ServerUnreachable) || !strings.Contains(err.Error(), req.Server.Port) {
		t.Errorf("closed port: %v", err)
	}
}

func TestFailedImportIsRenamedIncompleteNeverDropped(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	broken := bytes.Replace(f.dump, []byte("CREATE INDEX links_target"), []byte("SELECT 1/0;\nCREATE INDEX links_target"), 1)
	root := dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): broken})
	_, err := f.restore(t, f.request(root))
	if !problem.Is(err, problem.ImportFailed) || !strings.Contains(err.Error(), "division by zero") || !strings.Contains(err.Error(), "_incomplete") {
		t.Fatalf("want import-failed with the error and the _incomplete name, got %v", err)
	}
	dbs := f.dst.Databases(t)
	if !slices.Contains(dbs, "my-app_restored_20261204T0412_incomplete") || slices.Contains(dbs, "my-app_restored_20261204T0412") {
		t.Fatalf("databases after a failed import: %v", dbs)
	}
	// the name is free again: a second try of a good dump works
	root = dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.dump})
	if _, err := f.restore(t, f.request(root)); err != nil {
		t.Fatal(err)
	}
}

func TestEncryptedDumpIsDecryptedWithTheKey(t *testing.T) {
	f := newFixture(t)
	testtool.Need(t, "openssl")
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	dir := t.TempDir()
	key, cert := filepath.Join(dir, "backup.key"), filepath.Join(dir, "backup.crt")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "2", "-subj", "/CN=autopostgresqlbackup").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	// autopostgresqlbackup's ENCRYPTION=yes: openssl smime -encrypt -aes256 -binary -outform DEM
	enc := exec.Command("openssl", "smime", "-encrypt", "-aes256", "-binary", "-outform", "DEM", cert)
	enc.Stdin = bytes.NewReader(compressWith(t, "gzip", f.dump))
	sealed, err := enc.Output()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p := filepath.Join(root, dailyName("my-app", ".gz.enc"))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, sealed, 0o600)
	other := filepath.Join(dir, "other.key")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", other, "-out", filepath.Join(dir, "other.crt"),
		"-days", "2", "-subj", "/CN=someone-else").CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	req := f.request(root)
	req.SMIMEKey = other
	if _, err := f.restore(t, req); !problem.Is(err, problem.WrongKey) || !strings.Contains(err.Error(), other) {
		t.Errorf("another certificate's key: %v", err)
	}
	req.SMIMEKey = key
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	f.sameData(t, res.Database)
}

func closedPort(t *testing.T) int {
	s := pgtest.Start(t)
	port := s.Port
	s.Run(t, "pg_ctl", "stop", "-D", s.DataDir, "-m", "fast", "-w")
	return port
}

// TestStoppedImportIsSetAside: ctrl+c during the load makes psql cancel
// the statement PostgreSQL is running (a long one here), and the half-made
// database is renamed _incomplete, with nothing left connected.
func TestStoppedImportIsSetAside(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	slow := bytes.Replace(f.dump, []byte("CREATE INDEX links_target"), []byte("SELECT pg_sleep(600);\nCREATE INDEX links_target"), 1)
	root := dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): slow})
	plan, err := Prepare(context.Background(), f.request(root), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for f.dst.PSQL(t, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(600)%'") != "1" {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err = plan.Run(ctx, nil)
	if !problem.Is(err, problem.Interrupted) || !strings.Contains(err.Error(), "_incomplete") {
		t.Fatalf("want interrupted naming the _incomplete database, got %v", err)
	}
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("stopping took %s: the statement was not cancelled", took)
	}
	if dbs := f.dst.Databases(t); !slices.Contains(dbs, "my-app_restored_20261204T0412_incomplete") {
		t.Errorf("databases: %v", dbs)
	}
	if n := f.dst.PSQL(t, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgrescue'"); n != "0" {
		t.Errorf("%s pgrescue sessions left", n)
	}
}

// TestRootRunsPsqlAsPostgres is the runbook's sudo -iu postgres psql: on a
// cluster whose socket allows peer authentication only, root with no user
// given is refused by PostgreSQL, and AsPostgresWhenRoot makes it work.
func TestRootRunsPsqlAsPostgres(t *testing.T) {
	testtool.EndToEnd(t)
	if os.Geteuid() != 0 {
		t.Skip("switching to the postgres account needs root")
	}
	dst := pgtest.StartWith(t, pgtest.Options{LocalAuth: "peer"})
	src := pgtest.Start(t)
	src.PSQL(t, "postgres", "CREATE DATABASE plain_app")
	src.PSQL(t, "plain_app", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)")
	root := dumpTree(t, map[string][]byte{dailyName("plain_app", ".gz"): src.Dump(t, "plain_app", "--create")})
	t.Setenv("PGUSER", "")
	t.Setenv("PGHOST", "")
	req := Request{Source: Dir{Root: root}, Database: "plain_app", Location: time.UTC, Now: time.Now(),
		Server: Server{Host: dst.DataDir, Port: strconv.Itoa(dst.Port), Psql: filepath.Join(dst.Client, "psql")}}
	if _, err := Prepare(context.Background(), req, nil); !problem.Is(err, problem.ServerUnreachable) {
		t.Fatalf("root as itself on a peer socket: %v", err)
	}
	req.Server.AsPostgresWhenRoot()
	if req.Server.As == nil || !strings.HasPrefix(req.Server.PsqlLine("x"), "sudo -u postgres ") {
		t.Fatalf("not switched: %+v", req.Server)
	}
	plan, err := Prepare(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Run(context.Background(), nil)
	if err != nil || res.Verification.Rows() != 10 {
		t.Fatalf("%+v %v", res, err)
	}
}

// listCounter is a source that counts its listings.
type listCounter struct {
	Source
	lists int
}

func (c *listCounter) List(ctx context.Context) ([]Entry, error) {
	c.lists++
	return c.Source.List(ctx)
}

// TestPrepareTakesTheListingGiven: the wizard lists a source before the
// dump is chosen; the restore uses that listing rather than reading the
// source again (a duplicity archive's listing takes minutes).
func TestPrepareTakesTheListingGiven(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	src := &listCounter{Source: Dir{Root: dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.dump})}}
	listing, err := List(context.Background(), src, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	req := f.request("")
	req.Source, req.Listing = src, listing
	if _, err := f.restore(t, req); err != nil {
		t.Fatal(err)
	}
	if src.lists != 1 {
		t.Errorf("the source was listed %d times, want once", src.lists)
	}
}

// TestDumpWithoutCreateDatabase: autopostgresqlbackup with
// CREATE_DATABASE=no writes dumps with no CREATE DATABASE and no \connect;
// the new database is created first and the dump loaded into it, serially
// and with --jobs.
func TestDumpWithoutCreateDatabase(t *testing.T) {
	f := newFixture(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	root := dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.src.Dump(t, "my-app")})
	for _, jobs := range []int{1, 2} {
		req := f.request(root)
		req.Jobs, req.Into = jobs, "no_create_"+strconv.Itoa(jobs)
		res, err := f.restore(t, req)
		if err != nil {
			t.Fatalf("--jobs %d: %v", jobs, err)
		}
		f.sameData(t, res.Database)
	}
}
