package keyring

import (
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pgrescue/gpg"
	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// decryptsWithoutPassphrase runs the real gpg as WAL-E does: batch, no tty,
// no way to ask for a passphrase.
func decryptsWithoutPassphrase(t *testing.T, tool, home string) bool {
	t.Helper()
	args := []string{"--decrypt", fixtureObject}
	if tool == "gpg" {
		// Forget passphrases the agent cached, so this tests what is on disk.
		if out, err := exec.Command("gpgconf", "--homedir", home, "--reload", "gpg-agent").CombinedOutput(); err != nil {
			t.Fatalf("gpgconf: %v %s", err, out)
		}
		args = append([]string{"--pinentry-mode", "error"}, args...)
	}
	_, err := gpgIn(t, tool, home, nil, args...)
	return err == nil
}

// fingerprintFiles hashes every file of a home except gpg-agent's sockets
// pgrescue's backups and gpg's random_seed, to prove a keyring was left byte-identical.
func fingerprintFiles(t *testing.T, home string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	filepath.Walk(home, func(path string, st os.FileInfo, err error) error {
		if err != nil || !st.Mode().IsRegular() || strings.Contains(path, BackupDirName) || filepath.Base(path) == "random_seed" {
			return nil
		}
		sums[path] = sha256.Sum256(read(t, path))
		return nil
	})
	return sums
}

func sameFiles(t *testing.T, before, after map[string][32]byte) {
	t.Helper()
	for path, sum := range before {
		if after[path] != sum {
			t.Errorf("%s changed", path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s is new", path)
		}
	}
}

func fixtureChange(k *Keyring, passphrase gpg.PassphraseFunc) *Change {
	object, _ := os.ReadFile(fixtureObject)
	return &Change{Keyring: k, Object: object, ObjectName: fixtureObject, Passphrase: passphrase,
		Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }}
}

// TestRemoveThenRestorePassphrase: the runbook's step and its undoing, on a
// GnuPG 2 home and a GnuPG 1 home, checked with the real gpg.
func TestRemoveThenRestorePassphrase(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := fixtureHome(t, tool)
			k := open(t, home)
			if decryptsWithoutPassphrase(t, tool, home) {
				t.Fatal("the protected fixture key decrypts without a passphrase")
			}
			original := fingerprintFiles(t, home) // after gpg made its random_seed
			res, err := fixtureChange(k, fixturePassphraseFunc).RemovePassphrase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checkBackup(t, res.Backup, k)
			if res.Verified == "" || len(res.Changed) != 2 {
				t.Errorf("result %+v", res)
			}
			if !decryptsWithoutPassphrase(t, tool, home) {
				t.Fatal("after remove-passphrase, gpg --batch -d still fails")
			}
			res, err = fixtureChange(k, fixturePassphraseFunc).RestoreBackup(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Verified, "no longer decrypts without a passphrase") {
				t.Errorf("restore verified: %s", res.Verified)
			}
			if decryptsWithoutPassphrase(t, tool, home) {
				t.Fatal("after restore-passphrase, gpg --batch -d decrypts without a passphrase")
			}
			sameFiles(t, original, fingerprintFiles(t, home))
			if t.Failed() {
				exec.Command("cp", "-a", home, "/tmp/dbg-"+tool).Run()
			}
		})
	}
}

func checkBackup(t *testing.T, dir string, k *Keyring) {
	t.Helper()
	if !strings.HasPrefix(dir, filepath.Join(k.Path, BackupDirName)) {
		t.Fatalf("backup at %s", dir)
	}
	filepath.Walk(dir, func(path string, st os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o600); st.IsDir() {
			want = 0o700
			if st.Mode().Perm() != want {
				t.Errorf("%s has mode %v", path, st.Mode().Perm())
			}
		} else if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v", path, st.Mode().Perm())
		}
		return nil
	})
}

// TestSetPassphraseAgain: without a backup, a new passphrase protects the
// key again; gpg then needs it.
func TestSetPassphraseAgain(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := fixtureHome(t, tool)
			k := open(t, home)
			if _, err := fixtureChange(k, fixturePassphraseFunc).RemovePassphrase(context.Background()); err != nil {
				t.Fatal(err)
			}
			newPassphrase := func(gpg.KeyInfo) ([]byte, error) { return []byte(testPassphrase), nil }
			res, err := fixtureChange(k, newPassphrase).SetPassphrase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Verified, "decrypts with it") {
				t.Errorf("verified: %s", res.Verified)
			}
			if decryptsWithoutPassphrase(t, tool, home) {
				t.Fatal("decrypts without a passphrase after it was set")
			}
			keys, _ := k.SecretKeys(context.Background())
			if !keys[0].Protected {
				t.Errorf("status says unprotected: %+v", keys[0])
			}
		})
	}
}

