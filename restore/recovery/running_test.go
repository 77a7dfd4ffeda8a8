package recovery

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// TestRunningServerIsPostgreSQLsRule: a live PID is a running server (the
// test's own, or a started sleep that is no postgres at all), a dead one a
// stale file that is no obstacle, no file no server, a negative PID a
// single-user backend, and a file that names no PID or cannot be read an
// error naming the file that RefuseLive turns into a refusal.
func TestRunningServerIsPostgreSQLsRule(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	self, other, dead := os.Getpid(), sleep.Process.Pid, testtool.DeadPID(t)
	full := func(pid int) string {
		return strconv.Itoa(pid) + "\n/data\n1733280000\n5433\n/tmp/pgrescue-x\nlocalhost\n  5433001    131072\nready   \n"
	}
	for name, tc := range map[string]struct {
		pidFile string // "" writes none; "/" makes postmaster.pid a directory
		want    ServerStatus
		wantErr bool
	}{
		"running":        {pidFile: strconv.Itoa(self) + "\n/data\n", want: ServerStatus{PID: self, Running: true}},
		"running, all":   {pidFile: full(self), want: ServerStatus{PID: self, Running: true, Port: 5433, SocketDir: "/tmp/pgrescue-x"}},
		"a live sleep":   {pidFile: full(other), want: ServerStatus{PID: other, Running: true, Port: 5433, SocketDir: "/tmp/pgrescue-x"}},
		"single-user":    {pidFile: strconv.Itoa(-self) + "\n/data\n", want: ServerStatus{PID: self, Running: true, SingleUser: true}},
		"stale":          {pidFile: strconv.Itoa(dead) + "\n", want: ServerStatus{PID: dead}},
		"stale, all":     {pidFile: full(dead), want: ServerStatus{PID: dead, Port: 5433, SocketDir: "/tmp/pgrescue-x"}},
		"stale, no \\n":  {pidFile: strconv.Itoa(dead), want: ServerStatus{PID: dead}},
		"none":           {},
		"malformed":      {pidFile: "postgres\n", wantErr: true},
		"zero":           {pidFile: "0\n", wantErr: true},
		"empty":          {pidFile: "\n", wantErr: true},
		"cannot be read": {pidFile: "/", wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			pidPath := filepath.Join(dir, PIDFile)
			switch tc.pidFile {
			case "":
			case "/":
				if err := os.Mkdir(pidPath, 0o700); err != nil {
					t.Fatal(err)
				}
			default:
				writeFile(t, pidPath, tc.pidFile)
			}
			got, err := RunningServer(dir)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("RunningServer = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), pidPath) {
				t.Errorf("the error does not name %s: %v", pidPath, err)
			}
			refusal := RefuseLive(dir, "restore into it")
			if refuses := tc.want.Running || tc.wantErr; refuses != (refusal != nil) {
				t.Fatalf("RefuseLive = %v, want a refusal: %v", refusal, refuses)
			}
			if refusal == nil {
				return
			}
			if !problem.Is(refusal, problem.DataDirInUse) {
				t.Errorf("refusal of kind %v: %v", problem.KindOf(refusal), refusal)
			}
			msg := refusal.Error()
			want := []string{pidPath, "move postmaster.pid away"}
			switch {
			case tc.want.SingleUser:
				want = []string{pidPath, "PID " + strconv.Itoa(tc.want.PID), "single-user", "pg_ctl cannot stop it", "stale: move it away"}
			case tc.want.Running:
				want = []string{pidPath, "PID " + strconv.Itoa(tc.want.PID), "pg_ctl -D " + dir + " stop", "stale: move it away"}
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("the refusal does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}
