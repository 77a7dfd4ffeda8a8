// Package tarx extracts WAL-E tar partitions into a data directory safely:
// every write goes through an os.Root, so no member (by name, "..", or a
// symlink planted earlier) can land outside the target; modes (never group
// or other write, never setuid, setgid or sticky), mtimes and,
// when running as root, owners are kept; directories get their final modes
// and times only after every partition is in, since partitions are extracted
// concurrently and a directory's files may arrive in several of them.
package tarx

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pgrescue/internal/bufpool"
	"pgrescue/problem"
)

// Extractor writes members into a data directory. One Extractor serves all
// partitions of a backup, concurrently.
type Extractor struct {
	root        *os.Root
	tablespaces map[string]*os.Root // "pg_tblspc/<oid>" -> root of the tablespace's real location
	chown       bool
	warn        func(string)
	writeback   *writeback // nil: no writeback requested while extracting

	bytes atomic.Int64 // member data written
	files atomic.Int64 // regular files written

	mu     sync.Mutex
	dirs   map[string]*tar.Header // deferred directory metadata
	owners map[string]int         // cached user/group name lookups
}

// Options configure an Extractor.
type Options struct {
	// Tablespaces maps a link path ("pg_tblspc/16385") to an existing directory
	// that tablespace's members go into. Members under a link not listed here
	// are written as plain directories inside the data directory.
	Tablespaces map[string]string
	// Chown keeps the members' owners; only meaningful when running as root.
	Chown bool
	// Warn receives notes about members handled specially.
	Warn func(string)
	// Writeback asks the kernel to start writing each file to disk while
	// the extraction goes on, for a caller that syncs at the end: the sync
	// then finds little left to write.
	Writeback bool
}

// New opens dir (which must exist) as the extraction root.
func New(dir string, opts Options) (*Extractor, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, dir, "cannot open the data directory for writing", "check that it exists and that you may write to it")
	}
	x := &Extractor{root: root, tablespaces: map[string]*os.Root{}, chown: opts.Chown, warn: opts.Warn,
		dirs: map[string]*tar.Header{}, owners: map[string]int{}}
	if x.warn == nil {
		x.warn = func(string) {}
	}
	for link, loc := range opts.Tablespaces {
		r, err := os.OpenRoot(loc)
		if err != nil {
			x.Close()
			return nil, problem.Wrap(err, problem.LocalIO, loc, "cannot open the tablespace directory "+link+" points to", "create it, owned by the database user, or restore with --blind-restore")
		}
		x.tablespaces[path.Clean(link)] = r
	}
	if opts.Writeback {
		x.writeback = startWriteback(startWriting)
	}
	return x, nil
}

// Close waits for the writeback requests queued and releases the roots.
// Call it once every Extract has returned.
func (x *Extractor) Close() error {
	x.writeback.stop()
	for _, r := range x.tablespaces {
		r.Close()
	}
	return x.root.Close()
}

// BytesWritten is the member data written so far, over all partitions.
func (x *Extractor) BytesWritten() int64 { return x.bytes.Load() }

// FilesWritten is the number of regular files written so far.
func (x *Extractor) FilesWritten() int64 { return x.files.Load() }

// CopyBufferSize is how much of a member Extract writes at a time: each
// stream being extracted holds one such buffer.
const CopyBufferSize = 256 << 10

// Extract reads one tar stream and writes its members. source names the
// partition in error messages.
func (x *Extractor) Extract(ctx context.Context, r io.Reader, source string) error {
	tr := tar.NewReader(r)
	buf := bufpool.Get(CopyBufferSize)
	defer bufpool.Put(buf)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return tarError(err, source)
		}
		if err := x.member(tr, hdr, source, buf); err != nil {
			return err
		}
	}
}

func tarError(err error, source string) error {
	if pe := (*problem.Error)(nil); errors.As(err, &pe) {
		return err // a decoding error from below, already explained
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return problem.Wrap(err, problem.Truncated, source, "the tar stream ends in the middle of a member", "fetch again; if it repeats, the partition is damaged in the archive: try another backup")
	}
	return problem.Wrap(err, problem.Corrupt, source, "the partition is not a valid tar stream", "the key, compression and archive may not match: check `pgrescue backup-list`, or try another backup")
}

// memberPath validates a member name: relative, no "..", "" for the root.
func memberPath(name string) (string, bool) {
	if name == "/" || name == "" || name == "." || name == "./" {
		return "", true // WAL-E writes the data directory itself as member "/"
	}
	if strings.HasPrefix(name, "/") {
		return "", false
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", true
	}
	return clean, true
}

func unsafe(name, source, why string) error {
	return problem.New(problem.UnsafeMember, source+": "+strconv.Quote(name),
		"refusing a tar member that would be written outside the data directory ("+why+")",
		"this backup was not written by WAL-E from a data directory, or it was tampered with; do not restore it: choose another backup with `pgrescue backup-list`")
}

