package walesettings

import (
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// S3 turns the settings into where the archive is and how to reach it.
// Without access keys anywhere, the AWS SDK's default chain (profiles, SSO,
// instance roles) supplies credentials.
func (s *Settings) S3() (s3store.Location, s3store.Options, error) {
	prefix, ok := s.Lookup(S3Prefix)
	if !ok || prefix.Value == "" {
		return s3store.Location{}, s3store.Options{}, problem.New(problem.Config, S3Prefix,
			"WALE_S3_PREFIX is not set, so pgrescue does not know where the archive is",
			"pass --envdir /etc/wal-e/env.d (as on the database machines), set WALE_S3_PREFIX=s3://bucket/path, or use --s3-prefix")
	}
	loc, err := s3store.ParsePrefix(prefix.Value)
	if err != nil {
		return s3store.Location{}, s3store.Options{}, err
	}
	opts := s3store.Options{
		Region:          s.Get(Region),
		Endpoint:        s.Get(S3Endpoint),
		AccessKeyID:     s.Get(AccessKeyID),
		SecretAccessKey: s.Get(SecretAccessKey),
		SessionToken:    s.SessionTokenValue(),
	}
	if opts.Endpoint != "" {
		if _, err := s3store.ParseEndpoint(opts.Endpoint); err != nil {
			return s3store.Location{}, s3store.Options{}, err
		}
	}
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		missing := SecretAccessKey
		if opts.AccessKeyID == "" {
			missing = AccessKeyID
		}
		return s3store.Location{}, s3store.Options{}, problem.New(problem.Config, missing,
			"only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
			"set both (the envdir has one file for each), or neither to use the AWS default credentials (profile, SSO, instance role)")
	}
	return loc, opts, nil
}
