package replay

import (
	"pgrescue/restore/pglog"
	"pgrescue/restore/prefetch"
)

// Event is what a replay reports while it runs; the command line prints
// them, the wizard renders them.
type Event interface{ replayEvent() }

// Step is an action pgrescue took, with the shell commands it equals.
type Step struct {
	Title  string
	Detail string
}

// Warning is something the engineer must know, though replay goes on.
type Warning struct{ Message string }

// LogLine is one line of the server log, with what it means.
type LogLine struct {
	File  string
	Text  string
	Event pglog.Event
}

// Milestone is a turning point of recovery: "consistent", "target reached",
// "redo done", "promoted", "ready".
type Milestone struct {
	Name   string
	Detail string
}

// ProgressUpdate is the progress model at a moment (at most once a second,
// and at each milestone).
type ProgressUpdate struct{ Snapshot }

// PrefetchActivity is one thing the prefetcher did.
type PrefetchActivity struct{ Event prefetch.Event }

func (Step) replayEvent()             {}
func (Warning) replayEvent()          {}
func (LogLine) replayEvent()          {}
func (Milestone) replayEvent()        {}
func (ProgressUpdate) replayEvent()   {}
func (PrefetchActivity) replayEvent() {}
