package lzop

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// The header fields Writer writes: those of lzop 1.04 built with LZO 2.10
// compressing stdin to stdout with its default level (`lzop -c`, what WAL-E
// runs), so archives written by pgrescue look like WAL-E's own to any tool.
const (
	writerVersion    = 0x1040 // lzop 1.04
	writerLibVersion = 0x20a0 // LZO 2.10
	writerNeeded     = 0x0940 // lzop writes this for method 1 without filter
	writerMethod     = 1      // M_LZO1X_1
	writerLevel      = 5      // what lzop records for its default, -3 (and -2 to -6)
	// writerFlags is F_OS_UNIX | F_STDOUT | F_STDIN | F_ADLER32_D: an
	// Adler-32 of each block's uncompressed data and nothing else.
	writerFlags = 0x03000000 | 0x8 | 0x4 | flagAdler32D
)

// writerHeaderSize is the length of the member header Writer writes: magic,
// version, library version, version needed, method, level, flags, mode,
// mtime low and high, an empty name, and the header's Adler-32.
const writerHeaderSize = len(Magic) + 2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4 + 1 + 4

// blockHeaderSize is a block's uncompressed length, compressed length and
// Adler-32 of the uncompressed data.
const blockHeaderSize = 4 + 4 + 4

// ErrWriterClosed is returned by Write after Close.
var ErrWriterClosed = errors.New("lzop: write to a closed Writer")

// WriterOptions are the header fields that describe the input file. lzop
// -c reading a pipe writes zero for the mode and the current time; reading
// a redirected file, that file's. lzop -d restores them only when it
// decompresses to a file, and WAL-E always decompresses to a pipe, so the
// zero values are fine.
type WriterOptions struct {
	// Mode is the Unix st_mode stored in the header, file type bits
	// included: 0o100600 for a regular file with permissions 0600.
	Mode uint32
	// ModTime is the modification time stored in the header, to the
	// second. The zero Time stores 0 (1970-01-01), so that output depends
	// only on the input.
	ModTime time.Time
}

// Writer compresses to the lzop format: one member, exactly as `lzop -c`
// writes it from stdin, so that lzop -d, WAL-E and this package's Reader
// read it. Input is cut into blocks of 256 KiB, lzop's block size; each is
// compressed with LZO1X (Compressor) and stored as is when compression does
// not make it smaller, as lzop does. Each block carries the Adler-32 of its
// data, the one checksum lzop writes by default.
//
// Write buffers up to one block, so output appears in 256 KiB steps; Close
// writes the last block and the member's terminator. A Writer holds about
// 600 KiB of buffers and allocates nothing once they exist; Reset reuses
// them for another stream.
type Writer struct {
	dst         io.Writer
	opts        WriterOptions
	wroteHeader bool
	closed      bool
	err         error // sticky: the first error from dst

	pending []byte // input not yet compressed, less than a block
	out     []byte // the next write to dst: header, block header and data
	comp    Compressor
}

// NewWriter returns a Writer that writes an lzop stream to w. Nothing is
// written until the first block is complete or Close is called.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	return &Writer{dst: w, opts: opts}
}

// Reset discards the Writer's state and makes it write a new stream to w,
// keeping its buffers: compressing one WAL segment after another then
// allocates nothing. The previous stream is abandoned, unterminated, if it
// was not closed.
func (z *Writer) Reset(w io.Writer, opts WriterOptions) {
	z.dst, z.opts = w, opts
	z.wroteHeader, z.closed, z.err = false, false, nil
	z.pending, z.out = z.pending[:0], z.out[:0]
}

