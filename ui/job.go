package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"
)

// job is background work (preflight, restore, GPG) whose events reach the
// model through one channel, drained in batches by a re-armed command: a
// flood of log lines costs one Update per batch, not one per line.
type job struct {
	id       int
	events   chan any
	cancel   context.CancelFunc
	done     *jobDone      // met while draining a batch; delivered by the next listen
	finished chan struct{} // closed when the work has returned
	owner    Page          // the page its messages go to
}

// jobEvents is a batch of a job's events; jobDone is its last message.
type jobEvents struct {
	id     int
	events []any
}

type jobDone struct {
	id     int
	result any
}

var jobCounter int

// startJob runs work in a goroutine. Its emit never blocks a cancelled job,
// and its result arrives after every event it emitted. Listens are re-armed
// one at a time, after the model took the previous batch, so j.done needs
// no lock.
func startJob(parent context.Context, work func(ctx context.Context, emit func(any)) any) (*job, tea.Cmd) {
	jobCounter++
	ctx, cancel := context.WithCancel(parent)
	j := &job{id: jobCounter, events: make(chan any, 1024), cancel: cancel, finished: make(chan struct{})}
	emit := func(e any) {
		select {
		case j.events <- e:
		case <-ctx.Done():
		}
	}
	go func() {
		result := work(ctx, emit)
		close(j.finished)
		j.events <- jobDone{id: j.id, result: result} // the listener is always draining
	}()
	return j, j.listen()
}

// wait blocks until the work has returned or timeout passed.
func (j *job) wait(timeout time.Duration) bool {
	select {
	case <-j.finished:
		return true
	case <-time.After(timeout):
		return false
	}
}

// listen returns the command that waits for the job's next batch.
func (j *job) listen() tea.Cmd {
	return func() tea.Msg {
		if j.done != nil {
			return *j.done
		}
		first := <-j.events
		if done, isDone := first.(jobDone); isDone {
			return done
		}
		batch := jobEvents{id: j.id, events: []any{first}}
		for len(batch.events) < 1000 {
			select {
			case e := <-j.events:
				if done, isDone := e.(jobDone); isDone {
					j.done = &done // events first, then done
					return batch
				}
				batch.events = append(batch.events, e)
			default:
				return batch
			}
		}
		return batch
	}
}
