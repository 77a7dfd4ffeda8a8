package lzop

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	anchorelzo "github.com/anchore/go-lzo"
)

// postgresBinary is a realistic, mixed input (code, tables, strings) for
// benchmarks: the PostgreSQL server binary, compressed by the real lzop.
const postgresBinary = "/usr/lib/postgresql/15/bin/postgres"

// compressedBlock is one LZO1X block of a stream and its uncompressed size.
type compressedBlock struct {
	src    []byte
	dstLen int
}

// compressedBlocks returns the compressed (not stored) blocks of a stream.
func compressedBlocks(tb testing.TB, stream []byte) []compressedBlock {
	tb.Helper()
	var blocks []compressedBlock
	for _, m := range walkStream(tb, stream) {
		for _, b := range m.blocks {
			if b.srcLen < b.dstLen {
				blocks = append(blocks, compressedBlock{stream[b.dataOffset : b.dataOffset+int64(b.srcLen)], b.dstLen})
			}
		}
	}
	return blocks
}

// anchoreDecompress is github.com/anchore/go-lzo's decoder with this
// package's argument order.
func anchoreDecompress(dst, src []byte) (int, error) {
	return anchorelzo.Decompress(src, dst)
}

// benchInputs are the streams the decoders are compared on.
func benchInputs(b *testing.B) map[string][]byte {
	inputs := map[string][]byte{
		"wal-real-10pct": readTestdata(b, "wal-000000010000000000000010.lzo"),
		"wal-sparse":     readTestdata(b, "wal-000000010000000000000011.lzo"),
		"text":           readTestdata(b, "text.txt.stdin.lzo"),
		"zeros":          readTestdata(b, "zeros-300000.bin.stdin.lzo"),
	}
	if _, err := os.Stat(postgresBinary); err == nil {
		requireLzop(b)
		raw, err := os.ReadFile(postgresBinary)
		if err != nil {
			b.Fatal(err)
		}
		inputs["postgres-binary"] = runLzop(b, raw, "-c")
	}
	return inputs
}

// BenchmarkBlockDecode compares this package's LZO1X decoder with
// github.com/anchore/go-lzo on the same blocks; MB/s is of output.
func BenchmarkBlockDecode(b *testing.B) {
	decoders := []struct {
		name   string
		decode func(dst, src []byte) (int, error)
	}{
		{"own", decompressLZO1X},
		{"anchore", anchoreDecompress},
	}
	for name, stream := range benchInputs(b) {
		blocks := compressedBlocks(b, stream)
		total := 0
		for _, blk := range blocks {
			total += blk.dstLen
		}
		for _, d := range decoders {
			b.Run(name+"/"+d.name, func(b *testing.B) {
				dst := make([]byte, 64<<20)
				b.SetBytes(int64(total))
				b.ReportAllocs()
				for b.Loop() {
					for _, blk := range blocks {
						n, err := d.decode(dst[:blk.dstLen], blk.src)
						if err != nil || n != blk.dstLen {
							b.Fatalf("decoded %d of %d bytes: %v", n, blk.dstLen, err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkReaderWAL decodes whole 16 MiB WAL segments as archived by WAL-E,
// checksums included: the work wal-fetch does per segment.
func BenchmarkReaderWAL(b *testing.B) {
	for _, name := range []string{"wal-000000010000000000000010.lzo", "wal-000000010000000000000011.lzo"} {
		stream := readTestdata(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(16 << 20)
			b.ReportAllocs()
			for b.Loop() {
				n, err := NewReader(bytes.NewReader(stream)).WriteTo(io.Discard)
				if err != nil || n != 16<<20 {
					b.Fatalf("decoded %d bytes: %v", n, err)
				}
			}
		})
	}
}

// BenchmarkReaderPostgresBinary decodes a realistic mixed stream end to end.
func BenchmarkReaderPostgresBinary(b *testing.B) {
	raw, stream := compressedPostgresBinary(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewReader(bytes.NewReader(stream)).WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParallelReader decodes at least 64 MiB of the PostgreSQL binary
// (lzop members back to back) with Reader and with ParallelReader, to show
// how decoding scales with cores; MB/s is of output.
func BenchmarkParallelReader(b *testing.B) {
	raw, member := compressedPostgresBinary(b)
	copies := (64<<20 + len(raw) - 1) / len(raw)
	stream := bytes.Repeat(member, copies)
	size := int64(copies * len(raw))
	run := func(b *testing.B, decoder func() io.WriterTo) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			d := decoder()
			n, err := d.WriteTo(io.Discard)
			if c, ok := d.(io.Closer); ok {
				c.Close()
			}
			if err != nil || n != size {
				b.Fatalf("decoded %d of %d bytes: %v", n, size, err)
			}
		}
	}
	b.Run("Reader", func(b *testing.B) {
		run(b, func() io.WriterTo { return NewReader(bytes.NewReader(stream)) })
	})
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("Parallel-%d", workers), func(b *testing.B) {
			run(b, func() io.WriterTo { return NewParallelReader(bytes.NewReader(stream), workers) })
		})
	}
}

// compressedPostgresBinary is the PostgreSQL server binary and what
// `lzop -c` makes of it; the benchmark is skipped where either is missing.
func compressedPostgresBinary(b *testing.B) (raw, stream []byte) {
	raw, err := os.ReadFile(postgresBinary)
	if err != nil {
		b.Skip("no PostgreSQL binary to compress: ", err)
	}
	requireLzop(b)
	return raw, runLzop(b, raw, "-c")
}
