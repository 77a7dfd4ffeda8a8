package lzop

import (
	"encoding/binary"
	"errors"
)

// The ways an LZO1X block can be malformed. They mirror the error codes of
// liblzo's lzo1x_decompress_safe, which is what lzop uses, so a block this
// decoder rejects is a block lzop would reject too.
var (
	errInputOverrun      = errors.New("LZO1X data ends in the middle of an instruction or before the end-of-stream marker")
	errOutputOverrun     = errors.New("LZO1X data decompresses to more bytes than the block header says")
	errLookbehindOverrun = errors.New("LZO1X data refers back to bytes before the start of the block")
	errInputNotConsumed  = errors.New("LZO1X data has bytes after its end-of-stream marker")
)

// decompressLZO1X decodes one LZO1X block (methods 1, 2 and 3 of lzop all
// produce this format) from src into dst and returns the number of bytes
// written. dst must be exactly as long as the block's uncompressed size: the
// decoder never writes past len(dst) and reports errOutputOverrun instead.
// Every read and write is bounds-checked, so no input can make it panic.
//
// The stream is a sequence of instructions. Each either copies a run of
// literal bytes from src, or copies a match from earlier output at some
// distance; the two low bits of a match instruction (or of its distance
// operand) say how many literals, 0 to 3, follow it. The meaning of an
// instruction byte below 16 depends on what came before ("state"):
//
//   - state 0, after a match with no trailing literals: a literal run of 4 or
//     more bytes;
//   - state 1-3, after 1 to 3 trailing literals: a 2-byte match within 1 KiB;
//   - state 4, after a literal run of 4 or more: a 3-byte match 2-3 KiB back.
//
// A 0001xxxx instruction with distance 16384 marks the end of the stream.
func decompressLZO1X(dst, src []byte) (int, error) {
	ip, op := 0, 0
	state := 0
	if len(src) == 0 {
		return 0, errInputOverrun
	}
	// The first byte may encode a literal run directly, since there is no
	// earlier output to match against.
	if src[0] > 17 {
		n := int(src[0]) - 17
		ip = 1
		if n > len(src)-ip {
			return op, errInputOverrun
		}
		if n > len(dst)-op {
			return op, errOutputOverrun
		}
		copy(dst[op:op+n], src[ip:ip+n])
		ip += n
		op += n
		state = min(n, 4)
	}

	for {
		if ip >= len(src) {
			return op, errInputOverrun
		}
		t := int(src[ip])
		ip++

		var length, dist, trailing int
		switch {
		case t >= 64:
			// 01LDDDSS or 1LLDDDSS HHHHHHHH: 3 to 8 bytes within 2 KiB.
			if ip >= len(src) {
				return op, errInputOverrun
			}
			length = t>>5 + 1
			dist = 1 + (t>>2)&7 + int(src[ip])<<3
			ip++
			trailing = t & 3

		case t >= 32:
			// 001LLLLL [length bytes] DDDDDDDD DDDDDDSS: any length within 16 KiB.
			length = t & 31
			if length == 0 {
				var ok bool
				if length, ip, ok = extendedLength(src, ip, 31); !ok {
					return op, errInputOverrun
				}
			}
			length += 2
			if len(src)-ip < 2 {
				return op, errInputOverrun
			}
			v := int(src[ip]) | int(src[ip+1])<<8
			ip += 2
			dist = 1 + v>>2
			trailing = v & 3

		case t >= 16:
			// 0001HLLL [length bytes] DDDDDDDD DDDDDDSS: 16 to 48 KiB back,
			// or the end of the stream when the distance is exactly 16 KiB.
			length = t & 7
			if length == 0 {
				var ok bool
				if length, ip, ok = extendedLength(src, ip, 7); !ok {
					return op, errInputOverrun
				}
			}
			length += 2
			if len(src)-ip < 2 {
				return op, errInputOverrun
			}
			v := int(src[ip]) | int(src[ip+1])<<8
			ip += 2
			dist = 0x4000 + (t&8)<<11 + v>>2
			if dist == 0x4000 {
				if ip < len(src) {
					return op, errInputNotConsumed
				}
				return op, nil
			}
			trailing = v & 3

		default:
			switch state {
			case 0:
				// 0000LLLL [length bytes]: a literal run of 4 or more bytes.
				n := t
				if n == 0 {
					var ok bool
					if n, ip, ok = extendedLength(src, ip, 15); !ok {
						return op, errInputOverrun
					}
				}
				n += 3
				if n > len(src)-ip {
					return op, errInputOverrun
				}
				if n > len(dst)-op {
					return op, errOutputOverrun
				}
				copyLiterals(dst[op:], src[ip:], n)
				ip += n
				op += n
				state = 4
				continue
			case 4:
				// 0000DDSS HHHHHHHH after a long literal run: 3 bytes, 2-3 KiB back.
				if ip >= len(src) {
					return op, errInputOverrun
				}
				length = 3
				dist = 1 + 0x800 + t>>2 + int(src[ip])<<2
				ip++
			default:
				// 0000DDSS HHHHHHHH after 1-3 literals: 2 bytes within 1 KiB.
				if ip >= len(src) {
					return op, errInputOverrun
				}
				length = 2
				dist = 1 + t>>2 + int(src[ip])<<2
				ip++
			}
			trailing = t & 3
		}

		if dist > op {
			return op, errLookbehindOverrun
		}
		if length > len(dst)-op {
			return op, errOutputOverrun
		}
		if dist >= 8 && length <= 16 && len(dst)-op >= 16 {
			// Most matches are short: move 16 bytes with two word copies
			// and let the surplus be overwritten by what follows. Going
			// forward 8 bytes at a time is right even for overlapping
			// matches, as each word reads only bytes already written.
			from := op - dist
			binary.LittleEndian.PutUint64(dst[op:], binary.LittleEndian.Uint64(dst[from:]))
			binary.LittleEndian.PutUint64(dst[op+8:], binary.LittleEndian.Uint64(dst[from+8:]))
		} else {
			copyMatch(dst, op, dist, length)
		}
		op += length

		if trailing > 0 {
			if trailing > len(src)-ip {
				return op, errInputOverrun
			}
			if trailing > len(dst)-op {
				return op, errOutputOverrun
			}
			if len(src)-ip >= 4 && len(dst)-op >= 4 {
				// One word copy instead of up to three byte copies.
				binary.LittleEndian.PutUint32(dst[op:], binary.LittleEndian.Uint32(src[ip:]))
			} else {
				for i := range trailing {
					dst[op+i] = src[ip+i]
				}
			}
			ip += trailing
			op += trailing
		}
		state = trailing
	}
}

