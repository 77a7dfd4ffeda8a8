package tarx

import (
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// writebackChunk is how much of a file is written before the kernel is
// asked to start writing it to disk. Linux starts background writeback
// only once a tenth of memory is dirty: without these requests, a restore
// smaller than that reaches the disk only in the sync at the end, with the
// cores idle, while the disk idled during the extraction. PostgreSQL asks
// the same of the kernel for the same reason (checkpoint_flush_after).
const writebackChunk = 8 << 20

// writebackQueueLength bounds the requests waiting for the writeback
// goroutine. A request that finds the queue full is dropped: the disk is
// already busy, and the sync at the end covers what it would have started.
const writebackQueueLength = 64

// writeback starts writeback of written file ranges on a goroutine of its
// own: sync_file_range(SYNC_FILE_RANGE_WRITE) returns once the pages are
// queued, but it waits whenever the device's queue is full, and the
// extraction must not wait for the disk. It is a hint and never a
// guarantee: errors are ignored here and reported by the sync at the end,
// which the caller still does.
type writeback struct {
	mu      sync.RWMutex // held for reading by requests, for writing by stop
	stopped bool
	ranges  chan fileRange
	done    chan struct{}
	start   func(fd int, offset, length int64) // startWriting, or a test's recorder
}

// fileRange is a range to start writing, with its own duplicate of the
// file's descriptor: the file may be closed before the range is served.
type fileRange struct {
	fd     int
	offset int64
	length int64
}

func startWriteback(start func(fd int, offset, length int64)) *writeback {
	w := &writeback{ranges: make(chan fileRange, writebackQueueLength), done: make(chan struct{}), start: start}
	go w.run()
	return w
}

// startWriting asks the kernel to start writing the range's dirty pages.
func startWriting(fd int, offset, length int64) {
	_ = unix.SyncFileRange(fd, offset, length, unix.SYNC_FILE_RANGE_WRITE)
}

func (w *writeback) run() {
	defer close(w.done)
	for r := range w.ranges {
		w.start(r.fd, r.offset, r.length)
		unix.Close(r.fd)
	}
}

// request queues [offset, offset+length) of f, unless the queue is full or
// the writeback stopped.
func (w *writeback) request(f *os.File, offset, length int64) {
	if w == nil || length <= 0 {
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.stopped || len(w.ranges) == cap(w.ranges) {
		return
	}
	fd, ok := duplicate(f)
	if !ok {
		return
	}
	select {
	case w.ranges <- fileRange{fd: fd, offset: offset, length: length}:
	default:
		unix.Close(fd)
	}
}

// duplicate returns a close-on-exec duplicate of f's descriptor: a child
// process started meanwhile (gpg, psql) must not inherit it.
func duplicate(f *os.File) (int, bool) {
	raw, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd, dupErr := -1, error(nil)
	if err := raw.Control(func(orig uintptr) {
		fd, dupErr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil || dupErr != nil {
		return 0, false
	}
	return fd, true
}

// stop waits for the requests queued so far and drops later ones.
func (w *writeback) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.ranges)
	}
	w.mu.Unlock()
	<-w.done
}

// fileWriter writes a member's contents to its file, adds them to the
// extraction's total, and asks for writeback of every chunk written; flush
// asks for the rest once the file is complete.
type fileWriter struct {
	f         *os.File
	total     *atomic.Int64 // bytes written by the whole extraction
	queue     *writeback    // nil: no writeback requested
	written   int64         // bytes written to f
	requested int64         // bytes whose writeback was requested
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.total.Add(int64(n))
	w.written += int64(n)
	if w.written-w.requested >= writebackChunk {
		w.flush()
	}
	return n, err
}

// flush requests writeback of what was written since the last request.
func (w *fileWriter) flush() {
	w.queue.request(w.f, w.requested, w.written-w.requested)
	w.requested = w.written
}
