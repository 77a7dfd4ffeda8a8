package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/pgtest"
	"pgrescue/internal/testtool"
	"pgrescue/internal/tmuxtest"
)

// nightlyTree lays out one night of autopostgresqlbackup's files for db,
// dumped by the real pg_dump and pg_dumpall and gzipped by gzip.
func nightlyTree(t *testing.T, s *pgtest.Server, db string) string {
	t.Helper()
	root := t.TempDir()
	gz := func(data []byte) []byte {
		cmd := exec.Command(testtool.Need(t, "gzip"), "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for name, data := range map[string][]byte{
		"daily/" + db + "/" + db + "_2026-11-25_03h00m.Wednesday.sql.gz":             gz(s.Dump(t, db, "--create")),
		"daily/postgres_globals/postgres_globals_2026-11-25_03h00m.Wednesday.sql.gz": gz(s.DumpGlobals(t)),
		"latest/" + db + "_2026-11-25_03h00m.Wednesday.sql.gz":                       gz(s.Dump(t, db, "--create")),
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o600)
	}
	return root
}

// TestRestorePgDumpCommand is the legacy path as an engineer runs it: the
// plan first, then the restore into a new database with its verification,
// then --replace, which waits for no sessions (or ends them when told),
// keeps the old database and is written to the journal.
func TestRestorePgDumpCommand(t *testing.T) {
	s := pgtest.Start(t)
	s.PSQL(t, "postgres", "CREATE DATABASE content_store")
	s.PSQL(t, "content_store", "CREATE TABLE items (id serial PRIMARY KEY, body text); INSERT INTO items (body) SELECT md5(g::text) FROM generate_series(1, 2500) g")
	root := nightlyTree(t, s, "content_store")
	s.PSQL(t, "content_store", "DELETE FROM items WHERE id > 100") // the incident
	state := t.TempDir()
	env := append(s.Env(), "XDG_STATE_HOME="+state)
	args := []string{"restore", "pg-dump", "--source", root, "--database", "content_store", "--timezone", "UTC", "--psql", filepath.Join(s.Client, "psql")}

	r := pgrescue(t, env, args...)
	if r.code != 3 || !strings.Contains(r.stdout, "# plan: restore content_store's daily dump of 2026-11-25 03:00 UTC") || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("without --yes: %+v", r)
	}
	r = pgrescue(t, env, append(args, "--yes")...)
	if r.code != 0 || !strings.Contains(r.stdout, "verified: 1 tables, 2500 rows, 1 sequences match the dump") {
		t.Fatalf("restore: %+v", r)
	}
	restored := regexp.MustCompile(`into (content_store_restored_\d{8}T\d{4}) in`).FindStringSubmatch(r.stdout)
	if restored == nil {
		t.Fatalf("no restored name in %s", r.stdout)
	}
	if n := s.PSQL(t, restored[1], "SELECT count(*) FROM items"); n != "2500" {
		t.Errorf("restored rows: %s", n)
	}
	if n := s.PSQL(t, "content_store", "SELECT count(*) FROM items"); n != "100" {
		t.Errorf("the live database was touched: %s rows", n)
	}

	// a session on the live database stops --replace, which names it
	holdSession(t, s, "content_store", "publisher-worker")
	replace := append(args, "--yes", "--replace", "--confirm", "content_store", "--into", "content_store_new")
	r = pgrescue(t, env, replace...)
	if r.code != 27 || !strings.Contains(r.stderr, "publisher-worker") || !strings.Contains(r.stderr, "--terminate-sessions") {
		t.Fatalf("--replace with a session: %+v", r)
	}
	if dbs := s.Databases(t); !slices.Contains(dbs, "content_store_new") || !slices.Contains(dbs, "content_store") {
		t.Fatalf("after a refused swap: %v", dbs)
	}
	if r = pgrescue(t, env, append(args, "--yes", "--replace", "--confirm", "content_stor", "--into", "content_store_x")...); r.code != 3 || !strings.Contains(r.stderr, "not confirmed") {
		t.Fatalf("a mistyped confirmation: %+v", r)
	}
	r = pgrescue(t, env, append(args, "--yes", "--replace", "--confirm", "content_store", "--into", "content_store_new2", "--terminate-sessions")...)
	if r.code != 0 || !strings.Contains(r.stdout, "replaced: content_store is the restored database; the old one is kept as content_store_before_") {
		t.Fatalf("--replace --terminate-sessions: %+v", r)
	}
	if n := s.PSQL(t, "content_store", "SELECT count(*) FROM items"); n != "2500" {
		t.Errorf("content_store after the swap: %s rows", n)
	}
	r = pgrescue(t, env, "journal", "--last", "1")
	if !strings.Contains(r.stdout, "terminate") || !strings.Contains(r.stdout, "replaced") {
		t.Errorf("journal: %s", r.stdout)
	}
}