// Write implements io.Writer. It compresses and writes each complete 256 KiB
// block; the rest waits for more input or Close. An error from the
// underlying writer is returned, and by every later call.
func (z *Writer) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.closed {
		return 0, ErrWriterClosed
	}
	written := 0
	for len(p) > 0 {
		if len(z.pending) == 0 && len(p) >= lzopBlockSize {
			// A whole block in p: compress it from there, without a copy.
			if err := z.writeBlock(p[:lzopBlockSize]); err != nil {
				return written, err
			}
			p = p[lzopBlockSize:]
			written += lzopBlockSize
			continue
		}
		if z.pending == nil {
			z.pending = make([]byte, 0, lzopBlockSize)
		}
		n := min(len(p), lzopBlockSize-len(z.pending))
		z.pending = append(z.pending, p[:n]...)
		p = p[n:]
		written += n
		if len(z.pending) == lzopBlockSize {
			if err := z.writeBlock(z.pending); err != nil {
				return written, err
			}
			z.pending = z.pending[:0]
		}
	}
	return written, nil
}

// Close writes the buffered input as a last block and the terminator that
// ends the member. It does not close the underlying writer. Calling Close
// again has no effect and returns the same result.
func (z *Writer) Close() error {
	if z.closed || z.err != nil {
		return z.err
	}
	z.closed = true
	if len(z.pending) > 0 {
		if err := z.writeBlock(z.pending); err != nil {
			return err
		}
		z.pending = z.pending[:0]
	}
	z.out = z.startOutput()
	z.out = binary.BigEndian.AppendUint32(z.out, 0) // terminator
	return z.flush()
}

// startOutput returns z.out emptied, with the member header in it if it has
// not been written yet, so the header goes out with the first block.
func (z *Writer) startOutput() []byte {
	out := z.out[:0]
	if !z.wroteHeader {
		out = z.appendHeader(out)
		z.wroteHeader = true
	}
	return out
}

// appendHeader appends the member's magic and header.
func (z *Writer) appendHeader(out []byte) []byte {
	out = append(out, Magic[:]...)
	fields := len(out)
	out = binary.BigEndian.AppendUint16(out, writerVersion)
	out = binary.BigEndian.AppendUint16(out, writerLibVersion)
	out = binary.BigEndian.AppendUint16(out, writerNeeded)
	out = append(out, writerMethod, writerLevel)
	out = binary.BigEndian.AppendUint32(out, writerFlags)
	out = binary.BigEndian.AppendUint32(out, z.opts.Mode)
	var mtime uint64
	if !z.opts.ModTime.IsZero() {
		mtime = uint64(z.opts.ModTime.Unix())
	}
	out = binary.BigEndian.AppendUint32(out, uint32(mtime))     // low 32 bits
	out = binary.BigEndian.AppendUint32(out, uint32(mtime>>32)) // high 32 bits
	out = append(out, 0)                                        // no file name
	return binary.BigEndian.AppendUint32(out, adler32Checksum(out[fields:]))
}

// writeBlock compresses one block of input and writes it, preceded by the
// header if this is the first block. A block that does not shrink is
// stored: its compressed length equals its uncompressed length, which is
// how the reader (and lzop) know it is raw.
func (z *Writer) writeBlock(block []byte) error {
	out := z.startOutput()
	if need := len(out) + blockHeaderSize + CompressBound(len(block)); cap(out) < need {
		// Sized for a full block once, so later blocks never reallocate.
		grown := make([]byte, len(out), max(need, writerHeaderSize+blockHeaderSize+CompressBound(lzopBlockSize)))
		copy(grown, out)
		out = grown
	}
	at := len(out)
	out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
	out = binary.BigEndian.AppendUint32(out, 0) // compressed length, below
	out = binary.BigEndian.AppendUint32(out, adler32Checksum(block))
	data := len(out)
	out = z.comp.Compress(out, block)
	if len(out)-data >= len(block) {
		out = append(out[:data], block...)
	}
	binary.BigEndian.PutUint32(out[at+4:], uint32(len(out)-data))
	z.out = out
	return z.flush()
}

// flush writes z.out to the underlying writer.
func (z *Writer) flush() error {
	n, err := z.dst.Write(z.out)
	if err == nil && n < len(z.out) {
		err = io.ErrShortWrite
	}
	z.out = z.out[:0]
	if err != nil {
		z.err = err
	}
	return err
}
