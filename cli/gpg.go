package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"pgrescue/gpg"
	"pgrescue/gpg/keyring"
	"pgrescue/problem"
	"pgrescue/session"
	"pgrescue/shellcmd"
	"pgrescue/walesettings"
)

// runbookQuote is the runbook's own explanation, quoted where it applies.
const runbookQuote = "\"WAL-E does not work with password-protected GPG secret keys, but ours are. " +
	"If backup restoration is failing with errors about GPG or things not being the expected format " +
	"(eg, complaining that a file doesn't have a valid lzo or tar header), the key may be password-protected.\""

// gpgFlags are shared by the gpg subcommands.
type gpgFlags struct {
	homedir        string
	object         string
	passphraseFile string
}

func (cl *commandLine) gpgCommand() *cobra.Command {
	g := &gpgFlags{}
	cmd := &cobra.Command{
		Use:   "gpg",
		Short: "Inspect the GPG keyring WAL-E decrypts with; remove or restore its passphrase",
		Long: "The archive's secret key lives in a GnuPG home (GnuPG 1: secring.gpg; GnuPG 2.1+: private-keys-v1.d)\n" +
			"or an exported key file. `gpg status` shows every secret key, whether it is passphrase-protected, and\n" +
			"whether it is the key the archive is encrypted to.\n\n" +
			"pgrescue itself unlocks a protected key in memory (nothing on disk changes): give the passphrase with\n" +
			"--gpg-passphrase-file or " + gpg.PassphraseEnv + ", or be asked once. Only when WAL-E itself must run,\n" +
			"`gpg remove-passphrase` does the runbook's `gpg --edit-key` / `passwd` step safely (backup first,\n" +
			"verified on a real archived object), and `gpg restore-passphrase` undoes it afterwards.",
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.homedir, "homedir", "", "GnuPG home (default GNUPGHOME, else ~postgres/.gnupg); --gpg-key FILE inspects a key file instead")
	pf.StringVar(&g.object, "object", "", "a local archived object to check the key against (default: the smallest WAL segment in the archive)")
	pf.StringVar(&g.passphraseFile, "passphrase-file", "", "file holding the passphrase (or --gpg-passphrase-file, "+gpg.PassphraseEnv+"; else you are asked)")
	cmd.AddCommand(cl.gpgStatusCommand(g), cl.gpgRemoveCommand(g), cl.gpgRestoreCommand(g))
	return cmd
}