// TestFailuresLeaveKeyringIdentical: a wrong passphrase, and a change that
// fails its verification after writing, leave every byte as it was.
func TestFailuresLeaveKeyringIdentical(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := fixtureHome(t, tool)
			k := open(t, home)
			before := fingerprintFiles(t, home)
			wrong := func(gpg.KeyInfo) ([]byte, error) { return []byte("not the passphrase"), nil }
			_, err := fixtureChange(k, wrong).RemovePassphrase(context.Background())
			if !problem.Is(err, problem.WrongPassphrase) {
				t.Fatalf("wrong passphrase: %v", err)
			}
			if _, statErr := os.Stat(filepath.Join(home, BackupDirName)); statErr == nil {
				t.Error("a wrong passphrase left a backup behind")
			}
			if strings.Contains(err.Error(), "not the passphrase") {
				t.Error("the error shows the passphrase")
			}
			sameFiles(t, before, fingerprintFiles(t, home))

			// Another protected key: removing its passphrase works on disk,
			// but the archived object (encrypted to the fixture key) still
			// needs one, so the verification fails and the change is undone.
			if tool == "gpg" {
				generate2(t, home, "rsa2048", "rsa2048", testPassphrase)
			} else {
				generate1(t, home, testPassphrase)
			}
			before = fingerprintFiles(t, home)
			c := fixtureChange(k, func(gpg.KeyInfo) ([]byte, error) { return []byte(testPassphrase), nil })
			c.Key = "rsa2048-protected@pgrescue.test"
			_, err = c.RemovePassphrase(context.Background())
			if err == nil || !strings.Contains(err.Error(), "undone") {
				t.Fatalf("verification failure: %v", err)
			}
			sameFiles(t, before, fingerprintFiles(t, home))
		})
	}
}

func TestDryRunCommands(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		home := fixtureHome(t, tool)
		c := fixtureChange(open(t, home), nil)
		cmds, err := c.RemoveCommands(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var script strings.Builder
		for _, cmd := range cmds {
			script.WriteString(cmd.Why + "\n" + cmd.Line + "\n")
		}
		for _, want := range []string{"cp -p", "--edit-key " + fixtureFpr + " passwd save", "*bad* idea", "--batch", fixtureObject} {
			if !strings.Contains(script.String(), want) {
				t.Errorf("%s: dry run lacks %q:\n%s", tool, want, script.String())
			}
		}
		if _, err := os.Stat(filepath.Join(home, BackupDirName)); err == nil {
			t.Error("a dry run wrote a backup")
		}
	}
}

// TestReadOnlyKeyringLeavesItIdentical: when the key files cannot be
// replaced (an immutable file, as a read-only mount would make them), the
// change fails naming the file, nothing is left half-written, and no
// misleading "putting back also failed" follows.
func TestReadOnlyKeyringLeavesItIdentical(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := fixtureHome(t, tool)
			k := open(t, home)
			keyFiles := []string{filepath.Join(home, secringName)}
			if tool == "gpg" {
				keyFiles, _ = filepath.Glob(filepath.Join(home, privateKeysDir, "*.key"))
			}
			makeReadOnly(t, keyFiles)
			before := fingerprintFiles(t, home)
			_, err := fixtureChange(k, fixturePassphraseFunc).RemovePassphrase(context.Background())
			if err == nil {
				t.Fatal("remove-passphrase succeeded on a read-only keyring")
			}
			t.Logf("%v", err)
			if !problem.Is(err, problem.LocalIO) || strings.Contains(err.Error(), "also failed") {
				t.Errorf("error: %v", err)
			}
			if !strings.Contains(err.Error(), "writable") {
				t.Errorf("the error does not say the keyring must be writable: %v", err)
			}
			if !strings.Contains(err.Error(), home) {
				t.Errorf("the error does not name the keyring: %v", err)
			}
			if strings.Contains(err.Error(), string(read(t, fixturePassphrase))) {
				t.Error("the error shows the passphrase")
			}
			sameFiles(t, before, fingerprintFiles(t, home))
			if decryptsWithoutPassphrase(t, tool, home) {
				t.Error("the key lost its passphrase although the change failed")
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(keyFiles[0]), ".*.pgrescue-*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// makeReadOnly makes files impossible to replace: immutable for root (whom
// permissions do not stop), a read-only directory for anyone else.
func makeReadOnly(t *testing.T, files []string) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("no key files to protect")
	}
	if os.Geteuid() != 0 {
		dir := filepath.Dir(files[0])
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	chattr := testtool.Need(t, "chattr")
	for _, f := range files {
		if out, err := exec.Command(chattr, "+i", f).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i %s: %v %s (the test needs CAP_LINUX_IMMUTABLE)", f, err, out)
		}
		t.Cleanup(func() { exec.Command(chattr, "-i", f).Run() })
	}
}

