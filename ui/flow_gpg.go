package ui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/gpg/keyring"
	"pgrescue/problem"
	"pgrescue/shellcmd"
)

// The GPG flow is the runbook's "WAL-E failing with errors about GPG": it
// names the archive's key, says whether a passphrase protects it, and
// makes it usable, unlocked in memory for this restore (the default) or
// with the runbook's passphrase removal. It is reached from the first
// screen or from the WAL-E flow, and hands back to whoever opened it.

// GPGRequest names the archive whose key the flow is about.
type GPGRequest struct {
	Envdir string // WAL-E envdir; "" for the default
}

// KeyStatus is what the GPG flow shows about the archive's key.
type KeyStatus struct {
	Where     string // the keyring or key file searched
	Key       string // the key the archive is encrypted to, as gpg names it; "" when not held
	Recipient string // the recipient key id read from an archived object
	Encrypted bool
	Protected bool
	Unlocked  bool // a passphrase is held in memory for this restore
	CanRemove bool // the key is in a GnuPG home whose passphrase pgrescue can remove
}

// GPGBackend does the GPG flow's work. Every method may be called from a
// goroutine of its own.
type GPGBackend interface {
	KeyStatus(ctx context.Context, req GPGRequest) (KeyStatus, error)
	// Unlock checks the passphrase by decrypting an archived object and
	// keeps it in memory for this process only.
	Unlock(ctx context.Context, req GPGRequest, passphrase []byte) error
	RemovePassphrase(ctx context.Context, req GPGRequest, passphrase []byte) (*keyring.Result, error)
	RemovePassphraseCommands(ctx context.Context, req GPGRequest) ([]shellcmd.Command, error)
}

// runbookGPG is the runbook's explanation, quoted where it applies.
const runbookGPG = "WAL-E does not work with password-protected GPG secret keys, but ours are. If backup restoration " +
	"is failing with errors about GPG or things not being the expected format (eg, complaining that a file doesn't " +
	"have a valid lzo or tar header), the key may be password-protected."

// maxPlainTries is how many passphrases plain mode takes before it stops:
// a script feeding the wrong one must not loop.
const maxPlainTries = 3

type gpgPhase int

const (
	gpgLoading       gpgPhase = iota
	gpgChoosing               // unlock in memory or remove the passphrase
	gpgConfirmRemove          // type "remove" to go on
	gpgPassphrase             // the masked field
	gpgWorking
	gpgDone
)

// gpgPage explains the protected key and resolves it.
type gpgPage struct {
	basePage
	req      GPGRequest
	done     func(m *Model) tea.Cmd // where the flow goes once the key is usable
	phase    gpgPhase
	status   KeyStatus
	statErr  error
	choice   int // 0 unlock, 1 remove
	input    textinput.Model
	confirm  textinput.Model
	commands []shellcmd.Command
	job      *job
	err      error
	result   string
	tries    int // passphrases refused
	offset   int // first line shown of the commands, scrolled with pgup/pgdown
}

// startGPG opens the GPG flow; done is called once the key can be used.
func startGPG(m *Model, req GPGRequest, next []string, done func(*Model) tea.Cmd) tea.Cmd {
	g := &gpgPage{req: req, done: done, input: passphraseInput(), confirm: newTextInput("remove", 20)}
	g.next = next
	return tea.Batch(m.push(g), g.load(m))
}

// startGPGFromStart opens the flow from the first screen, and comes back.
func startGPGFromStart(m *Model) tea.Cmd {
	return startGPG(m, GPGRequest{Envdir: m.deps.Defaults.Envdir}, nil, (*Model).back)
}

func passphraseInput() textinput.Model {
	in := newTextInput("", 40)
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '*'
	return in
}

// keyStatusResult and unlockResult carry the page's background results.
type keyStatusResult struct {
	status   KeyStatus
	commands []shellcmd.Command
	err      error
}

type unlockResult struct {
	message string
	err     error
}

