package demo

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"pgrescue/gpg"
	"pgrescue/problem"
	"pgrescue/restore/wale"
	"pgrescue/storage/s3store"
)

// builder carries a build from step to step.
type builder struct {
	s   *Sandbox
	exe string
	now func() time.Time

	publicKey string // keys/public.asc
	pgRoot    string // postgresql/, owned by the cluster's owner
	archive   *wale.Archive
	primary   *primary
	nextID    int       // the next document's id
	lastWrite time.Time // just after the last commit before the accident
}

// step is one stage of the build, as Progress reports it.
type step struct {
	title string
	run   func(context.Context) error
}

func newBuilder(s *Sandbox, exe string, now func() time.Time) *builder {
	b := &builder{s: s, exe: exe, now: now, nextID: 1}
	version := s.bins.Version.String()
	b.publicKey = filepath.Join(s.Dir, "keys", "public.asc")
	b.pgRoot = filepath.Join(s.Dir, "postgresql")
	s.Envdir = filepath.Join(s.Dir, "env.d")
	s.GNUPGHome = filepath.Join(s.Dir, "gnupg")
	s.Catalog = filepath.Join(s.Dir, "applications.yml")
	s.Config = filepath.Join(s.Dir, "config.yaml")
	s.PrimaryDir = filepath.Join(b.pgRoot, version, "main")
	s.RestoreDir = s.PrimaryDir
	if s.Scenario.Name == diskLostScenario {
		s.RestoreDir = filepath.Join(s.Dir, "new-disk", "postgresql", version, "main")
	}
	s.Expected.Query = countQuery
	return b
}

// steps lists the build for the sandbox's scenario.
func (b *builder) steps() []step {
	if isRDS(b.s.Scenario.Name) {
		return b.rdsSteps()
	}
	if b.s.Scenario.Name == nightlyDumpScenario {
		return []step{
			{"Writing the catalog and pgrescue's config", b.writeSettings},
			{"Creating the cluster (initdb)", b.initCluster},
			{"Starting the primary", b.startPrimary},
			{"Writing the application's data", b.firstWrites},
			{"Last night's dump (pg_dump, as autopostgresqlbackup)", b.nightlyDump},
			{"Sending it offsite (duplicity, file://)", b.sendOffsite},
			{"This morning: more writes, then the accident", b.damage},
			{"Pointing pgrescue's config at the dumps", b.writeSettings},
		}
	}
	steps := []step{
		{"Starting the S3 server", b.startS3},
		{"Generating the GPG key (passphrase-protected)", b.makeKey},
		{"Writing the WAL-E envdir, the catalog and pgrescue's config", b.writeSettings},
		{"Creating the cluster (initdb)", b.initCluster},
		{"Starting the primary (archive_command = pgrescue wal-push)", b.startPrimary},
		{"Writing the application's data", b.firstWrites},
		{"Taking a base backup (backup-push)", b.backupPush},
		{"Writing more data after the backup", b.laterWrites},
	}
	if b.s.Scenario.Name == accidentScenario {
		steps = append(steps, step{"The accident", b.accident}, step{"Writes after the accident", b.writesAfterAccident})
	}
	steps = append(steps, step{"Archiving the last WAL segment", b.archiveLast}, step{"Stopping the primary", b.stopPrimary})
	if b.s.Scenario.Name == diskLostScenario {
		steps = append(steps, step{"Losing the primary's disk", b.loseDisk})
	}
	return steps
}

func (b *builder) run(ctx context.Context, progress func(Progress)) error {
	steps := b.steps()
	for i, st := range steps {
		progress(Progress{Step: st.title, Done: i, Total: len(steps)})
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := st.run(ctx); err != nil {
			return err
		}
	}
	b.describe()
	progress(Progress{Step: "The sandbox is ready", Done: len(steps), Total: len(steps)})
	return nil
}

func (b *builder) startS3(ctx context.Context) error {
	srv, err := startS3()
	if err != nil {
		return err
	}
	b.s.s3 = srv
	b.s.S3Endpoint = srv.endpoint
	store, err := s3store.New(ctx, s3store.Location{Bucket: bucket, Prefix: archivePrefix + "/"}, srv.storeOptions())
	if err != nil {
		return err
	}
	b.archive = wale.NewArchive(store, nil)
	return nil
}

// makeKey generates the archive's key and writes it where WAL-E's would
// be: a GnuPG 1 home for the restore, the public key for archive_command.
func (b *builder) makeKey(ctx context.Context) error {
	passphrase, err := newPassphrase()
	if err != nil {
		return keyError(err)
	}
	key, err := newKey(passphrase, b.now)
	if err != nil {
		return err
	}
	if err := key.writeGnuPG1Home(b.s.GNUPGHome); err != nil {
		return err
	}
	if err := writePublic(b.publicKey, key.public); err != nil {
		return err
	}
	recipient, err := gpg.ParseRecipient(key.public, b.publicKey, key.fingerprint)
	if err != nil {
		return err
	}
	if err := key.verify(ctx, b.s.GNUPGHome, passphrase, recipient); err != nil {
		return err
	}
	b.archive.Recipient = recipient
	b.s.Passphrase, b.s.KeyID = passphrase, key.fingerprint
	return nil
}

