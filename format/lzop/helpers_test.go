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
	"strings"
	"testing"

	"pgrescue/internal/testtool"

	"pgrescue/problem"
)

// requireLzop skips the test when the real lzop binary is absent. CI treats
// a "missing tool:" skip as a failure, so the comparison is never silently lost.
func requireLzop(tb testing.TB) {
	tb.Helper()
	testtool.Need(tb, "lzop")
}

// runLzop runs the real lzop with input on stdin and returns its stdout.
func runLzop(tb testing.TB, input []byte, args ...string) []byte {
	tb.Helper()
	out, err := tryLzop(input, args...)
	if err != nil {
		tb.Fatalf("lzop %v: %v", args, err)
	}
	return out
}

// tryLzop runs the real lzop and reports whether it succeeded. lzop exits 2
// after warnings only, e.g. "this is a multipart archive" for concatenated
// members; the output is complete then, so that counts as success.
func tryLzop(input []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("lzop", args...)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 && !strings.Contains(stderr.String(), "error") {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}

// lzopDecompress is what `lzop -dc` makes of a stream.
func lzopDecompress(tb testing.TB, stream []byte) []byte {
	tb.Helper()
	return runLzop(tb, stream, "-dc")
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// decodeWithRead decodes through Read only (io.ReadAll never uses WriteTo).
func decodeWithRead(stream []byte) ([]byte, error) {
	return io.ReadAll(NewReader(bytes.NewReader(stream)))
}

// decodeWithWriteTo decodes through WriteTo.
func decodeWithWriteTo(stream []byte) ([]byte, error) {
	var out bytes.Buffer
	_, err := NewReader(bytes.NewReader(stream)).WriteTo(&out)
	return out.Bytes(), err
}

// requireKind fails unless err is a *problem.Error of one of the kinds.
func requireKind(tb testing.TB, err error, kinds ...problem.Kind) {
	tb.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) {
		tb.Fatalf("error %v (%T) is not a *problem.Error", err, err)
	}
	for _, k := range kinds {
		if pe.Kind == k {
			return
		}
	}
	tb.Fatalf("error kind %v, want one of %v: %v", pe.Kind, kinds, err)
}

// testBlock is one block of a well-formed stream, as located by walkStream.
type testBlock struct {
	offset     int64 // where the block header starts
	dataOffset int64 // where its data starts
	dstLen     int
	srcLen     int
}

// testMember is one member of a well-formed stream.
type testMember struct {
	offset       int64
	headerEnd    int64 // offset just after the header checksum
	flags        uint32
	blocks       []testBlock
	terminatorAt int64
}

// walkStream locates the members and blocks of a stream lzop wrote. It is a
// test-side parser, independent of Reader, for placing corruption precisely;
// it assumes a well-formed stream of format version >= 0x0940 without extra field.
func walkStream(tb testing.TB, s []byte) []testMember {
	tb.Helper()
	var members []testMember
	pos := 0
	u32 := func() uint32 { v := binary.BigEndian.Uint32(s[pos:]); pos += 4; return v }
	for pos < len(s) {
		m := testMember{offset: int64(pos)}
		pos += 9 + 2 + 2 + 2 + 1 + 1 // magic, versions, method, level
		m.flags = u32()
		if m.flags&flagFilter != 0 {
			pos += 4
		}
		pos += 4 + 4 + 4 // mode, mtimes
		pos += 1 + int(s[pos])
		pos += 4 // header checksum
		m.headerEnd = int64(pos)
		for {
			start := pos
			dst := int(u32())
			if dst == 0 {
				m.terminatorAt = int64(start)
				break
			}
			src := int(u32())
			for _, f := range []uint32{flagAdler32D, flagCRC32D} {
				if m.flags&f != 0 {
					pos += 4
				}
			}
			if src < dst {
				for _, f := range []uint32{flagAdler32C, flagCRC32C} {
					if m.flags&f != 0 {
						pos += 4
					}
				}
			}
			m.blocks = append(m.blocks, testBlock{offset: int64(start), dataOffset: int64(pos), dstLen: dst, srcLen: src})
			pos += src
		}
		members = append(members, m)
	}
	return members
}