// holdSession keeps a session on db, as application app, until the test
// ends: the application a --replace finds still connected.
func holdSession(t *testing.T, s *pgtest.Server, db, app string) {
	t.Helper()
	hold := exec.Command(filepath.Join(s.Client, "psql"), "-X", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", db, "-c", "SELECT pg_sleep(60)")
	hold.Env = append(os.Environ(), "PGAPPNAME="+app)
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Process.Kill(); hold.Wait() })
	waitForSession(t, s, app)
}

func waitForSession(t *testing.T, s *pgtest.Server, app string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if s.PSQL(t, "postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"+app+"'") == "1" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no session of %s", app)
}

// TestWizardRestoresANightlyDumpLineByLine: the wizard's pg_dump flow as
// an engineer answers it with --plain: the application, its hosting, the
// legacy source, the mount point, the newest dump, yes; the dump lands in a
// new database and is verified, next to the live one.
func TestWizardRestoresANightlyDumpLineByLine(t *testing.T) {
	s := pgtest.Start(t)
	db := "content_publisher_production"
	s.PSQL(t, "postgres", "CREATE DATABASE "+db)
	s.PSQL(t, db, "CREATE TABLE documents (id int PRIMARY KEY, title text); INSERT INTO documents SELECT g, 'doc ' || g FROM generate_series(1, 700) g")
	root := nightlyTree(t, s, db)
	config := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(config, []byte("applications:\n  content-publisher:\n    databases: ["+db+"]\n    pg_dump_dir: "+root+"\n"), 0o644)
	env := append(s.Env(), "XDG_STATE_HOME="+t.TempDir(), "TZ=UTC")
	answers := strings.Join([]string{"content-publisher", "", "2", "1", "1", "yes"}, "\n") + "\n"
	r := pgrescueWithInput(t, env, answers, "--config", config, "--plain")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"Found 2 dumps", "The dump is a pg_dump", "Verified: 1 tables, 700 rows"} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("the session lacks %q:\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
	restored := regexp.MustCompile(`into (` + db + `_restored_\d{8}T\d{4})`).FindStringSubmatch(r.stdout)
	if restored == nil {
		t.Fatalf("no restored database named in:\n%s", r.stdout)
	}
	if n := s.PSQL(t, restored[1], "SELECT count(*) FROM documents"); n != "700" {
		t.Errorf("restored rows: %s", n)
	}
}

// TestWizardReplacesTheLiveDatabaseLineByLine: typing the database's name
// instead of yes restores and then swaps; a session on the live database
// stops the swap and is named, w checks again, t twice ends it; the live
// database is kept under another name.
func TestWizardReplacesTheLiveDatabaseLineByLine(t *testing.T) {
	s := pgtest.Start(t)
	db := "content_publisher_production"
	s.PSQL(t, "postgres", "CREATE DATABASE "+db)
	s.PSQL(t, db, "CREATE TABLE documents (id int PRIMARY KEY); INSERT INTO documents SELECT generate_series(1, 300)")
	root := nightlyTree(t, s, db)
	s.PSQL(t, db, "DELETE FROM documents WHERE id > 10")
	config := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(config, []byte("applications:\n  content-publisher:\n    databases: ["+db+"]\n    pg_dump_dir: "+root+"\n"), 0o644)
	env := append(s.Env(), "XDG_STATE_HOME="+t.TempDir(), "TZ=UTC")

	holdSession(t, s, db, "publisher-worker")

	answers := strings.Join([]string{"content-publisher", "", "2", "1", "1", db, "w", "t", "t"}, "\n") + "\n"
	r := pgrescueWithInput(t, env, answers, "--config", config, "--plain")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"Verified: 1 tables, 300 rows", "publisher-worker", "Type t again", db + " is now the restored database; the one it replaced is kept as " + db + "_before_"} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("the session lacks %q:\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
	if n := s.PSQL(t, db, "SELECT count(*) FROM documents"); n != "300" {
		t.Errorf("%s after the swap: %s rows", db, n)
	}
	var before string
	for _, name := range s.Databases(t) {
		if strings.HasPrefix(name, db+"_before_") {
			before = name
		}
	}
	if before == "" || s.PSQL(t, before, "SELECT count(*) FROM documents") != "10" {
		t.Errorf("the replaced database was not kept: %v", s.Databases(t))
	}
}

