package lzop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The real WAL segments in testdata (see testdata/README.md), decoded once.
var walSegmentFiles = []string{"wal-000000010000000000000010.lzo", "wal-000000010000000000000011.lzo"}

var walCache struct {
	sync.Mutex
	segments [][]byte
}

// walSegments returns the two real 16 MiB WAL segments: one with 10% of
// real records, one mostly empty. Callers must not modify them.
func walSegments(tb testing.TB) [][]byte {
	tb.Helper()
	walCache.Lock()
	defer walCache.Unlock()
	if walCache.segments == nil {
		for _, name := range walSegmentFiles {
			seg, err := decodeWithWriteTo(readTestdata(tb, name))
			if err != nil {
				tb.Fatal(err)
			}
			walCache.segments = append(walCache.segments, seg)
		}
	}
	return walCache.segments
}

// compressWithWriter writes input to a Writer in chunks of the given size
// (all at once when chunk is 0) and returns the stream.
func compressWithWriter(tb testing.TB, input []byte, chunk int, opts WriterOptions) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	if chunk == 0 {
		chunk = max(len(input), 1)
	}
	for rest := input; len(rest) > 0; {
		part := rest[:min(chunk, len(rest))]
		n, err := w.Write(part)
		if err != nil || n != len(part) {
			tb.Fatalf("Write: %d of %d bytes, err %v", n, len(part), err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// writerInputs are the inputs every Writer test streams.
func writerInputs(tb testing.TB) []struct {
	name  string
	input []byte
} {
	tb.Helper()
	segs := walSegments(tb)
	return []struct {
		name  string
		input []byte
	}{
		{"empty", nil},
		{"one-byte", []byte{'x'}},
		{"block", mixedBytes(lzopBlockSize)},
		{"block-plus-one", mixedBytes(lzopBlockSize + 1)},
		{"random-1MiB", randomBytes(1 << 20)},
		{"wal-records", segs[0]},
		{"wal-sparse", segs[1]},
		{"zeros", make([]byte, 3<<20/2)},
		{"pattern", bytes.Repeat([]byte("0123456789abcdefXYZ"), 60000)},
		{"text", textBytes(1 << 20)},
		{"postgres-binary", postgresPrefix(2 << 20)},
	}
}

// TestWriterRoundTrip writes each input in chunks of 1 byte, 7 bytes, 1 MiB
// and all at once, and checks that the stream does not depend on how the
// input was cut, that this package's Reader restores it, that real
// `lzop -dc` restores it byte for byte, and that `lzop -t` passes it.
func TestWriterRoundTrip(t *testing.T) {
	requireLzop(t)
	for _, in := range writerInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			stream := compressWithWriter(t, in.input, 0, WriterOptions{})
			for _, chunk := range []int{1, 7, 1 << 20} {
				if got := compressWithWriter(t, in.input, chunk, WriterOptions{}); !bytes.Equal(got, stream) {
					t.Fatalf("writing %d bytes at a time gives a different stream", chunk)
				}
			}
			got, err := decodeWithWriteTo(stream)
			if err != nil || !bytes.Equal(got, in.input) {
				t.Fatalf("Reader: %d of %d bytes, err %v", len(got), len(in.input), err)
			}
			if got, err := decodeWithRead(stream); err != nil || !bytes.Equal(got, in.input) {
				t.Fatalf("Reader via Read: %d of %d bytes, err %v", len(got), len(in.input), err)
			}
			if got := lzopDecompress(t, stream); !bytes.Equal(got, in.input) {
				t.Fatalf("lzop -dc: %d of %d bytes, or they differ", len(got), len(in.input))
			}
			runLzop(t, stream, "-t")
			checkFraming(t, stream, in.input)
		})
	}
}

