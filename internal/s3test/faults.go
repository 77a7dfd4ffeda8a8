package s3test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults injects failures into chosen requests. Each injection applies to
// the next Times requests that match, then expires; the first unexpired
// injection that matches a request wins. Requests without a fault reach
// gofakes3 untouched.
type Faults struct {
	stopping context.Context // done when the server shuts down
	mu       sync.Mutex
	rules    []*rule
}

// Always makes an injection apply to every matching request.
const Always = -1

// Match selects requests.
type Match struct {
	Method      string // "" for any method
	KeyContains string // a substring of the object key; "" for any request, bucket-level ones included
	Listings    bool   // only bucket listings (GET on the bucket itself)
	Times       int    // how many matching requests to affect: 0 means 1, Always means all
}

func (m Match) matches(r *http.Request) bool {
	bucket, key := splitPath(r.URL.Path)
	switch {
	case m.Method != "" && !strings.EqualFold(m.Method, r.Method):
		return false
	case m.Listings && (bucket == "" || key != "" || r.Method != http.MethodGet):
		return false
	}
	return strings.Contains(key, m.KeyContains)
}

// Action is what happens to a faulted request. Serve may call next (the
// real server) with a wrapped ResponseWriter, or answer by itself. Its
// request context ends when the client goes away or the server stops.
type Action struct {
	Name  string // shown in Request.Fault
	Serve func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

type rule struct {
	match  Match
	left   int
	action Action
}

// Inject adds a fault.
func (f *Faults) Inject(m Match, a Action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	left := m.Times
	if left == 0 {
		left = 1
	}
	f.rules = append(f.rules, &rule{match: m, left: left, action: a})
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Unused counts injections that have not yet been used up, so a test can
// check that the faults it set up were really met.
func (f *Faults) Unused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.rules {
		if r.left != 0 {
			n++
		}
	}
	return n
}

func (f *Faults) take(r *http.Request) (Action, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rl := range f.rules {
		if rl.left == 0 || !rl.match.matches(r) {
			continue
		}
		if rl.left > 0 {
			rl.left--
		}
		return rl.action, true
	}
	return Action{}, false
}

func (f *Faults) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action, ok := f.take(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		noteFault(r.Context(), action.Name)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(f.stopping, cancel)()
		action.Serve(w, r.WithContext(ctx), next)
	})
}

// Respond answers with an S3 error document, as S3 does: status, the XML
// body <Error><Code>…</Code><Message>…</Message></Error> and the given
// headers as name, value pairs (e.g. "x-amz-bucket-region", "eu-west-2").
func Respond(status int, code, message string, headers ...string) Action {
	return Action{
		Name: fmt.Sprintf("respond %d %s", status, code),
		Serve: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			for i := 0; i+1 < len(headers); i += 2 {
				w.Header().Set(headers[i], headers[i+1])
			}
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("x-amz-request-id", "S3TESTFAULT")
			w.WriteHeader(status)
			if r.Method == http.MethodHead {
				return
			}
			body, _ := xml.Marshal(s3Error{Code: code, Message: message, Resource: r.URL.Path, RequestID: "S3TESTFAULT"})
			w.Write([]byte(xml.Header))
			w.Write(body)
		},
	}
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// ResetAfter sends the real headers and the first n body bytes, then resets
// the connection (TCP RST), as a dropped connection or a crashing proxy
// does. beforeReset functions run after those bytes are sent and before the
// reset; tests use them to change the object in the middle of a download.
// A body of n bytes or fewer is sent whole and untouched.
func ResetAfter(n int64, beforeReset ...func()) Action {
	return Action{
		Name: fmt.Sprintf("reset after %d bytes", n),
		Serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			next.ServeHTTP(&cutWriter{ResponseWriter: w, left: n, then: func() error {
				for _, fn := range beforeReset {
					fn()
				}
				return closeConnection(w, true)
			}}, r)
		},
	}
}

// TruncateAt sends the real headers, Content-Length included, and the first
// n body bytes, then closes the connection cleanly: the body ends early.
// A body of n bytes or fewer is sent whole and untouched.
func TruncateAt(n int64) Action {
	return Action{
		Name: fmt.Sprintf("truncate at %d bytes", n),
		Serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			next.ServeHTTP(&cutWriter{ResponseWriter: w, left: n, then: func() error {
				return closeConnection(w, false)
			}}, r)
		},
	}
}

// Stall pauses for d after sending the headers and afterBytes body bytes,
// then carries on normally. A negative afterBytes stalls before the
// headers. The pause ends early if the client disconnects.
func Stall(d time.Duration, afterBytes int64) Action {
	wait := func(r *http.Request) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-r.Context().Done():
			return errFaultCut
		}
	}
	return Action{
		Name: fmt.Sprintf("stall %s after %d bytes", d, afterBytes),
		Serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if afterBytes < 0 {
				if wait(r) == nil {
					next.ServeHTTP(w, r)
				}
				return
			}
			next.ServeHTTP(&cutWriter{ResponseWriter: w, left: afterBytes, then: func() error {
				// The bytes so far must reach the client before the pause.
				if err := http.NewResponseController(w).Flush(); err != nil {
					return err
				}
				return wait(r)
			}}, r)
		},
	}
}

var errFaultCut = errors.New("s3test: response cut by a fault")

// cutWriter passes body bytes through and calls then once, when the first
// left bytes have been written; an error from then ends the body there.
type cutWriter struct {
	http.ResponseWriter
	left  int64
	then  func() error
	fired bool
	err   error
}

func (a *cutWriter) Write(p []byte) (int, error) {
	switch {
	case a.err != nil:
		return 0, a.err
	case a.fired || int64(len(p)) < a.left:
		a.left -= int64(len(p))
		return a.ResponseWriter.Write(p)
	}
	head, tail := p[:a.left], p[a.left:]
	n, err := a.ResponseWriter.Write(head)
	if err != nil {
		return n, err
	}
	a.fired = true
	if a.err = a.then(); a.err != nil {
		return n, a.err
	}
	m, err := a.ResponseWriter.Write(tail)
	return n + m, err
}

func (a *cutWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// closeConnection flushes what was written and takes the connection away
// from net/http to close it: with an RST (hard) or a normal FIN.
func closeConnection(w http.ResponseWriter, hard bool) error {
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return err
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return err
	}
	if tcp, ok := conn.(*net.TCPConn); ok && hard {
		tcp.SetLinger(0)
	}
	conn.Close()
	return errFaultCut
}

type faultNoteKey struct{}

// withFaultNote lets the fault injector tell the request log which fault it applied.
func withFaultNote(ctx context.Context, note func(string)) context.Context {
	return context.WithValue(ctx, faultNoteKey{}, note)
}

func noteFault(ctx context.Context, name string) {
	if note, ok := ctx.Value(faultNoteKey{}).(func(string)); ok {
		note(name)
	}
}
