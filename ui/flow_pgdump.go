package ui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/wale"
)

// The pg_dump flow restores one database from the legacy nightly dumps:
// the source (the primary's mount point, the backup machine, the offsite
// archive), the dump, the check (the whole dump read once, the server and
// the roles), then the import into a new database with its verification.

// pgDumpSourceText is how the source page offers this flow.
const pgDumpSourceText = "Legacy nightly pg_dump (autopostgresqlbackup): one database as of the last nightly dump (03:00), " +
	"into a new database next to the live one; everything after the dump is lost. From the primary, the backup machine or S3."

// pgDumpCrumbs are the flow's pages, for the breadcrumb.
var pgDumpCrumbs = []string{"Dumps", "Dump", "Check", "Import"}

// PgDumpRequest is what the pg_dump flow gathers.
type PgDumpRequest struct {
	Source   string // as restore pg-dump's --source
	Database string
	Dump     string // the dump's path in its tree
	Globals  bool   // create the missing roles from that night's globals
	Jobs     int
	Replace  bool // once verified, the restored database takes the live one's name
}

// PgDumpBackend does the flow's work over the pgdump engine; the server
// it restores into is the backend's (libpq's settings, as psql's).
type PgDumpBackend interface {
	// List lists a source's dumps, with what the source says about itself
	// (the offsite archive: how stale it is). passphrase is the duplicity
	// archive's, "" for none (or PASSPHRASE from the environment); the
	// source keeps it for the restore.
	List(ctx context.Context, source string, passphrase []byte) (*pgdump.Listing, []string, error)
	Prepare(ctx context.Context, req PgDumpRequest, report func(pgdump.Event)) (*pgdump.Plan, error)
	Run(ctx context.Context, plan *pgdump.Plan, report func(pgdump.Event)) (*pgdump.Result, error)
	// Replace renames the live database aside (kept) and the restored one
	// into its name. With terminate it first ends the sessions on the live
	// one; without, sessions stop it with pgdump.SessionsError.
	Replace(ctx context.Context, plan *pgdump.Plan, terminate bool) (*pgdump.Swap, error)
}

// pgDumpFlow is the flow's state, shared by its pages.
type pgDumpFlow struct {
	sel     Selection
	req     PgDumpRequest
	sources []dumpSource
	listing *pgdump.Listing
	notes   []string
}

// dumpSource is one place the dumps are kept, as the source page lists it.
type dumpSource struct {
	label string
	url   string
	found string // what listing it found, once tried
	err   error
}

func startPgDump(m *Model, s Selection) tea.Cmd {
	f := &pgDumpFlow{sel: s, req: PgDumpRequest{Jobs: 1}, sources: dumpSources(s)}
	p := &dumpSourcePage{flow: f}
	p.next = pgDumpCrumbs[1:]
	return m.push(p)
}

// dumpSources are the runbook's three places, named for the application.
func dumpSources(s Selection) []dumpSource {
	d := s.Details
	dir := strings.TrimSuffix(cmp.Or(d.PgDumpDir, hosting.DefaultPgDumpDir), "/")
	return []dumpSource{
		{label: hosting.MountPoint.String(), url: dir},
		{label: hosting.BackupMachine.String(), url: "ssh://" + cmp.Or(d.BackupHost, hosting.DefaultBackupHost) + hosting.DefaultBackupRoot + "/" + hosting.DefaultPrimaryFQDN + dir},
		{label: hosting.S3Duplicity.String(), url: cmp.Or(d.OffsiteURL, hosting.OffsiteURL)},
	}
}

// dumpSourcePage chooses where to read the dumps from, and lists them.
type dumpSourcePage struct {
	basePage
	flow       *pgDumpFlow
	cursor     int
	listing    *job
	passphrase textinput.Model // the duplicity archive's, asked when it needs one
	asking     bool
}

func (p *dumpSourcePage) Crumb() string { return "Dumps" }
func (p *dumpSourcePage) Typing() bool  { return p.asking }
func (p *dumpSourcePage) Keys() []key.Binding {
	if p.asking {
		return []key.Binding{binding("enter", "list the archive with this passphrase", "enter")}
	}
	return []key.Binding{keyChoose, binding("enter", "list its dumps", "enter")}
}

