package pgdump

import (
	"archive/tar"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"time"

	"pgrescue/problem"
)

// tarballName is the backup machine's tarball of latest/, written by
// GOV.UK's post-backup hook; it was the only PostgreSQL file sent offsite.
const tarballName = "latest.tbz2"

// inTarball prefixes the paths of the dumps inside latest.tbz2.
const inTarball = tarballName + "/"

// List lists a source's tree and names its dumps. When the tree has
// latest.tbz2 but no latest/ folder (the offsite archive), the dumps
// inside the tarball are listed as latest dumps.
func List(ctx context.Context, src Source, loc *time.Location) (*Listing, error) {
	entries, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	if hasTarballOnly(entries) {
		members, err := tarballMembers(ctx, src)
		if err != nil {
			return nil, err
		}
		entries = append(entries, members...)
	}
	return Classify(entries, loc), nil
}

func hasTarballOnly(entries []Entry) bool {
	tarball := false
	for _, e := range entries {
		if e.Path == tarballName {
			tarball = true
		}
		if strings.HasPrefix(e.Path, "latest/") {
			return false
		}
	}
	return tarball
}

// tarballMembers reads the names in latest.tbz2.
func tarballMembers(ctx context.Context, src Source) ([]Entry, error) {
	raw, err := src.Open(ctx, tarballName)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	tr := tar.NewReader(bzip2.NewReader(raw))
	var entries []Entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, problem.Wrap(err, problem.Corrupt, tarballName, "cannot read the tarball of latest/", "choose a dump outside it (pgrescue dump-list)")
		}
		if h.Typeflag == tar.TypeReg {
			entries = append(entries, Entry{Path: inTarball + path.Clean(h.Name), Size: h.Size, ModTime: h.ModTime})
		}
	}
}

// openEntry opens a file of the tree, or a dump inside latest.tbz2.
func openEntry(ctx context.Context, src Source, p string) (io.ReadCloser, error) {
	member, ok := strings.CutPrefix(p, inTarball)
	if !ok {
		return src.Open(ctx, p)
	}
	raw, err := src.Open(ctx, tarballName)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(bzip2.NewReader(raw))
	for {
		h, err := tr.Next()
		if err != nil {
			raw.Close()
			if errors.Is(err, io.EOF) {
				return nil, problem.New(problem.NoBackups, p, "the tarball has no such file", "pgrescue dump-list lists what it holds")
			}
			return nil, problem.Wrap(err, problem.Corrupt, tarballName, "cannot read the tarball of latest/", "choose a dump outside it")
		}
		if path.Clean(h.Name) == member {
			return struct {
				io.Reader
				io.Closer
			}{tr, raw}, nil
		}
	}
}
