package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"pgrescue/restore/pgdump"
	"pgrescue/restore/wale"
)

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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
