package s3store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"pgrescue/awsauth"
	"pgrescue/internal/lazyregexp"
	"pgrescue/problem"
)

// operation tells the classifier what was being done, because the same
// answer means different things: a 404 on a listing is a missing bucket, on
// a GET a missing object.
type operation int

const (
	opList operation = iota
	opGet
	opPut
)

// explain turns an SDK or network error into a *problem.Error naming the
// object (uri) or setting involved and the next step. Errors that are
// already explained pass through.
func (s *Store) explain(ctx context.Context, err error, op operation, uri string) error {
	var explained *problem.Error
	if errors.As(err, &explained) {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return interrupted(uri, err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return s.explainResponse(ctx, err, apiErr, op, uri)
	}
	var credErr *awsauth.MissingError
	if errors.As(err, &credErr) {
		return noCredentials(credErr)
	}
	if unreachable := s.explainUnreachable(err, uri); unreachable != nil {
		return unreachable
	}
	return networkFailure(err, uri)
}

func interrupted(uri string, err error) error {
	return &problem.Error{
		Kind:    problem.Interrupted,
		Subject: uri,
		Summary: "cancelled",
		Detail:  "the work was cancelled (ctrl+c, SIGTERM, or another part of the restore failing first)",
		Next:    "run the command again when ready",
		Err:     err,
	}
}

// explainResponse handles an error answer from S3 (after any retries).
func (s *Store) explainResponse(ctx context.Context, err error, apiErr smithy.APIError, op operation, uri string) error {
	code, status := apiErr.ErrorCode(), httpStatus(err)
	switch {
	case code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
		code == "IllegalLocationConstraintException" || status == http.StatusMovedPermanently ||
		status == http.StatusTemporaryRedirect:
		return s.wrongRegion(err, apiErr, uri)
	case code == "NoSuchBucket" || (status == http.StatusNotFound && op == opList):
		return s.noSuchBucket(err)
	case code == "NoSuchKey" || status == http.StatusNotFound:
		return notFound(err, uri)
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed:
		return objectChanged(err, uri, "S3 no longer has the version that was being read")
	case code == "InvalidBucketName":
		return badPrefix(s.loc.String(), fmt.Sprintf("S3 rejects the bucket name %q", s.loc.Bucket))
	case isCredentialCode(code) || status == http.StatusForbidden:
		return s.accessDenied(ctx, err, apiErr, op, uri)
	case status >= 500 || isThrottle(err):
		return networkFailure(err, uri)
	}
	return &problem.Error{
		Kind:    problem.Unknown,
		Subject: uri,
		Summary: "S3 refused the request",
		Detail:  describeCause(err),
		Next:    "check WALE_S3_ENDPOINT points at an S3-compatible server, and report this message if it does",
		Err:     err,
	}
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func responseHeader(err error, name string) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// expectedRegion finds the message S3 gives with AuthorizationHeaderMalformed:
// "the region 'us-east-1' is wrong; expecting 'eu-west-2'".
var expectedRegion = lazyregexp.New(`expecting '([a-z0-9-]+)'`)

// bucketRegion is the region S3 says the bucket is in, or "".
func bucketRegion(err error, apiErr smithy.APIError) string {
	if r := responseHeader(err, "x-amz-bucket-region"); r != "" {
		return r
	}
	if m := expectedRegion().FindStringSubmatch(apiErr.ErrorMessage()); m != nil {
		return m[1]
	}
	return ""
}

func (s *Store) wrongRegion(err error, apiErr smithy.APIError, uri string) error {
	want := bucketRegion(err, apiErr)
	e := &problem.Error{Kind: problem.RegionEndpoint, Subject: uri, Detail: describeCause(err), Err: err}
	switch {
	case want != "" && s.endpoint.URL != "":
		e.Summary = fmt.Sprintf("bucket %s is in region %s, AWS_REGION is %s and WALE_S3_ENDPOINT sends requests to %s", s.loc.Bucket, want, s.region, s.endpoint.URL)
		e.Next = fmt.Sprintf("set AWS_REGION=%s; for AWS S3, also unset WALE_S3_ENDPOINT", want)
	case want != "":
		e.Summary = fmt.Sprintf("bucket %s is in region %s, AWS_REGION is %s", s.loc.Bucket, want, s.region)
		e.Next = fmt.Sprintf("set AWS_REGION=%s and run again", want)
	default:
		e.Summary = fmt.Sprintf("bucket %s is not in region %s (AWS_REGION), S3 redirected the request", s.loc.Bucket, s.region)
		e.Next = fmt.Sprintf("find the bucket's region (aws s3api get-bucket-location --bucket %s, or the S3 console) and set AWS_REGION to it", s.loc.Bucket)
	}
	return e
}

func (s *Store) noSuchBucket(err error) error {
	return &problem.Error{
		Kind:    problem.NoSuchBucket,
		Subject: "WALE_S3_PREFIX",
		Summary: fmt.Sprintf("bucket %s does not exist", s.loc.Bucket),
		Detail:  fmt.Sprintf("WALE_S3_PREFIX is %s; %s", s.loc, describeCause(err)),
		Next:    "check the bucket name in WALE_S3_PREFIX against the archiving server's WAL-E settings (and WALE_S3_ENDPOINT, if the archive is not on AWS)",
		Err:     err,
	}
}

func notFound(err error, uri string) error {
	return &problem.Error{
		Kind:    problem.NotFound,
		Subject: uri,
		Summary: "object not found",
		Detail:  "S3 has no object with this key",
		Next:    "check the name asked for and WALE_S3_PREFIX; a WAL file missing at the end of the archive is normal",
		Err:     err,
	}
}

func objectChanged(err error, uri, detail string) error {
	return &problem.Error{
		Kind:    problem.Corrupt,
		Subject: uri,
		Summary: "the object changed while it was being downloaded",
		Detail:  detail + "; joining the two versions would corrupt the restore",
		Next:    "check nothing is writing to this archive (a wal-push or backup-push from a live server), then run again",
		Err:     err,
	}
}

// credentialCodes are S3's answers about the credentials rather than the
// data; each gets its own explanation.
var credentialCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "TokenRefreshRequired": true, "InvalidToken": true,
	"RequestTimeTooSkewed": true, "InvalidObjectState": true, "AllAccessDisabled": true,
	"AccountProblem": true,
}

func isCredentialCode(code string) bool { return credentialCodes[code] }

func (s *Store) accessDenied(ctx context.Context, err error, apiErr smithy.APIError, op operation, uri string) error {
	who := s.identity(ctx)
	e := &problem.Error{Kind: problem.AccessDenied, Subject: uri, Detail: describeCause(err), Err: err}
	switch apiErr.ErrorCode() {
	case "InvalidAccessKeyId":
		e.Summary = "S3 does not know the access key"
		e.Detail = who + " does not exist for this S3 service: mistyped, deleted, or from another account or endpoint"
		e.Next = "check AWS_ACCESS_KEY_ID (and that WALE_S3_ENDPOINT, if set, is the server the key belongs to)"
	case "SignatureDoesNotMatch":
		e.Summary = "S3 rejected the request signature"
		e.Detail = "the secret key does not belong to " + who
		e.Next = "check AWS_SECRET_ACCESS_KEY: copy it again and look for a stray space or second line in the envdir file"
	case "ExpiredToken", "TokenRefreshRequired", "InvalidToken":
		e.Summary = "S3 rejected the session token (expired or invalid)"
		e.Detail = "temporary credentials: " + who
		e.Next = "get fresh temporary credentials (AWS_SESSION_TOKEN, WAL-E's AWS_SECURITY_TOKEN), or use a long-lived key or an instance role"
	case "RequestTimeTooSkewed":
		e.Summary = "this machine's clock is too far from S3's"
		e.Detail = "S3 refuses signed requests more than 15 minutes off"
		e.Next = "fix the system clock (timedatectl, NTP) and run again"
	case "InvalidObjectState":
		e.Summary = "the object is archived (Glacier or Deep Archive storage class) and cannot be read directly"
		e.Next = fmt.Sprintf("restore it first (aws s3api restore-object --bucket %s --key …) and run again once it is available", s.loc.Bucket)
	default:
		e.Summary = "S3 denied access"
		e.Detail = fmt.Sprintf("credentials: %s; S3 said: %s", who, describeCause(err))
		e.Next = s.permissionHint(op)
	}
	return e
}

func (s *Store) permissionHint(op operation) string {
	switch op {
	case opList:
		return fmt.Sprintf("allow s3:ListBucket on arn:aws:s3:::%s for these credentials (IAM and bucket policy), or use the credentials of the archiving server", s.loc.Bucket)
	case opPut:
		return fmt.Sprintf("allow s3:PutObject on arn:aws:s3:::%s/%s* for these credentials (the archiving server's)", s.loc.Bucket, s.loc.Prefix)
	}
	return fmt.Sprintf("allow s3:GetObject on arn:aws:s3:::%s/%s* for these credentials (and kms:Decrypt if the objects use SSE-KMS)", s.loc.Bucket, s.loc.Prefix)
}

// identity describes the credentials in use without revealing them: the
// access key id masked, and where the SDK found it.
func (s *Store) identity(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	creds, err := s.creds.Retrieve(ctx)
	if err != nil || creds.AccessKeyID == "" {
		return "the credentials of the default chain"
	}
	source := creds.Source
	if source == "StaticCredentials" {
		source = "AWS_ACCESS_KEY_ID"
	}
	return fmt.Sprintf("access key %s (from %s)", MaskKeyID(creds.AccessKeyID), source)
}

// MaskKeyID shows enough of an access key id to recognise it (AKIA…WXYZ).
func MaskKeyID(id string) string { return awsauth.MaskKeyID(id) }

func noCredentials(err *awsauth.MissingError) error {
	return &problem.Error{
		Kind:    problem.AccessDenied,
		Subject: "AWS credentials",
		Summary: "no AWS credentials were found",
		Detail:  "neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, nor a profile, SSO session, container or instance role gave credentials: " + err.Err.Error(),
		Next:    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (WAL-E's envdir holds them), or AWS_PROFILE, or run where an instance role applies",
		Err:     err,
	}
}

// explainUnreachable recognises an endpoint that cannot be used at all:
// its name does not resolve, nothing listens, or TLS fails. These are
// settings problems, not outages, so they are not reported as Network.
func (s *Store) explainUnreachable(err error, uri string) error {
	setting, check := "AWS_REGION", fmt.Sprintf("check AWS_REGION (%q) is a real region such as eu-west-1", s.region)
	if s.endpoint.URL != "" {
		setting, check = "WALE_S3_ENDPOINT", fmt.Sprintf("check the host and port in WALE_S3_ENDPOINT (%s)", s.opts.Endpoint)
	}
	host := requestHost(err)
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var unknownCA x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	switch {
	case errors.As(err, &dnsErr):
		return &problem.Error{
			Kind: problem.RegionEndpoint, Subject: setting, Err: err,
			Summary: fmt.Sprintf("the S3 host name %s does not resolve", dnsErr.Name),
			Detail:  dnsErr.Error(),
			Next:    check + ", and that this machine's DNS works",
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &problem.Error{
			Kind: problem.RegionEndpoint, Subject: setting, Err: err,
			Summary: fmt.Sprintf("nothing accepts connections at %s", host),
			Detail:  describeCause(err),
			Next:    check + ", and that the S3 server is running and reachable from here",
		}
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &unknownCA), errors.As(err, &hostnameErr):
		return &problem.Error{
			Kind: problem.RegionEndpoint, Subject: setting, Err: err,
			Summary: fmt.Sprintf("the TLS connection to %s failed", host),
			Detail:  describeCause(err),
			Next:    check + " (http+ versus https+), and the server's certificate",
		}
	}
	return nil
}

// requestHost is the host:port a failed request went to, for messages.
func requestHost(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			return u.Host
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Addr != nil {
		return opErr.Addr.String()
	}
	return "the S3 endpoint"
}

func networkFailure(err error, uri string) error {
	detail := describeCause(err)
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) {
		detail = fmt.Sprintf("%d attempts failed, the last with: %s", maxErr.Attempt, detail)
	}
	return &problem.Error{
		Kind:    problem.Network,
		Subject: uri,
		Summary: "S3 could not be reached, or kept failing",
		Detail:  detail,
		Next:    "check this machine's network access to S3 and the S3 service's status, then run again",
		Err:     err,
	}
}

// describeCause gives the useful end of an SDK error chain: S3's own code
// and message, or the network error, without the SDK's operation framing.
func describeCause(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if status := httpStatus(err); status != 0 {
			return fmt.Sprintf("HTTP %d %s: %s", status, apiErr.ErrorCode(), apiErr.ErrorMessage())
		}
		return fmt.Sprintf("%s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err.Error()
}
