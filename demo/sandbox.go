package demo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"pgrescue/internal/rdssim"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
)

// Options choose the sandbox to build.
type Options struct {
	Scenario string // a Scenarios name; "" for the first
	// Dir is the sandbox folder: absent or empty, since Close deletes it.
	// "" makes a new one with os.MkdirTemp("", "pgrescue-demo-*").
	Dir  string
	Keep bool // Close leaves the folder (the S3 server still stops)
	// Executable is the pgrescue that archive_command runs; "" means this
	// process's own (os.Executable). It is copied into the sandbox when the
	// cluster's owner cannot run it where it is.
	Executable string
	// Now is the clock the build waits on to place the accident clear
	// seconds after the last write before it, and the key's creation time;
	// time.Now when nil. PostgreSQL's commit times come from the system
	// clock, so a clock far from it spoils TargetHint.
	Now func() time.Time
}

// Progress reports a build step as it starts: Done steps are finished out
// of Total. The last report, once the sandbox is ready, has Done == Total.
type Progress struct {
	Step        string
	Done, Total int
}

// Sandbox is a built training environment. See the package documentation
// for its layout.
type Sandbox struct {
	Dir        string
	Scenario   Scenario
	App        string // the application in the catalog: content-publisher, hosted at Carrenza
	Database   string // content_publisher_production
	Envdir     string // WAL-E's settings: WALE_S3_PREFIX, WALE_S3_ENDPOINT, AWS_*, WALE_GPG_KEY_ID, GNUPGHOME
	GNUPGHome  string // a GnuPG 1 home (secring.gpg, pubring.gpg), 0700, owned by whoever runs pgrescue
	Passphrase string // the key's passphrase, for the briefing's "found in the secrets store"
	KeyID      string // WALE_GPG_KEY_ID: the key's fingerprint
	Catalog    string // applications.yml in govuk-developer-docs' format, with Carrenza and AWS applications
	Config     string // pgrescue's config.yaml: the catalog, and App's databases, wale_envdir and pgdata (RestoreDir)
	// PrimaryDir is the primary's data directory, stopped once built; for
	// "disk-lost" nothing is left there.
	PrimaryDir string
	// RestoreDir is where the trainee restores to: PrimaryDir itself for
	// "accident" (moved aside by the wizard first), a fresh absent path on
	// the "new disk" for "disk-lost".
	RestoreDir string
	AccidentAt time.Time // the DELETE's commit; zero for "disk-lost"
	// TargetHint is a recovery time that works, as local time
	// "2006-01-02 15:04:05": the first whole second after the last write
	// before the accident, at least two seconds before the DELETE; "" (the
	// end of the archive) for "disk-lost". The briefing does not give it:
	// the trainee finds the DELETE in the archived WAL ("find the moment")
	// and stops just before its transaction, or types a time from there.
	TargetHint string
	Expected   Expectation
	S3Endpoint string // WAL-E's form, http+path://127.0.0.1:PORT

	// The nightly-dump scenario's: the autopostgresqlbackup tree, the dump
	// of the database in it, when it was taken, the offsite duplicity
	// archive ("" without duplicity), and the running primary to restore
	// into (psql -h PrimarySocket -p PrimaryPort -U Owner).
	DumpTree      string
	DumpFile      string
	DumpTakenAt   time.Time
	OffsiteURL    string
	PrimarySocket string
	PrimaryPort   int
	Owner         string

	// The RDS scenarios': the simulated AWS the wizard is pointed at.
	RDS *RDSDemo

	lastIDBefore int       // the last document written before the accident
	laterFrom    time.Time // when the writes after the backup began: the briefing's window starts with them
	bins         postgresBinaries
	owner        recovery.Owner
	s3           *s3Server
	rds          *rdssim.Sim
	rdsStop      func()
	keep         bool
	tempDirs     []string // made outside Dir (a short socket directory), removed by Close

	mu     sync.Mutex
	closed bool
}

// Expectation is what a correct restore holds.
type Expectation struct {
	Query       string // one integer: SELECT count(*) FROM documents
	RowsBefore  int    // rows just before the accident: what a correct "accident" restore has (for "disk-lost", RowsAfter)
	RowsDeleted int    // rows the accident deleted
	RowsAfter   int    // rows at the end of the archive: what a correct "disk-lost" restore has
	Describe    string // the briefing's paragraph: what happened, when, to which application, what "restored" means
}

// Build makes the sandbox: it leaves the S3 server running (until Close)
// and the primary stopped. On failure everything started is stopped again
// and the folder removed (kept with Keep, to look at).
func Build(ctx context.Context, opts Options, progress func(Progress)) (*Sandbox, error) {
	sc, err := FindScenario(opts.Scenario)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	exe, err := resolveExecutable(opts.Executable)
	if err != nil {
		return nil, err
	}
	// The RDS exercises need no PostgreSQL: AWS runs it.
	var bins postgresBinaries
	owner := recovery.Owner{UID: os.Geteuid(), GID: os.Getegid()}
	if !isRDS(sc.Name) {
		if bins, err = findPostgreSQL(ctx); err != nil {
			return nil, err
		}
		if owner, err = clusterOwner(); err != nil {
			return nil, err
		}
	}
	dir, err := makeSandboxDir(opts.Dir, owner)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Dir: dir, Scenario: sc, App: sandboxApp, Database: sandboxDatabase, bins: bins, owner: owner, keep: opts.Keep}
	b := newBuilder(s, exe, opts.Now)
	if err := b.run(ctx, progress); err != nil {
		s.Close()
		if ctx.Err() != nil {
			return nil, problem.Wrap(ctx.Err(), problem.Interrupted, "pgrescue demo", "the sandbox's build was cancelled", "run pgrescue demo again")
		}
		return nil, err
	}
	return s, nil
}

