package rdssim

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Options configure a simulator. The zero value is a demo's: eu-west-1,
// account 123456789012, the real clock and phases of a few seconds.
type Options struct {
	Region  string // default eu-west-1
	Account string // default 123456789012
	// Clock is read at each request to decide each instance's state
	// (default time.Now); tests give a fake clock they move forward.
	Clock  func() time.Time
	Phases Phases
	// Caller is the IAM identity AccessDenied messages name; default
	// arn:aws:iam::<account>:user/trainee.
	Caller string
}

// Phases are how long each state lasts. A zero duration takes the
// default, which is short enough for a demo: real restores take minutes.
type Phases struct {
	Creating  time.Duration // default 3 s
	BackingUp time.Duration // default 2 s
	Renaming  time.Duration // default 2 s
	Modifying time.Duration // default 2 s
}

func (p Phases) withDefaults() Phases {
	p.Creating = positiveOr(p.Creating, 3*time.Second)
	p.BackingUp = positiveOr(p.BackingUp, 2*time.Second)
	p.Renaming = positiveOr(p.Renaming, 2*time.Second)
	p.Modifying = positiveOr(p.Modifying, 2*time.Second)
	return p
}

func positiveOr(d, fallback time.Duration) time.Duration {
	if d <= 0 {
		return fallback
	}
	return d
}

// Request is one request as the simulator received it, for tests to
// check what the engine sent.
type Request struct {
	Time   time.Time
	Action string
	// Params are all the form and query parameters, Action and Version
	// included.
	Params url.Values
	// Authorization and SecurityToken say whether the request carried an
	// Authorization header (a SigV4 signature) and an X-Amz-Security-Token
	// header (temporary credentials). Their values are not kept.
	Authorization bool
	SecurityToken bool
	// Status and ErrorCode are the answer: ErrorCode is empty on success.
	Status    int
	ErrorCode string
}

// maxRequests bounds the request log, so that a demo left running for
// days does not grow without end; tests never come near it.
const maxRequests = 10000

// Sim is a simulated RDS account in one region. It is an http.Handler;
// all its methods are safe for concurrent use.
type Sim struct {
	region, account, caller string
	clock                   func() time.Time
	phases                  Phases

	mu              sync.Mutex
	rng             *rand.Rand
	instances       map[string]*instance // by current identifier
	snapshots       map[string]*Snapshot // by identifier
	retained        []*RetainedBackup
	events          []Event
	subnetGroups    map[string]string // name → VPC
	parameterGroups map[string]bool
	optionGroups    map[string]bool
	faults          faults
	requests        []Request
}

// New returns a simulator with an empty account.
func New(o Options) *Sim {
	s := &Sim{
		region:  or(o.Region, "eu-west-1"),
		account: or(o.Account, "123456789012"),
		clock:   o.Clock,
		phases:  o.Phases.withDefaults(),
		// A fixed seed makes resource IDs, ARNs and request IDs the same
		// from run to run: reproducible tests and demo transcripts.
		rng:             rand.New(rand.NewPCG(0x5eed, 0x4d5)),
		instances:       map[string]*instance{},
		snapshots:       map[string]*Snapshot{},
		subnetGroups:    map[string]string{defaultSubnetGroup: defaultVPC},
		parameterGroups: map[string]bool{},
		optionGroups:    map[string]bool{},
		faults:          newFaults(),
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.caller = or(o.Caller, "arn:aws:iam::"+s.account+":user/trainee")
	return s
}

// now reads the clock at AWS's precision.
func (s *Sim) now() time.Time { return s.clock().UTC().Truncate(time.Millisecond) }

// Start serves the simulator on 127.0.0.1 at a free port. stop closes the
// listener and every connection; it may be called more than once.
func (s *Sim) Start() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns http.ErrServerClosed once stop runs; any other
		// error means the listener failed, and there is nothing to serve.
		_ = srv.Serve(ln)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
			<-done
		})
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// Requests returns a copy of every request received so far, oldest first.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Params = cloneValues(r.Params)
		out[i] = r
	}
	return out
}

func (s *Sim) record(r Request) {
	if len(s.requests) >= maxRequests {
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRequests/2:]...)
	}
	s.requests = append(s.requests, r)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
