package lzop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"strings"
	"testing"

	"pgrescue/problem"
)

// memberSpec describes an lzop member to assemble by hand, for header
// variants real lzop 1.04 never writes (old format versions, extra fields)
// and for invalid headers. Blocks are taken from a real lzop stream, so only
// the framing is hand-made; tests run the result through real lzop too,
// which proves the framing is what lzop itself accepts.
type memberSpec struct {
	version, libVersion, needed uint16
	method, level               byte
	flags, filter               uint32
	name                        string
	extra                       []byte // written when flags has flagExtraField
	blocks                      []specBlock
}

// specBlock is one block: its uncompressed bytes and how they are stored.
type specBlock struct {
	plain  []byte
	stored []byte // LZO1X data, or plain itself for a stored block
}

// realBlocks compresses input with the real lzop and returns its blocks.
func realBlocks(t *testing.T, input []byte) []specBlock {
	t.Helper()
	stream := runLzop(t, input, "-c")
	var blocks []specBlock
	at := 0
	for _, b := range walkStream(t, stream)[0].blocks {
		blocks = append(blocks, specBlock{
			plain:  input[at : at+b.dstLen],
			stored: stream[b.dataOffset : b.dataOffset+int64(b.srcLen)],
		})
		at += b.dstLen
	}
	return blocks
}

func defaultSpec(blocks []specBlock) memberSpec {
	return memberSpec{
		version: 0x1040, libVersion: 0x20a0, needed: 0x0940,
		method: 1, level: 5, flags: 0x03000000 | flagAdler32D, blocks: blocks,
	}
}

// bytes assembles the member, computing every checksum as lzop does.
func (s memberSpec) bytes() []byte {
	var h bytes.Buffer
	be := func(v any) { binary.Write(&h, binary.BigEndian, v) }
	be(s.version)
	be(s.libVersion)
	if s.version >= versionWithLevel {
		be(s.needed)
	}
	h.WriteByte(s.method)
	if s.version >= versionWithLevel {
		h.WriteByte(s.level)
	}
	be(s.flags)
	if s.flags&flagFilter != 0 {
		be(s.filter)
	}
	be(uint32(0o100644)) // mode
	be(uint32(0))        // mtime
	if s.version >= versionWithLevel {
		be(uint32(0))
	}
	h.WriteByte(byte(len(s.name)))
	h.WriteString(s.name)
	headerSum := func(b []byte) uint32 {
		if s.flags&flagHeaderCRC32 != 0 {
			return crc32.ChecksumIEEE(b)
		}
		return adler32.Checksum(b)
	}

	var out bytes.Buffer
	w := func(v any) { binary.Write(&out, binary.BigEndian, v) }
	out.Write(Magic[:])
	out.Write(h.Bytes())
	w(headerSum(h.Bytes()))
	if s.flags&flagExtraField != 0 {
		field := binary.BigEndian.AppendUint32(nil, uint32(len(s.extra)))
		field = append(field, s.extra...)
		out.Write(field)
		w(headerSum(field))
	}
	for _, b := range s.blocks {
		w(uint32(len(b.plain)))
		w(uint32(len(b.stored)))
		if s.flags&flagAdler32D != 0 {
			w(adler32.Checksum(b.plain))
		}
		if s.flags&flagCRC32D != 0 {
			w(crc32.ChecksumIEEE(b.plain))
		}
		if len(b.stored) < len(b.plain) {
			if s.flags&flagAdler32C != 0 {
				w(adler32.Checksum(b.stored))
			}
			if s.flags&flagCRC32C != 0 {
				w(crc32.ChecksumIEEE(b.stored))
			}
		}
		out.Write(b.stored)
	}
	w(uint32(0))
	return out.Bytes()
}

// lzopAccepts reports whether the real lzop decompresses stream to want.
func lzopAccepts(stream, want []byte) bool {
	out, err := tryLzop(stream, "-dc")
	return err == nil && bytes.Equal(out, want)
}

