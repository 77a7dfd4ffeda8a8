package tarx

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// writebackRecorder stands in for sync_file_range: it records each range
// with the inode its descriptor refers to, and can hold the writeback
// goroutine to fill the queue.
type writebackRecorder struct {
	mu     sync.Mutex
	ranges map[uint64][][2]int64 // inode -> [offset, length] in request order
	hold   chan struct{}         // when set, each range waits for a receive
}

func (r *writebackRecorder) start(fd int, offset, length int64) {
	if r.hold != nil {
		<-r.hold
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		panic("writeback got a closed descriptor: " + err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ranges[st.Ino] = append(r.ranges[st.Ino], [2]int64{offset, length})
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

func openDescriptors(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors")
	}
	return len(entries)
}

func TestWritebackIsRequestedForEveryByteOfEveryFileInChunks(t *testing.T) {
	big := strings.Repeat("x", 2*writebackChunk+12345)
	stream := tarStream(t, []member{
		{name: "base/1/", typ: tar.TypeDir, mode: 0o700},
		{name: "base/1/16384", typ: tar.TypeReg, mode: 0o600, body: big},
		{name: "PG_VERSION", typ: tar.TypeReg, mode: 0o600, body: "15\n"},
		{name: "base/1/empty", typ: tar.TypeReg, mode: 0o600},
	})
	dir := t.TempDir()
	x, err := New(dir, Options{Writeback: true})
	if err != nil {
		t.Fatal(err)
	}
	x.writeback.stop()
	rec := &writebackRecorder{ranges: map[uint64][][2]int64{}}
	x.writeback = startWriteback(rec.start)
	before := openDescriptors(t)
	if err := x.Extract(t.Context(), bytes.NewReader(stream), "part_00000000.tar.lzo"); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openDescriptors(t); after > before {
		t.Errorf("%d descriptors open after the extraction, %d before: writeback leaks them", after, before)
	}
	want := map[string][][2]int64{
		"base/1/16384": {{0, writebackChunk}, {writebackChunk, writebackChunk}, {2 * writebackChunk, 12345}},
		"PG_VERSION":   {{0, 3}},
		"base/1/empty": nil, // nothing to write
	}
	for name, ranges := range want {
		if got := rec.ranges[inode(t, filepath.Join(dir, name))]; !slices.Equal(got, ranges) {
			t.Errorf("%s: writeback requested for %v, want %v", name, got, ranges)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "base/1/16384")); string(got) != big {
		t.Errorf("base/1/16384 has %d bytes, want the member's %d", len(got), len(big))
	}
}

func TestWritebackDropsRequestsWhenTheDiskIsBehind(t *testing.T) {
	rec := &writebackRecorder{ranges: map[uint64][][2]int64{}, hold: make(chan struct{})}
	w := startWriteback(rec.start)
	f, err := os.Create(filepath.Join(t.TempDir(), "16384"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := openDescriptors(t)
	// One range is taken by the held goroutine, the queue fills behind
	// it, and the rest are dropped instead of making the extraction wait.
	requests := writebackQueueLength + 10
	for i := range requests {
		w.request(f, int64(i), 1)
	}
	if held := openDescriptors(t) - before; held > writebackQueueLength+1 {
		t.Errorf("%d descriptors held for writeback, at most %d may be", held, writebackQueueLength+1)
	}
	close(rec.hold) // the disk catches up
	w.stop()
	if after := openDescriptors(t); after != before {
		t.Errorf("%d descriptors open after stop, %d before", after, before)
	}
	served := len(rec.ranges[inode(t, f.Name())])
	if served == 0 || served >= requests {
		t.Errorf("%d of %d requests served with a full queue: want some, not all", served, requests)
	}
	w.request(f, 0, 1) // after stop: dropped, never a send on a closed channel
}

func TestWithoutWritebackNothingIsRequested(t *testing.T) {
	x, err := extract(t, t.TempDir(), tarStream(t, []member{{name: "PG_VERSION", typ: tar.TypeReg, mode: 0o600, body: "15\n"}}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if x.writeback != nil {
		t.Error("an Extractor without Writeback started a writeback goroutine")
	}
}

// TestWritebackWithTheKernel extracts with the real sync_file_range: the
// files are whole and no descriptor is left behind.
func TestWritebackWithTheKernel(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", writebackChunk/8)
	dir := t.TempDir()
	before := openDescriptors(t)
	x, err := extract(t, dir, tarStream(t, []member{{name: "base/1/16384", typ: tar.TypeReg, mode: 0o600, body: big}}), Options{Writeback: true})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	if after := openDescriptors(t); after != before {
		t.Errorf("%d descriptors open after the extraction, %d before", after, before)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "base/1/16384")); string(got) != big {
		t.Errorf("base/1/16384 has %d bytes, want %d", len(got), len(big))
	}
}