// maxZeroRun bounds the zero bytes counted in a length field: 255 times it
// exceeds the largest block lzop allows, and fits in a 32-bit int.
const maxZeroRun = 1 << 22

// extendedLength decodes the variable-length tail of a length field whose
// bits in the instruction were all zero: each zero byte adds 255, and the
// first non-zero byte is added as is, on top of base (the largest value the
// instruction bits could hold). It returns the length and the new input
// position, or ok=false if src ends before the non-zero byte.
func extendedLength(src []byte, ip, base int) (length, next int, ok bool) {
	start := ip
	for ip < len(src) && src[ip] == 0 {
		ip++
	}
	if ip >= len(src) {
		return 0, ip, false
	}
	// Clamp the zero count so the product cannot overflow a 32-bit int; the
	// clamped length is still far beyond any block, so callers reject it.
	zeros := min(ip-start, maxZeroRun)
	length = base + 255*zeros + int(src[ip])
	return length, ip + 1, true
}

// copyLiterals copies n literal bytes from src to dst, both of which the
// caller has checked hold at least n bytes. Short runs, the common case, are
// moved as two words when both slices have room for the surplus.
func copyLiterals(dst, src []byte, n int) {
	if n <= 16 && len(src) >= 16 && len(dst) >= 16 {
		binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src))
		binary.LittleEndian.PutUint64(dst[8:], binary.LittleEndian.Uint64(src[8:]))
		return
	}
	copy(dst[:n], src[:n])
}

// copyMatch copies length bytes that start dist bytes before dst[op] to
// dst[op:]. The caller has checked dist <= op and op+length <= len(dst).
// When the match overlaps the bytes it produces (dist < length), the result
// is the dist-byte pattern repeated, which a single copy() would not give.
func copyMatch(dst []byte, op, dist, length int) {
	from := op - dist
	if dist >= length {
		copy(dst[op:op+length], dst[from:from+length])
		return
	}
	done := 0
	if dist < 4 {
		// A tiny period (runs of one repeated byte are the most common,
		// e.g. zeroed pages): write the first few bytes one by one, so
		// the doubling below starts from a useful size.
		done = min(length, 16-16%dist)
		for i := range done {
			dst[op+i] = dst[from+i]
		}
	}
	// Everything from `from` to the write position is a whole number of
	// periods, so copying it as one block continues the pattern; each
	// round doubles the size of the next one.
	for done < length {
		done += copy(dst[op+done:op+length], dst[from:op+done])
	}
}
