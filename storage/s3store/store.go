// Package s3store reads a WAL-E archive's objects from S3 or an S3-compatible
// server with aws-sdk-go-v2: listings, streaming downloads that resume after
// a broken connection, and small reads. Every failure comes back as a
// *problem.Error that names the bucket, object or setting involved and the
// next step, because the person reading it is usually in the middle of an
// incident.
package s3store

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"pgrescue/awsauth"
	"pgrescue/problem"
)

// Options configure a Store. The zero value of every tuning field means its default.
type Options struct {
	// Region is AWS_REGION. When empty, the SDK's own sources are consulted
	// (AWS_REGION, AWS_DEFAULT_REGION, the profile); with an Endpoint it
	// defaults to "us-east-1", which S3-compatible servers accept.
	Region string
	// Endpoint is the raw WALE_S3_ENDPOINT, or "" for AWS S3.
	Endpoint string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	// All empty means the SDK's default chain: environment, profiles, SSO,
	// container and instance roles.
	AccessKeyID, SecretAccessKey, SessionToken string

	// MaxAttempts bounds the tries of one request, and of one download
	// including its resumptions. Default 5.
	MaxAttempts int
	// MaxBackoff caps the exponential backoff between tries. Default 5s.
	MaxBackoff time.Duration
	// IdleTimeout is how long a download may receive nothing before the try
	// counts as a transient failure and is resumed with a ranged GET; with
	// the default HTTP client it also bounds the wait for response headers
	// and each listing page. Default 15s: S3 sends a steady stream, and a
	// minute of frozen progress at incident time is a minute lost.
	IdleTimeout time.Duration
	// ListPageSize is the number of keys asked for per ListObjectsV2 page.
	// Default (and S3's maximum) 1000; tests use less to exercise paging.
	ListPageSize int32
	// HTTPClient replaces the default client (tests, proxies). The default
	// client applies IdleTimeout to response headers; a replacement must
	// bring its own timeouts.
	HTTPClient *http.Client
}

const (
	defaultMaxAttempts  = 5
	defaultMaxBackoff   = 5 * time.Second
	defaultIdleTimeout  = 15 * time.Second
	defaultListPageSize = 1000
	endpointRegion      = "us-east-1"
	// dialTimeout keeps an unreachable (black-holed) host from costing
	// MaxAttempts × the kernel's multi-minute connect timeout.
	dialTimeout = 10 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.ListPageSize <= 0 || o.ListPageSize > defaultListPageSize {
		o.ListPageSize = defaultListPageSize
	}
	return o
}

// Object is one entry of a listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
	ETag         string
}

// Store reads objects of one bucket. It is safe for concurrent use.
type Store struct {
	loc      Location
	opts     Options
	endpoint Endpoint // zero when talking to AWS S3
	region   string
	creds    aws.CredentialsProvider
	client   *s3.Client
	// listHTTP bounds each listing request as a whole, body included: the
	// SDK reads a listing's XML itself, so Body's idle watchdog cannot.
	listHTTP aws.HTTPClient
}

// New prepares a Store. It sends no request: a wrong region, key or bucket
// shows up, explained, on the first List or Get.
func New(ctx context.Context, loc Location, opts Options) (*Store, error) {
	if loc.Bucket == "" {
		return nil, badPrefix("", "WALE_S3_PREFIX names no bucket")
	}
	opts = opts.withDefaults()
	s := &Store{loc: loc, opts: opts}
	if opts.Endpoint != "" {
		ep, err := ParseEndpoint(opts.Endpoint)
		if err != nil {
			return nil, err
		}
		s.endpoint = ep
	}
	cfg, err := s.loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Credentials = awsauth.Tag(cfg.Credentials)
	cfg.Retryer = func() aws.Retryer { return newRetryer(s.opts) }
	cfg.HTTPClient, s.listHTTP = s.httpClients()
	// Checksums only when an operation requires them: many S3-compatible
	// servers send no (or odd) checksums, and a checksum of a whole object
	// cannot be validated on the ranged GETs that resume a download.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	s.region = cfg.Region
	s.creds = cfg.Credentials
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if s.endpoint.URL != "" {
			o.BaseEndpoint = aws.String(s.endpoint.URL)
			o.UsePathStyle = s.endpoint.PathStyle
		}
	})
	return s, nil
}

