package walinspect

import (
	"context"

	"pgrescue/restore/wale"
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
	objects, _, err := a.ListWAL(ctx)
	if err != nil {
		return nil, err
	}
	window := wale.NewWindow(b, objects, a.SegmentSize)
	req.Segments = SegmentsBetween(window.Segments, req.Options.From, req.Options.To)
	req.SegmentSize = a.SegmentSize
	req.Fetch = func(ctx context.Context, name, dest string) error {
		_, err := a.FetchWAL(ctx, name, dest)
		return err
	}
	return Inspect(ctx, req, report)
}
