package pgdump

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/internal/sshtest"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// backupMachinePath is where the backup machine keeps a primary's tree.
const backupMachinePath = "data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup"

func TestRestoreFromTheBackupMachineOverSSH(t *testing.T) {
	f := newFixture(t)
	sshd := sshtest.Start(t)
	f.dst.PSQL(t, "postgres", "CREATE ROLE app_owner; CREATE ROLE app_reader")
	root := dumpTree(t, map[string][]byte{dailyName("my-app", ".gz"): f.dump, "daily/my-app/notes.txt": []byte("x")})
	opts := SourceOptions{}
	for _, o := range sshd.Options() {
		opts.SSHOptions = append(opts.SSHOptions, "-o", o)
	}
	src, err := ParseSource(sshd.URL(root), opts)
	if err != nil {
		t.Fatal(err)
	}
	req := f.request(root)
	req.Source = src
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	f.sameData(t, res.Database)
	l, err := List(context.Background(), src, req.Location)
	if err != nil || len(l.Dumps) != 1 || len(l.Unrecognised) != 1 || l.Dumps[0].Size == 0 {
		t.Fatalf("listing over ssh: %+v, %v", l, err)
	}
	if cmd := src.FetchCommand(l.Dumps[0].Path); !strings.HasPrefix(cmd, "ssh -p ") || !strings.Contains(cmd, " cat ") {
		t.Errorf("fetch command: %s", cmd)
	}
}

