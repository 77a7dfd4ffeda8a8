package wale

import (
	"errors"
	"io"
	"sync"

	"pgrescue/internal/bufpool"
)

// readAhead reads a download in its own goroutine, a few buffers ahead of
// decryption, so that waiting on the network overlaps the work on what
// already arrived, as `curl | gpg -d` does. Memory is bounded: count
// buffers of size bytes.
type readAhead struct {
	chunks   chan chunk
	free     chan []byte
	stop     chan struct{}
	stopOnce sync.Once
	finished chan struct{} // closed when the filling goroutine has returned
	cur      chunk
	off      int
}

// errStageClosed is what a stage's reader gets once the stage was closed.
var errStageClosed = errors.New("read from a closed pipeline stage")

type chunk struct {
	buf []byte
	n   int
	err error
}

func newReadAhead(r io.Reader, size, count int) *readAhead {
	ra := &readAhead{chunks: make(chan chunk, count), free: make(chan []byte, count), stop: make(chan struct{}), finished: make(chan struct{})}
	for i := 0; i < count; i++ {
		ra.free <- bufpool.Get(size)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.finished)
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
		select {
		case ra.cur = <-ra.chunks:
			ra.off = 0
		case <-ra.stop:
			// The reader may be another goroutine: a closed stage answers
			// at once instead of leaving its reader blocked.
			ra.cur = chunk{err: errStageClosed}
			return 0, errStageClosed
		}
	}
	n := copy(p, ra.cur.buf[ra.off:ra.cur.n])
	ra.off += n
	return n, nil
}

// stopFilling asks the filling goroutine to stop after its current read.
func (ra *readAhead) stopFilling() { ra.stopOnce.Do(func() { close(ra.stop) }) }

// Close stops the filling goroutine and waits for it to return, so that
// nothing reads the stage's source once Close returned: the source (an S3
// body, a decrypting reader) may then be closed safely. The read in
// progress must be able to end: cancel the download's context first.
// Its buffers go back to the pool: nothing may Read it concurrently (stop
// and wait for its reader first).
func (ra *readAhead) Close() error {
	ra.stopFilling()
	<-ra.finished
	if ra.cur.buf != nil {
		bufpool.Put(ra.cur.buf)
	}
	ra.cur, ra.off = chunk{err: errStageClosed}, 0
	for {
		select {
		case buf := <-ra.free:
			bufpool.Put(buf)
		case c := <-ra.chunks:
			bufpool.Put(c.buf)
		default:
			return nil
		}
	}
}
