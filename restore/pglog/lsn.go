package pglog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultSegmentSize is the WAL segment size of a stock build (16 MiB). Servers
// initialised with another --wal-segsize (11+) report theirs in pg_controldata.
const DefaultSegmentSize int64 = 16 << 20

// LSN is a position in the WAL stream, printed by PostgreSQL as two 32-bit hex
// halves, "X/Y". LSN 0 is PostgreSQL's InvalidXLogRecPtr, so it doubles as
// "not known yet" in State.
type LSN uint64

var errBadLSN = errors.New("pglog: LSN must be two hex numbers of at most 8 digits joined by '/'")

// ParseLSN reads "X/Y" in hex, upper or lower case. Each half may be zero
// padded ("0/03000028"): research notes quote a development branch printing
// the low half as %08X, so padding must not be an error.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("%w: %q", errBadLSN, s)
	}
	h, err := parseHex32(hi)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errBadLSN, s)
	}
	l, err := parseHex32(lo)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errBadLSN, s)
	}
	return LSN(h<<32 | l), nil
}

// parseHex32 accepts 1 to 8 hex digits and nothing else (no sign, no "0x").
func parseHex32(s string) (uint64, error) {
	if len(s) == 0 || len(s) > 8 {
		return 0, errBadLSN
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return 0, errBadLSN
		}
	}
	return strconv.ParseUint(s, 16, 32)
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// String prints the LSN the way PostgreSQL 9.3–18 does: "%X/%X", no padding.
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l))
}

// MarshalText writes the LSN in JSON as PostgreSQL prints it.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// SegmentNumber is the number of the WAL segment holding l. A non-positive
// segSize means DefaultSegmentSize, so a zero value never divides by zero.
func (l LSN) SegmentNumber(segSize int64) uint64 {
	return uint64(l) / uint64(normalSegmentSize(segSize))
}

// SegmentStart is the LSN of the first byte of segment segNo.
func SegmentStart(segNo uint64, segSize int64) LSN {
	return LSN(segNo * uint64(normalSegmentSize(segSize)))
}

func normalSegmentSize(segSize int64) int64 {
	if segSize <= 0 {
		return DefaultSegmentSize
	}
	return segSize
}

// segmentsPerXLogID is how many segments share the middle 8 hex digits of a
// WAL file name (256 for 16 MiB segments).
func segmentsPerXLogID(segSize int64) uint64 {
	return 0x100000000 / uint64(normalSegmentSize(segSize))
}

// SegmentName is the archive file name of a segment: timeline, then the
// segment number split into "xlogid" and "seg", 8 hex digits each.
func SegmentName(timeline uint32, segNo uint64, segSize int64) string {
	per := segmentsPerXLogID(segSize)
	return fmt.Sprintf("%08X%08X%08X", timeline, segNo/per, segNo%per)
}

// ParseSegmentName is the inverse of SegmentName. It accepts only the plain
// 24-hex-digit form: .history, .backup and .partial files are not segments.
func ParseSegmentName(name string, segSize int64) (timeline uint32, segNo uint64, err error) {
	if !IsSegmentName(name) {
		return 0, 0, fmt.Errorf("pglog: %q is not a WAL segment name", name)
	}
	tli, _ := strconv.ParseUint(name[0:8], 16, 32)
	xlogID, _ := strconv.ParseUint(name[8:16], 16, 32)
	seg, _ := strconv.ParseUint(name[16:24], 16, 32)
	return uint32(tli), xlogID*segmentsPerXLogID(segSize) + seg, nil
}

// IsSegmentName reports whether name is a 24-hex-digit WAL segment name.
func IsSegmentName(name string) bool {
	if len(name) != 24 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isHexDigit(name[i]) {
			return false
		}
	}
	return true
}
