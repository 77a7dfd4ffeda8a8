package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"pgrescue/hosting"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/restore/walerestore"
	"pgrescue/shellcmd"
)

// RunPlain is the wizard as line-by-line questions and answers, for a
// screen reader, a pipe or TERM=dumb: the same steps and the same Backend,
// every state change printed once as a full sentence, no colour, no
// cursor movement. Answers are read one line at a time.
func RunPlain(deps Deps, in io.Reader, out io.Writer) Outcome {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Catalog == nil {
		deps.Catalog = hosting.DefaultCatalog()
	}
	p := &plain{deps: deps, in: bufio.NewReader(in), out: out, began: deps.Now(), req: deps.Defaults}
	p.inFile, _ = in.(*os.File)
	err := p.run()
	if err != nil {
		p.outcome.Err = err
		if errors.Is(err, io.EOF) {
			p.outcome.Err = problem.New(problem.Usage, "standard input", "the answers ended before the restore could start", "answer every question; nothing was changed")
		}
	}
	return p.outcome
}

type plain struct {
	deps    Deps
	in      *bufio.Reader
	inFile  *os.File
	out     io.Writer
	began   time.Time
	req     Request
	outcome Outcome
}

func (p *plain) say(format string, args ...any) { fmt.Fprintf(p.out, format+"\n", args...) }

// ask prints a question and reads one answer line; def is used for an empty answer.
func (p *plain) ask(question, def string) (string, error) {
	if def != "" {
		question += " [" + def + "]"
	}
	fmt.Fprint(p.out, question+": ")
	line, err := p.in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		fmt.Fprintln(p.out)
		return "", err
	}
	answer := strings.TrimSpace(line)
	if answer == "" {
		answer = def
	}
	return answer, nil
}

// choose asks for one of the numbered options, again until the answer is one.
func (p *plain) choose(question string, options []string, def int) (int, error) {
	for i, o := range options {
		p.say("  %d) %s", i+1, o)
	}
	for {
		answer, err := p.ask(question, strconv.Itoa(def+1))
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		p.say("Please answer with a number from 1 to %d.", len(options))
	}
}

