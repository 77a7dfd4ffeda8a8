// Package rds is the AWS RDS branch of the runbook as an engine: what an
// instance can be restored to (its point-in-time window, snapshots and
// retained automated backups), the restore itself through aws-sdk-go-v2
// with every setting AWS would otherwise silently default copied from the
// source, the wait until the new instance is available (its status and
// AWS's events as they come), and the deliberate cut-over (rename, or a
// Route53 CNAME). Every action can be shown as the `aws` commands an
// engineer would type. It never deletes, stops or reboots an instance.
package rds

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"pgrescue/awsauth"
	"pgrescue/problem"
)

// Options say where RDS is and whose credentials to use. The zero value
// is the AWS CLI's own behaviour: AWS_PROFILE or the default profile,
// AWS_REGION or the profile's region, and AWS_ENDPOINT_URL_RDS when set.
type Options struct {
	Region  string
	Profile string
	// Endpoint replaces RDS's and Route53's endpoint (the demo's simulator);
	// tests may also use AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL_ROUTE_53.
	Endpoint string
	// Credentials replace the default chain (the demo's trainee keys).
	Credentials aws.CredentialsProvider
	HTTPClient  *http.Client
	// MaxAttempts bounds each call's retries of throttling and AWS's
	// transient errors (default 10); MaxBackoff bounds one pause (default 20 s).
	MaxAttempts int
	MaxBackoff  time.Duration
	// Wait is the default bound of waits (WaitOptions).
	Wait WaitOptions
}

// Client reaches RDS (and Route53 for a CNAME cut-over) with one set of
// credentials. It holds no secret in a form that can be printed: Who says
// where the credentials came from, with the key id masked.
type Client struct {
	rds    *rds.Client
	r53    *route53.Client
	region string
	creds  aws.CredentialsProvider
	opts   Options
}

// Connect loads the AWS configuration. It fails early, naming the setting,
// when no region is known; missing credentials are found at the first call
// (the SDK resolves them lazily) and explained then.
func Connect(ctx context.Context, o Options) (*Client, error) {
	var load []func(*config.LoadOptions) error
	if o.Region != "" {
		load = append(load, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(o.Credentials))
	}
	if o.HTTPClient != nil {
		load = append(load, config.WithHTTPClient(o.HTTPClient))
	}
	attempts, backoff := cmp.Or(o.MaxAttempts, 10), cmp.Or(o.MaxBackoff, 20*time.Second)
	load = append(load, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(r *retry.StandardOptions) {
			r.MaxAttempts = attempts
			r.MaxBackoff = backoff
			// Throttling is expected during an incident (many engineers,
			// dashboards): wait it out rather than fail on a quota.
			r.RateLimiter = noRateLimit{}
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, configProblem(err, o.Profile)
	}
	if cfg.Region == "" {
		return nil, &problem.Error{
			Kind: problem.Config, Subject: "AWS_REGION",
			Summary: "no AWS region is set for RDS",
			Next:    "give --region (GOV.UK's RDS instances are in eu-west-1), set AWS_REGION, or set region in the profile",
		}
	}
	cfg.Credentials = awsauth.Tag(cfg.Credentials)
	c := &Client{region: cfg.Region, creds: cfg.Credentials, opts: o}
	c.rds = rds.NewFromConfig(cfg, func(r *rds.Options) {
		if o.Endpoint != "" {
			r.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	c.r53 = route53.NewFromConfig(cfg, func(r *route53.Options) {
		if o.Endpoint != "" {
			r.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return c, nil
}

// WaitOptions are the client's defaults for a wait; the wizard's backend
// interface asks for them.
func (c *Client) WaitOptions() WaitOptions { return c.opts.Wait }

// Region is the region the client calls.
func (c *Client) Region() string { return c.region }

// Who describes the credentials without revealing them: where they came
// from, and the access key id masked ("AKIA…WXYZ from profile govuk").
func (c *Client) Who(ctx context.Context) string {
	if c.creds == nil {
		return "no credentials (anonymous)"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	creds, err := c.creds.Retrieve(ctx)
	if err != nil || creds.AccessKeyID == "" {
		return "the default credential chain (" + c.triedSources() + ")"
	}
	return fmt.Sprintf("access key %s from %s", awsauth.MaskKeyID(creds.AccessKeyID), c.source(creds.Source))
}

// source names where the SDK found credentials in the engineer's words.
func (c *Client) source(sdk string) string {
	switch {
	case sdk == "EnvConfigCredentials":
		return "AWS_ACCESS_KEY_ID"
	case sdk == "StaticCredentials":
		return "the given keys"
	case c.opts.Profile != "":
		return "profile " + c.opts.Profile
	case os.Getenv("AWS_PROFILE") != "":
		return "profile " + os.Getenv("AWS_PROFILE") + " (AWS_PROFILE)"
	}
	return sdk
}

// triedSources lists what the default chain looked at, for "no credentials".
func (c *Client) triedSources() string {
	profile := "profile default"
	if c.opts.Profile != "" {
		profile = "profile " + c.opts.Profile + " (--profile)"
	} else if p := os.Getenv("AWS_PROFILE"); p != "" {
		profile = "profile " + p + " (AWS_PROFILE)"
	}
	return "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, " + profile + " in ~/.aws, SSO, container and instance roles"
}

// noRateLimit turns off the standard retryer's client-side retry quota,
// which gives up on throttling after a burst of retries: the backoff alone
// paces the calls.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }
