package pgdump

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"pgrescue/internal/lazyregexp"
	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// OffsiteStopped is when GOV.UK stopped sending PostgreSQL dumps offsite
// (govuk-puppet 5c033e87, "Don't send Postgres backups offsite"): nothing
// in the duplicity archive is newer.
var OffsiteStopped = time.Date(2018, 7, 3, 0, 0, 0, 0, time.UTC)

// Duplicity is the offsite archive: any URL duplicity reads (file://,
// s3://host/bucket/prefix, boto3+s3://bucket/prefix), run as the real
// duplicity with the passphrase in its environment only. Its paths are
// relative to / on the backup machine, so the tree is found under them.
type Duplicity struct {
	url     string
	opts    SourceOptions
	root    string    // the autopostgresqlbackup tree's path in the archive
	Newest  time.Time // when its newest backup set was taken
	mu      sync.Mutex
	plain   bool              // every backup set is unencrypted (--no-encryption)
	fetched map[string]string // archive path → restored temp file
	tmp     string
}

// urlPassword is user:password@ in a URL.
var urlPassword = lazyregexp.New(`://[^/]*:[^/]*@`)

func newDuplicity(s string, opts SourceOptions) (*Duplicity, error) {
	if urlPassword().MatchString(s) {
		return nil, problem.New(problem.Usage, "--source", "a password in the duplicity URL", "give credentials in the environment (AWS_ACCESS_KEY_ID, …): pgrescue never passes secrets in arguments")
	}
	return &Duplicity{url: s, opts: opts, fetched: map[string]string{}}, nil
}

func (d *Duplicity) String() string { return d.url }

func (d *Duplicity) program() string {
	if d.opts.DuplicityProgram != "" {
		return d.opts.DuplicityProgram
	}
	return "duplicity"
}

// run runs duplicity with its machine-readable log on fd 3, returning the
// records: each "LEVEL CODE args" line with the ". " lines that follow.
func (d *Duplicity) run(ctx context.Context, args ...string) ([]logRecord, error) {
	logR, logW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer logR.Close()
	all := append(append([]string{"--log-fd", "3"}, d.opts.DuplicityOptions...), args...)
	if d.opts.TempDir != "" {
		all = append([]string{"--tempdir", d.opts.TempDir}, all...)
	}
	if d.plain {
		all = append([]string{"--no-encryption"}, all...)
	}
	cmd := exec.CommandContext(ctx, d.program(), all...)
	// A session of its own: no controlling terminal, so duplicity can
	// never ask for a passphrase on the engineer's screen (it gets EOF
	// and says so, exit 30) and hang or garble a wizard.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = []*os.File{logW}
	cmd.Env = d.env()
	stderr := &tail{max: 8192}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		logW.Close()
		if errors.Is(err, exec.ErrNotFound) {
			return nil, problem.Wrap(err, problem.Config, d.program(), "duplicity is not installed", "install it (apt-get install duplicity)")
		}
		return nil, err
	}
	logW.Close()
	records := readLog(logR, d.opts.Progress)
	err = cmd.Wait()
	if err != nil {
		return records, d.failure(ctx, err, records, stderr.String())
	}
	return records, nil
}

// env is the engineer's environment, with PASSPHRASE set from the source's
// options: duplicity hands it to GnuPG, and it never appears in an argument.
func (d *Duplicity) env() []string {
	env := os.Environ()
	env = append(env, d.opts.DuplicityEnv...)
	if d.opts.Passphrase != "" {
		env = append(env, "PASSPHRASE="+d.opts.Passphrase)
	}
	return env
}

type logRecord struct {
	level, code string
	args        string
	lines       []string
}

// readLog parses duplicity's --log-fd stream.
func readLog(r io.Reader, progress func(string)) []logRecord {
	var records []logRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ". ") || line == ".":
			if len(records) > 0 {
				rec := &records[len(records)-1]
				rec.lines = append(rec.lines, strings.TrimPrefix(strings.TrimPrefix(line, "."), " "))

			}
		case line == "":
		default:
			f := strings.SplitN(line, " ", 3)
			rec := logRecord{level: f[0]}
			if len(f) > 1 {
				rec.code = f[1]
			}
			if len(f) > 2 {
				rec.args = f[2]
			}
			if len(records) > 0 && rec.level != "INFO" && rec.level != "NOTICE" && rec.level != "WARNING" && rec.level != "ERROR" && rec.level != "DEBUG" {
				prev := &records[len(records)-1] // collection-status's data lines
				prev.lines = append(prev.lines, line)
				continue
			}
			if n, of, ok := volumeDone(rec); ok && progress != nil {
				progress("restored volume " + n + " of " + of)
			}
			records = append(records, rec)
		}
	}
	return records
}

