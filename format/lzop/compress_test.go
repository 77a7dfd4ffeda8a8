package lzop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// compressInputs are block inputs chosen to reach every encoding decision:
// sizes around the thresholds of the first-literal form and of literal and
// match length extensions, runs and periodic patterns (overlapping matches),
// copies from every distance class, and data with nothing to find.
func compressInputs(tb testing.TB) map[string][]byte {
	tb.Helper()
	inputs := map[string][]byte{}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 18, 19, 20, 237, 238, 239, 240, 255, 256, 273, 274, 275, 529, 1000} {
		inputs[fmt.Sprintf("random-%d", n)] = randomBytes(n)
		inputs[fmt.Sprintf("zeros-%d", n)] = make([]byte, n)
		inputs[fmt.Sprintf("mixed-%d", n)] = mixedBytes(n)
	}
	for _, n := range []int{64 << 10, 256 << 10} {
		inputs[fmt.Sprintf("random-%d", n)] = randomBytes(n)
		inputs[fmt.Sprintf("zeros-%d", n)] = make([]byte, n)
		inputs[fmt.Sprintf("mixed-%d", n)] = mixedBytes(n)
		inputs[fmt.Sprintf("text-%d", n)] = textBytes(n)
		inputs[fmt.Sprintf("postgres-%d", n)] = postgresPrefix(n)
		inputs[fmt.Sprintf("pattern-%d", n)] = bytes.Repeat([]byte("abcdefg\x00\x01"), n/9)
	}
	// Literals then a repeat of them from each distance class: M2 (up to
	// 2 KiB), M3 (up to 16 KiB) and both halves of M4 (up to 48 KiB).
	for _, dist := range []int{8, 2048, 2049, 16384, 16385, 32768, 32769, 49151, 49152} {
		in := randomBytes(dist)
		for range 300 {
			in = append(in, in[len(in)-dist])
		}
		inputs[fmt.Sprintf("distance-%d", dist)] = in
	}
	// 4-byte matches at M4 distance separated by 19-byte literal runs: about
	// the worst this compressor does with data it can match at all.
	var adversarial []byte
	seed := randomBytes(16500)
	adversarial = append(adversarial, seed...)
	for i := 0; len(adversarial) < 256<<10; i++ {
		adversarial = append(adversarial, randomBytes(19+i%64)...)
		at := len(adversarial) - 16400
		adversarial = append(adversarial, adversarial[at:at+4]...)
	}
	inputs["adversarial"] = adversarial[:256<<10]
	return inputs
}

// checkCompress compresses src, checks the bound, and decodes the block
// with this package's decoder and with github.com/anchore/go-lzo.
func checkCompress(tb testing.TB, c *Compressor, src []byte) []byte {
	tb.Helper()
	prefix := []byte("prefix")
	out := c.Compress(bytes.Clone(prefix), src)
	if !bytes.Equal(out[:len(prefix)], prefix) {
		tb.Fatal("Compress changed the bytes already in dst")
	}
	block := out[len(prefix):]
	if len(block) > CompressBound(len(src)) {
		tb.Fatalf("%d bytes compress to %d, above CompressBound %d", len(src), len(block), CompressBound(len(src)))
	}
	if len(block) > tightBound(len(src)) {
		tb.Fatalf("%d bytes compress to %d, above the bound %d derived in CompressBound's comment", len(src), len(block), tightBound(len(src)))
	}
	got := make([]byte, len(src))
	n, err := decompressLZO1X(got, block)
	if err != nil || n != len(src) || !bytes.Equal(got, src) {
		tb.Fatalf("own decoder: %d of %d bytes, err %v, equal %v", n, len(src), err, bytes.Equal(got[:n], src[:n]))
	}
	theirs := make([]byte, len(src))
	if n, err := anchoreDecompress(theirs, block); err != nil || n != len(src) || !bytes.Equal(theirs, src) {
		tb.Fatalf("anchore decoder: %d of %d bytes, err %v", n, len(src), err)
	}
	return block
}

// tightBound is this compressor's own worst case, as argued in the comment
// on CompressBound.
func tightBound(n int) int { return n + n/23 + 5 }

