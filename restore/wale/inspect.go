package wale

import (
	"context"
	"regexp"
	"strings"
	"sync"
)

// maxSampleObject bounds the object read to learn the archive's recipient:
// WAL segments are 16 MiB before compression, so a bigger one is not a WAL
// segment WAL-E wrote.
const maxSampleObject = 64 << 20

// SampleSegment returns the archive's smallest WAL segment object, as
// stored: small to download, and encrypted like every other object, so its
// first packet names the key the whole archive needs. why says why there is
// none (data is nil then); callers must not change data. It is read once
// per archive opened: the key check, the GPG step and the passphrase check
// all look at the same object.
func (a *Archive) SampleSegment(ctx context.Context) (data []byte, uri, why string, err error) {
	return a.SampleSegmentIn(ctx, nil)
}

// SampleSegmentIn is SampleSegment choosing among objects already listed;
// nil lists the archive's WAL.
func (a *Archive) SampleSegmentIn(ctx context.Context, objects []WALObject) (data []byte, uri, why string, err error) {
	if a.sample == nil {
		return a.readSample(ctx, objects)
	}
	a.sample.mu.Lock()
	defer a.sample.mu.Unlock()
	if !a.sample.read {
		data, uri, why, err = a.readSample(ctx, objects)
		if err != nil {
			return nil, "", "", err // a failure is not remembered: the next caller tries again
		}
		a.sample.data, a.sample.uri, a.sample.why, a.sample.read = data, uri, why, true
	}
	return a.sample.data, a.sample.uri, a.sample.why, nil
}

// sampleMemo holds the object SampleSegment read. WAL-E never rewrites an
// archived object, so it stays true for the archive's lifetime.
type sampleMemo struct {
	mu       sync.Mutex
	read     bool
	data     []byte
	uri, why string
}

func (a *Archive) readSample(ctx context.Context, objects []WALObject) (data []byte, uri, why string, err error) {
	if objects == nil {
		if objects, _, err = a.ListWAL(ctx); err != nil {
			return nil, "", "", err
		}
	}
	var best *WALObject
	for i, o := range objects {
		if o.Kind == WALSegment && (best == nil || o.Size < best.Size) {
			best = &objects[i]
		}
	}
	if best == nil {
		return nil, "", "the archive has no WAL segment to check the key against", nil
	}
	data, err = a.Store.GetBytes(ctx, best.Key, maxSampleObject)
	return data, a.Store.URI(best.Key), "", err
}

var serverVersionPattern = regexp.MustCompile(`^PostgreSQL (\d+)(?:\.(\d+))?`)

// ServerMajorVersion reads the backup's extended_version.txt (the backed-up
// server's `SELECT version()`) and returns its major version as PG_VERSION
// writes it ("9.3", "15"), so a restore can be planned before the data
// directory exists. "" when the object is absent or unreadable: WAL-E before
// 0.7 did not write it, and the plan then names the version once fetched.
func (a *Archive) ServerMajorVersion(ctx context.Context, backup string) string {
	data, err := a.Store.GetBytes(ctx, a.Layout.ExtendedVersionKey(backup), 4096)
	if err != nil {
		return ""
	}
	m := serverVersionPattern.FindStringSubmatch(strings.TrimSpace(string(data)))
	if m == nil {
		return ""
	}
	if m[1] == "9" && m[2] != "" {
		return "9." + m[2]
	}
	return m[1]
}

// CheckDataDir says whether a restore can go into dataDir: a missing or
// empty directory can be used as it is (empty reports which); a non-empty one
// only when it may be moved aside. A server running on it is refused.
func CheckDataDir(dataDir string, moveAside bool) (empty bool, err error) {
	if err := refuseLive(dataDir); err != nil {
		return false, err
	}
	return refuseNonEmpty(dataDir, moveAside)
}

// CheckFreeSpace compares need (a backup's expanded size) with the space
// free on the file system that will hold dataDir.
func CheckFreeSpace(dataDir string, need int64) error { return checkFreeSpace(dataDir, need) }
