package gpg

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"pgrescue/problem"
)

// PassphraseFunc supplies the passphrase of a protected key the first time it
// must be unlocked. It is called at most once per key (a primary key with its
// subkeys), also when the passphrase turns out to be wrong: there is no retry
// loop, so a non-interactive restore fails fast instead of hanging. Returning
// no bytes means no passphrase is available. The returned bytes are wiped
// after use.
type PassphraseFunc func(key KeyInfo) ([]byte, error)

// PassphraseFromFile reads the passphrase from a file, dropping one trailing
// "\n" or "\r\n" (as left by editors and `echo`) and nothing else, since
// spaces may belong to the passphrase.
func PassphraseFromFile(path string) PassphraseFunc {
	return func(KeyInfo) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read the GPG passphrase file",
				fmt.Sprintf("check the path given to %s and that this user may read it", passphraseFileFlag))
		}
		return trimOneNewline(data), nil
	}
}

func trimOneNewline(data []byte) []byte {
	if bytes.HasSuffix(data, []byte("\r\n")) {
		return data[:len(data)-2]
	}
	return bytes.TrimSuffix(data, []byte("\n"))
}

// PassphraseFromEnv takes the passphrase from an environment variable such as
// PassphraseEnv. An unset or empty variable means no passphrase. (The
// variable's own copy cannot be wiped; only the bytes handed out are.)
func PassphraseFromEnv(name string) PassphraseFunc {
	return func(KeyInfo) ([]byte, error) {
		return []byte(os.Getenv(name)), nil
	}
}

// PromptPassphrase asks on the terminal device tty ("" means /dev/tty),
// naming the key being unlocked, without echoing what is typed. It reads the
// terminal rather than stdin because stdin may carry data (wal-fetch runs
// under PostgreSQL's restore_command).
func PromptPassphrase(tty string) PassphraseFunc {
	if tty == "" {
		tty = "/dev/tty"
	}
	return func(key KeyInfo) ([]byte, error) {
		f, err := os.OpenFile(tty, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("there is no terminal to ask for the passphrase on (%w)", err)
		}
		defer f.Close()
		fd := int(f.Fd())
		if !term.IsTerminal(fd) {
			return nil, errors.New("there is no terminal to ask for the passphrase on: " + tty + " is not a terminal")
		}
		fmt.Fprintf(f, "pgrescue needs the passphrase of GPG key %s.\nPassphrase (not shown): ", key.describe())
		passphrase, err := term.ReadPassword(fd)
		fmt.Fprintln(f)
		if err != nil {
			return nil, fmt.Errorf("reading the passphrase from %s failed: %w", tty, err)
		}
		return passphrase, nil
	}
}
