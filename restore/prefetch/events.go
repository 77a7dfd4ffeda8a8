package prefetch

import "time"

// Event is something the prefetcher did, for progress displays and journals.
type Event interface{ prefetchEvent() }

// Served: restore_command received a file. How is "hit" (staged before it
// was asked for), "wait" (its prefetch was still running) or "inline"
// (fetched only when asked).
type Served struct {
	Name   string
	How    string
	Waited time.Duration
	Bytes  int64
	Took   time.Duration // how long the fetch itself took
}

// Prefetched: a file was staged ahead of PostgreSQL's request.
type Prefetched struct {
	Name  string
	Bytes int64
	Took  time.Duration
}

// NotInArchive: PostgreSQL asked for a file the archive does not have. At the
// end of the archive this is normal; in the middle of replay it is a gap.
type NotInArchive struct{ Name string }

// FetchFailed: a requested file could not be fetched. restore_command exits
// so that PostgreSQL stops recovery instead of promoting early.
type FetchFailed struct {
	Name string
	Err  error
}

func (Served) prefetchEvent()       {}
func (Prefetched) prefetchEvent()   {}
func (NotInArchive) prefetchEvent() {}
func (FetchFailed) prefetchEvent()  {}
