package recovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// CleanupOptions change what Cleanup does beyond the safe default.
type CleanupOptions struct {
	// RemoveSignal ends a recovery that did not finish by itself (for
	// example after "shutdown at recovery target"): recovery.signal is
	// removed (12+) or recovery.conf renamed aside (9.3 to 11), so the next
	// start comes up where replay stopped instead of replaying again. Without
	// it Cleanup refuses to touch an unfinished recovery: taking the settings
	// away under a signal file would make the next start fail.
	RemoveSignal bool
}

// Cleaned says what Cleanup did.
type Cleaned struct {
	DataDir  string
	Files    []string // files changed or removed
	Moved    []Move
	Removed  []string // the blocks of settings taken out
	Notes    []string // what was found, for the person running the restore
	commands []shellcmd.Command
}

// Commands gives the shell commands equivalent to what Cleanup did.
func (c *Cleaned) Commands() []shellcmd.Command { return c.commands }

// Cleanup removes pgrescue's recovery settings once recovery has finished.
// From 12 on, the settings stay in postgresql.auto.conf after recovery
// (ignored without recovery.signal, but confusing and dangerous on the next
// restore), so pgrescue's block is cut out and the file is otherwise given
// back byte for byte. Up to 11 PostgreSQL renamed recovery.conf to
// recovery.done itself and there is nothing to remove; Cleanup says so.
// Settings outside pgrescue's block are never touched, only reported. It
// may run while the promoted server is up: PostgreSQL reads
// postgresql.auto.conf only when it starts or reloads.
func Cleanup(pgdata string, v Version) (*Cleaned, error) {
	return CleanupWith(pgdata, v, CleanupOptions{})
}

// CleanupWith is Cleanup with options.
func CleanupWith(pgdata string, v Version, opts CleanupOptions) (*Cleaned, error) {
	pgdata, err := absDataDir(pgdata)
	if err != nil {
		return nil, err
	}
	c := &Cleaned{DataDir: pgdata}
	if !v.UsesSignalFiles() {
		return c, c.recoveryConf(opts)
	}
	if err := c.signal(opts); err != nil {
		return nil, err
	}
	if err := c.autoConf(); err != nil {
		return nil, err
	}
	return c, nil
}

// unfinished is the error for a recovery that has not ended.
func unfinished(path string) error {
	return problem.New(problem.Usage, path,
		"recovery has not finished: "+filepath.Base(path)+" is still there, and removing the recovery settings now would make the next start fail",
		"start the server and wait for \"database system is ready to accept connections\" (PostgreSQL then ends recovery itself), "+
			"or clean up with the option that removes the signal to end recovery where it stopped")
}

// recoveryConf handles 9.3 to 11.
func (c *Cleaned) recoveryConf(opts CleanupOptions) error {
	conf := filepath.Join(c.DataDir, recoveryConf)
	if exists(conf) {
		if !opts.RemoveSignal {
			return unfinished(conf)
		}
		if err := RefuseLive(c.DataDir, "end recovery"); err != nil {
			return err
		}
		m, err := moveAside(conf, "recovery is being ended where it stopped")
		if err != nil {
			return err
		}
		c.Moved = append(c.Moved, *m)
		c.commands = append(c.commands, shellcmd.Command{Why: "end recovery where it stopped: keep recovery.conf aside", Line: "mv " + shellcmd.Quote(m.From) + " " + shellcmd.Quote(m.To)})
		return nil
	}
	if exists(filepath.Join(c.DataDir, recoveryDone)) {
		c.Notes = append(c.Notes, "PostgreSQL renamed recovery.conf to recovery.done when recovery finished; it is ignored from now on, so there is nothing to remove")
	} else {
		c.Notes = append(c.Notes, "there is no recovery.conf or recovery.done: nothing to remove")
	}
	return nil
}

// signal handles a recovery.signal still present (12+).
func (c *Cleaned) signal(opts CleanupOptions) error {
	path := filepath.Join(c.DataDir, recoverySignal)
	if !exists(path) {
		return nil
	}
	if !opts.RemoveSignal {
		return unfinished(path)
	}
	if err := RefuseLive(c.DataDir, "end recovery"); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return problem.Wrap(err, problem.LocalIO, path, "cannot remove recovery.signal", "remove it yourself (rm "+shellcmd.Quote(path)+")")
	}
	c.Files = append(c.Files, path)
	c.commands = append(c.commands, shellcmd.Command{Why: "end recovery where it stopped", Line: "rm " + shellcmd.Quote(path)})
	return syncDir(c.DataDir)
}

// autoConf cuts pgrescue's block out of postgresql.auto.conf (12+).
func (c *Cleaned) autoConf() error {
	path := filepath.Join(c.DataDir, autoConf)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.Notes = append(c.Notes, "there is no postgresql.auto.conf: nothing to remove")
		return nil
	}
	if err != nil {
		return problem.Wrap(err, problem.LocalIO, path, "cannot read postgresql.auto.conf", "check the data directory's permissions")
	}
	kept, removed, err := removeBlocks(data, path)
	if err != nil {
		return err
	}
	c.noteLeftovers(kept, path)
	if len(removed) == 0 {
		c.Notes = append(c.Notes, "postgresql.auto.conf holds no pgrescue settings: nothing to remove")
		return nil
	}
	owner, err := OwnerOf(c.DataDir)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.DataDir, autoConf, kept, owner); err != nil {
		return err
	}
	for _, r := range removed {
		c.Removed = append(c.Removed, string(r))
	}
	c.Files = append(c.Files, path)
	c.commands = append(c.commands, removeBlockCommand(shellcmd.Quote(path), "remove pgrescue's recovery settings"))
	return nil
}

// noteLeftovers reports recovery settings pgrescue did not write: they are
// someone else's to remove, but the next restore would trip over them.
func (c *Cleaned) noteLeftovers(data []byte, path string) {
	for _, e := range parseConf(data) {
		if e.Name == "restore_command" || strings.HasPrefix(e.Name, "recovery_target") {
			c.Notes = append(c.Notes, fmt.Sprintf("%s still sets %s (not written by pgrescue, so left alone); if it is not wanted: ALTER SYSTEM RESET %s;", path, e.Name, e.Name))
		}
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// DescribeCleanup gives the shell commands Cleanup would run for version v,
// for a dry run; the data directory is written as "$PGDATA".
func DescribeCleanup(v Version) []shellcmd.Command {
	if !v.UsesSignalFiles() {
		return []shellcmd.Command{{Why: "nothing to remove: PostgreSQL renamed recovery.conf to recovery.done when recovery finished", Line: `ls -l "$PGDATA"/recovery.done`}}
	}
	return []shellcmd.Command{
		{Why: "recovery has finished when this prints nothing (PostgreSQL removes recovery.signal)", Line: `ls "$PGDATA"/recovery.signal 2>/dev/null`},
		removeBlockCommand(`"$PGDATA"/`+autoConf, "remove pgrescue's recovery settings"),
	}
}
