package pgdump

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// Request is a restore of one dump into a new database, never over an
// existing one.
type Request struct {
	Source   Source
	Database string // the database whose dump is wanted
	Dump     string // a file name or path from dump-list; "" or LATEST for the newest
	Into     string // the new database; DefaultName unless set
	Globals  bool   // create the roles the dump needs from that night's postgres_globals dump
	SMIMEKey string // the private key for .enc dumps
	Jobs     int    // connections loading COPY sections at once (1: one psql, as the runbook)
	Location *time.Location
	Server   Server
	Now      time.Time
	// Listing is the source's listing when the caller has just made it
	// (the wizard lists a source before the dump is chosen): listing a
	// duplicity archive again takes minutes. nil lists the source.
	Listing *Listing
}

// Latest asks for the newest dump.
const LatestDump = "LATEST"

// maxIdentifier is PostgreSQL's NAMEDATALEN-1: longer names are cut.
const maxIdentifier = 63

// incompleteSuffix marks a database whose import failed.
const incompleteSuffix = "_incomplete"

// DefaultName is <db>_restored_<UTC yyyymmddThhmm>, short enough that the
// _incomplete a failure adds still fits PostgreSQL's 63 bytes.
func DefaultName(db string, now time.Time) string {
	return fitName(db, "_restored_"+now.UTC().Format("20060102T1504"), maxIdentifier-len(incompleteSuffix))
}

// fitName is base+suffix, base cut so the whole is at most max bytes.
func fitName(base, suffix string, max int) string {
	if keep := max - len(suffix); len(base) > keep {
		base = strings.ToValidUTF8(base[:keep], "")
	}
	return base + suffix
}

// Stage is the part of a restore an Event is about.
type Stage string

const (
	StageCheck   Stage = "check"   // reading the dump's head before any change
	StageGlobals Stage = "globals" // creating the roles the dump needs
	StageImport  Stage = "import"  // psql loading the dump
	StageVerify  Stage = "verify"  // row counts and sequences against the dump's
	StageRename  Stage = "rename"  // a failed import's database set aside
	StageFetch   Stage = "fetch"   // a source fetching the file (duplicity restores it first)
)

// Event is the progress of a restore: the compressed bytes of the dump
// read so far, the table being loaded, and the time taken.
type Event struct {
	Stage   Stage
	Read    int64 // compressed bytes read from the source
	Total   int64 // the dump file's size
	Table   string
	Tables  int // COPY sections started
	Of      int // tables to verify (StageVerify)
	Elapsed time.Duration
	Note    string
}

// Rate is the bytes read per second.
func (e Event) Rate() float64 {
	if e.Elapsed <= 0 {
		return 0
	}
	return float64(e.Read) / e.Elapsed.Seconds()
}

// ETA is the time left at the rate so far, or 0 when unknown.
func (e Event) ETA() time.Duration {
	r := e.Rate()
	if r <= 0 || e.Total <= e.Read {
		return 0
	}
	return time.Duration(float64(e.Total-e.Read) / r * float64(time.Second))
}

// String is the event as one line of progress, for the command line, the
// wizard and the journal alike.
func (e Event) String() string {
	var b strings.Builder
	switch e.Stage {
	case StageCheck:
		b.WriteString("checking")
	case StageGlobals:
		return "creating roles from the globals dump: " + e.Note
	case StageImport:
		b.WriteString("loading")
	case StageVerify:
		return fmt.Sprintf("verifying %d tables against the dump's row counts", e.Of)
	case StageRename:
		return "setting the failed import aside: " + e.Note
	case StageFetch:
		return "fetching the dump from the source: " + e.Note
	}
	if e.Total > 0 {
		fmt.Fprintf(&b, " %s of %s (%.0f%%)", wale.HumanBytes(e.Read), wale.HumanBytes(e.Total), 100*float64(e.Read)/float64(e.Total))
	} else {
		fmt.Fprintf(&b, " %s", wale.HumanBytes(e.Read))
	}
	fmt.Fprintf(&b, ", %s/s", wale.HumanBytes(int64(e.Rate())))
	if eta := e.ETA(); eta > 0 {
		fmt.Fprintf(&b, ", about %s left", eta.Round(time.Second))
	}
	if e.Table != "" {
		fmt.Fprintf(&b, ", table %d: %s", e.Tables, e.Table)
	}
	return b.String()
}

