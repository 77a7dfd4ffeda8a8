// Package demo builds a training sandbox for `pgrescue demo`: a real
// PostgreSQL primary whose WAL is archived by pgrescue itself in WAL-E's
// exact format, into an S3-compatible server that runs inside the pgrescue
// process, encrypted to a passphrase-protected GPG key, with an application
// whose data was damaged at a known time. An engineer can then rehearse the
// GOV.UK "PostgreSQL backups" runbook end to end without touching production
// and without any network beyond 127.0.0.1.
//
// Everything lives in one folder (Options.Dir, a new temporary folder by
// default):
//
//	env.d/                        the WAL-E envdir (Sandbox.Envdir)
//	gnupg/                        a GnuPG 1 home: secring.gpg, pubring.gpg (Sandbox.GNUPGHome)
//	keys/public.asc               the public key archive_command encrypts to
//	applications.yml              a GOV.UK applications catalog (Sandbox.Catalog)
//	config.yaml                   pgrescue's config for the application (Sandbox.Config)
//	bin/pgrescue                  a copy of pgrescue, only when postgres could not run the original
//	postgresql/VERSION/main       the primary's data directory (Sandbox.PrimaryDir)
//	postgresql/run/               the primary's Unix socket directory
//	postgresql/log/primary.log    the primary's log, with wal-push's messages
//
// Where the trainee restores to (Sandbox.RestoreDir) depends on the scenario:
//
//   - "accident": the primary's own data directory. The primary is stopped
//     and still holds the damaged database, so the wizard has to move it
//     aside with a typed confirmation before restoring into its place, as
//     the runbook's restore on the primary itself does.
//   - "disk-lost": the primary's data directory is gone (moved to the
//     hidden .lost-disk/ folder, never shown to the trainee) and the
//     restore goes to a fresh, absent path on the "replacement disk",
//     new-disk/postgresql/VERSION/main.
//
// PostgreSQL runs as the postgres user when pgrescue runs as root (it
// refuses root), otherwise as the user running pgrescue; every path the
// server or its archive_command touches is made reachable by that user.
// The key is RSA 2048, as WAL-E's keys were: GnuPG 1, which GOV.UK's WAL-E
// machines ran, reads no elliptic-curve keys, and gpg 2.2 reads both.
package demo
