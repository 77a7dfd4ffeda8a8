package replay

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
	"pgrescue/restore/recovery"
	"pgrescue/restore/wale"
)

// Start is where WAL replay of a restored data directory begins.
type Start struct {
	LSN         uint64
	Segment     wale.Segment // the first WAL segment replay needs
	SegmentSize int64
	Source      string // "backup_label" (online backup) or "pg_control" (offline backup)
	// Resuming is true when an earlier replay was interrupted: the control
	// file's checkpoint has moved on from the backup's own.
	Resuming bool
}

// ReadStart finds where replay begins: backup_label's START WAL LOCATION
// for an online backup, else the control file's last checkpoint (an offline
// backup, as WAL-E takes with --while-offline). pg_control is read by
// pgrescue itself: no pg_controldata of the cluster's version is needed.
func ReadStart(pgdata string) (Start, error) {
	ctl, err := recovery.ReadControl(pgdata)
	if err != nil {
		return Start{}, err
	}
	label := filepath.Join(pgdata, "backup_label")
	if text, err := os.ReadFile(label); err == nil {
		st, err := parseBackupLabel(string(text), ctl.SegmentSize)
		if err != nil {
			return Start{}, problem.Wrap(err, problem.Corrupt, label, "cannot read the backup label", "the base backup may be damaged; fetch it again")
		}
		return st, nil
	}
	seg := wale.SegmentAt(ctl.Timeline, ctl.Redo/uint64(ctl.SegmentSize), ctl.SegmentSize)
	return Start{LSN: ctl.Redo, Segment: seg, SegmentSize: ctl.SegmentSize, Source: "pg_control",
		Resuming: ctl.State == recovery.DBInArchiveRecovery}, nil
}

var startWALLine = regexp.MustCompile(`(?m)^START WAL LOCATION: ([0-9A-Fa-f]+/[0-9A-Fa-f]+) \(file ([0-9A-F]{24})\)`)

func parseBackupLabel(text string, segSize int64) (Start, error) {
	m := startWALLine.FindStringSubmatch(text)
	if m == nil {
		return Start{}, errors.New("no START WAL LOCATION line")
	}
	lsn, err := pglog.ParseLSN(m[1])
	if err != nil {
		return Start{}, err
	}
	seg, err := wale.ParseSegment(m[2])
	if err != nil {
		return Start{}, err
	}
	return Start{LSN: uint64(lsn), Segment: seg, SegmentSize: segSize, Source: "backup_label"}, nil
}

// FindBackup picks the archive's backup the data directory was restored
// from: the one whose name starts at the same WAL segment.
func FindBackup(backups []wale.Backup, st Start, pgdata string) (wale.Backup, error) {
	for _, b := range backups {
		if b.Start == st.Segment {
			return b, nil
		}
	}
	if st.Resuming {
		// Restartpoints moved the checkpoint on: the backup is the newest
		// one starting at or before it on the same timeline.
		var best *wale.Backup
		for i, b := range backups {
			if b.Start.Timeline == st.Segment.Timeline && b.Start.Number(st.SegmentSize) <= st.Segment.Number(st.SegmentSize) &&
				(best == nil || b.Start.Number(st.SegmentSize) > best.Start.Number(st.SegmentSize)) {
				best = &backups[i]
			}
		}
		if best != nil {
			return *best, nil
		}
	}
	return wale.Backup{}, &problem.Error{Kind: problem.NoBackups, Subject: pgdata,
		Summary: "no base backup in the archive starts at this data directory's WAL position",
		Detail:  "replay starts at " + FormatLSN(st.LSN) + " (segment " + st.Segment.String() + ", from " + st.Source + "); the archive's backups start elsewhere",
		Next:    "check WALE_S3_PREFIX names the archive this data directory came from, or name the backup with --backup"}
}
