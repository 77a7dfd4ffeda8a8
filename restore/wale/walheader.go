package wale

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"pgrescue/problem"
)

// SegmentHeader is the long page header PostgreSQL writes at the start of
// every WAL segment (XLogLongPageHeaderData, 9.3 to 18; little-endian, as
// on the x86 and ARM servers WAL-E ran on).
type SegmentHeader struct {
	Magic       uint16 // XLOG_PAGE_MAGIC: changes with each major version
	Info        uint16
	Timeline    uint32
	PageAddr    uint64 // the LSN the segment starts at
	SystemID    uint64
	SegmentSize uint32
	BlockSize   uint32
}

// segmentHeaderSize is sizeof(XLogLongPageHeaderData).
const segmentHeaderSize = 40

const xlpLongHeader = 0x0002 // XLP_LONG_HEADER, set on a segment's first page

// ReadSegmentHeader decodes a segment's first bytes.
func ReadSegmentHeader(data []byte) (SegmentHeader, bool) {
	if len(data) < segmentHeaderSize {
		return SegmentHeader{}, false
	}
	le := binary.LittleEndian
	return SegmentHeader{Magic: le.Uint16(data[0:]), Info: le.Uint16(data[2:]), Timeline: le.Uint32(data[4:]),
		PageAddr: le.Uint64(data[8:]), SystemID: le.Uint64(data[24:]), SegmentSize: le.Uint32(data[32:]), BlockSize: le.Uint32(data[36:])}, true
}

// checkSegment verifies a restored WAL segment before PostgreSQL may read
// it. A short or oversized file is no error to PostgreSQL: it takes it for
// the end of WAL, finishes recovery short of the target and promotes. So
// the segment must be as long as its own header says segments are, start
// with a long page header (the magic of a PostgreSQL major version, 9.3 to
// 18), and hold the WAL its name says.
func checkSegment(seg Segment, head []byte, size int64, uri string) error {
	h, ok := ReadSegmentHeader(head)
	damaged := func(detail string) error {
		return &problem.Error{Kind: problem.Corrupt, Subject: uri, Summary: "the archived WAL segment is not a whole segment of this cluster",
			Detail: detail, Next: "replay stops here rather than end recovery early: find segment " + seg.String() +
				" elsewhere (the primary's pg_wal, another archive) and restore it by hand, or choose an earlier target"}
	}
	switch {
	case !ok:
		return damaged(fmt.Sprintf("it is %d bytes long, too short for a WAL page header", size))
	case h.Magic&0xFE00 != 0xD000 || h.Info&xlpLongHeader == 0:
		return damaged(fmt.Sprintf("it does not start with a WAL segment header (magic %#04x, info %#04x)", h.Magic, h.Info))
	case !powerOfTwo(h.SegmentSize, 1<<20, 1<<30) || !powerOfTwo(h.BlockSize, 1<<10, 1<<16):
		return damaged(fmt.Sprintf("its header gives an impossible segment size %d or block size %d", h.SegmentSize, h.BlockSize))
	case size != int64(h.SegmentSize):
		return damaged(fmt.Sprintf("it is %d bytes long, but its header says the cluster's segments are %d bytes", size, h.SegmentSize))
	case h.Timeline != seg.Timeline || h.PageAddr != seg.Number(int64(h.SegmentSize))*uint64(h.SegmentSize):
		return damaged(fmt.Sprintf("its header says it holds WAL of timeline %d from %X/%X, not segment %s", h.Timeline, h.PageAddr>>32, uint32(h.PageAddr), seg))
	}
	return nil
}

func powerOfTwo(v, min, max uint32) bool { return v >= min && v <= max && bits.OnesCount32(v) == 1 }