func (p *plain) run() error {
	p.say("pgrescue: PostgreSQL restore wizard (plain mode).")
	if p.deps.DryRun {
		p.say("DRY RUN: nothing will be changed.")
	}
	if err := p.brief(); err != nil {
		return err
	}
	app, err := p.chooseApp()
	if err != nil {
		return err
	}
	details := p.deps.Config.Details(app)
	route, err := p.chooseHosting(app, details)
	if err != nil || route == hosting.RouteNothing {
		return err
	}
	if route == hosting.RouteRDS {
		p.manual("AWS RDS", hosting.RDSSteps(app, details))
		return nil
	}
	source, err := p.choose("Source", []string{
		"WAL-E continuous archive (recommended): any moment after a nightly base backup; restores the whole cluster",
		"Legacy nightly pg_dump from " + hosting.MountPoint.String(),
		"Legacy nightly pg_dump from " + hosting.BackupMachine.String(),
		"Legacy nightly pg_dump from " + hosting.S3Duplicity.String(),
	}, 0)
	if err != nil {
		return err
	}
	if source > 0 {
		src := hosting.DumpSources[source-1]
		p.manual("legacy pg_dump from "+src.String(), hosting.PgDumpSteps(app, details, src))
		return nil
	}
	p.req.Envdir = orDefault(p.req.Envdir, details.WALEEnvdir)
	if p.req.PGData == "" {
		p.req.PGData, p.req.Cluster = details.PGData, details.Cluster
	}
	return p.walE()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (p *plain) chooseApp() (hosting.App, error) {
	for {
		answer, err := p.ask("Application (its name; empty if you know where the database is hosted)", "")
		if err != nil || answer == "" {
			return hosting.App{}, err
		}
		if app, ok := p.deps.Catalog.Find(answer); ok {
			p.req.App = app.Name()
			return app, nil
		}
		matches := p.deps.Catalog.Filter(answer)
		if len(matches) == 0 {
			p.say("No application in %s matches %q.", p.deps.Catalog.Source, answer)
			continue
		}
		var names []string
		for _, a := range matches[:min(len(matches), 10)] {
			names = append(names, a.Name())
		}
		p.say("Several applications match: %s. Type one of them.", strings.Join(names, ", "))
	}
}

func (p *plain) chooseHosting(app hosting.App, details hosting.AppDetails) (hosting.Route, error) {
	def := 1
	if app.Name() != "" {
		d := hosting.Decide(app, details)
		p.say("%s", d.Statement)
		p.say("%s", d.Meaning)
		for _, c := range d.Cautions {
			p.say("Note: %s", c)
		}
		switch d.Route {
		case hosting.RouteRDS:
			def = 0
		case hosting.RouteNothing, hosting.RouteUnknown:
			p.say("There is nothing for pgrescue to restore for it, unless the catalog is out of date.")
			if i, err := p.choose("Hosting", []string{"Stop here", "AWS RDS", "Carrenza/6DG (self-managed PostgreSQL)"}, 0); err != nil || i == 0 {
				return hosting.RouteNothing, err
			} else if i == 1 {
				return hosting.RouteRDS, nil
			}
			return hosting.RouteSelfManaged, nil
		}
	}
	i, err := p.choose("Hosting", []string{"AWS RDS", "Carrenza/6DG (self-managed PostgreSQL)"}, def)
	if i == 0 {
		return hosting.RouteRDS, err
	}
	return hosting.RouteSelfManaged, err
}

func (p *plain) manual(branch string, steps []shellcmd.Command) {
	p.say("pgrescue does not restore this branch by itself yet. The runbook's steps for %s:", branch)
	p.outcome.Summary = shellcmd.Script(steps)
}

func (p *plain) walE() error {
	if p.req.PGData == "" {
		dir, err := p.ask("Data directory to restore into", "")
		if err != nil {
			return err
		}
		p.req.PGData = dir
	}
	p.req.MoveAside = true
	rep, err := p.preflight()
	if err != nil {
		return err
	}
	if rep.KeyProtected {
		if err := p.unlock(); err != nil {
			return err
		}
	}
	if err := p.chooseBackupAndTarget(rep); err != nil {
		return err
	}
	plan, err := p.deps.Backend.Plan(p.deps.Context, p.req)
	if err != nil {
		return err
	}
	return p.confirmAndRun(plan)
}

func (p *plain) preflight() (*walerestore.Report, error) {
	p.say("Preflight checks (nothing is changed):")
	rep := p.deps.Backend.Preflight(p.deps.Context, p.req, func(c walerestore.Check) {
		if c.Status == walerestore.Running {
			return
		}
		p.say("%s %s: %s", checkMarks[c.Status], c.Title, c.Detail)
		if c.Fix != "" && c.Status != walerestore.Passed {
			p.say("       next: %s", c.Fix)
		}
	})
	if failed := rep.FirstFailure(); failed != nil {
		return nil, failed.Err
	}
	return rep, nil
}

// unlock asks for the passphrase (not echoed on a terminal) and keeps it
// in memory for this restore.
func (p *plain) unlock() error {
	p.say("The archive's key is protected by a passphrase. The runbook: %q", runbookGPG)
	p.say("pgrescue unlocks it in memory for this restore; nothing on disk changes.")
	for tries := 0; tries < 3; tries++ {
		passphrase, err := p.readSecret("Passphrase")
		if err != nil {
			return err
		}
		err = p.deps.Backend.Unlock(p.deps.Context, p.req, passphrase)
		clear(passphrase)
		if err == nil {
			p.say("Unlocked in memory: an archived object decrypted with it.")
			return nil
		}
		if !problem.Is(err, problem.WrongPassphrase) {
			return err
		}
		p.say("That passphrase does not unlock the key.")
	}
	return problem.New(problem.WrongPassphrase, "GPG key", "three passphrases were refused", "find the passphrase (the runbook keeps it with the secrets) and run pgrescue again")
}

func (p *plain) readSecret(question string) ([]byte, error) {
	if p.inFile != nil && term.IsTerminal(int(p.inFile.Fd())) && p.in.Buffered() == 0 {
		fmt.Fprint(p.out, question+" (not shown): ")
		secret, err := term.ReadPassword(int(p.inFile.Fd()))
		fmt.Fprintln(p.out)
		return secret, err
	}
	answer, err := p.ask(question+" (read from the input, not shown)", "")
	return []byte(answer), err
}

func (p *plain) chooseBackupAndTarget(rep *walerestore.Report) error {
	backups := append([]wale.Backup(nil), rep.Backups...)
	sortByCompletion(backups)
	p.say("Base backups (completed, UTC):")
	var names []string
	for _, b := range backups {
		names = append(names, b.Name+" completed "+b.LastModified.UTC().Format("2006-01-02 15:04:05"))
	}
	for {
		text, err := p.ask("Target time (local time unless a zone is given; empty: the end of the archive)", "")
		if err != nil {
			return err
		}
		target, err := recovery.ParseTargetTime(text, time.Local)
		if text == "" {
			target, err = recovery.Target{}, nil
		}
		if err != nil {
			p.say("%s", err)
			continue
		}
		chosen, err := wale.ChooseBackup(backups, target.Time)
		if err == nil && !target.IsEndOfArchive() {
			err = wale.NewWindow(chosen, rep.WAL, rep.SegmentSize).CheckTarget(target.Time)
		}
		if err != nil {
			p.say("%s", err)
			continue
		}
		i, err := p.choose("Backup", names, indexOfBackup(backups, chosen.Name))
		if err != nil {
			return err
		}
		p.req.Backup, p.req.Target = backups[i].Name, target
		return nil
	}
}

func indexOfBackup(bs []wale.Backup, name string) int {
	for i, b := range bs {
		if b.Name == name {
			return i
		}
	}
	return 0
}

func (p *plain) confirmAndRun(plan *walerestore.Plan) error {
	p.say("The plan (nothing has been changed yet):")
	destructive := false
	for i, a := range plan.Actions {
		p.say("%d. %s", i+1, a.Title)
		fmt.Fprint(p.out, shellcmd.Script(a.Commands))
		destructive = destructive || a.Destructive
	}
	if p.deps.DryRun {
		p.say("Dry run: nothing was run.")
		p.outcome.Summary = shellcmd.Script(plan.Commands())
		return nil
	}
	if destructive {
		answer, err := p.ask("Type the data directory's path ("+plan.Options.PGData+") to move it aside and restore", "")
		if err != nil {
			return err
		}
		if answer != plan.Options.PGData {
			return problem.New(problem.Usage, plan.Options.PGData, "the path typed does not match: nothing was run", "run pgrescue again and type the path exactly")
		}
	} else if answer, err := p.ask("Type yes to start the restore", ""); err != nil || answer != "yes" {
		if err != nil {
			return err
		}
		return problem.New(problem.Usage, "confirmation", "the restore was not confirmed: nothing was run", "run pgrescue again and answer yes")
	}
	return p.runPlan(plan)
}

func (p *plain) runPlan(plan *walerestore.Plan) error {
	var lastProgress time.Time
	res, err := p.deps.Backend.Run(p.deps.Context, plan, func(e walerestore.Event) {
		if line := plainEventLine(e, &lastProgress, p.deps.Now); line != "" {
			p.say("%s", line)
		}
	})
	lines := summaryLines(plan, runResult{res: res, err: err}, p.deps.Now().Sub(p.began))
	p.outcome.Summary = strings.Join(lines, "\n") + "\n"
	if err == nil {
		p.check(res)
	}
	return err
}

// brief starts an exercise: what happened, what to achieve; the clock
// starts when the trainee is ready.
func (p *plain) brief() error {
	t := p.deps.Training
	if t == nil {
		return nil
	}
	p.say("Training exercise: %s", t.Title)
	p.say("%s", t.Briefing)
	for _, f := range t.Facts {
		p.say("- %s", f)
	}
	if _, err := p.ask("Press enter to start the clock", ""); err != nil {
		return err
	}
	p.began = p.deps.Now()
	return nil
}

// check ends an exercise with the verdict on the restored database.
func (p *plain) check(res *walerestore.Result) {
	t := p.deps.Training
	if t == nil || res == nil || res.Replay == nil {
		return
	}
	s := res.Replay.Server
	ok, message, err := t.Check(p.deps.Context, s.SocketDir, s.Port, s.Owner.Name)
	verdict := verdictText(ok, message, err, p.deps.Now().Sub(p.began))
	p.say("%s", verdict)
	p.outcome.Summary += verdict + "\n"
}

// plainEventLine is one full sentence per state change; progress at most
// every 5 seconds.
func plainEventLine(e walerestore.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case walerestore.ActionStarted:
		return "Started: " + e.Action.Title
	case walerestore.ActionDone:
		if e.Err != nil {
			return "Failed: " + e.Action.Title
		}
		return fmt.Sprintf("Done in %s: %s", e.Duration.Round(time.Second), e.Action.Title)
	case walerestore.FetchEvent:
		return plainFetchLine(e.Event, last, now)
	case walerestore.ReplayEvent:
		return plainReplayLine(e.Event, last, now)
	}
	return ""
}

func plainFetchLine(e wale.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case wale.MovedAside:
		return "The old data directory was moved aside to " + e.To + "."
	case wale.Warning:
		return "Warning: " + e.Message
	case wale.FetchProgress:
		if now().Sub(*last) >= 5*time.Second {
			*last = now()
			return "Fetch: " + e.String()
		}
	}
	return ""
}

func plainReplayLine(e replay.Event, last *time.Time, now func() time.Time) string {
	switch e := e.(type) {
	case replay.Milestone:
		return "Replay milestone: " + e.Name + ": " + e.Detail
	case replay.Warning:
		return "Warning: " + e.Message
	case replay.ProgressUpdate:
		if now().Sub(*last) >= 5*time.Second || e.Finished {
			*last = now()
			return "Replay: " + e.String()
		}
	case replay.LogLine:
		if strings.Contains(e.Text, "FATAL:") || strings.Contains(e.Text, "PANIC:") {
			return "Server log: " + e.Text
		}
	}
	return ""
}
