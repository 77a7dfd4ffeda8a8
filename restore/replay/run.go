package replay

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/prefetch"
	"pgrescue/restore/recovery"
)

// Result is how a replay ended. On success the server is left running,
// promoted, at the requested point.
type Result struct {
	Prepared    *Prepared
	Server      *recovery.Server
	Timeline    uint32
	RedoDone    string // LSN of the last record replayed
	StoppedAt   string // "recovery stopping …" detail, with a target
	LastCommit  string // "last completed transaction was at log time …"
	Duration    time.Duration
	Progress    Snapshot
	Restored    int // WAL segments PostgreSQL restored from the archive
	Prefetch    prefetch.Stats
	Warnings    []string
	ConfigFiles []string // minimal configuration files pgrescue wrote
}

// shutdownGrace is how long the log is drained after the postmaster exits,
// so its last lines (the FATAL that explains it) are read.
const shutdownGrace = 2 * time.Second

// run is one replay in progress.
type run struct {
	plan     *Prepared
	report   func(Event)
	parser   *pglog.Parser
	progress *Progress
	result   *Result
	began    time.Time
	lastLog  []string // the last lines, shown when the server dies without a FATAL
	copied   string   // pgrescue copied for restore_command, removed once recovery is over
}

// Run writes the recovery settings, starts the prefetcher and the server,
// and follows the log until the server accepts connections (success),
// recovery fails, or ctx is cancelled (the server is then stopped).
func (p *Prepared) Run(ctx context.Context, report func(Event)) (*Result, error) {
	if report == nil {
		report = func(Event) {}
	}
	r := &run{plan: p, report: report, parser: pglog.NewParser(),
		began: p.opts.Now(), result: &Result{Prepared: p, Server: p.Server}}
	r.parser.SetSegmentSize(p.Start.SegmentSize)
	r.progress = NewProgress(p.Start.LSN, p.EndLSN, p.EndExact, p.Start.SegmentSize, r.began)
	for _, w := range p.Warnings {
		r.warn(w)
	}
	if err := p.Server.Prepare(); err != nil {
		return nil, err
	}
	defer p.Server.ReleaseIfStopped() // a failed or stopped replay leaves no socket directory
	program, err := p.programForOwner(ctx)
	if err != nil {
		return nil, err
	}
	if len(program) > 0 && len(p.opts.WALFetch) > 0 && program[0] != p.opts.WALFetch[0] {
		r.copied = program[0]
	}
	p.Settings.RestoreCommand = p.restoreCommand(program)
	if err := r.writeSettings(); err != nil {
		return nil, err
	}
	var pf *prefetch.Server
	if p.opts.Prefetch > 0 {
		if pf, err = r.startPrefetch(ctx); err != nil {
			return nil, err
		}
		defer func() {
			pf.Close()
			r.result.Prefetch = pf.Stats()
		}()
	}
	if err := r.startServer(ctx); err != nil {
		return nil, err
	}
	err = r.follow(ctx)
	r.recordOutcome()
	r.result.Duration = p.opts.Now().Sub(r.began)
	r.result.Progress = r.progress.At(p.opts.Now())
	r.result.Restored = r.progress.RestoredCount
	if err != nil {
		return r.result, err
	}
	return r.result, r.finish()
}

// recordOutcome copies what the log showed into the result.
func (r *run) recordOutcome() {
	st := r.parser.State()
	r.result.Timeline = st.Timeline
	r.result.StoppedAt = st.StopDetail
	if st.RedoDone {
		r.result.RedoDone = st.RedoDoneLSN.String()
	}
}

func (r *run) warn(msg string) {
	r.result.Warnings = append(r.result.Warnings, msg)
	r.report(Warning{Message: msg})
}

