// Package wale reads archives written by WAL-E: it lists base backups and WAL
// files under a WALE_S3_PREFIX, checks WAL continuity, and fetches base
// backups and WAL files natively (S3 GET, OpenPGP, lzop, tar) without WAL-E,
// gpg or lzop installed. Storage facts: WAL-E 1.1.1's "005" layout.
package wale

import (
	"fmt"
	"regexp"
	"strconv"
)

// DefaultSegmentSize is PostgreSQL's WAL segment size unless initdb was told
// otherwise (--wal-segsize, PostgreSQL 11 and later).
const DefaultSegmentSize = 16 * 1024 * 1024

// Segment is a WAL segment position: timeline, log and segment number, the
// three 8-hex-digit parts of a WAL file name.
type Segment struct {
	Timeline, Log, Seg uint32
}

var segmentPattern = regexp.MustCompile(`^[0-9A-F]{24}$`)

// ParseSegment reads a 24-character WAL file name.
func ParseSegment(name string) (Segment, error) {
	if !segmentPattern.MatchString(name) {
		return Segment{}, fmt.Errorf("%q is not a WAL segment name (24 upper-case hex digits)", name)
	}
	part := func(i int) uint32 {
		v, _ := strconv.ParseUint(name[i:i+8], 16, 32)
		return uint32(v)
	}
	return Segment{Timeline: part(0), Log: part(8), Seg: part(16)}, nil
}

// String is the WAL file name.
func (s Segment) String() string {
	return fmt.Sprintf("%08X%08X%08X", s.Timeline, s.Log, s.Seg)
}

// SegmentsPerLog is how many segments make one "log" (4 GiB of WAL) for a segment size.
func SegmentsPerLog(segmentSize int64) uint64 {
	if segmentSize <= 0 {
		segmentSize = DefaultSegmentSize
	}
	return 0x100000000 / uint64(segmentSize)
}

// Number is the segment's position in the WAL stream regardless of timeline.
func (s Segment) Number(segmentSize int64) uint64 {
	return uint64(s.Log)*SegmentsPerLog(segmentSize) + uint64(s.Seg)
}

// SegmentAt builds the segment with the given stream position on a timeline.
func SegmentAt(timeline uint32, number uint64, segmentSize int64) Segment {
	per := SegmentsPerLog(segmentSize)
	return Segment{Timeline: timeline, Log: uint32(number / per), Seg: uint32(number % per)}
}

// Next is the following segment on the same timeline.
func (s Segment) Next(segmentSize int64) Segment {
	return SegmentAt(s.Timeline, s.Number(segmentSize)+1, segmentSize)
}

// BackupName is a parsed base backup name, base_<SEG24>_<OFF8>.
type BackupName struct {
	Name   string
	Start  Segment
	Offset string // eight digits as WAL-E wrote them (decimal, zero-padded)
}

var backupNamePattern = regexp.MustCompile(`^base_([0-9A-F]{24})_([0-9A-F]{8})$`)

// ParseBackupName reads base_<SEG24>_<OFF8>.
func ParseBackupName(name string) (BackupName, bool) {
	m := backupNamePattern.FindStringSubmatch(name)
	if m == nil {
		return BackupName{}, false
	}
	seg, err := ParseSegment(m[1])
	if err != nil {
		return BackupName{}, false
	}
	return BackupName{Name: name, Start: seg, Offset: m[2]}, true
}

// WALKind tells what an object under wal_005/ holds.
type WALKind string

// The kinds of file PostgreSQL's archive_command hands to WAL-E.
const (
	WALSegment WALKind = "segment"
	WALBackup  WALKind = "backup"  // backup history file, SEG.OFFSET.backup
	WALHistory WALKind = "history" // timeline history, TLI.history
	WALPartial WALKind = "partial" // SEG.partial, the last segment of an old timeline
)

var (
	backupHistoryPattern = regexp.MustCompile(`^([0-9A-F]{24})\.[0-9A-F]{8}\.backup$`)
	historyPattern       = regexp.MustCompile(`^[0-9A-F]{8}\.history$`)
	partialPattern       = regexp.MustCompile(`^([0-9A-F]{24})\.partial$`)
)

// ClassifyWAL tells the kind of a WAL file name (without .lzo), and its
// segment when it has one. ok is false for names WAL-E would not have written.
func ClassifyWAL(name string) (kind WALKind, seg Segment, ok bool) {
	switch {
	case segmentPattern.MatchString(name):
		seg, _ = ParseSegment(name)
		return WALSegment, seg, true
	case backupHistoryPattern.MatchString(name):
		seg, _ = ParseSegment(backupHistoryPattern.FindStringSubmatch(name)[1])
		return WALBackup, seg, true
	case historyPattern.MatchString(name):
		tli, _ := strconv.ParseUint(name[:8], 16, 32)
		return WALHistory, Segment{Timeline: uint32(tli)}, true
	case partialPattern.MatchString(name):
		seg, _ = ParseSegment(partialPattern.FindStringSubmatch(name)[1])
		return WALPartial, seg, true
	}
	return "", Segment{}, false
}
