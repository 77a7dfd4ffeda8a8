// Package bufpool recycles the large buffers of streaming stages (read-ahead
// chunks, copy buffers), so that a restore of many partitions allocates them
// once per worker rather than once per partition. Without it every finished
// partition leaves megabytes of garbage, the garbage collector lets the heap
// grow to twice what is live before it runs, and peak memory grows with the
// number of partitions until then.
package bufpool

import "sync"

// pools holds one *sync.Pool per buffer size; a program uses a handful.
var pools sync.Map

// Get returns a buffer of exactly size bytes. Its contents are whatever
// its last user left: callers overwrite before they read.
func Get(size int) []byte {
	if b, ok := pool(size).Get().(*[]byte); ok {
		return (*b)[:size]
	}
	return make([]byte, size)
}

// Put gives a buffer back for reuse. The caller must not touch it after.
func Put(b []byte) {
	if cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	pool(len(b)).Put(&b)
}

func pool(size int) *sync.Pool {
	if p, ok := pools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(size, new(sync.Pool))
	return p.(*sync.Pool)
}
