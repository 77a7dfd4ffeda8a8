package wale

import (
	"encoding/csv"
	"fmt"
	"io"
)

var backupListColumns = []string{"name", "last_modified", "expanded_size_bytes", "wal_segment_backup_start",
	"wal_segment_offset_backup_start", "wal_segment_backup_stop", "wal_segment_offset_backup_stop"}

// WriteBackupList prints backups exactly as WAL-E's backup-list does: Python's
// excel-tab CSV (tab-separated, CRLF line ends), the sentinel columns empty
// unless the sentinels were loaded (--detail).
func WriteBackupList(out io.Writer, backups []Backup) error {
	w := csv.NewWriter(out)
	w.Comma = '\t'
	w.UseCRLF = true
	w.Write(backupListColumns)
	for _, b := range backups {
		row := []string{b.Name, b.LastModifiedString(), "", b.Start.String(), b.Offset, "", ""}
		if s := b.Sentinel; s != nil {
			row[2] = fmt.Sprint(s.ExpandedSizeBytes)
			row[5], row[6] = s.StopSegment, s.StopOffset
		}
		w.Write(row)
	}
	w.Flush()
	return w.Error()
}