// needsPassphrase: duplicity could not decrypt the archive without one,
// or with the one given.
func needsPassphrase(err error) bool {
	return problem.Is(err, problem.PassphraseNeeded) || problem.Is(err, problem.WrongPassphrase)
}

func (p *dumpSourcePage) askPassphrase() tea.Cmd {
	p.asking = true
	p.passphrase = newTextInput("passphrase", 40)
	p.passphrase.EchoMode = textinput.EchoPassword
	return p.passphrase.Focus()
}

func (p *dumpSourcePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if p.listing != nil {
			return nil
		}
		if p.asking {
			if msg.String() == "enter" {
				secret := []byte(p.passphrase.Value())
				p.passphrase.SetValue("")
				p.asking = false
				return p.listWith(m, secret)
			}
			var cmd tea.Cmd
			p.passphrase, cmd = p.passphrase.Update(msg)
			return cmd
		}
		switch msg.String() {
		case "up", "k":
			p.cursor = max(p.cursor-1, 0)
		case "down", "j":
			p.cursor = min(p.cursor+1, len(p.flow.sources)-1)
		case "enter":
			return p.list(m)
		}
	case jobDone:
		return p.listed(m, msg.result)
	}
	return nil
}

type listed struct {
	listing *pgdump.Listing
	notes   []string
	err     error
}

func (p *dumpSourcePage) list(m *Model) tea.Cmd { return p.listWith(m, nil) }

// listWith lists the chosen source; the passphrase is cleared once the
// backend has it.
func (p *dumpSourcePage) listWith(m *Model, passphrase []byte) tea.Cmd {
	src := p.flow.sources[p.cursor]
	m.deps.Journal.Event("dumps", "listing "+src.url)
	m.say("Listing the dumps in %s…", src.url)
	backend := m.deps.PgDump
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		l, notes, err := backend.List(ctx, src.url, passphrase)
		clear(passphrase)
		return listed{l, notes, err}
	})
	p.listing = j
	return cmd
}

func (p *dumpSourcePage) listed(m *Model, result any) tea.Cmd {
	p.listing = nil
	r := result.(listed)
	src := &p.flow.sources[p.cursor]
	src.err = r.err
	if r.err != nil {
		src.found = ""
		m.say("%s", r.err.Error())
		if needsPassphrase(r.err) {
			return p.askPassphrase()
		}
		if m.plain() {
			return m.end(r.err)
		}
		return nil
	}
	mine := dumpsFor(r.listing, p.flow.sel.Details.Databases)
	src.found = fmt.Sprintf("%d dumps", len(mine))
	if len(mine) > 0 {
		src.found += ", newest " + mine[0].TakenAt.Format("2006-01-02 15:04 MST")
	}
	m.say("Found %s.", src.found)
	for _, n := range r.notes {
		m.say("Note: %s", n)
	}
	p.flow.req.Source, p.flow.listing, p.flow.notes = src.url, r.listing, r.notes
	if len(mine) == 0 {
		src.err = problem.New(problem.NoBackups, src.url, "no dump of this application's databases here", "choose another source")
		if m.plain() {
			return m.end(src.err)
		}
		return nil
	}
	next := &dumpChoicePage{flow: p.flow, dumps: mine}
	next.next = pgDumpCrumbs[2:]
	return m.push(next)
}

// dumpsFor keeps the per-database dumps of the application's databases
// (all of them when the catalog names none), newest first.
func dumpsFor(l *pgdump.Listing, databases []string) []pgdump.Dump {
	var kept []pgdump.Dump
	for _, d := range l.Dumps {
		if d.AllDatabases() || d.Globals() {
			continue
		}
		if len(databases) == 0 || slices.Contains(databases, d.Database) {
			kept = append(kept, d)
		}
	}
	return kept
}

