package gpg

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"pgrescue/internal/testtool"
)

// Test keys are made by the real gpg binaries, once per test run, in short
// temporary homes (gpg-agent's socket path must stay under ~100 bytes).

const testPassphrase = "tango-7 quartz lantern"

// testKey is one secret key as gpg exported it.
type testKey struct {
	name       string
	tool       string // the gpg binary that made it
	home       string
	uid        string // the e-mail address, usable as a gpg key selector
	fpr        string
	passphrase string // empty: unprotected
	armored    []byte
	binary     []byte
}

func (k *testKey) load(t testing.TB) *Keys {
	t.Helper()
	keys, err := LoadKeys(bytes.NewReader(k.armored), k.name+".asc")
	if err != nil {
		t.Fatalf("loading %s: %v", k.name, err)
	}
	if k.passphrase != "" {
		keys.SetPassphrase(func(KeyInfo) ([]byte, error) { return []byte(k.passphrase), nil })
	}
	return keys
}

type gpgEnv struct {
	once    sync.Once
	tool    string
	home    string
	keys    map[string]*testKey
	failure string
}

var (
	gpg2 = &gpgEnv{tool: "gpg"}
	gpg1 = &gpgEnv{tool: "gpg1"}
)

func requireTool(t testing.TB, tool string) string {
	t.Helper()
	return testtool.Need(t, tool)
}

