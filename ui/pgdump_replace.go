package ui

import (
	"context"
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"pgrescue/problem"
	"pgrescue/restore/pgdump"
)

// dumpReplacePage puts the verified restore in place of the live database:
// the live one is renamed <db>_before_<time> (kept), the restored one takes
// its name. PostgreSQL renames no database in use: connected sessions are
// listed, and ending them takes a second, deliberate key.
type dumpReplacePage struct {
	basePage
	flow      *pgDumpFlow
	plan      *pgdump.Plan
	job       *job
	swap      *pgdump.Swap
	err       error
	terminate bool // t was pressed once: the next t ends the sessions
}

func (r *dumpReplacePage) Crumb() string { return "Replace" }
func (r *dumpReplacePage) Sealed() bool  { return true }

func (r *dumpReplacePage) Keys() []key.Binding {
	if r.sessionsInTheWay() {
		return []key.Binding{binding("w", "check the sessions again", "w"), binding("t", "end them and replace", "t"), keyQuit}
	}
	if r.job == nil {
		return []key.Binding{keyQuit}
	}
	return nil
}

func (r *dumpReplacePage) sessionsInTheWay() bool {
	return r.job == nil && problem.Is(r.err, problem.SessionsConnected)
}

func (r *dumpReplacePage) start(m *Model, terminate bool) tea.Cmd {
	r.err, r.terminate = nil, false
	if terminate {
		m.deps.Journal.Event("replace", "ending the sessions on "+r.plan.Database)
		m.say("Ending the sessions on %s, then renaming…", r.plan.Database)
	} else {
		m.say("Putting %s in place of %s…", r.plan.Into, r.plan.Database)
	}
	backend, plan := m.deps.PgDump, r.plan
	j, cmd := m.startJob(r, func(ctx context.Context, _ func(any)) any {
		swap, err := backend.Replace(ctx, plan, terminate)
		return swapDone{swap, err}
	})
	r.job = j
	return cmd
}

type swapDone struct {
	swap *pgdump.Swap
	err  error
}

func (r *dumpReplacePage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		r.job = nil
		d := msg.result.(swapDone)
		return r.finished(m, d)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "w":
			if r.sessionsInTheWay() {
				return r.start(m, false)
			}
		case "t":
			if r.sessionsInTheWay() {
				if r.terminate {
					return r.start(m, true)
				}
				r.terminate = true
			}
		case "q":
			if r.job == nil {
				return m.quit()
			}
		}
	}
	return nil
}

func (r *dumpReplacePage) finished(m *Model, d swapDone) tea.Cmd {
	r.swap, r.err = d.swap, d.err
	m.outcome.Err = d.err
	if d.err != nil {
		m.deps.Journal.Event("replace", d.err.Error())
		m.say("%s", d.err.Error())
		m.outcome.Summary += "The restored database was not put in place: " + d.err.Error() + "\n"
		if m.plain() && !r.sessionsInTheWay() {
			return m.end(d.err)
		}
		return nil
	}
	text := r.doneText()
	m.deps.Journal.Event("replace", text)
	m.say("%s", text)
	m.outcome.Summary += text + "\n"
	if m.plain() {
		return m.end(nil)
	}
	return nil
}

func (r *dumpReplacePage) doneText() string {
	if r.swap.Before == "" {
		return r.swap.Database + " is now the restored database (there was none of that name)."
	}
	return r.swap.Database + " is now the restored database; the one it replaced is kept as " + r.swap.Before + ": drop it yourself once the application is verified."
}

// Ask: with sessions in the way, w, t (twice: the second time is asked as
// its own question) or q.
func (r *dumpReplacePage) Ask(m *Model) *Question {
	if !r.sessionsInTheWay() {
		return nil
	}
	if r.terminate {
		return &Question{Text: "Type t again to end those sessions (the application's connections drop and reconnect)"}
	}
	return &Question{Text: "Type w to check the sessions again, t to end them and replace, or q to leave " + r.plan.Database + " as it is"}
}

func (r *dumpReplacePage) Answer(m *Model, a Answer) tea.Cmd {
	switch a.Text {
	case "w":
		return r.start(m, false)
	case "t":
		if r.terminate {
			return r.start(m, true)
		}
		r.terminate = true
		return nil
	}
	return m.end(r.err)
}

func (r *dumpReplacePage) View(m *Model) string {
	w := m.width - 2
	var b strings.Builder
	b.WriteString(m.st.Bold.Render(wrapWords("Putting "+r.plan.Into+" in place of "+r.plan.Database, w)) + "\n\n")
	switch {
	case r.job != nil:
		b.WriteString(m.st.Running.Render("Renaming…") + "\n")
	case r.err != nil:
		var pe *problem.Error
		if errors.As(r.err, &pe) && pe.Kind == problem.SessionsConnected {
			b.WriteString(m.st.Warn.Render(wrapWords(pe.Summary+".", w)) + "\n")
			for _, s := range strings.Split(pe.Detail, "; ") {
				b.WriteString("  " + indentAfterFirst(wrapWords(s, w-4), 4) + "\n")
			}
			b.WriteString("\n" + wrapWords("Stop the application (or its workers) and press w, or press t to end these sessions.", w) + "\n")
			if r.terminate {
				b.WriteString(m.st.Danger.Render(wrapWords("Press t again to end them: the application's connections drop and reconnect.", w)) + "\n")
			}
		} else {
			b.WriteString(m.st.Error.Render(wrapWords(r.err.Error(), w)) + "\n")
		}
	case r.swap != nil:
		b.WriteString(m.st.OK.Render(wrapWords(r.doneText(), w)) + "\n")
	}
	return b.String()
}
