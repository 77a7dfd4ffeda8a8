package s3store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// baseBackoff is the wait after the first failure; it doubles each time up
// to Options.MaxBackoff.
const baseBackoff = 200 * time.Millisecond

// backoff returns the wait before retry number n (1 for the first retry):
// exponential, capped, with jitter so that parallel downloads hitting the
// same failure do not retry in lockstep. The wait is at least half the
// exponential value, so a throttled server is really given time.
func backoff(n int, maxBackoff time.Duration) time.Duration {
	d := min(baseBackoff, maxBackoff)
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newRetryer is the SDK's standard retryer (5xx, throttling such as
// SlowDown, connection resets, timeouts) with our bounds and backoff.
func newRetryer(opts Options) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = opts.MaxAttempts
		so.MaxBackoff = opts.MaxBackoff
		so.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return backoff(attempt, opts.MaxBackoff), nil
		})
		// The default client-side retry quota (500 tokens shared by the
		// whole client) makes retries fail fast with "retry quota
		// exceeded" after a burst of errors, exactly when a long restore
		// most needs them. The per-request bound is MaxAttempts.
		so.RateLimiter = ratelimit.None
		// A response body (a listing's XML) cut short is as transient as
		// a reset connection.
		so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(retryUnexpectedEOF))
	})
}

func retryUnexpectedEOF(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// withMaxAttempts limits one operation to the tries left in a download's budget.
func withMaxAttempts(n int) func(*s3.Options) {
	return func(o *s3.Options) { o.RetryMaxAttempts = n }
}

// attemptsMade reads how many HTTP tries the SDK made for a successful call.
func attemptsMade(md middleware.Metadata) int {
	if results, ok := retry.GetAttemptResults(md); ok && len(results.Results) > 0 {
		return len(results.Results)
	}
	return 1
}
