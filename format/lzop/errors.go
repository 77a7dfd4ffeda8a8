package lzop

import (
	"fmt"

	"pgrescue/problem"
)

// CorruptError is the cause inside a problem.Error of kind problem.Corrupt:
// where the damaged header or block starts in the compressed stream and what
// check failed. Callers that want the offset use errors.As.
type CorruptError struct {
	Offset int64  // byte offset in the compressed stream of the bad header or block
	Reason string // what failed, e.g. "Adler-32 of uncompressed data is 0x…, expected 0x…"
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("lzop data at offset %d: %s", e.Offset, e.Reason)
}

// TruncatedError is the cause inside a problem.Error of kind
// problem.Truncated: the stream ended inside a header or block, or before the
// terminator that closes a member.
type TruncatedError struct {
	Offset int64  // byte offset in the compressed stream of the unfinished header or block
	End    int64  // number of bytes the stream held
	Reason string // what was still to come, e.g. "the block's compressed data"
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("lzop data at offset %d: stream ends at offset %d, before %s", e.Offset, e.End, e.Reason)
}

// Details appended to summaries. problem.Error prints Detail instead of the
// cause, so the cause's text (which repeats the summary) is not shown twice.
const (
	detailDamaged     = "the compressed object fails lzop's own consistency checks, so it was damaged after lzop wrote it"
	detailUnsupported = "WAL-E writes plain `lzop -c` output (LZO1X, no filter); this object uses an lzop feature pgrescue does not decode"
	detailTruncated   = "the object is shorter than its lzop framing says, so the download or the upload was cut short"
	detailNotLzop     = "an lzop stream starts with 89 4c 5a 4f 00 0d 0a 1a 0a"
)

func newCorrupt(offset int64, where, reason, detail string) error {
	return &problem.Error{
		Kind:    problem.Corrupt,
		Summary: where + ": " + reason,
		Detail:  detail,
		Err:     &CorruptError{Offset: offset, Reason: reason},
	}
}

func newTruncated(offset, end int64, where, reason string) error {
	return &problem.Error{
		Kind:    problem.Truncated,
		Summary: fmt.Sprintf("%s: stream ends at offset %d, before %s", where, end, reason),
		Detail:  detailTruncated,
		Err:     &TruncatedError{Offset: offset, End: end, Reason: reason},
	}
}

// notLzop reports a stream whose first bytes are not the lzop magic, showing
// up to 8 of them so a person can recognise what the object really is
// (gzip 1f 8b, an OpenPGP packet, an HTML error page...).
func notLzop(first []byte) error {
	shown := first[:min(len(first), 8)]
	reason := fmt.Sprintf("first bytes: % x", shown)
	return &problem.Error{
		Kind:    problem.Corrupt,
		Summary: "not an lzop stream (" + reason + ")",
		Detail:  detailNotLzop,
		Err:     &CorruptError{Offset: 0, Reason: "not an lzop stream (" + reason + ")"},
	}
}