func (p *dumpSourcePage) Ask(m *Model) *Question {
	if p.asking {
		return &Question{Text: "The archive's passphrase (hieradata backup::assets::backup_private_gpg_key_passphrase)", Secret: true}
	}
	q := &Question{Text: "Dumps from", Default: p.cursor}
	for _, s := range p.flow.sources {
		q.Options = append(q.Options, s.label+": "+s.url)
	}
	return q
}

func (p *dumpSourcePage) Answer(m *Model, a Answer) tea.Cmd {
	if p.asking {
		p.asking = false
		return p.listWith(m, []byte(a.Text))
	}
	p.cursor = a.Choice
	return p.list(m)
}

func (p *dumpSourcePage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Where are the nightly dumps?") + "\n")
	b.WriteString(wrapWords("autopostgresqlbackup dumped each database at 03:00 onto the primary's own mount point; the backup machine copied them every morning; until July 2018 they also went to S3 with duplicity.", w) + "\n\n")
	for i, s := range p.flow.sources {
		text := s.label + "\n" + s.url
		switch {
		case p.listing != nil && i == p.cursor:
			text += "\n" + m.st.Running.Render("listing…")
		case s.err != nil:
			text += "\n" + m.st.Error.Render(s.err.Error())
		case s.found != "":
			text += "\n" + m.st.OK.Render(s.found)
		}
		b.WriteString(choiceLine(m, text, i == p.cursor, w) + "\n")
	}
	if p.asking {
		b.WriteString("\n" + wrapWords("duplicity needs the passphrase of the offsite GPG key (hieradata backup::assets::backup_private_gpg_key_passphrase; the key itself must be in your keyring: gpg --import). It is kept in memory only:", w) + "\n")
		b.WriteString(p.passphrase.View() + "\n")
	}
	return b.String()
}

// dumpChoicePage chooses the dump: newest first, with its age and size.
type dumpChoicePage struct {
	basePage
	flow   *pgDumpFlow
	dumps  []pgdump.Dump
	cursor int
	offset int
}

func (p *dumpChoicePage) Crumb() string { return "Dump" }
func (p *dumpChoicePage) Keys() []key.Binding {
	return []key.Binding{keyChoose, binding("enter", "check this dump", "enter")}
}

func (p *dumpChoicePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "up", "k":
			p.cursor = max(p.cursor-1, 0)
		case "down", "j":
			p.cursor = min(p.cursor+1, len(p.dumps)-1)
		case "enter":
			return p.choose(m)
		}
	}
	return nil
}

func (p *dumpChoicePage) describe(m *Model, d pgdump.Dump) string {
	age := m.deps.Now().Sub(d.TakenAt)
	text := fmt.Sprintf("%s  %s %s, %s ago, %s %s", d.Database, d.Kind, d.TakenAt.Format("Mon 2006-01-02 15:04 MST"), roundAge(age), humanSize(d.Size), d.Compression)
	if d.Encrypted {
		text += ", encrypted"
	}
	if d.TimeMismatch != "" {
		text += " (" + d.TimeMismatch + ")"
	}
	return text
}

func roundAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d minutes", max(int(d.Minutes()), 0))
}

func humanSize(n int64) string {
	if n <= 0 {
		return "size unknown,"
	}
	return wale.HumanBytes(n) + ","
}

func (p *dumpChoicePage) choose(m *Model) tea.Cmd {
	d := p.dumps[p.cursor]
	p.flow.req.Database, p.flow.req.Dump, p.flow.req.Globals = d.Database, d.Path, false
	m.deps.Journal.Event("dump", d.Path)
	check := &dumpCheckPage{flow: p.flow}
	check.next = pgDumpCrumbs[3:]
	return tea.Batch(m.push(check), check.start(m))
}

func (p *dumpChoicePage) Ask(m *Model) *Question {
	q := &Question{Text: "Dump"}
	for _, d := range p.dumps {
		q.Options = append(q.Options, p.describe(m, d))
	}
	return q
}

func (p *dumpChoicePage) Answer(m *Model, a Answer) tea.Cmd {
	p.cursor = a.Choice
	return p.choose(m)
}

