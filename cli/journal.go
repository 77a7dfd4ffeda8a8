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
	var last int
	cmd := &cobra.Command{
		Use:   "journal [FILE] [--last N]",
		Short: "Show session journals as a timeline with each run's outcome (default: the newest in ~/.local/state/pgrescue)",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths := args
			if len(paths) == 0 {
				var err error
				if paths, err = newestJournals(last); err != nil {
					return err
				}
			}
			for _, path := range paths {
				records, err := journal.ReadAll(path)
				if len(records) > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s", path, journal.Summary(records))
				}
				if err != nil {
					return err // a damaged line is reported after what could be read
				}
			}
			return nil
		},
	}
	intInRange(cmd.Flags(), &last, "last", 1, 1, 1000, "how many of the newest sessions to show, oldest first")
	return cmd
}

// newestJournals are the n most recent session journals, oldest first.
func newestJournals(n int) ([]string, error) {
	dir, err := journal.DefaultDir()
	if err != nil {
		return nil, err
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "session-*.jsonl"))
	if len(paths) == 0 {
		return nil, problem.New(problem.Usage, dir, "there is no session journal here", "name the journal file: pgrescue journal FILE (the wizard's --journal)")
	}
	sort.Slice(paths, func(i, j int) bool { return modTime(paths[i]) < modTime(paths[j]) })
	return paths[max(len(paths)-n, 0):], nil
}

func modTime(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.ModTime().UnixNano()
}
