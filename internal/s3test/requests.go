package s3test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Request is one request the server received, as logged.
type Request struct {
	Method  string
	Host    string // the Host header: which endpoint the client addressed
	Bucket  string
	Key     string // "" for bucket-level requests such as listings
	Query   string // raw query, e.g. "list-type=2&max-keys=2&prefix=…"
	Range   string // the Range header
	IfMatch string // the If-Match header
	Status  int    // the status sent (before any reset or truncation)
	Fault   string // the fault injected, "" if none
	Time    time.Time
}

// IsListing reports whether the request was a ListObjects(V2) call.
func (r Request) IsListing() bool {
	return r.Method == http.MethodGet && r.Key == "" && r.Bucket != "" && strings.Contains(r.Query, "list-type=")
}

// ListedPrefix is the prefix a listing asked for ("" for other requests).
func (r Request) ListedPrefix() string {
	if !r.IsListing() {
		return ""
	}
	q, _ := url.ParseQuery(r.Query)
	return q.Get("prefix")
}

// Listings counts the listings received since the last reset whose prefix
// ends with suffix (e.g. "wal_005/", "basebackups_005/"): how often a
// restore read the same listing.
func (s *Server) Listings(suffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.IsListing() && strings.HasSuffix(r.ListedPrefix(), suffix) {
			n++
		}
	}
	return n
}

// splitPath reads a path-style URL path "/bucket/key…".
func splitPath(path string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return bucket, key
}

type requestLog struct {
	mu       sync.Mutex
	requests []Request
}

func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key := splitPath(r.URL.Path)
		i := l.add(Request{
			Method:  r.Method,
			Host:    r.Host,
			Bucket:  bucket,
			Key:     key,
			Query:   r.URL.RawQuery,
			Range:   r.Header.Get("Range"),
			IfMatch: r.Header.Get("If-Match"),
			Time:    time.Now(),
		})
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(withFaultNote(r.Context(), func(name string) { l.noteFault(i, name) })))
		l.setStatus(i, sw.statusOrOK())
	})
}

func (l *requestLog) add(r Request) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
	return len(l.requests) - 1
}

func (l *requestLog) setStatus(i, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < len(l.requests) {
		l.requests[i].Status = status
	}
}

func (l *requestLog) noteFault(i int, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < len(l.requests) {
		l.requests[i].Fault = name
	}
}

func (l *requestLog) snapshot() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.requests...)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = nil
}

// statusWriter remembers the status sent. Unwrap lets
// http.ResponseController reach the connection to flush and hijack it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
