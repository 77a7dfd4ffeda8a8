package lzop

import (
	"errors"
	"io"
	"sync"

	"pgrescue/internal/bufpool"
)

// ParallelReader decodes an lzop stream as Reader does, with the same
// checks and the same errors, but decodes several blocks at once: lzop
// blocks are independent, and decoding one is the slowest stage of a
// restore when one core does it. One goroutine reads the container (magic,
// headers, block headers, stored data) in order; workers verify and decode
// the blocks; Read hands the output out in stream order. An error in block
// k is returned after the output of every block before it, as Reader
// would.
//
// Memory is bounded: at most 2*workers+1 blocks are in flight, each with
// a stored and a decoded buffer of up to lzop's 256 KiB block size,
// reused from block to block and, after Close, by the next reader.
//
// Read and Close must not be called concurrently. Close stops the
// goroutines and waits for them; the one reading the source waits for its
// Read in progress to return, so cancel a blocking source first.
type ParallelReader struct {
	parser  *Reader
	jobs    chan *blockJob // to the workers
	order   chan *blockJob // the same jobs, in stream order, to Read
	free    chan *blockJob // jobs whose output was handed out
	stop    chan struct{}
	stopped sync.Once
	running sync.WaitGroup

	all     []*blockJob // every job, for Close to give their buffers back
	cur     *blockJob   // the job whose output is being handed out
	pending []byte      // its output not handed out yet
	err     error       // sticky: io.EOF at the end, or the failure
}

// blockJob is one block on its way through the workers, with its buffers.
type blockJob struct {
	block    block
	packed   []byte
	unpacked []byte
	out      []byte
	err      error
	done     chan struct{} // receives once out or err is set
}

// errReaderClosed is what Read returns after Close.
var errReaderClosed = errors.New("lzop: read after Close")

// ParallelWindow is how many blocks a ParallelReader with the given
// workers holds at most, for memory accounting.
func ParallelWindow(workers int) int { return 2*max(workers, 1) + 1 }

// NewParallelReader decodes r with up to workers blocks decoded at once
// (at least one, on its own goroutine).
func NewParallelReader(r io.Reader, workers int) *ParallelReader {
	workers = max(workers, 1)
	window := ParallelWindow(workers)
	p := &ParallelReader{
		parser: NewReader(r),
		jobs:   make(chan *blockJob, window),
		order:  make(chan *blockJob, window),
		free:   make(chan *blockJob, window),
		stop:   make(chan struct{}),
	}
	for range window {
		// Buffers of lzop's block size from the pool: a restore of many
		// partitions reuses one set instead of leaving a set per partition
		// to the garbage collector.
		j := &blockJob{done: make(chan struct{}, 1), packed: bufpool.Get(BlockSize)[:0], unpacked: bufpool.Get(BlockSize)[:0]}
		p.all = append(p.all, j)
		p.free <- j
	}
	p.running.Add(1 + workers)
	go p.parse()
	for range workers {
		go p.decode()
	}
	return p
}

// parse reads the container in order and hands each block to the workers
// and, in the same order, to Read. The end of the stream and a failure go
// to Read only, as a job of their own.
func (p *ParallelReader) parse() {
	defer p.running.Done()
	defer close(p.jobs)
	for {
		var j *blockJob
		select {
		case j = <-p.free:
		case <-p.stop:
			return
		}
		j.block, j.err = p.parser.nextStored(&j.packed)
		if j.err != nil {
			j.done <- struct{}{}
			p.send(p.order, j)
			return
		}
		// Both channels hold every job there is: neither send waits.
		if !p.send(p.jobs, j) || !p.send(p.order, j) {
			return
		}
	}
}

func (p *ParallelReader) send(ch chan<- *blockJob, j *blockJob) bool {
	select {
	case ch <- j:
		return true
	case <-p.stop:
		return false
	}
}

// decode verifies and decodes blocks until the parser stops.
func (p *ParallelReader) decode() {
	defer p.running.Done()
	for j := range p.jobs {
		j.out, j.err = j.block.decode(&j.unpacked)
		j.done <- struct{}{}
	}
}

// Read implements io.Reader.
func (p *ParallelReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for len(p.pending) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: each decoded block is written straight
// from its buffer.
func (p *ParallelReader) WriteTo(w io.Writer) (int64, error) {
	return writeBlocks(w, &p.pending, p.next)
}

// next makes the next block's output pending, recycling the last one.
func (p *ParallelReader) next() error {
	if p.err != nil {
		return p.err
	}
	if p.cur != nil {
		p.free <- p.cur // never waits: free holds every job there is
		p.cur = nil
	}
	j, ok := <-p.order
	if !ok {
		p.err = errReaderClosed
		return p.err
	}
	<-j.done
	if j.err != nil {
		p.err = j.err
		p.free <- j
		return p.err
	}
	p.cur, p.pending = j, j.out
	return nil
}

// Close stops the goroutines and waits for them to return. Reads after
// it fail.
func (p *ParallelReader) Close() error {
	p.stopped.Do(func() { close(p.stop) })
	p.running.Wait()
	for _, j := range p.all {
		for _, buf := range [][]byte{j.packed, j.unpacked} {
			if cap(buf) == BlockSize { // grown buffers of unusual streams are left to the collector
				bufpool.Put(buf)
			}
		}
		j.packed, j.unpacked, j.out = nil, nil, nil
	}
	p.all = nil
	if p.err == nil || p.err == io.EOF {
		p.err = errReaderClosed
	}
	p.pending, p.cur = nil, nil
	return nil
}

// BlockSize is the block size lzop writes: a ParallelReader's buffers are
// this size for streams lzop wrote.
const BlockSize = lzopBlockSize
