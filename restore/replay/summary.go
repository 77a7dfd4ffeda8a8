package replay

import (
	"fmt"
	"time"

	"pgrescue/restore/wale"
)

// Summary is what the replay achieved, as the lines every front-end ends
// with: "[x]" for what was done, "[!]" for what to read, and indented
// lines that belong to the one above.
func (r *Result) Summary() []string {
	var lines []string
	if r.StoppedAt != "" {
		lines = append(lines, "[x] recovery stopped "+r.StoppedAt)
	}
	if r.LastCommit != "" {
		lines = append(lines, "[x] last transaction replayed at "+r.LastCommit)
	}
	redo := ""
	if r.RedoDone != "" {
		redo = "redo done at " + r.RedoDone + "; "
	}
	lines = append(lines, fmt.Sprintf("[x] %s%d WAL segments replayed in %s; new timeline %d", redo, r.Restored, r.Duration.Round(time.Second), r.Timeline))
	if st := r.Prefetch; st.Requests > 0 {
		lines = append(lines, fmt.Sprintf("[x] prefetch: %d requests, %d ready before asked, %d waited, %d fetched in-band, %s staged",
			st.Requests, st.Hits, st.Waits, st.Inline, wale.HumanBytes(st.Bytes)))
	}
	if s := r.Server; s != nil {
		lines = append(lines, fmt.Sprintf("[x] the server is running: psql -h %s -p %d -U %s", s.SocketDir, s.Port, s.Owner.Name),
			"    stop it: "+s.StopCommand("fast").Line)
		if s.LogFile != "" {
			lines = append(lines, "    its log, with the whole replay: "+s.LogFile)
		}
	}
	for _, w := range r.Warnings {
		lines = append(lines, "[!] "+w)
	}
	return lines
}
