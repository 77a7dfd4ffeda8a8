package lzop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"pgrescue/problem"
)

// requireParallelAgrees decodes stream with Reader and with ParallelReader
// (two workers, WriteTo): the output before any error and the error itself
// must be the same, byte for byte and word for word. The tests of
// ParallelReader itself vary the workers and go through Read too.
func requireParallelAgrees(t testing.TB, stream []byte, what string) {
	t.Helper()
	// The 16 MiB WAL sample's damaged copies are left out: they cost
	// minutes under the race detector, and the damaged-block test below
	// covers long streams.
	if len(stream) > 1<<20 {
		return
	}
	requireParallelAgreesVia(t, stream, what, 2, "WriteTo")
}

func requireParallelAgreesVia(t testing.TB, stream []byte, what string, workers int, via string) {
	t.Helper()
	want, wantErr := decodeWithWriteTo(stream)
	got, err := decodeParallel(stream, workers, via)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s, %d workers, %s: %d bytes out, Reader gives %d (or other bytes)", what, workers, via, len(got), len(want))
	}
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("%s, %d workers, %s: error %v, Reader's %v", what, workers, via, err, wantErr)
	}
	if errorShape(err) != errorShape(wantErr) {
		t.Fatalf("%s, %d workers, %s: error %s, Reader's %s", what, workers, via, errorShape(err), errorShape(wantErr))
	}
}

// errorShape is the kind and cause of an error, down to the offsets.
func errorShape(err error) string {
	var pe *problem.Error
	if !errors.As(err, &pe) {
		return fmt.Sprintf("%T", err)
	}
	return fmt.Sprintf("%v %q %q %T %+v", pe.Kind, pe.Summary, pe.Detail, pe.Err, pe.Err)
}

func decodeParallel(stream []byte, workers int, via string) ([]byte, error) {
	p := NewParallelReader(bytes.NewReader(stream), workers)
	defer p.Close()
	var out bytes.Buffer
	if via == "WriteTo" {
		_, err := p.WriteTo(&out)
		return out.Bytes(), err
	}
	buf := make([]byte, 1000) // smaller than a block, and not a divisor of one
	for {
		n, err := p.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// TestParallelReaderDecodesEverySample: every sample, streams of the real
// lzop (multi-member, stored blocks, compressed-data checksums) and of
// this package's Writer come out as Reader decodes them.
func TestParallelReaderDecodesEverySample(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string][]byte{}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".lzo" {
			streams[e.Name()] = readTestdata(t, e.Name())
		}
	}
	requireLzop(t)
	big := mixedBytes(20 << 20)
	streams["20 MiB mixed, lzop -c"] = runLzop(t, big, "-c")
	streams["700 KiB random, lzop -CC --crc32"] = runLzop(t, randomBytes(700<<10), "-CC", "--crc32", "-c")
	streams["two members"] = append(runLzop(t, textBytes(300<<10), "-c"), runLzop(t, mixedBytes(600<<10), "-c")...)
	var w bytes.Buffer
	zw := NewWriter(&w, WriterOptions{Mode: 0o100600})
	zw.Write(big[:5<<20])
	zw.Close()
	streams["5 MiB, this package's Writer"] = w.Bytes()
	for name, stream := range streams {
		t.Run(name, func(t *testing.T) {
			want, err := decodeWithWriteTo(stream)
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 2, 4, 8} {
				for _, via := range []string{"WriteTo", "Read"} {
					got, err := decodeParallel(stream, workers, via)
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("%d workers, %s: %d bytes, err %v; want %d bytes", workers, via, len(got), err, len(want))
					}
				}
			}
		})
	}
}

// TestParallelReaderPassesSourceErrorsThrough: the source's own failure
// comes back unchanged, after the output of the blocks before it.
func TestParallelReaderPassesSourceErrorsThrough(t *testing.T) {
	stream := readTestdata(t, "text.txt.stdin.lzo")
	cause := errors.New("connection reset by peer")
	want, _ := io.ReadAll(NewReader(&failingReader{data: stream[:60000], err: cause}))
	p := NewParallelReader(&failingReader{data: stream[:60000], err: cause}, 2)
	defer p.Close()
	var out bytes.Buffer
	_, err := p.WriteTo(&out)
	if err != cause {
		t.Fatalf("got %v, want the source's error unchanged", err)
	}
	if len(want) == 0 || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("%d bytes before the error, Reader gives %d", out.Len(), len(want))
	}
}

// TestParallelReaderDamagedBlockAfterGoodOnes: with many blocks in
// flight, a damaged block's error comes after exactly the blocks before
// it, though later blocks were decoded first.
func TestParallelReaderDamagedBlockAfterGoodOnes(t *testing.T) {
	requireLzop(t)
	stream := runLzop(t, mixedBytes(4<<20), "-c")
	m := walkStream(t, stream)[0]
	for _, i := range []int{0, 3, len(m.blocks) - 1} {
		b := m.blocks[i]
		damaged := flipped(stream, b.dataOffset+int64(b.srcLen)/2, 0x40)
		for _, workers := range []int{1, 2, 8} {
			for _, via := range []string{"WriteTo", "Read"} {
				requireParallelAgreesVia(t, damaged, fmt.Sprintf("block %d damaged", i), workers, via)
			}
		}
		// A stream cut inside the block: Truncated, after the blocks before.
		requireParallelAgreesVia(t, stream[:b.dataOffset+int64(b.srcLen)/2], fmt.Sprintf("cut in block %d", i), 2, "Read")
	}
}

// TestParallelReaderLeavesNoGoroutines: Close before reading, in the
// middle, after the end and after an error stops every goroutine, and a
// Read after Close fails instead of hanging.
func TestParallelReaderLeavesNoGoroutines(t *testing.T) {
	requireLzop(t)
	stream := runLzop(t, mixedBytes(3<<20), "-c")
	before := runtime.NumGoroutine()
	cases := map[string]func(p *ParallelReader){
		"before reading": func(p *ParallelReader) {},
		"in the middle":  func(p *ParallelReader) { p.Read(make([]byte, 100)) },
		"after the end":  func(p *ParallelReader) { p.WriteTo(io.Discard) },
	}
	for name, use := range cases {
		p := NewParallelReader(bytes.NewReader(stream), 4)
		use(p)
		p.Close()
		p.Close()
		if _, err := p.Read(make([]byte, 10)); err == nil || err == io.EOF {
			t.Errorf("%s: Read after Close: %v", name, err)
		}
	}
	p := NewParallelReader(bytes.NewReader(flipped(stream, int64(len(stream)/2), 0xff)), 4)
	if _, err := p.WriteTo(io.Discard); err == nil {
		t.Error("a damaged stream decoded")
	}
	p.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