func (r *run) writeSettings() error {
	p := r.plan
	w, err := recovery.Write(p.DataDir, p.Version, p.Settings)
	if err != nil {
		return err
	}
	r.report(Step{Title: "wrote the recovery settings for PostgreSQL " + p.Version.String(), Detail: strings.Join(w.Files, ", ")})
	for _, m := range w.Moved {
		r.warn(fmt.Sprintf("moved %s aside to %s: it would stop this replay", m.From, m.To))
	}
	if p.Server.Cluster != nil {
		return nil
	}
	written, err := recovery.EnsureConfigFiles(p.DataDir, p.Server.Owner)
	if err != nil {
		return err
	}
	r.result.ConfigFiles = written
	if len(written) > 0 {
		r.warn("WAL-E does not archive configuration files; pgrescue wrote minimal ones (local connections for " +
			p.Server.Owner.Name + " only): " + strings.Join(written, ", ") + ". Put the production configuration back before using this server for real")
	}
	return nil
}

func (r *run) startPrefetch(ctx context.Context) (*prefetch.Server, error) {
	p := r.plan
	archive := p.opts.Archive
	owner := &prefetch.Owner{UID: p.Server.Owner.UID, GID: p.Server.Owner.GID}
	pf, err := prefetch.Listen(ctx, prefetch.Options{
		Fetch: func(ctx context.Context, name, dest string) (int64, error) {
			res, err := archive.FetchWAL(ctx, name, dest)
			if err != nil {
				return 0, err
			}
			return res.Bytes, nil
		},
		StagingDir:  p.stagingDir(),
		SocketPath:  p.socketPath(),
		Ahead:       p.opts.Prefetch,
		SegmentSize: p.Start.SegmentSize,
		Owner:       owner,
		Report:      func(e prefetch.Event) { r.report(PrefetchActivity{Event: e}) },
		Pace:        p.pace(),
	})
	if err != nil {
		return nil, err
	}
	go pf.Serve()
	r.report(Step{Title: fmt.Sprintf("prefetching %d segments ahead of replay", p.opts.Prefetch), Detail: p.stagingDir()})
	return pf, nil
}

// pace spreads MinDuration over the segments to replay.
func (p *Prepared) pace() time.Duration {
	if p.opts.MinDuration <= 0 {
		return 0
	}
	size := uint64(p.Start.SegmentSize)
	segments := max(int64(p.EndLSN/size)-int64(p.Start.LSN/size), 1)
	return p.opts.MinDuration / time.Duration(segments)
}

func (r *run) startServer(ctx context.Context) error {
	s := r.plan.Server
	if err := s.Start(ctx); err != nil {
		return err
	}
	var notes []string
	for _, o := range s.StartOptions() {
		notes = append(notes, o.Name+"="+o.Value+" ("+o.Why+")")
	}
	r.report(Step{Title: "started PostgreSQL " + r.plan.Version.String() + " on " + s.DataDir, Detail: strings.Join(notes, "; ")})
	return nil
}

// follow reads the server log until recovery ends one way or the other.
func (r *run) follow(ctx context.Context) error {
	s := r.plan.Server
	lines := make(chan followed, 4096)
	fctx, stopFollowing := context.WithCancel(context.WithoutCancel(ctx))
	followDone := make(chan error, 1)
	go func() { followDone <- followLog(fctx, s.LogFile, s.LogOffset(), s.DataDir, lines) }()
	defer func() {
		stopFollowing()
		<-followDone
	}()
	tick := time.NewTicker(r.plan.opts.ProgressEvery)
	defer tick.Stop()
	var deadSince time.Time
	for {
		select {
		case l := <-lines:
			if done, err := r.line(l); done {
				return err
			}
		case <-tick.C:
			r.report(ProgressUpdate{r.progress.At(r.plan.opts.Now())})
			if s.Running() {
				deadSince = time.Time{}
				continue
			}
			if deadSince.IsZero() {
				deadSince = time.Now()
			} else if time.Since(deadSince) > shutdownGrace {
				return r.serverGone()
			}
		case <-ctx.Done():
			r.report(Step{Title: "interrupted: stopping PostgreSQL (fast shutdown)", Detail: "the data directory stays as it is; run the same replay again to resume"})
			stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s.Stop(stopCtx, "fast")
			return problem.Wrap(ctx.Err(), problem.Interrupted, s.DataDir, "replay interrupted; PostgreSQL was stopped",
				"run the same pgrescue replay again to resume: recovery restarts from its last restartpoint")
		}
	}
}

