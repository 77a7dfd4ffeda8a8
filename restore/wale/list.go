package wale

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"pgrescue/gpg"
	"pgrescue/problem"
	"pgrescue/storage/s3store"
)

// Archive is one WAL-E archive: a store and the layout under its prefix.
type Archive struct {
	Store       *s3store.Store
	Layout      Layout
	Keys        *gpg.Keys      // secret keys for encrypted archives; nil when none were given
	Recipient   *gpg.Recipient // the key objects pushed are encrypted to; nil stores them unencrypted
	SegmentSize int64          // WAL segment size, DefaultSegmentSize when 0
	sample      *sampleMemo    // the key-check object, read once per archive opened
}

// Listing is the archive as listed once: a restore resolves it at its
// preflight and hands it down, so later steps do not list the archive
// again.
type Listing struct {
	Backups []Backup // with their sentinels loaded
	WAL     []WALObject
}

// NewArchive opens the archive at the store's prefix.
func NewArchive(store *s3store.Store, keys *gpg.Keys) *Archive {
	return &Archive{Store: store, Layout: Layout{Prefix: store.Location().Prefix}, Keys: keys, SegmentSize: DefaultSegmentSize, sample: &sampleMemo{}}
}

func (a *Archive) segmentSize() int64 {
	if a.SegmentSize <= 0 {
		return DefaultSegmentSize
	}
	return a.SegmentSize
}

// Backup is a complete base backup, known by its stop sentinel.
type Backup struct {
	BackupName
	SentinelKey  string
	LastModified time.Time // the sentinel's: when the backup completed
	Sentinel     *Sentinel // nil until LoadDetail
}

// Sentinel is WAL-E's backup stop sentinel JSON.
type Sentinel struct {
	StopSegment       string          `json:"wal_segment_backup_stop"`
	StopOffset        string          `json:"wal_segment_offset_backup_stop"`
	ExpandedSizeBytes int64           `json:"expanded_size_bytes"`
	Spec              json.RawMessage `json:"spec,omitempty"`
}

// TablespaceSpec is the sentinel's "spec": where the data directory and each
// tablespace lived on the backed-up server.
type TablespaceSpec struct {
	BasePrefix  string
	Tablespaces []Tablespace
}

// Tablespace is one entry of the spec.
type Tablespace struct {
	OID      string
	Location string // absolute directory on the original server
	Link     string // pg_tblspc/<oid>
}