// checkFraming checks the block layout of a Writer stream: one member with
// WAL-E's flags, 256 KiB blocks, each compressed unless that did not help.
func checkFraming(t *testing.T, stream, input []byte) {
	t.Helper()
	members := walkStream(t, stream)
	if len(members) != 1 || members[0].flags != 0x0300000D {
		t.Fatalf("%d members, flags 0x%08x; want one member, flags 0x0300000D", len(members), members[0].flags)
	}
	m := members[0]
	if want := (len(input) + lzopBlockSize - 1) / lzopBlockSize; len(m.blocks) != want {
		t.Fatalf("%d blocks, want %d", len(m.blocks), want)
	}
	if m.terminatorAt+4 != int64(len(stream)) {
		t.Fatalf("terminator at %d, stream is %d bytes", m.terminatorAt, len(stream))
	}
	for i, b := range m.blocks {
		plain := input[i*lzopBlockSize : i*lzopBlockSize+b.dstLen]
		if b.dstLen != min(lzopBlockSize, len(input)-i*lzopBlockSize) {
			t.Fatalf("block %d holds %d bytes", i, b.dstLen)
		}
		data := stream[b.dataOffset : b.dataOffset+int64(b.srcLen)]
		if packed := CompressBlock(nil, plain); len(packed) < len(plain) {
			if !bytes.Equal(data, packed) {
				t.Fatalf("block %d is not the compressed data", i)
			}
		} else if !bytes.Equal(data, plain) {
			t.Fatalf("block %d does not compress, yet is not stored as is", i)
		}
	}
}

// TestWriterMatchesRealLzopFraming compares with what real lzop writes when
// stdin is a file, which records the file's mode and mtime: the header must
// be identical byte for byte, and so must the whole stream when every block
// is stored (random data) or there are none (empty input).
func TestWriterMatchesRealLzopFraming(t *testing.T) {
	requireLzop(t)
	for _, in := range []struct {
		name  string
		input []byte
		whole bool // the whole stream must be identical
	}{
		{"empty", nil, true},
		{"random", randomBytes(700000), true},
		{"text", textBytes(100000), false},
	} {
		t.Run(in.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "input")
			if err := os.WriteFile(path, in.input, 0o640); err != nil {
				t.Fatal(err)
			}
			mtime := time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC)
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd := exec.Command("lzop", "-c")
			cmd.Stdin = f
			real, err := cmd.Output()
			if err != nil {
				t.Fatalf("lzop -c: %v", err)
			}
			ours := compressWithWriter(t, in.input, 0, WriterOptions{Mode: 0o100640, ModTime: mtime})
			if !bytes.Equal(ours[:writerHeaderSize], real[:writerHeaderSize]) {
				t.Fatalf("header\n ours % x\n lzop % x", ours[:writerHeaderSize], real[:writerHeaderSize])
			}
			if in.whole && !bytes.Equal(ours, real) {
				t.Fatalf("streams differ: ours %d bytes, lzop %d", len(ours), len(real))
			}
		})
	}
}

// TestWriterHeaderFields checks the header against its description, for the
// zero options and for a time past 2106, which needs the high mtime word.
func TestWriterHeaderFields(t *testing.T) {
	for _, opts := range []WriterOptions{{}, {Mode: 0o100600, ModTime: time.Unix(1<<32+5, 0)}} {
		h := compressWithWriter(t, nil, 0, opts)
		if len(h) != writerHeaderSize+4 {
			t.Fatalf("empty stream is %d bytes, want header %d + terminator 4", len(h), writerHeaderSize)
		}
		be16 := func(at int) uint16 { return binary.BigEndian.Uint16(h[at:]) }
		be32 := func(at int) uint32 { return binary.BigEndian.Uint32(h[at:]) }
		var mtime uint64
		if !opts.ModTime.IsZero() {
			mtime = uint64(opts.ModTime.Unix())
		}
		got := fmt.Sprintf("%x %x %x %d %d %08x %o %d %d", be16(9), be16(11), be16(13), h[15], h[16], be32(17), be32(21), uint64(be32(29))<<32|uint64(be32(25)), h[33])
		want := fmt.Sprintf("1040 20a0 940 1 5 0300000d %o %d 0", opts.Mode, mtime)
		if !IsLzop(h) || got != want {
			t.Errorf("header fields %q, want %q", got, want)
		}
		if sum := adler32Checksum(h[9:34]); be32(34) != sum {
			t.Errorf("header checksum 0x%08x, want 0x%08x", be32(34), sum)
		}
		if be32(38) != 0 {
			t.Error("no terminator")
		}
	}
}

