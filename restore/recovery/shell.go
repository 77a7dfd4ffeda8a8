package recovery

import (
	"strings"

	"pgrescue/shellcmd"
)

// shellLine renders argv as one line for a POSIX shell.
func shellLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = shellWord(a)
	}
	return strings.Join(words, " ")
}

// shellWord quotes one word. A word holding single quotes but nothing a
// double-quoted string would expand is double-quoted, so -o "-c
// log_line_prefix='%m [%p] '" reads as people write it.
func shellWord(s string) string {
	if q := shellcmd.Quote(s); q == s {
		return s
	}
	if strings.Contains(s, "'") && !strings.ContainsAny(s, "\"\\$`!") {
		return `"` + s + `"`
	}
	return shellcmd.Quote(s)
}
