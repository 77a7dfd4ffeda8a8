package s3store

import (
	"testing"
	"time"
)

// TestAStallIsCutWithinFifteenSeconds: by default a download that receives
// nothing for 15 s is resumed (it waited a minute at incident time).
func TestAStallIsCutWithinFifteenSeconds(t *testing.T) {
	if got := (Options{}).withDefaults().IdleTimeout; got != 15*time.Second {
		t.Errorf("default idle timeout %s, want 15s", got)
	}
}