// TestReplaceOnATerminalAsksAboutTheSessions: restore pg-dump --replace
// run by a person: the database's name typed, then, with the application
// still connected, t and a typed yes end its sessions and the swap happens.
func TestReplaceOnATerminalAsksAboutTheSessions(t *testing.T) {
	s := pgtest.Start(t)
	s.PSQL(t, "postgres", "CREATE DATABASE content_store")
	s.PSQL(t, "content_store", "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 50)")
	root := nightlyTree(t, s, "content_store")
	holdSession(t, s, "content_store", "publisher-worker")
	env := append(s.Env(), "HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir())
	term := tmuxtest.Start(t, tmuxtest.Options{Width: 120, Height: 40, Env: env}, binary, "restore", "pg-dump", "--source", root,
		"--database", "content_store", "--timezone", "UTC", "--psql", filepath.Join(s.Client, "psql"), "--replace", "--yes")
	term.WaitFor("Type the database's name to go on:", 30*time.Second)
	term.Type("content_store")
	term.Keys("Enter")
	term.WaitFor("[t]erminate them, or [a]bort?", 60*time.Second)
	term.Type("t")
	term.Keys("Enter")
	term.WaitFor("Type yes to end 1 session(s):", 10*time.Second)
	term.Type("yes")
	term.Keys("Enter")
	if code := term.WaitExit(60 * time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, term.History())
	}
	if !strings.Contains(term.History(), "replaced: content_store is the restored database") {
		t.Errorf("no replacement said:\n%s", term.History())
	}
	if n := s.PSQL(t, "content_store", "SELECT count(*) FROM items"); n != "50" {
		t.Errorf("content_store after the swap: %s rows", n)
	}
}

// TestWizardAsksForTheOffsitePassphrase: the offsite duplicity archive is
// encrypted; the wizard asks for its passphrase when duplicity needs it,
// again after a wrong one, and restores; the passphrase is in no record.
func TestWizardAsksForTheOffsitePassphrase(t *testing.T) {
	testtool.Need(t, "duplicity")
	s := pgtest.Start(t)
	db := "content_publisher_production"
	s.PSQL(t, "postgres", "CREATE DATABASE "+db)
	s.PSQL(t, db, "CREATE TABLE documents (id int PRIMARY KEY); INSERT INTO documents SELECT generate_series(1, 120)")
	top := t.TempDir()
	tree := filepath.Join(top, "data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup")
	os.MkdirAll(filepath.Dir(tree), 0o755)
	if err := os.Rename(nightlyTree(t, s, db), tree); err != nil {
		t.Fatal(err)
	}
	archive := "file://" + t.TempDir()
	const passphrase = "offsite secret 7f3a"
	backup := exec.Command("duplicity", "--no-print-statistics", "--archive-dir", t.TempDir(), top, archive)
	backup.Env = append(os.Environ(), "PASSPHRASE="+passphrase)
	if out, err := backup.CombinedOutput(); err != nil {
		t.Fatalf("duplicity: %v\n%s", err, out)
	}
	config := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(config, []byte("applications:\n  content-publisher:\n    databases: ["+db+"]\n    offsite_url: "+archive+"\n"), 0o644)
	state := t.TempDir()
	env := append(s.Env(), "XDG_STATE_HOME="+state, "TZ=UTC")
	answers := strings.Join([]string{"content-publisher", "", "2", "3", "not it", passphrase, "1", "yes"}, "\n") + "\n"
	r := pgrescueWithInput(t, env, answers, "--config", config, "--plain")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"duplicity needs", "GnuPG could not decrypt the archive", "stopped going offsite", "Verified: 1 tables, 120 rows"} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("the session lacks %q:\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
		}
	}
	journals, _ := filepath.Glob(filepath.Join(state, "pgrescue", "*"))
	for _, j := range journals {
		if data, _ := os.ReadFile(j); strings.Contains(string(data), passphrase) {
			t.Errorf("the passphrase is in the journal %s", j)
		}
	}
	if strings.Contains(r.stdout+r.stderr, passphrase) {
		t.Error("the passphrase was printed")
	}
}
