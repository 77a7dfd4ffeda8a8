package walerestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"pgrescue/gpg"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/walesettings"
)

// Status is the outcome of one preflight check.
type Status string

const (
	Running Status = "running"
	Passed  Status = "passed"
	Warning Status = "warning" // the restore can go on, but read this
	Failed  Status = "failed"
	Skipped Status = "skipped" // not checked, Detail says why
)

// Mark is the status as every front-end prints it in front of a check's
// title: "[ OK ]", "[WARN]", "[FAIL]", "[SKIP]"; "" while it runs.
func (s Status) Mark() string {
	switch s {
	case Passed:
		return "[ OK ]"
	case Warning:
		return "[WARN]"
	case Failed:
		return "[FAIL]"
	case Skipped:
		return "[SKIP]"
	}
	return ""
}

// CheckID names a preflight check.
type CheckID string

const (
	CheckSettings   CheckID = "settings"
	CheckArchive    CheckID = "archive"
	CheckKey        CheckID = "key"
	CheckServer     CheckID = "server"
	CheckDiskSpace  CheckID = "disk"
	CheckContinuity CheckID = "continuity"
)

// CheckTitles are what each check verifies, in the order they run.
var CheckTitles = []struct {
	ID    CheckID
	Title string
}{
	{CheckSettings, "WAL-E settings found"},
	{CheckArchive, "S3 reachable and the archive listed"},
	{CheckKey, "The archive's GPG key"},
	{CheckServer, "PostgreSQL stopped on the data directory"},
	{CheckDiskSpace, "Free disk space for the backup"},
	{CheckContinuity, "WAL continuity to the target"},
}

// Check is one preflight check and its outcome.
type Check struct {
	ID     CheckID
	Title  string
	Status Status
	Detail string // what was found
	Fix    string // the next step, for a failure or warning
	Err    error  // the failure itself
}

// Lines are the check as the plain front-ends print it once it has ended:
// its mark, title and detail, then the next step unless it passed. A
// check still running has no lines.
func (c Check) Lines() []string {
	if c.Status.Mark() == "" {
		return nil
	}
	lines := []string{c.Status.Mark() + " " + c.Title + ": " + c.Detail}
	if c.Fix != "" && c.Status != Passed {
		lines = append(lines, "       next: "+c.Fix)
	}
	return lines
}

// Resolved is how the caller resolved the WAL-E settings: which archive
// they name and where from, or why they could not be resolved.
type Resolved struct {
	Detail string // e.g. "WALE_S3_PREFIX=s3://bucket/prefix (from /etc/wal-e/env.d)"
	Err    error  // the configuration could not be resolved or the archive opened
}

// ResolvedFrom says which archive the settings name and where that came
// from, or carries err when they could not be used.
func ResolvedFrom(s *walesettings.Settings, err error) Resolved {
	if err != nil || s == nil {
		return Resolved{Err: err}
	}
	prefix, _ := s.Lookup(walesettings.S3Prefix)
	return Resolved{Detail: fmt.Sprintf("%s=%s (from %s)", walesettings.S3Prefix, prefix.Value, prefix.Source)}
}

// KeySource lists the secret keys available to decrypt the archive without
// needing any passphrase (a keyring's status, a key file's keys).
type KeySource struct {
	Where string // "keyring /var/lib/postgresql/.gnupg", "key file /root/wal-e.asc"
	List  func(ctx context.Context) ([]gpg.KeyInfo, error)
}

// Report is the outcome of the preflight, with what it learned on the way
// (the backups and WAL listed, the chosen backup, the recoverable window),
// so later steps do not list the archive again.
type Report struct {
	Checks       []Check
	Backups      []wale.Backup // with their sentinels loaded
	WAL          []wale.WALObject
	Chosen       *wale.Backup // the backup the target needs; nil when none could be chosen
	Window       wale.Window
	KeyProtected bool   // the archive's key needs a passphrase
	KeyName      string // the key that decrypts the archive, for the GPG step
	Version      string // the chosen backup's PostgreSQL major version; "" when the archive does not say
	DataDirEmpty bool
	SegmentSize  int64 // the archive's WAL segment size, for windows of other backups
}

// Listing is the archive as the preflight listed it, for the steps after.
func (r *Report) Listing() *wale.Listing { return &wale.Listing{Backups: r.Backups, WAL: r.WAL} }

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.FirstFailure() == nil }

// FirstFailure returns the first failed check, or nil.
func (r *Report) FirstFailure() *Check {
	for i := range r.Checks {
		if r.Checks[i].Status == Failed {
			return &r.Checks[i]
		}
	}
	return nil
}

