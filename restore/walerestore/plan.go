package walerestore

import (
	"context"
	"strings"
	"time"

	"pgrescue/restore/recovery"
	"pgrescue/restore/replay"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// Options are what the engineer chose.
type Options struct {
	Archive   *wale.Archive
	Keys      KeySource
	PGData    string
	Backup    string          // a backup name, LATEST, or "" for the newest before the target
	Target    recovery.Target // zero: the end of the archive
	MoveAside bool            // a non-empty data directory may be renamed aside
	Workers   int             // partitions fetched at once
	// TablespaceMapping restores tablespaces elsewhere: OID to directory.
	TablespaceMapping map[string]string
	// Replay chooses the recovering server (port, socket directory, log,
	// Debian cluster), the prefetch depth and restore_command's program;
	// the data directory, archive, backup and target are filled in.
	Replay replay.Options
	Now    func() time.Time
}

// ActionID names an action of the plan.
type ActionID string

const (
	ActionMoveAside ActionID = "move-aside"
	ActionFetch     ActionID = "fetch"
	ActionReplay    ActionID = "replay"
)

// Action is one step of the plan with the shell commands that do the same.
type Action struct {
	ID          ActionID
	Title       string
	Destructive bool // changes what is already on disk: needs a typed confirmation
	Commands    []shellcmd.Command
}

// Plan is the restore worked out from a passing preflight: nothing has been
// changed yet.
type Plan struct {
	Options  Options
	Report   *Report
	Backup   wale.Backup
	resolved *wale.ResolvedBackup // the backup with its partitions, listed once
	Version  string               // the backed-up server's major version; "" when the archive does not say
	Actions  []Action
}

// NewPlan works out the actions for a preflight that did not fail.
func NewPlan(ctx context.Context, opts Options, rep *Report) (*Plan, error) {
	if failed := rep.FirstFailure(); failed != nil {
		return nil, failed.Err
	}
	a := opts.Archive
	b := *rep.Chosen
	parts, warnings, err := a.Partitions(ctx, b.Name)
	if err != nil {
		return nil, err
	}
	version := rep.Version
	if version == "" {
		version = a.ServerMajorVersion(ctx, b.Name)
	}
	p := &Plan{Options: opts, Report: rep, Backup: b, Version: version,
		resolved: &wale.ResolvedBackup{Backup: b, Partitions: parts, Warnings: warnings}}
	if !rep.DataDirEmpty {
		p.Actions = append(p.Actions, Action{ID: ActionMoveAside, Destructive: true,
			Title:    "Move the data directory " + opts.PGData + " aside (renamed, never deleted)",
			Commands: []shellcmd.Command{wale.MoveAsideCommand(opts.PGData)}})
	}
	fetch := a.FetchCommands(b, parts, wale.FetchOptions{DataDir: opts.PGData, Backup: b.Name})
	p.Actions = append(p.Actions, Action{ID: ActionFetch, Commands: fetch,
		Title: "Fetch base backup " + b.Name + " (" + wale.HumanBytes(expandedSize(b)) + ") into " + opts.PGData})
	replayCmds, err := p.replayCommands()
	if err != nil {
		return nil, err
	}
	p.Actions = append(p.Actions, Action{ID: ActionReplay, Commands: replayCmds,
		Title: "Start PostgreSQL in recovery and replay WAL to " + opts.Target.String()})
	return p, nil
}

func expandedSize(b wale.Backup) int64 {
	if b.Sentinel == nil {
		return 0
	}
	return b.Sentinel.ExpandedSizeBytes
}

// replayCommands describe the replay: pgrescue's own command, then what it
// writes and runs, as the runbook's engineer would by hand.
func (p *Plan) replayCommands() ([]shellcmd.Command, error) {
	o := p.Options
	line := []string{"pgrescue", "replay", "--pgdata", shellcmd.Quote(o.PGData), "--backup", p.Backup.Name}
	for _, f := range o.Target.Flags() {
		line = append(line, shellcmd.Quote(f))
	}
	cmds := []shellcmd.Command{{Why: "pgrescue's replay step (add --dry-run to see every pg_ctl line it runs)", Line: strings.Join(line, " ")}}
	if p.Version == "" {
		return cmds, nil
	}
	v, err := recovery.ParseVersion(p.Version)
	if err != nil {
		return nil, err
	}
	settings := recovery.Settings{RestoreCommand: p.restoreCommand(), Target: o.Target, Timeline: "latest"}
	described, err := recovery.Describe(v, settings)
	if err != nil {
		return nil, err
	}
	cmds = append(cmds, described...)
	cmds = append(cmds, shellcmd.Command{
		Why:  "start PostgreSQL and watch it restore WAL segments, as the runbook says (tail -f on the postgres log)",
		Line: "sudo -u postgres pg_ctl -D " + shellcmd.Quote(o.PGData) + " -l " + shellcmd.Quote(o.PGData+".pgrescue.log") + " start && tail -f " + shellcmd.Quote(o.PGData+".pgrescue.log"),
	})
	return cmds, nil
}

func (p *Plan) restoreCommand() string {
	program := p.Options.Replay.WALFetch
	if len(program) == 0 {
		program = []string{"pgrescue"}
	}
	words := make([]string, 0, len(program)+3)
	for _, w := range program {
		words = append(words, shellcmd.Quote(w))
	}
	return strings.Join(append(words, "wal-fetch", `"%f"`, `"%p"`), " ")
}

// Commands is every action's commands in order, for a dry run or a script.
func (p *Plan) Commands() []shellcmd.Command {
	var cmds []shellcmd.Command
	for _, a := range p.Actions {
		cmds = append(cmds, a.Commands...)
	}
	return cmds
}

// Action returns the plan's action with this id, if it has one.
func (p *Plan) Action(id ActionID) (Action, bool) {
	for _, a := range p.Actions {
		if a.ID == id {
			return a, true
		}
	}
	return Action{}, false
}
