package keyring

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"pgrescue/gpg"
	"pgrescue/shellcmd"
)

// The runbook's interactive step, which gpg 1.4 and 2.x both accept with the
// edit commands on the command line.
const passwdWhy = "change the passphrase as the runbook does: gpg asks for the current passphrase, then for the new one; "

// RemoveCommands are the commands an engineer would type to do what
// RemovePassphrase does, with why each is run.
func (c *Change) RemoveCommands(ctx context.Context) ([]shellcmd.Command, error) {
	key, err := c.selectKey(ctx)
	if err != nil {
		return nil, err
	}
	files := c.Keyring.filesOf(partsWith(key, gpg.Protected))
	if len(files) == 0 {
		files = c.Keyring.filesOf(key.Parts)
	}
	backup := filepath.Join(c.Keyring.Path, BackupDirName, c.now().UTC().Format("20060102T150405Z"))
	cmds := c.Keyring.backupCommands(files, backup)
	cmds = append(cmds,
		c.Keyring.editKeyCommand(key, passwdWhy+"press Enter twice for none, and answer y to "+
			"\"You don't want a passphrase - this is probably a *bad* idea!\""),
		c.decryptCommand("check that the archived object now decrypts with no passphrase, as WAL-E's `gpg -d --batch` will"))
	return cmds, nil
}

// RestoreCommands are the commands for RestoreBackup (set false: copy the
// backup at dir back) or SetPassphrase (set true).
func (c *Change) RestoreCommands(ctx context.Context, dir string, set bool) ([]shellcmd.Command, error) {
	key, err := c.selectKey(ctx)
	if err != nil {
		return nil, err
	}
	var cmds []shellcmd.Command
	if set {
		cmds = append(cmds, c.Keyring.editKeyCommand(key, passwdWhy+"there is none now, so it asks only for the new one, twice"))
	} else {
		if dir == "" {
			if dir, err = c.Keyring.NewestBackup(); err != nil {
				return nil, err
			}
		}
		cmds = append(cmds, c.Keyring.copyBackCommands(dir)...)
	}
	if c.Keyring.Format == GnuPG2 {
		cmds = append(cmds, shellcmd.Command{
			Why:  "make gpg-agent forget cached passphrases, so the check below proves what is on disk",
			Line: c.Keyring.commandLine(tool{name: "gpgconf", args: []string{"--reload", "gpg-agent"}}),
		})
	}
	cmds = append(cmds, c.decryptCommand("check that the archived object no longer decrypts without the passphrase: gpg must fail"))
	return cmds, nil
}

func (k *Keyring) backupCommands(files []string, backup string) []shellcmd.Command {
	dirs := map[string]bool{}
	var mkdirs, copies []string
	for _, f := range files {
		dir := filepath.Dir(filepath.Join(backup, f))
		if !dirs[dir] {
			dirs[dir] = true
			mkdirs = append(mkdirs, shellcmd.Quote(dir))
		}
		copies = append(copies, shellcmd.Quote(filepath.Join(k.Path, f)))
	}
	return []shellcmd.Command{
		{Why: "keep a copy of the key's secret files first, readable only by their owner",
			Line: k.asOwner("mkdir -m 700 -p " + strings.Join(mkdirs, " "))},
		{Why: "copy them with their mode and owner (cp -p)",
			Line: k.asOwner("cp -p " + strings.Join(copies, " ") + " " + shellcmd.Quote(filepath.Dir(filepath.Join(backup, files[0]))) + "/")},
	}
}

func (k *Keyring) copyBackCommands(dir string) []shellcmd.Command {
	var cmds []shellcmd.Command
	filepath.Walk(dir, func(path string, st os.FileInfo, err error) error {
		if err != nil || st.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		cmds = append(cmds, shellcmd.Command{
			Why:  "put back the protected key file saved before the passphrase was removed",
			Line: k.asOwner("cp -p " + shellcmd.Quote(path) + " " + shellcmd.Quote(filepath.Join(k.Path, rel))),
		})
		return nil
	})
	return cmds
}

func (k *Keyring) editKeyCommand(key gpg.KeyInfo, why string) shellcmd.Command {
	return shellcmd.Command{Why: why, Line: k.commandLine(tool{name: "gpg", args: []string{"--edit-key", key.Fingerprint, "passwd", "save"}})}
}

// decryptCommand decrypts the sample object as WAL-E's gpg would, unable to
// ask for a passphrase.
func (c *Change) decryptCommand(why string) shellcmd.Command {
	args := []string{"--batch", "--pinentry-mode", "error", "--decrypt"}
	if c.Keyring.Format == GnuPG1 {
		args = []string{"--batch", "--decrypt"} // gpg 1.4 has no pinentry
	}
	gpgLine := c.Keyring.commandLine(tool{name: "gpg", args: args}) + " > /dev/null"
	object := c.ObjectName
	if object == "" {
		object = "OBJECT"
	}
	if strings.HasPrefix(object, "s3://") {
		return shellcmd.Command{Why: why, Line: "aws s3 cp " + shellcmd.Quote(object) + " - | " + gpgLine}
	}
	return shellcmd.Command{Why: why, Line: gpgLine + " < " + shellcmd.Quote(object)}
}

func (k *Keyring) asOwner(line string) string {
	if k.Owner.Name != "" && k.Owner.UID != uint32(os.Geteuid()) {
		return "sudo -u " + k.Owner.Name + " " + line
	}
	return line
}
