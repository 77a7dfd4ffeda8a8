package lzop

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// LZO1X instruction limits, as the decoder (decompressLZO1X) reads them.
const (
	// m2MaxLen and m2MaxDist bound the two-byte match 1LLDDDSS HHHHHHHH
	// (and 01LDDDSS for lengths 3 and 4).
	m2MaxLen  = 8
	m2MaxDist = 0x800
	// m3MaxDist bounds the 001LLLLL match; its length needs no extension
	// byte up to m3MaxLen.
	m3MaxDist = 0x4000
	m3MaxLen  = 33
	// m4MaxDist bounds the 0001HLLL match (distances above m3MaxDist); its
	// length needs no extension byte up to m4MaxLen.
	m4MaxDist = 0xbfff
	m4MaxLen  = 9
	// minMatch is the shortest match the compressor looks for: it compares
	// 4-byte sequences, as LZO1X-1 does. A 4-byte match costs at most 3
	// bytes, so every match it emits is shorter than the bytes it replaces.
	minMatch = 4
	// maxFirstLiterals is the longest literal run the first instruction of
	// a block can encode in its single byte (17 + length, at most 255).
	maxFirstLiterals = 238
	// maxShortLiterals is the longest literal run 0000LLLL encodes without
	// an extension byte (the decoder adds 3 to LLLL).
	maxShortLiterals = 18
)

// dictBits is the size of the compressor's hash table: 1<<14 entries, the
// dictionary LZO1X-1 (lzop's method 1) uses. A larger table finds a few more
// matches but no longer fits in the L1 cache, which costs more speed than
// the ratio is worth for lzop's 256 KiB blocks.
const dictBits = 14

// endOfStream is the LZO1X end-of-stream marker: a 0001HLLL match with the
// distance 16384 that no real match uses.
var endOfStream = [3]byte{0x11, 0x00, 0x00}

// CompressBound returns the most bytes CompressBlock can append for n bytes
// of input: n + n/16 + 64 + 3, the worst case liblzo documents for LZO1X,
// so buffers sized for liblzo are large enough here too.
//
// This compressor stays within n + n/23 + 5. Every match it emits (4 bytes
// or more) costs at least one byte less than it covers. A literal run costs
// its bytes plus: nothing when 1 to 3 literals ride in the previous match's
// low bits; 1 byte up to 18 literals (or 238 as a block's first
// instruction); 2 + (t-19)/255 bytes for t >= 19. A run is followed by a
// match, which pays back a byte, except the last run, followed by the
// 3-byte end-of-stream marker. So each run and its match add at most
// 1 + (t-19)/255 bytes for t+4 bytes of input, never more than 1 byte per
// 23, and the last run and the marker 5 more. Incompressible input is one
// run: n + n/255 + 5 or so.
func CompressBound(n int) int {
	return n + n/16 + 64 + 3
}

// Compressor compresses LZO1X blocks, keeping its 64 KiB hash table between
// calls so compressing block after block (a 16 MiB WAL segment is 64 lzop
// blocks) allocates nothing. The zero value is ready to use. A Compressor is
// not safe for concurrent use.
type Compressor struct {
	// table maps the hash of a 4-byte sequence to the position in the
	// current block where it last started. Entries are not trusted: a
	// stale one (from an earlier block, or the zero an entry starts with)
	// is only a candidate, and the compressor compares the bytes before
	// using it. So the table never needs clearing for correctness; it is
	// cleared per block only so output does not depend on earlier blocks.
	table [1 << dictBits]uint32
}

// compressorPool serves CompressBlock, so the convenience function does not
// allocate a 64 KiB table per call.
var compressorPool = sync.Pool{New: func() any { return new(Compressor) }}

// CompressBlock appends the LZO1X compression of src to dst and returns the
// extended slice. The result is one complete LZO1X block, end-of-stream
// marker included, that liblzo's lzo1x_decompress_safe (and so `lzop -d`)
// decodes to src; at most CompressBound(len(src)) bytes are appended. It is
// a single-pass hash-table compressor in the spirit of LZO1X-1, which is
// what lzop writes by default: fast rather than thorough.
//
// To compress many blocks, a Compressor of one's own avoids the pool.
func CompressBlock(dst, src []byte) []byte {
	c := compressorPool.Get().(*Compressor)
	dst = c.Compress(dst, src)
	compressorPool.Put(c)
	return dst
}

// hash4 maps a 4-byte sequence (read little-endian) to a table index by
// multiplying with a large odd constant and keeping the top bits, which mix
// all four bytes.
func hash4(v uint32) uint32 {
	return (v * 0x9E3779B1) >> (32 - dictBits)
}

