package wale

import (
	"errors"
	"io"
)

// readAhead runs a stage of the restore pipeline (network, decryption,
// decompression) in its own goroutine, a few buffers ahead of its consumer,
// so the stages use all cores the way `gpg -d | lzop -d | tar -x` does.
// Memory is bounded: count buffers of size bytes.
type readAhead struct {
	chunks chan chunk
	free   chan []byte
	stop   chan struct{}
	cur    chunk
	off    int
	done   bool
}

type chunk struct {
	buf []byte
	n   int
	err error
}

func newReadAhead(r io.Reader, size, count int) *readAhead {
	ra := &readAhead{chunks: make(chan chunk, count), free: make(chan []byte, count), stop: make(chan struct{})}
	for i := 0; i < count; i++ {
		ra.free <- make([]byte, size)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a short last chunk is the normal end here
		}
		select {
		case ra.chunks <- chunk{buf: buf, n: n, err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == ra.cur.n {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.buf != nil {
			ra.free <- ra.cur.buf
		}
		ra.cur, ra.off = <-ra.chunks, 0
	}
	n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
	ra.off += n
	return n, nil
}

// Close stops the filling goroutine once its current read returns.
func (ra *readAhead) Close() error {
	if !ra.done {
		ra.done = true
		close(ra.stop)
	}
	return nil
}
