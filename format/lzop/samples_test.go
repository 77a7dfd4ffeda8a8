package lzop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"testing/iotest"
)

// The samples written by real lzop 1.04 (see testdata/README.md), and the
// original inputs whose concatenation each decompresses to. SHA256SUMS
// holds the SHA-256 of each input.
var samples = []struct {
	file   string
	inputs []string
}{
	{"random-700000.bin.stdin.lzo", []string{"random-700000.bin"}},
	{"random-700000.bin.crc32.lzo", []string{"random-700000.bin"}},
	{"zeros-300000.bin.stdin.lzo", []string{"zeros-300000.bin"}},
	{"empty.bin.stdin.lzo", []string{"empty.bin"}},
	{"text.txt.stdin.lzo", []string{"text.txt"}},
	{"text.txt.level1.lzo", []string{"text.txt"}},
	{"text.txt.level9.lzo", []string{"text.txt"}},
	{"text.txt.crc32.lzo", []string{"text.txt"}},
	{"text.txt.named.lzo", []string{"text.txt"}},
	{"concatenated-text-then-zeros.lzo", []string{"text.txt", "zeros-300000.bin"}},
}

// inputSizes are the lengths of the original inputs, to split the output of
// a concatenated sample back into its parts.
var inputSizes = map[string]int{
	"random-700000.bin": 700000,
	"zeros-300000.bin":  300000,
	"empty.bin":         0,
	"text.txt":          1028894,
}

func readSHA256SUMS(t *testing.T) map[string]string {
	t.Helper()
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readTestdata(t, "SHA256SUMS")))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	return sums
}

func TestSamplesMatchSHA256SUMSAndRealLzop(t *testing.T) {
	requireLzop(t)
	sums := readSHA256SUMS(t)
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			stream := readTestdata(t, s.file)
			got, err := decodeWithRead(stream)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			rest := got
			for _, in := range s.inputs {
				size := inputSizes[in]
				if len(rest) < size {
					t.Fatalf("output too short for %s: %d bytes left, want %d", in, len(rest), size)
				}
				sum := sha256.Sum256(rest[:size])
				if hex.EncodeToString(sum[:]) != sums[in] {
					t.Errorf("SHA-256 of %s part is %x, SHA256SUMS says %s", in, sum, sums[in])
				}
				rest = rest[size:]
			}
			if len(rest) != 0 {
				t.Errorf("%d bytes left over after the expected inputs", len(rest))
			}
			if want := lzopDecompress(t, stream); !bytes.Equal(got, want) {
				t.Errorf("output differs from lzop -dc (%d vs %d bytes)", len(got), len(want))
			}
			viaWriteTo, err := decodeWithWriteTo(stream)
			if err != nil || !bytes.Equal(viaWriteTo, got) {
				t.Errorf("WriteTo gives %d bytes, err %v; Read gave %d bytes", len(viaWriteTo), err, len(got))
			}
		})
	}
}

// TestReaderContract runs the standard io.Reader checks (small reads, reads
// after EOF, ...) and feeds the compressed stream one byte per Read, as a
// slow network body would.
func TestReaderContract(t *testing.T) {
	for _, name := range []string{"text.txt.stdin.lzo", "concatenated-text-then-zeros.lzo", "empty.bin.stdin.lzo"} {
		t.Run(name, func(t *testing.T) {
			stream := readTestdata(t, name)
			want, err := decodeWithWriteTo(stream)
			if err != nil {
				t.Fatal(err)
			}
			if err := iotest.TestReader(NewReader(bytes.NewReader(stream)), want); err != nil {
				t.Error(err)
			}
			oneByte := NewReader(iotest.OneByteReader(bytes.NewReader(stream)))
			var got bytes.Buffer
			if _, err := oneByte.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) {
				t.Errorf("one byte at a time: %d bytes, err %v", got.Len(), err)
			}
			halfReader := NewReader(iotest.HalfReader(bytes.NewReader(stream)))
			if err := iotest.TestReader(halfReader, want); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestWALEFixture decodes a real WAL segment archived by WAL-E (decrypted
// from the wale-pg15 fixture; see testdata/README.md).
func TestWALEFixture(t *testing.T) {
	requireLzop(t)
	for _, name := range []string{"wal-000000010000000000000011.lzo", "wal-000000010000000000000010.lzo"} {
		t.Run(name, func(t *testing.T) {
			stream := readTestdata(t, name)
			got, err := decodeWithWriteTo(stream)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 16<<20 {
				t.Fatalf("decoded %d bytes, a WAL segment is %d", len(got), 16<<20)
			}
			if want := lzopDecompress(t, stream); !bytes.Equal(got, want) {
				t.Error("output differs from lzop -dc")
			}
			members := walkStream(t, stream)
			if len(members) != 1 || members[0].flags != 0x0300000D || len(members[0].blocks) != 64 {
				t.Errorf("expected one member, flags 0x0300000D, 64 blocks; got %d members", len(members))
			}
		})
	}
}

func TestIsLzop(t *testing.T) {
	stream := readTestdata(t, "text.txt.stdin.lzo")
	if !IsLzop(stream) || !IsLzop(Magic[:]) {
		t.Error("IsLzop rejects an lzop stream")
	}
	for _, prefix := range [][]byte{nil, Magic[:8], {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0}, []byte("PK\x03\x04 zip file")} {
		if IsLzop(prefix) {
			t.Errorf("IsLzop(% x) = true", prefix)
		}
	}
}