// Check returns the check with this id.
func (r *Report) Check(id CheckID) *Check {
	for i := range r.Checks {
		if r.Checks[i].ID == id {
			return &r.Checks[i]
		}
	}
	return nil
}

// Preflight runs every check in order, reporting each as it starts and as
// it ends. A check that depends on a failed one is skipped with the reason.
// Nothing is written anywhere.
func Preflight(ctx context.Context, opts Options, cfg Resolved, report func(Check)) *Report {
	return (&preflight{ctx: ctx, opts: opts, cfg: cfg, report: report, rep: &Report{}}).runAll()
}

// Recheck is the preflight again, for a plan made minutes after checked:
// the engineer read the screens in between, and the data directory, its
// server and the newest backup may have changed. It lists the base backups
// again; while they are the ones checked saw, their sentinels and the WAL
// listing are taken from checked instead of being read again. Every other
// check works on local facts and runs again.
func Recheck(ctx context.Context, opts Options, cfg Resolved, checked *Report) *Report {
	p := &preflight{ctx: ctx, opts: opts, cfg: cfg, rep: &Report{}}
	if checked != nil && opts.Archive != nil && cfg.Err == nil {
		if backups, err := opts.Archive.ListBackups(ctx); err == nil && sameBackups(backups, checked.Backups) {
			p.known = checked.Listing()
		}
	}
	return p.runAll()
}

// sameBackups reports whether two listings hold the same completed backups.
func sameBackups(listed, checked []wale.Backup) bool {
	if len(listed) != len(checked) {
		return false
	}
	for i := range listed {
		if listed[i].SentinelKey != checked[i].SentinelKey || !listed[i].LastModified.Equal(checked[i].LastModified) {
			return false
		}
	}
	return true
}

func (p *preflight) runAll() *Report {
	report := p.report
	if report == nil {
		report = func(Check) {}
	}
	for _, c := range CheckTitles {
		check := Check{ID: c.ID, Title: c.Title, Status: Running}
		report(check)
		p.run(&check)
		p.rep.Checks = append(p.rep.Checks, check)
		report(check)
	}
	return p.rep
}

type preflight struct {
	ctx    context.Context
	opts   Options
	cfg    Resolved
	report func(Check)
	rep    *Report
	known  *wale.Listing // the archive as already listed: not listed again
}

func (p *preflight) run(c *Check) {
	switch c.ID {
	case CheckSettings:
		p.checkSettings(c)
	case CheckArchive:
		p.needs(c, CheckSettings, p.checkArchive)
	case CheckKey:
		p.needs(c, CheckArchive, p.checkKey)
	case CheckServer:
		p.checkServer(c)
	case CheckDiskSpace:
		p.needsBackup(c, p.checkDiskSpace)
	case CheckContinuity:
		p.needsBackup(c, p.checkContinuity)
	}
}

// needs runs check only when the check it depends on passed or warned.
func (p *preflight) needs(c *Check, on CheckID, check func(*Check)) {
	if dep := p.rep.Check(on); dep != nil && (dep.Status == Failed || dep.Status == Skipped) {
		skip(c, "needs: "+dep.Title)
		return
	}
	check(c)
}

func (p *preflight) needsBackup(c *Check, check func(*Check)) {
	p.needs(c, CheckArchive, func(c *Check) {
		if p.rep.Chosen == nil {
			skip(c, "no base backup could be chosen")
			return
		}
		check(c)
	})
}

func skip(c *Check, why string) { c.Status, c.Detail = Skipped, why }

func pass(c *Check, detail string) { c.Status, c.Detail = Passed, detail }

func warn(c *Check, detail, fix string) { c.Status, c.Detail, c.Fix = Warning, detail, fix }

// fail records err; a *problem.Error gives its summary and next step.
func fail(c *Check, err error) {
	c.Status, c.Err = Failed, err
	var pe *problem.Error
	if errors.As(err, &pe) {
		c.Detail, c.Fix = pe.Summary, pe.Next
		if pe.Subject != "" {
			c.Detail += " (" + pe.Subject + ")"
		}
		return
	}
	c.Detail = err.Error()
}

func (p *preflight) checkSettings(c *Check) {
	if p.cfg.Err != nil || p.opts.Archive == nil {
		err := p.cfg.Err
		if err == nil {
			err = problem.New(problem.Config, "WALE_S3_PREFIX", "no WAL-E archive is configured",
				"give --envdir DIR (GOV.UK machines: /etc/wal-e/env.d) or --s3-prefix s3://BUCKET/PREFIX")
		}
		fail(c, err)
		return
	}
	pass(c, p.cfg.Detail)
}

