package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"pgrescue/problem"
)

// Body streams one object. When the connection breaks, stalls for
// IdleTimeout or ends before Content-Length, Read resumes where it stopped
// with a ranged GET that only succeeds if the object is still the same
// version (If-Match on its ETag), so a download is never spliced from two
// versions. All HTTP tries of one Body, first request included, share the
// MaxAttempts budget. Body is an io.ReadCloser for one goroutine; cancel the
// context given to Get to stop a Read in progress.
type Body struct {
	store *Store
	ctx   context.Context
	key   string
	uri   string

	size         int64 // Content-Length of the whole object, -1 if S3 sent none
	etag         string
	lastModified time.Time

	read     int64        // bytes handed to the caller
	progress atomic.Int64 // read, published for BytesRead from other goroutines (progress reports)
	attempts int          // HTTP tries so far, including the SDK's own retries
	resumes  int

	cur     *attempt
	pending error // a failure that came with data, handled on the next Read
	err     error // sticky: io.EOF or the final *problem.Error
	retry   atomic.Pointer[Retry]
}

// Retry is a download waiting to resume, for a progress line that says so
// instead of freezing at 0 B/s.
type Retry struct {
	Attempt, Of int    // the try about to be made, and the most there will be
	Why         string // what broke the last one
}

func (r Retry) String() string {
	return fmt.Sprintf("retrying (attempt %d of %d): %s", r.Attempt, r.Of, r.Why)
}

// Retrying is the resume under way, or nil when the download is flowing.
// It may be called from any goroutine.
func (b *Body) Retrying() *Retry { return b.retry.Load() }

// retryWhy says in a few words what broke a try.
func retryWhy(cause error, stalled bool, idle time.Duration) string {
	switch {
	case stalled:
		return fmt.Sprintf("no data for %s", idle)
	case cause == io.EOF || errors.Is(cause, io.ErrUnexpectedEOF):
		return "the connection ended early"
	case errors.Is(cause, syscall.ECONNREFUSED):
		return "the S3 endpoint refuses connections"
	case errors.Is(cause, syscall.ECONNRESET):
		return "the connection was reset"
	}
	why := cause.Error()
	if len(why) > 60 {
		why = why[:60] + "…"
	}
	return why
}

// attempt is one GetObject response being read. Its context is cancelled by
// the watchdog when a Read waits longer than IdleTimeout, which unblocks the
// read and marks the attempt as stalled.
type attempt struct {
	body     io.ReadCloser
	cancel   context.CancelFunc
	watchdog *time.Timer
	stalled  atomic.Bool
}

func newAttempt(body io.ReadCloser, cancel context.CancelFunc) *attempt {
	a := &attempt{body: body, cancel: cancel}
	a.watchdog = time.AfterFunc(time.Hour, func() {
		a.stalled.Store(true)
		cancel()
	})
	a.watchdog.Stop()
	return a
}

// read times only the wait inside Read: a caller that is slow to come back
// for more data is not the server stalling.
func (a *attempt) read(p []byte, idle time.Duration) (int, error) {
	a.watchdog.Reset(idle)
	n, err := a.body.Read(p)
	a.watchdog.Stop()
	return n, err
}

func (a *attempt) close() {
	a.watchdog.Stop()
	a.cancel()
	a.body.Close()
}

var errClosed = errors.New("s3store: read from a closed Body")

// Get starts downloading key (a full key). A missing object is a NotFound
// problem naming its s3:// URI.
func (s *Store) Get(ctx context.Context, key string) (*Body, error) {
	b := &Body{store: s, ctx: ctx, key: key, uri: s.URI(key), size: -1}
	if err := b.open(); err != nil {
		return nil, err
	}
	return b, nil
}

// Size is the object's length in bytes (-1 if the server did not say).
func (b *Body) Size() int64 { return b.size }

// BytesRead is how many bytes Read has returned so far.
func (b *Body) BytesRead() int64 { return b.progress.Load() }

// ETag is the object's ETag as S3 sent it, quotes included.
func (b *Body) ETag() string { return b.etag }

