package rdssim

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// describeInstances answers for one instance (by identifier or ARN; 404
// when there is none) or for all, sorted by identifier.
func (s *Sim) describeInstances(p params, now time.Time) (any, error) {
	var found []*instance
	if id := p.Get("DBInstanceIdentifier"); id != "" {
		in, ok := s.lookupInstance(id)
		if !ok {
			return nil, errInstanceNotFound(id)
		}
		found = []*instance{in}
	} else {
		found = s.sortedInstances()
	}
	found, err := applyFilters(p, found, map[string]func(*instance) []string{
		"db-instance-id":  func(in *instance) []string { return []string{in.ID, s.arn("db", in.ID)} },
		"dbi-resource-id": func(in *instance) []string { return []string{in.DbiResourceID} },
		"engine":          func(in *instance) []string { return []string{in.Engine} },
	})
	if err != nil {
		return nil, err
	}
	page, marker, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	out := instancesResult{Marker: marker}
	for _, in := range page {
		out.DBInstances = append(out.DBInstances, s.wireInstance(in, now))
	}
	return out, nil
}

func (s *Sim) sortedInstances() []*instance {
	all := make([]*instance, 0, len(s.instances))
	for _, in := range s.instances {
		all = append(all, in)
	}
	slices.SortFunc(all, func(a, b *instance) int { return strings.Compare(a.ID, b.ID) })
	return all
}

var snapshotTypes = []string{"automated", "manual", "shared", "public", "awsbackup"}

// describeSnapshots answers for snapshots, automated and manual, oldest
// first.
func (s *Sim) describeSnapshots(p params, now time.Time) (any, error) {
	found, err := s.selectSnapshots(p)
	if err != nil {
		return nil, err
	}
	found, err = applyFilters(p, found, map[string]func(*Snapshot) []string{
		"db-instance-id":  func(sn *Snapshot) []string { return []string{sn.InstanceID, s.arn("db", sn.InstanceID)} },
		"db-snapshot-id":  func(sn *Snapshot) []string { return []string{sn.ID, s.arn("snapshot", sn.ID)} },
		"dbi-resource-id": func(sn *Snapshot) []string { return []string{sn.DbiResourceID} },
		"snapshot-type":   func(sn *Snapshot) []string { return []string{sn.Type} },
		"engine":          func(sn *Snapshot) []string { return []string{sn.Engine} },
	})
	if err != nil {
		return nil, err
	}
	page, marker, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	out := snapshotsResult{Marker: marker}
	for _, sn := range page {
		out.DBSnapshots = append(out.DBSnapshots, s.wireSnapshot(sn))
	}
	return out, nil
}

// selectSnapshots applies DescribeDBSnapshots' own parameters: a snapshot
// named that does not exist is an error, an instance without snapshots is
// an empty answer, as in AWS.
func (s *Sim) selectSnapshots(p params) ([]*Snapshot, error) {
	kind := p.Get("SnapshotType")
	if kind != "" && !slices.Contains(snapshotTypes, kind) {
		return nil, errInvalid("Invalid snapshot type " + strconv.Quote(clip(kind)) + ": must be one of " + strings.Join(snapshotTypes, ", ") + ".")
	}
	if id := p.Get("DBSnapshotIdentifier"); id != "" {
		sn, ok := s.lookupSnapshot(id)
		if !ok {
			return nil, errSnapshotNotFound(id)
		}
		return keep([]*Snapshot{sn}, func(sn *Snapshot) bool { return kind == "" || sn.Type == kind }), nil
	}
	instanceID := strings.ToLower(p.Get("DBInstanceIdentifier"))
	if _, name, ok := s.parseARN(p.Get("DBInstanceIdentifier")); ok {
		instanceID = name
	}
	resourceID := p.Get("DbiResourceId")
	all := s.sortedSnapshots()
	return keep(all, func(sn *Snapshot) bool {
		return (instanceID == "" || sn.InstanceID == instanceID) && (resourceID == "" || sn.DbiResourceID == resourceID) &&
			(kind == "" || sn.Type == kind)
	}), nil
}

