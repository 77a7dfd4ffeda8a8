package bufpool

import "testing"

func TestGetReturnsTheSizeAsked(t *testing.T) {
	for _, size := range []int{1, 4096, 512 << 10} {
		if b := Get(size); len(b) != size {
			t.Errorf("Get(%d) has %d bytes", size, len(b))
		}
	}
}

// A buffer given back is reused by a later Get of its size, and never
// handed out for another size. The race detector makes sync.Pool drop a
// quarter of them at random, so reuse is counted over many rounds.
func TestPutBufferIsReused(t *testing.T) {
	reused := 0
	for range 100 {
		a := Get(300 << 10)
		a[0] = 42
		Put(a)
		if b := Get(200 << 10); &b[0] == &a[0] {
			t.Fatal("a buffer of another size was handed out")
		}
		b := Get(300 << 10)
		if &b[0] == &a[0] {
			reused++
			if b[0] != 42 {
				t.Fatal("the reused buffer changed")
			}
		}
		Put(b)
	}
	if reused < 50 {
		t.Fatalf("%d of 100 buffers given back were reused", reused)
	}
}

func TestPutIgnoresEmptyBuffers(t *testing.T) {
	Put(nil)
	Put([]byte{})
	if b := Get(0); len(b) != 0 {
		t.Fatal(len(b))
	}
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Put(Get(512 << 10))
	}
}