func (g *gpgPage) load(m *Model) tea.Cmd {
	g.phase, g.err = gpgLoading, nil
	req, backend := g.req, m.deps.GPG
	j, cmd := m.startJob(g, func(ctx context.Context, _ func(any)) any {
		st, err := backend.KeyStatus(ctx, req)
		var cmds []shellcmd.Command
		if err == nil && st.CanRemove {
			cmds, _ = backend.RemovePassphraseCommands(ctx, req)
		}
		return keyStatusResult{status: st, commands: cmds, err: err}
	})
	g.job = j
	return cmd
}

func (g *gpgPage) Crumb() string { return "GPG key" }

func (g *gpgPage) Typing() bool {
	return g.phase == gpgPassphrase || g.phase == gpgConfirmRemove
}

func (g *gpgPage) Keys() []key.Binding {
	switch g.phase {
	case gpgChoosing:
		return []key.Binding{keyChoose, binding("enter", "go on with the choice", "enter")}
	case gpgPassphrase:
		return []key.Binding{binding("enter", "use this passphrase", "enter")}
	case gpgConfirmRemove:
		return []key.Binding{binding("enter", "confirm once you typed remove", "enter")}
	case gpgDone:
		return []key.Binding{keyContinue}
	}
	return nil
}

func (g *gpgPage) Update(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case jobDone:
		if g.job == nil || msg.id != g.job.id {
			return nil
		}
		return g.finished(m, msg.result)
	case jobEvents:
		if g.job != nil && msg.id == g.job.id {
			return g.job.listen()
		}
		return nil
	case tea.KeyPressMsg:
		return g.key(m, msg)
	}
	return g.updateInputs(msg)
}

func (g *gpgPage) updateInputs(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch g.phase {
	case gpgPassphrase:
		g.input, cmd = g.input.Update(msg)
	case gpgConfirmRemove:
		g.confirm, cmd = g.confirm.Update(msg)
	}
	return cmd
}

func (g *gpgPage) finished(m *Model, result any) tea.Cmd {
	switch r := result.(type) {
	case keyStatusResult:
		return g.loaded(m, r)
	case unlockResult:
		return g.unlocked(m, r)
	}
	return nil
}

func (g *gpgPage) loaded(m *Model, r keyStatusResult) tea.Cmd {
	g.status, g.statErr, g.commands = r.status, r.err, r.commands
	g.phase = gpgChoosing
	if r.err != nil {
		if m.plain() {
			return m.end(r.err)
		}
		return nil
	}
	if !r.status.Protected || r.status.Unlocked {
		g.phase = gpgDone
		g.result = "The key needs no passphrase now: nothing to do."
		return g.continueInPlain(m)
	}
	if m.plain() {
		// Line by line, the key is unlocked in memory: removing the
		// passphrase is `pgrescue gpg remove-passphrase`'s job.
		m.say("The archive's key is protected by a passphrase. The runbook: %q", runbookGPG)
		m.say("pgrescue unlocks it in memory for this restore; nothing on disk changes.")
		g.phase = gpgPassphrase
	}
	return nil
}

func (g *gpgPage) unlocked(m *Model, r unlockResult) tea.Cmd {
	g.err = r.err
	if r.err != nil {
		g.tries++
		// That it happened, never what was typed.
		m.deps.Journal.Event("gpg", fmt.Sprintf("passphrase refused (attempt %d): %s", g.tries, problem.KindOf(r.err)))
		g.phase = gpgPassphrase
		if m.plain() {
			return g.refusedInPlain(m, r.err)
		}
		return g.input.Focus()
	}
	g.phase, g.result = gpgDone, r.message
	m.deps.Journal.Event("gpg", r.message)
	m.say("%s", r.message)
	return g.continueInPlain(m)
}

