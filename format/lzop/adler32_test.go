package lzop

import (
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32MatchesStandardLibrary checks the SWAR Adler-32 against
// hash/adler32 on every length around the 8-byte step and the reduction
// chunk, with bytes that maximise the sums (0xff) and random ones.
func TestAdler32MatchesStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	buf := make([]byte, 3*adlerChunk+17)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	ones := make([]byte, len(buf))
	for i := range ones {
		ones[i] = 0xff
	}
	lengths := []int{adlerChunk - 1, adlerChunk, adlerChunk + 1, 2*adlerChunk + 9, len(buf)}
	for n := range 300 {
		lengths = append(lengths, n)
	}
	for _, data := range [][]byte{buf, ones} {
		for _, n := range lengths {
			if got, want := adler32Checksum(data[:n]), adler32.Checksum(data[:n]); got != want {
				t.Fatalf("length %d: got 0x%08x, want 0x%08x", n, got, want)
			}
		}
	}
}

func FuzzAdler32(f *testing.F) {
	f.Add([]byte("lzop"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := adler32Checksum(data), adler32.Checksum(data); got != want {
			t.Fatalf("got 0x%08x, want 0x%08x", got, want)
		}
	})
}

func BenchmarkAdler32(b *testing.B) {
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.Run("own", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			adler32Checksum(data)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			adler32.Checksum(data)
		}
	})
}
