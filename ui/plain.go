package ui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/term"

	"pgrescue/problem"
)

// RunPlain is the wizard as line-by-line questions and answers, for a
// screen reader, a pipe or TERM=dumb. It drives the same pages and flows
// as the full screen: each page asks its Question, every state change is
// printed once as a full sentence (Model.say), with no colour and no cursor
// movement. Work runs as it would under Bubble Tea, one command at a time.
func RunPlain(deps Deps, in io.Reader, out io.Writer) Outcome {
	m := New(deps)
	m.lines = out
	l := &lineRenderer{m: m, in: bufio.NewReader(in), out: out}
	l.inFile, _ = in.(*os.File)
	m.say("pgrescue: PostgreSQL restore wizard (plain mode).")
	if deps.DryRun {
		m.say("DRY RUN: nothing will be changed.")
	}
	if err := l.run(); err != nil {
		m.outcome.Err = err
		if errors.Is(err, io.EOF) {
			m.outcome.Err = problem.New(problem.Usage, "standard input", "the answers ended before the restore could start", "answer every question; nothing was changed")
		}
	}
	m.Wait(2 * time.Minute) // work still stopping must finish cleaning up before the program ends
	return m.outcome
}

// lineRenderer asks the page on top until a page has nothing more to ask
// or the wizard quits. It knows no page and no flow.
type lineRenderer struct {
	m      *Model
	in     *bufio.Reader
	inFile *os.File
	out    io.Writer
}

func (l *lineRenderer) run() error {
	if runCommands(l.m, l.m.Init()) {
		return nil
	}
	for {
		asker, ok := l.m.top().(Asker)
		if !ok {
			return nil
		}
		q := asker.Ask(l.m)
		if q == nil {
			return nil // the flow has ended: its last page only shows
		}
		a, err := l.ask(q)
		if err != nil {
			return err
		}
		if runCommands(l.m, asker.Answer(l.m, a)) {
			return nil
		}
	}
}

// runCommands runs a command as Bubble Tea would, one at a time, feeding
// its messages back to the model until nothing is left to do; it reports
// a quit. Jobs run to their end: their listens block until the next batch.
func runCommands(m *Model, cmd tea.Cmd) (quit bool) {
	_, quit = runCommandsUntil(m, cmd, func() bool { return false })
	return quit
}

// runCommandsUntil is runCommands that stops early once done reports
// true, returning the commands still to run.
func runCommandsUntil(m *Model, cmd tea.Cmd, done func() bool) (rest []tea.Cmd, quit bool) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 && !done() {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case tea.QuitMsg:
			return queue, true
		default:
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
	return queue, false
}

// ask puts one question: a numbered choice, a secret or a line of text.
func (l *lineRenderer) ask(q *Question) (Answer, error) {
	switch {
	case len(q.Options) > 0:
		n, err := l.choose(q)
		return Answer{Choice: n}, err
	case q.Secret:
		secret, err := l.readSecret(q.Text)
		a := Answer{Text: string(secret)}
		clear(secret)
		return a, err
	}
	text, err := l.line(q.Text, q.Fill)
	return Answer{Text: text}, err
}

// line prints a question and reads one answer line; fill is used for an
// empty answer.
func (l *lineRenderer) line(question, fill string) (string, error) {
	if fill != "" {
		question += " [" + fill + "]"
	}
	fmt.Fprint(l.out, question+": ")
	text, err := l.in.ReadString('\n')
	if err != nil && (err != io.EOF || text == "") {
		fmt.Fprintln(l.out)
		return "", err
	}
	if answer := strings.TrimSpace(text); answer != "" {
		return answer, nil
	}
	return fill, nil
}

// choose lists the options and asks again until the answer is one of them.
func (l *lineRenderer) choose(q *Question) (int, error) {
	for i, o := range q.Options {
		fmt.Fprintf(l.out, "  %d) %s\n", i+1, o)
	}
	for {
		answer, err := l.line(q.Text, strconv.Itoa(q.Default+1))
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(q.Options) {
			return n - 1, nil
		}
		fmt.Fprintf(l.out, "Please answer with a number from 1 to %d.\n", len(q.Options))
	}
}

// readSecret reads without echo on a terminal; from a pipe it reads a line
// and says it will not show it.
func (l *lineRenderer) readSecret(question string) ([]byte, error) {
	if l.inFile != nil && term.IsTerminal(int(l.inFile.Fd())) && l.in.Buffered() == 0 {
		fmt.Fprint(l.out, question+" (not shown): ")
		secret, err := term.ReadPassword(int(l.inFile.Fd()))
		fmt.Fprintln(l.out)
		return secret, err
	}
	answer, err := l.line(question+" (read from the input, not shown)", "")
	return []byte(answer), err
}