func (p *dumpChoicePage) View(m *Model) string {
	w := m.width - 2
	var head, list strings.Builder
	head.WriteString(m.st.Bold.Render("Which dump? Newest first") + "\n")
	for _, n := range p.flow.notes {
		head.WriteString(m.st.Warn.Render(wrapWords(n, w)) + "\n")
	}
	head.WriteString("\n")
	for i, d := range p.dumps {
		list.WriteString(choiceLine(m, p.describe(m, d), i == p.cursor, w) + "\n")
	}
	room := m.bodyHeight() - strings.Count(head.String(), "\n") - 1
	p.offset = max(min(p.offset, p.cursor), p.cursor-room+2)
	return head.String() + scrollLines(list.String(), &p.offset, room)
}

// dumpCheckPage reads the whole dump once and checks the server, then
// shows the plan; enter starts the import (into a new database: nothing
// that exists is changed).
type dumpCheckPage struct {
	basePage
	flow     *pgDumpFlow
	job      *job
	progress pgdump.Event
	plan     *pgdump.Plan
	err      error
	offset   int
	confirm  textinput.Model // the live database's name, typed to replace it
	typing   bool
	refusal  string
}

func (p *dumpCheckPage) Crumb() string { return "Check" }
func (p *dumpCheckPage) Typing() bool  { return p.typing }

func (p *dumpCheckPage) Keys() []key.Binding {
	switch {
	case p.typing:
		return []key.Binding{binding("enter", "restore, then replace "+p.plan.Database+", once its name is typed", "enter")}
	case p.plan != nil:
		return []key.Binding{binding("up/down", "scroll the plan", "up", "down"), binding("enter", "restore into "+p.plan.Into, "enter"),
			binding("r", "restore, then replace "+p.plan.Database, "r")}
	case p.canLoadGlobals():
		return []key.Binding{binding("g", "create the roles from that night's globals", "g")}
	}
	return nil
}

func (p *dumpCheckPage) start(m *Model) tea.Cmd {
	p.plan, p.err, p.progress = nil, nil, pgdump.Event{}
	m.say("Checking %s and the server before anything changes…", p.flow.req.Dump)
	backend, req := m.deps.PgDump, p.flow.req
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		plan, err := backend.Prepare(ctx, req, func(e pgdump.Event) { emit(e) })
		if err != nil {
			return err
		}
		return plan
	})
	p.job = j
	return cmd
}

// canLoadGlobals: the check stopped on roles the server lacks, and that
// night's globals dump is there to create them.
func (p *dumpCheckPage) canLoadGlobals() bool {
	if !problem.Is(p.err, problem.RolesMissing) || p.flow.req.Globals || p.flow.listing == nil {
		return false
	}
	for _, d := range p.flow.listing.Dumps {
		if d.Path == p.flow.req.Dump {
			_, ok := p.flow.listing.GlobalsOf(d)
			return ok
		}
	}
	return false
}

func (p *dumpCheckPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		for _, e := range msg.events {
			if ev, ok := e.(pgdump.Event); ok {
				p.progress = ev
			}
		}
		if p.job != nil {
			return p.job.listen()
		}
	case jobDone:
		p.job = nil
		return p.checked(m, msg.result)
	case tea.KeyPressMsg:
		if p.typing {
			if msg.String() == "enter" {
				return p.confirmReplace(m, p.confirm.Value())
			}
			var cmd tea.Cmd
			p.confirm, cmd = p.confirm.Update(msg)
			return cmd
		}
		if scrollKey(&p.offset, msg.String()) {
			return nil
		}
		switch msg.String() {
		case "r":
			if p.plan != nil {
				p.typing = true
				p.confirm = newTextInput(p.plan.Database, 40)
				return p.confirm.Focus()
			}
		case "g":
			if p.canLoadGlobals() {
				p.flow.req.Globals = true
				return p.start(m)
			}
		case "enter":
			if p.plan != nil {
				return p.proceed(m)
			}
		}
	}
	return nil
}

