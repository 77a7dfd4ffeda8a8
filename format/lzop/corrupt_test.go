package lzop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"pgrescue/problem"
)

// damageTarget is a stream with checksums, and which of its blocks to damage.
type damageTarget struct {
	name   string
	stream []byte
	blocks []int // indexes of blocks to damage; nil means all
}

func damageTargets(t *testing.T) []damageTarget {
	t.Helper()
	targets := []damageTarget{
		{name: "text.txt.stdin.lzo"},          // LZO1X blocks, Adler-32
		{name: "text.txt.crc32.lzo"},          // LZO1X blocks, CRC-32, CRC-32 header
		{name: "text.txt.level9.lzo"},         // LZO1X-999
		{name: "random-700000.bin.crc32.lzo"}, // stored blocks, CRC-32
		{name: "random-700000.bin.stdin.lzo"}, // stored blocks, Adler-32
		{name: "zeros-300000.bin.stdin.lzo"},  // 255:1 blocks
		{name: "wal-000000010000000000000010.lzo", blocks: []int{0, 1, 31, 62, 63}},
	}
	for i := range targets {
		targets[i].stream = readTestdata(t, targets[i].name)
	}
	return targets
}

// lzopDamageTargets are streams with checksums of compressed data, which
// no sample has; they need the real lzop.
func lzopDamageTargets(t *testing.T) []damageTarget {
	t.Helper()
	requireLzop(t)
	var targets []damageTarget
	for _, opts := range [][]string{{"-CC", "-c"}, {"-CC", "--crc32", "-c"}} {
		targets = append(targets, damageTarget{
			name:   fmt.Sprint("mix with lzop ", opts),
			stream: runLzop(t, mixedBytes(700<<10), opts...),
		})
	}
	return targets
}

// expectFailure decodes a damaged stream through both Read and WriteTo and
// requires a Corrupt or Truncated error from each: never success, which
// would mean silently wrong output, and never a panic.
func expectFailure(t *testing.T, stream []byte, what string) {
	t.Helper()
	for _, decode := range []func([]byte) error{discardWithWriteTo, discardWithRead} {
		err := decode(stream)
		if err == nil {
			t.Fatalf("%s: decoded without error", what)
		}
		var pe *problem.Error
		if !errors.As(err, &pe) || (pe.Kind != problem.Corrupt && pe.Kind != problem.Truncated) {
			t.Fatalf("%s: error %v is not Corrupt or Truncated", what, err)
		}
	}
	requireParallelAgrees(t, stream, what)
}

func discardWithWriteTo(stream []byte) error {
	_, err := NewReader(bytes.NewReader(stream)).WriteTo(io.Discard)
	return err
}

func discardWithRead(stream []byte) error {
	// Hide WriteTo so that io.CopyBuffer goes through Read.
	onlyRead := struct{ io.Reader }{NewReader(bytes.NewReader(stream))}
	_, err := io.CopyBuffer(io.Discard, onlyRead, make([]byte, 100000))
	return err
}

func flipped(stream []byte, at int64, mask byte) []byte {
	damaged := bytes.Clone(stream)
	damaged[at] ^= mask
	return damaged
}

// TestEveryDamagedByteIsCaught flips bytes in each block's data, checksum
// fields and length fields, in every header byte and in the terminator.
func TestEveryDamagedByteIsCaught(t *testing.T) {
	for _, target := range damageTargets(t) {
		t.Run(target.name, func(t *testing.T) { damageEveryField(t, target) })
	}
	t.Run("compressed-data checksums", func(t *testing.T) {
		for _, target := range lzopDamageTargets(t) {
			t.Run(target.name, func(t *testing.T) { damageEveryField(t, target) })
		}
	})
}

