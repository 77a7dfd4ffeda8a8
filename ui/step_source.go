package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"pgrescue/hosting"
)

// sourceStep chooses between the WAL-E archive and the legacy pg_dump,
// with the trade-offs the runbook gives.
type sourceStep struct {
	cursor int // 0 WAL-E, then one row per dump source
}

var sourceTradeOffs = []string{
	"WAL-E continuous archive in S3 (recommended): any moment after a nightly base backup, to within about " +
		"5 minutes of the last change. Restores the whole cluster of the primary.",
}

func (s *sourceStep) rows() []string {
	rows := append([]string{}, sourceTradeOffs...)
	for _, src := range hosting.DumpSources {
		rows = append(rows, "Legacy nightly pg_dump, from "+src.String()+": one database as of the last nightly dump "+
			"(03:00); everything after it is lost. Deprecated, kept until WAL-E restores are proven.")
	}
	return rows
}

func (s *sourceStep) update(m *Model, msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	switch k.String() {
	case "up", "k":
		s.cursor = max(s.cursor-1, 0)
	case "down", "j":
		s.cursor = min(s.cursor+1, len(s.rows())-1)
	case "enter":
		return s.choose(m)
	}
	return nil
}

func (s *sourceStep) choose(m *Model) tea.Cmd {
	if s.cursor > 0 {
		src := hosting.DumpSources[s.cursor-1]
		m.manual.enter(m, "legacy pg_dump from "+src.String(), hosting.PgDumpSteps(m.hosting.appOrZero(), m.hosting.details, src))
		m.goTo(stepManual)
		return nil
	}
	d := m.hosting.details
	if m.req.Envdir == "" {
		m.req.Envdir = d.WALEEnvdir
	}
	if m.req.PGData == "" {
		// The data directory and its Debian cluster name one place: take
		// the cluster only with the directory it belongs to.
		m.req.PGData, m.req.Cluster = d.PGData, d.Cluster
	}
	m.goTo(stepPreflight)
	return m.pre.enter(m)
}

func (s *sourceStep) view(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render("Which backup should the restore come from?") + "\n\n")
	for i, r := range s.rows() {
		cursor := "  "
		if i == s.cursor {
			cursor = m.st.Cursor.Render("> ")
			r = m.st.Selected.Render(r)
		}
		b.WriteString(cursor + indentAfterFirst(wrapWords(r, w-2), 2) + "\n")
	}
	return b.String()
}

// indentAfterFirst indents every line but the first by n spaces.
func indentAfterFirst(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}