// LastModified is the object's Last-Modified header (whole seconds).
func (b *Body) LastModified() time.Time { return b.lastModified }

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			return 0, b.err
		}
		if b.size >= 0 && b.read >= b.size {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		if b.pending == nil {
			n, err := b.cur.read(p, b.store.opts.IdleTimeout)
			b.read += int64(n)
			b.progress.Store(b.read)
			if n > 0 {
				b.pending = err
				return n, nil
			}
			if err == nil {
				continue
			}
			b.pending = err
		}
		cause := b.pending
		b.pending = nil
		b.err = b.resume(cause)
	}
}

// Close releases the connection. It is safe to call more than once.
func (b *Body) Close() error {
	if b.cur != nil {
		b.cur.close()
		b.cur = nil
	}
	if b.err == nil {
		b.err = errClosed
	}
	return nil
}

// open sends a GetObject for the rest of the object, giving the SDK's
// retryer only the tries left in this Body's budget.
func (b *Body) open() error {
	limit := b.store.opts.MaxAttempts
	ctx, cancel := context.WithCancel(b.ctx)
	out, err := b.store.client.GetObject(ctx, b.request(), withMaxAttempts(limit-b.attempts))
	if err != nil {
		cancel()
		b.attempts = limit
		return b.explainOpenFailure(err)
	}
	b.attempts += attemptsMade(out.ResultMetadata)
	if err := b.accept(out); err != nil {
		out.Body.Close()
		cancel()
		return err
	}
	b.cur = newAttempt(out.Body, cancel)
	return nil
}

func (b *Body) request() *s3.GetObjectInput {
	in := &s3.GetObjectInput{Bucket: aws.String(b.store.loc.Bucket), Key: aws.String(b.key)}
	if b.resumes > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", b.read))
		if b.etag != "" {
			in.IfMatch = aws.String(b.etag)
		}
	}
	return in
}

func (b *Body) explainOpenFailure(err error) error {
	explained := b.store.explain(b.ctx, err, opGet, b.uri)
	if b.resumes > 0 && problem.Is(explained, problem.NotFound) {
		return objectChanged(err, b.uri, fmt.Sprintf("the object was deleted after %d of %d bytes were read", b.read, b.size))
	}
	return explained
}

// accept records the object's identity from the first response, and checks
// that a resumed response continues that same object at the right offset.
func (b *Body) accept(out *s3.GetObjectOutput) error {
	etag := aws.ToString(out.ETag)
	if b.resumes == 0 {
		b.size = -1
		if out.ContentLength != nil {
			b.size = *out.ContentLength
		}
		b.etag = etag
		b.lastModified = aws.ToTime(out.LastModified)
		return nil
	}
	if b.etag != "" && etag != "" && etag != b.etag {
		// A server that ignores If-Match would otherwise hand over the new version's tail.
		return objectChanged(nil, b.uri, fmt.Sprintf("its ETag went from %s to %s after %d of %d bytes were read", b.etag, etag, b.read, b.size))
	}
	start, total, ok := parseContentRange(aws.ToString(out.ContentRange))
	switch {
	case !ok:
		return b.rangeIgnored(aws.ToString(out.ContentRange))
	case b.size >= 0 && total != b.size:
		return objectChanged(nil, b.uri, fmt.Sprintf("its size went from %d to %d bytes", b.size, total))
	case start != b.read:
		return b.rangeIgnored(aws.ToString(out.ContentRange))
	}
	return nil
}

func (b *Body) rangeIgnored(contentRange string) error {
	return &problem.Error{
		Kind:    problem.Network,
		Subject: b.uri,
		Summary: "the download broke and the server did not resume it where asked",
		Detail:  fmt.Sprintf("asked for bytes %d- and got Content-Range %q", b.read, contentRange),
		Next:    "run again; if it recurs, the S3-compatible server does not support ranged GETs",
	}
}

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(s string) (start, total int64, ok bool) {
	var end int64
	if _, err := fmt.Sscanf(s, "bytes %d-%d/%d", &start, &end, &total); err != nil {
		return 0, 0, false
	}
	return start, total, true
}

