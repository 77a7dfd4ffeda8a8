package wale

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
)

// Window is what an archive can restore from one base backup: any moment
// after the backup completed and up to the newest archived WAL, provided
// no segment is missing in between.
type Window struct {
	Backup     Backup
	From       time.Time // the backup's completion (its sentinel's upload time)
	To         time.Time // when the newest archived segment was uploaded
	Newest     Segment
	Continuity Continuity
	Segments   []WALObject // the archived segments from the backup's start, in order
}

// NewWindow computes the window of backup b over the archive's WAL listing.
func NewWindow(b Backup, objects []WALObject, segmentSize int64) Window {
	w := Window{Backup: b, From: b.LastModified}
	w.Continuity = CheckContinuity(b.Start, objects, segmentSize)
	start := b.Start.Number(segmentSize)
	for _, o := range objects {
		if o.Kind == WALSegment && o.Segment.Timeline >= b.Start.Timeline && o.Segment.Number(segmentSize) >= start {
			w.Segments = append(w.Segments, o)
		}
	}
	sort.SliceStable(w.Segments, func(i, j int) bool {
		return w.Segments[i].Segment.Number(segmentSize) < w.Segments[j].Segment.Number(segmentSize)
	})
	if w.Continuity.HasNewest {
		w.Newest = w.Continuity.Newest
		for _, o := range w.Segments {
			if o.LastModified.After(w.To) {
				w.To = o.LastModified
			}
		}
	}
	return w
}

// EndLSN is where replay to the end of the archive stops: the end of the
// newest archived segment.
func (w Window) EndLSN(segmentSize int64) uint64 {
	return (w.Newest.Number(segmentSize) + 1) * uint64(segmentSize)
}

// EndForTarget estimates where replay to target stops: the end of the first
// segment uploaded at or after the target, since a segment is archived only
// once it is full or switched. exact is false: the true stop is the first
// commit after the target, somewhere inside that segment.
func (w Window) EndForTarget(target time.Time, segmentSize int64) uint64 {
	for _, o := range w.Segments {
		if !o.LastModified.Before(target) {
			return (o.Segment.Number(segmentSize) + 1) * uint64(segmentSize)
		}
	}
	return w.EndLSN(segmentSize)
}

// CheckTarget refuses a target time this window cannot reach, before
// anything runs: PostgreSQL would fail late ("before consistent recovery
// point"), or on 12 and older silently promote at the end of the WAL.
func (w Window) CheckTarget(target time.Time) error {
	if !w.Continuity.HasNewest {
		return problem.New(problem.NoBackups, w.Backup.Name,
			"no WAL is archived from this backup's start segment "+w.Backup.Start.String(),
			"choose another backup (pgrescue wal-list --backup NAME shows what each can reach)")
	}
	if !target.After(w.From) {
		return &problem.Error{Kind: problem.Usage, Subject: "--target-time " + FormatTime(target),
			Summary: "the target is before backup " + w.Backup.Name + " completed",
			Detail:  "that backup completed at " + FormatTime(w.From) + "; a restore can only reach moments after its backup",
			Next:    "choose an older backup that completed before the target, or a later target"}
	}
	if target.After(w.To) {
		return &problem.Error{Kind: problem.Usage, Subject: "--target-time " + FormatTime(target),
			Summary: "the target is after the newest archived WAL",
			Detail: fmt.Sprintf("the newest segment, %s, was archived at %s; nothing later can be restored from this archive",
				w.Newest, FormatTime(w.To)),
			Next: "leave out --target-time to restore everything archived, or choose a target up to " + FormatTime(w.To)}
	}
	return nil
}

// GapWarning explains missing segments between the backup and the newest
// archived one, or returns "" when there is none. PostgreSQL stops at the
// first gap and promotes as if it were the end of the archive.
func (w Window) GapWarning() string {
	if !w.Continuity.HasNewest || len(w.Continuity.Missing) == 0 {
		return ""
	}
	missing := w.Continuity.Missing
	shown := strings.Join(missing[:min(len(missing), 5)], ", ")
	if len(missing) > 5 {
		shown += fmt.Sprintf(" and %d more", len(missing)-5)
	}
	return fmt.Sprintf("the archive is missing %d WAL segment(s) between backup %s and the newest segment %s: %s. "+
		"Replay will stop at %s and everything after it will be lost, unless the missing files are found (check the primary's pg_wal and archive_command)",
		len(missing), w.Backup.Name, w.Newest, shown, missing[0])
}

// ChooseBackup proposes the newest backup that completed before target, or
// the newest of all when target is zero (the end of the archive).
func ChooseBackup(backups []Backup, target time.Time) (Backup, error) {
	var best *Backup
	for i := range backups {
		b := &backups[i]
		if !target.IsZero() && !b.LastModified.Before(target) {
			continue
		}
		if best == nil || b.LastModified.After(best.LastModified) {
			best = b
		}
	}
	if best == nil {
		earliest := "none"
		if len(backups) > 0 {
			first := backups[0]
			for _, b := range backups {
				if b.LastModified.Before(first.LastModified) {
					first = b
				}
			}
			earliest = first.Name + " completed " + FormatTime(first.LastModified)
		}
		return Backup{}, problem.New(problem.NoBackups, "--target-time "+FormatTime(target),
			"no base backup completed before the target (earliest: "+earliest+")",
			"choose a later target; moments before the first backup cannot be restored from this archive")
	}
	return *best, nil
}

// FormatTime writes a time as PostgreSQL and the engineer read it, in UTC.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000000") + " UTC"
}

// UnreplayedWarning checks, after "redo done" with no target, that replay
// reached the newest archived segment. PostgreSQL ends recovery at the
// first segment restore_command cannot supply, so a gap looks exactly like
// the end of the archive in its log. Returns "" when nothing was left.
func (w Window) UnreplayedWarning(redoDone uint64, restored func(name string) bool, segmentSize int64) string {
	if !w.Continuity.HasNewest {
		return ""
	}
	stopped := redoDone / uint64(segmentSize)
	newest := w.Newest.Number(segmentSize)
	if stopped >= newest || restored(w.Newest.String()) {
		return ""
	}
	next := SegmentAt(w.Newest.Timeline, stopped+1, segmentSize)
	return fmt.Sprintf("WAL was left unreplayed: replay stopped at %s in segment %s, but the archive goes on to %s (%d more segment(s)). "+
		"PostgreSQL could not get %s and promoted as if the archive ended there; transactions after %s are NOT in this restore. "+
		"Find the missing segment(s) (the primary's pg_wal, another archive), then restore again",
		pglog.LSN(redoDone), SegmentAt(w.Newest.Timeline, stopped, segmentSize), w.Newest, newest-stopped, next, pglog.LSN(redoDone))
}
