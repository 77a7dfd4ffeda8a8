package s3test_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/storage/s3store"
)

func newStore(t *testing.T, srv *s3test.Server, bucket string) *s3store.Store {
	t.Helper()
	st, err := s3store.New(context.Background(), s3store.Location{Bucket: bucket}, srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func listAll(t *testing.T, st *s3store.Store, prefix string) []s3store.Object {
	t.Helper()
	var got []s3store.Object
	err := st.List(context.Background(), prefix, func(o s3store.Object) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// The WAL-E fixture, loaded through LoadFixture, lists with the exact keys,
// sizes and millisecond LastModified of objects.tsv, and every GET returns
// the fixture file byte for byte.
func TestLoadFixtureListsAndServesExactObjects(t *testing.T) {
	srv := s3test.Start(t)
	bucket, want := srv.LoadFixture(t, "wale-pg15")
	st := newStore(t, srv, bucket)

	got := listAll(t, st, "")
	if len(got) != len(want) {
		t.Fatalf("listed %d objects, objects.tsv has %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.Key || g.Size != w.Size || !g.LastModified.Equal(w.LastModified) {
			t.Errorf("object %d: listed %s %d %s, want %s %d %s", i,
				g.Key, g.Size, g.LastModified.Format(time.RFC3339Nano),
				w.Key, w.Size, w.LastModified.Format(time.RFC3339Nano))
		}
	}

	root := s3test.FixturePath(t, "wale-pg15", "s3", bucket)
	for _, w := range want {
		data, err := st.GetBytes(context.Background(), w.Key, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(w.Key)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, file) {
			t.Errorf("%s: GET returned %d bytes differing from the fixture file (%d bytes)", w.Key, len(data), len(file))
		}
	}
}

// Put's LastModified survives whole seconds and sub-millisecond parts as S3
// would show them (truncated to the millisecond), and the content type is kept.
func TestPutSetsLastModifiedAndContentType(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "b")
	times := map[string]time.Time{
		"whole-second": time.Date(2019, 5, 3, 6, 21, 4, 0, time.UTC),
		"tenth":        time.Date(2019, 5, 3, 6, 21, 4, 100_000_000, time.UTC),
		"sub-milli":    time.Date(2019, 5, 3, 6, 21, 4, 123_456_789, time.UTC),
	}
	for key, at := range times {
		srv.Put(t, "b", key, []byte(key), "application/json", at)
	}
	st := newStore(t, srv, "b")
	for _, o := range listAll(t, st, "") {
		if want := times[o.Key].Truncate(time.Millisecond); !o.LastModified.Equal(want) {
			t.Errorf("%s: LastModified %s, want %s", o.Key, o.LastModified.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	}
	resp, err := http.Get(srv.URL + "/b/tenth")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "Fri, 03 May 2019 06:21:04 GMT" {
		t.Errorf("Last-Modified %q", lm)
	}
}

// A fault applies to the requests it matches, as many times as asked, and
// the log shows it.
func TestFaultsApplyToMatchingRequestsOnly(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "b")
	srv.Put(t, "b", "dir/wanted", []byte("hello"), "", time.Now())
	srv.Put(t, "b", "dir/other", []byte("world"), "", time.Now())
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: "wanted", Times: 2},
		s3test.Respond(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.", "Retry-After", "1"))

	statuses := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	got := []int{statuses("/b/dir/other"), statuses("/b/dir/wanted"), statuses("/b/dir/wanted"), statuses("/b/dir/wanted")}
	want := []int{200, 503, 503, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if n := srv.Faults().Unused(); n != 0 {
		t.Errorf("%d faults unused", n)
	}
	log := srv.Requests()
	if len(log) != 4 || log[1].Fault == "" || log[0].Fault != "" || log[1].Key != "dir/wanted" || log[1].Status != 503 {
		t.Errorf("request log %+v", log)
	}
}

// gofakes3 ignores If-Match on GET; the server adds S3's 412.
func TestGetWithStaleIfMatchIsRefused(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "b")
	srv.Put(t, "b", "k", []byte("v1"), "", time.Now())
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/b/k", nil)
	req.Header.Set("If-Match", `"0123456789abcdef0123456789abcdef"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("status %d, want 412", resp.StatusCode)
	}
}
