package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// Listing follows ListObjectsV2 continuation tokens: 25 keys at 10 a page
// take three requests, and keys outside the prefix are not listed.
func TestListPaginates(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, testBucket)
	var want []string
	for i := range 25 {
		key := fmt.Sprintf("pg/wal_005/%024X.lzo", i)
		want = append(want, key)
		srv.Put(t, testBucket, key, []byte{byte(i)}, "", fixedTime.Add(time.Duration(i)*time.Second))
	}
	srv.Put(t, testBucket, "pg/basebackups_005/elsewhere", []byte("x"), "", fixedTime)
	srv.Put(t, testBucket, "other/wal_005/x.lzo", []byte("x"), "", fixedTime)
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.ListPageSize = 10 })

	var got []s3store.Object
	err := st.List(context.Background(), "pg/wal_005/", func(o s3store.Object) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d keys, want %d", len(got), len(want))
	}
	for i, o := range got {
		if o.Key != want[i] || o.Size != 1 || !o.LastModified.Equal(fixedTime.Add(time.Duration(i)*time.Second)) || o.ETag == "" {
			t.Errorf("object %d = %+v", i, o)
		}
	}
	var pages []string
	for _, r := range srv.Requests() {
		if r.IsListing() {
			pages = append(pages, r.Query)
		}
	}
	if len(pages) != 3 {
		t.Errorf("%d list requests, want 3: %q", len(pages), pages)
	}
}

// An error from the callback stops the listing and comes back unchanged.
func TestListStopsOnCallbackError(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, testBucket)
	for i := range 5 {
		srv.Put(t, testBucket, fmt.Sprintf("pg/%d", i), nil, "", fixedTime)
	}
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.ListPageSize = 2 })
	stop := errors.New("enough")
	calls := 0
	err := st.List(context.Background(), "pg/", func(s3store.Object) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("List returned %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// Every object of the WAL-E fixture downloads byte for byte, in small reads.
func TestGetFixtureObjectsExactly(t *testing.T) {
	srv := s3test.Start(t)
	bucket, objects := srv.LoadFixture(t, "wale-pg15")
	st := newStore(t, srv, bucket)
	root := s3test.FixturePath(t, "wale-pg15", "s3", bucket)
	for _, o := range objects {
		got, body, err := download(context.Background(), st, o.Key)
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(o.Key)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: downloaded %d bytes that differ from the fixture's %d", o.Key, len(got), len(want))
		}
		if body.Size() != o.Size || body.BytesRead() != o.Size || body.ETag() == "" ||
			!body.LastModified().Equal(o.LastModified.Truncate(time.Second)) {
			t.Errorf("%s: Size %d BytesRead %d ETag %q LastModified %s", o.Key, body.Size(), body.BytesRead(), body.ETag(), body.LastModified())
		}
	}
}

func TestGetEmptyObject(t *testing.T) {
	srv, _ := serverWithObject(t, "pg/empty", 0)
	st := newStore(t, srv, testBucket)
	got, body, err := download(context.Background(), st, "pg/empty")
	if err != nil || len(got) != 0 || body.Size() != 0 {
		t.Errorf("got %d bytes, size %d, err %v", len(got), body.Size(), err)
	}
}

func TestGetBytes(t *testing.T) {
	srv, data := serverWithObject(t, "pg/sentinel.json", 210)
	st := newStore(t, srv, testBucket)
	got, err := st.GetBytes(context.Background(), "pg/sentinel.json", 1024)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetBytes = %d bytes, %v", len(got), err)
	}
	_, err = st.GetBytes(context.Background(), "pg/sentinel.json", 100)
	assertProblem(t, err, problem.Corrupt, "s3://wale-test/pg/sentinel.json", "210 bytes, at most 100")
}

func TestLocationAndURI(t *testing.T) {
	srv := s3test.Start(t)
	st := newStore(t, srv, testBucket)
	if got := st.Location(); got != (s3store.Location{Bucket: testBucket, Prefix: "pg/"}) {
		t.Errorf("Location() = %+v", got)
	}
	if got := st.URI("pg/wal_005/x.lzo"); got != "s3://wale-test/pg/wal_005/x.lzo" {
		t.Errorf("URI = %q", got)
	}
	if got := st.Location().String(); got != "s3://wale-test/pg" {
		t.Errorf("String = %q", got)
	}
}
