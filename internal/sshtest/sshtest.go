// Package sshtest starts a real OpenSSH server for a test: sshd with its
// own host key, config and authorized key in a temp dir, on 127.0.0.1, so
// the backup machine's ssh source is tested through the system ssh.
package sshtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
)

// Server is a running sshd that lets the test's user in with Key.
type Server struct {
	Port       int
	User       string
	Key        string // the client's private key
	KnownHosts string // a known_hosts file that trusts the server's key
	HostKey    string // the server's public host key line
}

// Start runs sshd until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		testtool.EndToEnd(t)
		testtool.Missing(t, "sshd", "install it with: sudo apt-get install openssh-server")
	}
	keygen := testtool.Need(t, "ssh-keygen")
	testtool.Need(t, "ssh")
	dir := t.TempDir()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{User: u.Username, Key: filepath.Join(dir, "client_key"), KnownHosts: filepath.Join(dir, "known_hosts")}
	hostKey := filepath.Join(dir, "host_key")
	for _, k := range []string{hostKey, s.Key} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, _ := os.ReadFile(s.Key + ".pub")
	authorized := filepath.Join(dir, "authorized_keys")
	os.WriteFile(authorized, pub, 0o600)
	hostPub, _ := os.ReadFile(hostKey + ".pub")
	s.HostKey = strings.TrimSpace(string(hostPub))
	s.Port = testtool.FreePort(t)
	os.WriteFile(s.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", s.Port, s.HostKey)), 0o600)
	config := filepath.Join(dir, "sshd_config")
	os.WriteFile(config, []byte(strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"Port " + strconv.Itoa(s.Port),
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + authorized,
		"PidFile none",
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"LogLevel ERROR",
		"",
	}, "\n")), 0o600)
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // privilege separation; the service would make it
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", config)
	var log strings.Builder
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port)); err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("sshd did not listen: %s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Options are ssh -o settings that reach this server and nothing else of
// the test user's (no ~/.ssh/config, agent or system known_hosts).
func (s *Server) Options() []string {
	return []string{"IdentityFile=" + s.Key, "IdentitiesOnly=yes", "UserKnownHostsFile=" + s.KnownHosts,
		"GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes", "IdentityAgent=none"}
}

// URL is an ssh:// source URL for a path on the server.
func (s *Server) URL(path string) string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.User, s.Port, path)
}