func (p *preflight) checkArchive(c *Check) {
	a := p.opts.Archive
	listed, err := p.list()
	if err != nil {
		fail(c, err)
		return
	}
	backups, wal := listed.Backups, listed.WAL
	p.rep.Backups, p.rep.WAL, p.rep.SegmentSize = backups, wal, a.SegmentSize
	if p.rep.SegmentSize == 0 {
		p.rep.SegmentSize = wale.DefaultSegmentSize
	}
	detail := fmt.Sprintf("%s: %d base backups, %d WAL files", a.Store.URI(a.Layout.Prefix), len(backups), len(wal))
	if err := p.choose(); err != nil {
		fail(c, err)
		c.Detail = detail + "; " + c.Detail
		return
	}
	pass(c, detail+"; backup "+p.rep.Chosen.Name+" chosen")
}

// list is the archive's backups, with their sentinels, and WAL: as already
// listed, or listed now.
func (p *preflight) list() (*wale.Listing, error) {
	if p.known != nil {
		return p.known, nil
	}
	a := p.opts.Archive
	backups, err := a.ListBackups(p.ctx)
	if err == nil {
		err = a.LoadAllDetails(p.ctx, backups)
	}
	if err != nil {
		return nil, err
	}
	wal, _, err := a.ListWAL(p.ctx)
	if err != nil {
		return nil, err
	}
	return &wale.Listing{Backups: backups, WAL: wal}, nil
}

// choose picks the backup: the one named, or the newest that completed
// before the target (the newest of all for the end of the archive).
func (p *preflight) choose() error {
	var (
		b   wale.Backup
		err error
	)
	switch name := p.opts.Backup; name {
	case "":
		b, err = wale.ChooseBackup(p.rep.Backups, p.opts.Target.Time)
	default:
		b, err = p.opts.Archive.SelectIn(p.ctx, p.rep.Backups, name)
	}
	if err != nil {
		return err
	}
	p.rep.Chosen = &b
	p.rep.Window = wale.NewWindow(b, p.rep.WAL, p.opts.Archive.SegmentSize)
	return nil
}

func (p *preflight) checkKey(c *Check) {
	k, err := findArchiveKey(p.ctx, p.opts.Archive, p.opts.Keys, p.rep.WAL)
	src := p.opts.Keys
	switch {
	case err != nil:
		fail(c, err)
	case k.NoObject != "":
		skip(c, k.NoObject)
	case !k.Encrypted():
		pass(c, "the archive is not encrypted: no key is needed")
	case src.List == nil:
		fail(c, problem.New(problem.KeyMissing, k.Object, "the archive is encrypted to "+keyIDs(k.Recipients)+" and no secret key was found",
			"give --gpg-key FILE, or --homedir / GNUPGHOME for the keyring that holds it (usually ~postgres/.gnupg)"))
	case k.Held == nil:
		fail(c, problem.New(problem.WrongKey, k.Object, fmt.Sprintf("the archive is encrypted to %s, which %s does not hold", keyIDs(k.Recipients), src.Where),
			"find the machine or file that holds it (`sudo -iu postgres gpg --list-secret-keys --keyid-format long`), "+
				"and give --gpg-key FILE or --homedir DIR"))
	case k.Protected():
		p.rep.KeyName, p.rep.KeyProtected = k.Held.Key.String(), true
		warn(c, fmt.Sprintf("%s holds key %s, protected by a passphrase", src.Where, k.Held.Key.String()),
			"the GPG step unlocks it in memory for this restore (WAL-E itself would fail with misleading lzo or tar errors)")
	default:
		p.rep.KeyName = k.Held.Key.String()
		pass(c, fmt.Sprintf("%s holds key %s, with no passphrase", src.Where, k.Held.Key.String()))
	}
}

func keyIDs(ids []uint64) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("0x%016X", id)
	}
	return s
}

func (p *preflight) checkServer(c *Check) {
	dir := p.opts.PGData
	if dir == "" {
		fail(c, problem.New(problem.Usage, "--pgdata", "no data directory was given", "give the data directory to restore into, e.g. /var/lib/postgresql/9.3/main"))
		return
	}
	empty, err := wale.CheckDataDir(dir, true) // refuses a running server first
	if err != nil {
		fail(c, err)
		return
	}
	if err := checkWritable(dir); err != nil {
		fail(c, err)
		return
	}
	if err := p.checkClusterVersion(); err != nil {
		fail(c, err)
		return
	}
	if err := p.checkServerPrograms(); err != nil {
		fail(c, err) // found now, not after the move and the whole download
		return
	}
	p.rep.DataDirEmpty = empty
	switch {
	case empty:
		pass(c, dir+" is empty or absent: the backup goes straight in")
	case p.opts.MoveAside:
		warn(c, dir+" holds a cluster (stopped); it will be moved aside to "+dir+".pgrescue-<time>, never deleted",
			"the plan asks you to type the directory's name to confirm")
	default:
		_, err := wale.CheckDataDir(dir, false)
		fail(c, err)
	}
}