func TestSSHProblemsAreNamed(t *testing.T) {
	testtool.EndToEnd(t)
	sshd := sshtest.Start(t)
	other := sshtest.Start(t) // its client key and host key are strangers to sshd
	root := t.TempDir()
	options := func(s *sshtest.Server, knownHosts, key string) SourceOptions {
		opts := SourceOptions{}
		for _, o := range s.Options() {
			o = strings.Replace(o, "UserKnownHostsFile="+s.KnownHosts, "UserKnownHostsFile="+knownHosts, 1)
			o = strings.Replace(o, "IdentityFile="+s.Key, "IdentityFile="+key, 1)
			opts.SSHOptions = append(opts.SSHOptions, "-o", o)
		}
		return opts
	}
	changed := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(changed, bytes.Replace(must(os.ReadFile(sshd.KnownHosts)), []byte(strings.Fields(sshd.HostKey)[1]), []byte(strings.Fields(other.HostKey)[1]), 1), 0o600)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(empty, nil, 0o600)
	cases := []struct {
		name string
		url  string
		opts SourceOptions
		want problem.Kind
		says string
	}{
		{"changed host key", sshd.URL(root), options(sshd, changed, sshd.Key), problem.HostKey, "CHANGED"},
		{"unknown host key", sshd.URL(root), options(sshd, empty, sshd.Key), problem.HostKey, "known_hosts"},
		{"refused key", sshd.URL(root), options(sshd, sshd.KnownHosts, other.Key), problem.AccessDenied, "refused the login"},
		{"missing path", sshd.URL(root + "/nowhere"), options(sshd, sshd.KnownHosts, sshd.Key), problem.NoBackups, "no such path"},
	}
	for _, c := range cases {
		src, err := ParseSource(c.url, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.List(context.Background())
		if !problem.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: want %v saying %q, got %v", c.name, c.want, c.says, err)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// offsite sends a backup machine's tree to a duplicity archive as GOV.UK's
// offsite job did: from /, only latest.tbz2 (a bzip2 tar of latest/).
func offsite(t *testing.T, f *fixture, url string, env []string, extra ...string) {
	t.Helper()
	testtool.Need(t, "duplicity")
	top := t.TempDir()
	tree := filepath.Join(top, backupMachinePath)
	os.MkdirAll(filepath.Join(tree, "latest"), 0o755)
	latest := filepath.Join(tree, "latest", filepath.Base(dailyName("my-app", ".gz")))
	os.WriteFile(latest, compressWith(t, "gzip", f.dump), 0o600)
	globals := filepath.Join(tree, "latest", filepath.Base(dailyName("postgres_globals", ".gz")))
	os.WriteFile(globals, compressWith(t, "gzip", f.globals), 0o600)
	tar := exec.Command("tar", "-cjf", "latest.tbz2", "latest/")
	tar.Dir = tree
	if out, err := tar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	os.RemoveAll(filepath.Join(tree, "latest"))
	args := append([]string{"--no-print-statistics", "--archive-dir", t.TempDir(), "--include", filepath.Join(tree, "latest.tbz2"), "--exclude", "**"}, extra...)
	cmd := exec.Command("duplicity", append(args, top, url)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("duplicity backup: %v\n%s", err, out)
	}
}

func TestRestoreFromTheOffsiteDuplicityArchive(t *testing.T) {
	f := newFixture(t)
	archive := "file://" + t.TempDir()
	offsite(t, f, archive, []string{"PASSPHRASE=offsite secret"})
	before := f.dst.Databases(t)

	// a wrong passphrase: a clear error, and nothing made on the server
	src, _ := ParseSource(archive, SourceOptions{Passphrase: "wrong", DuplicityOptions: []string{"--archive-dir", t.TempDir()}})
	req := f.request("")
	req.Source = src
	if _, err := f.restore(t, req); !problem.Is(err, problem.WrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if after := f.dst.Databases(t); !slices.Equal(before, after) {
		t.Fatalf("databases changed: %v → %v", before, after)
	}

	tmp := t.TempDir()
	var progress []string
	dup, err := ParseSource(archive, SourceOptions{Passphrase: "offsite secret", TempDir: tmp, DuplicityOptions: []string{"--archive-dir", t.TempDir()},
		Progress: func(line string) { progress = append(progress, line) }})
	if err != nil {
		t.Fatal(err)
	}
	req.Source = dup
	req.Globals = true // the new server has none of the roles: that night's globals create them
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	f.sameData(t, res.Database)
	if res.Dump.Kind != Latest || !strings.HasPrefix(res.Dump.Path, "latest.tbz2/latest/") {
		t.Errorf("dump: %+v", res.Dump)
	}
	if !slices.Contains(progress, "restored volume 1 of 1") {
		t.Errorf("duplicity's progress: %q", progress)
	}
	notes := strings.Join(dup.(*Duplicity).Notes(), "\n")
	if !strings.Contains(notes, "3 July 2018") || !strings.Contains(notes, "newest backup set was taken") {
		t.Errorf("notes: %s", notes)
	}
	dup.(*Duplicity).Close()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in --tempdir: %v", left)
	}
}

// TestDuplicityOverS3WithBoto3 is the offsite archive as GOV.UK had it:
// boto3+s3:// (here on the in-process S3 server), encrypted to the offsite
// GPG key (--encrypt-key, --trust-model=always); the restore needs that
// key's secret half in the keyring and its passphrase in PASSPHRASE.
func TestDuplicityOverS3WithBoto3(t *testing.T) {
	f := newFixture(t)
	testtool.Need(t, "gpg")
	home := testtool.GnuPGHome(t)
	if out, err := exec.Command("gpg", "--homedir", home, "--batch", "--import", s3test.FixturePath(t, "wale-pg15", "gpg-secret-protected.asc")).CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	passphrase := strings.TrimSpace(string(must(os.ReadFile(s3test.FixturePath(t, "wale-pg15", "gpg-passphrase.txt")))))
	srv := s3test.Start(t)
	srv.CreateBucket(t, "govuk-offsite-backups-production")
	env := []string{"AWS_ACCESS_KEY_ID=" + s3test.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + s3test.SecretAccessKey, "AWS_DEFAULT_REGION=" + s3test.Region, "GNUPGHOME=" + home}
	url := "boto3+s3://govuk-offsite-backups-production/govuk-datastores"
	endpoint := []string{"--s3-endpoint-url", srv.URL, "--num-retries", "1"}
	offsite(t, f, url, env, append([]string{"--encrypt-key", "362F92BD89D274BE3EC08FDB97431D9C5CEB8FBF", "--gpg-options", "--trust-model=always"}, endpoint...)...)
	for _, wrong := range []string{"", "not the passphrase"} {
		src, _ := ParseSource(url, SourceOptions{Passphrase: wrong, DuplicityEnv: env, DuplicityOptions: append([]string{"--archive-dir", t.TempDir()}, endpoint...)})
		req := f.request("")
		req.Source = src
		if _, err := f.restore(t, req); !problem.Is(err, problem.WrongPassphrase) && !problem.Is(err, problem.PassphraseNeeded) {
			t.Errorf("passphrase %q: %v", wrong, err)
		}
	}
	src, err := ParseSource(url, SourceOptions{Passphrase: passphrase, DuplicityEnv: env,
		DuplicityOptions: append([]string{"--archive-dir", t.TempDir()}, endpoint...)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.(*Duplicity).Close()
	req := f.request("")
	req.Source, req.Globals = src, true
	res, err := f.restore(t, req)
	if err != nil {
		t.Fatal(err)
	}
	f.sameData(t, res.Database)
}

// TestSSHRefusalsAreToldApart: ssh's own "Permission denied (publickey)"
// is the login refused; cat's "Permission denied" on the far side is the
// file (root runs these tests, so the real sshd cannot show the second).
func TestSSHRefusalsAreToldApart(t *testing.T) {
	s := &SSH{host: "backup-1.management", program: "ssh", root: "/data/backups"}
	login := s.failure(errors.New("exit status 255"), "govuk-backup@backup-1.management: Permission denied (publickey).", s.root)
	file := s.failure(errors.New("exit status 1"), "cat: /data/backups/x/latest.tbz2: Permission denied", s.root+"/x/latest.tbz2")
	if !problem.Is(login, problem.AccessDenied) || !strings.Contains(login.Error(), "refused the login") {
		t.Errorf("login: %v", login)
	}
	if !problem.Is(file, problem.AccessDenied) || !strings.Contains(file.Error(), "cannot read the file") {
		t.Errorf("file: %v", file)
	}
}
