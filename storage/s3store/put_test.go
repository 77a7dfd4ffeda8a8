package s3store_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"testing"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
)

// TestPutThenGet: what Put stores, Get returns, with its content type; a
// transient 500 is retried from the start of the body.
func TestPutThenGet(t *testing.T) {
	srv, _ := serverWithObject(t, "other", 1)
	st := newStore(t, srv, testBucket)
	data := bytes.Repeat([]byte("wal-e "), 100000)
	srv.Faults().Inject(s3test.Match{Method: http.MethodPut, KeyContains: "wal_005", Times: 1}, s3test.Respond(500, "InternalError", "try again"))
	key := "pg/wal_005/000000010000000000000012.lzo"
	if err := st.PutBytes(context.Background(), key, data, ""); err != nil {
		t.Fatal(err)
	}
	got, _, err := download(context.Background(), st, key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes back, err %v", len(got), err)
	}
	f, _ := os.CreateTemp(t.TempDir(), "part")
	f.Write(data[:1000])
	if err := st.PutFile(context.Background(), "pg/x.json", f, "application/json"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := download(context.Background(), st, "pg/x.json"); !bytes.Equal(got, data[:1000]) {
		t.Error("PutFile stored something else")
	}
}

func TestPutDeniedNamesThePermission(t *testing.T) {
	srv, _ := serverWithObject(t, "other", 1)
	st := newStore(t, srv, testBucket)
	srv.Faults().Inject(s3test.Match{Method: http.MethodPut, Times: s3test.Always}, s3test.Respond(403, "AccessDenied", "Access Denied"))
	err := st.PutBytes(context.Background(), "pg/wal_005/x.lzo", []byte("x"), "")
	if !problem.Is(err, problem.AccessDenied) || !bytes.Contains([]byte(err.Error()), []byte("s3:PutObject")) {
		t.Fatalf("%v", err)
	}
}
