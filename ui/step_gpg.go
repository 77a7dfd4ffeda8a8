package ui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"pgrescue/gpg/keyring"
	"pgrescue/shellcmd"
)

// runbookGPG is the runbook's explanation, quoted where it applies.
const runbookGPG = "WAL-E does not work with password-protected GPG secret keys, but ours are. If backup restoration " +
	"is failing with errors about GPG or things not being the expected format (eg, complaining that a file doesn't " +
	"have a valid lzo or tar header), the key may be password-protected."

type gpgPhase int

const (
	gpgLoading       gpgPhase = iota
	gpgChoosing               // unlock in memory or remove the passphrase
	gpgConfirmRemove          // type "remove" to go on
	gpgPassphrase             // the masked field
	gpgWorking
	gpgDone
)

// gpgStep explains the protected key and resolves it: unlocked in memory
// for this restore (the default), or the runbook's passphrase removal.
type gpgStep struct {
	phase     gpgPhase
	status    KeyStatus
	statErr   error
	choice    int // 0 unlock, 1 remove
	input     textinput.Model
	confirm   textinput.Model
	commands  []shellcmd.Command
	job       *job
	err       error
	result    string
	resolved  bool // the key can be used for this restore
	fromStart bool // reached from the application list: done goes back there
	offset    int  // first line shown of the commands, scrolled with pgup/pgdown
}

func newGPGStep() *gpgStep {
	return &gpgStep{input: passphraseInput(), confirm: newTextInput("remove", 20)}
}

func passphraseInput() textinput.Model {
	in := newTextInput("", 40)
	in.EchoMode = textinput.EchoPassword
	in.EchoCharacter = '*'
	return in
}

// keyStatusMsg and gpgResultMsg carry the step's background results.
type keyStatusMsg struct {
	status   KeyStatus
	commands []shellcmd.Command
	err      error
}

func (g *gpgStep) enter(m *Model) tea.Cmd {
	g.phase, g.err = gpgLoading, nil
	req, backend := m.req, m.deps.Backend
	j, cmd := startJob(m.deps.Context, func(ctx context.Context, _ func(any)) any {
		st, err := backend.KeyStatus(ctx, req)
		var cmds []shellcmd.Command
		if err == nil && st.CanRemove {
			cmds, _ = backend.RemovePassphraseCommands(ctx, req)
		}
		return keyStatusMsg{status: st, commands: cmds, err: err}
	})
	g.job = j
	return cmd
}

func (g *gpgStep) keys() [][2]string {
	switch g.phase {
	case gpgChoosing:
		return [][2]string{{"up/down", "choose"}, {"enter", "go on with the choice"}}
	case gpgPassphrase:
		return [][2]string{{"enter", "use this passphrase"}}
	case gpgConfirmRemove:
		return [][2]string{{"enter", "confirm once you typed remove"}}
	case gpgDone:
		return [][2]string{{"enter", "continue"}}
	}
	return nil
}

func (g *gpgStep) update(m *Model, msg tea.Msg) tea.Cmd {
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

func (g *gpgStep) updateInputs(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch g.phase {
	case gpgPassphrase:
		g.input, cmd = g.input.Update(msg)
	case gpgConfirmRemove:
		g.confirm, cmd = g.confirm.Update(msg)
	}
	return cmd
}

func (g *gpgStep) finished(m *Model, result any) tea.Cmd {
	switch r := result.(type) {
	case keyStatusMsg:
		g.status, g.statErr, g.commands = r.status, r.err, r.commands
		g.phase = gpgChoosing
		if r.err == nil && (!r.status.Protected || r.status.Unlocked) {
			g.phase, g.resolved = gpgDone, true
			g.result = "The key needs no passphrase now: nothing to do."
		}
	case unlockResult:
		g.err = r.err
		if r.err != nil {
			g.phase = gpgPassphrase
			return g.input.Focus()
		}
		g.phase, g.resolved, g.result = gpgDone, true, r.message
		m.deps.Journal.Event("gpg", r.message)
	}
	return nil
}

type unlockResult struct {
	message string
	err     error
}

func (g *gpgStep) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
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
			if strings.TrimSpace(g.confirm.Value()) != "remove" {
				g.err = errTyped("type remove to confirm; anything else keeps the passphrase")
				return nil
			}
			g.err = nil
			g.confirm.Blur()
			g.phase = gpgPassphrase
			return g.input.Focus()
		}
	case gpgPassphrase:
		if k.String() == "enter" {
			return g.submit(m)
		}
	case gpgDone:
		if k.String() != "enter" {
			return nil
		}
		if g.fromStart {
			g.fromStart = false
			return m.back()
		}
		return m.pre.proceed(m)
	}
	return g.updateInputs(k)
}

func (g *gpgStep) chooseKey(k tea.KeyPressMsg) tea.Cmd {
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
func (g *gpgStep) submit(m *Model) tea.Cmd {
	passphrase := []byte(g.input.Value())
	g.input.Reset()
	g.input.Blur()
	g.phase = gpgWorking
	req, backend, remove := m.req, m.deps.Backend, g.choice == 1
	if remove && m.deps.DryRun {
		clear(passphrase)
		g.phase, g.resolved = gpgDone, true
		g.result = "Dry run: the passphrase was not removed. The commands above would remove it."
		return nil
	}
	j, cmd := startJob(m.deps.Context, func(ctx context.Context, _ func(any)) any {
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

func (g *gpgStep) view(m *Model) string {
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

func (g *gpgStep) phaseView(m *Model, w int) string {
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

func (g *gpgStep) choicesView(m *Model, w int) string {
	options := []string{"Unlock it in memory for this restore (recommended): nothing on disk changes."}
	if g.status.CanRemove {
		options = append(options, "Remove the passphrase from the keyring (the runbook's fix, only if WAL-E itself must run): backed up first.")
	}
	var b strings.Builder
	for i, o := range options {
		cursor := "  "
		if i == g.choice {
			cursor = m.st.Cursor.Render("> ")
			o = m.st.Selected.Render(o)
		}
		b.WriteString(cursor + indentAfterFirst(wrapWords(o, w-2), 2) + "\n")
	}
	return b.String()
}

// showsCommands: the removal's commands are shown while it is chosen, and
// after a dry run that only showed them.
func (g *gpgStep) showsCommands(m *Model) bool {
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
