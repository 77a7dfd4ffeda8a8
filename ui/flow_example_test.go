package ui

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/internal/walefixture"
)

// This file is a restore path written as a new flow is: its own backend
// interface, its own state, two pages. It is added to the wizard by one
// line (the append in withExamplePath, standing for the line a real flow
// adds to selfManagedPaths) and works on the full screen and line by line
// without any change to the root model or the line renderer.

type exampleBackend interface {
	Restore(ctx context.Context, database string) (string, error)
}

type echoBackend struct{}

func (echoBackend) Restore(_ context.Context, database string) (string, error) {
	return "restored " + database + " from the example archive", nil
}

type exampleFlow struct {
	backend  exampleBackend
	database string
}

func startExample(m *Model, _ Selection) tea.Cmd {
	f := &exampleFlow{backend: echoBackend{}}
	return m.push(&exampleAskPage{flow: f, input: newTextInput("database", 30)})
}

// exampleAskPage takes the database's name.
type exampleAskPage struct {
	basePage
	flow  *exampleFlow
	input textinput.Model
}

func (p *exampleAskPage) Crumb() string          { return "Database" }
func (p *exampleAskPage) Ahead() []string        { return []string{"Result"} }
func (p *exampleAskPage) Typing() bool           { return true }
func (p *exampleAskPage) Focus(m *Model) tea.Cmd { return p.input.Focus() }
func (p *exampleAskPage) Keys() []key.Binding {
	return []key.Binding{binding("enter", "restore it", "enter")}
}

