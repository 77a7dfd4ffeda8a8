package demo

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
	"time"

	"pgrescue/problem"
	"pgrescue/restore/recovery"
)

// postgresUser is who runs PostgreSQL on Debian and Ubuntu, and so who
// runs the sandbox's cluster when pgrescue runs as root.
const postgresUser = "postgres"

// clusterOwner is the user the sandbox's PostgreSQL runs as: postgres when
// we are root, since PostgreSQL refuses to run as root; otherwise us, so an
// engineer without root can still practise.
func clusterOwner() (recovery.Owner, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return recovery.Owner{}, problem.Wrap(err, problem.Config, "uid "+strconv.Itoa(os.Geteuid()),
				"cannot tell who you are, and the sandbox's PostgreSQL runs as you", "run pgrescue demo as a user with an account (see /etc/passwd)")
		}
		return ownerOf(u), nil
	}
	u, err := user.Lookup(postgresUser)
	if err != nil {
		return recovery.Owner{}, problem.Wrap(err, problem.Config, "user "+postgresUser,
			"the postgres user does not exist, and PostgreSQL cannot run as root",
			"install PostgreSQL, which creates it: sudo apt-get install postgresql; or run pgrescue demo as an ordinary user")
	}
	return ownerOf(u), nil
}

// lookupOwner finds a user by name, for Check's psql.
func lookupOwner(name string) (recovery.Owner, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return recovery.Owner{}, problem.Wrap(err, problem.Usage, "user "+name,
			"there is no account called "+name+" to run psql as (peer authentication needs one)",
			"give the user the restored server's summary names (psql -U USER)")
	}
	return ownerOf(u), nil
}

func ownerOf(u *user.User) recovery.Owner {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	o := recovery.Owner{UID: uid, GID: gid, Name: u.Username, Home: u.HomeDir}
	ids, _ := u.GroupIds() // without them the server only lacks extra groups
	for _, id := range ids {
		if g, err := strconv.Atoi(id); err == nil && g != gid {
			o.Groups = append(o.Groups, g)
		}
	}
	return o
}

// ownerCommand prepares a program to run as the cluster's owner: from /
// (the owner may not enter our working directory), in its own session (a
// ctrl+c at the terminal is for pgrescue, not the server), with a minimal
// environment so nothing of ours (PGPORT, PGHOST, LANG…) redirects it.
func ownerCommand(ctx context.Context, owner recovery.Owner, binDir, program string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + binDir + ":/usr/bin:/bin", "LC_ALL=C", "HOME=" + owner.Home, "USER=" + owner.Name, "LOGNAME=" + owner.Name, "PGCONNECT_TIMEOUT=30"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second // never hang on a pipe a daemon kept open
	if err := owner.RunAs(cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// runOwner runs a program as the owner and returns its standard output;
// a failure carries the program's own message.
func runOwner(ctx context.Context, owner recovery.Owner, binDir string, stdin io.Reader, program string, args ...string) (string, error) {
	cmd, err := ownerCommand(ctx, owner, binDir, program, args...)
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := bytes.TrimSpace(stderr.Bytes())
		if len(msg) == 0 {
			msg = bytes.TrimSpace(stdout.Bytes())
		}
		return stdout.String(), &commandError{program: filepath.Base(program), err: err, output: string(msg)}
	}
	return stdout.String(), nil
}

// commandError is a failed program with what it printed.
type commandError struct {
	program string
	err     error
	output  string
}

func (e *commandError) Error() string {
	if e.output == "" {
		return e.program + ": " + e.err.Error()
	}
	return e.program + ": " + e.output
}

func (e *commandError) Unwrap() error { return e.err }

// checkReachable makes sure the owner can enter every directory above dir:
// the server and its archive_command run as postgres, which cannot reach a
// folder under a private parent such as /root.
func checkReachable(dir string, owner recovery.Owner) error {
	if owner.UID == os.Geteuid() {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return problem.Wrap(err, problem.LocalIO, d, "cannot read a parent of the sandbox folder", "choose another folder with --dir")
		}
		if !canEnter(st, owner) {
			return problem.New(problem.Config, d,
				fmt.Sprintf("the sandbox's PostgreSQL runs as %s, which cannot enter %s", owner.Name, d),
				"choose a sandbox folder "+owner.Name+" can reach (the default, under "+os.TempDir()+", is), or allow it in: chmod o+x "+d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canEnter applies the execute (search) permission bits for owner.
func canEnter(st os.FileInfo, owner recovery.Owner) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := st.Mode().Perm()
	switch {
	case int(sys.Uid) == owner.UID:
		return mode&0o100 != 0
	case inGroup(int(sys.Gid), owner):
		return mode&0o010 != 0
	}
	return mode&0o001 != 0
}

func inGroup(gid int, owner recovery.Owner) bool {
	if gid == owner.GID {
		return true
	}
	for _, g := range owner.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// programForOwner returns a pgrescue the owner can run for archive_command:
// exe itself when it can, else a copy in binDir (recovery.RunnableBy).
func programForOwner(ctx context.Context, exe string, owner recovery.Owner, binDir string) (string, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fileError(binDir, err)
	}
	return recovery.RunnableBy(ctx, owner, exe, binDir)
}
