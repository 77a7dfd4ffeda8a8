// Package shellcmd describes actions as the shell commands an engineer would
// type: every plan, dry run, transcript and training screen shows them. It
// also holds Serialized, the report wrapper the engines' goroutines share.
package shellcmd

import (
	"strings"
	"sync"
)

// Command is one shell command equivalent to part of an action, with why it
// is run. Lines are meant to be pasted by an engineer following the runbook.
type Command struct {
	Why  string
	Line string
}

// Script renders commands as a commented shell script.
func Script(cmds []Command) string {
	var b strings.Builder
	for _, c := range cmds {
		if c.Why != "" {
			b.WriteString("# " + c.Why + "\n")
		}
		b.WriteString(c.Line + "\n")
	}
	return b.String()
}

// Quote quotes a word for a POSIX shell when it needs it.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+%@,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word of a command line and joins them.
func Join(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = Quote(a)
	}
	return strings.Join(words, " ")
}

// Serialized wraps an engine's report function so that its goroutines may
// call it concurrently while the receiver sees one event at a time; a nil
// report drops the events.
func Serialized[E any](report func(E)) func(E) {
	if report == nil {
		return func(E) {}
	}
	var mu sync.Mutex
	return func(e E) {
		mu.Lock()
		defer mu.Unlock()
		report(e)
	}
}
