package wale

import "strings"

// Layout builds the keys of WAL-E's storage format version 005 under a key
// prefix ("" or ending in "/").
type Layout struct {
	Prefix string
}

const (
	basebackupsDir  = "basebackups_005/"
	walDir          = "wal_005/"
	sentinelSuffix  = "_backup_stop_sentinel.json"
	partitionsDir   = "/tar_partitions/"
	compressedExt   = ".lzo"
	extendedVersion = "/extended_version.txt"
)

// BasebackupsPrefix is where base backups and their sentinels live.
func (l Layout) BasebackupsPrefix() string { return l.Prefix + basebackupsDir }

// WALPrefix is where archived WAL files live.
func (l Layout) WALPrefix() string { return l.Prefix + walDir }

// SentinelKey is the stop sentinel of a backup: a sibling of its directory,
// written last, so a backup exists only when its sentinel does.
func (l Layout) SentinelKey(backup string) string {
	return l.BasebackupsPrefix() + backup + sentinelSuffix
}

// PartitionsPrefix lists a backup's tar partitions.
func (l Layout) PartitionsPrefix(backup string) string {
	return l.BasebackupsPrefix() + backup + partitionsDir
}

// ExtendedVersionKey holds `SELECT version()` of the backed-up server.
func (l Layout) ExtendedVersionKey(backup string) string {
	return l.BasebackupsPrefix() + backup + extendedVersion
}

// WALKey is the object of one WAL file (segment, .history, .backup, .partial).
func (l Layout) WALKey(name string) string { return l.WALPrefix() + name + compressedExt }

// sentinelBackupName returns the backup name of a sentinel key directly under
// basebackups_005/, or "" for any other key.
func (l Layout) sentinelBackupName(key string) string {
	rest, ok := strings.CutPrefix(key, l.BasebackupsPrefix())
	if !ok || strings.Contains(rest, "/") {
		return ""
	}
	name, ok := strings.CutSuffix(rest, sentinelSuffix)
	if !ok {
		return ""
	}
	if _, valid := ParseBackupName(name); !valid {
		return ""
	}
	return name
}
