package s3test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TreeObject is one row of a fixture's objects.tsv.
type TreeObject struct {
	Key          string
	Size         int64
	ContentType  string
	LastModified time.Time
}

var objectsTSVHeader = []string{"key", "size", "content_type", "last_modified"}

// ReadObjectsTSV reads an objects.tsv: a header row "key size content_type
// last_modified", then one tab-separated row per object.
func ReadObjectsTSV(path string) ([]TreeObject, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var objects []TreeObject
	lines := bufio.NewScanner(f)
	for n := 1; lines.Scan(); n++ {
		fields := strings.Split(lines.Text(), "\t")
		if n == 1 {
			if !slices.Equal(fields, objectsTSVHeader) {
				return nil, fmt.Errorf("%s: header is %q, want %q", path, fields, objectsTSVHeader)
			}
			continue
		}
		o, err := parseTreeObject(fields)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		objects = append(objects, o)
	}
	return objects, lines.Err()
}

func parseTreeObject(fields []string) (TreeObject, error) {
	if len(fields) != len(objectsTSVHeader) {
		return TreeObject{}, fmt.Errorf("%d columns, want %d", len(fields), len(objectsTSVHeader))
	}
	size, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return TreeObject{}, fmt.Errorf("size: %w", err)
	}
	modified, err := time.Parse(time.RFC3339Nano, fields[3])
	if err != nil {
		return TreeObject{}, fmt.Errorf("last_modified: %w", err)
	}
	return TreeObject{Key: fields[0], Size: size, ContentType: fields[2], LastModified: modified}, nil
}

// LoadTree uploads a fixture tree into bucket (created if missing): dir
// holds one file per object, at the object's key, and objectsTSV gives each
// object's size, content type and LastModified. Objects go in in
// LastModified order, as they were written, and each file's size must match
// objects.tsv. It returns the rows of objects.tsv in file order.
func (s *Server) LoadTree(t testing.TB, bucket, dir, objectsTSV string) []TreeObject {
	t.Helper()
	objects, err := ReadObjectsTSV(objectsTSV)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	if !s.bucketExists(bucket) {
		s.CreateBucket(t, bucket)
	}
	inWriteOrder := slices.Clone(objects)
	slices.SortStableFunc(inWriteOrder, func(a, b TreeObject) int { return a.LastModified.Compare(b.LastModified) })
	for _, o := range inWriteOrder {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(o.Key)))
		if err != nil {
			t.Fatalf("s3test: fixture object %s: %v", o.Key, err)
		}
		if int64(len(data)) != o.Size {
			t.Fatalf("s3test: fixture object %s has %d bytes, objects.tsv says %d", o.Key, len(data), o.Size)
		}
		s.Put(t, bucket, o.Key, data, o.ContentType, o.LastModified)
	}
	return objects
}

// LoadFixture loads testdata/NAME of the repository, laid out as the
// WAL-E fixtures are (s3/BUCKET/… and objects.tsv), and returns the bucket
// name and the objects.
func (s *Server) LoadFixture(t testing.TB, name string) (bucket string, objects []TreeObject) {
	t.Helper()
	root := FixturePath(t, name)
	buckets, err := os.ReadDir(filepath.Join(root, "s3"))
	if err != nil || len(buckets) != 1 || !buckets[0].IsDir() {
		t.Fatalf("s3test: %s/s3 must hold exactly one bucket directory (err %v)", root, err)
	}
	bucket = buckets[0].Name()
	objects = s.LoadTree(t, bucket, filepath.Join(root, "s3", bucket), filepath.Join(root, "objects.tsv"))
	return bucket, objects
}

// FixturePath is the path of testdata/ELEM… at the repository root (the
// directory holding go.mod), found from the test's working directory so that
// any package's tests can use the shared fixtures.
func FixturePath(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("s3test: no go.mod above the working directory")
		}
		dir = parent
	}
	path := filepath.Join(append([]string{dir, "testdata"}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("s3test: fixture %s is missing: %v", path, err)
	}
	return path
}
