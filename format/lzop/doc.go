// Package lzop reads lzop streams, the compression WAL-E applies (with
// `lzop -c`) to every WAL segment and base backup partition before
// encrypting it. It decodes in Go, without the lzop binary or liblzo.
//
// It also writes them, so pgrescue can push archives WAL-E reads: Writer
// produces one member framed exactly as `lzop -c` frames it, and
// Compressor (or CompressBlock) the LZO1X-1-style blocks inside.
//
// # Container format
//
// An lzop stream is one or more members. Each member is:
//
//   - the 9-byte Magic;
//   - a header, all integers big-endian: format version, library version,
//     version needed to extract (format 0x0940 and later), method, level
//     (0x0940 and later), flags, filter (if the flags say so), file mode,
//     modification time (a second word from 0x0940), file name, and an
//     Adler-32 (or, with flag F_H_CRC32, CRC-32) of all those fields;
//     optionally an extra field with its own checksum;
//   - blocks of at most 256 KiB of input each (lzop accepts up to 64 MiB):
//     uncompressed length, compressed length, the checksums the flags ask
//     for, then the data. Equal lengths mean the block is stored as is,
//     because compressing it did not help;
//   - a terminator: an uncompressed length of zero.
//
// The compressed data is LZO1X: methods 1, 2 and 3 (LZO1X-1, LZO1X-1(15)
// and LZO1X-999) only differ in how hard the compressor searched, and all
// decode the same way. WAL-E's output is one member, method 1, flags
// 0x0300000D (Unix, stdin to stdout, Adler-32 of each block's data).
//
// # What is verified
//
// Every checksum the stream carries: the header's, the extra field's, and
// the Adler-32 and CRC-32 of each block's uncompressed and compressed data
// when present. The LZO1X decoder bounds-checks every read and write, and a
// block must decode to exactly its stated length with nothing left over.
// Lengths beyond lzop's limits, or beyond what LZO1X can encode in the bytes
// given, are rejected before any buffer is sized for them. After a
// terminator only another member or the end of the stream may follow.
//
// Methods other than LZO1X, lzop's filters, and flags lzop reserves are
// rejected: WAL-E never writes them.
//
// Failures are *problem.Error values: kind problem.Corrupt for damage or
// unsupported features, with a *CorruptError cause giving the offset of the
// bad header or block; kind problem.Truncated when the stream ends early,
// with a *TruncatedError cause. Errors of the underlying reader are returned
// unchanged.
//
// # Decoding on several cores
//
// Blocks are independent, so ParallelReader decodes several at once: one
// goroutine parses the container in order with Reader's own code, workers
// verify and decode the blocks, and the output comes back in stream order,
// with the same errors as Reader's, each after the output of every block
// before it. It holds at most 2*workers+1 blocks, reusing their buffers.
// Close stops its goroutines; it waits for a Read of the source in
// progress, so cancel a blocking source first.
package lzop
