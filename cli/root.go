// Package cli is pgrescue's command line: the root command (the wizard),
// every subcommand, their flags and their output. It is the only package
// that knows cobra; the work is done by the engines under restore/ and
// gpg/, set up by package session, and the wizard lives in ui/.
package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"

	"github.com/spf13/cobra"

	"pgrescue/journal"
	"pgrescue/problem"
	"pgrescue/session"
	"pgrescue/walesettings"
)

const defaultEnvdirNote = walesettings.DefaultEnvdir + " when it exists"

// Version is the build's version, set by main (-ldflags "-X main.version=...").
var Version = ""

// Run executes the command line and returns the exit code. A panic is a
// bug: it never reaches the engineer's screen as a stack trace, but as one
// line naming the file that holds it, with the internal-error exit code.
func Run(ctx context.Context, args []string) int {
	return guarded(os.Stderr, func() int { return run(ctx, args) })
}

func run(ctx context.Context, args []string) int {
	cl := &commandLine{exitCode: earlyExitCode(args)}
	root := cl.rootCommand()
	root.SetArgs(args)
	root.PersistentPreRunE = cl.openJournal
	err := root.ExecuteContext(ctx)
	cl.journal.Close(err) // nil-safe: the command may keep none
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "pgrescue: "+err.Error())
	if cl.exitCode != nil {
		return cl.exitCode(err)
	}
	return problem.ExitCode(err)
}

func buildVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// commandLine holds the global flags every subcommand reads.
type commandLine struct {
	flags    session.Flags
	exitCode func(error) int  // a subcommand's own exit-code contract (wal-fetch)
	journal  *journal.Journal // the command's session journal, when it keeps one
}

// session is the set-up the global flags describe.
func (cl *commandLine) session() *session.Session { return session.New(cl.flags) }

func (cl *commandLine) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "pgrescue",
		Short:         "Restore a PostgreSQL database, step by step",
		Long:          "pgrescue turns GOV.UK's PostgreSQL backups runbook into software: it restores WAL-E archives\nfrom S3 natively (no WAL-E, gpg or lzop needed), and explains every failure with the next step.",
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cl.addWizardFlags(root)
	pf := root.PersistentFlags()
	f := &cl.flags
	pf.StringVar(&f.Envdir, "envdir", "", "WAL-E envdir to read settings from (default "+defaultEnvdirNote+")")
	pf.StringVar(&f.S3Prefix, "s3-prefix", "", "archive location s3://bucket/path (overrides WALE_S3_PREFIX)")
	pf.StringVar(&f.Region, "aws-region", "", "AWS region of the bucket (overrides AWS_REGION)")
	pf.StringVar(&f.Endpoint, "s3-endpoint", "", "S3 endpoint, WAL-E form http+path://host:port (overrides WALE_S3_ENDPOINT)")
	pf.StringVarP(&f.AccessKeyID, "aws-access-key-id", "k", "", "AWS access key id (overrides AWS_ACCESS_KEY_ID; the secret comes from the environment or envdir)")
	pf.StringVar(&f.GPGKeyID, "gpg-key-id", "", "the archive's GPG key id (overrides WALE_GPG_KEY_ID)")
	pf.StringVar(&f.GPGKey, "gpg-key", "", "secret key file, armored or binary, to decrypt the archive (or PGRESCUE_GPG_KEY)")
	pf.StringVar(&f.PassphraseFile, "gpg-passphrase-file", "", "file holding the key's passphrase (or PGRESCUE_GPG_PASSPHRASE; else you are asked)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return problem.Wrap(err, problem.Usage, "", "bad flag", "run `pgrescue help` for the commands and their flags")
	})
	root.AddCommand(
		cl.settingsCommand(),
		cl.backupListCommand(),
		cl.backupFetchCommand(),
		cl.walFetchCommand(),
		cl.walListCommand(),
		cl.walInspectCommand(),
		cl.replayCommand(),
		cl.gpgCommand(),
		cl.restoreCommand(),
		cl.walPushCommand(),
		cl.backupPushCommand(),
		baseBackupStreamCommand(),
		cl.demoCommand(),
		journalCommand(),
		cl.dumpListCommand(),
		cl.rdsStatusCommand(),
		cl.rdsCommand(),
		exitCodesTopic(),
	)
	root.AddCommand(manCommand(root))
	return root
}

// unjournalled are the commands that keep no session journal of their own:
// the wizard and the demo open theirs, PostgreSQL runs wal-fetch and
// wal-push once per segment (it logs them), backup-push journals what its
// base-backup-stream does, and the rest only print.
var unjournalled = map[string]bool{"pgrescue": true, "demo": true, "wal-fetch": true, "wal-push": true, "journal": true, "base-backup-stream": true,
	"help": true, "man": true, "completion": true, "exit-codes": true, "__complete": true}

// openJournal starts the session journal of a command that changes or
// reads the archive, so that `pgrescue journal` shows every run with its
// true outcome. A journal that cannot be written is said, not fatal.
func (cl *commandLine) openJournal(cmd *cobra.Command, _ []string) error {
	if unjournalled[cmd.Name()] || (cmd.HasParent() && cmd.Parent().Name() == "completion") {
		return nil
	}
	j, err := journal.Open("", journal.Meta{Version: buildVersion(), Args: os.Args[1:]})
	if err != nil {
		fmt.Fprintln(cmd.ErrOrStderr(), "pgrescue: going on without a session journal: "+err.Error())
		return nil
	}
	cl.journal = j
	cl.journal.Event("command", cmd.CommandPath())
	return nil
}

// earlyExitCode is wal-fetch's exit-code contract, chosen from the raw
// arguments before cobra parses them: a bad flag or argument count of
// restore_command's wal-fetch must not exit 3, which PostgreSQL reads as
// "not in the archive" and ends recovery early. nil keeps the usual codes.
func earlyExitCode(args []string) func(error) int {
	if !slices.Contains(args, "wal-fetch") {
		return nil
	}
	for _, a := range args {
		if a == "--abort-on-error" || a == "--abort-on-error=true" {
			return walFetchAbortExitCode
		}
	}
	return walFetchExitCode
}

// usageArgs wraps cobra's argument checks so a wrong count exits as a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return problem.Wrap(err, problem.Usage, cmd.CommandPath(), "wrong arguments", "usage: "+cmd.UseLine())
		}
		return nil
	}
}
