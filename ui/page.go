package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Page is one screen of the wizard. The root model routes messages to the
// page on top of its stack and draws the frame around it; everything else
// belongs to the page: its keys, its focus, its breadcrumb label, whether
// it is taking text, and what it asks when the wizard runs line by line.
// Pages belong to flows (flow_*.go), which push them in order and hold
// what they gather; a page never reaches into another flow's pages.
type Page interface {
	// Crumb is the page's name in the breadcrumb and the window title.
	Crumb() string
	// Keys are the page's own keys, for the footer and the help screen.
	Keys() []key.Binding
	// Typing reports a focused text field: "?" and letters are text there.
	Typing() bool
	// Focus is called whenever the page comes on top: pushed, or returned
	// to with esc.
	Focus(m *Model) tea.Cmd
	Update(m *Model, msg tea.Msg) tea.Cmd
	View(m *Model) string
}

// Asker is how a page takes part in plain mode (pgrescue --plain, TERM=dumb,
// no terminal): the line renderer asks its Question, reads one answer and
// gives it back, and the page handles it with the same transitions as its
// keys. A page with nothing to ask (work running, or the end) returns nil.
// Sentences a page prints in plain mode go through Model.say.
type Asker interface {
	Ask(m *Model) *Question
	Answer(m *Model, a Answer) tea.Cmd
}

// Question is one line-mode question: a numbered choice when Options is
// set, else free text.
type Question struct {
	Text    string
	Options []string
	Default int    // the option chosen by an empty answer
	Secret  bool   // read without echo on a terminal
	Fill    string // the text used for an empty answer
}

// Answer is what the engineer typed: the option's index for a choice.
type Answer struct {
	Text   string
	Choice int
}

// Optional page behaviour, found by type assertion.
type (
	// ahead lists the pages expected after this one, for the breadcrumb.
	ahead interface{ Ahead() []string }
	// sealed pages cannot be left with esc: the work they show has started.
	sealed interface{ Sealed() bool }
	// interrupter pages handle ctrl+c themselves, to stop their work cleanly.
	interrupter interface{ Interrupt(m *Model) tea.Cmd }
	// abandoner pages have work to stop when the program loop ended under
	// them (a SIGTERM, a lost terminal): Abandon cancels and waits.
	abandoner interface {
		Abandon(m *Model, wait func(*job) bool)
	}
)

// basePage gives a page the usual answers; pages embed it and override.
type basePage struct {
	next []string // the breadcrumb after this page
}

func (basePage) Typing() bool           { return false }
func (basePage) Focus(*Model) tea.Cmd   { return nil }
func (b basePage) Ahead() []string      { return b.next }
func (basePage) Keys() []key.Binding    { return nil }
func (b *basePage) setAhead(n []string) { b.next = n }

// binding is a key with its help line: the footer, the help screen and the
// page's key handling read the same table.
func binding(help, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
}

// Keys every list page shares.
var (
	keyChoose   = binding("up/down", "choose", "up", "down", "k", "j")
	keyContinue = binding("enter", "continue", "enter")
	keyScroll   = binding("up/down", "scroll", "up", "down", "k", "j", "pgup", "pgdown", "space")
	keyQuit     = binding("q", "quit", "q")
)