// shortHome makes a GnuPG home under /tmp and stops its agent afterwards.
func shortHome(cleanup func(func())) (string, error) {
	home, err := os.MkdirTemp("", "g")
	if err != nil {
		return "", err
	}
	cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	return home, os.Chmod(home, 0o700)
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

// runGPG runs a gpg binary in home with --batch and returns its stdout.
func runGPG(tool, home string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(tool, append([]string{"--homedir", home, "--batch", "--no-tty"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func mustGPG(t testing.TB, tool, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := runGPG(tool, home, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// env returns the keys of one gpg binary, generating them on first use.
func (e *gpgEnv) env(t testing.TB) *gpgEnv {
	t.Helper()
	requireTool(t, e.tool)
	if e.tool == "gpg" {
		requireTool(t, "gpgconf")
	}
	e.once.Do(func() {
		if err := e.setup(); err != nil {
			e.failure = err.Error()
		}
	})
	if e.failure != "" {
		t.Fatalf("making %s test keys: %s", e.tool, e.failure)
	}
	return e
}

func (e *gpgEnv) key(t testing.TB, name string) *testKey {
	t.Helper()
	k, ok := e.env(t).keys[name]
	if !ok {
		t.Fatalf("no test key %q", name)
	}
	return k
}

func (e *gpgEnv) setup() error {
	home, err := shortHome(atExit)
	if err != nil {
		return err
	}
	e.home = home
	e.keys = make(map[string]*testKey)
	var specs []keySpec
	if e.tool == "gpg" {
		specs = []keySpec{
			{"rsa-protected", "rsa2048", "rsa2048", testPassphrase, nil},
			{"rsa-plain", "rsa2048", "rsa2048", "", nil},
			{"ed25519-protected", "ed25519", "cv25519", testPassphrase, nil},
			{"ed25519-plain", "ed25519", "cv25519", "", nil},
		}
	} else {
		specs = []keySpec{
			{"gpg1-rsa-protected", "RSA", "RSA", testPassphrase, nil},
			{"gpg1-rsa-plain", "RSA", "RSA", "", nil},
			// Older gpg 1.4 releases protected secret keys with CAST5.
			{"gpg1-rsa-cast5-protected", "RSA", "RSA", testPassphrase, []string{"--s2k-cipher-algo", "CAST5", "--s2k-digest-algo", "SHA1"}},
		}
	}
	for _, spec := range specs {
		k, err := e.generate(spec)
		if err != nil {
			return err
		}
		e.keys[spec.name] = k
	}
	return nil
}

type keySpec struct {
	name, primary, subkey, passphrase string
	genOptions                        []string
}

func (e *gpgEnv) generate(spec keySpec) (*testKey, error) {
	k := &testKey{name: spec.name, tool: e.tool, home: e.home, uid: spec.name + "@pgrescue.test", passphrase: spec.passphrase}
	var err error
	if e.tool == "gpg" {
		err = generateGPG2(k, spec)
	} else {
		err = generateGPG1(k, spec)
	}
	if err != nil {
		return nil, err
	}
	if k.fpr, err = fingerprint(e.tool, e.home, k.uid); err != nil {
		return nil, err
	}
	if k.armored, err = exportSecret(k, "--armor"); err != nil {
		return nil, err
	}
	k.binary, err = exportSecret(k)
	return k, err
}

func generateGPG2(k *testKey, spec keySpec) error {
	unlock := []string{"--pinentry-mode", "loopback", "--passphrase", spec.passphrase}
	uid := fmt.Sprintf("Test %s <%s>", spec.name, k.uid)
	if _, err := runGPG("gpg", k.home, nil, append(unlock, "--quick-gen-key", uid, spec.primary, "sign", "never")...); err != nil {
		return err
	}
	fpr, err := fingerprint("gpg", k.home, k.uid)
	if err != nil {
		return err
	}
	_, err = runGPG("gpg", k.home, nil, append(unlock, "--quick-add-key", fpr, spec.subkey, "encr", "never")...)
	return err
}

// generateGPG1 uses a parameter file, as gpg 1.4 has no --quick-gen-key.
// Without a Passphrase line gpg 1.4 leaves the key unprotected.
// --quick-random spares the wait on /dev/random; these keys protect nothing.
func generateGPG1(k *testKey, spec keySpec) error {
	params := fmt.Sprintf("Key-Type: %s\nKey-Length: 2048\nKey-Usage: sign\nSubkey-Type: %s\nSubkey-Length: 2048\n"+
		"Subkey-Usage: encrypt\nName-Real: Test %s\nName-Email: %s\nExpire-Date: 0\n", spec.primary, spec.subkey, spec.name, k.uid)
	if spec.passphrase != "" {
		params += "Passphrase: " + spec.passphrase + "\n"
	}
	params += "%commit\n"
	file := filepath.Join(k.home, spec.name+".params")
	if err := os.WriteFile(file, []byte(params), 0o600); err != nil {
		return err
	}
	_, err := runGPG("gpg1", k.home, nil, append(spec.genOptions, "--quick-random", "--gen-key", file)...)
	return err
}

func fingerprint(tool, home, uid string) (string, error) {
	out, err := runGPG(tool, home, nil, "--with-colons", "--fingerprint", "--list-keys", uid)
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if fields := strings.Split(line, ":"); fields[0] == "fpr" && len(fields) > 9 {
			return fields[9], nil
		}
	}
	return "", fmt.Errorf("no fingerprint for %s in:\n%s", uid, out)
}

func exportSecret(k *testKey, extra ...string) ([]byte, error) {
	args := append([]string{"--pinentry-mode", "loopback", "--passphrase", k.passphrase}, extra...)
	if k.tool == "gpg1" {
		args = extra // gpg 1.4 exports without unlocking
	}
	return runGPG(k.tool, k.home, nil, append(args, "--export-secret-keys", k.fpr)...)
}

// encrypt encrypts data exactly as WAL-E does: from a pipe, no compression.
func encrypt(t testing.TB, tool string, k *testKey, data []byte, extra ...string) []byte {
	t.Helper()
	trust := "--trust-model=always"
	if tool == "gpg1" {
		trust = "--always-trust"
	}
	home := k.home
	if tool != k.tool {
		home = publicKeyHome(t, tool, k)
	}
	args := append([]string{trust}, extra...)
	return mustGPG(t, tool, home, data, append(args, "-e", "-z", "0", "-r", k.fpr)...)
}

// publicKeyHome imports k's public key into the home of another gpg, so
// that gpg 1.4 can encrypt to a gpg 2 key and the other way round.
func publicKeyHome(t testing.TB, tool string, k *testKey) string {
	t.Helper()
	target := gpg1
	if tool == "gpg" {
		target = gpg2
	}
	target.env(t)
	public := mustGPG(t, k.tool, k.home, nil, "--armor", "--export", k.fpr)
	mustGPG(t, tool, target.home, public, "--import")
	return target.home
}

// randomish returns n reproducible bytes that lzop or gpg cannot shrink.
func randomish(n int, seed byte) []byte {
	data := make([]byte, n)
	x := uint32(seed) + 1
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	return data
}
