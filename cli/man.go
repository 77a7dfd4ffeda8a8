package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"pgrescue/problem"
)

// manCommand is `pgrescue man`: the manual page, in roff, written from the
// same command tree as --help, so it cannot fall behind the flags.
func manCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "man",
		Short: "Print pgrescue's manual page (man -l <(pgrescue man), or save it as pgrescue.1)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeMan(cmd.OutOrStdout(), root)
			return nil
		},
	}
}

func writeMan(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, ".TH PGRESCUE 1 \"\" \"pgrescue %s\" \"pgrescue manual\"\n", buildVersion())
	fmt.Fprintf(w, ".SH NAME\npgrescue \\- %s\n", roff(root.Short))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B pgrescue\n[\\fIflags\\fR]\n.br\n.B pgrescue\n\\fIcommand\\fR [\\fIflags\\fR]\n")
	fmt.Fprintf(w, ".SH DESCRIPTION\n%s\n.PP\nWith no command, pgrescue starts the wizard.\n", roff(root.Long))
	fmt.Fprintf(w, ".SH OPTIONS\n.nf\n%s.fi\n", roff(root.NonInheritedFlags().FlagUsages()))
	fmt.Fprintf(w, ".SH COMMANDS\n")
	writeManCommands(w, root)
	fmt.Fprintf(w, ".SH EXIT STATUS\n")
	for _, k := range problem.Kinds {
		fmt.Fprintf(w, ".TP\n.B %d\n%s: %s\n", k.Code, k.Name, roff(k.Meaning))
	}
	fmt.Fprintf(w, ".SH FILES\n.TP\n~/.config/pgrescue/config.yaml, /etc/pgrescue/config.yaml\npgrescue's config file.\n"+
		".TP\n/etc/wal-e/env.d\nWAL-E's settings (envdir), read when it exists.\n.TP\n~/.local/state/pgrescue/\nsession journals.\n")
	fmt.Fprintf(w, ".SH SEE ALSO\npg_ctl(1), gpg(1), wal-e(1)\n")
}

func writeManCommands(w io.Writer, parent *cobra.Command) {
	for _, c := range parent.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(strings.TrimPrefix(c.CommandPath(), "pgrescue ")+" "+strings.TrimPrefix(c.Use, c.Name())), roff(c.Short))
		if c.Long != "" {
			fmt.Fprintf(w, ".IP\n%s\n", roff(c.Long))
		}
		if flags := c.NonInheritedFlags().FlagUsages(); flags != "" {
			fmt.Fprintf(w, ".IP\n.nf\n%s.fi\n", roff(flags))
		}
		writeManCommands(w, c)
	}
}

// roff escapes text for a man page: backslashes, and a line starting with
// a dot or an apostrophe, which roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
