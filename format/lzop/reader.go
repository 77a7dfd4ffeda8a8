package lzop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
)

// Magic is the 9-byte signature every lzop member starts with.
var Magic = [9]byte{0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}

// IsLzop reports whether prefix starts with the lzop magic. It needs at
// least the first 9 bytes of the stream.
func IsLzop(prefix []byte) bool {
	return bytes.HasPrefix(prefix, Magic[:])
}

// Header flags (lzop's F_* constants) that change what must be read or checked.
const (
	flagAdler32D    = 0x00000001 // Adler-32 of each block's uncompressed data
	flagAdler32C    = 0x00000002 // Adler-32 of each block's compressed data
	flagExtraField  = 0x00000040 // an extra field follows the header
	flagCRC32D      = 0x00000100 // CRC-32 of each block's uncompressed data
	flagCRC32C      = 0x00000200 // CRC-32 of each block's compressed data
	flagFilter      = 0x00000800 // a filter number follows the flags
	flagHeaderCRC32 = 0x00001000 // header checksums are CRC-32, not Adler-32
	// Bits lzop requires to be zero: anything else there means a format
	// this reader does not know, whose layout it cannot trust.
	flagsReserved = 0x000fc000
)

const (
	// versionWithLevel is the first lzop format version whose header has
	// version_needed, level and mtime_high.
	versionWithLevel = 0x0940
	// oldestVersion is the oldest format version lzop accepts.
	oldestVersion = 0x0900
	// newestNeeded is the version_needed lzop 1.04 accepts: a member that
	// needs a newer lzop may use features this reader does not know.
	newestNeeded = 0x1040
	// maxBlockSize is the largest uncompressed block lzop accepts (64 MiB);
	// lzop itself writes 256 KiB blocks.
	maxBlockSize = 64 << 20
	// maxExpansion bounds the uncompressed size of a block by its compressed
	// size: LZO1X can encode at most 255 output bytes per input byte. It
	// lets a forged length be rejected before any buffer is sized for it.
	maxExpansion = 256
	// lzopBlockSize is the block size lzop writes. Buffers up to this size
	// are allocated before the data arrives (the first block of an lzop
	// stream is its largest, so real streams allocate once); beyond it they
	// grow only as data arrives, so a forged length cannot make a short
	// stream allocate much.
	lzopBlockSize = 256 << 10
	// maxHeaderSize is the longest header after the magic: versions,
	// method, level, flags, filter, mode, mtimes, name length and name.
	maxHeaderSize = 2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4 + 4 + 1 + 255
)

// What the reader is in the middle of, for error messages.
type unitKind int

const (
	unitHeader  unitKind = iota // a member's header
	unitBlock                   // a block
	unitTrailer                 // what follows a member's terminator
)

// Reader decompresses an lzop stream: one member as `lzop -c` writes it, or
// several members back to back. It holds at most two block buffers, reused
// from block to block.
type Reader struct {
	src    io.Reader
	offset int64 // bytes consumed from src

	unit         unitKind // what is being read, for errors
	unitOffset   int64    // where it starts
	memberOffset int64    // where the current member starts
	members      int      // members started so far
	inMember     bool     // a header was read and its terminator was not
	flags        uint32   // flags of the current member

	packed   []byte // a block as stored: compressed, or raw when stored
	unpacked []byte // the decompressed block
	pending  []byte // decoded bytes not yet returned
	err      error  // sticky: io.EOF at the clean end, or the failure

	header [maxHeaderSize]byte // the header being read, for its checksum
	word   [4]byte             // a field being read; a local would escape to the heap via io.ReadFull
}

// NewReader returns a Reader that decompresses the lzop stream r.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r}
}

// Read implements io.Reader. Errors about the stream are *problem.Error of
// kind Corrupt or Truncated; errors from the underlying reader are returned
// unchanged.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.nextBlock()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: it writes each decoded block straight from
// the reader's buffer, saving a copy per block over io.Copy with Read.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	return writeBlocks(w, &r.pending, func() error {
		if r.err == nil {
			r.err = r.nextBlock()
		}
		return r.err
	})
}