func (p *dumpCheckPage) checked(m *Model, result any) tea.Cmd {
	switch r := result.(type) {
	case error:
		p.err = r
		m.deps.Journal.Event("check", r.Error())
		m.say("%s", r.Error())
		if m.plain() && !p.canLoadGlobals() {
			return m.end(r)
		}
	case *pgdump.Plan:
		p.plan = r
		m.deps.Journal.Event("plan", planScript(r))
		m.say("The dump is a pg_dump %s of %s. The plan (nothing has been changed yet):", cmp.Or(r.Head.DumpedBy, "(version not given)"), r.Database)
		m.say("%s", strings.TrimRight(planScript(r), "\n"))
		if m.plain() && m.deps.DryRun {
			m.say("Dry run: nothing was run.")
			m.outcome.Summary = "The plan for " + r.Database + ":\n\n" + planScript(r)
			return m.end(nil)
		}
	}
	return nil
}

func planScript(p *pgdump.Plan) string {
	var b strings.Builder
	for _, c := range p.Commands() {
		if c.Why != "" {
			b.WriteString("# " + c.Why + "\n")
		}
		if c.Line != "" {
			b.WriteString(c.Line + "\n")
		}
	}
	return b.String()
}

// confirmReplace goes on with the replace when the live database's name
// was typed: enter alone never renames it.
func (p *dumpCheckPage) confirmReplace(m *Model, typed string) tea.Cmd {
	if strings.TrimSpace(typed) != p.plan.Database {
		p.refusal = "Type " + p.plan.Database + " exactly to replace it. Nothing has been changed."
		m.deps.Journal.Event("replace", "confirmation refused")
		return nil
	}
	p.typing, p.refusal = false, ""
	p.flow.req.Replace = true
	m.deps.Journal.Event("replace", "confirmed for "+p.plan.Database)
	return p.proceed(m)
}

func (p *dumpCheckPage) proceed(m *Model) tea.Cmd {
	if m.deps.DryRun {
		m.outcome.Summary = "The plan for " + p.plan.Database + " (dry run, nothing was run):\n\n" + planScript(p.plan)
		return m.quit()
	}
	run := &dumpImportPage{flow: p.flow, plan: p.plan}
	return tea.Batch(m.push(run), run.start(m))
}

// Ask: yes starts the import; g, after missing roles, loads the globals.
func (p *dumpCheckPage) Ask(m *Model) *Question {
	if p.job != nil {
		return nil
	}
	if p.canLoadGlobals() {
		return &Question{Text: "Type g to create the missing roles from that night's globals dump and check again"}
	}
	if p.plan == nil {
		return nil
	}
	return &Question{Text: "Type yes to restore into the new database " + p.plan.Into + ", or " + p.plan.Database + " to restore and then replace it"}
}

func (p *dumpCheckPage) Answer(m *Model, a Answer) tea.Cmd {
	if p.canLoadGlobals() {
		if a.Text != "g" {
			return m.end(p.err)
		}
		p.flow.req.Globals = true
		return p.start(m)
	}
	switch a.Text {
	case "yes":
		return p.proceed(m)
	case p.plan.Database:
		return p.confirmReplace(m, a.Text)
	}
	return m.end(problem.New(problem.Usage, "confirmation", "the restore was not confirmed: nothing was run", "run pgrescue again and answer yes"))
}