func (p *preflight) checkDiskSpace(c *Check) {
	b := p.rep.Chosen
	need := int64(0)
	if b.Sentinel != nil {
		need = b.Sentinel.ExpandedSizeBytes
	}
	if need == 0 {
		skip(c, "backup "+b.Name+" does not record its size")
		return
	}
	if err := wale.CheckFreeSpace(p.opts.PGData, need); err != nil {
		fail(c, err)
		return
	}
	pass(c, fmt.Sprintf("backup %s expands to %s; enough space is free", b.Name, wale.HumanBytes(need)))
}

func (p *preflight) checkContinuity(c *Check) {
	w := p.rep.Window
	target := p.opts.Target
	if target.IsTime() {
		if err := w.CheckTarget(target.Time); err != nil {
			fail(c, err)
			return
		}
	}
	reach := fmt.Sprintf("from %s to %s (newest segment %s)", utc(w.From), utc(w.To), w.Newest)
	if gap := w.GapWarning(); gap != "" {
		warn(c, "the archive can restore "+reach+", but "+gap,
			"restore to a time before the gap, or find the missing segments")
		return
	}
	pass(c, "the archive can restore any moment "+reach)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// checkWritable makes sure the restore can do its work before it starts:
// write into the data directory, and rename it (aside, or as incomplete) in
// its parent; a missing one is created in the nearest folder that exists.
// A read-only or immutable folder is found now, not after the move.
func checkWritable(dir string) error {
	paths := []string{filepath.Dir(dir)}
	if _, err := os.Stat(dir); err == nil {
		paths = append(paths, dir)
	}
	for i, p := range paths {
		for i == 0 && p != "/" {
			if _, err := os.Stat(p); err == nil {
				break
			}
			p = filepath.Dir(p)
		}
		if err := unix.Access(p, unix.W_OK); err != nil {
			return problem.Wrap(err, problem.LocalIO, p, "pgrescue cannot write in "+p+", which the restore must do",
				"run pgrescue as root or as the owner of "+p+", and check the file system is not read-only (mount) or the folder immutable (lsattr -d)")
		}
	}
	return nil
}

// backupVersion is the chosen backup's major version, read once.
func (p *preflight) backupVersion() string {
	if p.rep.Version == "" && p.rep.Chosen != nil && p.opts.Archive != nil {
		p.rep.Version = p.opts.Archive.ServerMajorVersion(p.ctx, p.rep.Chosen.Name)
	}
	return p.rep.Version
}

// checkServerPrograms makes sure the server programs of the backup's major
// version are installed before anything changes: only they can recover
// the restored files. A Debian cluster is started by pg_ctlcluster, which
// finds its own; binaries named by the caller are theirs to vouch for.
func (p *preflight) checkServerPrograms() error {
	server := p.opts.Replay.Server
	if server.Cluster != nil || server.BinDir != "" {
		return nil
	}
	backed := p.backupVersion()
	if backed == "" {
		return nil // WAL-E before 0.7: the replay names the version once the files are in
	}
	v, err := recovery.ParseVersion(backed)
	if err != nil {
		return err
	}
	_, err = recovery.FindBinaries(v)
	return err
}

// checkClusterVersion refuses a Debian cluster of another major version than
// the backup's before anything is fetched: PostgreSQL would refuse to start
// the restored files, after minutes of download.
func (p *preflight) checkClusterVersion() error {
	cluster := p.opts.Replay.Server.Cluster
	if cluster == nil || p.rep.Chosen == nil || p.opts.Archive == nil {
		return nil
	}
	backed := p.backupVersion()
	if backed == "" || backed == cluster.Version {
		return nil
	}
	return problem.New(problem.Usage, "cluster "+cluster.Version+"/"+cluster.Name,
		fmt.Sprintf("backup %s is of PostgreSQL %s, but cluster %s/%s is PostgreSQL %s", p.rep.Chosen.Name, backed, cluster.Version, cluster.Name, cluster.Version),
		"name a cluster of version "+backed+" (pg_lsclusters lists them), or give no cluster to start the data directory with that version's pg_ctl")
}