// writeBlocks writes *pending, then each block next makes pending, to w
// until next fails; its io.EOF is the clean end.
func writeBlocks(w io.Writer, pending *[]byte, next func() error) (int64, error) {
	var written int64
	for {
		if len(*pending) > 0 {
			n, err := w.Write(*pending)
			written += int64(n)
			*pending = (*pending)[n:]
			if err != nil {
				return written, err
			}
			if len(*pending) > 0 {
				return written, io.ErrShortWrite
			}
		}
		if err := next(); err == io.EOF {
			return written, nil
		} else if err != nil {
			return written, err
		}
	}
}

// nextBlock reads headers and terminators until it has decoded a block into
// r.pending. It returns io.EOF at the clean end of the stream.
func (r *Reader) nextBlock() error {
	b, err := r.nextStored(&r.packed)
	if err != nil {
		return err
	}
	out, err := b.decode(&r.unpacked)
	if err != nil {
		return err
	}
	r.pending = out
	return nil
}

// nextStored reads headers and terminators until it has read the next
// block as stored, into *packed. It returns io.EOF at the clean end of the
// stream. Decoding is left to the caller: ParallelReader does it on other
// goroutines.
func (r *Reader) nextStored(packed *[]byte) (block, error) {
	for {
		if !r.inMember {
			if err := r.startMember(); err != nil {
				return block{}, err
			}
			continue
		}
		b, err := r.readBlock(packed)
		if err != nil || r.inMember {
			return b, err
		}
		// That was the member's terminator: look for another member.
	}
}

// startMember reads the magic and header of the next member. At the start of
// the stream, anything but the magic means the object is not lzop at all;
// after a member, the end of the stream is the clean end.
func (r *Reader) startMember() error {
	r.unitOffset = r.offset
	var magic [len(Magic)]byte
	n, err := io.ReadFull(r.src, magic[:])
	r.offset += int64(n)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	switch {
	case n == 0 && r.members > 0:
		return io.EOF
	case n == 0:
		return newTruncated(0, 0, r.where(), "the lzop magic: the stream is empty")
	case !bytes.Equal(magic[:n], Magic[:n]):
		if r.members == 0 {
			return notLzop(magic[:n])
		}
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("found % x where another member's magic or the end of the stream should be", magic[:min(n, 8)]),
			detailDamaged)
	case n < len(Magic):
		return newTruncated(r.unitOffset, r.offset, r.where(), "the end of the lzop magic")
	}
	r.unit = unitHeader
	r.memberOffset = r.unitOffset
	r.members++
	if err := r.readHeader(); err != nil {
		return err
	}
	r.inMember = true
	return nil
}

// readHeader reads and checks the header that follows the magic, and skips
// the extra field if there is one.
func (r *Reader) readHeader() error {
	h := headerReader{r: r}
	version := h.u16("the header's version")
	h.u16("the header's library version")
	var needed uint16
	if version >= versionWithLevel {
		needed = h.u16("the header's version needed to extract")
	}
	method := h.u8("the header's method")
	if version >= versionWithLevel {
		h.u8("the header's level")
	}
	flags := h.u32("the header's flags")
	var filter uint32
	if flags&flagFilter != 0 {
		filter = h.u32("the header's filter")
	}
	h.u32("the header's file mode")
	h.u32("the header's modification time")
	if version >= versionWithLevel {
		h.u32("the header's modification time")
	}
	nameLen := h.u8("the header's file name length")
	h.bytes(int(nameLen), "the header's file name")
	if h.err != nil {
		return h.err
	}
	r.flags = flags // before the checksum, which depends on them
	want, err := r.readU32("the header checksum")
	if err != nil {
		return err
	}
	if err := r.compareSum("header checksum", r.headerSum(r.header[:h.n]), want); err != nil {
		return err
	}
	if err := r.checkHeaderFields(version, needed, method, flags, filter); err != nil {
		return err
	}
	if flags&flagExtraField != 0 {
		return r.skipExtraField()
	}
	return nil
}