// LastModifiedString formats the completion time as S3 lists it, which is
// what WAL-E's backup-list prints.
func (b Backup) LastModifiedString() string {
	return b.LastModified.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ListBackups finds every complete base backup, in key order as WAL-E does.
func (a *Archive) ListBackups(ctx context.Context) ([]Backup, error) {
	var backups []Backup
	err := a.Store.List(ctx, a.Layout.BasebackupsPrefix(), func(o s3store.Object) error {
		name := a.Layout.sentinelBackupName(o.Key)
		if name == "" {
			return nil
		}
		bn, _ := ParseBackupName(name)
		backups = append(backups, Backup{BackupName: bn, SentinelKey: o.Key, LastModified: o.LastModified})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(backups, func(i, j int) bool { return backups[i].SentinelKey < backups[j].SentinelKey })
	return backups, nil
}

// Latest is the backup whose sentinel was written last, as WAL-E's LATEST:
// the most recently completed backup, not the one furthest in WAL.
func Latest(backups []Backup) (Backup, bool) {
	if len(backups) == 0 {
		return Backup{}, false
	}
	latest := backups[0]
	for _, b := range backups[1:] {
		if !b.LastModified.Before(latest.LastModified) {
			latest = b
		}
	}
	return latest, true
}

// Select resolves a backup query, a full backup name or LATEST, against a
// new listing of the archive's backups.
func (a *Archive) Select(ctx context.Context, query string) (Backup, []Backup, error) {
	backups, err := a.ListBackups(ctx)
	if err != nil {
		return Backup{}, nil, err
	}
	b, err := a.SelectIn(ctx, backups, query)
	return b, backups, err
}

// SelectIn resolves a backup query against backups already listed.
func (a *Archive) SelectIn(ctx context.Context, backups []Backup, query string) (Backup, error) {
	if len(backups) == 0 {
		return Backup{}, a.noBackupsError(ctx)
	}
	if query == "LATEST" {
		b, _ := Latest(backups)
		return b, nil
	}
	if _, ok := ParseBackupName(query); !ok {
		return Backup{}, problem.New(problem.Usage, query, "invalid backup query: give a full backup name such as base_000000010000000000000012_00000012, or LATEST",
			"run `pgrescue backup-list` to see the names")
	}
	for _, b := range backups {
		if b.Name == query {
			return b, nil
		}
	}
	return Backup{}, problem.New(problem.NoBackups, a.Store.URI(a.Layout.SentinelKey(query)),
		fmt.Sprintf("no complete base backup named %s (its stop sentinel is missing; %d other backups exist)", query, len(backups)),
		"run `pgrescue backup-list` and pick one of the names listed, or LATEST")
}

// noBackupsError tells an empty prefix (probably a wrong WALE_S3_PREFIX) from
// an archive that has WAL but no complete base backup.
func (a *Archive) noBackupsError(ctx context.Context) error {
	uri := a.Store.URI(a.Layout.BasebackupsPrefix())
	anything := false
	err := a.Store.List(ctx, a.Layout.Prefix, func(s3store.Object) error {
		anything = true
		return errStopListing
	})
	if err != nil && err != errStopListing {
		return err
	}
	if !anything {
		return problem.New(problem.NoBackups, a.Store.URI(a.Layout.Prefix),
			"nothing at all is stored under this prefix",
			"check WALE_S3_PREFIX (run `pgrescue config` to see where it comes from); on the database machine it is in /etc/wal-e/env.d/WALE_S3_PREFIX")
	}
	return problem.New(problem.NoBackups, uri,
		"the archive has no complete base backup (no *_backup_stop_sentinel.json); WAL alone cannot be restored",
		"check that the nightly `wal-e backup-push` ran (its cron log), or whether the prefix is the right one for this server")
}

var errStopListing = fmt.Errorf("stop listing")

// LoadDetail fetches and parses the backup's sentinel.
func (a *Archive) LoadDetail(ctx context.Context, b *Backup) error {
	if b.Sentinel != nil {
		return nil
	}
	data, err := a.Store.GetBytes(ctx, b.SentinelKey, 1<<20)
	if err != nil {
		return err
	}
	var s Sentinel
	if err := json.Unmarshal(data, &s); err != nil {
		return problem.Wrap(err, problem.Corrupt, a.Store.URI(b.SentinelKey), "the backup's stop sentinel is not valid JSON",
			"pick another backup (`pgrescue backup-list`); this one cannot be trusted")
	}
	if err := s.check(b.Start, a.segmentSize()); err != nil {
		return problem.Wrap(err, problem.Corrupt, a.Store.URI(b.SentinelKey), "the backup's stop sentinel is not one WAL-E wrote: "+err.Error(),
			"pick another backup (`pgrescue backup-list`); this one cannot be trusted")
	}
	b.Sentinel = &s
	return nil
}

// check validates every field a restore relies on, naming the bad one: a
// sentinel is the backup's only record of where it ends and how big it is.
func (s Sentinel) check(start Segment, segmentSize int64) error {
	stop, err := ParseSegment(s.StopSegment)
	if err != nil {
		return fmt.Errorf("wal_segment_backup_stop: %v", err)
	}
	if stop.Timeline < start.Timeline || stop.Number(segmentSize) < start.Number(segmentSize) {
		return fmt.Errorf("wal_segment_backup_stop %s is before the backup's start segment %s", stop, start)
	}
	if s.StopOffset != "" {
		offset, err := strconv.ParseUint(s.StopOffset, 16, 64)
		if err != nil || offset >= uint64(segmentSize) {
			return fmt.Errorf("wal_segment_offset_backup_stop %q is not an offset within a %d-byte segment (hexadecimal)", s.StopOffset, segmentSize)
		}
	}
	if s.ExpandedSizeBytes < 0 {
		return fmt.Errorf("expanded_size_bytes %d is negative", s.ExpandedSizeBytes)
	}
	return nil
}

// LoadAllDetails fetches every backup's sentinel.
func (a *Archive) LoadAllDetails(ctx context.Context, backups []Backup) error {
	for i := range backups {
		if err := a.LoadDetail(ctx, &backups[i]); err != nil {
			return err
		}
	}
	return nil
}

// StopSegment is where the backup became consistent.
func (b Backup) StopSegment() (Segment, bool) {
	if b.Sentinel == nil {
		return Segment{}, false
	}
	s, err := ParseSegment(b.Sentinel.StopSegment)
	return s, err == nil
}

// ParseSpec reads the sentinel's tablespace spec.
func (s *Sentinel) ParseSpec() (TablespaceSpec, error) {
	var spec TablespaceSpec
	if len(s.Spec) == 0 || string(s.Spec) == "null" {
		return spec, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(s.Spec, &raw); err != nil {
		return spec, err
	}
	if v, ok := raw["base_prefix"]; ok {
		_ = json.Unmarshal(v, &spec.BasePrefix)
	}
	var oids []string
	if v, ok := raw["tablespaces"]; ok {
		if err := json.Unmarshal(v, &oids); err != nil {
			return spec, err
		}
	}
	for _, oid := range oids {
		var t struct {
			Loc  string `json:"loc"`
			Link string `json:"link"`
		}
		if v, ok := raw[oid]; ok {
			if err := json.Unmarshal(v, &t); err != nil {
				return spec, err
			}
		}
		if t.Link == "" {
			t.Link = "pg_tblspc/" + oid
		}
		spec.Tablespaces = append(spec.Tablespaces, Tablespace{OID: oid, Location: strings.TrimSuffix(t.Loc, "/"), Link: t.Link})
	}
	return spec, nil
}
