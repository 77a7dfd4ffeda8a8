package s3store

import (
	"fmt"
	"net/url"
	"strings"

	"pgrescue/internal/lazyregexp"
	"pgrescue/problem"
)

// Location is where a WAL-E archive lives: a bucket and a key prefix.
// Prefix is "" (the bucket root) or ends with "/", so keys are Prefix+"wal_005/…".
type Location struct {
	Bucket string
	Prefix string
}

// String gives the location back in WALE_S3_PREFIX form.
func (l Location) String() string {
	return "s3://" + l.Bucket + "/" + strings.TrimSuffix(l.Prefix, "/")
}

// URI names one object of the bucket, for messages: "s3://bucket/key".
func (l Location) URI(key string) string {
	return "s3://" + l.Bucket + "/" + key
}

const prefixExample = "s3://my-bucket/path/to/archive"

// bucketNameChars accepts today's bucket names and the legacy us-east-1 ones
// (upper case, "_"), which WAL-E also accepted; S3 itself rejects the rest.
var bucketNameChars = lazyregexp.New(`^[A-Za-z0-9._-]{3,255}$`)

// ParsePrefix reads WALE_S3_PREFIX the way WAL-E does
// (wal_e/storage/base.py: StorageLayout): "s3://BUCKET/some/path" gives bucket
// BUCKET and key prefix "some/path/"; leading slashes of the path are dropped
// and a trailing one is added when the path is not empty.
func ParsePrefix(s string) (Location, error) {
	if strings.TrimSpace(s) == "" {
		return Location{}, badPrefix(s, "WALE_S3_PREFIX is not set")
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, badPrefix(s, "WALE_S3_PREFIX is not a URL")
	}
	switch {
	case u.Scheme != "s3":
		return Location{}, badPrefix(s, "WALE_S3_PREFIX must start with s3://")
	case u.User != nil:
		return Location{}, badPrefix(s, "WALE_S3_PREFIX must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return Location{}, badPrefix(s, "WALE_S3_PREFIX must not contain ? or #")
	case u.Host == "":
		return Location{}, badPrefix(s, "WALE_S3_PREFIX names no bucket")
	case !bucketNameChars().MatchString(u.Host):
		return Location{}, badPrefix(s, fmt.Sprintf("WALE_S3_PREFIX names an impossible bucket %q", u.Host))
	}
	prefix := strings.TrimLeft(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return Location{Bucket: u.Host, Prefix: prefix}, nil
}

func badPrefix(value, summary string) error {
	return &problem.Error{
		Kind:    problem.Config,
		Subject: "WALE_S3_PREFIX",
		Summary: summary,
		Detail:  fmt.Sprintf("the value is %q; the expected form is %s", value, prefixExample),
		Next:    "set WALE_S3_PREFIX to the same value the archiving server's WAL-E used, e.g. " + prefixExample,
	}
}
