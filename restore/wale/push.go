package wale

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"pgrescue/format/lzop"
	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// encode compresses src with lzop and, when the archive has a recipient,
// encrypts it as WAL-E's `lzop -c | gpg -e -z 0 -r KEY`, into a temporary
// file: WAL-E PUTs whole objects whose length is known, never multipart.
// The caller removes the file.
func (a *Archive) encode(src io.Reader, mode uint32, mtime time.Time) (*os.File, error) {
	tmp, err := os.CreateTemp("", "pgrescue-push-*.lzo")
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, os.TempDir(), "cannot create a temporary file for the upload",
			"free space in the temporary directory, or point TMPDIR at one with room")
	}
	if err := a.encodeTo(tmp, src, mode, mtime); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

func (a *Archive) encodeTo(dst io.Writer, src io.Reader, mode uint32, mtime time.Time) error {
	w, err := a.encoder(dst, mode, mtime)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	return w.Close()
}

// encoder returns a writer that compresses (and encrypts) into dst; its
// Close ends the lzop stream and the OpenPGP message, not dst.
func (a *Archive) encoder(dst io.Writer, mode uint32, mtime time.Time) (io.WriteCloser, error) {
	var encrypted io.WriteCloser = nopCloser{dst}
	if a.Recipient != nil {
		var err error
		if encrypted, err = a.Recipient.Encrypt(dst); err != nil {
			return nil, err
		}
	}
	return &chain{z: lzop.NewWriter(encrypted, lzop.WriterOptions{Mode: mode, ModTime: mtime}), then: encrypted}, nil
}

// chain is lzop in front of the encryption: closing it closes both, in order.
type chain struct {
	z    *lzop.Writer
	then io.WriteCloser
}

func (c *chain) Write(p []byte) (int, error) { return c.z.Write(p) }

func (c *chain) Close() error {
	if err := c.z.Close(); err != nil {
		return err
	}
	return c.then.Close()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// WALPushResult says what wal-push stored.
type WALPushResult struct {
	Name   string
	Key    string
	Size   int64 // the file's size
	Stored int64 // the object's size
}

// PushWAL archives one file PostgreSQL's archive_command hands over
// (segment, .history, .backup, .partial) as WAL-E's wal-push does:
// wal_005/<name>.lzo, lzop-compressed and, with a recipient, encrypted.
// archive_command must only succeed once the object is stored, so any
// failure is returned and PostgreSQL keeps the file and retries.
func (a *Archive) PushWAL(ctx context.Context, path string) (*WALPushResult, error) {
	name := filepath.Base(path)
	if _, _, ok := ClassifyWAL(name); !ok {
		return nil, problem.New(problem.Usage, path, "this is not a file PostgreSQL archives (a WAL segment, .history, .backup or .partial)",
			"archive_command passes %p, the path of the file to archive")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read the WAL file to archive", "check archive_command passes %p and runs as the server's user")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read the WAL file to archive", "check its permissions")
	}
	tmp, err := a.encode(f, 0o100000|uint32(st.Mode().Perm()), st.ModTime())
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	key := a.Layout.WALKey(name)
	if err := a.Store.PutFile(ctx, key, tmp, ""); err != nil {
		return nil, err
	}
	stored, _ := tmp.Seek(0, io.SeekEnd)
	return &WALPushResult{Name: name, Key: key, Size: st.Size(), Stored: stored}, nil
}

// WALPushCommands describes a wal-push as the pipeline WAL-E runs.
func (a *Archive) WALPushCommands(path string) []shellcmd.Command {
	pipe := "lzop -c < " + shellcmd.Quote(path)
	if a.Recipient != nil {
		pipe += fmt.Sprintf(" | gpg -e -z 0 -r %016X", a.Recipient.KeyID())
	}
	return []shellcmd.Command{{Why: "compress (and encrypt) the file, then store it whole",
		Line: pipe + " | aws s3 cp --sse AES256 - " + shellcmd.Quote(a.Store.URI(a.Layout.WALKey(filepath.Base(path))))}}
}
