package s3store_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/s3test"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

const objectKey = "pg/basebackups_005/base_000000010000000000000012_00000012/tar_partitions/part_00000000.tar.lzo"

// objectSize is large enough that a fault after a few kilobytes leaves most
// of the body to resume.
const objectSize = 1 << 20

func getFault(times int) s3test.Match {
	return s3test.Match{Method: http.MethodGet, KeyContains: "part_00000000", Times: times}
}

func TestServerErrorIsRetried(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(1), s3test.Respond(500, "InternalError", "We encountered an internal error. Please try again."))
	st := newStore(t, srv, testBucket)

	got, _, err := download(context.Background(), st, objectKey)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	reqs := objectRequests(srv, objectKey)
	if len(reqs) != 2 || reqs[0].Status != 500 || reqs[1].Status != 200 {
		t.Errorf("requests %+v, want a 500 then a 200", reqs)
	}
}

func TestListServerErrorIsRetried(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(503, "SlowDown", "Please reduce your request rate."))
	st := newStore(t, srv, testBucket)
	n := 0
	if err := st.List(context.Background(), "pg/", func(s3store.Object) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("List: %d objects, %v", n, err)
	}
}

func TestSlowDownExhaustedIsNetwork(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(getFault(s3test.Always), s3test.Respond(503, "SlowDown", "Please reduce your request rate."))
	st := newStore(t, srv, testBucket)

	_, err := st.Get(context.Background(), objectKey)
	assertProblem(t, err, problem.Network, "s3://wale-test/"+objectKey, "3 attempts", "503 SlowDown")
	if n := len(objectRequests(srv, objectKey)); n != 3 {
		t.Errorf("%d requests, want MaxAttempts = 3", n)
	}
}

// A connection reset in the middle of the body is resumed from the byte
// reached, for the same version only.
func TestResetMidBodyResumesWithRangeAndIfMatch(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(1), s3test.ResetAfter(100_000))
	st := newStore(t, srv, testBucket)

	got, body, err := download(context.Background(), st, objectKey)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes (exact: %v), err %v", len(got), bytes.Equal(got, data), err)
	}
	reqs := objectRequests(srv, objectKey)
	if len(reqs) != 2 {
		t.Fatalf("requests %+v, want the first and one resumption", reqs)
	}
	first, resumed := reqs[0], reqs[1]
	t.Logf("resumed with Range %q If-Match %q", resumed.Range, resumed.IfMatch)
	var from int64
	if _, err := fmt.Sscanf(resumed.Range, "bytes=%d-", &from); err != nil || from > 100_000 {
		t.Errorf("resumed with Range %q, want bytes=N- with N <= 100000", resumed.Range)
	}
	if first.Range != "" || resumed.IfMatch != body.ETag() || resumed.Status != http.StatusPartialContent {
		t.Errorf("first %+v, resumed %+v, ETag %s", first, resumed, body.ETag())
	}
}

func TestTruncatedEveryTimeIsTruncated(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(s3test.Always), s3test.TruncateAt(1000))
	st := newStore(t, srv, testBucket)

	_, body, err := download(context.Background(), st, objectKey)
	assertProblem(t, err, problem.Truncated, "s3://wale-test/"+objectKey,
		fmt.Sprintf("received 3000 of %d bytes after 3 attempts", objectSize))
	if body.BytesRead() != 3000 {
		t.Errorf("BytesRead %d, want 3000", body.BytesRead())
	}
}

// A body that stops sending is abandoned after IdleTimeout and resumed.
func TestStalledBodyIsResumedAfterIdleTimeout(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(1), s3test.Stall(time.Minute, 5000))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = 200 * time.Millisecond })

	start := time.Now()
	got, _, err := download(context.Background(), st, objectKey)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s: the stall was not cut at the idle timeout", d)
	}
	reqs := objectRequests(srv, objectKey)
	if len(reqs) != 2 || !strings.HasPrefix(reqs[1].Range, "bytes=") {
		t.Errorf("requests %+v, want one resumption", reqs)
	}
}

// Response headers that never come count as a stall too (default client).
func TestStalledHeadersAreRetried(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, 1000)
	srv.Faults().Inject(getFault(1), s3test.Stall(time.Minute, -1))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = 200 * time.Millisecond })

	got, _, err := download(context.Background(), st, objectKey)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
}

func TestStallAlwaysIsNetwork(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(s3test.Always), s3test.Stall(time.Minute, 5000))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = 100 * time.Millisecond })

	_, _, err := download(context.Background(), st, objectKey)
	assertProblem(t, err, problem.Network, "s3://wale-test/"+objectKey,
		fmt.Sprintf("received 15000 of %d bytes after 3 attempts", objectSize), "received nothing for 100ms")
}

