package wale

import (
	"context"
	"sort"
	"strings"
	"time"

	"pgrescue/storage/s3store"
)

// WALObject is one archived WAL file.
type WALObject struct {
	Name         string // WAL file name without .lzo
	Key          string
	Kind         WALKind
	Segment      Segment // for segments, .backup and .partial files; Timeline only for .history
	Size         int64   // stored (compressed, maybe encrypted) size
	LastModified time.Time
}

// ListWAL lists everything under wal_005/, in key order. Keys WAL-E would not
// have written are returned in ignored.
func (a *Archive) ListWAL(ctx context.Context) (objects []WALObject, ignored []string, err error) {
	err = a.Store.List(ctx, a.Layout.WALPrefix(), func(o s3store.Object) error {
		rest := strings.TrimPrefix(o.Key, a.Layout.WALPrefix())
		name, ok := strings.CutSuffix(rest, compressedExt)
		if !ok || strings.Contains(name, "/") {
			ignored = append(ignored, o.Key)
			return nil
		}
		kind, seg, valid := ClassifyWAL(name)
		if !valid {
			ignored = append(ignored, o.Key)
			return nil
		}
		objects = append(objects, WALObject{Name: name, Key: o.Key, Kind: kind, Segment: seg, Size: o.Size, LastModified: o.LastModified})
		return nil
	})
	sort.Slice(objects, func(i, j int) bool { return objects[i].Key < objects[j].Key })
	return objects, ignored, err
}

// Continuity is the WAL available for replay from a backup's start segment.
type Continuity struct {
	From      Segment  // the backup's start segment
	Newest    Segment  // the newest archived segment at or after From
	HasNewest bool     // false when no segment at or after From is archived
	Count     int      // segments present in [From, Newest]
	Missing   []string // WAL file names absent in [From, Newest], in order
}

// Complete reports whether every segment from From to Newest is archived.
func (c Continuity) Complete() bool { return c.HasNewest && len(c.Missing) == 0 }

// CheckContinuity finds the segments from the backup's start to the newest
// archived one and names any that are missing. Segments of later timelines
// count for their positions (after a promotion, WAL continues on the new
// timeline); a missing position is named on the timeline in force there.
func CheckContinuity(from Segment, objects []WALObject, segmentSize int64) Continuity {
	c := Continuity{From: from}
	present := map[uint64]uint32{} // position -> highest timeline archiving it
	var newest uint64
	start := from.Number(segmentSize)
	for _, o := range objects {
		if (o.Kind != WALSegment && o.Kind != WALPartial) || o.Segment.Timeline < from.Timeline {
			continue
		}
		n := o.Segment.Number(segmentSize)
		if n < start {
			continue
		}
		if tli, ok := present[n]; !ok || o.Segment.Timeline > tli {
			present[n] = o.Segment.Timeline
		}
		if !c.HasNewest || n > newest || (n == newest && o.Segment.Timeline > c.Newest.Timeline) {
			newest, c.Newest, c.HasNewest = n, o.Segment, true
		}
	}
	if !c.HasNewest {
		c.Missing = []string{from.String()}
		return c
	}
	timeline := from.Timeline
	for n := start; n <= newest; n++ {
		if tli, ok := present[n]; ok {
			timeline = tli
			c.Count++
			continue
		}
		c.Missing = append(c.Missing, SegmentAt(timeline, n, segmentSize).String())
	}
	return c
}
