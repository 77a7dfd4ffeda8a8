package lzop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"pgrescue/problem"
)

// fuzzSeeds are the testdata streams small enough to mutate quickly (the
// fuzzer minimises every new input it finds interesting, which takes
// minutes on the 100 KB samples). The ones without checksums let mutations
// reach the LZO1X decoder; checksummed streams mostly stop at a checksum.
var fuzzSeeds = []string{
	"empty.bin.stdin.lzo",
	"zeros-300000.bin.stdin.lzo",
	"mixed-20000.nochecksum.lzo",
	"mixed-20000.level9.nochecksum.lzo",
}

// FuzzReader: no input may panic, return an error other than Corrupt or
// Truncated, or make the reader allocate beyond its bounds (see
// maxExpansion and readBlockData).
func FuzzReader(f *testing.F) {
	for _, name := range fuzzSeeds {
		f.Add(readTestdata(f, name))
	}
	// A stored-block stream, cut short to keep mutation fast.
	f.Add(readTestdata(f, "random-700000.bin.crc32.lzo")[:2000])
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		n, err := r.WriteTo(io.Discard)
		if err != nil {
			var pe *problem.Error
			if !errors.As(err, &pe) || (pe.Kind != problem.Corrupt && pe.Kind != problem.Truncated) {
				t.Fatalf("error is not Corrupt or Truncated: %v", err)
			}
		}
		if packedLimit := max(lzopBlockSize, 2*len(data)); cap(r.packed) > packedLimit {
			t.Fatalf("compressed buffer of %d bytes for a %d-byte stream", cap(r.packed), len(data))
		}
		if unpackedLimit := max(lzopBlockSize, maxExpansion*len(data)); cap(r.unpacked) > unpackedLimit {
			t.Fatalf("decompressed buffer of %d bytes for a %d-byte stream", cap(r.unpacked), len(data))
		}
		// Read must agree with WriteTo.
		viaRead, readErr := io.ReadAll(NewReader(bytes.NewReader(data)))
		if int64(len(viaRead)) != n || (readErr == nil) != (err == nil) {
			t.Fatalf("Read gave %d bytes, err %v; WriteTo %d bytes, err %v", len(viaRead), readErr, n, err)
		}
		requireParallelAgrees(t, data, "the fuzzed stream")
	})
}

// FuzzDecompressLZO1X feeds raw blocks to the decoder: no input may panic
// or claim more output than the destination holds, and whenever both this
// decoder and github.com/anchore/go-lzo accept a block, they must agree.
// The first 3 bytes of the input give the destination size, of which 20 bits
// are used (up to 1 MiB, four lzop blocks) to keep executions fast.
func FuzzDecompressLZO1X(f *testing.F) {
	for _, name := range fuzzSeeds {
		stream := readTestdata(f, name)
		for _, b := range compressedBlocks(f, stream) {
			size := binary.BigEndian.AppendUint32(nil, uint32(b.dstLen))[1:]
			f.Add(append(size, b.src...))
		}
	}
	f.Add([]byte{0, 0, 0, 0x11, 0, 0}) // just the end-of-stream marker
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		size := (int(data[0])<<16 | int(data[1])<<8 | int(data[2])) & (1<<20 - 1)
		src := data[3:]
		ours := make([]byte, size)
		n, err := decompressLZO1X(ours, src)
		if n < 0 || n > size {
			t.Fatalf("reported %d bytes written into %d", n, size)
		}
		theirs := make([]byte, size)
		m, theirErr := anchoreDecompress(theirs, src)
		if err == nil && theirErr == nil && (n != m || !bytes.Equal(ours[:n], theirs[:m])) {
			t.Fatalf("both accept the block but decode %d and %d bytes differently", n, m)
		}
	})
}

// TestFuzzSeedsAreValid keeps the seed files honest: each decodes, and the
// two made for fuzzing hold the documented input.
func TestFuzzSeedsAreValid(t *testing.T) {
	requireLzop(t)
	for _, name := range fuzzSeeds {
		stream, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeWithWriteTo(stream)
		if err != nil || !bytes.Equal(got, lzopDecompress(t, stream)) {
			t.Errorf("%s: %d bytes, err %v, or differs from lzop -dc", name, len(got), err)
		}
		if bytes.HasPrefix([]byte(name), []byte("mixed-20000")) && !bytes.Equal(got, mixedBytes(20000)) {
			t.Errorf("%s does not hold mixedBytes(20000)", name)
		}
	}
}
