package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"pgrescue/problem"
)

// exitCodesTopic is `pgrescue help exit-codes`.
func exitCodesTopic() *cobra.Command {
	var b strings.Builder
	b.WriteString("Every failure has its own exit status, so scripts can tell causes apart.\n\n")
	for _, k := range problem.Kinds {
		fmt.Fprintf(&b, "  %3d  %-18s %s\n", k.Code, k.Name, k.Meaning)
	}
	b.WriteString("\nwal-fetch keeps restore_command's contract instead: 0 fetched, 1 not in the archive,\n2 any other failure (its message on stderr names the cause). With --abort-on-error, as written by\n`pgrescue replay`, any other failure exits 200 instead: PostgreSQL reads 1 to 125 as \"not in the\narchive\" and would promote early; above 128 it stops recovery with FATAL.\n")
	b.WriteString("\nThe wizard (pgrescue with no command) exits 0 when the restore is done (or the runbook's steps are\nshown); with the failure's status when a restore fails; 130 when you quit it with ctrl+c (it asks\nfirst once you have answered something) or cancel a restore. esc goes back a screen, never out.\n")
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "The exit status of every kind of failure",
		Long:  b.String(),
	}
}
