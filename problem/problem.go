// Package problem gives every failure pgrescue can meet a kind, a one-paragraph
// explanation naming what was involved, the next step to take, and a distinct
// exit code. Engines return *problem.Error; the command line prints it and
// exits with its code, so scripts and runbooks can branch on the cause.
package problem

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a failure. Each kind has its own exit code (see Kinds).
type Kind int

// The kinds, in exit-code order. Never renumber: exit codes are a public contract.
const (
	Unknown           Kind = iota // an unexpected failure: exit 2
	NotFound                      // the requested object is not in the archive: exit 1
	Usage                         // bad arguments or flags
	Config                        // a setting is missing or malformed
	RegionEndpoint                // wrong AWS region or S3 endpoint
	AccessDenied                  // credentials refused or missing permissions
	NoSuchBucket                  // the bucket does not exist
	NoBackups                     // nothing under the prefix, or no matching backup
	KeyMissing                    // archive is encrypted but no key was given
	WrongKey                      // the key given is not the archive's recipient
	PassphraseNeeded              // the secret key is protected and no passphrase was given
	WrongPassphrase               // the passphrase does not unlock the key
	Corrupt                       // damaged lzop/OpenPGP/tar data
	Truncated                     // a download ended early
	UnsafeMember                  // a tar member would land outside the data directory
	DataDirInUse                  // the data directory is live or not empty
	DiskSpace                     // not enough free space
	Network                       // S3 unreachable after bounded retries
	LocalIO                       // a local file could not be read or written
	Interrupted                   // cancelled by the user
	BadKey                        // a key file that cannot be read as an OpenPGP key
	ReplayIncomplete              // the server is up, but short of the requested point
	RecoveryFailed                // PostgreSQL stopped during recovery, or did not start
	DatabaseExists                // the database a dump would be restored into exists
	ServerUnreachable             // the PostgreSQL server refused the connection or the login
	RolesMissing                  // roles a dump needs are not on the server
	ImportFailed                  // psql stopped on an error while loading a dump
	SessionsConnected             // a database to rename still has sessions
	HostKey                       // ssh refused the host's key
	WrongDatabase                 // a dump holds another database than the one asked for
	DumpVerifyFailed              // a restored database's rows differ from the dump's
	RDSNotFound                   // an RDS instance, snapshot or automated backup does not exist
	OutsideWindow                 // a point-in-time target outside the instance's restore window
	NameTaken                     // an RDS instance identifier is already in use
	QuotaExceeded                 // an AWS account quota (instances, storage) would be exceeded
	RDSRefused                    // AWS refused the request's parameters or the instance's state
	RDSFailed                     // a restored instance ended in a failed state
	WaitTimeout                   // an instance did not become available within the time limit
	Throttled                     // AWS kept throttling the requests after retries
)

// Info documents one kind for `pgrescue help exit-codes`.
type Info struct {
	Kind    Kind
	Code    int
	Name    string
	Meaning string
}