func (b *builder) writeSettings(context.Context) error {
	s := b.s
	if s.Scenario.Name == nightlyDumpScenario {
		if err := writeCatalog(s.Catalog); err != nil {
			return err
		}
		return writeDumpConfig(s.Config, s.Catalog, s.DumpTree, s.OffsiteURL)
	}
	if err := writeEnvdir(s.Envdir, envdirValues(s.S3Endpoint, s.KeyID, s.GNUPGHome), s.owner); err != nil {
		return err
	}
	if err := writeCatalog(s.Catalog); err != nil {
		return err
	}
	return writeConfig(s.Config, s.Catalog, s.Envdir, s.RestoreDir)
}

// initCluster lays out postgresql/ as Debian's /var/lib/postgresql, owned
// by the cluster's owner, and runs initdb.
func (b *builder) initCluster(ctx context.Context) error {
	s := b.s
	if err := chownTree(s.Dir, filepath.Dir(s.PrimaryDir), 0o755, s.owner); err != nil {
		return err
	}
	if s.RestoreDir != s.PrimaryDir {
		if err := chownTree(s.Dir, filepath.Dir(s.RestoreDir), 0o755, s.owner); err != nil {
			return err
		}
	}
	socketDir, made, err := socketDirFor(filepath.Join(b.pgRoot, "run"), s.owner)
	if made {
		s.tempDirs = append(s.tempDirs, socketDir)
	}
	if err != nil {
		return err
	}
	logFile, err := b.makeLogFile()
	if err != nil {
		return err
	}
	port, err := choosePort(socketDir)
	if err != nil {
		return err
	}
	b.primary = &primary{bins: s.bins, owner: s.owner, dataDir: s.PrimaryDir, socketDir: socketDir, logFile: logFile, port: port}
	if s.Scenario.Name == nightlyDumpScenario {
		b.primary.localAuth = "trust"
	}
	return b.primary.initdb(ctx)
}

// makeLogFile creates the primary's log for the owner: pg_ctl writes it as
// the owner, who cannot create files in a folder of ours.
func (b *builder) makeLogFile() (string, error) {
	dir := filepath.Join(b.pgRoot, "log")
	if err := mkdirOwned(dir, 0o750, b.s.owner); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "primary.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return "", fileError(path, err)
	}
	f.Close()
	if os.Geteuid() == 0 {
		if err := os.Chown(path, b.s.owner.UID, b.s.owner.GID); err != nil {
			return "", fileError(path, err)
		}
	}
	return path, nil
}

func (b *builder) startPrimary(ctx context.Context) error {
	b.s.PrimarySocket, b.s.PrimaryPort, b.s.Owner = b.primary.socketDir, b.primary.port, b.primary.owner.Name
	exe, err := programForOwner(ctx, b.exe, b.s.owner, filepath.Join(b.s.Dir, "bin"))
	if err != nil {
		return err
	}
	archive := archiveCommand(exe, b.s.Envdir, b.publicKey)
	if b.s.Scenario.Name == nightlyDumpScenario {
		archive = "/bin/true" // this exercise has no WAL-E archive
	}
	if err := b.primary.configure(archive); err != nil {
		return err
	}
	return b.primary.start(ctx)
}

// backupPush takes the base backup while the primary runs, as the nightly
// `wal-e backup-push` did.
func (b *builder) backupPush(ctx context.Context) error {
	p := b.primary
	_, err := b.archive.PushBackup(ctx, wale.BackupPushOptions{
		DataDir: p.dataDir, BinDir: p.bins.Dir, Host: p.socketDir, Port: p.port, User: p.owner.Name, RunAs: p.owner.RunAs,
	}, nil)
	return err
}

// archiveLast closes the current WAL segment and waits until
// archive_command has stored it, so the archive ends with the last write.
func (b *builder) archiveLast(ctx context.Context) error {
	segment, err := b.switchWAL(ctx)
	if err != nil {
		return err
	}
	return b.waitArchived(ctx, segment)
}

func (b *builder) stopPrimary(ctx context.Context) error { return b.primary.stop(ctx) }

// loseDisk makes the primary's data directory disappear from where it
// was. It is moved into a hidden folder rather than deleted, so nothing is
// destroyed behind anyone's back; the trainee never needs it.
func (b *builder) loseDisk(context.Context) error {
	lost := filepath.Join(b.s.Dir, ".lost-disk")
	if err := os.MkdirAll(lost, 0o700); err != nil {
		return fileError(lost, err)
	}
	if err := os.Rename(b.s.PrimaryDir, filepath.Join(lost, filepath.Base(b.s.PrimaryDir))); err != nil {
		return problem.Wrap(err, problem.LocalIO, b.s.PrimaryDir, "cannot move the primary's data directory away", "run pgrescue demo again")
	}
	return nil
}
