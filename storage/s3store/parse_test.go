package s3store_test

import (
	"strings"
	"testing"

	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

func TestParsePrefix(t *testing.T) {
	good := []struct {
		in   string
		want s3store.Location
	}{
		{"s3://wale-fixtures/pg15-primary", s3store.Location{Bucket: "wale-fixtures", Prefix: "pg15-primary/"}},
		{"s3://wale-fixtures/pg15-primary/", s3store.Location{Bucket: "wale-fixtures", Prefix: "pg15-primary/"}},
		{"s3://b.with.dots/a/b/c", s3store.Location{Bucket: "b.with.dots", Prefix: "a/b/c/"}},
		{"s3://bucket", s3store.Location{Bucket: "bucket", Prefix: ""}},
		{"s3://bucket/", s3store.Location{Bucket: "bucket", Prefix: ""}},
		{"s3://bucket//double/leading", s3store.Location{Bucket: "bucket", Prefix: "double/leading/"}},
		{"s3://Legacy_Bucket/x", s3store.Location{Bucket: "Legacy_Bucket", Prefix: "x/"}},
		{"S3://bucket/x", s3store.Location{Bucket: "bucket", Prefix: "x/"}}, // schemes are case-insensitive, for WAL-E's urlparse too
	}
	for _, tc := range good {
		got, err := s3store.ParsePrefix(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePrefix(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}

	bad := []string{
		"", "  ", "wale-fixtures/pg15", "https://bucket/path", "s3:///path",
		"s3://user:pw@bucket/p", "s3://bucket/p?x=1", "s3://bucket/p#frag", "s3://bucket:80/p",
		"s3://b/p", "s3://bad bucket/p", "s3://bucket%/p",
	}
	for _, in := range bad {
		_, err := s3store.ParsePrefix(in)
		assertConfigError(t, "ParsePrefix", in, err, "WALE_S3_PREFIX", "s3://my-bucket/path/to/archive")
	}
}

func TestParseEndpoint(t *testing.T) {
	good := []struct {
		in   string
		want s3store.Endpoint
	}{
		{"http+path://127.0.0.1:9000", s3store.Endpoint{URL: "http://127.0.0.1:9000", PathStyle: true}},
		{"https+path://s3.eu-central-1.amazonaws.com:443", s3store.Endpoint{URL: "https://s3.eu-central-1.amazonaws.com:443", PathStyle: true}},
		{"https+virtualhost://storage.example.com", s3store.Endpoint{URL: "https://storage.example.com", PathStyle: false}},
		{"http+subdomain://minio.local:9000", s3store.Endpoint{URL: "http://minio.local:9000", PathStyle: false}},
		{"https+path://[::1]:9000", s3store.Endpoint{URL: "https://[::1]:9000", PathStyle: true}},
		{"http://minio:9000", s3store.Endpoint{URL: "http://minio:9000", PathStyle: true}},
		{"https://minio.example.com/", s3store.Endpoint{URL: "https://minio.example.com", PathStyle: true}},
	}
	for _, tc := range good {
		got, err := s3store.ParseEndpoint(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}

	bad := []string{
		"", "minio:9000", "ftp+path://host", "https+weird://host", "s3://host",
		"https+path://", "https+path://user:pw@host", "https+path://host/path",
		"https+path://host?x=1", "https+path://host#f", "https+path://host:port",
		"https+path://host:0", "https+path://host:70000", "https+path://host:",
	}
	for _, in := range bad {
		_, err := s3store.ParseEndpoint(in)
		assertConfigError(t, "ParseEndpoint", in, err, "WALE_S3_ENDPOINT", "https+path://s3.example.com:443")
	}
}

// assertConfigError checks a refusal is a Config problem that names the
// setting, quotes the bad value and shows an example.
func assertConfigError(t *testing.T, fn, in string, err error, setting, example string) {
	t.Helper()
	if !problem.Is(err, problem.Config) {
		t.Errorf("%s(%q): got %v, want a Config problem", fn, in, err)
		return
	}
	msg := err.Error()
	for _, part := range []string{setting, example, strings.TrimSpace(in)} {
		if !strings.Contains(msg, part) {
			t.Errorf("%s(%q): message %q does not mention %q", fn, in, msg, part)
		}
	}
}

func TestMaskKeyID(t *testing.T) {
	for in, want := range map[string]string{
		"AKIAIOSFODNN7EXAMPLE": "AKIA…MPLE",
		"ASIAXYZ1234WXYZ":      "ASIA…WXYZ",
		"short":                "****",
		"":                     "****",
	} {
		if got := s3store.MaskKeyID(in); got != want {
			t.Errorf("MaskKeyID(%q) = %q, want %q", in, got, want)
		}
	}
}
