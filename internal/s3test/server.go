// Package s3test runs a real S3-compatible server (gofakes3 with its
// in-memory backend) on 127.0.0.1 for tests, with a fault injector in front
// of it and a log of the requests it saw. Tests talk to it over HTTP through
// the AWS SDK exactly as pgrescue talks to S3:
//
//	srv := s3test.Start(t)
//	bucket, _ := srv.LoadFixture(t, "wale-pg15") // testdata/wale-pg15
//	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: "wal_005/", Times: 2},
//		s3test.Respond(503, "SlowDown", "Please reduce your request rate."))
//	st, err := s3store.New(ctx, s3store.Location{Bucket: bucket, Prefix: "pg15-primary/"}, srv.Options())
//
// Unlike plain gofakes3 it answers a GET or HEAD whose If-Match names an
// outdated ETag with 412 PreconditionFailed, as S3 does.
package s3test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"pgrescue/storage/s3store"
)

// Static test credentials. gofakes3 does not check signatures; these only
// have to look like AWS keys so that messages mask them realistically.
const (
	AccessKeyID     = "AKIAS3TESTKEY0WXYZ"
	SecretAccessKey = "s3test-secret-never-printed"
	Region          = "us-east-1"
)

// Server is a running fake S3. URL is like http://127.0.0.1:PORT.
type Server struct {
	URL string

	backend *s3mem.Backend
	fake    http.Handler // gofakes3 itself, without faults or logging
	clock   *clock
	faults  *Faults
	log     *requestLog
	putMu   sync.Mutex // serialises Put so each object gets its own LastModified
}

// Start runs a server on a random port of 127.0.0.1; t.Cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	stopping, stop := context.WithCancel(context.Background())
	s := &Server{clock: &clock{}, faults: &Faults{stopping: stopping}, log: &requestLog{}}
	s.backend = s3mem.New(s3mem.WithTimeSource(s.clock))
	s.fake = gofakes3.New(s.backend,
		gofakes3.WithTimeSource(s.clock),
		// Objects carry fixture dates (2026-11-25…), and the skew check
		// compares the request's signing time with that same clock.
		gofakes3.WithTimeSkewLimit(0),
	).Server()

	var h http.Handler = s.fake
	h = ifMatchOnRead{backend: s.backend, next: h}
	h = s.faults.wrap(h)
	h = s.log.wrap(h)
	ts := httptest.NewUnstartedServer(h)
	// Hijacked and aborted connections make net/http log; that is the point
	// of the faults, not news.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	s.URL = ts.URL
	t.Cleanup(func() {
		stop() // releases stalled handlers, which Close waits for
		ts.Close()
	})
	return s
}

// Options are s3store options for this server: static test credentials,
// path-style endpoint, and millisecond backoffs so retry tests stay fast.
func (s *Server) Options() s3store.Options {
	return s3store.Options{
		Region:          Region,
		Endpoint:        "http+path://" + strings.TrimPrefix(s.URL, "http://"),
		AccessKeyID:     AccessKeyID,
		SecretAccessKey: SecretAccessKey,
		MaxAttempts:     3,
		MaxBackoff:      5 * time.Millisecond,
		IdleTimeout:     2 * time.Second,
	}
}

// AWSOptions are options for AWS S3 itself (no endpoint; region as given)
// whose HTTP client delivers every request to this server instead, turning
// AWS's virtual-hosted addressing (BUCKET.s3.REGION.amazonaws.com/KEY) into
// the path style gofakes3 serves. Request.Host shows the host the SDK chose.
// It has no response-header timeout, unlike s3store's default client.
func (s *Server) AWSOptions(region string) s3store.Options {
	o := s.Options()
	o.Endpoint = ""
	o.Region = region
	o.HTTPClient = &http.Client{Transport: awsToLocal{addr: strings.TrimPrefix(s.URL, "http://")}}
	return o
}

// awsToLocal sends requests meant for AWS S3 to the local server.
type awsToLocal struct{ addr string }

func (a awsToLocal) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	host := r.URL.Hostname()
	if bucket, _, virtualHosted := strings.Cut(host, ".s3."); virtualHosted && bucket != "" {
		r.URL.Path = "/" + bucket + r.URL.Path
		if r.URL.RawPath != "" {
			r.URL.RawPath = "/" + url.PathEscape(bucket) + r.URL.RawPath
		}
	}
	r.Host = r.URL.Host
	r.URL.Scheme, r.URL.Host = "http", a.addr
	return http.DefaultTransport.RoundTrip(r)
}

// Faults is the fault injector in front of the server.
func (s *Server) Faults() *Faults { return s.faults }

// Requests returns the requests seen so far, oldest first.
func (s *Server) Requests() []Request { return s.log.snapshot() }

// ResetRequests forgets the requests seen so far.
func (s *Server) ResetRequests() { s.log.reset() }

// CreateBucket creates an empty bucket.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

func (s *Server) bucketExists(name string) bool {
	ok, err := s.backend.BucketExists(name)
	return err == nil && ok
}

// Put stores an object (replacing any previous one) whose LastModified, in
// listings, is lastModified to the millisecond (HTTP headers carry whole
// seconds). It goes straight to gofakes3, bypassing faults and the log.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte, contentType string, lastModified time.Time) {
	t.Helper()
	s.putMu.Lock()
	defer s.putMu.Unlock()
	s.clock.pin(lastModified)
	defer s.clock.unpin()

	req := httptest.NewRequest(http.MethodPut, "/", bytes.NewReader(data))
	req.URL = &url.URL{Path: "/" + bucket + "/" + key}
	req.Header.Set("Content-Length", strconv.Itoa(len(data)))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.fake.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("s3test: put s3://%s/%s: HTTP %d: %s", bucket, key, rec.Code, rec.Body.String())
	}
}

// clock is gofakes3's time source: real time, except while Put pins it to
// the LastModified wanted for the object being stored.
type clock struct {
	mu     sync.Mutex
	pinned time.Time
}

func (c *clock) pin(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pinned = t.UTC()
}

func (c *clock) unpin() { c.pin(time.Time{}) }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pinned.IsZero() {
		return c.pinned
	}
	return time.Now().UTC()
}

func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Delete removes an object, as if it had never been archived (a gap in a
// WAL archive, say). It bypasses faults and the log.
func (s *Server) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.backend.DeleteObject(bucket, key); err != nil {
		t.Fatalf("s3test: delete s3://%s/%s: %v", bucket, key, err)
	}
}

// StoredObject is an object as the server holds it.
type StoredObject struct {
	Key         string
	Data        []byte
	ContentType string
}

// Objects returns every object of a bucket, in key order, to check what a
// writer stored. It bypasses faults and the log.
func (s *Server) Objects(t testing.TB, bucket string) []StoredObject {
	t.Helper()
	list, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("s3test: list s3://%s: %v", bucket, err)
	}
	var objects []StoredObject
	for _, c := range list.Contents {
		obj, err := s.backend.GetObject(bucket, c.Key, nil)
		if err != nil {
			t.Fatalf("s3test: get s3://%s/%s: %v", bucket, c.Key, err)
		}
		data, err := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		if err != nil {
			t.Fatalf("s3test: read s3://%s/%s: %v", bucket, c.Key, err)
		}
		objects = append(objects, StoredObject{Key: c.Key, Data: data, ContentType: obj.Metadata["Content-Type"]})
	}
	return objects
}