// checkHeaderFields rejects headers this reader cannot decode correctly. It
// runs after the header checksum matched, so a complaint here is about what
// lzop really wrote, not about damage.
func (r *Reader) checkHeaderFields(version, needed uint16, method byte, flags, filter uint32) error {
	switch {
	case version < oldestVersion:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("format version 0x%04x is older than any lzop release", version), detailDamaged)
	case version >= versionWithLevel && needed < oldestVersion:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("version needed to extract 0x%04x is older than any lzop release", needed), detailDamaged)
	case needed > newestNeeded:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("needs lzop version 0x%04x or newer to extract; pgrescue reads the format of lzop 1.04 (0x%04x)", needed, newestNeeded),
			detailUnsupported)
	case method < 1 || method > 3:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("compression method %d is not supported: pgrescue decodes LZO1X, methods 1, 2 and 3", method),
			detailUnsupported)
	case flags&flagsReserved != 0:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("flags 0x%08x set reserved bits 0x%08x", flags, flags&flagsReserved), detailUnsupported)
	case flags&flagFilter != 0 && filter != 0:
		return newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("uses lzop filter %d, which pgrescue does not support", filter), detailUnsupported)
	}
	return nil
}

// skipExtraField reads past the optional extra field (a 32-bit length, that
// many bytes, and a checksum of both) and verifies its checksum.
func (r *Reader) skipExtraField() error {
	var size [4]byte
	if err := r.readFull(size[:], "the extra field's length"); err != nil {
		return err
	}
	sum := r.newHeaderHash()
	sum.Write(size[:])
	remaining := int64(binary.BigEndian.Uint32(size[:]))
	chunk := r.header[:]
	for remaining > 0 {
		part := chunk[:min(remaining, int64(len(chunk)))]
		if err := r.readFull(part, "the end of the extra field"); err != nil {
			return err
		}
		sum.Write(part)
		remaining -= int64(len(part))
	}
	want, err := r.readU32("the extra field's checksum")
	if err != nil {
		return err
	}
	return r.compareSum("extra field checksum", sum.Sum32(), want)
}

// readBlock reads one block header and, unless it is the member's
// terminator, the block's stored data into *packed. After a terminator,
// r.inMember is false.
func (r *Reader) readBlock(packed *[]byte) (block, error) {
	r.unit, r.unitOffset = unitBlock, r.offset
	dstLen, err := r.readU32("the block's uncompressed length or the member's terminator")
	if err != nil {
		return block{}, err
	}
	if dstLen == 0 {
		r.inMember = false
		r.unit = unitTrailer
		return block{}, nil
	}
	if dstLen > maxBlockSize {
		return block{}, newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("uncompressed length %d is larger than lzop's limit of %d", dstLen, maxBlockSize), detailDamaged)
	}
	sums, err := r.readBlockSums(dstLen)
	if err != nil {
		return block{}, err
	}
	data, err := r.readBlockData(packed, int(sums.srcLen), int(dstLen))
	if err != nil {
		return block{}, err
	}
	return block{sums: sums, dstLen: int(dstLen), data: data, flags: r.flags, offset: r.unitOffset, member: r.memberOffset}, nil
}

// block is one block as stored, with what verifying and decoding it needs:
// blocks are independent of each other, so any goroutine can decode one.
type block struct {
	sums   blockSums
	dstLen int
	data   []byte // as stored: compressed, or raw when stored
	flags  uint32 // of its member: which checksums it carries
	offset int64  // of its header in the stream, for errors
	member int64  // of its member
}

// decode verifies the block's checksums and decompresses it into
// *unpacked (grown when the block is larger than any before); a stored
// block is returned as it is.
func (b *block) decode(unpacked *[]byte) ([]byte, error) {
	out := b.data
	if int(b.sums.srcLen) < b.dstLen {
		if err := b.checkSums(b.sums.adlerC, b.sums.crcC, flagAdler32C, flagCRC32C, "compressed", b.data); err != nil {
			return nil, err
		}
		var err error
		if out, err = b.decompress(unpacked); err != nil {
			return nil, err
		}
	}
	if err := b.checkSums(b.sums.adlerD, b.sums.crcD, flagAdler32D, flagCRC32D, "uncompressed", out); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *block) where() string { return blockWhere(b.offset, b.member) }

