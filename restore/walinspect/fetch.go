package walinspect

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"pgrescue/restore/wale"
)

// fetcher fetches a run's segments in order, Workers at a time, while
// pg_waldump reads the ones before: at most window segments are on disk,
// fetched and not yet released.
type fetcher struct {
	cancel  context.CancelFunc
	workers sync.WaitGroup
	dir     string
	run     []wale.WALObject
	done    []chan struct{} // closed when segment i is on disk, or failed
	errs    []error
	room    chan struct{} // one token per segment the window has room for
	fetched atomic.Int64
}

// startFetching starts the workers; fetched is told of each segment on disk.
func startFetching(ctx context.Context, req Request, dir string, run []wale.WALObject, window int, fetched func(n int, name string)) *fetcher {
	ctx, cancel := context.WithCancel(ctx)
	f := &fetcher{cancel: cancel, dir: dir, run: run, done: make([]chan struct{}, len(run)), errs: make([]error, len(run)),
		room: make(chan struct{}, window)}
	for i := range f.done {
		f.done[i] = make(chan struct{})
	}
	for range window {
		f.room <- struct{}{}
	}
	var next atomic.Int64
	workers := req.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	for range min(workers, len(run)) {
		f.workers.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-f.room:
				}
				i := int(next.Add(1) - 1)
				if i >= len(run) {
					return
				}
				f.errs[i] = req.Fetch(ctx, run[i].Name, filepath.Join(dir, run[i].Name))
				if f.errs[i] == nil {
					fetched(int(f.fetched.Add(1)), run[i].Name)
				}
				close(f.done[i])
			}
		})
	}
	return f
}

// wait waits until the segments up to last are on disk.
func (f *fetcher) wait(last int) error {
	for i := 0; i <= last; i++ {
		<-f.done[i]
		if f.errs[i] != nil {
			return f.errs[i]
		}
	}
	return nil
}

// release removes segments from..to-1, read and no longer needed, making
// room for as many more.
func (f *fetcher) release(from, to int) {
	for i := from; i < to; i++ {
		os.Remove(filepath.Join(f.dir, f.run[i].Name))
		f.room <- struct{}{}
	}
}

// stop ends the workers and waits for them, so that nothing writes into
// the folder once the caller removes it.
func (f *fetcher) stop() {
	f.cancel()
	f.workers.Wait()
}
