package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"pgrescue/journal"
	"pgrescue/problem"
)

// journalCommand shows a session journal as a timeline, for the incident
// review.
func journalCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "journal [FILE]",
		Short: "Show a session's journal as a timeline (default: the newest in ~/.local/state/pgrescue)",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				var err error
				if path, err = newestJournal(); err != nil {
					return err
				}
			}
			records, err := journal.ReadAll(path)
			if len(records) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s", path, journal.Summary(records))
			}
			return err // a damaged line is reported after what could be read
		},
	}
}

func newestJournal() (string, error) {
	dir, err := journal.DefaultDir()
	if err != nil {
		return "", err
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "session-*.jsonl"))
	if len(paths) == 0 {
		return "", problem.New(problem.Usage, dir, "there is no session journal here", "name the journal file: pgrescue journal FILE (the wizard's --journal)")
	}
	sort.Slice(paths, func(i, j int) bool { return modTime(paths[i]) < modTime(paths[j]) })
	return paths[len(paths)-1], nil
}

func modTime(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.ModTime().UnixNano()
}
