package pgdump

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"pgrescue/internal/lazyregexp"
)

// Script is what one pass over a plain-SQL dump learns: the database it
// creates, whether it is whole, and what a restore of it must provide and
// can be checked against (the roles it names, each table's COPY rows, each
// sequence's value).
type Script struct {
	Database   string // from CREATE DATABASE; "" in a dump made without --create
	DumpedFrom string // the server's version, from the header
	DumpedBy   string // pg_dump's version
	Header     bool   // starts with pg_dump's "PostgreSQL database dump" line
	Complete   bool   // ends with pg_dump's "dump complete" line
	Tables     []TableData
	Sequences  []SequenceValue
	Roles      []string // every role the dump names (owners, grantees), sorted
	Bytes      int64    // the SQL's size, uncompressed
	Preamble   []string // the session settings each connection of the dump starts with
	// Freezable are the plain tables the dump creates (not partitioned):
	// those a restore may load with COPY FREEZE.
	Freezable map[string]bool
}

// TableData is one COPY section of a dump.
type TableData struct {
	Table string // as the dump writes it: schema.name, quoted where needed
	Rows  int64
}

// SequenceValue is a sequence's setval in the dump.
type SequenceValue struct {
	Sequence string // as the dump writes it, a string literal's content
	Value    int64
	IsCalled bool
}

// headerLine starts and completeLine ends every dump pg_dump finished.
const (
	headerLine   = "-- PostgreSQL database dump"
	completeLine = "-- PostgreSQL database dump complete"
)

// An identifier as pg_dump writes it: plain, or double-quoted with "" for ".
const identPattern = `("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`

var (
	createDatabaseLine = lazyregexp.New(`^CREATE DATABASE ` + identPattern + `( .*)?;?$`)
	// Statements that name the dump's database, which a restore under
	// another name must say with the new name. Each captures the text
	// before the name, the name, and the rest.
	databaseStatements = sync.OnceValue(func() []*regexp.Regexp {
		return []*regexp.Regexp{
			createDatabaseLine(),
			regexp.MustCompile(`^(?:ALTER DATABASE|COMMENT ON DATABASE|SECURITY LABEL (?:FOR \S+ )?ON DATABASE) ` + identPattern + `( .*)?$`),
			regexp.MustCompile(`^(?:GRANT|REVOKE) .* ON DATABASE ` + identPattern + `( (?:TO|FROM) .*)$`),
			regexp.MustCompile(`^ALTER ROLE .* IN DATABASE ` + identPattern + `( .*)$`),
		}
	})
	connectLine    = lazyregexp.New(`^\\connect (?:-reuse-previous=on "dbname='((?:[^'\\]|\\.)*)'"|("(?:[^"]|"")*"|\S+))\s*$`)
	copyLine       = lazyregexp.New(`^COPY (\S+(?: \S+)*?) (?:\(.*\) )?FROM stdin;$`)
	createTable    = lazyregexp.New(`^CREATE (?:UNLOGGED )?TABLE (\S+) `)
	setvalLine     = lazyregexp.New(`^SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);$`)
	versionLine    = lazyregexp.New(`^-- Dumped (from database|by pg_dump) version (\S+)`)
	roleReferences = sync.OnceValue(func() []*regexp.Regexp {
		return []*regexp.Regexp{
			regexp.MustCompile(` OWNER TO ` + identPattern + `;$`),
			regexp.MustCompile(`^SET SESSION AUTHORIZATION '?` + identPattern + `'?;$`),
			regexp.MustCompile(`^SET ROLE ` + identPattern + `;$`),
			regexp.MustCompile(`^GRANT .* TO ` + identPattern + `( WITH GRANT OPTION)?( GRANTED BY \S+)?;$`),
			regexp.MustCompile(`^REVOKE .* FROM ` + identPattern + `( GRANTED BY \S+)?;$`),
			regexp.MustCompile(`^ALTER DEFAULT PRIVILEGES FOR ROLE ` + identPattern + ` `),
			regexp.MustCompile(`^ALTER DEFAULT PRIVILEGES .* GRANT .* TO ` + identPattern + `;$`),
			regexp.MustCompile(`^ALTER ROLE ` + identPattern + ` IN DATABASE `),
		}
	})
)

var (
	plainIdent       = lazyregexp.New(`^[a-z_][a-z0-9_$]*$`)
	plainConnectWord = lazyregexp.New(`^[A-Za-z0-9_.]+$`)
)

// pseudoRoles are names GRANT accepts that are not roles.
var pseudoRoles = map[string]bool{"PUBLIC": true, "CURRENT_USER": true, "SESSION_USER": true, "CURRENT_ROLE": true}

