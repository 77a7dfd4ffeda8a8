package gpg

import (
	"errors"
	"strings"
	"testing"

	"pgrescue/problem"
)

// Lazy keys are read only when an encrypted object needs them, once, and a
// failure to read them is the decryption's error.
func TestLazyKeys(t *testing.T) {
	loads := 0
	keys := LazyKeys(func() (*Keys, error) {
		loads++
		return fixtureKeys(t), nil
	})
	if _, err := keys.Decrypt(strings.NewReader("plain sentinel json"), "sentinel"); err != nil || loads != 0 {
		t.Fatalf("a plain object loaded the keys (%d loads, %v)", loads, err)
	}
	for i := 0; i < 2; i++ {
		got, err := decryptAll(keys, readFile(t, fixtureObject), fixtureObject)
		if err != nil || !hasLzopMagic(got) {
			t.Fatalf("decrypt %d: %v", i, err)
		}
	}
	if loads != 1 || len(keys.Describe()) != 1 {
		t.Errorf("%d loads, %d keys described", loads, len(keys.Describe()))
	}

	refused := problem.New(problem.PassphraseNeeded, "keyring", "reading the keyring needs the passphrase", "give it")
	failing := LazyKeys(func() (*Keys, error) { return nil, refused })
	_, err := failing.Decrypt(strings.NewReader(string(readFile(t, fixtureObject))), fixtureObject)
	if !errors.Is(err, refused) {
		t.Fatalf("err = %v, want the load's own error", err)
	}
}
