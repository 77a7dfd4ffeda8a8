package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"pgrescue/restore/wale"
)

// progressPrinter renders fetch events on stderr: one rewritten line on a
// terminal, a line every few seconds otherwise (logs, pipes).
type progressPrinter struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	last     time.Time
	drawn    bool
}

func newProgressPrinter(w io.Writer, terminal bool) *progressPrinter {
	return &progressPrinter{w: w, terminal: terminal}
}

func (p *progressPrinter) event(e wale.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := e.(type) {
	case wale.BackupChosen:
		p.line(fmt.Sprintf("backup %s (completed %s)", e.Backup.Name, e.Backup.LastModifiedString()))
	case wale.MovedAside:
		p.line(fmt.Sprintf("moved the old data directory aside: %s -> %s", e.From, e.To))
	case wale.FetchStarted:
		p.line(fmt.Sprintf("fetching %d partition(s), %s stored, %s expanded, %d at a time",
			e.Partitions, wale.HumanBytes(e.CompressedBytes), wale.HumanBytes(e.ExpandedBytes), e.Workers))
	case wale.Warning:
		p.line("warning: " + e.Message)
	case wale.FetchProgress:
		if p.terminal {
			fmt.Fprintf(p.w, "\r\033[K%s", e.String())
			p.drawn = true
		} else if time.Since(p.last) >= 5*time.Second {
			fmt.Fprintln(p.w, e.String())
			p.last = time.Now()
		}
	}
}

func (p *progressPrinter) line(s string) {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, s)
}

func (p *progressPrinter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// stderrIsTerminal decides between a rewriting progress line and log lines.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
