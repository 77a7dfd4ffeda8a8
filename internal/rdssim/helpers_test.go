package rdssim

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
)

// start is the fake clock's first reading in every test.
var start = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// harness is a simulator served over HTTP with an SDK client pointed at it.
type harness struct {
	sim   *Sim
	rds   *rds.Client
	clock *ManualClock
	url   string
}

// newHarness starts a simulator with a fake clock; the client does not
// retry, so that each fault shows as it is.
func newHarness(t *testing.T) *harness {
	t.Helper()
	clock := NewManualClock(start)
	sim := New(Options{Clock: clock.Now})
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(stop)
	return &harness{sim: sim, rds: newClient(url, 1), clock: clock, url: url}
}

func newClient(url string, attempts int) *rds.Client {
	return rds.New(rds.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: attempts,
		// A connection of its own per request: a kept-alive one being
		// closed as the next request takes it was seen to fail a read now
		// and then, which is no fault of the simulator's answers.
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	})
}

func (h *harness) mustAddInstance(t *testing.T, in Instance) {
	t.Helper()
	if err := h.sim.AddInstance(in); err != nil {
		t.Fatalf("AddInstance(%s): %v", in.ID, err)
	}
}

// apiError unwraps the SDK's error into the code and the HTTP status.
func apiErrorOf(t *testing.T, err error) (code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded; an error was expected")
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) {
		t.Fatalf("no HTTP response in %v", err)
	}
	return apiErr.ErrorCode(), respErr.HTTPStatusCode()
}

func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := apiErrorOf(t, err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("got %s (HTTP %d), want %s (HTTP %d): %v", gotCode, gotStatus, code, status, err)
	}
}

var ctx = context.Background()

// status reads an instance's status through the SDK.
func (h *harness) status(t *testing.T, id string) string {
	t.Helper()
	out, err := h.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeDBInstances(%s): %v", id, err)
	}
	return aws.ToString(out.DBInstances[0].DBInstanceStatus)
}

var _ http.Handler = (*Sim)(nil)

func matches(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