func (p *dumpCheckPage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Checking the dump before anything changes") + "\n")
	b.WriteString(wrapWords("The dump must be a pg_dump of "+p.flow.req.Database+", the server reachable, the new name free and the roles its schema needs there. The rest of the dump is checked while it loads: a problem stops the import and sets the new database aside.", w) + "\n\n")
	switch {
	case p.job != nil:
		b.WriteString(m.st.Running.Render(wrapWords(p.progress.String(), w)) + "\n")
	case p.err != nil:
		b.WriteString(m.st.Error.Render(wrapWords(p.err.Error(), w)) + "\n")
		if p.canLoadGlobals() {
			b.WriteString("\n" + wrapWords("Press g to create the missing roles from that night's postgres_globals dump (roles that exist are left as they are) and check again.", w) + "\n")
		}
	case p.plan != nil:
		head := b.String() + m.st.OK.Render(wrapWords(fmt.Sprintf("The server is ready, the name %s is free and the roles are there; the dump is a pg_dump %s of %s.", p.plan.Into, cmp.Or(p.plan.Head.DumpedBy, "(version not given)"), p.plan.Database), w)) + "\n"
		head += wrapWords("The plan: restore into a new database "+p.plan.Into+" next to the live one; nothing that exists is changed.", w) + "\n\n"
		foot := "\n" + wrapWords("Press enter to start the import, or r to restore and then put it in place of "+p.plan.Database+" (the live one is kept, renamed).", w) + "\n"
		if p.typing {
			foot = "\n" + wrapWords("To restore and then replace "+p.plan.Database+" (kept as "+p.plan.Database+"_before_<time>), type its name and press enter:", w) + "\n" + p.confirm.View() + "\n"
		}
		if p.refusal != "" {
			foot += m.st.Error.Render(wrapWords(p.refusal, w)) + "\n"
		}
		room := m.bodyHeight() - strings.Count(head, "\n") - strings.Count(foot, "\n") - 1
		return head + scrollLines(commandsView(m, p.plan.Commands(), w), &p.offset, room) + "\n" + foot
	}
	return b.String()
}

// dumpImportPage loads the dump live, then shows the verification.
type dumpImportPage struct {
	basePage
	flow     *pgDumpFlow
	plan     *pgdump.Plan
	job      *job
	progress pgdump.Event
	result   *pgdump.Result
	err      error
	checking bool   // the exercise's check is running
	verdict  string // the exercise's verdict
}

func (p *dumpImportPage) Crumb() string { return "Import" }
func (p *dumpImportPage) Sealed() bool  { return p.job != nil }
func (p *dumpImportPage) Keys() []key.Binding {
	if p.job != nil {
		return nil
	}
	return []key.Binding{keyQuit}
}

func (p *dumpImportPage) start(m *Model) tea.Cmd {
	m.say("Loading %s into %s…", p.plan.Dump.Path, p.plan.Into)
	backend, plan := m.deps.PgDump, p.plan
	j, cmd := m.startJob(p, func(ctx context.Context, emit func(any)) any {
		res, err := backend.Run(ctx, plan, func(e pgdump.Event) { emit(e) })
		return importDone{res, err}
	})
	p.job = j
	return cmd
}

type importDone struct {
	res *pgdump.Result
	err error
}

// Interrupt stops the import: psql cancels its statement, and the half-made
// database is set aside as <name>_incomplete.
func (p *dumpImportPage) Interrupt(m *Model) tea.Cmd {
	if p.job == nil {
		return m.interrupt()
	}
	p.job.cancel()
	return nil
}

// Abandon stops the import when the program is ending under it.
func (p *dumpImportPage) Abandon(m *Model, wait func(*job) bool) {
	if p.job != nil {
		wait(p.job)
	}
}

func (p *dumpImportPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobEvents:
		for _, e := range msg.events {
			if ev, ok := e.(pgdump.Event); ok {
				if ev.Stage != p.progress.Stage && ev.Stage != pgdump.StageImport {
					m.say("%s", ev.String())
				}
				p.progress = ev
			}
		}
		if p.job != nil {
			return p.job.listen()
		}
	case jobDone:
		p.job = nil
		if r, ok := msg.result.(checkResult); ok {
			return p.checked(m, r)
		}
		d := msg.result.(importDone)
		p.result, p.err = d.res, d.err
		return p.finished(m)
	case tea.KeyPressMsg:
		if msg.String() == "q" && p.job == nil {
			return m.quit()
		}
	}
	return nil
}

