package lzop

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"pgrescue/problem"
)

// lzopOptions are the ways lzop 1.04 can write a stream (`lzop --help`
// lists -1 and -9; --crc32, -C (-CC: checksums of compressed data too) and
// -F (no checksums) are accepted by lzop 1.04 though not listed).
var lzopOptions = [][]string{
	{"-c"},                         // method 1, level 5, Adler-32 of uncompressed data: WAL-E's output
	{"-1", "-c"},                   // method 2
	{"-9", "-c"},                   // method 3 (LZO1X-999)
	{"--crc32", "-c"},              // CRC-32 block and header checksums
	{"-CC", "-c"},                  // Adler-32 of compressed data as well
	{"-CC", "--crc32", "-c"},       // CRC-32 of compressed data as well
	{"-F", "-c"},                   // no block checksums at all
	{"-9", "-CC", "-c"},            // both checksums with LZO1X-999
	{"--crc32", "-CC", "-9", "-c"}, // and with CRC-32
}

// inputKinds generate test inputs of a given size, deterministically.
var inputKinds = []struct {
	name string
	make func(n int) []byte
}{
	{"random", randomBytes},
	{"zeros", func(n int) []byte { return make([]byte, n) }},
	{"text", textBytes},
	{"mix", mixedBytes},
	{"postgres-binary", postgresPrefix},
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{'r'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// textBytes is log-like text: repetitive with varying numbers, like the
// text parts of WAL records and catalog pages.
func textBytes(n int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{'t'}))
	words := strings.Fields("the quick brown fox checkpoint starting redo done at relation base tuple insert update vacuum")
	var b bytes.Buffer
	for line := 0; b.Len() < n; line++ {
		fmt.Fprintf(&b, "%06d %s %s %d\n", line, words[rng.IntN(len(words))], words[rng.IntN(len(words))], rng.IntN(100000))
	}
	return b.Bytes()[:n]
}

// mixedBytes strings together random literals, copies of earlier output at
// every distance LZO1X can encode (up to 48 KiB), long runs of one byte and
// short repeating patterns, so every instruction type and both overlapping
// and non-overlapping matches appear in the compressed data.
func mixedBytes(n int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{'m'}))
	out := make([]byte, 0, n+4096)
	for len(out) < n {
		switch rng.IntN(4) {
		case 0:
			for range 1 + rng.IntN(40) {
				out = append(out, byte(rng.Uint32()))
			}
		case 1:
			if len(out) == 0 {
				continue
			}
			dist := 1 + rng.IntN(min(len(out), 49152))
			for range 3 + rng.IntN(300) {
				out = append(out, out[len(out)-dist])
			}
		case 2:
			b := byte(rng.Uint32())
			for range 1 + rng.IntN(2000) {
				out = append(out, b)
			}
		case 3:
			period := 2 + rng.IntN(6)
			pattern := make([]byte, period)
			for i := range pattern {
				pattern[i] = byte(rng.Uint32())
			}
			for i := range rng.IntN(500) {
				out = append(out, pattern[i%period])
			}
		}
	}
	return out[:n]
}

// postgresPrefix is real machine code and data: the start of the PostgreSQL
// server binary, repeated if it is shorter than n. Falls back to mixed data
// where PostgreSQL is not installed.
func postgresPrefix(n int) []byte {
	raw, err := os.ReadFile(postgresBinary)
	if err != nil || len(raw) == 0 {
		return mixedBytes(n)
	}
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, raw[:min(len(raw), n-len(out))]...)
	}
	return out
}

func TestRoundTripThroughRealLzop(t *testing.T) {
	requireLzop(t)
	sizes := []int{0, 1, 255, 256 << 10, 256<<10 + 1, 3 << 20}
	for _, kind := range inputKinds {
		for _, size := range sizes {
			input := kind.make(size)
			for _, opts := range lzopOptions {
				name := fmt.Sprintf("%s/%d/%s", kind.name, size, strings.Join(opts, ""))
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					stream := runLzop(t, input, opts...)
					got, err := decodeWithWriteTo(stream)
					if err != nil {
						t.Fatalf("WriteTo: %v", err)
					}
					if !bytes.Equal(got, input) {
						t.Fatalf("WriteTo output differs from the input (%d vs %d bytes)", len(got), len(input))
					}
					// Read with a buffer size that never lines up with blocks.
					got, err = io.ReadAll(io.LimitReader(struct{ io.Reader }{NewReader(bytes.NewReader(stream))}, 1<<40))
					if err != nil || !bytes.Equal(got, input) {
						t.Fatalf("Read: %d bytes, err %v", len(got), err)
					}
				})
			}
		}
	}
}