// volumeDone reads duplicity's "INFO 2 N M" record (with -v info): volume
// N of M of the backup set restored.
func volumeDone(rec logRecord) (n, of string, ok bool) {
	if rec.level != "INFO" || rec.code != "2" {
		return "", "", false
	}
	f := strings.Fields(rec.args)
	if len(f) != 2 {
		return "", "", false
	}
	return f[0], f[1], true
}

// failure explains duplicity's exit code (its log.ErrorCode) and message.
func (d *Duplicity) failure(ctx context.Context, err error, records []logRecord, stderr string) error {
	if ctx.Err() != nil {
		return problem.Wrap(ctx.Err(), problem.Interrupted, d.url, "stopped", "")
	}
	msg := lastError(records, stderr)
	code := -1
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	}
	var e *problem.Error
	switch code {
	case 31:
		e = problem.New(problem.WrongPassphrase, d.url, "GnuPG could not decrypt the archive: the passphrase is wrong, or the secret key is not in the keyring",
			"give the passphrase of the offsite key (hieradata backup::assets::backup_private_gpg_key_passphrase) with --passphrase-file or PASSPHRASE, and import the key with gpg --import")
	case 30:
		e = problem.New(problem.PassphraseNeeded, d.url, "duplicity needs the archive's passphrase", "give it with --passphrase-file FILE or the PASSPHRASE environment variable")
	case 19:
		e = problem.New(problem.NoBackups, d.url, "the file is not in the archive (or not at that time)", "list it with pgrescue dump-list --source "+d.url)
	case 38, 50, 53, 54, 55:
		e = problem.New(problem.Network, d.url, "duplicity could not reach the archive", "check the URL and network access to it")
	case 51:
		e = problem.New(problem.AccessDenied, d.url, "the archive's storage refused the credentials", "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (hieradata backup::offsite::job::aws_*)")
	case 52, 4, 18:
		e = problem.New(problem.NoBackups, d.url, "no duplicity archive at this URL", "check the URL: duplicity needs the full one, e.g. s3://s3-eu-west-1.amazonaws.com/govuk-offsite-backups-production/govuk-datastores/")
	default:
		e = problem.Wrap(err, problem.Unknown, d.url, "duplicity failed", "read its message")
	}
	e.Err = err
	if msg != "" {
		e.Detail = msg
	}
	return e
}

