package s3store

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"pgrescue/problem"
)

// Endpoint is an S3 endpoint other than AWS's regional one, from WALE_S3_ENDPOINT.
type Endpoint struct {
	URL       string // scheme://host[:port], the base the SDK sends requests to
	PathStyle bool   // bucket in the path (http://host/bucket/key) rather than in the host name
}

const endpointExample = "https+path://s3.example.com:443"

// ParseEndpoint reads WALE_S3_ENDPOINT. WAL-E's form is
// {http,https}+{path,virtualhost,subdomain}://host[:port] with no user
// information, path or query (wal_e/blobstore/s3/calling_format.py). A plain
// http://host:port or https://host:port, as other S3 tools write it, is also
// accepted and means path style, which every S3-compatible server supports.
//
// "virtualhost" and "subdomain" both become virtual-host style
// (bucket.host); boto's "virtualhost" meant the bucket name itself is the
// host name, a setup no one restoring from a bucket uses.
func ParseEndpoint(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return Endpoint{}, badEndpoint(s, "WALE_S3_ENDPOINT is not a URL")
	}
	protocol, style, hasStyle := strings.Cut(u.Scheme, "+")
	if protocol != "http" && protocol != "https" {
		return Endpoint{}, badEndpoint(s, "WALE_S3_ENDPOINT must start with http+ or https+ (or be a plain http:// or https:// URL)")
	}
	pathStyle := true
	if hasStyle {
		switch style {
		case "path":
		case "virtualhost", "subdomain":
			pathStyle = false
		default:
			return Endpoint{}, badEndpoint(s, fmt.Sprintf("WALE_S3_ENDPOINT has an unknown calling format %q", style))
		}
	}
	if msg := endpointShapeProblem(u); msg != "" {
		return Endpoint{}, badEndpoint(s, msg)
	}
	return Endpoint{URL: protocol + "://" + u.Host, PathStyle: pathStyle}, nil
}

// endpointShapeProblem checks the parts WAL-E refuses; it tolerates a lone
// trailing "/", which changes nothing about where requests go.
func endpointShapeProblem(u *url.URL) string {
	switch {
	case u.User != nil:
		return "WALE_S3_ENDPOINT must not contain a user name or password (credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
	case u.Hostname() == "":
		return "WALE_S3_ENDPOINT names no host"
	case u.Path != "" && u.Path != "/":
		return fmt.Sprintf("WALE_S3_ENDPOINT must not contain a path (found %q)", u.Path)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "WALE_S3_ENDPOINT must not contain ? or #"
	case u.Opaque != "":
		return "WALE_S3_ENDPOINT must be written scheme://host[:port]"
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("WALE_S3_ENDPOINT has an invalid port %q", port)
		}
	}
	return ""
}

func badEndpoint(value, summary string) error {
	return &problem.Error{
		Kind:    problem.Config,
		Subject: "WALE_S3_ENDPOINT",
		Summary: summary,
		Detail:  fmt.Sprintf("the value is %q; the expected form is {http,https}+{path,virtualhost,subdomain}://host[:port], e.g. %s", value, endpointExample),
		Next:    "fix WALE_S3_ENDPOINT, or unset it to use AWS S3 in the region named by AWS_REGION",
	}
}
