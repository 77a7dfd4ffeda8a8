package gpg

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// FIPS-197 appendix A: the last round key of a 128- and a 256-bit key.
func TestExpandAESKeyMatchesFIPS197(t *testing.T) {
	for _, c := range []struct{ key, lastRoundKey string }{
		{"2b7e151628aed2a6abf7158809cf4f3c", "d014f9a8c9ee2589e13f0cc8b6630ca6"},
		{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "fe4890d1e6188d0b046df344706c631e"},
	} {
		key, _ := hex.DecodeString(c.key)
		rounds, keys := expandAESKey(key)
		if got := hex.EncodeToString(keys[16*rounds:]); got != c.lastRoundKey {
			t.Errorf("key %s: last round key %s, FIPS-197 says %s", c.key, got, c.lastRoundKey)
		}
	}
}

func TestEncryptBlocks8MatchesCryptoAES(t *testing.T) {
	if !haveAESNI {
		t.Skip("no AES-NI: the eight-block path is not used on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{16, 24, 32} {
		for range 200 {
			key, src := randomBytes(rng, size), randomBytes(rng, 128)
			block, err := newAES(key)
			if err != nil {
				t.Fatal(err)
			}
			reference, _ := aes.NewCipher(key)
			want := make([]byte, 128)
			for i := 0; i < 128; i += 16 {
				reference.Encrypt(want[i:i+16], src[i:i+16])
			}
			got := make([]byte, 128)
			block.(*aesBlocks).encrypt8(got, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("AES-%d key %x: eight blocks encrypt to %x, crypto/aes gives %x", size*8, key, got, want)
			}
		}
	}
}

// TestCFBDecrypterMatchesTheStandardLibrary decrypts what crypto/cipher's
// CFB encrypter wrote (OpenPGP's integrity-protected data: an all-zero IV),
// fed in pieces of every size, with AES-NI's eight blocks at a time and
// without, CAST5's 8-byte blocks too, and long enough to be split among
// goroutines.
func TestCFBDecrypterMatchesTheStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lengths := []int{0, 1, 15, 16, 17, 127, 128, 129, 143, 144, 145, 1000, 4 << 10, minParallelSpan*2 + 77, 300 << 10}
	type variant struct {
		name  string
		block func(key []byte) cipher.Block
		key   int
	}
	variants := []variant{
		{"AES-128 one block at a time", func(k []byte) cipher.Block { b, _ := aes.NewCipher(k); return b }, 16},
		{"AES-192", func(k []byte) cipher.Block { b, _ := newAES(k); return b }, 24},
		{"AES-256", func(k []byte) cipher.Block { b, _ := newAES(k); return b }, 32},
		{"CAST5", func(k []byte) cipher.Block { b, _ := newBlockCipher(3, k); return b }, 16},
	}
	for _, v := range variants {
		for _, n := range lengths {
			key, plain := randomBytes(rng, v.key), randomBytes(rng, n)
			block := v.block(key)
			ciphertext := make([]byte, n)
			cipher.NewCFBEncrypter(block, make([]byte, block.BlockSize())).XORKeyStream(ciphertext, plain)
			got := bytes.Clone(ciphertext)
			d := newCFBDecrypter(block)
			for rest := got; len(rest) > 0; {
				piece := min(len(rest), 1+rng.IntN(3*minParallelSpan))
				if rng.IntN(4) == 0 {
					piece = min(len(rest), 1+rng.IntN(40))
				}
				d.decrypt(rest[:piece])
				rest = rest[piece:]
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("%s, %d bytes: decrypted text differs from the plaintext", v.name, n)
			}
		}
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
