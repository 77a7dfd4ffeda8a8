package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAPanicIsOneLineAndAFile: no stack trace on the engineer's screen, the
// internal-error exit code, and the trace kept in a private file.
func TestAPanicIsOneLineAndAFile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	var screen strings.Builder
	code := guarded(&screen, func() int { panic("boom") })
	if code != 2 {
		t.Errorf("exit %d, want 2 (an unexpected error)", code)
	}
	out := screen.String()
	if strings.Count(out, "\n") != 1 || strings.Contains(out, "goroutine") || !strings.Contains(out, "internal error: boom") {
		t.Fatalf("the engineer sees:\n%s", out)
	}
	path := regexp.MustCompile(`details are in (\S+crash-\S+\.txt)`).FindStringSubmatch(out)
	if path == nil {
		t.Fatalf("no crash file named: %s", out)
	}
	data, err := os.ReadFile(path[1])
	if err != nil || !strings.Contains(string(data), "panic: boom") || !strings.Contains(string(data), "goroutine") {
		t.Fatalf("crash file %s: %v\n%s", path[1], err, data)
	}
	if st, _ := os.Stat(path[1]); st.Mode().Perm() != 0o600 {
		t.Errorf("crash file mode %v, want 0600", st.Mode().Perm())
	}
	if code := guarded(&screen, func() int { return 7 }); code != 7 {
		t.Errorf("a normal run's code was changed to %d", code)
	}
}
