package wale

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// WALFetchResult describes one fetched WAL file.
type WALFetchResult struct {
	Name  string
	Key   string
	Dest  string
	Bytes int64
}

// FetchWAL restores one archived WAL file (segment, .history, .backup or
// .partial) to dest, atomically: PostgreSQL never sees a partial file. A
// missing object is a NotFound error, which restore_command must report as
// exit status 1 ("not in archive"): PostgreSQL asks for files beyond the end
// of the archive as a matter of course.
func (a *Archive) FetchWAL(ctx context.Context, name, dest string) (*WALFetchResult, error) {
	kind, seg, ok := ClassifyWAL(name)
	if !ok {
		return nil, problem.New(problem.Usage, name,
			"not a WAL file name PostgreSQL would ask for (a 24-hex-digit segment, TLI.history, SEG.OFFSET.backup or SEG.partial)",
			"use restore_command = 'pgrescue wal-fetch \"%f\" \"%p\"'")
	}
	key := a.Layout.WALKey(name)
	d, err := a.open(ctx, key, segmentStaging)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var check func(head []byte, n int64) error
	if kind == WALSegment {
		check = func(head []byte, n int64) error { return checkSegment(seg, head, n, a.Store.URI(key)) }
	}
	n, err := writeChecked(dest, d, check)
	if err != nil {
		return nil, err
	}
	return &WALFetchResult{Name: name, Key: key, Dest: dest, Bytes: n}, nil
}

// WriteAtomically writes r to a temporary file beside dest and renames it
// into place. No fsync: PostgreSQL reads the file at once and a crash during
// recovery simply asks for it again.
func WriteAtomically(dest string, r io.Reader) (int64, error) { return writeChecked(dest, r, nil) }

// writeChecked is WriteAtomically that lets check refuse the file, from its
// first bytes and its length, before it is renamed into place.
func writeChecked(dest string, r io.Reader, check func(head []byte, n int64) error) (int64, error) {
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".pgrescue-*")
	if err != nil {
		return 0, problem.Wrap(err, problem.LocalIO, dest, "cannot create a file beside the destination",
			"check that "+dir+" exists and is writable by the user running pgrescue (restore_command runs as the PostgreSQL server's user)")
	}
	head := &headRecorder{w: tmp, keep: segmentHeaderSize}
	n, err := io.Copy(head, r)
	if err == nil && check != nil {
		err = check(head.head, n)
	}
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		os.Remove(tmp.Name())
		if problem.KindOf(err) != problem.Unknown {
			return 0, err
		}
		return 0, problem.Wrap(err, problem.LocalIO, dest, "cannot write the WAL file", "check free space and permissions of "+dir)
	}
	return n, nil
}

// headRecorder passes writes through and keeps the first bytes written.
type headRecorder struct {
	w    io.Writer
	keep int
	head []byte
}

func (h *headRecorder) Write(p []byte) (int, error) {
	if missing := h.keep - len(h.head); missing > 0 {
		h.head = append(h.head, p[:min(missing, len(p))]...)
	}
	return h.w.Write(p)
}

// WALFetchCommands describes a wal-fetch as shell commands.
func (a *Archive) WALFetchCommands(name, dest string) []shellcmd.Command {
	return []shellcmd.Command{{
		Why: "download, decrypt and decompress one WAL file, then move it into place",
		Line: fmt.Sprintf("aws s3 cp %s - | gpg -d -q --batch | lzop -d -c > %s.tmp && mv %s.tmp %s",
			shellcmd.Quote(a.Store.URI(a.Layout.WALKey(name))), shellcmd.Quote(dest), shellcmd.Quote(dest), shellcmd.Quote(dest)),
	}}
}