// An object replaced while it is downloaded must fail, not splice versions:
// S3 refuses the resumption (If-Match), and the bytes handed out all come
// from the first version.
func TestObjectReplacedMidDownloadFails(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, objectSize)
	replace := func() {
		srv.Put(t, testBucket, objectKey, randomBytes(objectSize, 2), "application/octet-stream", fixedTime.Add(time.Hour))
	}
	srv.Faults().Inject(getFault(1), s3test.ResetAfter(100_000, replace))
	st := newStore(t, srv, testBucket)

	got, _, err := download(context.Background(), st, objectKey)
	assertProblem(t, err, problem.Corrupt, "s3://wale-test/"+objectKey, "changed")
	if !bytes.Equal(got, data[:len(got)]) {
		t.Error("bytes from the second version were handed out")
	}
	reqs := objectRequests(srv, objectKey)
	if last := reqs[len(reqs)-1]; last.Status != http.StatusPreconditionFailed || last.IfMatch == "" {
		t.Errorf("last request %+v, want a 412 to an If-Match", last)
	}
}

// A server that ignores If-Match would serve the new version's tail; the
// changed ETag is caught on our side.
func TestObjectReplacedOnServerIgnoringIfMatchFails(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, objectSize)
	replace := func() {
		srv.Put(t, testBucket, objectKey, randomBytes(objectSize, 2), "application/octet-stream", fixedTime.Add(time.Hour))
	}
	srv.Faults().Inject(getFault(1), s3test.ResetAfter(100_000, replace))
	srv.Faults().Inject(getFault(1), s3test.Action{Name: "drop If-Match", Serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Del("If-Match")
		next.ServeHTTP(w, r)
	}})
	st := newStore(t, srv, testBucket)

	got, _, err := download(context.Background(), st, objectKey)
	assertProblem(t, err, problem.Corrupt, "s3://wale-test/"+objectKey, "ETag went from")
	if !bytes.Equal(got, data[:len(got)]) {
		t.Error("bytes from the second version were handed out")
	}
}

func TestAccessDenialsAreExplained(t *testing.T) {
	cases := []struct {
		code, message string
		status        int
		mention       []string
	}{
		{"AccessDenied", "Access Denied", 403, []string{"S3 denied access", "AKIA…WXYZ", "s3:GetObject", "arn:aws:s3:::wale-test/pg/*"}},
		{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403, []string{"AKIA…WXYZ", "AWS_ACCESS_KEY_ID"}},
		{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.", 403, []string{"AKIA…WXYZ", "AWS_SECRET_ACCESS_KEY"}},
		{"ExpiredToken", "The provided token has expired.", 400, []string{"session token", "AWS_SESSION_TOKEN"}},
		{"RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", 403, []string{"clock"}},
		{"InvalidObjectState", "The operation is not valid for the object's storage class", 403, []string{"Glacier", "restore-object"}},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			srv, _ := serverWithObject(t, objectKey, 10)
			srv.Faults().Inject(getFault(s3test.Always), s3test.Respond(tc.status, tc.code, tc.message))
			st := newStore(t, srv, testBucket)
			_, err := st.Get(context.Background(), objectKey)
			assertProblem(t, err, problem.AccessDenied, append(tc.mention, "s3://wale-test/"+objectKey)...)
			if strings.Contains(err.Error(), s3test.SecretAccessKey) {
				t.Error("the secret key is in the message")
			}
			if n := len(objectRequests(srv, objectKey)); n != 1 {
				t.Errorf("%d requests: a refusal must not be retried", n)
			}
		})
	}
}

func TestListAccessDeniedNamesListBucket(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(403, "AccessDenied", "Access Denied"))
	st := newStore(t, srv, testBucket)
	err := st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
	assertProblem(t, err, problem.AccessDenied, "s3:ListBucket", "arn:aws:s3:::wale-test", "AKIA…WXYZ")
}

func TestBucketInAnotherRegion(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	inEUWest1 := func(o *s3store.Options) { o.Region = "eu-west-1" }

	t.Run("301 PermanentRedirect", func(t *testing.T) {
		srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(301, "PermanentRedirect",
			"The bucket you are attempting to access must be addressed using the specified endpoint.",
			"x-amz-bucket-region", "eu-west-2"))
		st := newStore(t, srv, testBucket, inEUWest1)
		err := st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
		assertProblem(t, err, problem.RegionEndpoint, "bucket wale-test is in region eu-west-2, AWS_REGION is eu-west-1", "AWS_REGION=eu-west-2")
	})
	t.Run("400 AuthorizationHeaderMalformed", func(t *testing.T) {
		srv.Faults().Inject(getFault(1), s3test.Respond(400, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'eu-west-2'"))
		st := newStore(t, srv, testBucket, inEUWest1)
		_, err := st.Get(context.Background(), objectKey)
		assertProblem(t, err, problem.RegionEndpoint, "eu-west-2", "eu-west-1", "AWS_REGION=eu-west-2")
	})
}

func TestNoSuchBucket(t *testing.T) {
	srv := s3test.Start(t)
	st := newStore(t, srv, "no-such-bucket")
	err := st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
	assertProblem(t, err, problem.NoSuchBucket, "bucket no-such-bucket does not exist", "WALE_S3_PREFIX", "s3://no-such-bucket/pg")

	_, err = st.Get(context.Background(), "pg/wal_005/000000010000000000000010.lzo")
	assertProblem(t, err, problem.NoSuchBucket, "no-such-bucket")

	// The same answer from a proxy in front of a real bucket.
	srv.CreateBucket(t, testBucket)
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(404, "NoSuchBucket", "The specified bucket does not exist"))
	err = newStore(t, srv, testBucket).List(context.Background(), "pg/", func(s3store.Object) error { return nil })
	assertProblem(t, err, problem.NoSuchBucket, "wale-test")
}