// loadConfig finds the region and credentials. With static credentials nothing
// else is read (no profile, no shared files), so a stray AWS_PROFILE on the
// restore machine cannot change which keys are used.
func (s *Store) loadConfig(ctx context.Context) (aws.Config, error) {
	region := s.opts.Region
	if region == "" && s.endpoint.URL != "" {
		region = endpointRegion
	}
	var cfg aws.Config
	if s.hasStaticCredentials() {
		if s.opts.AccessKeyID == "" || s.opts.SecretAccessKey == "" {
			return cfg, incompleteCredentials(s.opts)
		}
		cfg = aws.Config{
			Region: region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				s.opts.AccessKeyID, s.opts.SecretAccessKey, s.opts.SessionToken)),
		}
	} else {
		var loadOpts []func(*config.LoadOptions) error
		if region != "" {
			loadOpts = append(loadOpts, config.WithRegion(region))
		}
		loaded, err := config.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			return cfg, problem.Wrap(err, problem.Config, "AWS configuration",
				"the AWS configuration (profile, shared config or credentials file) could not be loaded",
				"fix or unset AWS_PROFILE, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		cfg = loaded
	}
	if cfg.Region == "" {
		return cfg, &problem.Error{
			Kind:    problem.Config,
			Subject: "AWS_REGION",
			Summary: "AWS_REGION is not set",
			Detail:  "WAL-E needs AWS_REGION unless WALE_S3_ENDPOINT is set, and so does pgrescue",
			Next:    "set AWS_REGION to the bucket's region (for example eu-west-1), or WALE_S3_ENDPOINT for an S3-compatible server",
		}
	}
	return cfg, nil
}

func (s *Store) hasStaticCredentials() bool {
	return s.opts.AccessKeyID != "" || s.opts.SecretAccessKey != "" || s.opts.SessionToken != ""
}

func incompleteCredentials(o Options) error {
	var missing []string
	if o.AccessKeyID == "" {
		missing = append(missing, "AWS_ACCESS_KEY_ID")
	}
	if o.SecretAccessKey == "" {
		missing = append(missing, "AWS_SECRET_ACCESS_KEY")
	}
	return &problem.Error{
		Kind:    problem.Config,
		Subject: strings.Join(missing, ", "),
		Summary: strings.Join(missing, " and ") + " not set, though other AWS credentials are",
		Next:    "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither to use the default credential chain (profile, instance role)",
	}
}

// httpClients returns the client for downloads and the one for listings,
// which share connections. A listing page that takes longer than
// IdleTimeout in all is treated as stalled, and retried.
func (s *Store) httpClients() (download, listing aws.HTTPClient) {
	if s.opts.HTTPClient != nil {
		return s.opts.HTTPClient, s.opts.HTTPClient
	}
	transport := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = s.opts.IdleTimeout
			// Restores download several partitions and WAL files at once.
			t.MaxIdleConnsPerHost = 32
		}).
		GetTransport()
	return &http.Client{Transport: transport}, &http.Client{Transport: transport, Timeout: s.opts.IdleTimeout}
}

// Location returns the bucket and prefix the Store was made for.
func (s *Store) Location() Location { return s.loc }

// URI names an object for messages: "s3://bucket/key".
func (s *Store) URI(key string) string { return s.loc.URI(key) }

// List calls fn for every object whose key starts with prefix (a full key
// prefix: callers add Location().Prefix), in S3's lexicographic key order,
// one ListObjectsV2 page at a time. An error from fn stops the listing and is
// returned as is.
func (s *Store) List(ctx context.Context, prefix string, fn func(Object) error) error {
	input := &s3.ListObjectsV2Input{Bucket: aws.String(s.loc.Bucket), Prefix: aws.String(prefix)}
	pages := s3.NewListObjectsV2Paginator(s.client, input, func(o *s3.ListObjectsV2PaginatorOptions) {
		o.Limit = s.opts.ListPageSize
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, func(o *s3.Options) { o.HTTPClient = s.listHTTP })
		if err != nil {
			return s.explain(ctx, err, opList, s.URI(prefix))
		}
		for _, o := range page.Contents {
			if err := fn(objectOf(o)); err != nil {
				return err
			}
		}
	}
	return nil
}

func objectOf(o s3types.Object) Object {
	return Object{
		Key:          aws.ToString(o.Key),
		Size:         aws.ToInt64(o.Size),
		LastModified: aws.ToTime(o.LastModified),
		ETag:         aws.ToString(o.ETag),
	}
}