// refusedInPlain asks again after a wrong passphrase, up to maxPlainTries;
// any other failure ends the session with its own error.
func (g *gpgPage) refusedInPlain(m *Model, err error) tea.Cmd {
	if !problem.Is(err, problem.WrongPassphrase) {
		return m.end(err)
	}
	m.say("That passphrase does not unlock the key.")
	if g.tries >= maxPlainTries {
		return m.end(problem.New(problem.WrongPassphrase, "GPG key", "three passphrases were refused",
			"find the passphrase (the runbook keeps it with the secrets) and run pgrescue again"))
	}
	return nil
}

// continueInPlain goes on by itself in plain mode, where there is no
// screen to read before pressing enter.
func (g *gpgPage) continueInPlain(m *Model) tea.Cmd {
	if m.plain() {
		return g.done(m)
	}
	return nil
}

func (g *gpgPage) Ask(m *Model) *Question {
	if g.phase != gpgPassphrase {
		return nil
	}
	return &Question{Text: "Passphrase", Secret: true}
}

func (g *gpgPage) Answer(m *Model, a Answer) tea.Cmd {
	g.input.SetValue(a.Text)
	return g.submit(m)
}

func (g *gpgPage) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "pgup":
		g.offset = max(g.offset-5, 0)
		return nil
	case "pgdown":
		g.offset += 5
		return nil
	}
	switch g.phase {
	case gpgChoosing:
		return g.chooseKey(k)
	case gpgConfirmRemove:
		if k.String() == "enter" {
			return g.confirmRemoval()
		}
	case gpgPassphrase:
		if k.String() == "enter" {
			return g.submit(m)
		}
	case gpgDone:
		if k.String() == "enter" {
			return g.done(m)
		}
		return nil
	}
	return g.updateInputs(k)
}

func (g *gpgPage) confirmRemoval() tea.Cmd {
	if strings.TrimSpace(g.confirm.Value()) != "remove" {
		g.err = errTyped("type remove to confirm; anything else keeps the passphrase")
		return nil
	}
	g.err = nil
	g.confirm.Blur()
	g.phase = gpgPassphrase
	return g.input.Focus()
}

func (g *gpgPage) chooseKey(k tea.KeyPressMsg) tea.Cmd {
	options := 1
	if g.status.CanRemove {
		options = 2
	}
	switch k.String() {
	case "up", "k":
		g.choice = max(g.choice-1, 0)
	case "down", "j":
		g.choice = min(g.choice+1, options-1)
	case "enter":
		g.err = nil
		if g.choice == 1 {
			g.phase = gpgConfirmRemove
			g.confirm.SetValue("")
			return g.confirm.Focus()
		}
		g.phase = gpgPassphrase
		return g.input.Focus()
	}
	return nil
}

// submit hands the passphrase to the backend and wipes the field: the
// bytes live only in the backend's memory from here on.
func (g *gpgPage) submit(m *Model) tea.Cmd {
	passphrase := []byte(g.input.Value())
	g.input.Reset()
	g.input.Blur()
	g.phase = gpgWorking
	req, backend, remove := g.req, m.deps.GPG, g.choice == 1
	if remove && m.deps.DryRun {
		clear(passphrase)
		g.phase = gpgDone
		g.result = "Dry run: the passphrase was not removed. The commands above would remove it."
		return nil
	}
	j, cmd := m.startJob(g, func(ctx context.Context, _ func(any)) any {
		defer clear(passphrase)
		if remove {
			res, err := backend.RemovePassphrase(ctx, req, passphrase)
			return unlockResult{message: removedMessage(res), err: err}
		}
		err := backend.Unlock(ctx, req, passphrase)
		return unlockResult{message: "Unlocked in memory for this restore: an archived object decrypted with it. Nothing on disk changed.", err: err}
	})
	g.job = j
	return cmd
}

func removedMessage(res *keyring.Result) string {
	if res == nil {
		return ""
	}
	msg := "The passphrase was removed from key " + res.Key.String() + "."
	if res.Backup != "" {
		msg += " The keyring was backed up first to " + res.Backup + "."
	}
	if res.Verified != "" {
		msg += " Verified: " + res.Verified + "."
	}
	return msg + " Put it back after the restore: pgrescue gpg restore-passphrase."
}

type errTyped string