// TestWriterCompressesWAL: on the real WAL segment with records, Writer must
// compress about as well as lzop itself (default level, as WAL-E runs it):
// within 20% of its size either way, and below 60% of the input.
func TestWriterCompressesWAL(t *testing.T) {
	requireLzop(t)
	for i, seg := range walSegments(t) {
		ours := len(compressWithWriter(t, seg, 0, WriterOptions{}))
		lzopDefault := len(runLzop(t, seg, "-c"))
		lzopFast := len(runLzop(t, seg, "-1", "-c"))
		t.Logf("%s: %d bytes; ours %d (%.2f%%), lzop -c %d (%.2f%%), lzop -1 -c %d (%.2f%%)", walSegmentFiles[i], len(seg),
			ours, 100*float64(ours)/float64(len(seg)), lzopDefault, 100*float64(lzopDefault)/float64(len(seg)),
			lzopFast, 100*float64(lzopFast)/float64(len(seg)))
		if ours >= len(seg)*6/10 {
			t.Errorf("compressed to %d of %d bytes", ours, len(seg))
		}
		if ratio := float64(ours) / float64(lzopDefault); ratio < 0.8 || ratio > 1.2 {
			t.Errorf("compressed size is %.2f times lzop's", ratio)
		}
	}
}

// closeRecorder is a writer that fails after a number of bytes, and
// records whether anyone closed it.
type closeRecorder struct {
	bytes.Buffer
	limit  int // fail writes beyond this many bytes, if > 0
	closed bool
}

var errDiskFull = errors.New("disk full")

func (c *closeRecorder) Write(p []byte) (int, error) {
	if c.limit > 0 && c.Len()+len(p) > c.limit {
		n, _ := c.Buffer.Write(p[:c.limit-c.Len()])
		return n, errDiskFull
	}
	return c.Buffer.Write(p)
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

func TestWriterCloseSemantics(t *testing.T) {
	var dst closeRecorder
	w := NewWriter(&dst, WriterOptions{})
	if dst.Len() != 0 {
		t.Error("NewWriter wrote before any input")
	}
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != 0 {
		t.Error("a partial block was written before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if dst.closed {
		t.Error("Close closed the underlying writer")
	}
	size := dst.Len()
	if err := w.Close(); err != nil || dst.Len() != size {
		t.Errorf("second Close: err %v, wrote %d more bytes", err, dst.Len()-size)
	}
	if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, ErrWriterClosed) {
		t.Errorf("Write after Close: %d, %v", n, err)
	}
	if got, err := decodeWithWriteTo(dst.Bytes()); err != nil || string(got) != "abc" {
		t.Errorf("decoded %q, %v", got, err)
	}
}

// TestWriterErrorsAreSticky: once the underlying writer fails, Write and
// Close return its error and write nothing more.
func TestWriterErrorsAreSticky(t *testing.T) {
	dst := closeRecorder{limit: 1000}
	w := NewWriter(&dst, WriterOptions{})
	input := randomBytes(3 * lzopBlockSize)
	n, err := w.Write(input)
	if !errors.Is(err, errDiskFull) || n != 0 {
		t.Fatalf("Write: %d, %v; want 0 bytes and the underlying error", n, err)
	}
	if _, err := w.Write(input); !errors.Is(err, errDiskFull) {
		t.Errorf("second Write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close: %v", err)
	}
	if dst.Len() != 1000 {
		t.Errorf("%d bytes written", dst.Len())
	}

	short := NewWriter(shortWriter{}, WriterOptions{})
	if err := short.Close(); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Close to a short writer: %v", err)
	}
}

// shortWriter accepts one byte less than it is given, without an error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return max(len(p)-1, 0), nil }

// TestWriterReset: a reset Writer writes the same stream as a new one, and
// compressing a WAL segment with a reused Writer allocates nothing.
func TestWriterReset(t *testing.T) {
	seg := walSegments(t)[0]
	want := compressWithWriter(t, seg, 0, WriterOptions{})
	var dst bytes.Buffer
	w := NewWriter(&dst, WriterOptions{Mode: 0o644})
	w.Write(seg[:12345]) // abandoned
	dst.Reset()
	w.Reset(&dst, WriterOptions{})
	w.Write(seg)
	if err := w.Close(); err != nil || !bytes.Equal(dst.Bytes(), want) {
		t.Fatalf("after Reset: %d bytes, err %v; want %d bytes", dst.Len(), err, len(want))
	}
	dst.Grow(len(want))
	allocs := testing.AllocsPerRun(3, func() {
		dst.Reset()
		w.Reset(&dst, WriterOptions{})
		for at := 0; at < len(seg); at += 100000 {
			w.Write(seg[at:min(at+100000, len(seg))])
		}
		w.Close()
	})
	if allocs != 0 {
		t.Errorf("a reused Writer allocates %.0f times per WAL segment", allocs)
	}
}