func TestHandMadeHeaderVariantsMatchRealLzop(t *testing.T) {
	requireLzop(t)
	input := mixedBytes(600 << 10)
	blocks := realBlocks(t, input)
	stored := []specBlock{{plain: input[:1000], stored: input[:1000]}}
	variants := map[string]func(s *memberSpec){
		"old format 0x0920 without version_needed, level, mtime_high": func(s *memberSpec) { s.version, s.libVersion = 0x0920, 0x0920 },
		"format 0x0940 exactly":      func(s *memberSpec) { s.version = 0x0940 },
		"extra field, Adler-32":      func(s *memberSpec) { s.flags |= flagExtraField; s.extra = []byte("pgrescue extra field") },
		"extra field, CRC-32 header": func(s *memberSpec) { s.flags |= flagExtraField | flagHeaderCRC32; s.extra = []byte{1, 2, 3} },
		"empty extra field":          func(s *memberSpec) { s.flags |= flagExtraField },
		"large extra field":          func(s *memberSpec) { s.flags |= flagExtraField; s.extra = bytes.Repeat([]byte("x"), 70000) },
		"filter flag with filter 0":  func(s *memberSpec) { s.flags |= flagFilter },
		"every block checksum": func(s *memberSpec) {
			s.flags |= flagAdler32D | flagCRC32D | flagAdler32C | flagCRC32C
		},
		"no block checksum": func(s *memberSpec) { s.flags &^= flagAdler32D },
		"longest name":      func(s *memberSpec) { s.name = strings.Repeat("n", 255) },
		"method 2, level 1": func(s *memberSpec) { s.method, s.level = 2, 1 },
		"method 3, level 9": func(s *memberSpec) { s.method, s.level = 3, 9 },
		"stored block with C sums": func(s *memberSpec) {
			// lzop asserts that a C flag comes with its D flag, whose
			// checksum stands in for it on stored blocks.
			s.blocks = stored
			s.flags |= flagAdler32C | flagCRC32C | flagCRC32D
		},
		"no blocks": func(s *memberSpec) { s.blocks = nil },
		// lzop only warns about F_MULTIPART (0x400) and decodes the member.
		"multipart flag":             func(s *memberSpec) { s.flags |= 0x400 },
		"UTF-8 name, GMT diff flags": func(s *memberSpec) { s.flags |= 0x00500000 | 0x80 },
	}
	for name, change := range variants {
		t.Run(name, func(t *testing.T) {
			spec := defaultSpec(blocks)
			change(&spec)
			var want []byte
			for _, b := range spec.blocks {
				want = append(want, b.plain...)
			}
			stream := spec.bytes()
			if !lzopAccepts(stream, want) {
				t.Fatal("the hand-made stream is not accepted by real lzop: the test's framing is wrong")
			}
			got, err := decodeWithWriteTo(stream)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("decoded %d bytes, want %d; err %v", len(got), len(want), err)
			}
		})
	}
}

