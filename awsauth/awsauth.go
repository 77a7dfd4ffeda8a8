// Package awsauth holds what every AWS client of pgrescue (S3 for WAL-E
// archives, RDS) needs to explain its credentials without revealing them:
// failures to obtain credentials told apart from AWS's refusals, and access
// key ids masked for messages.
package awsauth

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Tag wraps a provider so that its failures to obtain credentials, which
// the SDK otherwise reports as a plain string inside the call's error, are
// a *MissingError. A nil provider (anonymous access) stays nil.
func Tag(p aws.CredentialsProvider) aws.CredentialsProvider {
	if p == nil {
		return nil
	}
	return tagged{p}
}

type tagged struct{ aws.CredentialsProvider }

func (t tagged) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := t.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return creds, &MissingError{Err: err}
	}
	return creds, err
}

// MissingError is a failure to obtain credentials from the chain.
type MissingError struct{ Err error }

func (e *MissingError) Error() string { return e.Err.Error() }
func (e *MissingError) Unwrap() error { return e.Err }

// MaskKeyID shows enough of an access key id to recognise it (AKIA…WXYZ)
// and no more; short ids are hidden entirely.
func MaskKeyID(id string) string {
	if len(id) < 12 {
		return "****"
	}
	return id[:4] + "…" + id[len(id)-4:]
}