// TestChangeAsRootOnPostgresHome: run as root on the postgres user's home,
// as on a database machine, gpg runs as postgres and every file pgrescue
// writes (key files, backups) belongs to postgres, so that WAL-E, running
// as postgres, can still use the keyring afterwards.
func TestChangeAsRootOnPostgresHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it runs gpg as the postgres user")
	}
	owner, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("the postgres user is needed (sudo apt-get install postgresql-common): %v", err)
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(owner.Gid)
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := newHome(t, tool)
			if err := os.Chown(home, uid, gid); err != nil {
				t.Fatal(err)
			}
			asPostgres := func(args ...string) *exec.Cmd {
				cmd := exec.Command(tool, append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
				return cmd
			}
			t.Cleanup(func() {
				kill := exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent")
				kill.SysProcAttr = asPostgres().SysProcAttr
				kill.Run()
			})
			importArgs := []string{"--import", fixtureKey}
			if tool == "gpg" {
				importArgs = append([]string{"--pinentry-mode", "loopback", "--passphrase", string(read(t, fixturePassphrase))}, importArgs...)
			}
			key, _ := filepath.Abs(fixtureKey)
			importArgs[len(importArgs)-1] = key
			if out, err := asPostgres(importArgs...).CombinedOutput(); err != nil {
				t.Fatalf("import as postgres: %v %s", err, out)
			}
			object, _ := filepath.Abs(fixtureObject)
			decrypts := func() bool {
				args := []string{"--decrypt", object}
				if tool == "gpg" {
					reload := exec.Command("gpgconf", "--homedir", home, "--reload", "gpg-agent")
					reload.SysProcAttr = asPostgres().SysProcAttr
					reload.Run()
					args = append([]string{"--pinentry-mode", "error"}, args...)
				}
				return asPostgres(args...).Run() == nil
			}

			k := open(t, home)
			if k.Owner.UID != uint32(uid) {
				t.Fatalf("owner %+v", k.Owner)
			}
			res, err := fixtureChange(k, fixturePassphraseFunc).RemovePassphrase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !decrypts() {
				t.Fatal("after remove-passphrase, gpg as postgres still needs a passphrase")
			}
			allOwnedBy(t, home, uid, gid)
			if _, err := fixtureChange(k, fixturePassphraseFunc).RestoreBackup(context.Background(), res.Backup); err != nil {
				t.Fatal(err)
			}
			if decrypts() {
				t.Fatal("after restore-passphrase, gpg as postgres decrypts without a passphrase")
			}
			allOwnedBy(t, home, uid, gid)
		})
	}
}

// allOwnedBy checks that every file and directory under home belongs to uid/gid.
func allOwnedBy(t *testing.T, home string, uid, gid int) {
	t.Helper()
	filepath.Walk(home, func(path string, st os.FileInfo, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if fileUID, fileGID := fileOwner(st); int(fileUID) != uid || int(fileGID) != gid {
			t.Errorf("%s belongs to %d:%d, not to postgres", path, fileUID, fileGID)
		}
		return nil
	})
}

// TestChangesWithoutAnArchiveVerifyWithATestMessage: the runbook's step
// needs no S3. With no archived object at hand (they used to be refused),
// removing and restoring the passphrase are verified on a message encrypted
// to the key itself, and the result says so.
func TestChangesWithoutAnArchiveVerifyWithATestMessage(t *testing.T) {
	for _, tool := range []string{"gpg", "gpg1"} {
		t.Run(tool, func(t *testing.T) {
			home := fixtureHome(t, tool)
			k := open(t, home)
			change := func() *Change {
				c := fixtureChange(k, fixturePassphraseFunc)
				c.Object, c.ObjectName = nil, ""
				return c
			}
			res, err := change().RemovePassphrase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Verified, "decrypted a test message encrypted to key") || !strings.Contains(res.Verified, "no passphrase") {
				t.Errorf("remove verified: %s", res.Verified)
			}
			if !decryptsWithoutPassphrase(t, tool, home) {
				t.Fatal("after remove-passphrase, gpg --batch -d still fails")
			}
			res, err = change().SetPassphrase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Verified, "test message encrypted to key") || !strings.Contains(res.Verified, "no longer decrypts without a passphrase") ||
				!strings.Contains(res.Verified, "and decrypts with it") {
				t.Errorf("set verified: %s", res.Verified)
			}
		})
	}
}
