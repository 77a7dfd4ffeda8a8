package recovery

import (
	"bufio"
	"bytes"
	"strings"
)

// quoteConfValue writes s as a single-quoted string in PostgreSQL's
// configuration syntax (postgresql.conf, postgresql.auto.conf,
// recovery.conf). The server's parser reads two single quotes as one and
// interprets backslash escapes (\n, \t, \\, octal), so backslashes are
// doubled too: without that, a restore_command holding \n or \t would
// change meaning.
func quoteConfValue(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// confEntry is one "name = value" line of a configuration file.
type confEntry struct {
	Name  string
	Value string // unquoted
}

// parseConf reads the name = value lines of a PostgreSQL configuration file
// in order. It is deliberately small: include directives are returned as
// entries and not followed, which is enough for the files pgrescue reads
// (postgresql.auto.conf, and the postgresql.conf pg_createcluster writes).
func parseConf(data []byte) []confEntry {
	var entries []confEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if e, ok := parseConfLine(sc.Text()); ok {
			entries = append(entries, e)
		}
	}
	return entries
}

// parseConfLine reads "name [=] value [# comment]".
func parseConfLine(line string) (confEntry, bool) {
	line = strings.TrimSpace(line)
	end := strings.IndexFunc(line, func(r rune) bool { return !isConfNameRune(r) })
	if end == 0 || line == "" || line[0] == '#' {
		return confEntry{}, false
	}
	if end < 0 {
		end = len(line)
	}
	name := strings.ToLower(line[:end])
	rest := strings.TrimSpace(line[end:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "="))
	return confEntry{Name: name, Value: confValue(rest)}, true
}

func isConfNameRune(r rune) bool {
	return r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// confValue unquotes a value: a quoted string up to its closing quote, or a
// bare word up to white space or a comment.
func confValue(s string) string {
	if !strings.HasPrefix(s, "'") {
		if i := strings.IndexAny(s, " \t#"); i >= 0 {
			s = s[:i]
		}
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			return b.String()
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(unescapeConf(s[i]))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeConf mirrors the server's GUC_scanstr for the common escapes
// (octal escapes are rare in practice and are kept as the digit).
func unescapeConf(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c
}

// lastConfValue returns the value of the last entry named name: the one the
// server uses.
func lastConfValue(entries []confEntry, name string) (string, bool) {
	value, found := "", false
	for _, e := range entries {
		if e.Name == name {
			value, found = e.Value, true
		}
	}
	return value, found
}