// line handles one log line; done is true when recovery has ended.
func (r *run) line(l followed) (done bool, err error) {
	r.lastLog = append(r.lastLog, l.text)
	if len(r.lastLog) > 20 {
		r.lastLog = r.lastLog[1:]
	}
	for _, ev := range r.parser.Feed(l.text) {
		r.report(LogLine{File: l.file, Text: ev.Source().Raw, Event: ev})
		if done, err := r.event(ev); done {
			return true, err
		}
	}
	return false, nil
}

func (r *run) at(ev pglog.Event) time.Time {
	if l := ev.Source(); l.HasTime {
		return l.Time
	}
	return r.plan.opts.Now()
}

func (r *run) milestone(name, detail string) {
	r.report(Milestone{Name: name, Detail: detail})
	r.report(ProgressUpdate{r.progress.At(r.plan.opts.Now())})
}

// replayedTo moves the progress model to the parser's estimate of replay's
// position, which accounts for the server reading ahead.
func (r *run) replayedTo(ev pglog.Event) {
	r.progress.ReplayedTo(uint64(r.parser.State().CurrentLSN), r.at(ev))
}

// event applies one parsed event; done is true when recovery has ended.
func (r *run) event(ev pglog.Event) (done bool, err error) {
	switch e := ev.(type) {
	case *pglog.RestoredFile:
		r.progress.Restored(e.Name)
		r.replayedTo(ev)
	case *pglog.RedoStarts:
		r.progress.RedoStarts(uint64(e.LSN), r.at(ev))
		r.milestone("redo started", "at "+e.LSN.String())
	case *pglog.RedoProgress:
		r.replayedTo(ev)
	case *pglog.Consistent:
		r.replayedTo(ev)
		r.milestone("consistent", "consistent recovery state reached at "+e.LSN.String())
	case *pglog.StoppingAtTarget:
		r.milestone("target reached", "recovery stopping "+e.Detail)
	case *pglog.Paused:
		r.warn("recovery has paused: " + strings.TrimSpace(e.Hint) + " (pgrescue asked for promotion at the target, so something else paused it; it waits)")
	case *pglog.RedoDone:
		r.progress.Done(uint64(e.LSN), r.at(ev))
		r.milestone("redo done", "redo done at "+e.LSN.String())
	case *pglog.LastTransaction:
		r.result.LastCommit = e.At
	case *pglog.NewTimeline:
		r.milestone("promoted", fmt.Sprintf("new timeline %d", e.ID))
	case *pglog.Ready:
		r.milestone("ready", "the server accepts connections")
		return true, nil
	case *pglog.ShutdownAtTarget:
		return true, problem.New(problem.RecoveryFailed, r.plan.DataDir, "PostgreSQL shut down at the recovery target instead of promoting",
			"check recovery_target_action in "+r.plan.DataDir+"/postgresql.auto.conf or recovery.conf, then run the replay again")
	case *pglog.Fatal:
		if e.FromStartup {
			return r.awaitExit(e)
		}
	}
	return false, nil
}

// awaitExit waits for the server to go down after a startup FATAL, reading
// the DETAIL and HINT lines that follow it, and explains the failure.
func (r *run) awaitExit(f *pglog.Fatal) (bool, error) {
	deadline := time.Now().Add(30 * time.Second)
	for r.plan.Server.Running() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the HINT lines follow the FATAL within the same write
	return true, r.fatalError(f)
}

