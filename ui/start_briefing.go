package ui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Training turns the wizard into an exercise: a briefing first, a check of
// the restored database at the end.
type Training struct {
	Title    string   // the scenario
	Briefing string   // what happened, when, to which application, and what "restored" means
	Facts    []string // lines such as the passphrase "found in the secrets store"
	// Check queries the restored server and says whether the restore
	// achieved the briefing's goal.
	Check func(ctx context.Context, socketDir string, port int, user string) (ok bool, message string, err error)
	// CheckRDS judges an RDS exercise from the simulated account: the
	// restore's point in time, and whether the cut-over was done.
	CheckRDS func() (ok bool, message string)
	// Path is the branch of the runbook the exercise trains: it sets the
	// breadcrumb's pages to come and what the sandbox is said to hold.
	Path TrainingPath
}

// TrainingPath is the runbook's branch an exercise follows.
type TrainingPath int

const (
	TrainWALE   TrainingPath = iota // Carrenza, WAL-E: the default
	TrainPgDump                     // Carrenza, the legacy nightly pg_dump
	TrainRDS                        // AWS RDS
)

// crumbs are the pages an exercise of this path goes through.
func (p TrainingPath) crumbs() []string {
	switch p {
	case TrainPgDump:
		return append(append([]string{}, startCrumbs...), pgDumpCrumbs...)
	case TrainRDS:
		return append([]string{"Application", "Hosting"}, rdsCrumbs...)
	}
	return append(append([]string{}, startCrumbs...), waleCrumbs...)
}

// sandbox says what the exercise's sandbox holds.
func (p TrainingPath) sandbox() string {
	switch p {
	case TrainPgDump:
		return "Everything runs on this machine, in a sandbox: a real PostgreSQL with the damaged database, last night's dumps " +
			"as autopostgresqlbackup wrote them, and their offsite duplicity copy."
	case TrainRDS:
		return "Everything runs on this machine: the AWS RDS API is simulated inside pgrescue (the same calls, statuses and " +
			"events as AWS, in seconds rather than minutes), so no AWS account is touched."
	}
	return "Everything runs on this machine, in a sandbox: a real PostgreSQL, a real WAL-E archive in an S3 server " +
		"inside pgrescue, a real GPG key."
}

// briefingPage is the exercise's first screen; the clock starts when the
// trainee leaves it.
type briefingPage struct{ basePage }

func (b *briefingPage) Crumb() string { return "Briefing" }
func (b *briefingPage) Keys() []key.Binding {
	return []key.Binding{binding("enter", "start the exercise", "enter")}
}

// Focus says the briefing in plain mode, where it is the first thing read.
func (b *briefingPage) Focus(m *Model) tea.Cmd {
	t := m.deps.Training
	m.say("Training exercise: %s", t.Title)
	m.say("%s", t.Briefing)
	for _, f := range t.Facts {
		m.say("- %s", f)
	}
	return nil
}

func (b *briefingPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "enter" {
		return b.start(m)
	}
	return nil
}

func (b *briefingPage) start(m *Model) tea.Cmd {
	m.began = m.deps.Now() // the exercise's clock starts now
	return m.push(newAppPage(m))
}

func (b *briefingPage) Ask(m *Model) *Question {
	return &Question{Text: "Press enter to start the clock"}
}

func (b *briefingPage) Answer(m *Model, _ Answer) tea.Cmd { return b.start(m) }

func (b *briefingPage) View(m *Model) string {
	t := m.deps.Training
	w := m.width - 2
	var s strings.Builder
	s.WriteString(m.st.Bold.Render("Training exercise: "+t.Title) + "\n\n")
	s.WriteString(wrapWords(t.Briefing, w) + "\n\n")
	for _, f := range t.Facts {
		s.WriteString(hangingWrap("- "+f, w) + "\n")
	}
	s.WriteString("\n" + wrapWords(t.Path.sandbox()+" Follow the runbook as you would in an incident. Press enter to start the clock.", w) + "\n")
	return s.String()
}

// verdictText is the exercise's result as the trainee reads it.
func verdictText(ok bool, message string, err error, took time.Duration) string {
	tookText := "You took " + took.Round(time.Second).String() + "."
	switch {
	case err != nil:
		return "The check could not query the restored database: " + err.Error()
	case ok:
		return "Exercise passed: " + message + " " + tookText
	}
	return "Not quite: " + message + " " + tookText + " Press r to try again with a different target."
}
