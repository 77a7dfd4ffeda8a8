package recovery

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pgrescue/problem"
)

// firstDefaultPort starts the search for a free port well away from 5432, so
// a restore test never takes the port production clients expect.
const (
	firstDefaultPort = 54320
	portsToTry       = 1000
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// privateSocketParent is deliberately /tmp and not $TMPDIR: a long TMPDIR
// (macOS-style, or a CI workspace) would push the socket path past the limit.
const privateSocketParent = "/tmp"

// privateSocketPrefix names pgrescue's private socket directories; other
// pgrescue servers' directories are checked when choosing a port.
const privateSocketPrefix = "pgrescue-"

// socketPath is the path of the server's Unix socket.
func socketPath(dir string, port int) string {
	return filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
}

// newPrivateSocketDirName names a private socket directory: unpredictable,
// so nobody can create it first, and short.
// PrivateSocketDir reports whether dir is a socket directory pgrescue made
// for a server of its own (/tmp/pgrescue-…): once empty, when that server
// has stopped, it is removed, whoever stops the server.
func PrivateSocketDir(dir string) bool {
	return filepath.Dir(dir) == privateSocketParent && strings.HasPrefix(filepath.Base(dir), privateSocketPrefix)
}

func newPrivateSocketDirName() string {
	return filepath.Join(privateSocketParent, privateSocketPrefix+strconv.FormatUint(rand.Uint64(), 36))
}

// makePrivateSocketDir creates dir, which must not exist, so that only the
// owner can enter it: nobody else can connect to the restored server or
// squat its socket. mkdir failing on an existing path is what makes a
// planned name in /tmp safe.
func makePrivateSocketDir(dir string, owner Owner) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, owner.UID, owner.GID); err != nil {
			os.Remove(dir) // the empty directory we just made
			return err
		}
	}
	return nil
}

// checkSocketDir refuses a directory PostgreSQL could not use.
func checkSocketDir(dir string, port int) error {
	if strings.ContainsAny(dir, ", \t\"'\\") {
		return problem.New(problem.Usage, dir, "the socket directory contains a comma, a quote or white space, which unix_socket_directories cannot take here",
			"choose a plain path, or leave it out for a private one under /tmp")
	}
	if p := socketPath(dir, port); len(p) > maxSocketPath {
		return problem.New(problem.Usage, dir, fmt.Sprintf("the socket path %s is %d bytes, longer than the %d Linux allows", p, len(p), maxSocketPath),
			"choose a shorter socket directory, or leave it out for a private one under /tmp")
	}
	return nil
}

// portInUse reports whether a server has, or had, port in dir: its socket
// or lock file is there.
func portInUse(dir string, port int) bool {
	sock := socketPath(dir, port)
	return exists(sock) || exists(sock+".lock")
}

// choosePort returns the first port from firstDefaultPort that no server
// uses in socketDir, in the usual socket directories or in another
// pgrescue's private one, and that is free on TCP. Avoiding the other
// directories too means two restores never share a port number, which
// would otherwise confuse anyone connecting by hand.
func choosePort(socketDir string) (int, error) {
	dirs := []string{socketDir, debianSocketDir, "/run/postgresql", "/tmp"}
	others, _ := filepath.Glob(filepath.Join(privateSocketParent, privateSocketPrefix+"*"))
	dirs = append(dirs, others...)
	for port := firstDefaultPort; port < firstDefaultPort+portsToTry; port++ {
		if !usedInAny(dirs, port) && tcpFree(port) {
			return port, nil
		}
	}
	return 0, problem.New(problem.Usage, "port", fmt.Sprintf("no free port between %d and %d", firstDefaultPort, firstDefaultPort+portsToTry-1),
		"give a free port explicitly")
}

func usedInAny(dirs []string, port int) bool {
	for _, d := range dirs {
		if d != "" && portInUse(d, port) {
			return true
		}
	}
	return false
}

func tcpFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