// TestRejectsWhatItCannotDecode checks headers that are well-formed (their
// checksums match) but ask for something this reader does not do.
func TestRejectsWhatItCannotDecode(t *testing.T) {
	requireLzop(t)
	input := textBytes(10000)
	blocks := realBlocks(t, input)
	cases := map[string]struct {
		change func(s *memberSpec)
		want   string
	}{
		"method 0":               {func(s *memberSpec) { s.method = 0 }, "compression method 0 is not supported"},
		"method 4":               {func(s *memberSpec) { s.method = 4 }, "compression method 4 is not supported"},
		"method 128":             {func(s *memberSpec) { s.method = 128 }, "compression method 128 is not supported"},
		"filter 1":               {func(s *memberSpec) { s.flags |= flagFilter; s.filter = 1 }, "uses lzop filter 1"},
		"reserved flag":          {func(s *memberSpec) { s.flags |= 0x4000 }, "reserved bits 0x00004000"},
		"needs a newer lzop":     {func(s *memberSpec) { s.needed = 0x2000 }, "needs lzop version 0x2000"},
		"version before lzop":    {func(s *memberSpec) { s.version = 0x0800 }, "format version 0x0800"},
		"needed before lzop":     {func(s *memberSpec) { s.needed = 0x0100 }, "version needed to extract 0x0100"},
		"bad extra field sum":    {func(s *memberSpec) { s.flags |= flagExtraField | flagHeaderCRC32; s.extra = []byte("e") }, ""},
		"stored longer than raw": {func(s *memberSpec) { s.blocks = []specBlock{{plain: input[:10], stored: input[:11]}} }, "compressed length 11 is not between 1 and the uncompressed length 10"},
		"empty stored data":      {func(s *memberSpec) { s.blocks = []specBlock{{plain: input[:10], stored: nil}} }, "compressed length 0"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			spec := defaultSpec(blocks)
			c.change(&spec)
			stream := spec.bytes()
			if name == "bad extra field sum" {
				// Damage the extra field's checksum, the last 4 bytes before the first block.
				at := bytes.Index(stream, []byte("e")) + 1
				stream[at] ^= 0xff
				c.want = "extra field checksum (CRC-32) is"
			}
			_, err := decodeWithWriteTo(stream)
			requireKind(t, err, problem.Corrupt)
			requireParallelAgrees(t, stream, name)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// TestRejectsRealFilteredStream uses lzop's own --filter output.
func TestRejectsRealFilteredStream(t *testing.T) {
	requireLzop(t)
	stream := runLzop(t, textBytes(5000), "--filter=1", "-c")
	_, err := decodeWithWriteTo(stream)
	requireKind(t, err, problem.Corrupt)
	if !strings.Contains(err.Error(), "uses lzop filter 1, which pgrescue does not support") {
		t.Errorf("error does not explain the filter: %v", err)
	}
}

func TestImplausibleBlockLengths(t *testing.T) {
	stream := readTestdata(t, "text.txt.stdin.lzo")
	first := walkStream(t, stream)[0].blocks[0]
	cases := map[string]struct {
		dst, src uint32
		want     string
	}{
		"over 64 MiB":             {64<<20 + 1, 1000, "larger than lzop's limit"},
		"split-file marker":       {0xffffffff, 1000, "larger than lzop's limit"},
		"more than LZO1X encodes": {64 << 20, 1000, "more than LZO1X can encode in 1000 bytes"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			damaged := bytes.Clone(stream)
			binary.BigEndian.PutUint32(damaged[first.offset:], c.dst)
			binary.BigEndian.PutUint32(damaged[first.offset+4:], c.src)
			_, err := decodeWithWriteTo(damaged)
			requireKind(t, err, problem.Corrupt)
			requireParallelAgrees(t, damaged, name)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestNotAnLzopStream(t *testing.T) {
	cases := map[string]struct {
		data []byte
		want string
	}{
		"gzip":           {[]byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 99, 99}, "not an lzop stream (first bytes: 1f 8b 08 00 00 00 00 00)"},
		"short garbage":  {[]byte("PK"), "not an lzop stream (first bytes: 50 4b)"},
		"html":           {[]byte("<html><body>"), "not an lzop stream (first bytes: 3c 68 74 6d 6c 3e 3c 62)"},
		"almost a magic": {append(Magic[:8:8], 'x', 0, 0, 0), "not an lzop stream (first bytes: 89 4c 5a 4f 00 0d 0a 1a)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodeWithRead(c.data)
			requireKind(t, err, problem.Corrupt)
			requireParallelAgrees(t, c.data, name)
			var pe *problem.Error
			errors.As(err, &pe)
			if pe.Summary != c.want {
				t.Errorf("summary %q, want %q", pe.Summary, c.want)
			}
		})
	}
}

func TestEmptyAndPartialMagicAreTruncated(t *testing.T) {
	for _, data := range [][]byte{nil, Magic[:1], Magic[:8]} {
		_, err := decodeWithRead(data)
		requireKind(t, err, problem.Truncated)
		requireParallelAgrees(t, data, "a partial magic")
		var te *TruncatedError
		if !errors.As(err, &te) || te.Offset != 0 || te.End != int64(len(data)) {
			t.Errorf("%d bytes: TruncatedError %+v", len(data), te)
		}
	}
}

func TestWhatMayFollowAMember(t *testing.T) {
	one := readTestdata(t, "text.txt.stdin.lzo")
	want, err := decodeWithRead(one)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("another member", func(t *testing.T) {
		got, err := decodeWithRead(append(bytes.Clone(one), one...))
		if err != nil || !bytes.Equal(got, append(bytes.Clone(want), want...)) {
			t.Fatalf("two members: %d bytes, err %v", len(got), err)
		}
	})
	t.Run("an empty member", func(t *testing.T) {
		got, err := decodeWithRead(append(bytes.Clone(one), readTestdata(t, "empty.bin.stdin.lzo")...))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes, err %v", len(got), err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := decodeWithRead(append(bytes.Clone(one), "garbage after the end"...))
		requireKind(t, err, problem.Corrupt)
		requireParallelAgrees(t, append(bytes.Clone(one), "garbage after the end"...), "garbage")
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Offset != int64(len(one)) {
			t.Errorf("CorruptError %+v, want offset %d", ce, len(one))
		}
		if !strings.Contains(err.Error(), "67 61 72 62 61 67 65 20 where another member's magic or the end of the stream should be") {
			t.Errorf("error does not show the bytes found: %v", err)
		}
	})
	t.Run("zero padding", func(t *testing.T) {
		_, err := decodeWithRead(append(bytes.Clone(one), 0, 0, 0, 0))
		requireKind(t, err, problem.Corrupt)
		requireParallelAgrees(t, append(bytes.Clone(one), 0, 0, 0, 0), "zero padding")
	})
	t.Run("start of a magic", func(t *testing.T) {
		_, err := decodeWithRead(append(bytes.Clone(one), Magic[:5]...))
		requireKind(t, err, problem.Truncated)
		requireParallelAgrees(t, append(bytes.Clone(one), Magic[:5]...), "start of a magic")
	})
}

// TestErrorShape pins down what callers rely on: the kind, a summary naming
// the block and member offsets and the failed check, the offset available
// through errors.As, and Subject and Next left for the caller.
func TestErrorShape(t *testing.T) {
	stream := bytes.Clone(readTestdata(t, "random-700000.bin.stdin.lzo"))
	m := walkStream(t, stream)[0]
	second := m.blocks[1]
	stream[second.dataOffset+100] ^= 0x01 // stored block: only the Adler-32 can notice
	_, err := decodeWithWriteTo(stream)
	requireKind(t, err, problem.Corrupt)
	var pe *problem.Error
	errors.As(err, &pe)
	// The header is 38 bytes, the first block 12 + 262144 (stored).
	wantPrefix := "lzop block at offset 262194 (member at offset 0): Adler-32 of uncompressed data is 0x"
	if second.offset != 262194 || !strings.HasPrefix(pe.Summary, wantPrefix) || !strings.Contains(pe.Summary, ", expected 0x") {
		t.Errorf("summary %q, want prefix %q (block at %d)", pe.Summary, wantPrefix, second.offset)
	}
	if pe.Subject != "" || pe.Next != "" {
		t.Errorf("Subject %q and Next %q should be left to the caller", pe.Subject, pe.Next)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Offset != second.offset || !strings.HasPrefix(ce.Reason, "Adler-32 of uncompressed data is 0x") {
		t.Errorf("CorruptError %+v", ce)
	}
	if strings.Count(err.Error(), "Adler-32") != 1 {
		t.Errorf("the failed check should be stated once: %q", err.Error())
	}

	truncated := readTestdata(t, "random-700000.bin.stdin.lzo")[:second.dataOffset+10]
	_, err = decodeWithWriteTo(truncated)
	requireKind(t, err, problem.Truncated)
	var te *TruncatedError
	if !errors.As(err, &te) || te.Offset != second.offset || te.End != int64(len(truncated)) {
		t.Errorf("TruncatedError %+v", te)
	}
	errors.As(err, &pe)
	if want := "lzop block at offset 262194 (member at offset 0): stream ends at offset 262216, before the end of the block's data"; pe.Summary != want {
		t.Errorf("summary %q, want %q", pe.Summary, want)
	}
}

// TestUnderlyingErrorsPassThrough: a failure of the source (network, gpg)
// is the caller's to explain, so it comes back unchanged.
func TestUnderlyingErrorsPassThrough(t *testing.T) {
	stream := readTestdata(t, "text.txt.stdin.lzo")
	cause := errors.New("connection reset by peer")
	src := &failingReader{data: stream[:5000], err: cause}
	_, err := NewReader(src).WriteTo(&bytes.Buffer{})
	if err != cause {
		t.Fatalf("got %v, want the source's error unchanged", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}
