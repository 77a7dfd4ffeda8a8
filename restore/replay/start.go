package replay

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"pgrescue/problem"
	"pgrescue/restore/pglog"
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
// backup, as WAL-E takes with --while-offline). pg_controldata must be the
// data directory's major version; binDir holds it.
func ReadStart(ctx context.Context, pgdata, binDir string) (Start, error) {
	ctl, err := controlData(ctx, pgdata, binDir)
	if err != nil {
		return Start{}, err
	}
	segSize := int64(wale.DefaultSegmentSize)
	if v, err := strconv.ParseInt(ctl["Bytes per WAL segment"], 10, 64); err == nil && v > 0 {
		segSize = v
	}
	label := filepath.Join(pgdata, "backup_label")
	if text, err := os.ReadFile(label); err == nil {
		st, err := parseBackupLabel(string(text), segSize)
		if err != nil {
			return Start{}, problem.Wrap(err, problem.Corrupt, label, "cannot read the backup label", "the base backup may be damaged; fetch it again")
		}
		return st, nil
	}
	st, err := startFromControl(ctl, segSize, filepath.Join(pgdata, "global", "pg_control"))
	st.Resuming = ctl["Database cluster state"] == "in archive recovery"
	return st, err
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

func startFromControl(ctl map[string]string, segSize int64, subject string) (Start, error) {
	lsn, err := pglog.ParseLSN(ctl["Latest checkpoint's REDO location"])
	if err != nil {
		return Start{}, problem.New(problem.Corrupt, subject, "pg_controldata shows no REDO location", "the base backup may be damaged; fetch it again")
	}
	tli, err := strconv.ParseUint(ctl["Latest checkpoint's TimeLineID"], 10, 32)
	if err != nil {
		return Start{}, problem.New(problem.Corrupt, subject, "pg_controldata shows no checkpoint timeline", "the base backup may be damaged; fetch it again")
	}
	seg := wale.SegmentAt(uint32(tli), uint64(lsn)/uint64(segSize), segSize)
	return Start{LSN: uint64(lsn), Segment: seg, SegmentSize: segSize, Source: "pg_control"}, nil
}

// controlData runs pg_controldata with untranslated labels.
func controlData(ctx context.Context, pgdata, binDir string) (map[string]string, error) {
	bin := filepath.Join(binDir, "pg_controldata")
	cmd := exec.CommandContext(ctx, bin, pgdata)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		detail := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			detail = strings.TrimSpace(string(ee.Stderr))
		}
		return nil, &problem.Error{Kind: problem.LocalIO, Subject: pgdata, Summary: "pg_controldata cannot read the data directory",
			Detail: detail, Next: "check that " + pgdata + " holds a restored base backup (pgrescue backup-fetch) and that " + bin + " matches its PG_VERSION"}
	}
	return parseControlData(string(out)), nil
}

func parseControlData(text string) map[string]string {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return fields
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
