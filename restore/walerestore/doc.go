// Package walerestore is the whole restore from a WAL-E archive, as the
// runbook's Carrenza/6DG section describes it and as the wizard and
// `pgrescue restore wal-e` run it: live preflight checks (WAL-E settings,
// archive, key, server stopped, disk space, WAL continuity), a plan whose
// every action shows its equivalent shell commands, then the base backup
// fetch and the WAL replay to the chosen point, reported as typed events.
//
// It holds no terminal code: the wizard and the plain command line render
// the same checks, plan and events.
package walerestore

// NextSteps are the runbook's steps after restoring the primary, which
// every front-end ends a restore with.
var NextSteps = []string{
	"Standbys: replication may fail after this restore. Restore the same backup to each standby too, " +
		"or resync it from the primary: as postgres, into an empty data directory, " +
		"pg_basebackup -h PRIMARY -D DATADIR -X stream -P",
	"Archiving: the restored server runs with archive_mode=off. Turn archiving back on once it is checked, " +
		"with archive_command pointing at the right archive.",
	"GPG: if the key's passphrase was removed for WAL-E, put it back: pgrescue gpg restore-passphrase",
}