func TestCompressBlockRoundTrip(t *testing.T) {
	var c Compressor
	for name, src := range compressInputs(t) {
		t.Run(name, func(t *testing.T) {
			block := checkCompress(t, &c, src)
			if !bytes.Equal(block, CompressBlock(nil, src)) {
				t.Error("CompressBlock and a reused Compressor give different output")
			}
		})
	}
}

// TestCompressedBlocksDecodeWithLiblzo frames each test block in an lzop
// member and has real lzop (liblzo's decoder) decompress it. Inputs that do
// not compress get zeros appended until they do, since lzop reads a block
// that is not smaller than its data as stored, not as LZO1X. (The lzop
// binary refuses blocks over 256 KiB, its own block size, with "block size
// too small -- recompile lzop", so long inputs are cut to make room.)
func TestCompressedBlocksDecodeWithLiblzo(t *testing.T) {
	requireLzop(t)
	for name, src := range compressInputs(t) {
		block := CompressBlock(nil, src)
		if len(block) >= len(src) {
			pad := len(src)/8 + 64
			src = append(bytes.Clone(src[:min(len(src), lzopBlockSize-pad)]), make([]byte, pad)...)
			block = CompressBlock(nil, src)
		}
		stream := defaultSpec([]specBlock{{plain: src, stored: block}}).bytes()
		if !lzopAccepts(stream, src) {
			t.Errorf("%s: lzop -dc does not restore the block", name)
		}
	}
}

// TestCompressEmpty: no input is just the end-of-stream marker.
func TestCompressEmpty(t *testing.T) {
	if got := CompressBlock(nil, nil); !bytes.Equal(got, endOfStream[:]) {
		t.Errorf("CompressBlock(nil) = % x", got)
	}
}

// TestCompressWALBlocks compresses every 256 KiB block of the real WAL
// segments, as Writer does.
func TestCompressWALBlocks(t *testing.T) {
	var c Compressor
	for _, seg := range walSegments(t) {
		for at := 0; at < len(seg); at += lzopBlockSize {
			checkCompress(t, &c, seg[at:at+lzopBlockSize])
		}
	}
}

// TestCompressBoundHolds on the inputs most likely to expand, at many sizes.
func TestCompressBoundHolds(t *testing.T) {
	var c Compressor
	inputs := compressInputs(t)
	for _, src := range []([]byte){randomBytes(1 << 20), inputs["adversarial"]} {
		for n := 0; n <= len(src); n += 1 + n/3 {
			checkCompress(t, &c, src[:n])
		}
	}
	worst := c.Compress(nil, randomBytes(lzopBlockSize))
	t.Logf("256 KiB of random bytes compress to %d bytes (bound %d)", len(worst), CompressBound(lzopBlockSize))
	if len(worst) > lzopBlockSize+lzopBlockSize/255+8 {
		t.Errorf("random data expands to %d bytes: more than one framing byte per 255 literals", len(worst))
	}
}

// TestCompressorAllocs: a Compressor with room in dst allocates nothing, and
// neither does CompressBlock once its pool holds a Compressor.
func TestCompressorAllocs(t *testing.T) {
	src := mixedBytes(lzopBlockSize)
	dst := make([]byte, 0, CompressBound(len(src)))
	var c Compressor
	if n := testing.AllocsPerRun(10, func() { c.Compress(dst, src) }); n != 0 {
		t.Errorf("Compress allocates %.0f times per block", n)
	}
	if n := testing.AllocsPerRun(10, func() { CompressBlock(dst, src) }); n > 0.5 {
		t.Errorf("CompressBlock allocates %.1f times per block", n)
	}
}

// lzoInstructions counts the kinds of instruction in an LZO1X block. It is
// a test-side reading of the format, independent of the compressor, to show
// the test inputs exercise every encoding the compressor has.
type lzoInstructions struct {
	firstLiterals   int // the 17+length first byte
	trailing        int // 1-3 literals in a match's low bits
	shortLiterals   int // 0000LLLL, 4-18 literals
	longLiterals    int // 00000000 + extension
	literalZeros    int // extension with at least one 0 byte (over 273 literals)
	m2, m3, m4      int
	m4High          int // M4 with the distance's high bit set (over 32 KiB)
	longMatches     int // M3 or M4 with a length extension
	overlapping     int // distance shorter than the length
	literalsInBlock int
}

