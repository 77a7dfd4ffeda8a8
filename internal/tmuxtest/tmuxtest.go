// Package tmuxtest runs a program on a real terminal, tmux, the way a person
// would: keys are sent, the screen is read back. Each session has its own
// tmux server (a private socket), so tests can run in parallel and never
// touch a developer's tmux.
package tmuxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgrescue/internal/testtool"
)

// Session is one program running in a tmux pane of a given size.
type Session struct {
	t      testing.TB
	tmux   string
	socket string
	status string // where the wrapper shell writes the exit status
}

// Options describe the terminal and the program's environment.
type Options struct {
	Width, Height int      // 80x24 when zero
	Env           []string // the program's whole environment, besides TERM (PATH is added when absent)
	Term          string   // TERM; screen-256color when empty
	Dir           string   // working directory
}

// Start runs argv in a new tmux server. The pane stays after the program
// exits so that its last screen and exit status can be read.
func Start(t testing.TB, opts Options, argv ...string) *Session {
	t.Helper()
	s := &Session{t: t, tmux: testtool.Need(t, "tmux")}
	dir, err := os.MkdirTemp("", "tmux")
	if err != nil {
		t.Fatal(err)
	}
	s.socket = filepath.Join(dir, "s")
	conf := filepath.Join(dir, "tmux.conf")
	// No status line: the program gets the whole Height. remain-on-exit
	// keeps the final screen; a big history keeps what scrolled away.
	os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\nset -sg escape-time 0\n"), 0o600)
	width, height := opts.Width, opts.Height
	if width == 0 {
		width, height = 80, 24
	}
	term := opts.Term
	if term == "" {
		term = "screen-256color"
	}
	env := append([]string{"TERM=" + term}, opts.Env...)
	if !hasVar(env, "PATH") {
		env = append(env, "PATH="+os.Getenv("PATH"))
	}
	// tmux 3.3 sometimes marks a pane dead without its exit status, so a
	// shell records the status in a file. Its INT trap runs a command, so
	// the program gets ctrl+c with the default disposition.
	s.status = filepath.Join(dir, "status")
	wrapper := `trap true INT; "$@"; echo $? > "$0.tmp" && mv "$0.tmp" "$0"`
	command := append(append(append([]string{"env", "-i"}, env...), "/bin/sh", "-c", wrapper, s.status), argv...)
	args := []string{"-f", conf, "new-session", "-d", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height)}
	if opts.Dir != "" {
		args = append(args, "-c", opts.Dir)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", s.Screen())
		}
		exec.Command(s.tmux, "-S", s.socket, "kill-server").Run()
		os.RemoveAll(dir)
	})
	s.run(append(args, "--", shellJoin(command))...)
	return s
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// shellJoin quotes words for the shell tmux runs the command with.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

func (s *Session) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command(s.tmux, append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v %s", args, err, out)
	}
	return string(out)
}

// Keys sends tmux key names: "Enter", "Escape", "C-c", "Down", "q"...
func (s *Session) Keys(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

// Type sends text literally, as typed.
func (s *Session) Type(text string) {
	s.t.Helper()
	s.run("send-keys", "-t", "0", "-l", text)
}

// Resize changes the terminal's size, as a person resizing the window.
func (s *Session) Resize(width, height int) {
	s.t.Helper()
	s.run("resize-window", "-t", "0", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}

// Screen is the visible text of the pane, without colours.
func (s *Session) Screen() string {
	out, err := exec.Command(s.tmux, "-S", s.socket, "capture-pane", "-p", "-t", "0").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(no screen: %v %s)", err, out)
	}
	return string(out)
}

// History is everything the pane showed, including what scrolled away.
func (s *Session) History() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-S", "-", "-t", "0")
}

// WaitFor waits until the screen shows text and returns that screen; it
// fails the test, showing the screen, when timeout passes first.
func (s *Session) WaitFor(text string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := s.Screen()
		if strings.Contains(screen, text) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %v the screen does not show %q:\n%s", timeout, text, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Hangup closes the terminal, as a dropped SSH session does: tmux sends
// SIGHUP to the program (and to the shell around it, so no exit status is
// recorded: watch the program's traces instead).
func (s *Session) Hangup() { s.run("kill-session") }

// Exited reports whether the program has ended, and its exit status (128+N
// for a signal N, as a shell reports it).
func (s *Session) Exited() (bool, int) {
	s.t.Helper()
	data, err := os.ReadFile(s.status)
	if err != nil {
		return false, 0
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		s.t.Fatalf("exit status file %s holds %q", s.status, data)
	}
	return true, code
}

// WaitExit waits for the program to end and returns its exit status.
func (s *Session) WaitExit(timeout time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if done, code := s.Exited(); done {
			return code
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the program is still running after %v:\n%s", timeout, s.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ScreenWithStyles is the visible pane with its colour and style escape
// sequences, to check what a program draws, e.g. no colour with NO_COLOR.
func (s *Session) ScreenWithStyles() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-e", "-t", "0")
}