// TestDecoderAgreesWithAnchoreOnRealBlocks is a second opinion: every
// compressed block of the round-trip inputs decodes identically with
// github.com/anchore/go-lzo.
func TestDecoderAgreesWithAnchoreOnRealBlocks(t *testing.T) {
	requireLzop(t)
	for _, kind := range inputKinds {
		for _, level := range []string{"-1", "-5", "-9"} {
			stream := runLzop(t, kind.make(1<<20), level, "-c")
			for i, blk := range compressedBlocks(t, stream) {
				ours := make([]byte, blk.dstLen)
				theirs := make([]byte, blk.dstLen)
				n1, err1 := decompressLZO1X(ours, blk.src)
				n2, err2 := anchoreDecompress(theirs, blk.src)
				if err1 != nil || err2 != nil || n1 != n2 || !bytes.Equal(ours, theirs) {
					t.Fatalf("%s %s block %d: ours %d bytes, %v; anchore %d bytes, %v", kind.name, level, i, n1, err1, n2, err2)
				}
			}
		}
	}
}

// TestDecoderAgreesWithLiblzoOnDamagedBlocks uses real lzop (liblzo's
// lzo1x_decompress_safe) as the oracle for damaged LZO1X data: blocks from
// real streams are mutated (bytes changed, inserted, removed, the end cut)
// and framed in a member without checksums, so only the decoder can object.
// lzop and this package must agree on whether each block is valid, and on
// the output when it is.
func TestDecoderAgreesWithLiblzoOnDamagedBlocks(t *testing.T) {
	requireLzop(t)
	rng := rand.New(rand.NewChaCha8([32]byte{'d'}))
	var originals []specBlock
	for _, input := range [][]byte{mixedBytes(300 << 10), textBytes(100 << 10), postgresPrefix(300 << 10)} {
		for _, b := range realBlocks(t, input) {
			if len(b.stored) < len(b.plain) {
				originals = append(originals, b)
			}
		}
	}
	agreeValid, agreeInvalid := 0, 0
	for i := range 300 {
		orig := originals[i%len(originals)]
		damaged := mutateBlock(rng, orig.stored)
		if len(damaged) == 0 || len(damaged) >= len(orig.plain) {
			continue // would be read as a stored block, not decoded
		}
		spec := defaultSpec([]specBlock{{plain: orig.plain, stored: damaged}})
		spec.flags = 0x03000000 // no checksums: only the decoder can object
		stream := spec.bytes()

		ours, ourErr := decodeWithWriteTo(stream)
		theirs, theirErr := tryLzop(stream, "-dc")
		switch {
		case ourErr == nil && theirErr == nil:
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("case %d: both accept, outputs differ", i)
			}
			agreeValid++
		case ourErr != nil && theirErr != nil:
			requireKind(t, ourErr, problem.Corrupt)
			agreeInvalid++
		default:
			t.Fatalf("case %d: ours %v, lzop %v", i, ourErr, theirErr)
		}
	}
	t.Logf("agreed on %d valid and %d invalid damaged blocks", agreeValid, agreeInvalid)
	if agreeInvalid == 0 {
		t.Error("no damaged block was rejected: the mutations do not exercise the decoder")
	}
}

// mutateBlock returns a copy of an LZO1X block with one random change.
func mutateBlock(rng *rand.Rand, block []byte) []byte {
	b := bytes.Clone(block)
	at := rng.IntN(len(b))
	switch rng.IntN(5) {
	case 0:
		b[at] ^= byte(1 << rng.IntN(8))
	case 1:
		b[at] = byte(rng.Uint32())
	case 2:
		b = append(b[:at], b[at+1:]...)
	case 3:
		b = append(b[:at], append([]byte{byte(rng.Uint32())}, b[at:]...)...)
	case 4:
		b = b[:at]
	}
	return b
}