func (cl *commandLine) gpgStatusCommand(g *gpgFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "List secret keys and their protection, and check them against the archive's recipient",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			gc, err := cl.session().OpenGPG(cmd.Context(), g.homedir, g.object)
			if err != nil {
				return err
			}
			report, err := gpgStatus(cmd.Context(), gc)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			report.writeText(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// statusReport is `gpg status`, in the shape of its JSON.
type statusReport struct {
	Keyring keyringJSON    `json:"keyring"`
	Keys    []keyJSON      `json:"keys"`
	Object  *objectJSON    `json:"object,omitempty"`
	NoCheck string         `json:"no_object_reason,omitempty"`
	KeyID   *keyIDJSON     `json:"wale_gpg_key_id,omitempty"`
	infos   []gpg.KeyInfo  // for the text output
	holder  *keyring.Match // the part the object is encrypted to, when held
}

type keyringJSON struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Owner  string `json:"owner"`
}

type keyJSON struct {
	Fingerprint string     `json:"fingerprint"`
	KeyID       string     `json:"key_id"`
	UserIDs     []string   `json:"user_ids"`
	Protected   bool       `json:"protected"`
	Parts       []partJSON `json:"parts"`
}

type partJSON struct {
	KeyID       string     `json:"key_id"`
	Fingerprint string     `json:"fingerprint"`
	Keygrip     string     `json:"keygrip,omitempty"`
	Subkey      bool       `json:"subkey"`
	Algorithm   string     `json:"algorithm"`
	Created     *time.Time `json:"created,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	Encrypt     bool       `json:"encrypt"`
	Protection  string     `json:"protection"`
}

type objectJSON struct {
	Name       string   `json:"name"`
	Encrypted  bool     `json:"encrypted"`
	Recipients []string `json:"recipients"`
	HeldBy     string   `json:"held_by,omitempty"` // fingerprint of the key holding the recipient
	Protected  bool     `json:"protected"`
}

type keyIDJSON struct {
	Value   string   `json:"value"`
	Source  string   `json:"source"`
	Matches []string `json:"matches"`
}

func gpgStatus(ctx context.Context, gc *session.GPGHome) (*statusReport, error) {
	infos, err := gc.Keyring.SecretKeys(ctx)
	if err != nil {
		return nil, err
	}
	r := &statusReport{
		Keyring: keyringJSON{Path: gc.Keyring.Path, Format: string(gc.Keyring.Format), Owner: gc.Keyring.Owner.String()},
		Keys:    []keyJSON{},
		infos:   infos,
		NoCheck: gc.NoObject,
	}
	for _, info := range infos {
		r.Keys = append(r.Keys, toKeyJSON(info))
	}
	if gc.Object != nil {
		if err := r.checkObject(gc); err != nil {
			return nil, err
		}
	}
	if v, ok := gc.Settings.Lookup(walesettings.GPGKeyID); ok && v.Value != "" {
		r.KeyID = &keyIDJSON{Value: v.Value, Source: v.Source, Matches: []string{}}
		for _, m := range keyring.MatchKeyID(infos, v.Value) {
			r.KeyID.Matches = append(r.KeyID.Matches, m.Key.Fingerprint)
		}
	}
	return r, nil
}

func (r *statusReport) checkObject(gc *session.GPGHome) error {
	recipients, err := keyring.Recipients(gc.Object, gc.ObjectName)
	if err != nil {
		return err
	}
	r.Object = &objectJSON{Name: gc.ObjectName, Encrypted: gpg.IsEncrypted(gc.Object), Recipients: []string{}}
	for _, id := range recipients {
		r.Object.Recipients = append(r.Object.Recipients, fmt.Sprintf("0x%016X", id))
		if m, ok := keyring.FindPart(r.infos, id); ok && r.holder == nil {
			r.holder = &m
			r.Object.HeldBy = m.Key.Fingerprint
			r.Object.Protected = m.Part.Protection == gpg.Protected
		}
	}
	return nil
}

func toKeyJSON(info gpg.KeyInfo) keyJSON {
	k := keyJSON{Fingerprint: info.Fingerprint, KeyID: fmt.Sprintf("0x%016X", info.KeyID), UserIDs: info.UserIDs, Protected: info.Protected}
	if k.UserIDs == nil {
		k.UserIDs = []string{}
	}
	for _, p := range info.Parts {
		k.Parts = append(k.Parts, partJSON{
			KeyID: p.LongID(), Fingerprint: p.Fingerprint, Keygrip: p.Keygrip, Subkey: p.Subkey, Algorithm: p.Algorithm,
			Created: optionalTime(p.Created), Expires: optionalTime(p.Expires), Encrypt: p.Encrypt, Protection: string(p.Protection),
		})
	}
	return k
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (r *statusReport) writeText(out io.Writer) {
	fmt.Fprintf(out, "keyring: %s (%s, owned by %s)\n", r.Keyring.Path, r.Keyring.Format, r.Keyring.Owner)
	if len(r.infos) == 0 {
		fmt.Fprintln(out, "\nno secret keys")
	}
	for _, info := range r.infos {
		writeKeyText(out, info)
	}
	fmt.Fprintln(out)
	r.writeObjectText(out)
	r.writeKeyIDText(out)
}

func writeKeyText(out io.Writer, info gpg.KeyInfo) {
	fmt.Fprintln(out)
	for i, p := range info.Parts {
		kind := "ssb"
		if !p.Subkey {
			kind = "sec"
		}
		fmt.Fprintf(out, "%s  %s/%s  created %s  expires %s%s  %s\n", kind, p.Algorithm, p.LongID(), day(p.Created), expiry(p.Expires),
			map[bool]string{true: "  [encrypt]"}[p.Encrypt], protectionText(p.Protection))
		if i == 0 {
			fmt.Fprintf(out, "     fingerprint %s\n", info.Fingerprint)
			for _, uid := range info.UserIDs {
				fmt.Fprintf(out, "     uid %s\n", uid)
			}
		}
	}
}

func protectionText(p gpg.Protection) string {
	switch p {
	case gpg.Protected:
		return "passphrase-protected"
	case gpg.Unprotected:
		return "no passphrase"
	case gpg.Stub:
		return "secret part not here (stub)"
	case gpg.SecretMissing:
		return "no secret part"
	}
	return "protection unknown"
}

func day(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.Format("2006-01-02")
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if t.Before(time.Now()) {
		return day(t) + " (EXPIRED)"
	}
	return day(t)
}

func (r *statusReport) writeObjectText(out io.Writer) {
	o := r.Object
	switch {
	case o == nil:
		fmt.Fprintf(out, "recipient check: skipped: %s\n", r.NoCheck)
	case !o.Encrypted:
		fmt.Fprintf(out, "archived object %s is not encrypted: no key is needed to restore it\n", o.Name)
	case r.holder == nil:
		fmt.Fprintf(out, "archived object %s is encrypted to %s: this keyring does NOT hold that key\n"+
			"  next: find the machine or file that holds it (`gpg --list-secret-keys --keyid-format long` as the postgres user), "+
			"and pass --homedir DIR or --gpg-key FILE\n", o.Name, strings.Join(o.Recipients, ", "))
	default:
		r.writeHolderText(out)
	}
}

func (r *statusReport) writeHolderText(out io.Writer) {
	m := r.holder
	fmt.Fprintf(out, "archived object %s is encrypted to %s: the keyring holds it (%s of key %s)\n",
		r.Object.Name, m.Part.LongID(), map[bool]string{true: "a subkey", false: "the primary key"}[m.Part.Subkey], m.Key.String())
	if !r.Object.Protected {
		fmt.Fprintln(out, "  it has no passphrase: WAL-E and pgrescue can both decrypt the archive")
		return
	}
	fmt.Fprintf(out, "  it is protected by a passphrase. From the runbook: %s\n", runbookQuote)
	fmt.Fprintf(out, "  next: pgrescue unlocks it in memory only: give --gpg-passphrase-file FILE or %s, or be asked once.\n"+
		"  Only if WAL-E itself must run: `pgrescue gpg remove-passphrase` (backup first), then `pgrescue gpg restore-passphrase`\n",
		gpg.PassphraseEnv)
}

func (r *statusReport) writeKeyIDText(out io.Writer) {
	if r.KeyID == nil {
		return
	}
	if len(r.KeyID.Matches) == 0 {
		fmt.Fprintf(out, "WALE_GPG_KEY_ID %s (%s) matches no secret key in this keyring\n", r.KeyID.Value, r.KeyID.Source)
		return
	}
	fmt.Fprintf(out, "WALE_GPG_KEY_ID %s (%s) matches key %s\n", r.KeyID.Value, r.KeyID.Source, strings.Join(r.KeyID.Matches, ", "))
}

func (cl *commandLine) gpgRemoveCommand(g *gpgFlags) *cobra.Command {
	var key string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "remove-passphrase [--key ID] [--dry-run]",
		Short: "Remove the key's passphrase so WAL-E itself can decrypt (backup first, verified)",
		Long: "The runbook's step (`gpg --edit-key`, `passwd`, empty passphrase), which it calls \"probably a *bad* idea\":\n" +
			"only needed when WAL-E itself must restore, since pgrescue unlocks the key in memory.\n" +
			"The key files are backed up inside the GnuPG home first (mode and owner kept); the change is verified by\n" +
			"decrypting a real archived object with no passphrase, and undone if that fails.\n" +
			"Undo it with `pgrescue gpg restore-passphrase` as soon as WAL-E is done.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			change, gc, err := cl.session().PassphraseChange(cmd.Context(), g.homedir, g.object, key)
			if err != nil {
				return err
			}
			if dryRun {
				cmds, err := change.RemoveCommands(cmd.Context())
				return printCommands(cmd.OutOrStdout(), cmds, err)
			}
			change.Passphrase = cl.gpgPassphrase(gc.Settings, g, false)
			res, err := change.RemovePassphrase(cmd.Context())
			if err != nil {
				return err
			}
			printResult(cmd.OutOrStdout(), "removed the passphrase of", res)
			if res.Backup != "" {
				fmt.Fprintln(cmd.OutOrStdout(), "put it back afterwards with: pgrescue gpg restore-passphrase --homedir "+shellcmd.Quote(gc.Keyring.Path))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the key: fingerprint, key id or user id (default: the key the archive is encrypted to)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the gpg commands an engineer would type, and change nothing")
	return cmd
}

func (cl *commandLine) gpgRestoreCommand(g *gpgFlags) *cobra.Command {
	var key, backup string
	var set, dryRun bool
	cmd := &cobra.Command{
		Use:   "restore-passphrase [--key ID] [--backup DIR | --set] [--dry-run]",
		Short: "Protect the key again: from the backup remove-passphrase made, or with a passphrase (--set)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			change, gc, err := cl.session().PassphraseChange(cmd.Context(), g.homedir, g.object, key)
			if err != nil {
				return err
			}
			if dryRun {
				cmds, err := change.RestoreCommands(cmd.Context(), backup, set)
				return printCommands(cmd.OutOrStdout(), cmds, err)
			}
			var res *keyring.Result
			if set {
				change.Passphrase = cl.gpgPassphrase(gc.Settings, g, true)
				res, err = change.SetPassphrase(cmd.Context())
			} else {
				res, err = change.RestoreBackup(cmd.Context(), backup)
			}
			if err != nil {
				return err
			}
			printResult(cmd.OutOrStdout(), "protected again", res)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the key: fingerprint, key id or user id (default: the key the archive is encrypted to)")
	cmd.Flags().StringVar(&backup, "backup", "", "the backup directory to put back (default: the newest under the home's "+keyring.BackupDirName+")")
	cmd.Flags().BoolVar(&set, "set", false, "set a passphrase (asked twice on a terminal) instead of putting the backup back")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the gpg commands an engineer would type, and change nothing")
	return cmd
}

// gpgPassphrase is where the passphrase comes from: --passphrase-file, then
// the global sources. A new passphrase typed on a terminal is asked twice,
// since a typo would lock the key with a passphrase nobody knows.
func (cl *commandLine) gpgPassphrase(s *walesettings.Settings, g *gpgFlags, confirm bool) gpg.PassphraseFunc {
	if g.passphraseFile != "" {
		return gpg.PassphraseFromFile(g.passphraseFile)
	}
	source := session.PassphraseSource(s)
	if !confirm || s.Get(walesettings.GPGPassFile) != "" || s.Get(walesettings.GPGPassphrase) != "" || source == nil {
		return source
	}
	return func(key gpg.KeyInfo) ([]byte, error) {
		first, err := source(key)
		if err != nil {
			return nil, err
		}
		again, err := source(key)
		defer clear(again)
		if err != nil || !bytes.Equal(first, again) {
			clear(first)
			return nil, problem.New(problem.Usage, key.String(), "the two passphrases typed differ", "run the command again")
		}
		return first, nil
	}
}

func printCommands(out io.Writer, cmds []shellcmd.Command, err error) error {
	if err != nil {
		return err
	}
	fmt.Fprint(out, shellcmd.Script(cmds))
	return nil
}

func printResult(out io.Writer, what string, res *keyring.Result) {
	if res.NoChange != "" {
		fmt.Fprintln(out, "nothing to do: "+res.NoChange)
		return
	}
	fmt.Fprintf(out, "%s key %s (%d secret part(s))\n", what, res.Key.String(), len(res.Changed))
	if res.Backup != "" {
		fmt.Fprintln(out, "backup: "+res.Backup)
	}
	fmt.Fprintln(out, "verified: "+res.Verified)
}