// sortedSnapshots lists snapshots oldest first.
func (s *Sim) sortedSnapshots() []*Snapshot {
	all := make([]*Snapshot, 0, len(s.snapshots))
	for _, sn := range s.snapshots {
		all = append(all, sn)
	}
	slices.SortFunc(all, func(a, b *Snapshot) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all
}

// describeAutomatedBackups lists the active backups of live instances and
// the retained backups of deleted ones.
func (s *Sim) describeAutomatedBackups(p params, now time.Time) (any, error) {
	all := s.automatedBackups(now)
	if arn := p.Get("DBInstanceAutomatedBackupsArn"); arn != "" {
		all = keep(all, func(b xmlAutomatedBackup) bool { return b.DBInstanceAutomatedBackupsArn == arn })
		if len(all) == 0 {
			return nil, errBackupNotFound(arn)
		}
	}
	if id := p.Get("DbiResourceId"); id != "" {
		all = keep(all, func(b xmlAutomatedBackup) bool { return b.DbiResourceId == id })
		if len(all) == 0 {
			return nil, errBackupNotFound(id)
		}
	}
	if id := strings.ToLower(p.Get("DBInstanceIdentifier")); id != "" {
		all = keep(all, func(b xmlAutomatedBackup) bool { return b.DBInstanceIdentifier == id })
	}
	all, err := applyFilters(p, all, map[string]func(xmlAutomatedBackup) []string{
		"status":          func(b xmlAutomatedBackup) []string { return []string{b.Status} },
		"db-instance-id":  func(b xmlAutomatedBackup) []string { return []string{b.DBInstanceIdentifier, b.DBInstanceArn} },
		"dbi-resource-id": func(b xmlAutomatedBackup) []string { return []string{b.DbiResourceId} },
	})
	if err != nil {
		return nil, err
	}
	page, marker, err := paginate(p, all)
	if err != nil {
		return nil, err
	}
	return backupsResult{DBInstanceAutomatedBackups: page, Marker: marker}, nil
}

func (s *Sim) automatedBackups(now time.Time) []xmlAutomatedBackup {
	var all []xmlAutomatedBackup
	for _, in := range s.sortedInstances() {
		if in.backupARN != "" && in.BackupRetentionPeriod > 0 {
			all = append(all, s.wireActiveBackup(in, now))
		}
	}
	for _, r := range s.retained {
		all = append(all, s.wireRetainedBackup(r))
	}
	return all
}

// describeEvents answers as AWS does: the last hour by default, nothing
// older than 14 days, oldest first.
func (s *Sim) describeEvents(p params, now time.Time) (any, error) {
	from, to, err := eventSpan(p, now)
	if err != nil {
		return nil, err
	}
	sourceType, sourceID := p.Get("SourceType"), strings.ToLower(p.Get("SourceIdentifier"))
	if sourceType != "" && !slices.Contains(sourceTypes, sourceType) {
		return nil, errInvalid("Invalid source type " + strconv.Quote(clip(sourceType)) + ".")
	}
	if sourceID != "" && sourceType == "" {
		return nil, errCombination("Cannot specify source identifier without source type")
	}
	categories := p.list("EventCategories", "EventCategory")
	found := keep(s.sortedEvents(), func(e Event) bool {
		return !e.Date.Before(from) && !e.Date.After(to) &&
			(sourceType == "" || e.SourceType == sourceType) &&
			(sourceID == "" || strings.EqualFold(e.SourceIdentifier, sourceID)) &&
			(len(categories) == 0 || slices.ContainsFunc(e.Categories, func(c string) bool { return slices.Contains(categories, c) }))
	})
	page, marker, err := paginate(p, found)
	if err != nil {
		return nil, err
	}
	out := eventsResult{Marker: marker}
	for _, e := range page {
		out.Events = append(out.Events, wireEvent(e))
	}
	return out, nil
}

// eventSpan is the time span DescribeEvents covers.
func eventSpan(p params, now time.Time) (from, to time.Time, err error) {
	start, err := p.timestamp("StartTime")
	if err != nil {
		return from, to, err
	}
	end, err := p.timestamp("EndTime")
	if err != nil {
		return from, to, err
	}
	duration, err := p.int32("Duration")
	if err != nil {
		return from, to, err
	}
	to = now
	if end != nil {
		to = *end
	}
	switch {
	case start != nil:
		from = *start
	case duration != nil && *duration >= 0:
		from = to.Add(-time.Duration(*duration) * time.Minute)
	case duration != nil:
		return from, to, errInvalid("Duration must not be negative.")
	default:
		from = to.Add(-time.Hour)
	}
	return laterOf(from, now.Add(-14*24*time.Hour)), to, nil
}

func (s *Sim) sortedEvents() []Event {
	all := slices.Clone(s.events)
	slices.SortStableFunc(all, func(a, b Event) int { return a.Date.Compare(b.Date) })
	return all
}

// listTags answers for an instance or a snapshot, named by ARN.
func (s *Sim) listTags(p params, now time.Time) (any, error) {
	name, err := p.required("ResourceName")
	if err != nil {
		return nil, err
	}
	kind, id, ok := s.parseARN(name)
	if !ok {
		return nil, errInvalid("Invalid resource name: " + clip(name))
	}
	switch kind {
	case "db":
		in, found := s.instances[id]
		if !found {
			return nil, errInstanceNotFound(id)
		}
		return tagsResult{wireTags(in.Tags)}, nil
	case "snapshot":
		sn, found := s.snapshots[id]
		if !found {
			return nil, errSnapshotNotFound(id)
		}
		return tagsResult{wireTags(sn.Tags)}, nil
	}
	return nil, errInvalid("The simulator keeps tags of DB instances and snapshots only, not of " + clip(kind) + " resources.")
}

// applyFilters keeps the items every filter matches. fields says, for each
// filter name the action takes, the values of an item that can match.
func applyFilters[T any](p params, items []T, fields map[string]func(T) []string) ([]T, error) {
	filters, err := p.filters()
	if err != nil {
		return nil, err
	}
	for _, f := range filters {
		values, known := fields[f.name]
		if !known {
			return nil, errInvalid("Unrecognized filter name: " + clip(f.name) + ".")
		}
		items = keep(items, func(it T) bool {
			return slices.ContainsFunc(values(it), func(v string) bool {
				return slices.ContainsFunc(f.values, func(want string) bool { return strings.EqualFold(v, want) })
			})
		})
	}
	return items, nil
}

// paginate applies MaxRecords (20 to 100, default 100) and Marker, whose
// value is the position to resume from.
func paginate[T any](p params, items []T) ([]T, string, error) {
	size := 100
	maxRecords, err := p.int32("MaxRecords")
	if err != nil {
		return nil, "", err
	}
	if maxRecords != nil {
		if *maxRecords < 20 || *maxRecords > 100 {
			return nil, "", errInvalid("MaxRecords must be between 20 and 100.")
		}
		size = int(*maxRecords)
	}
	start := 0
	if m := p.Get("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errInvalid("The marker " + strconv.Quote(clip(m)) + " is not valid.")
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func keep[T any](items []T, match func(T) bool) []T {
	var out []T
	for _, it := range items {
		if match(it) {
			out = append(out, it)
		}
	}
	return out
}
