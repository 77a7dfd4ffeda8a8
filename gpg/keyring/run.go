package keyring

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// tool is one run of a GnuPG binary against a home, as the home's owner.
type tool struct {
	name  string   // gpg, gpg-connect-agent, gpgconf
	args  []string // after --homedir HOME
	stdin []byte   // an archived object, or a script
	fd3   []byte   // a passphrase, read by the tool from /dev/fd/3: never in argv, env or a log
}

// run executes t against the keyring's home. When pgrescue runs as root on
// another user's home, gpg runs as that user: gpg refuses (or warns about)
// a home owned by someone else, and gpg-agent started by root would create
// files and sockets the owner could not use afterwards.
func (k *Keyring) run(ctx context.Context, t tool) (stdout []byte, err error) {
	cmd := exec.CommandContext(ctx, t.name, append([]string{"--homedir", k.Path}, t.args...)...)
	cmd.Env = k.toolEnv()
	if k.needsOwnerCredential() {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: k.Owner.UID, Gid: k.Owner.GID}}
	}
	if t.stdin != nil {
		cmd.Stdin = bytes.NewReader(t.stdin)
	}
	if t.fd3 != nil {
		pipe, err := secretPipe(t.fd3)
		if err != nil {
			return nil, problem.Wrap(err, problem.LocalIO, t.name, "cannot make a pipe to pass the passphrase", "check the process limits")
		}
		defer pipe.Close()
		if k.needsOwnerCredential() {
			// The tool opens /dev/fd/3 again by path, which checks the pipe's owner.
			pipe.Chown(int(k.Owner.UID), int(k.Owner.GID))
		}
		cmd.ExtraFiles = []*os.File{pipe}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.Bytes(), k.toolFailure(t, err, errOut.String())
	}
	return out.Bytes(), nil
}

func (k *Keyring) needsOwnerCredential() bool {
	return os.Geteuid() == 0 && k.Owner.UID != 0
}

// toolEnv keeps PATH and the locale out of the way (gpg's messages are
// parsed in English), and sets HOME to the owner's, as `sudo -iu` would.
func (k *Keyring) toolEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "GNUPGHOME=" + k.Path}
	home := os.Getenv("HOME")
	if k.needsOwnerCredential() && k.Owner.Home != "" {
		home = k.Owner.Home
	}
	return append(env, "HOME="+home)
}

func (k *Keyring) toolFailure(t tool, err error, stderr string) *problem.Error {
	if _, missing := err.(*exec.Error); missing {
		e := problem.Wrap(err, problem.LocalIO, t.name, "the GnuPG program "+t.name+" is not installed",
			"install GnuPG 2 (sudo apt-get install gnupg), which a GnuPG 2.1+ home needs to be read or changed")
		e.Detail = k.Path + " is a GnuPG 2.1+ home, whose secret keys only gpg-agent can read"
		return e
	}
	e := problem.Wrap(err, problem.LocalIO, k.Path, fmt.Sprintf("%s failed on the GnuPG home", t.name),
		"check that the home belongs to "+k.Owner.String()+" and that its gpg-agent can start; gpg said what is shown above")
	e.Detail = strings.TrimSpace(stderr)
	return e
}

// commandLine is what an engineer would type for t, as the home's owner.
func (k *Keyring) commandLine(t tool) string {
	line := t.name + " --homedir " + shellcmd.Quote(k.Path) + " " + strings.Join(quoteAll(t.args), " ")
	if k.Owner.Name != "" && k.Owner.UID != uint32(os.Geteuid()) {
		line = "sudo -iu " + k.Owner.Name + " " + line
	}
	return line
}

func quoteAll(words []string) []string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellcmd.Quote(w)
	}
	return quoted
}

// secretPipe returns the read end of a pipe that holds secret and is then
// closed, so the tool reads exactly the secret and an end of file. A
// passphrase fits in the pipe's buffer, so writing before the tool starts
// cannot block.
func secretPipe(secret []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = w.Write(secret)
	if closeErr := w.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}
