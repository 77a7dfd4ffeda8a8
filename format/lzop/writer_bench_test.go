package lzop

import (
	"bytes"
	"io"
	"os/exec"
	"testing"
)

// benchWALSegments names the real WAL segments for sub-benchmarks.
func benchWALSegments(b *testing.B) map[string][]byte {
	segs := walSegments(b)
	return map[string][]byte{"wal-real-10pct": segs[0], "wal-sparse": segs[1]}
}

// BenchmarkCompressWAL compresses 16 MiB WAL segments block by block with
// one Compressor, without framing or checksums; MB/s is of input, and
// ratio-% the compressed size in percent of the input.
func BenchmarkCompressWAL(b *testing.B) {
	for name, seg := range benchWALSegments(b) {
		b.Run(name, func(b *testing.B) {
			var c Compressor
			dst := make([]byte, 0, CompressBound(lzopBlockSize))
			b.SetBytes(int64(len(seg)))
			b.ReportAllocs()
			total := 0
			for b.Loop() {
				total = 0
				for at := 0; at < len(seg); at += lzopBlockSize {
					total += len(c.Compress(dst[:0], seg[at:at+lzopBlockSize]))
				}
			}
			b.ReportMetric(100*float64(total)/float64(len(seg)), "ratio-%")
		})
	}
}

// BenchmarkWriter16MiB streams whole WAL segments through a reused Writer,
// Adler-32 and framing included: the work wal-push does per segment.
func BenchmarkWriter16MiB(b *testing.B) {
	for name, seg := range benchWALSegments(b) {
		b.Run(name, func(b *testing.B) {
			w := NewWriter(io.Discard, WriterOptions{})
			w.Write(seg) // allocate the buffers before timing
			b.SetBytes(int64(len(seg)))
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(io.Discard, WriterOptions{})
				if _, err := w.Write(seg); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRealLzopWAL runs the real lzop on the same segments, at its
// default level (what WAL-E runs) and at -1, for comparison. The figures
// include starting the process and piping 16 MiB through it, a few
// milliseconds per run.
func BenchmarkRealLzopWAL(b *testing.B) {
	requireLzop(b)
	for name, seg := range benchWALSegments(b) {
		for _, level := range []string{"-3", "-1"} {
			b.Run(name+"/"+level, func(b *testing.B) {
				b.SetBytes(int64(len(seg)))
				for b.Loop() {
					cmd := exec.Command("lzop", level, "-c")
					cmd.Stdin = bytes.NewReader(seg)
					cmd.Stdout = io.Discard
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
