package gpg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/cast5"
)

// minParallelSpan is the least ciphertext worth handing to another
// goroutine: about 100 µs of AES work, far above the cost of starting one.
const minParallelSpan = 64 << 10

// newBlockCipher maps an OpenPGP cipher to its block cipher: AES for gpg 2.x
// and most gpg 1.4 keys, CAST5 and 3DES for keys made by older gpg.
func newBlockCipher(c packet.CipherFunction, key []byte) (cipher.Block, error) {
	if !c.IsSupported() || len(key) != c.KeySize() {
		return nil, fmt.Errorf("cipher algorithm %d with a %d-byte key", c, len(key))
	}
	switch c {
	case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
		return newAES(key)
	case packet.CipherCAST5:
		return cast5.NewCipher(key)
	case packet.Cipher3DES:
		return des.NewTripleDESCipher(key)
	}
	return nil, fmt.Errorf("cipher algorithm %d", c)
}

// cfbDecrypter decrypts OpenPGP's integrity-protected data, which is plain
// CFB mode with an all-zero IV (RFC 4880 section 5.13: no resynchronisation).
//
// It exists for speed. CFB decryption of a block needs only the previous
// ciphertext block, so unlike encryption it can run on many blocks at once;
// go-crypto (and crypto/cipher) decrypt byte by byte or block by block in one
// goroutine, which is half as fast as `gpg -d`. Here long runs of whole blocks
// are split across goroutines, each running from its end to its start so
// that every block's predecessor is still ciphertext when it is needed.
type cfbDecrypter struct {
	block     cipher.Block
	register  []byte // ciphertext of the current block; complete when used == len(register)
	keystream []byte // the block cipher applied to the previous ciphertext block
	used      int    // bytes of the current block already decrypted
}

func newCFBDecrypter(block cipher.Block) *cfbDecrypter {
	size := block.BlockSize()
	return &cfbDecrypter{
		block:     block,
		register:  make([]byte, size), // the all-zero IV, a complete "previous block"
		keystream: make([]byte, size),
		used:      size,
	}
}

// decrypt decrypts p in place; successive calls continue the stream.
func (d *cfbDecrypter) decrypt(p []byte) {
	size := len(d.register)
	p = d.continueBlock(p)
	if whole := len(p) - len(p)%size; whole > 0 {
		var last [aes.BlockSize]byte
		copy(last[:size], p[whole-size:whole])
		decryptBlocks(d.block, d.register, p[:whole])
		copy(d.register, last[:size])
		p = p[whole:]
	}
	if len(p) > 0 {
		d.block.Encrypt(d.keystream, d.register)
		d.used = 0
		d.continueBlock(p)
	}
}

// continueBlock decrypts the bytes that complete the current block.
func (d *cfbDecrypter) continueBlock(p []byte) []byte {
	for len(p) > 0 && d.used < len(d.register) {
		c := p[0]
		p[0] = c ^ d.keystream[d.used]
		d.register[d.used] = c
		d.used++
		p = p[1:]
	}
	return p
}

// decryptBlocks decrypts whole blocks p in place, iv being the ciphertext
// block before them, on as many goroutines as the length makes worthwhile.
func decryptBlocks(block cipher.Block, iv, p []byte) {
	size := len(iv)
	workers := min(runtime.GOMAXPROCS(0), len(p)/minParallelSpan)
	if workers <= 1 {
		decryptSpan(block, iv, p)
		return
	}
	span := len(p) / workers / size * size
	// Every span's IV is the last block of the span before it, which that
	// span's worker overwrites: take copies before any worker starts.
	ivs := make([]byte, workers*size)
	copy(ivs, iv)
	for w := 1; w < workers; w++ {
		copy(ivs[w*size:], p[w*span-size:w*span])
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		end := (w + 1) * span
		if w == workers-1 {
			end = len(p)
		}
		wg.Go(func() { decryptSpan(block, ivs[w*size:(w+1)*size], p[w*span:end]) })
	}
	decryptSpan(block, ivs[:size], p[:span])
	wg.Wait()
}

// decryptSpan decrypts whole blocks from the last to the first, so the
// ciphertext feeding each block is read before it is overwritten: eight at
// a time where the cipher can, then one by one.
func decryptSpan(block cipher.Block, iv, p []byte) {
	size := len(iv)
	left := len(p)
	if groups, ok := block.(*aesBlocks); ok {
		left = groups.decryptCFBGroups(p)
	}
	keystream := make([]byte, size)
	for off := left - size; off > 0; off -= size {
		block.Encrypt(keystream, p[off-size:off])
		xorBlock(p[off:off+size], keystream)
	}
	block.Encrypt(keystream, iv)
	xorBlock(p[:size], keystream)
}

// xorBlock XORs one 8- or 16-byte block with word operations.
func xorBlock(dst, keystream []byte) {
	switch len(dst) {
	case 16:
		binary.NativeEndian.PutUint64(dst[8:], binary.NativeEndian.Uint64(dst[8:])^binary.NativeEndian.Uint64(keystream[8:]))
		fallthrough
	case 8:
		binary.NativeEndian.PutUint64(dst, binary.NativeEndian.Uint64(dst)^binary.NativeEndian.Uint64(keystream))
	default:
		for i := range dst {
			dst[i] ^= keystream[i]
		}
	}
}