func damageEveryField(t *testing.T, target damageTarget) {
	t.Helper()
	members := walkStream(t, target.stream)
	m := members[0]
	for at := m.offset; at < m.headerEnd; at++ {
		expectFailure(t, flipped(target.stream, at, 0x01), fmt.Sprintf("header byte %d", at))
	}
	for at := m.terminatorAt; at < m.terminatorAt+4; at++ {
		expectFailure(t, flipped(target.stream, at, 0x80), fmt.Sprintf("terminator byte %d", at))
	}
	blocks := target.blocks
	if blocks == nil {
		for i := range m.blocks {
			blocks = append(blocks, i)
		}
	}
	for _, i := range blocks {
		b := m.blocks[i]
		end := b.dataOffset + int64(b.srcLen)
		for at := b.offset; at < b.dataOffset; at++ { // lengths and checksums
			expectFailure(t, flipped(target.stream, at, 0x10), fmt.Sprintf("block %d header byte %d", i, at))
		}
		for _, at := range []int64{b.dataOffset, b.dataOffset + int64(b.srcLen)/2, end - 1} {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				expectFailure(t, flipped(target.stream, at, mask), fmt.Sprintf("block %d data byte %d ^ %#x", i, at, mask))
			}
		}
	}
}

// TestTruncationIsReported cuts single-member streams at many offsets: in
// the magic, every header field, around block boundaries and throughout
// the data. Every cut must give Truncated with the cut's offset.
func TestTruncationIsReported(t *testing.T) {
	for _, name := range []string{"text.txt.stdin.lzo", "random-700000.bin.crc32.lzo", "zeros-300000.bin.stdin.lzo", "empty.bin.stdin.lzo", "wal-000000010000000000000011.lzo"} {
		t.Run(name, func(t *testing.T) {
			stream := readTestdata(t, name)
			for _, cut := range cutPoints(t, stream) {
				err := discardWithWriteTo(stream[:cut])
				requireKind(t, err, problem.Truncated)
				var te *TruncatedError
				if !errors.As(err, &te) || te.End != cut {
					t.Fatalf("cut at %d: %+v", cut, te)
				}
			}
		})
	}
}

// cutPoints lists where to cut a stream: every offset in the header, around
// the first and last two block boundaries, just before the end, and 200
// cuts spread through it.
func cutPoints(t *testing.T, stream []byte) []int64 {
	size := int64(len(stream))
	var cuts []int64
	for at := int64(0); at < min(size, 64); at++ {
		cuts = append(cuts, at)
	}
	blocks := walkStream(t, stream)[0].blocks
	if len(blocks) > 4 {
		blocks = append(blocks[:2:2], blocks[len(blocks)-2:]...) // the pattern repeats
	}
	for _, b := range blocks {
		for at := b.offset - 3; at <= b.dataOffset+3; at++ {
			cuts = append(cuts, at)
		}
	}
	for at := size - 8; at < size; at++ {
		cuts = append(cuts, at)
	}
	for i := range int64(200) {
		cuts = append(cuts, i*size/200)
	}
	var valid []int64
	for _, c := range cuts {
		if c >= 0 && c < size {
			valid = append(valid, c)
		}
	}
	return valid
}

// TestTruncatedConcatenation: a cut exactly between two members leaves a
// complete first member, which is a valid stream; any other cut is not.
func TestTruncatedConcatenation(t *testing.T) {
	stream := readTestdata(t, "concatenated-text-then-zeros.lzo")
	members := walkStream(t, stream)
	boundary := members[1].offset
	for _, cut := range append(cutPoints(t, stream), boundary-1, boundary+1, boundary+9, boundary+20) {
		_, err := decodeWithWriteTo(stream[:cut])
		if cut == boundary {
			if err != nil {
				t.Errorf("cut at the member boundary: %v", err)
			}
			continue
		}
		requireKind(t, err, problem.Truncated)
	}
	got, err := decodeWithWriteTo(stream[:boundary])
	if err != nil || len(got) != inputSizes["text.txt"] {
		t.Errorf("first member alone: %d bytes, err %v", len(got), err)
	}
}