// resolveExecutable finds the pgrescue binary by absolute path, since
// archive_command runs from the data directory.
func resolveExecutable(exe string) (string, error) {
	var err error
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return "", problem.Wrap(err, problem.LocalIO, "pgrescue", "cannot find pgrescue's own executable for archive_command", "run pgrescue by its full path")
		}
	}
	if exe, err = filepath.Abs(exe); err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err == nil {
		var st os.FileInfo
		if st, err = os.Stat(exe); err == nil && !st.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
	}
	if err != nil {
		return "", problem.Wrap(err, problem.Usage, exe, "cannot use this file as pgrescue for archive_command", "give the pgrescue executable")
	}
	return exe, nil
}

// makeSandboxDir creates the folder, or accepts an empty one: Close deletes
// it, so it must hold nothing of anyone's. The folder is 0755 so that the
// cluster's owner can reach what is inside; the parts that matter have
// their own, narrower modes.
func makeSandboxDir(dir string, owner recovery.Owner) (string, error) {
	created := false
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pgrescue-demo-*")
		if err != nil {
			return "", fileError(os.TempDir(), err)
		}
		dir, created = tmp, true
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fileError(dir, err)
		}
		dir = abs
		if created, err = ensureEmptyDir(dir); err != nil {
			return "", err
		}
	}
	err := os.Chmod(dir, 0o755)
	if err == nil {
		err = checkReachable(dir, owner)
	}
	if err != nil {
		if created {
			os.Remove(dir)
		}
		return "", err
	}
	return dir, nil
}

func ensureEmptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, fileError(dir, err)
		}
		return true, nil
	case err != nil:
		return false, problem.Wrap(err, problem.Usage, dir, "cannot use this folder for the sandbox", "give a new or empty folder with --dir")
	case len(entries) > 0:
		return false, problem.New(problem.Usage, dir, "the sandbox folder is not empty, and a sandbox's folder is deleted when the exercise ends",
			"give a new or empty folder with --dir, or leave it out for a temporary one")
	}
	return false, nil
}

// Close stops everything the sandbox started, the S3 server and any
// PostgreSQL still running on a data directory in the folder (the primary,
// the trainee's restore), then removes the folder unless Keep. It is safe
// to call more than once.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	errs = append(errs, s.stopServers())
	if s.s3 != nil {
		errs = append(errs, s.s3.close())
	}
	if s.rdsStop != nil {
		s.rdsStop()
	}
	for _, d := range s.tempDirs {
		os.RemoveAll(d)
	}
	if !s.keep && s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, problem.Wrap(err, problem.LocalIO, s.Dir, "cannot remove the sandbox folder", "remove it yourself: sudo rm -rf "+s.Dir))
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// stopServers stops every live postmaster on a data directory of the
// sandbox: the primary's, the restore's, and any other the trainee made
// under the folder (a restore to another path, a moved-aside directory
// started by hand).
func (s *Sandbox) stopServers() error {
	dirs := append([]string{s.PrimaryDir, s.RestoreDir}, dataDirsUnder(s.Dir)...)
	seen := map[string]bool{}
	var first error
	for _, d := range dirs {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		if _, alive := livePostmaster(d); !alive {
			continue
		}
		if err := s.stopServer(d); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stopServer stops a server as its owner: fast, then immediate if fast did
// not do it. A restore's private socket directory goes too: pgrescue
// removes it only when it stops the server itself.
func (s *Sandbox) stopServer(dir string) error {
	owner, err := recovery.OwnerOf(dir)
	if err != nil {
		return err
	}
	socketDir := postmasterSocketDir(dir)
	pgCtl := s.bins.path("pg_ctl")
	for _, mode := range []string{"fast", "immediate"} {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		runOwner(ctx, owner, s.bins.Dir, nil, pgCtl, "stop", "-D", dir, "-m", mode, "-w", "-t", "60")
		cancel()
		if _, alive := livePostmaster(dir); !alive {
			if recovery.PrivateSocketDir(socketDir) {
				os.Remove(socketDir) // only ever removes an empty directory
			}
			return nil
		}
	}
	return problem.New(problem.Unknown, dir, "a PostgreSQL server of the sandbox did not stop",
		"stop it yourself, as its owner: "+pgCtl+" stop -D "+dir+" -m immediate")
}

// postmasterSocketDir is the first socket directory postmaster.pid records
// (recovery.RunningServer reads it), or "".
func postmasterSocketDir(dataDir string) string {
	st, _ := recovery.RunningServer(dataDir)
	return st.SocketDir
}

// dataDirsUnder finds PostgreSQL data directories (they hold PG_VERSION)
// below root, without descending into them.
func dataDirsUnder(root string) []string {
	if root == "" {
		return nil
	}
	var dirs []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if _, err := os.Stat(filepath.Join(path, "PG_VERSION")); err == nil {
			dirs = append(dirs, path)
			return filepath.SkipDir
		}
		return nil
	})
	return dirs
}

// livePostmaster reports whether a server runs on the data directory
// (recovery.RunningServer) and is the sandbox's own to stop: a postmaster's
// working directory is its data directory, which keeps the demo from
// signalling a program that reused the PID.
func livePostmaster(dataDir string) (int, bool) {
	st, err := recovery.RunningServer(dataDir)
	if err != nil || !st.Running {
		return 0, false
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(st.PID) + "/cwd")
	if err != nil {
		return st.PID, true // not ours to inspect: trust the signal
	}
	want, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		want = dataDir
	}
	return st.PID, cwd == want
}
