package walinspect

import (
	"cmp"
	"context"
	"os"
	"path/filepath"

	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
	"pgrescue/shellcmd"
)

// InspectBackup inspects the WAL of one base backup's window in a WAL-E
// archive (backup: a name or LATEST), narrowed to commits between
// o.From and o.To: what wal-inspect and the wizard's "find the moment"
// both run. req's Segments, SegmentSize and Fetch are filled in here.
func InspectBackup(ctx context.Context, a *wale.Archive, backup string, req Request, report func(Event)) (*Inspection, wale.Backup, error) {
	b, _, err := a.Select(ctx, backup)
	if err != nil {
		return nil, b, err
	}
	in, err := InspectWindow(ctx, a, b, req, report)
	return in, b, err
}

// InspectWindow is InspectBackup of a backup already selected.
func InspectWindow(ctx context.Context, a *wale.Archive, b wale.Backup, req Request, report func(Event)) (*Inspection, error) {
	req, err := windowRequest(ctx, a, b, req)
	if err != nil {
		return nil, err
	}
	return Inspect(ctx, req, report)
}

// windowRequest fills in the window's segments and the archive's fetcher.
func windowRequest(ctx context.Context, a *wale.Archive, b wale.Backup, req Request) (Request, error) {
	objects, _, err := a.ListWAL(ctx)
	if err != nil {
		return req, err
	}
	window := wale.NewWindow(b, objects, a.SegmentSize)
	req.Segments = SegmentsBetween(window.Segments, req.Options.From, req.Options.To)
	req.SegmentSize = a.SegmentSize
	req.Fetch = func(ctx context.Context, name, dest string) error {
		_, err := a.FetchWAL(ctx, name, dest)
		return err
	}
	return req, nil
}

// Commands describes InspectWindow as shell commands, for --dry-run: each
// segment of the window fetched into a folder, then read by the pg_waldump
// of the backup's major version (from its extended_version.txt). Nothing
// is fetched.
func Commands(ctx context.Context, a *wale.Archive, b wale.Backup, req Request) ([]shellcmd.Command, error) {
	req, err := windowRequest(ctx, a, b, req)
	if err != nil {
		return nil, err
	}
	if len(req.Segments) == 0 {
		return nil, noSegments()
	}
	dir := filepath.Join(cmp.Or(req.TempDir, os.TempDir()), "pgrescue-wal-inspect")
	cmds := []shellcmd.Command{{Why: "a folder for the window's segments", Line: "mkdir -p " + shellcmd.Quote(dir)}}
	for _, seg := range req.Segments {
		cmds = append(cmds, a.WALFetchCommands(seg.Name, filepath.Join(dir, seg.Name))...)
	}
	program := cmp.Or(req.Waldump, "pg_waldump")
	v, err := recovery.ParseVersion(a.ServerMajorVersion(ctx, b.Name))
	if err == nil {
		if found, err := FindWaldump(ctx, v, req.Waldump); err == nil {
			program = found
		}
	} else {
		v = recovery.Version{}
	}
	return append(cmds, DumpCommand(program, v, dir, req.Segments[0].Name, req.Segments[len(req.Segments)-1].Name)), nil
}