// unquoteIdent turns an identifier as written into its name.
func unquoteIdent(s string) string {
	if strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

// QuoteIdent writes a name as an SQL identifier, quoted when it must be.
func QuoteIdent(name string) string {
	if plainIdent().MatchString(name) && !reservedWords[name] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// reservedWords are the ones a database or role name might plausibly be.
var reservedWords = map[string]bool{"all": true, "user": true, "table": true, "select": true, "order": true, "group": true, "default": true, "public": true}

// QuoteLiteral writes a string as an SQL literal.
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// connectMeta is psql's \connect to a database by name, in the form pg_dump
// writes: a bare word when the name is simple, else a conninfo string.
func connectMeta(name string) string {
	if plainConnectWord().MatchString(name) {
		return `\connect ` + name
	}
	conninfo := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name)
	return `\connect -reuse-previous=on "dbname='` + strings.ReplaceAll(conninfo, `"`, `""`) + `'"`
}

// connectTarget reads the database of a \connect line.
func connectTarget(m []string) string {
	if m[1] != "" || strings.HasPrefix(m[0], `\connect -reuse`) {
		s := strings.ReplaceAll(m[1], `""`, `"`)
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
	if strings.HasPrefix(m[2], `"`) {
		return unquoteIdent(m[2])
	}
	return m[2] // psql does not fold a meta-command's bare argument
}

// filter passes a dump through line by line: it learns the Script and,
// when rename is set, writes every statement naming the dump's database
// with the new name. COPY data passes untouched and is only counted.
type filter struct {
	script   Script
	rename   string       // the new database name, or "" to keep the dump's
	current  atomic.Value // the table whose COPY section is passing
	started  atomic.Int64 // COPY sections met
	roles    map[string]bool
	inCopy   bool
	preamble bool // collecting the session settings after a \connect
	// freeze loads each table of freezable once, in its own transaction,
	// after a TRUNCATE of the (new, empty) table, with COPY FREEZE: the
	// rows are written frozen, and the index builds and the first queries
	// after the restore need not set every row's hint bits (a fifth of a
	// restore's time in the benchmark).
	freeze    bool
	freezable map[string]bool
	loaded    map[string]bool // tables whose COPY has been met
	frozen    bool            // the section passing is loaded frozen
	creating  string          // the table whose CREATE TABLE is being read
}

// errNotADump is returned for input that is not a plain-SQL pg_dump.
var errNotADump = errors.New("not a plain-SQL pg_dump script")

// run filters r into w (which may be io.Discard).
func (f *filter) run(r io.Reader, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	err := f.each(r, func(_, out []byte) error {
		_, err := bw.Write(out)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// errStop ends each early without an error: the caller has what it needs.
var errStop = errors.New("stop")

// each reads r line by line, learns the Script, and hands every line with
// what to write for it (the line, or the line renamed) to use. use
// returning errStop ends the reading early.
func (f *filter) each(r io.Reader, use func(line, out []byte) error) error {
	if f.roles == nil {
		f.roles = map[string]bool{}
		f.preamble = true
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte // a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(line) > 0 {
			out := f.line(line)
			uerr := use(line, out)
			f.script.Bytes += int64(len(line))
			if uerr == errStop {
				f.finish()
				return nil
			}
			if uerr != nil {
				return uerr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if f.script.Bytes == 0 {
		return errNotADump
	}
	f.finish()
	return nil
}

// line handles one line (with its newline) and returns what to write.
func (f *filter) line(line []byte) []byte {
	if f.inCopy {
		if len(line) >= 2 && line[0] == '\\' && line[1] == '.' && (len(line) == 2 || line[2] == '\n' || line[2] == '\r') {
			f.inCopy = false
			if f.frozen {
				f.frozen = false
				return append(append([]byte{}, line...), "COMMIT;\n"...)
			}
			return line
		}
		f.script.Tables[len(f.script.Tables)-1].Rows++
		return line
	}
	text := strings.TrimRight(string(line), "\r\n")
	if text == "" || strings.HasPrefix(text, "--") {
		f.comment(text)
		return line
	}
	if m := copyLine().FindStringSubmatch(text); m != nil {
		f.startCopy(m[1])
		return f.freezeCopy(m[1], text, line)
	}
	f.noteTable(text)
	f.collectPreamble(text)
	if m := setvalLine().FindStringSubmatch(text); m != nil {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		f.script.Sequences = append(f.script.Sequences, SequenceValue{Sequence: strings.ReplaceAll(m[1], "''", "'"), Value: v, IsCalled: m[3] == "true"})
		return line
	}
	f.noteRoles(text)
	if rewritten, ok := f.databaseLine(text); ok {
		return []byte(rewritten + "\n")
	}
	return line
}

func (f *filter) comment(text string) {
	switch text {
	case completeLine:
		f.script.Complete = true
	case headerLine:
		f.script.Header = true
	}
	if m := versionLine().FindStringSubmatch(text); m != nil {
		if m[1] == "by pg_dump" {
			f.script.DumpedBy = m[2]
		} else {
			f.script.DumpedFrom = m[2]
		}
	}
}

func (f *filter) startCopy(table string) {
	f.inCopy = true
	f.preamble = false
	f.script.Tables = append(f.script.Tables, TableData{Table: table})
	f.current.Store(table)
	f.started.Add(1)
}

// freezeCopy turns the first COPY of a plain table the dump created into
// BEGIN; TRUNCATE ONLY; COPY … WITH (FREEZE), which PostgreSQL allows for
// a table truncated in the same transaction. The table is new and empty:
// the truncate removes nothing.
func (f *filter) freezeCopy(table, text string, line []byte) []byte {
	if !f.freeze || !f.freezable[table] || f.loaded[table] {
		return line
	}
	if f.loaded == nil {
		f.loaded = map[string]bool{}
	}
	f.loaded[table] = true
	f.frozen = true
	return []byte("BEGIN;\nTRUNCATE ONLY " + table + ";\n" + strings.TrimSuffix(text, ";") + " WITH (FREEZE);\n")
}

// noteTable learns the plain tables the schema creates: a CREATE TABLE
// whose statement says PARTITION BY makes a partitioned table, which COPY
// FREEZE refuses.
func (f *filter) noteTable(text string) {
	if m := createTable().FindStringSubmatch(text); m != nil {
		if f.script.Freezable == nil {
			f.script.Freezable = map[string]bool{}
		}
		f.creating = m[1]
		f.script.Freezable[m[1]] = true
	}
	if f.creating == "" {
		return
	}
	if strings.Contains(text, "PARTITION BY ") || strings.HasPrefix(text, "CREATE FOREIGN TABLE") {
		delete(f.script.Freezable, f.creating)
	}
	if strings.HasSuffix(text, ";") {
		f.creating = ""
	}
}

// collectPreamble keeps the session settings that follow the last
// \connect before the first other statement: a connection that loads COPY
// sections on its own needs the same ones.
func (f *filter) collectPreamble(text string) {
	if strings.HasPrefix(text, `\connect `) {
		f.script.Preamble = nil
		f.preamble = true
		return
	}
	if !f.preamble {
		return
	}
	switch {
	case strings.HasPrefix(text, "SET "), strings.HasPrefix(text, "SELECT pg_catalog.set_config("), strings.HasPrefix(text, `\restrict `):
		f.script.Preamble = append(f.script.Preamble, text)
	case strings.HasPrefix(text, `\`), strings.HasPrefix(text, "CREATE DATABASE "), strings.HasPrefix(text, "ALTER DATABASE "):
	default:
		f.preamble = false
	}
}

// noteRoles records the roles a statement names.
func (f *filter) noteRoles(text string) {
	for _, re := range roleReferences() {
		if m := re.FindStringSubmatch(text); m != nil {
			if !pseudoRoles[strings.ToUpper(m[1])] {
				f.roles[unquoteIdent(m[1])] = true
			}
		}
	}
}

// databaseLine rewrites a statement that names the dump's database.
func (f *filter) databaseLine(text string) (string, bool) {
	if m := connectLine().FindStringSubmatch(text); m != nil {
		if f.rename == "" || connectTarget(m) != f.script.Database {
			return "", false
		}
		return connectMeta(f.rename), true
	}
	if f.script.Database == "" {
		if m := createDatabaseLine().FindStringSubmatch(text); m != nil {
			f.script.Database = unquoteIdent(m[1])
		}
	}
	if f.rename == "" || f.script.Database == "" {
		return "", false
	}
	for _, re := range databaseStatements() {
		loc := re.FindStringSubmatchIndex(text)
		if loc == nil || unquoteIdent(text[loc[2]:loc[3]]) != f.script.Database {
			continue
		}
		return text[:loc[2]] + QuoteIdent(f.rename) + text[loc[3]:], true
	}
	return "", false
}

func (f *filter) finish() {
	for r := range f.roles {
		f.script.Roles = append(f.script.Roles, r)
	}
	sort.Strings(f.script.Roles)
}

// RowCount is the rows a dump's COPY sections hold for one table, summed.
func (s *Script) RowCount(table string) int64 {
	var n int64
	for _, t := range s.Tables {
		if t.Table == table {
			n += t.Rows
		}
	}
	return n
}
