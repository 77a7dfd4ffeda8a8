package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pgrescue/problem"
	"pgrescue/restore/pgdump"
	"pgrescue/restore/wale"
)

// defaultDumpSource is where autopostgresqlbackup writes on the primary
// (GOV.UK mounts a dedicated volume there).
const defaultDumpSource = "/var/lib/autopostgresqlbackup"

func dumpListCommand() *cobra.Command {
	var source, database, zone string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dump-list [--source DIR] [--database DB] [--json]",
		Short: "List the legacy nightly pg_dump files (autopostgresqlbackup), newest first",
		Long: "Read an autopostgresqlbackup tree (daily/, weekly/, monthly/, latest/, latest.tbz2) and name every\n" +
			"dump: database, kind, when it was taken (its name's time, in --timezone), size, compression, and\n" +
			"whether it is encrypted. Files that match no name autopostgresqlbackup writes are listed as not\n" +
			"recognised. Sources other than a directory (the backup machine over ssh, duplicity) come later.",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.Contains(source, "://") {
				return problem.New(problem.Usage, "--source "+source, "only a directory can be read as a dump source yet",
					"copy the tree here first (rsync -a HOST:/var/lib/autopostgresqlbackup/ DIR, or duplicity restore URL DIR), then give --source DIR")
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return problem.Wrap(err, problem.Usage, "--timezone "+zone, "not a time zone name", "give one such as UTC or Europe/London: the primary's zone, in which the file names were written")
			}
			entries, err := pgdump.ScanDir(source)
			if err != nil {
				return problem.Wrap(err, problem.LocalIO, source, "cannot read the dump directory", "check the path (the primary's mount point is "+defaultDumpSource+") and its permissions")
			}
			l := pgdump.Classify(entries, loc)
			if database != "" {
				l.Dumps = onlyDatabase(l.Dumps, database)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(l)
			}
			writeDumps(cmd.OutOrStdout(), l)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", defaultDumpSource, "the autopostgresqlbackup tree: the mount point, or a copy of it")
	f.StringVar(&database, "database", "", "only this database's dumps (and the dumps of every database)")
	f.StringVar(&zone, "timezone", "Local", "the primary's time zone, in which the file names give the time")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// onlyDatabase keeps db's dumps and those that hold every database.
func onlyDatabase(dumps []pgdump.Dump, db string) []pgdump.Dump {
	var kept []pgdump.Dump
	for _, d := range dumps {
		if d.Database == db || d.AllDatabases() {
			kept = append(kept, d)
		}
	}
	return kept
}

func writeDumps(out io.Writer, l *pgdump.Listing) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TAKEN\tKIND\tDATABASE\tSIZE\tCOMPRESSION\tFILE\tNOTES")
	for _, d := range l.Dumps {
		db := d.Database
		if d.AllDatabases() {
			db = "(every database)"
		}
		var notes []string
		if d.Encrypted {
			notes = append(notes, "encrypted (openssl smime: openssl smime -decrypt -binary -inform DEM -inkey KEY -in FILE)")
		}
		if d.TimeMismatch != "" {
			notes = append(notes, d.TimeMismatch)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.TakenAt.Format("2006-01-02 15:04 MST"), d.Kind, db,
			wale.HumanBytes(d.Size), d.Compression, d.Path, strings.Join(notes, "; "))
	}
	w.Flush()
	if t := l.LatestTarball; t != nil {
		fmt.Fprintf(out, "latest.tbz2: the backup machine's tarball of latest/, %s, written %s\n", wale.HumanBytes(t.Size), t.ModTime.Format("2006-01-02 15:04 MST"))
	}
	for _, e := range l.Unrecognised {
		fmt.Fprintf(out, "not recognised: %s\n", e.Path)
	}
}
