package recovery

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// now is the clock used in the names of files moved aside; tests fix it.
var now = time.Now

// privateFileMode is the mode of every file pgrescue writes into a data
// directory: PostgreSQL itself keeps its files private to the owner.
const privateFileMode = 0o600

// writeFileAtomic replaces dir/name with data so that a crash leaves either
// the old file or the new one, never a mix: write a temporary file beside it,
// give it the owner and mode, flush it, rename it over, flush the directory.
func writeFileAtomic(dir, name string, data []byte, owner Owner) error {
	path := filepath.Join(dir, name)
	tmp, err := writeTemp(dir, name, data, owner)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp) // our own temporary file
		return problem.Wrap(err, problem.LocalIO, path, "cannot put the new "+name+" in place", "check the data directory's permissions, then run again")
	}
	return syncDir(dir)
}

// writeFileNew is writeFileAtomic for a file that must not exist yet: the
// finished file is hard-linked into place, which fails rather than replace
// a file someone else created meanwhile. It reports whether it wrote.
func writeFileNew(dir, name string, data []byte, owner Owner) (bool, error) {
	path := filepath.Join(dir, name)
	tmp, err := writeTemp(dir, name, data, owner)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp) // our own temporary name; the link keeps the file
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, problem.Wrap(err, problem.LocalIO, path, "cannot create "+name, "check the data directory's permissions, then run again")
	}
	return true, syncDir(dir)
}

// writeTemp writes data to a new private temporary file in dir, flushed to
// disk, and returns its path.
func writeTemp(dir, name string, data []byte, owner Owner) (string, error) {
	path := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, "."+name+".pgrescue-*")
	if err != nil {
		return "", problem.Wrap(err, problem.LocalIO, path, "cannot create a temporary file to write "+name, "check that the data directory is writable and the disk is not full")
	}
	err = fillPrivateFile(tmp, data, owner)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(tmp.Name()) // our own half-written temporary file
		return "", problem.Wrap(err, problem.LocalIO, path, "cannot write "+name, "check free space and permissions, then run again")
	}
	return tmp.Name(), nil
}

func fillPrivateFile(f *os.File, data []byte, owner Owner) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(privateFileMode); err != nil {
		return err
	}
	if err := chownToOwner(f, owner); err != nil {
		return err
	}
	return f.Sync()
}

// chownToOwner gives a file to the data directory's owner when we can, that
// is when running as root; otherwise the file is already ours.
func chownToOwner(f *os.File, owner Owner) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return f.Chown(owner.UID, owner.GID)
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return problem.Wrap(err, problem.LocalIO, dir, "cannot open the directory to flush it", "check its permissions")
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return problem.Wrap(err, problem.LocalIO, dir, "flushing the directory to disk failed", "check the disk (dmesg)")
	}
	return nil
}

// Move is a file renamed out of the way instead of being deleted.
type Move struct{ From, To string }

// asideName is where a file in the way goes: name.pgrescue-<UTC time>, with
// a counter when that is taken, so a second move in the same second cannot
// rename over the first one's file.
func asideName(path string) string {
	base := path + ".pgrescue-" + now().UTC().Format("20060102T150405Z")
	name := base
	for i := 2; exists(name); i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

// moveAside renames path out of the way if it exists; never deletes.
func moveAside(path, why string) (*Move, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	to := asideName(path)
	if err := os.Rename(path, to); err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot move "+filepath.Base(path)+" aside ("+why+")",
			"move it away yourself (mv "+shellcmd.Quote(path)+" "+shellcmd.Quote(to)+"), then run again")
	}
	return &Move{From: path, To: to}, syncDir(filepath.Dir(path))
}
