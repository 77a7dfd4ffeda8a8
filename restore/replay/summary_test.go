package replay

import (
	"strings"
	"testing"

	"pgrescue/restore/recovery"
)

// TestTheSummaryKeepsTheServerLog: the replay's log is where the whole
// story of the recovery is; the summary names it after the server is up.
func TestTheSummaryKeepsTheServerLog(t *testing.T) {
	r := &Result{Restored: 6, Timeline: 2, RedoDone: "0/19000028", Server: &recovery.Server{DataDir: "/srv/main", SocketDir: "/tmp/pgrescue-x", Port: 54320,
		Owner: recovery.Owner{Name: "postgres"}, BinDir: "/usr/lib/postgresql/15/bin", LogFile: "/srv/main.pgrescue.log"}}
	text := strings.Join(r.Summary(), "\n")
	for _, want := range []string{"redo done at 0/19000028; 6 WAL segments replayed", "psql -h /tmp/pgrescue-x -p 54320 -U postgres",
		"its log, with the whole replay: /srv/main.pgrescue.log", "&& rmdir /tmp/pgrescue-x"} {
		if !strings.Contains(text, want) {
			t.Errorf("the summary lacks %q:\n%s", want, text)
		}
	}
}