func (p *exampleAskPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == "enter" {
		return p.chosen(m, p.input.Value())
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

func (p *exampleAskPage) chosen(m *Model, name string) tea.Cmd {
	p.flow.database = name
	r := &exampleResultPage{flow: p.flow}
	focus := m.push(r)
	backend := p.flow.backend
	j, cmd := m.startJob(r, func(ctx context.Context, _ func(any)) any {
		text, err := backend.Restore(ctx, name)
		if err != nil {
			return err.Error()
		}
		return text
	})
	r.job = j
	return tea.Batch(focus, cmd)
}

func (p *exampleAskPage) View(m *Model) string {
	return "Which database?\n" + p.input.View() + "\n"
}

func (p *exampleAskPage) Ask(m *Model) *Question { return &Question{Text: "Database"} }

func (p *exampleAskPage) Answer(m *Model, a Answer) tea.Cmd { return p.chosen(m, a.Text) }

// exampleResultPage shows the backend's work.
type exampleResultPage struct {
	basePage
	flow   *exampleFlow
	job    *job
	result string
}

func (r *exampleResultPage) Crumb() string { return "Result" }

func (r *exampleResultPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	if done, ok := msg.(jobDone); ok && r.job != nil && done.id == r.job.id {
		r.result = done.result.(string)
		m.say("%s", r.result)
		m.outcome.Summary = r.result + "\n"
	}
	return nil
}

func (r *exampleResultPage) View(m *Model) string {
	if r.result == "" {
		return "Restoring " + r.flow.database + "…\n"
	}
	return r.result + "\n"
}

// withExamplePath adds the example as the last restore path for one test.
func withExamplePath(t *testing.T) {
	saved := selfManagedPaths
	selfManagedPaths = append(append([]restorePath{}, saved...), restorePath{Text: "Example archive", Start: startExample})
	t.Cleanup(func() { selfManagedPaths = saved })
}

func TestANewFlowNeedsNoChangeToTheRootOrThePlainRenderer(t *testing.T) {
	withExamplePath(t)
	m, _ := newModel(t, 100, 30)
	typeText(t, m, "content-publisher")
	press(t, m, "enter", "enter")
	for range selfManagedPaths[1:] {
		press(t, m, "down")
	}
	press(t, m, "enter")
	onTop[*exampleAskPage](t, m)
	if s := screen(m); !strings.Contains(s, "Application > Hosting > Source > [Database] > Result") || !strings.Contains(s, "enter restore it") {
		t.Fatalf("the breadcrumb or the keys are not the page's own:\n%s", s)
	}
	typeText(t, m, "content_publisher_production")
	press(t, m, "enter")
	if s := screen(m); !strings.Contains(s, "restored content_publisher_production from the example archive") {
		t.Fatalf("the result is not shown:\n%s", s)
	}
	press(t, m, "esc")
	if got := onTop[*exampleAskPage](t, m).input.Value(); got != "content_publisher_production" {
		t.Errorf("esc lost the answer: %q", got)
	}

	var out strings.Builder
	answers := "content-publisher\n\n" + strconv.Itoa(len(selfManagedPaths)) + "\nwhitehall_production\n"
	outcome := RunPlain(plainDeps(t), strings.NewReader(answers), &out)
	if outcome.Err != nil || outcome.Summary != "restored whitehall_production from the example archive\n" {
		t.Fatalf("outcome %+v\n%s", outcome, out.String())
	}
	if !strings.Contains(out.String(), "Example archive") || !strings.Contains(out.String(), "Database: ") {
		t.Errorf("the flow was not asked line by line:\n%s", out.String())
	}
}

// plainDeps are the model tests' dependencies for a plain run.
func plainDeps(t *testing.T, change ...func(*Deps)) Deps {
	backend := newFixtureBackend(t)
	deps := Deps{WALE: backend, GPG: backend, NoColor: true, Now: func() time.Time { return fixedNow }, Context: context.Background(),
		Defaults: WALERequest{Envdir: "/etc/wal-e/env.d", PGData: goldenPGData}}
	for _, c := range change {
		c(&deps)
	}
	return deps
}

// TestPlainModeWalksTheWALEFlow: the WAL-E flow's own pages, asked line by
// line, in a dry run: the passphrase unlocks the key, the plan is printed,
// nothing runs.
func TestPlainModeWalksTheWALEFlow(t *testing.T) {
	passphrase, err := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	if err != nil {
		t.Fatal(err)
	}
	answers := strings.Join([]string{"content-publisher", "", "", "wrong", strings.TrimSpace(string(passphrase)), "", ""}, "\n") + "\n"
	var out strings.Builder
	outcome := RunPlain(plainDeps(t, func(d *Deps) { d.DryRun = true }), strings.NewReader(answers), &out)
	transcript := out.String()
	if outcome.Err != nil {
		t.Fatalf("%v\n%s", outcome.Err, transcript)
	}
	for _, want := range []string{"DRY RUN", "hosted on Carrenza", "Source [1]: ", "[WARN]", "That passphrase does not unlock the key.",
		"Unlocked in memory", "Backup [2]: ", "The plan (nothing has been changed yet):", "Dry run: nothing was run."} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if !strings.Contains(outcome.Summary, "aws s3 cp") || strings.Contains(transcript, "\x1b[") {
		t.Errorf("summary %q", outcome.Summary)
	}
}

// TestPlainModeStopsAtAWrongConfirmation: line by line, anything but the
// path typed ends the session before anything runs.
func TestPlainModeStopsAtAWrongConfirmation(t *testing.T) {
	passphrase, _ := os.ReadFile(walefixture.Path(t, "gpg-passphrase.txt"))
	answers := strings.Join([]string{"content-publisher", "", "", strings.TrimSpace(string(passphrase)), "", "", "no"}, "\n") + "\n"
	var out strings.Builder
	outcome := RunPlain(plainDeps(t), strings.NewReader(answers), &out)
	if outcome.Err == nil || !strings.Contains(outcome.Err.Error(), "not confirmed") {
		t.Fatalf("outcome %v\n%s", outcome.Err, out.String())
	}
}

// TestPlainModeEndsWhenTheAnswersDo: a pipe that ends early is a usage
// error naming standard input, never a hang.
func TestPlainModeEndsWhenTheAnswersDo(t *testing.T) {
	var out strings.Builder
	outcome := RunPlain(plainDeps(t), strings.NewReader("content-publisher\n"), &out)
	if outcome.Err == nil || !strings.Contains(outcome.Err.Error(), "standard input") {
		t.Fatalf("outcome %v\n%s", outcome.Err, out.String())
	}
}