func TestMissingKeyIsNotFound(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	st := newStore(t, srv, testBucket)
	_, err := st.Get(context.Background(), "pg/wal_005/000000010000000000000099.lzo")
	assertProblem(t, err, problem.NotFound, "s3://wale-test/pg/wal_005/000000010000000000000099.lzo")
	if n := len(objectRequests(srv, "pg/wal_005/000000010000000000000099.lzo")); n != 1 {
		t.Errorf("%d requests: a missing key must not be retried", n)
	}
}

func TestUnusableEndpoints(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for name, endpoint := range map[string]string{
		"closed port":       "http+path://" + closedAddr,
		"unresolvable host": "http+path://no-such-host.invalid:9000",
	} {
		t.Run(name, func(t *testing.T) {
			srv := s3test.Start(t)
			st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.Endpoint = endpoint })
			err := st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
			host := strings.TrimPrefix(endpoint, "http+path://")
			if name == "unresolvable host" {
				host = "no-such-host.invalid"
			}
			assertProblem(t, err, problem.RegionEndpoint, "WALE_S3_ENDPOINT", host)
		})
	}
}

// Cancelling the context stops a download stuck in a stall at once.
func TestCancelDuringStallIsInterrupted(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(s3test.Always), s3test.Stall(time.Hour, 5000))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	got, _, err := download(ctx, st, objectKey)
	assertProblem(t, err, problem.Interrupted, "s3://wale-test/"+objectKey)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to notice the cancellation", d)
	}
	if len(got) != 5000 {
		t.Errorf("read %d bytes before the stall, want 5000", len(got))
	}
}

func TestCancelBeforeHeadersIsInterrupted(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(getFault(s3test.Always), s3test.Stall(time.Hour, -1))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := st.Get(ctx, objectKey)
	assertProblem(t, err, problem.Interrupted, "s3://wale-test/"+objectKey)
}

// With no keys in Options, the SDK's chain is used; when it finds nothing
// the answer says so instead of a signing error.
func TestNoCredentialsFound(t *testing.T) {
	isolateFromAWSConfig(t)
	srv, _ := serverWithObject(t, objectKey, 10)
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.AccessKeyID, o.SecretAccessKey = "", "" })
	_, err := st.Get(context.Background(), objectKey)
	assertProblem(t, err, problem.AccessDenied, "no AWS credentials", "AWS_ACCESS_KEY_ID")
}

// The default chain's credentials are found and used, and appear masked.
func TestDefaultChainCredentialsAreMasked(t *testing.T) {
	isolateFromAWSConfig(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT1234")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment-secret")
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(getFault(1), s3test.Respond(403, "AccessDenied", "Access Denied"))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.AccessKeyID, o.SecretAccessKey = "", "" })
	_, err := st.Get(context.Background(), objectKey)
	assertProblem(t, err, problem.AccessDenied, "AKIA…1234")
	if strings.Contains(err.Error(), "environment-secret") || strings.Contains(err.Error(), "AKIAENVIRONMENT1234") {
		t.Error("credentials leaked into the message")
	}
}