func (p *dumpImportPage) finished(m *Model) tea.Cmd {
	summary := p.summary()
	m.outcome.Summary = summary
	m.outcome.Err = p.err
	if p.err != nil {
		m.deps.Journal.Event("import", p.err.Error())
	} else {
		m.deps.Journal.Event("import", fmt.Sprintf("restored into %s: %d tables, %d rows, verified", p.result.Database, len(p.result.Verification.Tables), p.result.Verification.Rows()))
	}
	m.say("%s", strings.TrimRight(summary, "\n"))
	if p.flow.req.Replace && p.err == nil {
		r := &dumpReplacePage{flow: p.flow, plan: p.plan}
		return tea.Batch(m.push(r), r.start(m, false))
	}
	if m.deps.Training != nil && p.err == nil {
		return p.startCheck(m)
	}
	if m.plain() {
		return m.end(p.err)
	}
	return nil
}

// startCheck asks the exercise whether the restore reached its goal.
func (p *dumpImportPage) startCheck(m *Model) tea.Cmd {
	check, s := m.deps.Training.Check, p.plan.Server
	port, _ := strconv.Atoi(s.Port)
	p.checking = true
	j, cmd := m.startJob(p, func(ctx context.Context, _ func(any)) any {
		ok, msg, err := check(ctx, s.Host, port, s.User)
		return checkResult{ok: ok, message: msg, err: err}
	})
	p.job = j
	return cmd
}

func (p *dumpImportPage) checked(m *Model, r checkResult) tea.Cmd {
	p.checking = false
	p.verdict = verdictText(r.ok, r.message, r.err, m.deps.Now().Sub(m.began))
	m.deps.Journal.Event("exercise", p.verdict)
	m.outcome.Summary += p.verdict + "\n"
	m.say("%s", p.verdict)
	if m.plain() {
		return m.end(nil)
	}
	return nil
}

// summary is the verification and what to do next.
func (p *dumpImportPage) summary() string {
	var b strings.Builder
	if p.err != nil {
		b.WriteString("The import failed: " + p.err.Error() + "\n")
	}
	if r := p.result; r != nil && (p.err == nil || problem.Is(p.err, problem.DumpVerifyFailed)) {
		fmt.Fprintf(&b, "Restored %s into %s in %s.\n", p.plan.Dump.Path, r.Database, r.Took.Round(time.Second))
		if len(r.RolesCreated) > 0 {
			fmt.Fprintf(&b, "Roles created from that night's globals: %s\n", strings.Join(r.RolesCreated, ", "))
		}
		b.WriteString(strings.Join(r.Verification.Lines(), "\n") + "\n")
		fmt.Fprintf(&b, "Verified: %d tables, %d rows, %d sequences against the dump.\n", len(r.Verification.Tables), r.Verification.Rows(), len(r.Verification.Sequences))
		if p.err == nil && !p.flow.req.Replace {
			fmt.Fprintf(&b, "Next: check it with %s\n", p.plan.Server.PsqlLine(r.Database))
			fmt.Fprintf(&b, "Then, to put it in place of %s, keeping the old one: ALTER DATABASE %s RENAME TO %s; ALTER DATABASE %s RENAME TO %s; (or type %s at the plan next time: pgrescue does both).\n",
				p.plan.Database, pgdump.QuoteIdent(p.plan.Database), pgdump.QuoteIdent(pgdump.BeforeName(p.plan.Database, p.plan.Now)), pgdump.QuoteIdent(r.Database), pgdump.QuoteIdent(p.plan.Database), p.plan.Database)
		}
	}
	return b.String()
}

func (p *dumpImportPage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Loading "+p.plan.Dump.Path+" into "+p.plan.Into) + "\n\n")
	if p.job != nil {
		b.WriteString(m.st.Running.Render(wrapWords(p.progress.String(), w)) + "\n\n")
		b.WriteString(wrapWords("ctrl+c stops the import; the half-made database is then renamed "+p.plan.Into+"_incomplete, never dropped.", w) + "\n")
		return b.String()
	}
	summary := p.summary()
	switch {
	case p.checking:
		summary += "\nChecking the exercise's goal…\n"
	case p.verdict != "":
		summary += "\n" + p.verdict + "\n"
	}
	if p.err != nil {
		return b.String() + m.st.Error.Render(wrapWords(summary, w)) + "\n"
	}
	room := m.bodyHeight() - 3
	offset := 0
	return b.String() + scrollLines(summary, &offset, room) + "\n"
}
