package recovery

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// TestRunningServerIsPostgreSQLsRule: a live PID is a running server, a
// dead one a stale file that is no obstacle, no file no server, and a file
// that names no PID an error that RefuseLive turns into a refusal.
func TestRunningServerIsPostgreSQLsRule(t *testing.T) {
	for name, tc := range map[string]struct {
		pidFile string // "" writes none
		want    ServerStatus
		wantErr bool
	}{
		"running":   {pidFile: strconv.Itoa(os.Getpid()) + "\n/data\n", want: ServerStatus{PID: os.Getpid(), Running: true}},
		"stale":     {pidFile: strconv.Itoa(testtool.DeadPID(t)) + "\n", want: ServerStatus{PID: testtool.DeadPID(t)}},
		"none":      {},
		"malformed": {pidFile: "postgres\n", wantErr: true},
		"empty":     {pidFile: "\n", wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.pidFile != "" {
				writeFile(t, filepath.Join(dir, "postmaster.pid"), tc.pidFile)
			}
			got, err := RunningServer(dir)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("RunningServer = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
			refusal := RefuseLive(dir, "restore into it")
			if refuses := tc.want.Running || tc.wantErr; refuses != (refusal != nil) {
				t.Fatalf("RefuseLive = %v, want a refusal: %v", refusal, refuses)
			}
			if refusal != nil && !problem.Is(refusal, problem.DataDirInUse) {
				t.Errorf("refusal of kind %v: %v", problem.KindOf(refusal), refusal)
			}
		})
	}
}