// Plan is a checked restore: the dump found and its head read (the
// database it creates, the roles its schema needs), the server reached,
// the target name free and the roles there.
type Plan struct {
	Request
	Dump        Dump
	Head        *Script  // what the dump says before its first COPY
	Script      *Script  // the whole dump, once the import has read it
	GlobalsDump *Dump    // that night's roles, loaded first when Globals and roles are missing
	Missing     []string // roles the dump's schema names that the server lacks
	ServerVer   string
	serverRoles map[string]bool
	created     []string // roles the globals dump created
}

// Prepare checks everything a restore needs before its first change.
func Prepare(ctx context.Context, req Request, report func(Event)) (*Plan, error) {
	report = shellcmd.Serialized(report)
	if req.Database == "" {
		return nil, problem.New(problem.Usage, "--database", "no database named", "give the database whose dump to restore (pgrescue dump-list shows them)")
	}
	if req.Location == nil {
		req.Location = time.Local
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	if req.Jobs < 1 {
		req.Jobs = 1
	}
	listing := req.Listing
	if listing == nil {
		var err error
		if listing, err = List(ctx, req.Source, req.Location); err != nil {
			return nil, err
		}
	}
	p := &Plan{Request: req}
	p.Listing = listing
	var err error
	if p.Dump, err = p.Listing.Choose(req.Database, req.Dump, req.Source.String()); err != nil {
		return nil, err
	}
	if p.Into == "" {
		p.Into = DefaultName(req.Database, req.Now)
	}
	if err := p.checkTarget(ctx); err != nil {
		return nil, err
	}
	if p.Head, err = p.readHead(ctx, report); err != nil {
		return nil, err
	}
	return p, p.checkRoles(ctx)
}

// Choose finds the dump to restore: by file name or path, or the newest
// of db's own (per-database) dumps.
func (l *Listing) Choose(db, name, source string) (Dump, error) {
	if name != "" && name != LatestDump {
		for _, d := range l.Dumps {
			if d.Path == name || path.Base(d.Path) == name {
				if d.Database != db && !d.AllDatabases() {
					return Dump{}, problem.New(problem.WrongDatabase, d.Path, "this dump is of database "+d.Database+", not "+db,
						"give --database "+d.Database+", or choose one of "+db+"'s dumps (pgrescue dump-list --database "+db+")")
				}
				return d.restorable()
			}
		}
		return Dump{}, problem.New(problem.NoBackups, name, "no such dump in "+source, "pgrescue dump-list --source "+source+" lists the dumps")
	}
	for _, d := range l.Dumps { // newest first
		if d.Database == db {
			return d.restorable()
		}
	}
	return Dump{}, noDumpOf(db, source, l)
}

func noDumpOf(db, source string, l *Listing) error {
	var dbs []string
	seen := map[string]bool{}
	for _, d := range l.Dumps {
		if !seen[d.Database] && !d.AllDatabases() && !d.Globals() {
			seen[d.Database] = true
			dbs = append(dbs, d.Database)
		}
	}
	next := "pgrescue dump-list --source " + source + " shows what is there"
	if len(dbs) > 0 {
		next = "the source has dumps of: " + strings.Join(dbs, ", ")
	}
	return problem.New(problem.NoBackups, source, "no dump of database "+db, next)
}

// restorable refuses what the restore cannot load: a dump of every
// database at once (SEPDIR=no) is pg_dumpall's script, which restores a
// whole cluster.
func (d Dump) restorable() (Dump, error) {
	if d.AllDatabases() {
		return Dump{}, problem.New(problem.Usage, d.Path, "this file holds every database of the cluster (autopostgresqlbackup's SEPDIR=no), which restores a whole cluster, not one database",
			"restore it into a new, empty cluster: gunzip -c FILE | psql -X -v ON_ERROR_STOP=1 -d postgres")
	}
	if d.Globals() {
		return Dump{}, problem.New(problem.Usage, d.Path, "this is the roles-and-tablespaces dump, not a database", "restore a database's dump with --globals to load these roles first")
	}
	return d, nil
}

// checkTarget reaches the server and refuses an existing target.
func (p *Plan) checkTarget(ctx context.Context) error {
	var err error
	if p.ServerVer, err = p.Server.Version(ctx); err != nil {
		return err
	}
	exists, err := p.Server.DatabaseExists(ctx, p.Into)
	if err != nil {
		return err
	}
	if exists {
		return problem.New(problem.DatabaseExists, p.Into+" on "+p.Server.String(), "the database to restore into already exists",
			"pgrescue never restores over or drops a database: give another --into name, or rename that one first")
	}
	return nil
}

// readHead reads the dump up to its first COPY before any change: it must
// be a plain-SQL pg_dump of the database asked for, and its schema names
// the roles it needs. The rest is read by the import itself and, beside
// it, by a check that stops it at the first problem (see importSerial):
// reading the whole dump twice in a row would cost the restore a fifth of
// its time.
func (p *Plan) readHead(ctx context.Context, report func(Event)) (*Script, error) {
	sql, err := openSQL(ctx, p.Source, p.Dump, p.SMIMEKey)
	if err != nil {
		return nil, err
	}
	defer sql.Close()
	f := &filter{}
	stop := p.progress(ctx, StageCheck, p.Dump, sql.read, f, report)
	err = f.each(sql, func(_, _ []byte) error {
		if len(f.script.Tables) > 0 {
			return errStop
		}
		return nil
	})
	stop()
	if err != nil {
		return nil, p.readError(ctx, p.Dump, err)
	}
	s := &f.script
	if !s.Header {
		return nil, problem.New(problem.Corrupt, p.Dump.Path, "this is not a plain-SQL pg_dump (no \"-- PostgreSQL database dump\" header)",
			"check the file: "+p.Source.FetchCommand(p.Dump.Path)+" | "+decompressCommand(p.Dump)+" | head")
	}
	if s.Database != "" && s.Database != p.Database {
		return nil, problem.New(problem.WrongDatabase, p.Dump.Path, "the dump's CREATE DATABASE is for "+s.Database+", not "+p.Database,
			"the file is misnamed or misplaced; check it with: "+p.Source.FetchCommand(p.Dump.Path)+" | "+decompressCommand(p.Dump)+" | head -40")
	}
	return s, nil
}

// readError explains a failure to read dump d.
func (p *Plan) readError(ctx context.Context, d Dump, err error) error {
	if ctx.Err() != nil {
		return problem.Wrap(ctx.Err(), problem.Interrupted, d.Path, "stopped while reading the dump", "")
	}
	if errors.Is(err, errNotADump) {
		return problem.New(problem.Corrupt, d.Path, "the dump is empty", "choose an earlier dump (pgrescue dump-list)")
	}
	if pe := asProblem(err); pe != nil {
		return pe
	}
	return corruptDump(d, err)
}

func asProblem(err error) error {
	if problem.KindOf(err) != problem.Unknown {
		return err
	}
	return nil
}

// checkRoles finds the roles the dump names that the server lacks; with
// Globals, that night's globals dump must create them all.
func (p *Plan) checkRoles(ctx context.Context) error {
	have, err := p.Server.Roles(ctx)
	if err != nil {
		return err
	}
	p.serverRoles = have
	for _, r := range p.Head.Roles {
		if !have[r] {
			p.Missing = append(p.Missing, r)
		}
	}
	if len(p.Missing) == 0 {
		return nil
	}
	g, found := p.Listing.GlobalsOf(p.Dump)
	if !p.Globals {
		next := "create them first (CREATE ROLE name;)"
		if found {
			next = "add --globals to create them from that night's " + path.Base(g.Path) + " (existing roles are left alone), or create them yourself (CREATE ROLE name;)"
		}
		return problem.New(problem.RolesMissing, p.Server.String(), "the dump's objects belong to or are granted to roles this server lacks: "+strings.Join(p.Missing, ", "), next)
	}
	if !found {
		return problem.New(problem.RolesMissing, p.Dump.Path, "--globals: no postgres_globals dump of the same night ("+p.Dump.TakenAt.Format("2006-01-02")+") to create "+strings.Join(p.Missing, ", ")+" from",
			"create the roles yourself (CREATE ROLE name;), then run again without --globals")
	}
	p.GlobalsDump = &g
	roles, err := p.globalsRoles(ctx)
	if err != nil {
		return err
	}
	var absent []string
	for _, r := range p.Missing {
		if !roles[r] {
			absent = append(absent, r)
		}
	}
	if len(absent) > 0 {
		return problem.New(problem.RolesMissing, g.Path, "the globals dump does not create "+strings.Join(absent, ", "), "create those roles yourself (CREATE ROLE name;), then run again")
	}
	return nil
}

// progress reports a stage's progress four times a second until stopped.
func (p *Plan) progress(ctx context.Context, stage Stage, d Dump, read *counter, f *filter, report func(Event)) func() {
	start := time.Now()
	event := func() Event {
		e := Event{Stage: stage, Total: d.Size, Elapsed: time.Since(start)}
		if read != nil {
			e.Read = read.n.Load()
		}
		if f != nil {
			if t, ok := f.current.Load().(string); ok {
				e.Table = t
			}
			e.Tables = int(f.started.Load())
		}
		return e
	}
	stop := every(ctx, 250*time.Millisecond, func() { report(event()) })
	return func() {
		stop()
		if read != nil {
			report(event())
		}
	}
}

// every calls tick at each interval until ctx ends or the returned stop
// is called, which waits for the last tick to return.
func every(ctx context.Context, interval time.Duration, tick func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				tick()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Commands are the shell commands the restore stands for: what an engineer
// would type to do it by hand, for plans, dry runs and training.
func (p *Plan) Commands() []shellcmd.Command {
	var cmds []shellcmd.Command
	maint := p.Server.PsqlLine(p.Server.maintenanceDB())
	if p.GlobalsDump != nil && len(p.Missing) > 0 {
		cmds = append(cmds, shellcmd.Command{
			Why:  "create the roles the dump needs (" + strings.Join(p.Missing, ", ") + ") from that night's globals; pgrescue leaves existing roles alone",
			Line: p.Source.FetchCommand(p.GlobalsDump.Path) + " | " + decompressCommand(*p.GlobalsDump) + " | " + maint,
		})
	}
	load := p.Source.FetchCommand(p.Dump.Path) + " | " + decompressCommand(p.Dump)
	if p.Head != nil && p.Head.Database != "" {
		cmds = append(cmds, shellcmd.Command{
			Why:  "load the dump into a new database " + p.Into + ": its CREATE DATABASE, ALTER DATABASE and \\connect lines name " + p.Into + " instead of " + p.Database,
			Line: load + " | " + renameSed(p.Database, p.Into) + " | " + maint,
		})
	} else {
		cmds = append(cmds,
			shellcmd.Command{Why: "the dump has no CREATE DATABASE (made without --create): create the new database first",
				Line: maint + " -c " + shellcmd.Quote("CREATE DATABASE "+QuoteIdent(p.Into)+" TEMPLATE template0")},
			shellcmd.Command{Why: "load the dump into it", Line: load + " | " + p.Server.PsqlLine(p.Into)})
	}
	if p.Head != nil && len(p.Head.Tables) > 0 {
		t := p.Head.Tables[0].Table
		cmds = append(cmds, shellcmd.Command{
			Why:  "check each table has the rows of its COPY section in the dump (pgrescue counts them as they pass), e.g. " + t,
			Line: p.Server.PsqlLine(p.Into) + " -At -c " + shellcmd.Quote("SELECT count(*) FROM ONLY "+t),
		})
	}
	return cmds
}

// decompressCommand is the shell filter that undoes a dump's compression.
func decompressCommand(d Dump) string {
	var words []string
	if d.Encrypted {
		words = append(words, "openssl smime -decrypt -binary -inform DEM -inkey KEY |")
	}
	switch d.Compression {
	case Gzip:
		words = append(words, "gunzip -c")
	case Bzip2:
		words = append(words, "bunzip2 -c")
	case XZ:
		words = append(words, "xz -dc")
	default:
		words = append(words, "cat")
	}
	return strings.Join(words, " ")
}

// renameSed is a sed that renames the dump's database outside its COPY
// data, as pgrescue does while streaming.
func renameSed(from, to string) string {
	esc := func(s string) string {
		return strings.NewReplacer(`\`, `\\`, `/`, `\/`, `.`, `\.`, `*`, `\*`, `[`, `\[`, `]`, `\]`, `$`, `\$`, `^`, `\^`, `&`, `\&`).Replace(s)
	}
	old, neu := esc(QuoteIdent(from)), esc(QuoteIdent(to))
	connect := esc(strings.TrimPrefix(connectMeta(from), `\connect `))
	newConnect := esc(strings.TrimPrefix(connectMeta(to), `\connect `))
	script := `/^COPY .* FROM stdin;$/,/^\\\.$/b` + "\n" +
		`s/^\(CREATE DATABASE\|ALTER DATABASE\|COMMENT ON DATABASE\) ` + old + `\( \|;\|$\)/\1 ` + neu + `\2/` + "\n" +
		`s/^\\connect ` + connect + `$/\\connect ` + newConnect + `/`
	return "sed -e " + shellcmd.Quote(script)
}

// Result is a finished restore.
type Result struct {
	Database     string // the new database
	Dump         Dump
	RolesCreated []string
	Verification Verification
	Took         time.Duration
	Jobs         int
}

// Run restores the checked dump: that night's roles first when asked,
// then the dump into the new database, then the verification. A failed
// import leaves the half-made database renamed <name>_incomplete.
func (p *Plan) Run(ctx context.Context, report func(Event)) (*Result, error) {
	report = shellcmd.Serialized(report)
	start := time.Now()
	res := &Result{Database: p.Into, Dump: p.Dump, Jobs: p.Jobs}
	if p.GlobalsDump != nil && len(p.Missing) > 0 {
		created, err := p.loadGlobals(ctx, report)
		res.RolesCreated, p.created = created, created
		if err != nil {
			return res, err
		}
	}
	var err error
	if p.Jobs > 1 {
		err = p.importParallel(ctx, report)
	} else {
		res.Jobs = 1
		err = p.importSerial(ctx, report)
	}
	if err != nil {
		return res, p.setAside(err, report)
	}
	report(Event{Stage: StageVerify, Of: len(p.Script.Tables), Elapsed: time.Since(start)})
	v, err := p.verify(ctx)
	res.Verification = v
	res.Took = time.Since(start)
	if err != nil {
		return res, err
	}
	if bad := v.Differences(); len(bad) > 0 {
		return res, problem.New(problem.DumpVerifyFailed, p.Into, "the restored database differs from the dump: "+strings.Join(bad, "; "),
			"the database is kept as "+p.Into+" for you to inspect; compare with the dump before using it")
	}
	return res, nil
}

// setAside renames a failed import's database to <name>_incomplete, so the
// name is free for another try and nobody mistakes it for a restore.
func (p *Plan) setAside(cause error, report func(Event)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exists, err := p.Server.DatabaseExists(ctx, p.Into)
	if err != nil {
		return cause
	}
	if !exists {
		if e, ok := cause.(*problem.Error); ok && !problem.Is(cause, problem.ServerUnreachable) {
			e.Next = strings.TrimSuffix(e.Next, ".") + ". No database was created"
		}
		return cause
	}
	report(Event{Stage: StageRename, Note: p.Into + " → " + p.Into + incompleteSuffix})
	aside, err := p.renameAside(ctx)
	e, ok := cause.(*problem.Error)
	if !ok {
		e = problem.Wrap(cause, problem.ImportFailed, p.Into, "the import failed", "")
	}
	if err != nil {
		e.Next = strings.TrimSuffix(e.Next, ".") + ". The half-made database is still called " + p.Into + " (renaming it failed: " + err.Error() + "); rename or inspect it before trying again"
		return e
	}
	e.Next = strings.TrimSuffix(e.Next, ".") + ". The half-made database is kept as " + aside + " (nothing was dropped): inspect it, then drop it yourself when done"
	return e
}

// renameAside renames the target to the first free <name>_incomplete[_N],
// waiting for the failed import's backend to go.
func (p *Plan) renameAside(ctx context.Context) (string, error) {
	for n := 1; ; n++ {
		suffix := incompleteSuffix
		if n > 1 {
			suffix += fmt.Sprintf("_%d", n)
		}
		name := fitName(p.Into, suffix, maxIdentifier)
		exists, err := p.Server.DatabaseExists(ctx, name)
		if err != nil {
			return "", err
		}
		if exists {
			continue
		}
		for {
			err = p.Server.Rename(ctx, p.Into, name)
			if !inUse(err) || ctx.Err() != nil {
				return name, err
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// Verification compares the restored database with the dump.
type Verification struct {
	Tables    []TableCount
	Sequences []SequenceCount
}

// TableCount is a table's rows in the dump and in the restored database.
type TableCount struct {
	Table          string
	Dump, Restored int64
}

// SequenceCount is a sequence's value in the dump and restored.
type SequenceCount struct {
	Sequence       string
	Dump, Restored int64
}

// Differences lists what does not match.
func (v Verification) Differences() []string {
	var bad []string
	for _, t := range v.Tables {
		if t.Dump != t.Restored {
			bad = append(bad, fmt.Sprintf("%s has %d rows, the dump %d", t.Table, t.Restored, t.Dump))
		}
	}
	for _, s := range v.Sequences {
		if s.Dump != s.Restored {
			bad = append(bad, fmt.Sprintf("sequence %s is at %d, the dump set %d", s.Sequence, s.Restored, s.Dump))
		}
	}
	return bad
}

// Lines are the verification as the command line and the wizard print
// it: a line per table and sequence.
func (v Verification) Lines() []string {
	mark := func(same bool) string {
		if same {
			return "ok"
		}
		return "DIFFERS"
	}
	var lines []string
	for _, t := range v.Tables {
		lines = append(lines, fmt.Sprintf("  %-7s %s: %d rows (dump: %d)", mark(t.Dump == t.Restored), t.Table, t.Restored, t.Dump))
	}
	for _, s := range v.Sequences {
		lines = append(lines, fmt.Sprintf("  %-7s sequence %s: %d (dump: %d)", mark(s.Dump == s.Restored), s.Sequence, s.Restored, s.Dump))
	}
	return lines
}

// Rows is the rows restored in all tables.
func (v Verification) Rows() int64 {
	var n int64
	for _, t := range v.Tables {
		n += t.Restored
	}
	return n
}

// verify counts every table's rows (ONLY: a parent's count leaves out its
// children, each counted on its own) and reads every sequence the dump set.
func (p *Plan) verify(ctx context.Context) (Verification, error) {
	var v Verification
	var sql strings.Builder
	seen := map[string]bool{}
	for _, t := range p.Script.Tables {
		if !seen[t.Table] {
			seen[t.Table] = true
			fmt.Fprintf(&sql, "SELECT 't', %s, count(*) FROM ONLY %s;\n", QuoteLiteral(t.Table), t.Table)
			v.Tables = append(v.Tables, TableCount{Table: t.Table, Dump: p.Script.RowCount(t.Table)})
		}
	}
	for _, s := range p.Script.Sequences {
		fmt.Fprintf(&sql, "SELECT 's', %s, last_value FROM %s;\n", QuoteLiteral(s.Sequence), s.Sequence)
		v.Sequences = append(v.Sequences, SequenceCount{Sequence: s.Sequence, Dump: s.Value})
	}
	if sql.Len() == 0 {
		return v, nil
	}
	rows, err := p.Server.Query(ctx, p.Into, sql.String())
	if err != nil {
		return v, err
	}
	got := map[string]int64{}
	for _, r := range rows {
		if len(r) == 3 {
			var n int64
			fmt.Sscan(r[2], &n)
			got[r[0]+r[1]] = n
		}
	}
	for i := range v.Tables {
		v.Tables[i].Restored = got["t"+v.Tables[i].Table]
	}
	for i := range v.Sequences {
		v.Sequences[i].Restored = got["s"+v.Sequences[i].Sequence]
	}
	sort.SliceStable(v.Tables, func(i, j int) bool { return v.Tables[i].Dump > v.Tables[j].Dump })
	return v, nil
}
