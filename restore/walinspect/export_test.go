package walinspect

import "testing"

// SetChunkBytes makes Inspect read n bytes of WAL per pg_waldump run for
// one test, so that a small WAL is read in many chunks.
func SetChunkBytes(t *testing.T, n int64) {
	old := chunkBytes
	chunkBytes = n
	t.Cleanup(func() { chunkBytes = old })
}