// resume handles a failed read: the end of the object, cancellation, or a
// transient failure to retry from the current offset after a backoff. It
// reopens one HTTP try at a time with its own backoff, so that a server
// refusing connections for a few seconds (a restart) is waited for within
// MaxAttempts, as a 5xx is, instead of failing at once.
func (b *Body) resume(cause error) error {
	stalled := b.cur.stalled.Load()
	b.cur.close()
	b.cur = nil
	if cause == io.EOF && (b.size < 0 || b.read >= b.size) {
		return io.EOF
	}
	for {
		if b.ctx.Err() != nil {
			return b.store.explain(b.ctx, b.ctx.Err(), opGet, b.uri)
		}
		if b.attempts >= b.store.opts.MaxAttempts {
			return b.gaveUp(cause, stalled)
		}
		b.retry.Store(&Retry{Attempt: b.attempts + 1, Of: b.store.opts.MaxAttempts, Why: retryWhy(cause, stalled, b.store.opts.IdleTimeout)})
		if err := sleep(b.ctx, backoff(b.resumes+1, b.store.opts.MaxBackoff)); err != nil {
			return b.store.explain(b.ctx, err, opGet, b.uri)
		}
		b.resumes++
		again, err := b.reopen()
		if !again {
			if err == nil {
				b.retry.Store(nil) // flowing again
			}
			return err
		}
		cause, stalled = err, false
	}
}

// reopen sends one ranged GetObject for the rest of the object. again is
// true for a failure worth another try: a refused or broken connection, a
// 5xx, throttling (the SDK's own judgement of what is retryable).
func (b *Body) reopen() (again bool, err error) {
	ctx, cancel := context.WithCancel(b.ctx)
	out, err := b.store.client.GetObject(ctx, b.request(), withMaxAttempts(1))
	b.attempts++
	if err != nil {
		cancel()
		if b.ctx.Err() == nil && retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
			return true, err
		}
		return false, b.explainOpenFailure(err)
	}
	if err := b.accept(out); err != nil {
		out.Body.Close()
		cancel()
		return false, err
	}
	b.cur = newAttempt(out.Body, cancel)
	return false, nil
}

func (b *Body) gaveUp(cause error, stalled bool) error {
	endedEarly := cause == io.EOF || errors.Is(cause, io.ErrUnexpectedEOF)
	last := "failed with: " + cause.Error()
	switch {
	case stalled:
		last = fmt.Sprintf("received nothing for %s (the idle timeout)", b.store.opts.IdleTimeout)
	case endedEarly:
		last = "ended early"
	}
	e := &problem.Error{
		Kind:    problem.Network,
		Subject: b.uri,
		Summary: "the download kept failing",
		Detail:  fmt.Sprintf("received %d of %d bytes after %d attempts; the last attempt %s", b.read, b.size, b.attempts, last),
		Next:    "check this machine's network path to S3, then run again",
		Err:     cause,
	}
	if endedEarly && !stalled {
		e.Kind = problem.Truncated
		e.Summary = "the download ended before the object was complete"
		e.Next = "check for a proxy or firewall that cuts long downloads, then run again"
	}
	return e
}

// GetBytes reads a small object whole (a sentinel, extended_version.txt).
// An object over max bytes is refused rather than read into memory.
func (s *Store) GetBytes(ctx context.Context, key string, max int64) ([]byte, error) {
	b, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if b.Size() > max {
		return nil, tooLarge(b.uri, b.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(b, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(b.uri, int64(len(data)), max)
	}
	return data, nil
}

func tooLarge(uri string, size, max int64) error {
	return &problem.Error{
		Kind:    problem.Corrupt,
		Subject: uri,
		Summary: "the object is larger than such a file can be",
		Detail:  fmt.Sprintf("%d bytes, at most %d expected", size, max),
		Next:    "check WALE_S3_PREFIX points at a WAL-E archive and that this object was written by WAL-E",
	}
}