func TestConfigurationProblems(t *testing.T) {
	isolateFromAWSConfig(t)
	ctx := context.Background()
	loc := s3store.Location{Bucket: testBucket}

	_, err := s3store.New(ctx, loc, s3store.Options{AccessKeyID: "AKIAONLYTHEKEYID"})
	assertProblem(t, err, problem.Config, "AWS_SECRET_ACCESS_KEY not set")

	_, err = s3store.New(ctx, loc, s3store.Options{SessionToken: "token-alone"})
	assertProblem(t, err, problem.Config, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set")

	_, err = s3store.New(ctx, loc, s3store.Options{AccessKeyID: "AKIAXXXXXXXXXXXX", SecretAccessKey: "s"})
	assertProblem(t, err, problem.Config, "AWS_REGION is not set")

	_, err = s3store.New(ctx, loc, s3store.Options{Endpoint: "minio:9000"})
	assertProblem(t, err, problem.Config, "WALE_S3_ENDPOINT")

	_, err = s3store.New(ctx, s3store.Location{}, s3store.Options{Region: "eu-west-1"})
	assertProblem(t, err, problem.Config, "WALE_S3_PREFIX")
}

// isolateFromAWSConfig hides the machine's AWS settings from the SDK's
// default chain for the duration of a test.
func isolateFromAWSConfig(t *testing.T) {
	dir := t.TempDir()
	for name, value := range map[string]string{
		"AWS_CONFIG_FILE":                        dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE":            dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
		t.Setenv(name, value)
	}
}

// Without WALE_S3_ENDPOINT the SDK addresses AWS itself: the bucket as a
// virtual host in AWS_REGION's endpoint.
func TestAWSAddressingAndWrongRegion(t *testing.T) {
	srv, data := serverWithObject(t, objectKey, 1000)
	opts := srv.AWSOptions("eu-west-1")
	st, err := s3store.New(context.Background(), s3store.Location{Bucket: testBucket, Prefix: "pg/"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := download(context.Background(), st, objectKey)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
	if reqs := objectRequests(srv, objectKey); len(reqs) != 1 || reqs[0].Host != "wale-test.s3.eu-west-1.amazonaws.com" {
		t.Errorf("requests %+v, want one to wale-test.s3.eu-west-1.amazonaws.com", reqs)
	}

	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(301, "PermanentRedirect",
		"The bucket you are attempting to access must be addressed using the specified endpoint.",
		"x-amz-bucket-region", "eu-west-2"))
	err = st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
	assertProblem(t, err, problem.RegionEndpoint, "bucket wale-test is in region eu-west-2, AWS_REGION is eu-west-1", "set AWS_REGION=eu-west-2 and run again")
	if strings.Contains(err.Error(), "WALE_S3_ENDPOINT") {
		t.Error("WALE_S3_ENDPOINT is not set, yet the message mentions it")
	}

	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Respond(301, "PermanentRedirect", "Moved."))
	err = st.List(context.Background(), "pg/", func(s3store.Object) error { return nil })
	assertProblem(t, err, problem.RegionEndpoint, "not in region eu-west-1", "get-bucket-location --bucket wale-test")
}

// The SDK's retries of the first request and the resumptions of the body
// share one MaxAttempts budget.
func TestRetriesAndResumptionsShareTheBudget(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, objectSize)
	srv.Faults().Inject(getFault(1), s3test.Respond(500, "InternalError", "We encountered an internal error."))
	srv.Faults().Inject(getFault(s3test.Always), s3test.TruncateAt(1000))
	st := newStore(t, srv, testBucket)

	_, _, err := download(context.Background(), st, objectKey)
	assertProblem(t, err, problem.Truncated, fmt.Sprintf("received 2000 of %d bytes after 3 attempts", objectSize))
	if n := len(objectRequests(srv, objectKey)); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// A listing whose XML is cut short is retried like any transient failure.
func TestTruncatedListingIsRetried(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.TruncateAt(100))
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.ResetAfter(100))
	st := newStore(t, srv, testBucket)
	n := 0
	if err := st.List(context.Background(), "pg/", func(s3store.Object) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("List: %d objects, %v", n, err)
	}
}

// A listing that stops sending is abandoned after IdleTimeout and retried.
func TestStalledListingIsRetried(t *testing.T) {
	srv, _ := serverWithObject(t, objectKey, 10)
	srv.Faults().Inject(s3test.Match{Listings: true}, s3test.Stall(time.Minute, 100))
	st := newStore(t, srv, testBucket, func(o *s3store.Options) { o.IdleTimeout = 200 * time.Millisecond })
	n := 0
	if err := st.List(context.Background(), "pg/", func(s3store.Object) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("List: %d objects, %v", n, err)
	}
}

// One Store serves parallel downloads, each resuming on its own.
func TestParallelDownloadsResumeIndependently(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, testBucket)
	want := map[string][]byte{}
	for i := range 8 {
		key := fmt.Sprintf("pg/wal_005/%024X.lzo", i)
		want[key] = randomBytes(200_000, uint64(i))
		srv.Put(t, testBucket, key, want[key], "", fixedTime)
	}
	srv.Faults().Inject(s3test.Match{Method: http.MethodGet, KeyContains: "wal_005/", Times: 8}, s3test.ResetAfter(50_000))
	st := newStore(t, srv, testBucket)

	errs := make(chan error, len(want))
	for key, data := range want {
		go func() {
			got, _, err := download(context.Background(), st, key)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("%s: bytes differ", key)
			}
			errs <- err
		}()
	}
	for range want {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
