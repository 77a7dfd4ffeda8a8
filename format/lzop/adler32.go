package lzop

import "encoding/binary"

// adlerMod is the Adler-32 modulus, the largest prime below 2^16.
const adlerMod = 65521

// adlerChunk is how many bytes adler32Checksum sums before reducing modulo
// adlerMod. With 64-bit sums, s2 stays below 2^64 for any chunk up to about
// 200 MiB; 1 MiB keeps a wide margin while making the reductions negligible.
const adlerChunk = 1 << 20

// adler32Checksum returns the Adler-32 of p, as hash/adler32.Checksum does.
//
// Every lzop block is checksummed with Adler-32, and the standard library's
// byte-at-a-time loop took half the time of decoding a WAL segment. This
// version sums 32 bytes per step: s1 grows by their sum and s2 by 32*s1 plus
// their sum weighted 32, 31, ..., 1, both computed from four 64-bit loads
// with SWAR arithmetic (see the constants above).
// SWAR constants: lanes keeps every other byte of a word in four 16-bit
// lanes; multiplying lanes by laneSum adds them up in the top lane, and by
// evenWeights or oddWeights weighs byte 2i by 8-2i or byte 2i+1 by 7-2i
// (lane i meets multiplier lane 3-i in the top lane of the product). No
// lane ever exceeds 16 bits, so no carry spills into the top lane.
const (
	lanes       = 0x00ff00ff00ff00ff
	laneSum     = 0x0001000100010001
	evenWeights = 0x0008000600040002
	oddWeights  = 0x0007000500030001
)

func adler32Checksum(p []byte) uint32 {
	s1, s2 := uint64(1), uint64(0)
	for len(p) > 0 {
		chunk := p[:min(len(p), adlerChunk)]
		p = p[len(chunk):]
		for len(chunk) >= 32 {
			// Four words a, b, c, d: their bytes weigh 32..25, 24..17,
			// 16..9 and 8..1, that is each word's 8..1 weighting plus 24,
			// 16, 8 or 0 times its plain sum.
			a := binary.LittleEndian.Uint64(chunk)
			b := binary.LittleEndian.Uint64(chunk[8:])
			c := binary.LittleEndian.Uint64(chunk[16:])
			d := binary.LittleEndian.Uint64(chunk[24:])
			evenA, oddA := a&lanes, (a>>8)&lanes // bytes 0, 2, 4, 6 and 1, 3, 5, 7
			evenB, oddB := b&lanes, (b>>8)&lanes
			evenC, oddC := c&lanes, (c>>8)&lanes
			evenD, oddD := d&lanes, (d>>8)&lanes
			sumA := ((evenA + oddA) * laneSum) >> 48
			sumB := ((evenB + oddB) * laneSum) >> 48
			sumC := ((evenC + oddC) * laneSum) >> 48
			sumD := ((evenD + oddD) * laneSum) >> 48
			weighted := ((evenA+evenB+evenC+evenD)*evenWeights)>>48 +
				((oddA+oddB+oddC+oddD)*oddWeights)>>48
			s2 += 32*s1 + 24*sumA + 16*sumB + 8*sumC + weighted
			s1 += sumA + sumB + sumC + sumD
			chunk = chunk[32:]
		}
		for _, b := range chunk {
			s1 += uint64(b)
			s2 += s1
		}
		s1 %= adlerMod
		s2 %= adlerMod
	}
	return uint32(s2<<16 | s1)
}