func (x *Extractor) member(tr *tar.Reader, hdr *tar.Header, source string, buf []byte) error {
	name, ok := memberPath(hdr.Name)
	if !ok {
		return unsafe(hdr.Name, source, "absolute path or '..'")
	}
	root, rel := x.rootFor(name)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(root, rel, name, hdr)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		return x.file(root, rel, hdr, tr, source, buf)
	case tar.TypeSymlink:
		return x.symlink(root, rel, name, hdr, source)
	case tar.TypeLink:
		return x.hardlink(root, rel, hdr, source)
	default:
		return unsafe(hdr.Name, source, fmt.Sprintf("special file of tar type %q, never part of a data directory", hdr.Typeflag))
	}
}

// rootFor routes members under a tablespace link to that tablespace's root.
func (x *Extractor) rootFor(name string) (*os.Root, string) {
	for link, r := range x.tablespaces {
		if rest, ok := strings.CutPrefix(name, link+"/"); ok {
			return r, rest
		}
		if name == link {
			return r, "."
		}
	}
	return x.root, name
}

func (x *Extractor) dir(root *os.Root, rel, name string, hdr *tar.Header) error {
	if rel != "" && rel != "." {
		if err := x.mkdirAll(root, rel); err != nil {
			return err
		}
	}
	if root == x.root { // tablespace roots keep the operator's own modes
		x.mu.Lock()
		x.dirs[name] = hdr
		x.mu.Unlock()
	}
	return nil
}

func (x *Extractor) mkdirAll(root *os.Root, rel string) error {
	if err := root.MkdirAll(rel, 0o700); err != nil {
		return x.localError(err, rel, "cannot create directory")
	}
	return nil
}

func (x *Extractor) file(root *os.Root, rel string, hdr *tar.Header, tr io.Reader, source string, buf []byte) error {
	if rel == "" || rel == "." {
		return unsafe(hdr.Name, source, "a file in place of the data directory itself")
	}
	if dir := path.Dir(rel); dir != "." {
		if err := x.mkdirAll(root, dir); err != nil {
			return err
		}
	}
	if err := removeIfLink(root, rel); err != nil {
		return x.localError(err, rel, "cannot replace existing symlink")
	}
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return x.localError(err, rel, "cannot create file")
	}
	out := &fileWriter{f: f, total: &x.bytes, queue: x.writeback}
	n, err := io.CopyBuffer(out, io.LimitReader(tr, hdr.Size), buf)
	if err == nil && n < hdr.Size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		f.Close()
		var pe *problem.Error
		if errors.As(err, &pe) {
			return err
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return tarError(err, source)
		}
		return x.localError(err, rel, "cannot write file")
	}
	out.flush()
	if err := x.finishFile(f, hdr); err != nil {
		f.Close()
		return x.localError(err, rel, "cannot set mode or owner of")
	}
	if err := f.Close(); err != nil {
		return x.localError(err, rel, "cannot close file")
	}
	x.files.Add(1)
	return root.Chtimes(rel, hdr.ModTime, hdr.ModTime)
}

func (x *Extractor) finishFile(f *os.File, hdr *tar.Header) error {
	if err := f.Chmod(restoredMode(hdr.Mode)); err != nil {
		return err
	}
	if x.chown {
		return f.Chown(x.uid(hdr), x.gid(hdr))
	}
	return nil
}

func removeIfLink(root *os.Root, rel string) error {
	st, err := root.Lstat(rel)
	if err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return root.Remove(rel)
	}
	return nil
}

// symlink creates links that stay inside the data directory. A pg_wal or
// pg_xlog link to another disk becomes a plain directory (the WAL it pointed
// at is not in the backup anyway); any other escaping link is refused.
func (x *Extractor) symlink(root *os.Root, rel, name string, hdr *tar.Header, source string) error {
	if rel == "" || rel == "." {
		return unsafe(hdr.Name, source, "a symlink in place of the data directory itself")
	}
	if escapes(name, hdr.Linkname) {
		if name == "pg_wal" || name == "pg_xlog" {
			x.warn(fmt.Sprintf("%s was a symlink to %s on the backed-up server; restored as a directory inside the data directory", name, hdr.Linkname))
			return x.dir(root, rel, name, &tar.Header{Name: name, Mode: 0o700, ModTime: hdr.ModTime, Uid: hdr.Uid, Gid: hdr.Gid, Uname: hdr.Uname, Gname: hdr.Gname, Typeflag: tar.TypeDir})
		}
		return unsafe(hdr.Name, source, "symlink to "+strconv.Quote(hdr.Linkname))
	}
	if dir := path.Dir(rel); dir != "." {
		if err := x.mkdirAll(root, dir); err != nil {
			return err
		}
	}
	if _, err := root.Lstat(rel); err == nil {
		if err := root.Remove(rel); err != nil {
			return x.localError(err, rel, "cannot replace")
		}
	}
	if err := root.Symlink(hdr.Linkname, rel); err != nil {
		return x.localError(err, rel, "cannot create symlink")
	}
	if x.chown {
		_ = root.Lchown(rel, x.uid(hdr), x.gid(hdr))
	}
	return nil
}

