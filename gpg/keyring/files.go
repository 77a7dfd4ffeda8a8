package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"pgrescue/problem"
)

// BackupDirName is the directory, inside the GnuPG home, that holds one
// backup per passphrase change. Inside the home it has the home's own
// protection (0700, the owner's) and gpg ignores it.
const BackupDirName = "pgrescue-backups"

// snapshot is the exact content, mode and owner of keyring files, relative
// to the home, taken before a change so that a failure can put every byte
// back.
type snapshot map[string]fileCopy

type fileCopy struct {
	data     []byte
	mode     os.FileMode
	uid, gid uint32
}

func (k *Keyring) takeSnapshot(names []string) (snapshot, error) {
	s := make(snapshot)
	for _, name := range names {
		path := filepath.Join(k.Path, name)
		st, err := os.Stat(path)
		if err != nil {
			return nil, errWrite(path, "cannot read a keyring file before changing it", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, errWrite(path, "cannot read a keyring file before changing it", err)
		}
		uid, gid := fileOwner(st)
		s[name] = fileCopy{data: data, mode: st.Mode().Perm(), uid: uid, gid: gid}
	}
	return s, nil
}

func fileOwner(st os.FileInfo) (uid, gid uint32) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Uid, sys.Gid
	}
	return uint32(os.Getuid()), uint32(os.Getgid())
}

// rollback writes every file of the snapshot back, atomically each. Files
// that are still exactly as in the snapshot are left alone: after a write
// that failed (a read-only or immutable keyring) nothing needs putting back,
// and trying would report a second, misleading failure.
func (k *Keyring) rollback(s snapshot) error {
	var errs []error
	for _, name := range sortedNames(s) {
		c := s[name]
		if k.unchanged(name, c) {
			continue
		}
		if err := writeAtomic(filepath.Join(k.Path, name), c.data, c.mode, c.uid, c.gid); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unchanged reports whether the file name still has c's content, mode and owner.
func (k *Keyring) unchanged(name string, c fileCopy) bool {
	now, err := k.takeSnapshot([]string{name})
	if err != nil {
		return false
	}
	n := now[name]
	return n.mode == c.mode && n.uid == c.uid && n.gid == c.gid && bytes.Equal(n.data, c.data)
}

// writeBackup copies the snapshot into a new directory under the home's
// BackupDirName, with each file's mode and owner, and returns its path.
func (k *Keyring) writeBackup(s snapshot, now time.Time) (string, error) {
	root := filepath.Join(k.Path, BackupDirName)
	dir := filepath.Join(root, now.UTC().Format("20060102T150405Z"))
	for _, d := range []string{root, dir} {
		if err := k.makeOwnedDir(d); err != nil {
			return "", err
		}
	}
	for _, name := range sortedNames(s) {
		c := s[name]
		path := filepath.Join(dir, name)
		if err := k.makeOwnedDir(filepath.Dir(path)); err != nil {
			return "", err
		}
		if err := writeAtomic(path, c.data, c.mode, c.uid, c.gid); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// makeOwnedDir makes a 0700 directory owned by the keyring's owner.
func (k *Keyring) makeOwnedDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return errWrite(dir, "cannot create the backup directory", err)
	}
	if err := chownIfRoot(dir, k.Owner.UID, k.Owner.GID); err != nil {
		return errWrite(dir, "cannot give the backup directory to the keyring's owner", err)
	}
	return nil
}

// readBackup loads the files of a backup directory, relative to it.
func readBackup(dir string) (snapshot, error) {
	s := make(snapshot)
	err := filepath.Walk(dir, func(path string, st os.FileInfo, err error) error {
		if err != nil || st.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		uid, gid := fileOwner(st)
		s[rel] = fileCopy{data: data, mode: st.Mode().Perm(), uid: uid, gid: gid}
		return nil
	})
	if err == nil && len(s) == 0 {
		err = errors.New("the backup directory is empty")
	}
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, dir, "cannot read the keyring backup",
			"name a backup made by `pgrescue gpg remove-passphrase` with --backup DIR")
	}
	return s, nil
}

// NewestBackup returns the most recent backup directory of the home.
func (k *Keyring) NewestBackup() (string, error) {
	root := filepath.Join(k.Path, BackupDirName)
	entries, err := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		e := problem.Wrap(err, problem.LocalIO, root, "there is no keyring backup to restore",
			"set a passphrase again with `pgrescue gpg restore-passphrase --set`, or name a backup with --backup DIR")
		e.Detail = "`pgrescue gpg remove-passphrase` makes one before each change"
		return "", e
	}
	sort.Strings(names) // timestamps sort in time order
	return filepath.Join(root, names[len(names)-1]), nil
}

func sortedNames(s snapshot) []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// writeAtomic replaces path with data: written to a temporary file in the
// same directory, given its mode and owner, synced, then renamed over path,
// so that gpg (or a crash) sees either the old file or the new one.
func writeAtomic(path string, data []byte, mode os.FileMode, uid, gid uint32) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pgrescue-*")
	if err != nil {
		return errWrite(path, "cannot write the keyring file", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name()) // our own temporary file, never the keyring
		}
	}()
	if err := fillFile(tmp, data, mode, uid, gid); err != nil {
		return errWrite(path, "cannot write the keyring file", err)
	}
	if err := tmp.Close(); err != nil {
		return errWrite(path, "cannot write the keyring file", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errWrite(path, "cannot replace the keyring file", err)
	}
	ok = true
	return syncDir(filepath.Dir(path))
}

func fillFile(f *os.File, data []byte, mode os.FileMode, uid, gid uint32) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := chownIfRoot(f.Name(), uid, gid); err != nil {
		return err
	}
	return f.Sync()
}

// chownIfRoot gives a file to the keyring's owner; only root can, and only
// root needs to (anyone else writes files they already own).
func chownIfRoot(path string, uid, gid uint32) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, int(uid), int(gid))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil // the rename is done; durability is best effort here
	}
	defer d.Close()
	d.Sync()
	return nil
}

func errWrite(path, summary string, err error) *problem.Error {
	return problem.Wrap(err, problem.LocalIO, path, summary,
		"check that the keyring is writable (not a read-only mount, not immutable: `lsattr` shows an i flag) and that there is free space; "+
			"run pgrescue as root or as the keyring's owner")
}
