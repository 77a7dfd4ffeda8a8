package demo

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// The sandbox archive's location and credentials. gofakes3 checks no
// signature, so the keys only have to look like AWS's for pgrescue's
// messages to mask them realistically; they open nothing anywhere else.
const (
	bucket          = "pgrescue-demo"
	archivePrefix   = "carrenza/postgresql-primary-1"
	accessKeyID     = "AKIAPGRESCUEDEMO0001"
	secretAccessKey = "pgrescue-demo-sandbox-only-not-a-real-secret"
	region          = "eu-west-1"
)

// s3Server is gofakes3 with its in-memory backend on 127.0.0.1: the
// archive lives as long as the pgrescue process that built it, and
// archive_command's wal-push children reach it over loopback.
type s3Server struct {
	srv      *http.Server
	backend  *s3mem.Backend
	endpoint string // WAL-E's form: http+path://127.0.0.1:PORT
	served   chan struct{}
}

func startS3() (*s3Server, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return nil, problem.Wrap(err, problem.Unknown, "s3://"+bucket, "cannot create the sandbox's bucket", "run pgrescue demo again")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, problem.Wrap(err, problem.Network, "127.0.0.1", "cannot listen on the loopback interface for the sandbox's S3 server",
			"check that the lo interface is up (ip addr show lo)")
	}
	s := &s3Server{
		backend:  backend,
		endpoint: "http+path://" + ln.Addr().String(),
		served:   make(chan struct{}),
		srv: &http.Server{
			Handler:           gofakes3.New(backend).Server(),
			ReadHeaderTimeout: 30 * time.Second,
			// A client hanging up mid-request makes net/http log; the
			// wizard owns the terminal.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// storeOptions are s3store's settings for this server, the envdir's values.
func (s *s3Server) storeOptions() s3store.Options {
	return s3store.Options{Region: region, Endpoint: s.endpoint, AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey}
}

// close stops the server, letting requests in flight finish for a moment.
func (s *s3Server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.served
	return err
}
