package wale

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"pgrescue/format/lzop"
	"pgrescue/format/tarx"
	"pgrescue/gpg"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// staging is how far the download reads ahead of decryption: count chunks
// of size bytes. Decryption and lzop parsing then share a goroutine, and
// lzop's decoders run ahead of the consumer by their own window of blocks.
type staging struct {
	size, count int
	// streams is how many objects are decoded at once: their lzop
	// decoders share the cores (0: one).
	streams int
}

var (
	// partitionStaging: two 512 KiB chunks. Four 1 MiB ones cost more
	// peak RSS for no measurable speed (512 MB archive, alternating runs:
	// 555-570 against 555-656 MB/s with one worker, 622-731 against
	// 613-685 with two).
	partitionStaging = staging{size: 512 << 10, count: 2}
	// segmentStaging: a WAL segment is at most a few MiB stored, fetched
	// by a fresh process per segment: two 256 KiB chunks.
	segmentStaging = staging{size: 256 << 10, count: 2}
)

// sniffBufferSize buffers the first bytes of an object, which tell an
// encrypted object from a compressed one.
const sniffBufferSize = 64 << 10

// decoders is how many lzop blocks each stream decodes at once: the cores
// shared among the streams decoded together, so that one partition keeps
// every core busy, and two partitions on two cores do not run four
// decoders that only compete (measured: 2.65 s for two partitions at once
// against 2.34 s for the same data as one, before the cores were shared).
func (st staging) decoders() int {
	return max(1, runtime.GOMAXPROCS(0)/max(1, st.streams))
}

// decoded is the plaintext of one archived object and what to close.
type decoded struct {
	io.Reader
	body     *s3store.Body
	cancel   context.CancelFunc // stops the download's read in progress
	download *readAhead
	lzop     *lzop.ParallelReader // nil until the object was recognised
}

// Close stops the pipeline from the network up and waits for its
// goroutines, and only then closes the body: a Body is read by one
// goroutine at a time, and closing it under a stage still reading it
// crashed pgrescue (a nil connection) when decryption failed early. The
// download's buffers go back to the pool once lzop's parser, which reads
// it, has returned.
func (d *decoded) Close() error {
	d.cancel()
	d.download.stopFilling() // its Read now answers at once
	if d.lzop != nil {
		d.lzop.Close()
	}
	d.download.Close()
	return d.body.Close()
}

// open streams an object through GET, OpenPGP (when encrypted: WAL-E leaves
// no marker, so the first bytes decide) and lzop: the download reads ahead
// on its own goroutine, decryption and lzop parsing share one, and lzop's
// decoders have theirs.
func (a *Archive) open(ctx context.Context, key string, st staging) (*decoded, error) {
	uri := a.Store.URI(key)
	ctx, cancel := context.WithCancel(ctx)
	body, err := a.Store.Get(ctx, key)
	if err != nil {
		cancel()
		return nil, err
	}
	d := &decoded{body: body, cancel: cancel, download: newReadAhead(body, st.size, st.count)}
	head := bufio.NewReaderSize(d.download, sniffBufferSize)
	prefix, err := head.Peek(16)
	if err != nil && !errors.Is(err, io.EOF) {
		d.Close()
		return nil, annotate(err, uri)
	}
	var compressed io.Reader = head
	switch {
	case lzop.IsLzop(prefix):
	case gpg.IsEncrypted(prefix):
		plain, err := a.Keys.Decrypt(head, uri)
		if err != nil {
			d.Close()
			return nil, annotate(err, uri)
		}
		// Decrypted on the goroutine that parses the lzop container for
		// the decoders: a read-ahead stage between them would only add a
		// copy and memory.
		compressed = plain
	default:
		d.Close()
		return nil, problem.New(problem.Corrupt, uri,
			fmt.Sprintf("the object is neither lzop-compressed nor OpenPGP-encrypted (first bytes % x)", prefix),
			"check that WALE_S3_PREFIX points at a WAL-E archive; if only this object is damaged, choose another backup")
	}
	// The decoders run ahead of the consumer by up to their window of
	// blocks: no read-ahead stage is needed after them either.
	d.lzop = lzop.NewParallelReader(compressed, st.decoders())
	d.Reader = &annotatingReader{r: d.lzop, uri: uri}
	return d, nil
}

// annotatingReader names the object in errors from the stages below it.
type annotatingReader struct {
	r   io.Reader
	uri string
}

func (a *annotatingReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = annotate(err, a.uri)
	}
	return n, err
}

// annotate gives a decoding error its object and next step.
func annotate(err error, uri string) error {
	var pe *problem.Error
	if !errors.As(err, &pe) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return problem.Wrap(err, problem.Truncated, uri, "the object ended early", "fetch again; if it repeats, the object is damaged in the archive")
		}
		return problem.Wrap(err, problem.Unknown, uri, "reading the object failed", "fetch again; if it repeats, report it with this message")
	}
	if pe.Subject != "" && pe.Next != "" {
		return err
	}
	c := *pe
	if c.Subject == "" {
		c.Subject = uri
	}
	if c.Next == "" {
		switch c.Kind {
		case problem.Corrupt:
			c.Next = "the object is damaged in the archive: for a base backup choose another one (`pgrescue backup-list`); for WAL, recovery can only reach the segment before this one"
		case problem.Truncated:
			c.Next = "fetch again; if it repeats, the object was cut short when it was archived"
		default:
			c.Next = "fetch again; if it repeats, report it with this message"
		}
	}
	return &c
}

// Buffer is memory a stream holds by design, for accounting.
type Buffer struct {
	Name  string
	Bytes int
}

// PartitionBuffers is the memory one of workers backup-fetch workers holds
// while it streams a partition, stage by stage, beside the garbage
// collector's headroom.
func PartitionBuffers(workers int) []Buffer {
	st := partitionStaging
	st.streams = workers
	window := lzop.ParallelWindow(st.decoders())
	return []Buffer{
		{fmt.Sprintf("download read-ahead (%d × %d KiB)", st.count, st.size>>10), st.count * st.size},
		{"first bytes, to tell OpenPGP from lzop", sniffBufferSize},
		{"decryption (source buffer, two batches)", gpg.StreamBuffers()},
		{fmt.Sprintf("lzop blocks in flight (%d × 256 KiB stored and decoded)", window), window * 2 * lzop.BlockSize},
		{"tar extraction copy buffer", tarx.CopyBufferSize},
	}
}
