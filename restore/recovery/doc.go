// Package recovery is PostgreSQL's archive recovery as pgrescue drives it:
// the mode, its settings and the server, not the watching of it (that is
// package replay). In pgrescue's words, "recovery" is PostgreSQL's
// machinery and its configuration; "replay" is pgrescue's step that runs it
// to a target and follows the WAL being applied.
//
// It turns a restored data directory into a running, recovering
// PostgreSQL server and cleans up after it: it reads the major version,
// parses the recovery target, writes the recovery settings in the form that
// version expects (recovery.conf up to 11, recovery.signal plus
// postgresql.auto.conf from 12), supplies the configuration files WAL-E never
// archives, and starts and stops the server with options that keep its log
// parseable and its archive untouched.
//
// Every action can describe itself as the equivalent shell commands
// (shellcmd.Command), so a dry run shows exactly what would be done and an
// engineer can repeat it by hand. Every failure is a *problem.Error naming the
// file or setting concerned and the next step.
//
// Nothing here deletes a data directory or a file it did not write: files in
// the way are renamed aside, and a data directory with a live postmaster is
// refused.
package recovery