func countInstructions(t *testing.T, block []byte) lzoInstructions {
	t.Helper()
	var c lzoInstructions
	ip, state := 0, 0
	ext := func(base int) int {
		zeros := 0
		for block[ip] == 0 {
			zeros++
			ip++
		}
		v := base + 255*zeros + int(block[ip])
		ip++
		return v
	}
	if block[0] > 17 {
		c.firstLiterals++
		n := int(block[0]) - 17
		ip = 1 + n
		c.literalsInBlock += n
		state = min(n, 4)
	}
	for {
		t0 := int(block[ip])
		ip++
		var length, dist, trailing int
		switch {
		case t0 >= 64:
			c.m2++
			length, dist = t0>>5+1, 1+(t0>>2)&7+int(block[ip])<<3
			trailing = t0 & 3
			ip++
		case t0 >= 32:
			c.m3++
			if length = t0 & 31; length == 0 {
				c.longMatches++
				length = ext(31)
			}
			length += 2
			v := int(binary.LittleEndian.Uint16(block[ip:]))
			ip += 2
			dist, trailing = 1+v>>2, v&3
		case t0 >= 16:
			if length = t0 & 7; length == 0 {
				c.longMatches++
				length = ext(7)
			}
			length += 2
			v := int(binary.LittleEndian.Uint16(block[ip:]))
			ip += 2
			dist, trailing = 0x4000+(t0&8)<<11+v>>2, v&3
			if dist == 0x4000 {
				if ip != len(block) {
					t.Fatalf("%d bytes after the end-of-stream marker", len(block)-ip)
				}
				return c
			}
			c.m4++
			if t0&8 != 0 {
				c.m4High++
			}
		default:
			if state != 0 {
				t.Fatalf("instruction 0x%02x in state %d: the compressor never emits M1 matches", t0, state)
			}
			n := t0
			if n == 0 {
				c.longLiterals++
				if block[ip] == 0 {
					c.literalZeros++
				}
				n = ext(15)
			} else {
				c.shortLiterals++
			}
			n += 3
			ip += n
			c.literalsInBlock += n
			state = 4
			continue
		}
		if dist < length {
			c.overlapping++
		}
		if trailing > 0 {
			c.trailing++
		}
		ip += trailing
		c.literalsInBlock += trailing
		state = trailing
	}
}

// TestCompressUsesEveryInstruction: together, the round-trip inputs make the
// compressor emit every instruction form and length extension it has, so
// the round trips above (and through real lzop in writer_test.go) cover
// them all.
func TestCompressUsesEveryInstruction(t *testing.T) {
	var total lzoInstructions
	for _, src := range compressInputs(t) {
		c := countInstructions(t, CompressBlock(nil, src))
		total.firstLiterals += c.firstLiterals
		total.trailing += c.trailing
		total.shortLiterals += c.shortLiterals
		total.longLiterals += c.longLiterals
		total.literalZeros += c.literalZeros
		total.m2 += c.m2
		total.m3 += c.m3
		total.m4 += c.m4
		total.m4High += c.m4High
		total.longMatches += c.longMatches
		total.overlapping += c.overlapping
	}
	t.Logf("%+v", total)
	for name, n := range map[string]int{
		"first-byte literal run": total.firstLiterals, "trailing literals": total.trailing,
		"short literal run": total.shortLiterals, "long literal run": total.longLiterals,
		"literal run over 273 bytes": total.literalZeros, "M2": total.m2, "M3": total.m3,
		"M4": total.m4, "M4 beyond 32 KiB": total.m4High, "extended match length": total.longMatches,
		"overlapping match": total.overlapping,
	} {
		if n == 0 {
			t.Errorf("no %s in any test block", name)
		}
	}
}

// FuzzCompressRoundTrip: any input compresses within CompressBound to a
// block both decoders restore exactly. The seed corpus runs with go test;
// run `go test -fuzz FuzzCompressRoundTrip ./format/lzop` to search.
func FuzzCompressRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte("hello hello hello hello"))
	f.Add(mixedBytes(2000))
	f.Add(textBytes(3000))
	f.Add(make([]byte, 600))
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 100))
	var c Compressor
	f.Fuzz(func(t *testing.T, src []byte) {
		checkCompress(t, &c, src)
	})
}