func (e errTyped) Error() string { return string(e) }

func (g *gpgPage) View(m *Model) string {
	var b strings.Builder
	w := m.width - 2
	b.WriteString(m.st.Bold.Render("The archive's GPG key") + "\n\n")
	if g.phase == gpgLoading {
		return b.String() + m.st.Running.Render("Reading the keyring…") + "\n"
	}
	if g.statErr != nil {
		return b.String() + m.st.Fail.Render("Cannot read the key: ") + wrapWords(g.statErr.Error(), w) + "\n"
	}
	s := g.status
	b.WriteString("  Searched    " + s.Where + "\n")
	if s.Recipient != "" {
		b.WriteString("  Archive     encrypted to " + s.Recipient + "\n")
	}
	if s.Key != "" {
		b.WriteString("  Key         " + s.Key + "\n")
	}
	protection := "no passphrase"
	if s.Protected {
		protection = "protected by a passphrase"
	}
	b.WriteString("  Protection  " + protection + "\n\n")
	if s.Protected {
		b.WriteString(wrapWords(m.st.Faint.Render("The runbook: \""+runbookGPG+"\""), w) + "\n\n")
	}
	b.WriteString(g.phaseView(m, w))
	if g.err != nil {
		b.WriteString("\n" + m.st.Error.Render(wrapWords(g.err.Error(), w)) + "\n")
	}
	if g.showsCommands(m) {
		room := m.bodyHeight() - strings.Count(b.String(), "\n") - 2
		b.WriteString("\n" + m.st.Faint.Render("The same by hand (pgup/pgdown to scroll):") + "\n")
		b.WriteString(scrollLines(commandsView(m, g.commands, w), &g.offset, room) + "\n")
	}
	return b.String()
}

func (g *gpgPage) phaseView(m *Model, w int) string {
	switch g.phase {
	case gpgChoosing:
		return g.choicesView(m, w)
	case gpgConfirmRemove:
		return wrapWords("Removing the passphrase changes the keyring on disk (after a backup). Type remove and press enter to go on:", w) +
			"\n" + g.confirm.View() + "\n"
	case gpgPassphrase:
		what := "unlock the key in memory"
		if g.choice == 1 {
			what = "remove it"
		}
		return "Passphrase (kept in memory only, never shown or written), to " + what + ":\n" + g.input.View() + "\n"
	case gpgWorking:
		return m.st.Running.Render("Checking the passphrase against an archived object…") + "\n"
	case gpgDone:
		return m.st.OK.Render(wrapWords(g.result, w)) + "\n\nPress enter to continue.\n"
	}
	return ""
}

func (g *gpgPage) choicesView(m *Model, w int) string {
	options := []string{"Unlock it in memory for this restore (recommended): nothing on disk changes."}
	if g.status.CanRemove {
		options = append(options, "Remove the passphrase from the keyring (the runbook's fix, only if WAL-E itself must run): backed up first.")
	}
	var b strings.Builder
	for i, o := range options {
		b.WriteString(choiceLine(m, o, i == g.choice, w) + "\n")
	}
	return b.String()
}

// showsCommands: the removal's commands are shown while it is chosen, and
// after a dry run that only showed them.
func (g *gpgPage) showsCommands(m *Model) bool {
	if g.choice != 1 || len(g.commands) == 0 {
		return false
	}
	return g.phase == gpgChoosing || g.phase == gpgConfirmRemove || (g.phase == gpgDone && m.deps.DryRun)
}

// commandsView renders shell commands with their reasons, as comments.
func commandsView(m *Model, cmds []shellcmd.Command, w int) string {
	var b strings.Builder
	for _, c := range cmds {
		if c.Why != "" {
			b.WriteString(m.st.Why.Render(wrapWords("# "+c.Why, w-4)) + "\n")
		}
		b.WriteString(m.st.Command.Render(wrapWords("$ "+c.Line, w-4)) + "\n")
	}
	return indent(strings.TrimRight(b.String(), "\n"), 4) + "\n"
}
