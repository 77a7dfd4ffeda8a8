package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"pgrescue/problem"
)

// typedName is a change that needs the name of what it changes typed: on a
// terminal, after prompt; without one, given with --confirm.
type typedName struct {
	name   string // what must be typed
	given  string // --confirm's value
	prompt string // what the change does, said before asking
	action string // "--replace", "the cut-over": what was not confirmed
	what   string // "the database's name": what to type
}

// confirm asks for the name unless --confirm gave it, and refuses any other.
func (c typedName) confirm(log io.Writer) error {
	typed := c.given
	if typed == "" && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprintf(log, "%s\nType %s to go on: ", c.prompt, c.what)
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		typed = strings.TrimSpace(line)
	}
	if typed != c.name {
		return problem.New(problem.Usage, "--confirm", c.action+" was not confirmed: the name typed is not "+c.name,
			"type "+c.what+" exactly (without a terminal, give --confirm "+c.name+")")
	}
	return nil
}