func (r *run) fatalError(f *pglog.Fatal) error {
	detail := f.Source().Raw
	if f.Detail != "" {
		detail += "\nDETAIL: " + f.Detail
	}
	if f.Hint != "" {
		detail += "\nHINT: " + f.Hint
	}
	next := "read the server log: " + r.plan.Server.LogFile
	switch {
	case strings.Contains(f.Message, "recovery ended before configured recovery target was reached"):
		next = "the archive ends (or has a gap) before the target: run `pgrescue wal-list` to see the WAL archived, then choose an earlier target or restore to the end of the archive"
	case strings.Contains(f.Message, "could not locate required checkpoint record"):
		next = "the WAL segment holding the backup's checkpoint could not be fetched: check it is archived (pgrescue wal-list) and that the key decrypts it"
	case f.Restore != nil:
		next = "restore_command itself failed: the lines before the FATAL in the log show pgrescue wal-fetch's explanation"
	}
	return &problem.Error{Kind: problem.RecoveryFailed, Subject: r.plan.DataDir,
		Summary: "PostgreSQL stopped recovery: " + f.Message, Detail: detail, Next: next}
}

// serverGone explains a postmaster that exited without a startup FATAL.
func (r *run) serverGone() error {
	st := r.parser.State()
	if st.Fatal != nil {
		return r.fatalError(st.Fatal)
	}
	return &problem.Error{Kind: problem.RecoveryFailed, Subject: r.plan.DataDir,
		Summary: "PostgreSQL is no longer running and its log does not say why",
		Detail:  "last lines of " + r.plan.Server.LogFile + ":\n" + strings.Join(r.lastLog, "\n"),
		Next:    "read the whole log, fix what it names, then run the replay again"}
}

// finish checks that the server came up at the requested point and removes
// the recovery settings.
func (r *run) finish() error {
	p := r.plan
	cleaned, err := recovery.Cleanup(p.DataDir, p.Version)
	if err != nil {
		r.warn("could not remove pgrescue's recovery settings: " + err.Error())
	} else {
		r.report(Step{Title: "removed the recovery settings", Detail: strings.Join(cleaned.Files, ", ")})
		if r.copied != "" {
			os.Remove(r.copied) // restore_command is gone with the settings
		}
	}
	if !p.opts.Target.IsEndOfArchive() {
		if r.result.StoppedAt == "" {
			return &problem.Error{Kind: problem.ReplayIncomplete, Subject: p.DataDir,
				Summary: "the server promoted before reaching the target: " + p.opts.Target.String(),
				Detail:  "replay ended at " + r.result.RedoDone + " without a \"recovery stopping\" line: PostgreSQL " + p.Version.String() + " promotes at the end of the WAL it can get",
				Next:    "the archive misses WAL before the target (pgrescue wal-list); the server is up with what was replayed"}
		}
		return nil
	}
	redo, _ := pglog.ParseLSN(r.result.RedoDone)
	if w := p.Window.UnreplayedWarning(uint64(redo), r.progress.HasRestored, p.Start.SegmentSize); w != "" {
		r.warn(w)
		return &problem.Error{Kind: problem.ReplayIncomplete, Subject: p.DataDir, Summary: "replay stopped before the end of the archive", Detail: w,
			Next: "the server is up with what was replayed; find the missing WAL and restore again to recover the rest"}
	}
	return nil
}

// programForOwner makes sure the user running PostgreSQL can execute the
// pgrescue named in restore_command. A binary under /root or a build cache
// is not reachable by postgres: it is then copied into the private socket
// directory, which only that user can enter.
func (p *Prepared) programForOwner(ctx context.Context) ([]string, error) {
	program := append([]string{}, p.opts.WALFetch...)
	if len(program) == 0 {
		return program, nil
	}
	exe, err := recovery.RunnableBy(ctx, p.Server.Owner, program[0], p.Server.SocketDir)
	program[0] = exe
	return program, err
}
