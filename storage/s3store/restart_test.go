package s3store_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// restartingProxy forwards TCP to the S3 server and can go away for a
// while, as a restarting S3 endpoint does: connections are refused, then
// accepted again on the same port.
type restartingProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	back         *time.Timer // brings it back; stopped at the end of the test
}

func startProxy(t *testing.T, target string) *restartingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &restartingProxy{addr: ln.Addr().String(), target: target, ln: ln}
	go p.serve(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.back != nil {
			p.back.Stop()
		}
		p.ln.Close()
	})
	return p
}

func (p *restartingProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(up, c); up.Close() }()
			io.Copy(c, up)
			c.Close()
		}()
	}
}

// down refuses connections for d, then listens again on the same port.
func (p *restartingProxy) down(t *testing.T, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	p.back = time.AfterFunc(d, func() {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return // the download then fails, which the test reports
		}
		p.mu.Lock()
		p.ln = ln
		p.mu.Unlock()
		go p.serve(ln)
	})
}

// restartDuringDownload downloads the object through a proxy that goes
// away for outage once the first 100000 bytes are through.
func restartDuringDownload(t *testing.T, outage time.Duration, tweak func(*s3store.Options)) ([]byte, []byte, error) {
	srv, data := serverWithObject(t, objectKey, 1<<20)
	target := srv.Options().Endpoint
	target = target[strings.LastIndex(target, "/")+1:]
	proxy := startProxy(t, target)
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: objectKey, Times: 1},
		s3test.ResetAfter(100000, func() { proxy.down(t, outage) }))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) {
		o.Endpoint = strings.Replace(o.Endpoint, target, proxy.addr, 1)
		tweak(o)
	})
	got, _, err := download(context.Background(), st, objectKey)
	return got, data, err
}

// TestADownloadWaitsForARestartingServer: the endpoint refuses connections
// for a second after the download began (a restart): the download resumes
// once it is back, within its attempts, and loses none of its progress.
func TestADownloadWaitsForARestartingServer(t *testing.T) {
	got, data, err := restartDuringDownload(t, time.Second, func(o *s3store.Options) {
		o.MaxAttempts, o.MaxBackoff = 5, time.Second // the shape of the defaults: 5 tries, backoff doubling
	})
	if err != nil {
		t.Fatalf("the download did not survive the restart: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("got %d bytes, want the object's %d", len(got), len(data))
	}
}

// TestAnOutageLongerThanTheAttemptsBlamesTheNetwork: when every resume is
// refused, the download kept failing: a network error naming the object
// (exit 18), not "nothing accepts connections at the endpoint" (exit 5,
// which sends the engineer to check a setting that was right).
func TestAnOutageLongerThanTheAttemptsBlamesTheNetwork(t *testing.T) {
	_, _, err := restartDuringDownload(t, time.Minute, func(*s3store.Options) {})
	if !problem.Is(err, problem.Network) || !strings.Contains(err.Error(), "the download kept failing") || !strings.Contains(err.Error(), "received 100000 of") {
		t.Fatalf("got %v", err)
	}
}

// TestARetryIsVisibleWhileItWaits: while a download waits to resume, the
// body says so (attempt n of m, and why) for the progress line, which
// would otherwise freeze at 0 B/s; once data flows again it says nothing.
func TestARetryIsVisibleWhileItWaits(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, 1<<20)
	target := srv.Options().Endpoint
	target = target[strings.LastIndex(target, "/")+1:]
	proxy := startProxy(t, target)
	srv.Faults().Inject(s3test.Match{Method: "GET", KeyContains: objectKey, Times: 1},
		s3test.ResetAfter(100000, func() { proxy.down(t, time.Second) }))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) {
		o.Endpoint = strings.Replace(o.Endpoint, target, proxy.addr, 1)
		o.MaxAttempts, o.MaxBackoff = 5, time.Second
	})
	body, err := st.Get(context.Background(), objectKey)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	seen := make(chan string, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				if r := body.Retrying(); r != nil {
					seen <- r.String()
					return
				}
			}
		}
	}()
	got, err := io.ReadAll(body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	select {
	case line := <-seen:
		if !strings.HasPrefix(line, "retrying (attempt ") || !strings.Contains(line, " of 5): ") {
			t.Errorf("retry line %q", line)
		}
	default:
		t.Error("the retry was never visible")
	}
	if body.Retrying() != nil {
		t.Errorf("still retrying after the download: %v", body.Retrying())
	}
}
