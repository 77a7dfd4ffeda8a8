package rdssim

import (
	"slices"
	"strings"
	"time"
)

// instance is a DB instance with what AWS tracks beside its settings.
type instance struct {
	Instance // current settings; ID is the current identifier
	// restorableFrom is when point-in-time recovery of this instance
	// begins: its creation for a seeded instance, the end of its first
	// backup for a restored one. Zero while there is none.
	restorableFrom time.Time
	backupARN      string // its automated backup's; empty with backups off
	// pendingID is a rename waiting for the maintenance window, or for the
	// middle of the renaming phase.
	pendingID   string
	paramStatus string // the parameter group's ParameterApplyStatus; "" is in-sync
	steps       []step // what happens next, in time order
	restoreNote string // the restoration event sent when creation ends
}

// stepKind is a change of state that happens when its time comes.
type stepKind int

const (
	stepCreated  stepKind = iota // creating ends: backing-up, or the failure fault's state
	stepBackedUp                 // the first backup ends: available
	stepRenamed                  // the identifier changes to newID
	stepSettled                  // renaming or modifying ends: available
)

type step struct {
	at    time.Time
	kind  stepKind
	newID string // stepRenamed's new identifier
	// category and message are the event stepSettled sends, if any.
	category, message string
}

// settle applies every step whose time has come, in every instance, so
// that each answer reflects the clock. It is called at each request, in
// place of background goroutines.
func (s *Sim) settle(now time.Time) {
	ids := make([]string, 0, len(s.instances))
	for id := range s.instances {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if in, ok := s.instances[id]; ok {
			s.advance(in, now)
		}
	}
}

func (s *Sim) advance(in *instance, now time.Time) {
	for len(in.steps) > 0 && !in.steps[0].at.After(now) {
		st := in.steps[0]
		if st.kind == stepCreated && s.faults.stalled[in.ID] {
			s.postpone(in, now.Add(s.phases.Creating).Sub(st.at))
			return
		}
		in.steps = in.steps[1:]
		s.apply(in, st)
	}
}

// postpone shifts an instance's remaining steps. A stalled restore keeps
// the end of its creation a whole phase after the last request that saw
// it stalled, so that once released it still takes its full phases.
func (s *Sim) postpone(in *instance, by time.Duration) {
	for i := range in.steps {
		in.steps[i].at = in.steps[i].at.Add(by)
	}
}

func (s *Sim) apply(in *instance, st step) {
	switch st.kind {
	case stepCreated:
		s.finishCreating(in, st.at)
	case stepBackedUp:
		in.Status = "available"
		in.restorableFrom = st.at
		s.emit(in.ID, st.at, "backup", "Finished DB Instance backup")
	case stepRenamed:
		s.switchIdentifier(in, st.newID, st.at)
	case stepSettled:
		in.Status = "available"
		in.paramStatus = ""
		if st.message != "" {
			s.emit(in.ID, st.at, st.category, st.message)
		}
	}
}

// finishCreating ends the creating phase of a restore: the instance now
// exists (it has an endpoint and a creation time) and either backs up or,
// with the failure fault, enters its failure state.
func (s *Sim) finishCreating(in *instance, at time.Time) {
	in.Created = at
	s.emit(in.ID, at, "creation", "DB instance created")
	s.emit(in.ID, at, "restoration", in.restoreNote)
	if status, failed := s.faults.failures[in.ID]; failed {
		in.Status = status
		in.steps = nil
		s.emit(in.ID, at, "failure", failureEvents[status])
		return
	}
	if in.BackupRetentionPeriod == 0 {
		in.Status = "available"
		in.steps = nil
		return
	}
	in.Status = "backing-up"
	s.emit(in.ID, at, "backup", "Backing up DB instance")
}

// switchIdentifier renames an instance: the old name stops answering and
// the endpoint follows the new one, as in AWS.
func (s *Sim) switchIdentifier(in *instance, newID string, at time.Time) {
	old := in.ID
	delete(s.instances, old)
	in.ID = newID
	in.pendingID = ""
	s.instances[newID] = in
	s.emit(newID, at, "notification", "Renamed instance from "+old+" to "+newID)
}

func (s *Sim) emit(id string, at time.Time, category, message string) {
	s.events = append(s.events, Event{
		SourceIdentifier: id, SourceType: "db-instance", Message: message,
		Categories: []string{category}, Date: at, SourceARN: s.arn("db", id),
	})
}

// nameTaken reports an identifier in use, or about to be by a rename
// under way.
func (s *Sim) nameTaken(id string) bool {
	if _, ok := s.instances[id]; ok {
		return true
	}
	for _, in := range s.instances {
		for _, st := range in.steps {
			if st.kind == stepRenamed && st.newID == id {
				return true
			}
		}
	}
	return false
}

// window is the span a point-in-time restore can reach.
type window struct{ earliest, latest time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.earliest) && !t.After(w.latest) }

// window is an instance's restore window: from its first restorable
// moment, or its retention period ago, whichever is later, to five minutes
// ago (AWS ships transaction logs every five minutes), or nothing when
// automated backups are off or have not run yet.
func (in *instance) window(now time.Time) (window, bool) {
	if in.BackupRetentionPeriod <= 0 || in.restorableFrom.IsZero() || now.Before(in.restorableFrom) {
		return window{}, false
	}
	earliest := laterOf(in.restorableFrom, now.Add(-days(in.BackupRetentionPeriod)))
	return window{earliest, laterOf(now.Add(-5*time.Minute), earliest)}, true
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *Sim) findRetained(match func(*RetainedBackup) bool) *RetainedBackup {
	for _, b := range s.retained {
		if match(b) {
			return b
		}
	}
	return nil
}

func (s *Sim) instanceByResourceID(id string) *instance {
	for _, in := range s.instances {
		if in.DbiResourceID == id {
			return in
		}
	}
	return nil
}

// lookupInstance finds an instance by identifier or ARN.
func (s *Sim) lookupInstance(idOrARN string) (*instance, bool) {
	id := strings.ToLower(idOrARN)
	if kind, name, ok := s.parseARN(idOrARN); ok && kind == "db" {
		id = name
	}
	in, ok := s.instances[id]
	return in, ok
}

// lookupSnapshot finds a snapshot by identifier or ARN.
func (s *Sim) lookupSnapshot(idOrARN string) (*Snapshot, bool) {
	id := strings.ToLower(idOrARN)
	if kind, name, ok := s.parseARN(idOrARN); ok && kind == "snapshot" {
		id = strings.ToLower(name)
	}
	snap, ok := s.snapshots[id]
	return snap, ok
}