func blockWhere(offset, member int64) string {
	return fmt.Sprintf("lzop block at offset %d (member at offset %d)", offset, member)
}

// blockSums is the rest of a block header: the compressed length and the
// checksums the member's flags call for.
type blockSums struct {
	srcLen                     uint32
	adlerD, crcD, adlerC, crcC uint32
}

// readBlockSums reads the block header fields after the uncompressed length.
// The compressed-data checksums are present only when the block really is
// compressed: for a stored block they would repeat the uncompressed ones.
func (r *Reader) readBlockSums(dstLen uint32) (blockSums, error) {
	var s blockSums
	var err error
	if s.srcLen, err = r.readU32("the block's compressed length"); err != nil {
		return s, err
	}
	switch {
	case s.srcLen == 0 || s.srcLen > dstLen:
		return s, newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("compressed length %d is not between 1 and the uncompressed length %d", s.srcLen, dstLen), detailDamaged)
	case uint64(dstLen) > uint64(s.srcLen)*maxExpansion:
		return s, newCorrupt(r.unitOffset, r.where(),
			fmt.Sprintf("uncompressed length %d is more than LZO1X can encode in %d bytes", dstLen, s.srcLen), detailDamaged)
	}
	compressed := s.srcLen < dstLen
	if r.flags&flagAdler32D != 0 {
		if s.adlerD, err = r.readU32("the block's Adler-32 of uncompressed data"); err != nil {
			return s, err
		}
	}
	if r.flags&flagCRC32D != 0 {
		if s.crcD, err = r.readU32("the block's CRC-32 of uncompressed data"); err != nil {
			return s, err
		}
	}
	if compressed && r.flags&flagAdler32C != 0 {
		if s.adlerC, err = r.readU32("the block's Adler-32 of compressed data"); err != nil {
			return s, err
		}
	}
	if compressed && r.flags&flagCRC32C != 0 {
		if s.crcC, err = r.readU32("the block's CRC-32 of compressed data"); err != nil {
			return s, err
		}
	}
	return s, nil
}

// readU32 reads one big-endian 32-bit field.
func (r *Reader) readU32(what string) (uint32, error) {
	if err := r.readFull(r.word[:], what); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(r.word[:]), nil
}

// readBlockData reads a block's n stored bytes into *packed. Up to lzop's
// block size the buffer is allocated whole, with room for the block's
// uncompressed size dstLen (compressed sizes vary from block to block, and
// can reach it); beyond that, it grows only as data actually arrives, so a
// damaged length field in a short stream costs a Truncated error, not a
// large allocation.
func (r *Reader) readBlockData(packed *[]byte, n, dstLen int) ([]byte, error) {
	const what = "the end of the block's data"
	if cap(*packed) < n && n <= lzopBlockSize {
		*packed = make([]byte, grownSize(cap(*packed), min(dstLen, lzopBlockSize)))
	}
	if cap(*packed) >= n {
		*packed = (*packed)[:n]
		return *packed, r.readFull(*packed, what)
	}
	buf := (*packed)[:cap(*packed)]
	got := 0
	for {
		size := min(n, max(2*len(buf), lzopBlockSize))
		grown := make([]byte, size)
		copy(grown, buf[:got])
		buf = grown
		if err := r.readFull(buf[got:], what); err != nil {
			return nil, err
		}
		got = size
		if got == n {
			break
		}
	}
	*packed = buf
	return buf, nil
}

// grownSize is the new size of a buffer of capacity have that must hold
// need bytes: exactly need for a first, small block (a short object should
// not cost 256 KiB), otherwise at least double, up to lzop's block size, so
// unusual streams whose blocks grow do not reallocate at every block.
func grownSize(have, need int) int {
	if have == 0 || need > lzopBlockSize {
		return need
	}
	return max(need, min(2*have, lzopBlockSize))
}

