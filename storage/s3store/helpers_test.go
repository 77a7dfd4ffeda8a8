package s3store_test

import (
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

const testBucket = "wale-test"

// fixedTime is a LastModified for synthetic objects.
var fixedTime = time.Date(2026, 11, 25, 2, 52, 45, 531_000_000, time.UTC)

func newStore(t *testing.T, srv *s3test.Server, bucket string, tweaks ...func(*s3store.Options)) *s3store.Store {
	t.Helper()
	opts := srv.Options()
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	st, err := s3store.New(context.Background(), s3store.Location{Bucket: bucket, Prefix: "pg/"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// serverWithObject starts a server holding one object of n pseudo-random bytes.
func serverWithObject(t *testing.T, key string, n int) (*s3test.Server, []byte) {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, testBucket)
	data := randomBytes(n, 1)
	srv.Put(t, testBucket, key, data, "application/octet-stream", fixedTime)
	return srv, data
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// download reads an object whole through Get, in small reads as a
// decompressor would.
func download(ctx context.Context, st *s3store.Store, key string) ([]byte, *s3store.Body, error) {
	body, err := st.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	var out []byte
	buf := make([]byte, 16<<10)
	for {
		n, err := body.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, body, nil
		}
		if err != nil {
			return out, body, err
		}
	}
}

// assertProblem checks err is a problem of the kind wanted whose message
// mentions every part given.
func assertProblem(t *testing.T, err error, kind problem.Kind, parts ...string) {
	t.Helper()
	if !problem.Is(err, kind) {
		t.Fatalf("got %v (kind %s), want kind %s", err, problem.KindOf(err), kind)
	}
	msg := err.Error()
	for _, part := range parts {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q does not mention %q", msg, part)
		}
	}
	t.Logf("%s: %s", kind, msg)
}

// objectRequests are the logged requests for one object key.
func objectRequests(srv *s3test.Server, key string) []s3test.Request {
	var out []s3test.Request
	for _, r := range srv.Requests() {
		if r.Key == key {
			out = append(out, r)
		}
	}
	return out
}
