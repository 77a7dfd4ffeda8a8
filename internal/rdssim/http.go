package rdssim

import (
	"errors"
	"net/http"
	"time"
)

const (
	apiVersion = "2014-10-31"
	// maxBodyBytes is far above any RDS request (the biggest, a restore
	// with fifty tags, is a few KiB) and bounds what a bad client can send.
	maxBodyBytes = 1 << 20
)

// action runs one simulated action on a settled account and returns its
// result, which becomes the <{Action}Result> element.
type action func(s *Sim, p params, now time.Time) (any, error)

var actions = map[string]action{
	"DescribeDBInstances":                (*Sim).describeInstances,
	"DescribeDBInstanceAutomatedBackups": (*Sim).describeAutomatedBackups,
	"DescribeDBSnapshots":                (*Sim).describeSnapshots,
	"DescribeEvents":                     (*Sim).describeEvents,
	"ListTagsForResource":                (*Sim).listTags,
	"RestoreDBInstanceToPointInTime":     (*Sim).restoreToPointInTime,
	"RestoreDBInstanceFromDBSnapshot":    (*Sim).restoreFromSnapshot,
	"ModifyDBInstance":                   (*Sim).modifyInstance,
}

// answer is a response ready to be written.
type answer struct {
	status    int
	body      []byte
	requestID string
	errorCode string
}

// ServeHTTP answers one AWS Query request: POST / with a form body (or
// GET with the same parameters in the query string, which AWS also takes).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	parseErr := r.ParseForm()
	a := s.answer(r, parseErr)
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", a.requestID)
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // a client that hung up needs no answer
}

// answer computes the response under the lock, then leaves the writing to
// ServeHTTP, so that a slow client never holds up the others.
func (s *Sim) answer(r *http.Request, parseErr error) (a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	p := params{r.Form}
	rec := Request{
		Time: now, Action: p.Get("Action"), Params: cloneValues(r.Form),
		Authorization: r.Header.Get("Authorization") != "", SecurityToken: r.Header.Get("X-Amz-Security-Token") != "",
	}
	requestID := s.newRequestID()
	defer func() {
		// A bug must cost one request, not the trainee's demo.
		if recover() != nil {
			a = errorAnswer(newError("InternalFailure", "The simulator failed to process this request."), requestID)
		}
		rec.Status, rec.ErrorCode = a.status, a.errorCode
		s.record(rec)
	}()
	result, err := s.handle(rec.Action, p, parseErr, now)
	if err != nil {
		return errorAnswer(err, requestID)
	}
	body, err := responseXML(rec.Action, result, requestID)
	if err != nil {
		return errorAnswer(err, requestID)
	}
	return answer{status: http.StatusOK, body: body, requestID: requestID}
}

func (s *Sim) handle(name string, p params, parseErr error, now time.Time) (any, error) {
	if parseErr != nil {
		return nil, newError("MalformedQueryString", "The request could not be read as a form: "+clip(parseErr.Error()))
	}
	if err := s.injectedError(name, p); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, newError("MissingAction", "The request must contain the parameter Action")
	}
	if v := p.Get("Version"); v != "" && v != apiVersion {
		return nil, newError("NoSuchVersion", "The requested version ("+clip(v)+") of service AmazonRDS does not exist")
	}
	run, ok := actions[name]
	if !ok {
		return nil, newError("InvalidAction", "The action "+clip(name)+" is not valid for this web service.")
	}
	s.settle(now)
	return run(s, p, now)
}

func errorAnswer(err error, requestID string) answer {
	var e *apiError
	if !errors.As(err, &e) {
		e = newError("InternalFailure", "The simulator failed to process this request.")
	}
	return answer{status: e.status, body: errorXML(e, requestID), requestID: requestID, errorCode: e.code}
}