// decompress decodes the block into *unpacked, which it grows when a
// block is larger than any before. Its size was checked against the
// compressed data that did arrive (see maxExpansion), so a forged length
// cannot make it allocate more than 256 times the stream's size.
func (b *block) decompress(unpacked *[]byte) ([]byte, error) {
	if cap(*unpacked) < b.dstLen {
		*unpacked = make([]byte, grownSize(cap(*unpacked), b.dstLen))
	}
	dst := (*unpacked)[:b.dstLen]
	n, err := decompressLZO1X(dst, b.data)
	if err != nil {
		return nil, newCorrupt(b.offset, b.where(), err.Error(), detailDamaged)
	}
	if n != b.dstLen {
		return nil, newCorrupt(b.offset, b.where(),
			fmt.Sprintf("LZO1X data decompresses to %d bytes, the block header says %d", n, b.dstLen), detailDamaged)
	}
	return dst, nil
}

// checkSums verifies whichever of the Adler-32 and CRC-32 of data the
// member's flags call for. kind is "compressed" or "uncompressed".
func (b *block) checkSums(adler, crc uint32, adlerFlag, crcFlag uint32, kind string, data []byte) error {
	if b.flags&adlerFlag != 0 {
		if got := adler32Checksum(data); got != adler {
			return b.sumMismatch("Adler-32", kind, got, adler)
		}
	}
	if b.flags&crcFlag != 0 {
		if got := crc32.ChecksumIEEE(data); got != crc {
			return b.sumMismatch("CRC-32", kind, got, crc)
		}
	}
	return nil
}

func (b *block) sumMismatch(sum, kind string, got, want uint32) error {
	return newCorrupt(b.offset, b.where(),
		fmt.Sprintf("%s of %s data is 0x%08x, expected 0x%08x", sum, kind, got, want), detailDamaged)
}

// headerSum is the checksum of header bytes, by the member's algorithm.
func (r *Reader) headerSum(fields []byte) uint32 {
	if r.flags&flagHeaderCRC32 != 0 {
		return crc32.ChecksumIEEE(fields)
	}
	return adler32Checksum(fields)
}

// compareSum reports a header or extra field checksum that does not match.
func (r *Reader) compareSum(what string, got, want uint32) error {
	if got == want {
		return nil
	}
	return newCorrupt(r.unitOffset, r.where(),
		fmt.Sprintf("%s (%s) is 0x%08x, expected 0x%08x", what, r.headerSumName(), got, want), detailDamaged)
}

func (r *Reader) headerSumName() string {
	if r.flags&flagHeaderCRC32 != 0 {
		return "CRC-32"
	}
	return "Adler-32"
}

type hash32 interface {
	Write([]byte) (int, error)
	Sum32() uint32
}

func (r *Reader) newHeaderHash() hash32 {
	if r.flags&flagHeaderCRC32 != 0 {
		return crc32.NewIEEE()
	}
	return adler32.New()
}

// readFull fills buf from the stream and counts the bytes. A stream that
// ends first is reported as Truncated, naming what was still to come.
func (r *Reader) readFull(buf []byte, what string) error {
	n, err := io.ReadFull(r.src, buf)
	r.offset += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return newTruncated(r.unitOffset, r.offset, r.where(), what)
	}
	return err
}

// where names what is being read, for the start of error summaries.
func (r *Reader) where() string {
	switch r.unit {
	case unitBlock:
		return blockWhere(r.unitOffset, r.memberOffset)
	case unitTrailer:
		return fmt.Sprintf("lzop data at offset %d, after the member at offset %d", r.unitOffset, r.memberOffset)
	default:
		return fmt.Sprintf("lzop header at offset %d", r.unitOffset)
	}
}

// headerReader reads header fields into r.header in order, remembering the
// first error so the field list reads like the format description.
type headerReader struct {
	r   *Reader
	n   int
	err error
}

func (h *headerReader) bytes(size int, what string) []byte {
	if h.err != nil {
		return nil
	}
	field := h.r.header[h.n : h.n+size]
	if h.err = h.r.readFull(field, what); h.err != nil {
		return nil
	}
	h.n += size
	return field
}

func (h *headerReader) u8(what string) byte {
	if b := h.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (h *headerReader) u16(what string) uint16 {
	if b := h.bytes(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (h *headerReader) u32(what string) uint32 {
	if b := h.bytes(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}