// lastError is duplicity's own error text: its ERROR record, or stderr.
func lastError(records []logRecord, stderr string) string {
	for i := len(records) - 1; i >= 0; i-- {
		if records[i].level == "ERROR" {
			return strings.TrimSpace(records[i].args + " " + strings.Join(records[i].lines, " "))
		}
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.TrimSpace(strings.Join(lines, " "))
}

var duplicityStamp = lazyregexp.New(`^\s*(full|inc)\s+(\d{8}T\d{6}Z)(?:\s+\d+\s+(enc|noenc))?`)

// status reads collection-status: every backup set, and the newest.
func (d *Duplicity) status(ctx context.Context) error {
	records, err := d.run(ctx, "collection-status", d.url)
	if err != nil {
		return err
	}
	d.Newest = time.Time{}
	sets, unencrypted := 0, 0
	defer func() { d.plain = sets > 0 && sets == unencrypted }()
	for _, r := range records {
		for _, line := range r.lines {
			m := duplicityStamp().FindStringSubmatch(line)
			if m == nil {
				continue
			}
			t, err := time.Parse("20060102T150405Z", m[2])
			if err != nil {
				continue
			}
			sets++
			if m[3] == "noenc" {
				unencrypted++
			}
			if t.After(d.Newest) {
				d.Newest = t
			}
		}
	}
	return nil
}

var currentFile = lazyregexp.New(`^(\d{8}T\d{6}Z) '((?:[^']|'')*|.*)' (\w+)$`)

// List reads collection-status (how stale the archive is) and
// list-current-files, and finds the autopostgresqlbackup tree in it.
func (d *Duplicity) List(ctx context.Context) ([]Entry, error) {
	if err := d.status(ctx); err != nil {
		return nil, err
	}
	records, err := d.run(ctx, "list-current-files", d.url)
	if err != nil {
		return nil, err
	}
	var files []Entry
	for _, r := range records {
		if r.level != "INFO" || r.code != "10" {
			continue
		}
		m := currentFile().FindStringSubmatch(r.args)
		if m == nil || m[3] != "reg" {
			continue
		}
		t, _ := time.Parse("20060102T150405Z", m[1])
		files = append(files, Entry{Path: m[2], ModTime: t})
	}
	return d.underRoot(files)
}

// treeMarker is the tree's directory in every path the backup machine
// sent offsite: data/backups/<fqdn>/var/lib/autopostgresqlbackup/….
const treeMarker = "var/lib/autopostgresqlbackup"

// underRoot keeps the files of the one autopostgresqlbackup tree in the
// archive, relative to it.
func (d *Duplicity) underRoot(files []Entry) ([]Entry, error) {
	roots := map[string]bool{}
	for _, f := range files {
		if i := strings.Index(f.Path, treeMarker+"/"); i >= 0 {
			roots[f.Path[:i+len(treeMarker)]] = true
		}
	}
	if len(roots) > 1 {
		var names []string
		for r := range roots {
			names = append(names, r)
		}
		return nil, problem.New(problem.Usage, d.url, "the archive holds the trees of several machines: "+strings.Join(names, ", "),
			"copy the one you want with duplicity restore --file-to-restore PATH "+d.url+" DIR, then give --source DIR")
	}
	for r := range roots {
		d.root = r
	}
	if d.root == "" {
		return nil, problem.New(problem.NoBackups, d.url, "the archive holds no autopostgresqlbackup files ("+treeMarker+")",
			"PostgreSQL dumps stopped going offsite on "+OffsiteStopped.Format("2 January 2006")+"; use the backup machine or the primary's mount point")
	}
	var entries []Entry
	for _, f := range files {
		if rel, ok := strings.CutPrefix(f.Path, d.root+"/"); ok {
			f.Path = rel
			entries = append(entries, f)
		}
	}
	return entries, nil
}

// Notes say how stale the archive is.
func (d *Duplicity) Notes() []string {
	notes := []string{"PostgreSQL dumps stopped going offsite on " + OffsiteStopped.Format("2 January 2006") + " (replaced by WAL-E): this archive may be years old"}
	if !d.Newest.IsZero() {
		notes = append(notes, "its newest backup set was taken "+d.Newest.Format("2006-01-02 15:04 UTC")+" ("+strconv.Itoa(int(time.Since(d.Newest).Hours()/24))+" days ago)")
	}
	return notes
}

// Open restores one file with duplicity into a private temporary folder
// (duplicity writes files, it cannot stream one) and opens it; the copy
// is removed when the source is closed.
func (d *Duplicity) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if local, ok := d.fetched[p]; ok {
		return os.Open(local)
	}
	if d.tmp == "" {
		dir, err := os.MkdirTemp(d.opts.TempDir, "pgrescue-duplicity-")
		if err != nil {
			return nil, problem.Wrap(err, problem.LocalIO, os.TempDir(), "cannot make a folder for the restored file", "give --tempdir DIR with room for the compressed dump")
		}
		d.tmp = dir
	}
	local := filepath.Join(d.tmp, strconv.Itoa(len(d.fetched))+"-"+path.Base(p))
	if _, err := d.run(ctx, "restore", "-v", "info", "--file-to-restore", d.archivePath(p), d.url, local); err != nil {
		os.Remove(local)
		return nil, err
	}
	d.fetched[p] = local
	return os.Open(local)
}

func (d *Duplicity) archivePath(p string) string {
	if d.root == "" {
		return p
	}
	return d.root + "/" + p
}

func (d *Duplicity) FetchCommand(p string) string {
	return "PASSPHRASE=… duplicity restore --file-to-restore " + shellcmd.Quote(d.archivePath(p)) + " " + shellcmd.Quote(d.url) + " /tmp/" + shellcmd.Quote(path.Base(p)) + " && cat /tmp/" + shellcmd.Quote(path.Base(p))
}

// Close removes the files restored from the archive.
func (d *Duplicity) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tmp == "" {
		return nil
	}
	err := os.RemoveAll(d.tmp)
	d.tmp, d.fetched = "", map[string]string{}
	return err
}
