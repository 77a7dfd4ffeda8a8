package recovery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"pgrescue/problem"
)

// Owner is the operating-system user a data directory belongs to. The server
// must run as that user (PostgreSQL refuses root), and every file pgrescue
// writes into the data directory is given to it.
type Owner struct {
	UID, GID int
	Name     string
	Home     string
	Groups   []int // supplementary groups, e.g. ssl-cert for Debian's snakeoil key
}

// OwnerOf returns the owner of path (normally the data directory).
func OwnerOf(path string) (Owner, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Owner{}, problem.Wrap(err, problem.LocalIO, path, "cannot read the data directory", "check that it exists and that you may read it")
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return Owner{}, problem.New(problem.LocalIO, path, "cannot tell who owns the data directory", "run pgrescue on Linux")
	}
	return lookupOwner(path, int(sys.Uid), int(sys.Gid))
}

// UserNamed is the account called name, as an Owner to run programs as
// (root runs psql as postgres, as the runbook's sudo -iu postgres does).
func UserNamed(name string) (Owner, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Owner{}, problem.Wrap(err, problem.Config, "user "+name, "there is no account called "+name+" on this machine", "give -U USER, or run as the database's user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return lookupOwner("user "+name, uid, gid)
}

func lookupOwner(path string, uid, gid int) (Owner, error) {
	o := Owner{UID: uid, GID: gid}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return o, problem.Wrap(err, problem.Config, path,
			fmt.Sprintf("the data directory belongs to user ID %d, which has no account on this machine (PostgreSQL needs one)", uid),
			"give the data directory to the database user: chown -R postgres:postgres "+path)
	}
	o.Name, o.Home = u.Username, u.HomeDir
	ids, _ := u.GroupIds() // without them the server only lacks extra groups
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil && g != gid {
			o.Groups = append(o.Groups, g)
		}
	}
	return o, nil
}

// refuseRootOwner stops before PostgreSQL does, with the fix.
func (o Owner) refuseRootOwner(pgdata string) error {
	if o.UID != 0 {
		return nil
	}
	return problem.New(problem.Config, pgdata, "the data directory belongs to root, and PostgreSQL refuses to run as root",
		"give it to the database user: chown -R postgres:postgres "+pgdata)
}

// RunAs makes cmd run as the owner: when we are root, by switching user for
// the child; otherwise we must already be the owner.
func (o Owner) RunAs(cmd *exec.Cmd) error {
	attr := &syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		attr = cmd.SysProcAttr
	}
	cmd.SysProcAttr = attr
	if os.Geteuid() == 0 {
		groups := make([]uint32, 0, len(o.Groups))
		for _, g := range o.Groups {
			groups = append(groups, uint32(g))
		}
		attr.Credential = &syscall.Credential{Uid: uint32(o.UID), Gid: uint32(o.GID), Groups: groups}
		return nil
	}
	if os.Geteuid() != o.UID {
		return problem.New(problem.Usage, cmd.Path,
			fmt.Sprintf("this must run as %s, the data directory's owner (or as root)", o.Name),
			fmt.Sprintf("run pgrescue as root, or as %s (sudo -u %s …)", o.Name, o.Name))
	}
	return nil
}

// env is the minimal environment of a server process: nothing inherited, so
// a PGPORT, PGHOST, PGOPTIONS or LANG in the caller's environment cannot
// redirect or translate anything. LC_ALL=C keeps restore_command's own
// messages (cp, gpg) untranslated in the log too.
func (o Owner) env(binDir string, extra []string) []string {
	env := []string{
		"PATH=" + binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LC_ALL=C",
		"HOME=" + o.Home,
		"USER=" + o.Name,
		"LOGNAME=" + o.Name,
	}
	return append(env, extra...) // later entries win in os/exec
}

// RunnableBy returns a path to the pgrescue executable exe that owner can
// run (for restore_command, archive_command, a base backup's stream): exe
// itself when it can, else a copy in dir, which owner must reach (a binary
// under /root or in a build cache is out of postgres's reach). A program
// that runs but is not pgrescue is refused: what it is run for would fail
// quietly into a server log.
func RunnableBy(ctx context.Context, owner Owner, exe, dir string) (string, error) {
	if os.Geteuid() != 0 || owner.UID == os.Geteuid() {
		return exe, nil
	}
	if ok, err := runsAs(ctx, owner, exe); ok || err != nil {
		return exe, err
	}
	copied := filepath.Join(dir, "pgrescue")
	if err := copyExecutable(exe, copied, owner); err != nil {
		return "", err
	}
	ok, err := runsAs(ctx, owner, copied)
	if err == nil && !ok {
		err = problem.New(problem.Config, copied, owner.Name+" cannot run pgrescue, even copied to "+dir,
			"install pgrescue where "+owner.Name+" can run it (e.g. /usr/local/bin)")
	}
	return copied, err
}

// runsAs reports whether owner can run exe; an exe that runs but is not
// pgrescue is an error.
func runsAs(ctx context.Context, owner Owner, exe string) (bool, error) {
	cmd := exec.CommandContext(ctx, exe, "--version")
	cmd.Dir = "/"
	if err := owner.RunAs(cmd); err != nil {
		return false, err
	}
	out, err := cmd.Output()
	if err != nil {
		return false, nil
	}
	if !bytes.HasPrefix(out, []byte("pgrescue ")) {
		return false, problem.New(problem.Usage, exe, "this program is not pgrescue", "give the pgrescue executable")
	}
	return true, nil
}

// copyExecutable copies exe to to, owned by owner, atomically. It streams:
// the binary is tens of MiB.
func copyExecutable(from, to string, owner Owner) error {
	tmp := to + ".tmp"
	err := copyFile(from, tmp)
	if err == nil {
		err = os.Chmod(tmp, 0o755) // whatever the umask
	}
	if err == nil {
		err = os.Chown(tmp, owner.UID, owner.GID)
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
		return problem.Wrap(err, problem.LocalIO, to, "cannot give "+owner.Name+" a copy of pgrescue to run",
			"install pgrescue where "+owner.Name+" can run it (e.g. /usr/local/bin)")
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
