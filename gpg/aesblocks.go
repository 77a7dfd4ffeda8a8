package gpg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"sync"
)

// aesBlocks is AES that can also encrypt eight independent blocks at once.
//
// CFB decryption encrypts the ciphertext blocks, which are all known in
// advance; crypto/aes only encrypts one block per call, and one AES-NI
// block waits on its own rounds one after the other, so a restore spent a
// tenth of its CPU there. Eight blocks interleaved keep the AES unit busy:
// about four times the throughput. Everything else (the single blocks at
// the edges, the key check) goes through crypto/aes, which it embeds.
type aesBlocks struct {
	cipher.Block
	rounds int
	keys   []byte // the expanded key, FIPS-197 byte order
}

// newAES returns crypto/aes's cipher, with the eight-block path when the
// CPU has AES-NI.
func newAES(key []byte) (cipher.Block, error) {
	block, err := aes.NewCipher(key)
	if err != nil || !haveAESNI {
		return block, err
	}
	rounds, keys := expandAESKey(key)
	return &aesBlocks{Block: block, rounds: rounds, keys: keys}, nil
}

// encrypt8 encrypts the eight blocks of src (128 bytes) into dst.
func (a *aesBlocks) encrypt8(dst, src []byte) {
	_, _ = dst[127], src[127]
	encryptBlocks8(a.rounds, &a.keys[0], &dst[0], &src[0])
}

// decryptCFBGroups decrypts whole blocks p in place from the end, eight at
// a time, as long as the eight blocks before each group are in p (so are
// still ciphertext), and returns how many bytes at the start are left for
// the block-by-block path: at most eight blocks.
func (a *aesBlocks) decryptCFBGroups(p []byte) int {
	var keystream [8 * aes.BlockSize]byte
	k := len(p)/aes.BlockSize - 8 // first block of the group
	for ; k >= 1; k -= 8 {
		group := p[k*aes.BlockSize : (k+8)*aes.BlockSize]
		// The keystream of blocks k..k+7 is the encryption of blocks
		// k-1..k+6, read before any of them is overwritten.
		a.encrypt8(keystream[:], p[(k-1)*aes.BlockSize:(k+7)*aes.BlockSize])
		subtle.XORBytes(group, group, keystream[:])
	}
	return (k + 8) * aes.BlockSize
}

// expandAESKey is FIPS-197's key expansion (section 5.2): the round count
// and the rounds+1 round keys, as AES-NI takes them.
func expandAESKey(key []byte) (int, []byte) {
	sbox := aesSBox()
	nk := len(key) / 4
	rounds := nk + 6
	w := make([]byte, 16*(rounds+1))
	copy(w, key)
	rcon := byte(1)
	for i := nk; i < 4*(rounds+1); i++ {
		t := [4]byte(w[4*(i-1) : 4*i])
		switch {
		case i%nk == 0:
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = gfDouble(rcon)
		case nk > 6 && i%nk == 4:
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for j := range 4 {
			w[4*i+j] = w[4*(i-nk)+j] ^ t[j]
		}
	}
	return rounds, w
}

// gfDouble multiplies by x in AES's field GF(2^8).
func gfDouble(b byte) byte {
	if b&0x80 != 0 {
		return b<<1 ^ 0x1b
	}
	return b << 1
}

// aesSBox is AES's S-box, computed (FIPS-197 section 5.1.1): the
// multiplicative inverse in GF(2^8), then the affine transformation.
var aesSBox = sync.OnceValue(func() [256]byte {
	// Powers of the generator 3 give every non-zero element and its
	// inverse: the inverse of 3^i is 3^(255-i).
	var exp [255]byte
	x := byte(1)
	for i := range exp {
		exp[i] = x
		x ^= gfDouble(x) // x * 3
	}
	var inverse [256]byte
	for i, e := range exp {
		inverse[e] = exp[(255-i)%255]
	}
	var sbox [256]byte
	for i, b := range inverse {
		s := b
		for shift := 1; shift <= 4; shift++ {
			s ^= b<<shift | b>>(8-shift)
		}
		sbox[i] = s ^ 0x63
	}
	return sbox
})