// Kinds lists every kind with its exit code, in code order.
var Kinds = []Info{
	{NotFound, 1, "not-found", "the requested WAL file or object is not in the archive (PostgreSQL reads this as \"not in archive\")"},
	{Unknown, 2, "error", "an unexpected error (wal-fetch: any failure other than not-found)"},
	{Usage, 3, "usage", "bad command-line arguments or flags"},
	{Config, 4, "config", "a setting (WALE_S3_PREFIX, endpoint, envdir file) is missing or malformed"},
	{RegionEndpoint, 5, "region-endpoint", "the bucket is in another AWS region, or the S3 endpoint is wrong or unreachable by name"},
	{AccessDenied, 6, "access-denied", "S3, RDS, the backup machine (ssh) or duplicity's storage refused the credentials (none found, expired session) or the request (which action is named)"},
	{NoSuchBucket, 7, "no-such-bucket", "the bucket named by WALE_S3_PREFIX does not exist"},
	{NoBackups, 8, "no-backups", "no base backup under the prefix or nightly dump in the source, or none matching the name asked for"},
	{KeyMissing, 9, "key-missing", "the archive (or an .enc dump) is encrypted and no secret key was given"},
	{WrongKey, 10, "wrong-key", "the secret key given is not the one the archive (or the dump) was encrypted to"},
	{PassphraseNeeded, 11, "passphrase-needed", "the secret key (or the duplicity archive) is passphrase-protected and no passphrase was supplied"},
	{WrongPassphrase, 12, "wrong-passphrase", "the passphrase does not unlock the secret key (or decrypt the duplicity archive)"},
	{Corrupt, 13, "corrupt", "an archived object or a dump is damaged (lzop checksum, OpenPGP integrity, tar structure, gzip/bzip2/xz data)"},
	{Truncated, 14, "truncated", "a download ended before the object was complete, after retries; or a dump is cut short or was never finished by pg_dump"},
	{UnsafeMember, 15, "unsafe-member", "a tar member would be written outside the data directory"},
	{DataDirInUse, 16, "datadir-in-use", "the data directory belongs to a running server, or is not empty"},
	{DiskSpace, 17, "disk-space", "not enough free disk space for the restore"},
	{Network, 18, "network", "S3, the backup machine or duplicity's storage could not be reached, or kept failing, after bounded retries"},
	{LocalIO, 19, "local-io", "a local file or directory could not be read or written"},
	{BadKey, 20, "bad-key", "a key file could not be read as an OpenPGP secret key"},
	{ReplayIncomplete, 21, "replay-incomplete", "the restored server is up but short of the requested point: WAL missing from the archive, or the target not reached"},
	{RecoveryFailed, 22, "recovery-failed", "PostgreSQL stopped during recovery or did not start; its own FATAL line is printed"},
	{DatabaseExists, 23, "database-exists", "the database a dump would be restored into already exists (pgrescue never drops one: choose another --into)"},
	{ServerUnreachable, 24, "server-unreachable", "the PostgreSQL server could not be reached, or refused the login (-h/-p/-U, PGHOST, ~/.pgpass)"},
	{RolesMissing, 25, "roles-missing", "roles the dump's objects belong to are not on the server (--globals loads that night's roles)"},
	{ImportFailed, 26, "import-failed", "psql stopped on an error while loading the dump; the half-made database is renamed <name>_incomplete"},
	{SessionsConnected, 27, "sessions-connected", "sessions are connected to a database that --replace would rename"},
	{HostKey, 28, "host-key", "ssh refused the backup machine's host key (unknown or changed)"},
	{WrongDatabase, 29, "wrong-database", "the dump holds another database than the one asked for"},
	{DumpVerifyFailed, 30, "verify-failed", "the restored database's row counts or sequences differ from the dump's"},
	{RDSNotFound, 31, "rds-not-found", "the RDS instance, snapshot or retained automated backup named does not exist in this account and region"},
	{OutsideWindow, 32, "outside-window", "the target time is outside the instance's point-in-time restore window (or in the future)"},
	{NameTaken, 33, "name-taken", "an RDS instance with the target identifier already exists (or the identifier breaks AWS's rules)"},
	{QuotaExceeded, 34, "quota-exceeded", "an AWS account quota (DB instances, storage) would be exceeded by the restore"},
	{RDSRefused, 35, "rds-refused", "AWS refused the request: a parameter it cannot combine, or an instance in the wrong state; its message is printed"},
	{RDSFailed, 36, "rds-failed", "the restored instance ended in a failed state (failed, incompatible-restore, incompatible-parameters); AWS's events are printed"},
	{WaitTimeout, 37, "wait-timeout", "the instance was not available within the time limit; the restore goes on in AWS (pgrescue rds-status)"},
	{Throttled, 38, "throttled", "AWS kept throttling the requests after retries with backoff"},
	{Interrupted, 130, "interrupted", "cancelled by the user (ctrl+c or SIGTERM)"},
}

// Code returns the exit code of a kind.
func (k Kind) Code() int {
	for _, i := range Kinds {
		if i.Kind == k {
			return i.Code
		}
	}
	return 2
}

// String returns the kind's short name, as listed in `pgrescue help exit-codes`.
func (k Kind) String() string {
	for _, i := range Kinds {
		if i.Kind == k {
			return i.Name
		}
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failure explained for a person under pressure: what went wrong,
// which object, file or setting was involved, and what to do next.
type Error struct {
	Kind    Kind
	Subject string // the object key, file, member or setting concerned
	Summary string // one line: what is wrong
	Detail  string // optional: why, and what was observed
	Next    string // the next step to take
	Err     error  // the underlying cause, if any
}

// Error renders one paragraph: summary, subject, detail, next step.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Summary)
	if e.Subject != "" {
		fmt.Fprintf(&b, " (%s)", e.Subject)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if !strings.HasSuffix(b.String(), ".") {
		b.WriteString(".")
	}
	if e.Next != "" {
		b.WriteString(" Next: ")
		b.WriteString(e.Next)
		if !strings.HasSuffix(e.Next, ".") {
			b.WriteString(".")
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an Error.
func New(kind Kind, subject, summary, next string) *Error {
	return &Error{Kind: kind, Subject: subject, Summary: summary, Next: next}
}

// Wrap builds an Error with an underlying cause.
func Wrap(err error, kind Kind, subject, summary, next string) *Error {
	return &Error{Kind: kind, Subject: subject, Summary: summary, Next: next, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, or Unknown.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return Unknown
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool {
	return err != nil && KindOf(err) == kind
}

// ExitCode maps an error to the process exit code: 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	return KindOf(err).Code()
}
