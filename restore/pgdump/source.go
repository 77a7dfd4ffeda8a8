package pgdump

import (
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// Source is a place that keeps an autopostgresqlbackup tree: the primary's
// mount point, the backup machine (over ssh) or a duplicity archive.
type Source interface {
	// String names the source as the engineer gave it.
	String() string
	// List returns every file of the tree, paths relative to its root.
	List(ctx context.Context) ([]Entry, error)
	// Open streams one file of the tree.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// FetchCommand is the shell command that writes the file to stdout,
	// for plans and dry runs.
	FetchCommand(path string) string
}

// DefaultDir is where autopostgresqlbackup writes on the primary (GOV.UK
// mounts a dedicated volume there).
const DefaultDir = "/var/lib/autopostgresqlbackup"

// Dir is a local tree: the primary's mount point, or a copy of it.
type Dir struct{ Root string }

func (d Dir) String() string { return d.Root }

// List reads the tree's names, sizes and times.
func (d Dir) List(context.Context) ([]Entry, error) {
	entries, err := ScanDir(d.Root)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, d.Root, "cannot read the dump directory",
			"check the path (the primary's mount point is "+DefaultDir+") and its permissions")
	}
	return entries, nil
}

// Open opens one file of the tree.
func (d Dir) Open(_ context.Context, path string) (io.ReadCloser, error) {
	full := filepath.Join(d.Root, filepath.FromSlash(path))
	f, err := os.Open(full)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, full, "cannot open the dump", "check the file's permissions (autopostgresqlbackup writes mode 600: run as root or the backup's owner)")
	}
	return f, nil
}

func (d Dir) FetchCommand(path string) string {
	return "cat " + shellcmd.Quote(filepath.Join(d.Root, filepath.FromSlash(path)))
}

// ParseSource reads a --source: a directory, ssh://[user@]host[:port]/path
// for the backup machine, or a duplicity URL (file://, s3://, boto3+s3://,
// and the others duplicity knows).
func ParseSource(s string, opts SourceOptions) (Source, error) {
	switch {
	case s == "":
		return Dir{Root: DefaultDir}, nil
	case strings.HasPrefix(s, "ssh://"):
		return parseSSH(s, opts)
	case strings.Contains(s, "://"):
		return newDuplicity(s, opts)
	}
	return Dir{Root: s}, nil
}

// SourceOptions are the settings a remote source needs.
type SourceOptions struct {
	SSHProgram       string // "ssh" unless set (tests use their own config)
	SSHOptions       []string
	DuplicityProgram string   // "duplicity" unless set
	Passphrase       string   // duplicity's PASSPHRASE: passed in its environment only
	TempDir          string   // duplicity's --tempdir
	DuplicityEnv     []string // more environment for duplicity (AWS_*, GNUPGHOME)
	DuplicityOptions []string // more options, e.g. --s3-endpoint-url URL or --archive-dir DIR
	Progress         func(string)
}

// counter counts the bytes read through it, for progress.
type counter struct {
	r io.Reader
	n atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// decompressed is a dump's SQL, read through its decompressor (and
// openssl, for an .enc file) from the source's stream.
type decompressed struct {
	io.Reader
	closers []func() error
	read    *counter // compressed bytes taken from the source
}

func (d *decompressed) Close() error {
	var first error
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// openSQL opens a dump's SQL: fetch, decrypt (with smimeKey), decompress.
func openSQL(ctx context.Context, src Source, d Dump, smimeKey string) (*decompressed, error) {
	if d.Encrypted && smimeKey == "" {
		return nil, encryptedDump(d)
	}
	raw, err := openEntry(ctx, src, d.Path)
	if err != nil {
		return nil, err
	}
	out := &decompressed{read: &counter{r: raw}, closers: []func() error{raw.Close}}
	var r io.Reader = out.read
	if d.Encrypted {
		dec, err := smimeDecrypt(ctx, r, smimeKey)
		if err != nil {
			out.Close()
			return nil, err
		}
		r = dec
		out.closers = append(out.closers, dec.Close)
	}
	r, err = decompress(r, d.Compression)
	if err != nil {
		out.Close()
		if d.Encrypted && !errors.Is(err, io.ErrUnexpectedEOF) {
			// openssl hands out noise for a key that is not the
			// recipient's rather than failing: the noise is no gzip.
			return nil, problem.Wrap(err, problem.WrongKey, smimeKey, "the dump decrypted with this key is not "+string(d.Compression)+" data: the key is most likely not the one the dump was encrypted to",
				"give the private key of autopostgresqlbackup's ENCRYPTION_PUBLIC_KEY certificate")
		}
		return nil, corruptDump(d, err)
	}
	out.Reader = r
	return out, nil
}

// decompress reads autopostgresqlbackup's COMP: gzip, bzip2 or xz.
func decompress(r io.Reader, c Compression) (io.Reader, error) {
	switch c {
	case Gzip:
		return gzip.NewReader(r)
	case Bzip2:
		return bzip2.NewReader(r), nil
	case XZ:
		return xz.NewReader(r)
	}
	return r, nil
}

func encryptedDump(d Dump) error {
	return problem.New(problem.KeyMissing, d.Path, "the dump is encrypted with openssl smime (autopostgresqlbackup's ENCRYPTION=yes)",
		"give the private key of the certificate it was encrypted to with --smime-key FILE, or decrypt it yourself: openssl smime -decrypt -binary -inform DEM -inkey KEY -in "+filepath.Base(d.Path)+" -out "+strings.TrimSuffix(filepath.Base(d.Path), ".enc"))
}

// corruptDump explains a dump whose compressed data cannot be read.
func corruptDump(d Dump, err error) error {
	kind, summary := problem.Corrupt, "the dump's "+string(d.Compression)+" data is damaged"
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		kind, summary = problem.Truncated, "the dump ends early: the file is truncated (a copy cut short, or a disk that filled during the backup)"
	}
	return problem.Wrap(err, kind, d.Path, summary, "choose an earlier dump (pgrescue dump-list), or another copy of this one (the backup machine keeps one, S3 may too)")
}

// smimeDecrypt runs openssl, the tool whose format .enc is, as a filter.
// Its output ends with an error when openssl fails (a wrong key), never
// with a quiet end of file.
func smimeDecrypt(ctx context.Context, in io.Reader, key string) (io.ReadCloser, error) {
	if _, err := os.Stat(key); err != nil {
		return nil, problem.Wrap(err, problem.KeyMissing, key, "cannot read the --smime-key file", "give the private key (PEM) of the certificate the dumps were encrypted to")
	}
	cmd := exec.CommandContext(ctx, "openssl", "smime", "-decrypt", "-binary", "-inform", "DEM", "-inkey", key)
	cmd.Stdin = in
	stderr := &tail{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, problem.Wrap(err, problem.Config, "openssl", "cannot run openssl to decrypt the dump", "install openssl")
	}
	return &commandReader{r: out, wait: func() error {
		if err := cmd.Wait(); err != nil {
			e := problem.Wrap(err, problem.WrongKey, key, "openssl could not decrypt the dump with this key", "give the private key of the certificate the dumps were encrypted to (autopostgresqlbackup's ENCRYPTION_PUBLIC_KEY)")
			e.Detail = strings.TrimSpace(stderr.String())
			return e
		}
		return nil
	}}, nil
}
