package keyring

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"pgrescue/gpg"
	"pgrescue/problem"
)

// passphraseFD is where gpg and gpg-connect-agent read a passphrase: a pipe
// pgrescue fills, so it never appears in argv, the environment or a file.
const passphraseFD = "/dev/fd/3"

// agentPasswd changes the protection of one secret part through gpg-agent,
// as `gpg --passwd` does, but answering the agent's inquiries itself: in
// loopback mode the agent asks PASSPHRASE (the current one, only when the
// part is protected) and NEW_PASSPHRASE (empty means no protection). One
// process per part, since the pipe holds the passphrase once.
//
// verifyOnly checks the current passphrase without changing anything.
func (k *Keyring) agentPasswd(ctx context.Context, grip string, secret []byte, inquiry string, verifyOnly bool) error {
	script := []string{
		"/definqfile " + inquiry + " " + passphraseFD,
		"/definq NEW_PASSPHRASE pgrescue_no_passphrase", // an unset variable: an empty answer
		"OPTION pinentry-mode=loopback",
	}
	if verifyOnly {
		script = append(script, "PASSWD --verify "+grip)
	} else {
		script = append(script, "PASSWD "+grip)
	}
	script = append(script, "/bye")
	out, err := k.run(ctx, tool{name: "gpg-connect-agent", stdin: []byte(strings.Join(script, "\n") + "\n"), fd3: secret})
	if err != nil {
		return err
	}
	return k.agentReply(out, grip)
}

// agentReply turns an "ERR" line of gpg-agent into a diagnosis.
func (k *Keyring) agentReply(out []byte, grip string) error {
	for line := range strings.SplitSeq(string(out), "\n") {
		if !strings.HasPrefix(line, "ERR ") {
			continue
		}
		if strings.Contains(line, "Bad passphrase") {
			return errWrongPassphrase(k.Path)
		}
		next := "run `gpgconf --kill gpg-agent` as the keyring's owner and try again; the keyring was left as it was"
		if cannotWrite(line) {
			next = "the key file cannot be written: make the GnuPG home writable (not a read-only mount, not immutable: " +
				"`lsattr` shows an i flag) for the keyring's owner, then try again; the keyring was left as it was"
		}
		e := problem.New(problem.LocalIO, filepath.Join(k.Path, privateKeysDir, grip+".key"),
			"gpg-agent refused to change the key's passphrase", next)
		e.Detail = "gpg-agent said: " + strings.TrimSpace(line)
		return e
	}
	return nil
}

// cannotWrite reports whether gpg-agent's error is about writing the key file.
func cannotWrite(agentError string) bool {
	for _, reason := range []string{"Operation not permitted", "Permission denied", "Read-only file system", "No space left"} {
		if strings.Contains(agentError, reason) {
			return true
		}
	}
	return false
}

// clearAgentCache makes gpg-agent forget passphrases it cached for these
// parts, so that a check that the key needs a passphrase is not fooled by
// the cache.
func (k *Keyring) clearAgentCache(ctx context.Context, parts []gpg.KeyPart) {
	args := []string{}
	for _, p := range parts {
		if p.Keygrip != "" {
			args = append(args, "CLEAR_PASSPHRASE --mode=normal "+p.Keygrip)
		}
	}
	k.run(ctx, tool{name: "gpg-connect-agent", args: append(args, "/bye")}) // best effort: a failure shows in the check
}

// gpgDecrypt decrypts an object with the home's gpg as WAL-E does (batch,
// no terminal). Without a passphrase gpg may not ask for one at all
// (--pinentry-mode error), so success proves the key needs none.
func (k *Keyring) gpgDecrypt(ctx context.Context, object, passphrase []byte) error {
	args := []string{"--batch", "--no-tty", "--quiet", "--pinentry-mode", "error", "--decrypt"}
	t := tool{name: "gpg", args: args, stdin: object}
	if passphrase != nil {
		t.args = []string{"--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--decrypt"}
		t.fd3 = passphrase
	}
	_, err := k.run(ctx, t)
	return err
}

func errWrongPassphrase(keyring string) *problem.Error {
	e := problem.New(problem.WrongPassphrase, keyring,
		"the passphrase given does not unlock the GPG secret key",
		"check the passphrase (the runbook keeps it with the secrets) and give it again; nothing was changed")
	return e
}

// keyFileName is the file gpg-agent keeps a secret part in.
func keyFileName(grip string) string {
	return filepath.Join(privateKeysDir, grip+".key")
}

func describeParts(parts []gpg.KeyPart) string {
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = fmt.Sprintf("%s %s", p.LongID(), p.Algorithm)
	}
	return strings.Join(names, ", ")
}