// escapes reports whether a symlink at name pointing to target resolves
// outside the data directory.
func escapes(name, target string) bool {
	if path.IsAbs(target) {
		return true
	}
	resolved := path.Clean(path.Join(path.Dir(name), target))
	return resolved == ".." || strings.HasPrefix(resolved, "../")
}

func (x *Extractor) hardlink(root *os.Root, rel string, hdr *tar.Header, source string) error {
	target, ok := memberPath(hdr.Linkname)
	if !ok || target == "" {
		return unsafe(hdr.Name, source, "hard link to "+strconv.Quote(hdr.Linkname))
	}
	troot, trel := x.rootFor(target)
	if troot != root {
		return unsafe(hdr.Name, source, "hard link across a tablespace boundary")
	}
	if _, err := root.Lstat(rel); err == nil {
		_ = root.Remove(rel)
	}
	if err := root.Link(trel, rel); err != nil {
		return x.localError(err, rel, "cannot create hard link")
	}
	return nil
}

// restoredMode is the mode an archived file or directory gets: its owner's
// bits, and the group's read and search where the cluster uses group access
// (PostgreSQL 11+: 0750 and 0640). Whatever modes a base backup's tar
// carries, nothing restored is writable by the group or others, and no
// setuid, setgid or sticky bit is set.
func restoredMode(archived int64) fs.FileMode { return fs.FileMode(archived) & 0o750 }

// dataDirMode is the data directory's own mode: 0700, or 0750 when the
// archive says the cluster uses group access. PostgreSQL refuses to start
// on anything else.
func dataDirMode(archived int64) fs.FileMode {
	if fs.FileMode(archived)&0o7777 == 0o750 {
		return 0o750
	}
	return 0o700
}

// Finish gives directories their archived modes, owners and times, deepest
// first so setting a parent's time is not undone by work in its children.
func (x *Extractor) Finish() error {
	x.mu.Lock()
	dirs := x.dirs
	x.dirs = map[string]*tar.Header{}
	x.mu.Unlock()
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	sortDeepestFirst(names)
	for _, n := range names {
		hdr := dirs[n]
		target := n
		if target == "" {
			target = "."
		}
		mode := restoredMode(hdr.Mode) | 0o700
		if target == "." {
			mode = dataDirMode(hdr.Mode)
		}
		if err := x.root.Chmod(target, mode); err != nil {
			return x.localError(err, target, "cannot set mode of directory")
		}
		if x.chown {
			if err := x.root.Lchown(target, x.uid(hdr), x.gid(hdr)); err != nil {
				return x.localError(err, target, "cannot set owner of directory")
			}
		}
		if err := x.root.Chtimes(target, time.Now(), hdr.ModTime); err != nil {
			return x.localError(err, target, "cannot set time of directory")
		}
	}
	return nil
}

func sortDeepestFirst(names []string) {
	depth := func(s string) int {
		if s == "" {
			return -1
		}
		return strings.Count(s, "/")
	}
	sort.Slice(names, func(i, j int) bool {
		if di, dj := depth(names[i]), depth(names[j]); di != dj {
			return di > dj
		}
		return names[i] < names[j]
	})
}

func (x *Extractor) localError(err error, rel, what string) error {
	full := path.Join(x.root.Name(), rel)
	next := "check the permissions and free space of the data directory"
	if errors.Is(err, fs.ErrPermission) {
		next = "run as the data directory's owner (e.g. sudo -u postgres) or as root"
	}
	if pe := (*problem.Error)(nil); errors.As(err, &pe) {
		return err
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return problem.Wrap(err, problem.UnsafeMember, full, "refusing to write through a symlink that leads outside the data directory",
			"this backup is not safe to restore: choose another with `pgrescue backup-list`")
	}
	return problem.Wrap(err, problem.LocalIO, full, what, next)
}

// uid resolves the owner as tar does when run by root: by name when the name
// exists here, else by number.
func (x *Extractor) uid(hdr *tar.Header) int {
	return x.lookup("u:"+hdr.Uname, hdr.Uid, func() (string, error) {
		u, err := user.Lookup(hdr.Uname)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
}

func (x *Extractor) gid(hdr *tar.Header) int {
	return x.lookup("g:"+hdr.Gname, hdr.Gid, func() (string, error) {
		g, err := user.LookupGroup(hdr.Gname)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
}

func (x *Extractor) lookup(key string, fallback int, find func() (string, error)) int {
	if key == "u:" || key == "g:" {
		return fallback
	}
	x.mu.Lock()
	id, ok := x.owners[key]
	x.mu.Unlock()
	if ok {
		return id
	}
	id = fallback
	if s, err := find(); err == nil {
		if n, err := strconv.Atoi(s); err == nil {
			id = n
		}
	}
	x.mu.Lock()
	x.owners[key] = id
	x.mu.Unlock()
	return id
}
