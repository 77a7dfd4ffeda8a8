// Command pgrescue walks an engineer through restoring a PostgreSQL database
// and does the work at each step. This file holds flags and subcommands only:
// the work is done by the engines under restore/ and gpg/.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"pgrescue/problem"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string) int {
	app := newApp()
	root := app.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "pgrescue: "+err.Error())
	if app.exitCode != nil {
		return app.exitCode(err)
	}
	return problem.ExitCode(err)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// app holds the global flags shared by every subcommand.
type app struct {
	envdir         string
	s3Prefix       string
	region         string
	endpoint       string
	accessKeyID    string
	gpgKeyID       string
	gpgKey         string
	passphraseFile string
	exitCode       func(error) int // a subcommand's own exit-code contract (wal-fetch)
	flags          *cobra.Command
}

func newApp() *app { return &app{} }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "pgrescue",
		Short:         "Restore a PostgreSQL database, step by step",
		Long:          "pgrescue turns GOV.UK's PostgreSQL backups runbook into software: it restores WAL-E archives\nfrom S3 natively (no WAL-E, gpg or lzop needed), and explains every failure with the next step.",
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.flags = root
	a.addWizardFlags(root)
	pf := root.PersistentFlags()
	pf.StringVar(&a.envdir, "envdir", "", "WAL-E envdir to read settings from (default "+defaultEnvdirNote+")")
	pf.StringVar(&a.s3Prefix, "s3-prefix", "", "archive location s3://bucket/path (overrides WALE_S3_PREFIX)")
	pf.StringVar(&a.region, "aws-region", "", "AWS region of the bucket (overrides AWS_REGION)")
	pf.StringVar(&a.endpoint, "s3-endpoint", "", "S3 endpoint, WAL-E form http+path://host:port (overrides WALE_S3_ENDPOINT)")
	pf.StringVarP(&a.accessKeyID, "aws-access-key-id", "k", "", "AWS access key id (overrides AWS_ACCESS_KEY_ID; the secret comes from the environment or envdir)")
	pf.StringVar(&a.gpgKeyID, "gpg-key-id", "", "the archive's GPG key id (overrides WALE_GPG_KEY_ID)")
	pf.StringVar(&a.gpgKey, "gpg-key", "", "secret key file, armored or binary, to decrypt the archive (or PGRESCUE_GPG_KEY)")
	pf.StringVar(&a.passphraseFile, "gpg-passphrase-file", "", "file holding the key's passphrase (or PGRESCUE_GPG_PASSPHRASE; else you are asked)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return problem.Wrap(err, problem.Usage, "", "bad flag", "run `pgrescue help` for the commands and their flags")
	})
	root.AddCommand(
		a.settingsCommand(),
		a.backupListCommand(),
		a.backupFetchCommand(),
		a.walFetchCommand(),
		a.walListCommand(),
		a.replayCommand(),
		a.gpgCommand(),
		a.restoreCommand(),
		a.walPushCommand(),
		a.backupPushCommand(),
		a.demoCommand(),
		journalCommand(),
		exitCodesTopic(),
	)
	return root
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
