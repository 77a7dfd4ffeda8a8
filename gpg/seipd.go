package gpg

import (
	"crypto/sha1"
	"crypto/subtle"
	"hash"
	"io"
	"sync"

	"pgrescue/internal/bufpool"

	openpgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// batchSize is how much ciphertext is decrypted at a time: big enough to
// split across cores, small enough to stay in cache. 512 KiB decrypts as
// fast as 1 MiB did (BenchmarkDecrypt, alternating runs, within the noise)
// and holds 1 MiB less per stream.
const batchSize = 512 << 10

// mdcReader decrypts the contents of an integrity-protected data packet
// (SEIPD version 1, what gpg 1.4 and 2.x write) and checks its modification
// detection code: a SHA-1 of everything decrypted, stored in a last 22-byte
// packet. The last 22 bytes read so far are always held back, as they may be
// that packet; io.EOF is returned only after the hash matched.
//
// SHA-1 costs as much as the decryption and cannot be split, so a batch is
// hashed while the next one is being decrypted, in two alternating buffers.
type mdcReader struct {
	contents io.Reader // the packet body, after the version byte
	src      *sourceReader
	object   string
	cfb      *cfbDecrypter
	hash     hash.Hash

	bufs     [2][]byte // batches: held-back bytes, then newly decrypted ones
	next     int       // the buffer the next batch goes to
	out      []byte    // decrypted bytes not read yet
	unhashed []byte    // bytes handed out but not hashed yet
	held     []byte    // the last bytes decrypted, neither hashed nor handed out
	end      bool      // the contents ended and the MDC matched: EOF once out is read
	err      error     // sticky failure
}

func newMDCReader(contents io.Reader, cipherFunc packet.CipherFunction, key []byte, src *sourceReader, object string) (*mdcReader, error) {
	block, err := newBlockCipher(cipherFunc, key)
	if err != nil {
		return nil, errUnsupported(object, err.Error())
	}
	r := &mdcReader{
		contents: contents,
		src:      src,
		object:   object,
		cfb:      newCFBDecrypter(block),
		hash:     sha1.New(),
	}
	if err := r.checkPrefix(block.BlockSize()); err != nil {
		return nil, err
	}
	return r, nil
}

// checkPrefix decrypts the random block that starts the data. Its last two
// bytes are repeated; with a session key that passed its own checksum, a
// mismatch means the ciphertext itself is damaged.
func (r *mdcReader) checkPrefix(blockSize int) error {
	prefix := make([]byte, blockSize+2)
	if _, err := io.ReadFull(r.contents, prefix); err != nil {
		return streamFailure(err, r.src, r.object, "its encrypted data is malformed")
	}
	r.cfb.decrypt(prefix)
	if prefix[blockSize-2] != prefix[blockSize] || prefix[blockSize-1] != prefix[blockSize+1] {
		return errCorrupt(r.object, "its first encrypted block does not decrypt to the expected check bytes", nil)
	}
	r.hash.Write(prefix)
	return nil
}

func (r *mdcReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.end:
			r.release()
			return 0, io.EOF
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// release gives the batches back for the next object once everything was
// read: a restore of many partitions then decrypts them all in the same
// memory.
func (r *mdcReader) release() {
	for i, buf := range r.bufs {
		if buf != nil {
			bufpool.Put(buf)
			r.bufs[i] = nil
		}
	}
	r.out, r.held, r.unhashed = nil, nil, nil
}

// Close reports whether the integrity check passed; it is only meaningful
// after Read returned io.EOF.
func (r *mdcReader) Close() error {
	if r.err != nil {
		return r.err
	}
	if !r.end {
		return errCorrupt(r.object, "its integrity check was not reached", nil)
	}
	return nil
}

func (r *mdcReader) verified() bool { return r.end && r.err == nil }

// fill decrypts the next batch and releases all of it but the last 22 bytes,
// or, at the end of the contents, checks the MDC and releases the rest.
func (r *mdcReader) fill() {
	if r.bufs[r.next] == nil {
		// Allocated on first use: most WAL objects fit in one batch.
		r.bufs[r.next] = bufpool.Get(mdcTrailerSize + batchSize)
	}
	buf := r.bufs[r.next]
	r.next ^= 1
	heldBack := copy(buf, r.held)
	n, ended, err := readBatch(r.contents, buf[heldBack:])
	if err != nil {
		r.err = streamFailure(err, r.src, r.object, "its encrypted data is malformed")
		return
	}
	r.decryptWhileHashing(buf[heldBack : heldBack+n])
	total := heldBack + n
	if !ended {
		r.out = buf[:total-mdcTrailerSize]
		r.unhashed = r.out
		r.held = buf[total-mdcTrailerSize : total]
		return
	}
	if total < mdcTrailerSize {
		r.err = errCorrupt(r.object, "its encrypted data is too short to hold an integrity check", openpgperrors.ErrMDCMissing)
		return
	}
	data, trailer := buf[:total-mdcTrailerSize], buf[total-mdcTrailerSize:total]
	r.hash.Write(data)
	r.hash.Write(trailer[:2])
	if trailer[0] != mdcPacketTag || trailer[1] != mdcPacketBodyBytes ||
		subtle.ConstantTimeCompare(r.hash.Sum(nil), trailer[2:]) != 1 {
		r.err = errMDCMismatch(r.object)
		return
	}
	r.out, r.held, r.end = data, nil, true
}

// decryptWhileHashing decrypts p while another goroutine hashes the previous
// batch, which lives in the other buffer and is only read.
func (r *mdcReader) decryptWhileHashing(p []byte) {
	var hashing sync.WaitGroup
	if previous := r.unhashed; len(previous) > 0 {
		hashing.Go(func() { r.hash.Write(previous) })
	}
	r.unhashed = nil
	r.cfb.decrypt(p)
	hashing.Wait()
}

// readBatch fills buf unless the contents end first. Unlike io.ReadFull it
// tells a clean end of the packet (ended) from a stream cut short (an
// io.ErrUnexpectedEOF from go-crypto's length-checked readers).
func readBatch(contents io.Reader, buf []byte) (n int, ended bool, err error) {
	for n < len(buf) {
		m, err := contents.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// StreamBuffers is the memory one decrypting stream holds at most: the
// source buffer and the two batches decrypted and hashed in turn.
func StreamBuffers() int { return sourceBufferSize + 2*(mdcTrailerSize+batchSize) }
