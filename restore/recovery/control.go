package recovery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"pgrescue/problem"
)

// Control is what pgrescue reads of a data directory's global/pg_control
// itself, so that a restore needs no pg_controldata of the cluster's major
// version (the npm server packages, and a machine with only another
// major's client programs, have none).
type Control struct {
	Version     uint32 // pg_control_version: 1300 for 13 to 16, 1700 for 17…
	SystemID    uint64
	State       DBState
	Checkpoint  uint64 // the latest checkpoint's LSN
	Redo        uint64 // its REDO location: where replay from it starts
	Timeline    uint32 // its timeline
	SegmentSize int64  // bytes per WAL segment
}

// DBState is the cluster's state as pg_control records it.
type DBState uint32

// The states of PostgreSQL's DBState enum, unchanged since 9.3.
const (
	DBStartup DBState = iota
	DBShutdowned
	DBShutdownedInRecovery
	DBShutdowning
	DBInCrashRecovery
	DBInArchiveRecovery
	DBInProduction
)

func (s DBState) String() string {
	names := []string{"starting up", "shut down", "shut down in recovery", "shutting down", "in crash recovery", "in archive recovery", "in production"}
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("unknown state %d", uint32(s))
}

// ControlFileData's layout. Its head is the same in every version:
// system_identifier (0), pg_control_version (8), catalog_version_no (12),
// state (16), time (24), checkPoint (32); then, up to pg_control_version
// 1002 (PostgreSQL 10), prevCheckPoint; then the checkpoint's copy, whose
// first fields are redo and ThisTimeLineID. Further on, the compile-time
// constants are also in every version's order: floatFormat (the double
// 1234567.0), blcksz, relseg_size, xlog_blcksz, xlog_seg_size. The CRC-32C
// of everything before it comes last; it is found by matching.
const (
	offVersion     = 8
	offState       = 16
	offCheckpoint  = 32
	offRedoFrom11  = 40
	offRedoUpTo10  = 48
	lastWithPrevCP = 1002
	floatFormat    = 1234567.0
	// pgControlSize is PG_CONTROL_FILE_SIZE: the file is padded to it.
	pgControlSize = 8192
)

// ReadControl reads global/pg_control and checks its CRC.
func ReadControl(pgdata string) (Control, error) {
	path := filepath.Join(pgdata, "global", "pg_control")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Control{}, problem.Wrap(err, problem.Corrupt, path, "the data directory has no control file",
			"it is not a whole PostgreSQL data directory: fetch the base backup again (pgrescue backup-fetch)")
	}
	if err != nil {
		return Control{}, problem.Wrap(err, problem.LocalIO, path, "cannot read the control file", "check its permissions")
	}
	c, err := ParseControl(data)
	if err != nil {
		return Control{}, problem.Wrap(err, problem.Corrupt, path, "the control file is damaged: "+err.Error(),
			"fetch the base backup again (pgrescue backup-fetch); a restored directory must not be used with a damaged pg_control")
	}
	return c, nil
}

// ParseControl reads a pg_control file's bytes.
func ParseControl(data []byte) (Control, error) {
	if len(data) < 512 {
		return Control{}, fmt.Errorf("%d bytes, where PostgreSQL writes %d", len(data), pgControlSize)
	}
	if _, ok := controlCRC(data); !ok {
		return Control{}, errors.New("no CRC-32C in it matches its contents")
	}
	le := binary.LittleEndian
	c := Control{
		SystemID:   le.Uint64(data[0:]),
		Version:    le.Uint32(data[offVersion:]),
		State:      DBState(le.Uint32(data[offState:])),
		Checkpoint: le.Uint64(data[offCheckpoint:]),
	}
	if c.Version < 937 || c.Version > 9999 {
		return Control{}, fmt.Errorf("pg_control_version %d is no PostgreSQL version pgrescue knows (937 for 9.3 to 1800 for 18)", c.Version)
	}
	redo := offRedoFrom11
	if c.Version <= lastWithPrevCP {
		redo = offRedoUpTo10
	}
	c.Redo = le.Uint64(data[redo:])
	c.Timeline = le.Uint32(data[redo+8:])
	seg, err := segmentSize(data)
	if err != nil {
		return Control{}, err
	}
	c.SegmentSize = seg
	return c, nil
}

// segmentSize finds xlog_seg_size after the floatFormat constant, checking
// the block sizes between them for sense.
func segmentSize(data []byte) (int64, error) {
	le := binary.LittleEndian
	for off := offCheckpoint; off+28 <= len(data); off += 4 {
		if math.Float64frombits(le.Uint64(data[off:])) != floatFormat {
			continue
		}
		blcksz, xlogBlcksz, seg := le.Uint32(data[off+8:]), le.Uint32(data[off+16:]), le.Uint32(data[off+20:])
		if !powerOfTwo(blcksz) || !powerOfTwo(xlogBlcksz) || !powerOfTwo(seg) || seg < 1<<20 || seg > 1<<30 {
			return 0, fmt.Errorf("implausible block or WAL segment sizes (%d, %d, %d)", blcksz, xlogBlcksz, seg)
		}
		return int64(seg), nil
	}
	return 0, errors.New("no floatFormat constant: the file's layout is not PostgreSQL's")
}

func powerOfTwo(n uint32) bool { return n != 0 && n&(n-1) == 0 }

// controlCRC finds the CRC-32C that ends ControlFileData, whose size
// differs by version: the one offset whose 4 bytes are the checksum of all
// before it.
func controlCRC(data []byte) (offset int, ok bool) {
	table := crc32.MakeTable(crc32.Castagnoli)
	le := binary.LittleEndian
	sum := uint32(0)
	prev := 0
	for off := 4; off+4 <= min(len(data), 1024); off += 4 {
		sum = crc32.Update(sum, table, data[prev:off])
		prev = off
		if le.Uint32(data[off:]) == sum && off >= 64 {
			return off, true
		}
	}
	return 0, false
}
