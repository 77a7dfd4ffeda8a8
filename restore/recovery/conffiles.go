package recovery

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"pgrescue/shellcmd"
)

// The configuration files WAL-E never archives, in the order written.
var configFiles = []string{"postgresql.conf", "pg_hba.conf", "pg_ident.conf"}

// EnsureConfigFiles writes minimal postgresql.conf, pg_hba.conf and
// pg_ident.conf into pgdata where they are missing: WAL-E does not archive
// them and PostgreSQL will not start without them. Existing files are never
// replaced. A data directory that a Debian cluster uses is left alone, since
// its configuration lives in /etc/postgresql/VER/NAME. A zero owner means
// the data directory's. It returns the files written.
func EnsureConfigFiles(pgdata string, owner Owner) (written []string, err error) {
	pgdata, err = absDataDir(pgdata)
	if err != nil {
		return nil, err
	}
	if owner.Name == "" {
		if owner, err = OwnerOf(pgdata); err != nil {
			return nil, err
		}
	}
	if c, err := FindCluster(pgdata); err != nil || c != nil {
		return nil, err
	}
	if err := RefuseLive(pgdata, "add configuration files"); err != nil {
		return nil, err
	}
	for _, name := range configFiles {
		created, err := writeFileNew(pgdata, name, []byte(configFileText(name, owner.Name)), owner)
		if err != nil {
			return written, err
		}
		if created {
			written = append(written, filepath.Join(pgdata, name))
		}
	}
	return written, nil
}

// configFileText is the minimal content of each file, explaining itself to
// whoever finds it later.
func configFileText(name, ownerName string) string {
	switch name {
	case "postgresql.conf":
		return "# Written by pgrescue: WAL-E does not archive postgresql.conf, and PostgreSQL\n" +
			"# does not start without one. This minimal file only lets the restored cluster\n" +
			"# start; pgrescue passes what recovery needs on the command line. Bring over\n" +
			"# production's settings before this server does real work.\n" +
			"listen_addresses = ''\t# Unix socket only\n"
	case "pg_hba.conf":
		return "# Written by pgrescue: WAL-E does not archive pg_hba.conf. Only local (Unix\n" +
			"# socket) connections by the data directory's owner, as the database user of\n" +
			"# the same name, are allowed until production's file is brought over.\n" +
			"# TYPE  DATABASE  USER  METHOD\n" +
			fmt.Sprintf("local   all       %s  peer\n", hbaName(ownerName))
	default:
		return "# Written by pgrescue: WAL-E does not archive pg_ident.conf. No user name maps.\n"
	}
}

var plainHBAName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// hbaName writes a user name as pg_hba.conf needs it: double-quoted unless
// it is a plain lower-case identifier.
func hbaName(name string) string {
	if plainHBAName.MatchString(name) && name != "all" {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// DescribeConfigFiles gives the shell commands equivalent to
// EnsureConfigFiles for a dry run; the data directory is written as
// "$PGDATA". The shell's noclobber (set -C) keeps existing files.
func DescribeConfigFiles(ownerName string) []shellcmd.Command {
	if ownerName == "" {
		ownerName = "postgres" // the usual owner; the Why line says whose it must be
	}
	cmds := []shellcmd.Command{ownerNote(ownerName), {Why: "never overwrite a configuration file that exists", Line: "set -C"}}
	for _, name := range configFiles {
		cmds = append(cmds, heredoc(">", `"$PGDATA"/`+name, configFileText(name, ownerName)))
	}
	return cmds
}