// Compress appends the LZO1X compression of src to dst, like CompressBlock.
//
// The loop looks up each position's 4-byte sequence in the hash table and
// records the position there. A hit that really matches (same 4 bytes, at
// most 49151 bytes back, the farthest LZO1X can reach) is extended in both
// directions and emitted, preceded by the literals since the previous
// match; a miss moves on by a step that grows with the length of the
// current literal run, so incompressible data is skipped through quickly,
// as LZO1X-1 does. Positions inside a match are not hashed, except the last
// two, which keeps the loop single-pass and cheap while still finding
// matches that start right after one.
func (c *Compressor) Compress(dst, src []byte) []byte {
	e := encoder{dst: dst, tail: -1}
	n := len(src)
	ii := 0 // start of the literals not yet emitted
	if n > minMatch {
		clear(c.table[:])
		table := &c.table
		// The last 4-byte sequence that can be loaded starts at n-4.
		limit := n - minMatch
		ip := 1
		for ip <= limit {
			cur := binary.LittleEndian.Uint32(src[ip:])
			h := hash4(cur)
			cand := int(table[h])
			table[h] = uint32(ip)
			dist := ip - cand
			if dist <= 0 || dist > m4MaxDist || binary.LittleEndian.Uint32(src[cand:]) != cur {
				ip += 1 + (ip-ii)>>5
				continue
			}
			// Extend backwards over literals the skipping stepped past.
			for ip > ii && cand > 0 && src[ip-1] == src[cand-1] {
				ip--
				cand--
			}
			length := matchLength(src, cand, ip)
			e.literals(src[ii:ip])
			e.match(dist, length)
			ip += length
			ii = ip
			// Hash the end of the match, so a match that continues the
			// data just after it (common in repetitive records) is found.
			if ip <= limit {
				table[hash4(binary.LittleEndian.Uint32(src[ip-2:]))] = uint32(ip - 2)
				table[hash4(binary.LittleEndian.Uint32(src[ip-1:]))] = uint32(ip - 1)
			}
		}
	}
	e.literals(src[ii:])
	e.dst = append(e.dst, endOfStream[:]...)
	return e.dst
}

// matchLength returns how many bytes starting at src[ip] equal those at
// src[cand] (cand < ip; the regions may overlap, which is a repeating
// pattern the decoder reproduces). The caller has checked the first 4.
func matchLength(src []byte, cand, ip int) int {
	n := minMatch
	for ip+n+8 <= len(src) {
		x := binary.LittleEndian.Uint64(src[ip+n:]) ^ binary.LittleEndian.Uint64(src[cand+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for ip+n < len(src) && src[ip+n] == src[cand+n] {
		n++
	}
	return n
}

// encoder appends LZO1X instructions to dst.
type encoder struct {
	dst []byte
	// tail is the index in dst of the byte holding the previous match's
	// two "trailing literals" bits, or -1 before the first match.
	tail int
}

// literals emits a run of literal bytes. In LZO1X a literal run is always
// followed by a match or the end-of-stream marker, both of which start with
// a byte of 16 or more, so the decoder never mistakes what follows:
//
//   - the first instruction of a block may be a run of up to 238 bytes in
//     one byte, 17 + length. (A block's first instruction is never a match,
//     as there is nothing to refer back to: the compressor only starts
//     looking at position 1.);
//   - after a match, 1 to 3 literals go in the match's two low bits;
//   - otherwise 0000LLLL gives 4 to 18 literals, and 00000000 then zero or
//     more 0 bytes (255 each) and a final non-zero byte give 19 or more.
func (e *encoder) literals(lit []byte) {
	t := len(lit)
	switch {
	case t == 0:
		return
	case e.tail < 0 && t <= maxFirstLiterals:
		e.dst = append(e.dst, byte(17+t))
	case e.tail >= 0 && t <= 3:
		e.dst[e.tail] |= byte(t)
	case t <= maxShortLiterals:
		e.dst = append(e.dst, byte(t-3))
	default:
		e.dst = append(e.dst, 0)
		e.extension(t - maxShortLiterals)
	}
	e.dst = append(e.dst, lit...)
}

// extension appends the variable-length part of a length field whose bits
// in the instruction byte are zero: a 0 byte per 255, then the rest, which
// must be at least 1 (so v >= 1).
func (e *encoder) extension(v int) {
	for v > 255 {
		e.dst = append(e.dst, 0)
		v -= 255
	}
	e.dst = append(e.dst, byte(v))
}

// match emits a match of length >= 3 at distance dist (1 to m4MaxDist) in
// the shortest instruction that can hold it, leaving its trailing literal
// bits zero for literals() to fill in.
func (e *encoder) match(dist, length int) {
	switch {
	case length <= m2MaxLen && dist <= m2MaxDist:
		// 1LLDDDSS HHHHHHHH (01LDDDSS for lengths 3 and 4).
		d := dist - 1
		e.tail = len(e.dst)
		e.dst = append(e.dst, byte((length-1)<<5|(d&7)<<2), byte(d>>3))
		return
	case dist <= m3MaxDist:
		// 001LLLLL [extension] DDDDDDDD DDDDDDSS.
		if length <= m3MaxLen {
			e.dst = append(e.dst, byte(32|(length-2)))
		} else {
			e.dst = append(e.dst, 32)
			e.extension(length - m3MaxLen)
		}
		dist--
	default:
		// 0001HLLL [extension] DDDDDDDD DDDDDDSS, H the distance's bit 14
		// above 16384.
		dist -= 0x4000
		h := byte(dist>>11) & 8
		if length <= m4MaxLen {
			e.dst = append(e.dst, 16|h|byte(length-2))
		} else {
			e.dst = append(e.dst, 16|h)
			e.extension(length - m4MaxLen)
		}
	}
	e.tail = len(e.dst)
	e.dst = append(e.dst, byte(dist<<2), byte(dist>>6))
}
