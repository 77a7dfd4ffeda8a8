package rdssim

import (
	"fmt"
	"strings"
)

// The failure states a restore can end in, as DescribeDBInstances shows
// them.
const (
	StatusFailed                 = "failed"
	StatusIncompatibleRestore    = "incompatible-restore"
	StatusIncompatibleParameters = "incompatible-parameters"
)

// failureEvents are the event AWS sends when an instance enters each
// failure state.
var failureEvents = map[string]string{
	StatusFailed: "The DB instance has failed due to an incompatible configuration or an underlying storage issue. " +
		"Begin a point-in-time-restore for the DB instance.",
	StatusIncompatibleRestore: "The DB instance could not be restored: Amazon RDS can't do a point-in-time restore of it " +
		"(incompatible-restore). Restore to another time, or from a snapshot.",
	StatusIncompatibleParameters: "The DB instance has invalid parameters. For example, the DB instance could not start " +
		"because a memory-related parameter is set too high for this instance class.",
}

// defaultInstanceQuota is AWS's default quota of DB instances per region.
const defaultInstanceQuota = 40

// faults are the failures injected into the simulated account.
type faults struct {
	failures     map[string]string // restore target → the failure state it ends in
	failNext     string            // the failure state the next restore ends in, whatever its name
	stalled      map[string]bool   // restore targets that stay creating
	throttle     int               // requests left to throttle
	denied       map[string]bool   // actions refused with AccessDenied
	tokenExpired bool
	quota        int // DB instances the account may have
}

func newFaults() faults {
	return faults{failures: map[string]string{}, stalled: map[string]bool{}, denied: map[string]bool{},
		quota: defaultInstanceQuota}
}

// FailRestore makes the restore whose target is named end in a failure
// state (StatusFailed, StatusIncompatibleRestore or
// StatusIncompatibleParameters) when its creation ends, with AWS's event.
// It applies to a restore already under way as well as to a later one.
func (s *Sim) FailRestore(target, status string) error {
	if _, ok := failureEvents[status]; !ok {
		return fmt.Errorf("rdssim: %q is not a failure state a restore can end in", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failures[strings.ToLower(target)] = status
	return nil
}

// FailNextRestore makes the next restore end in a failure state, whatever
// the target's name (the demo's, where the trainee chooses the name).
func (s *Sim) FailNextRestore(status string) error {
	if _, ok := failureEvents[status]; !ok {
		return fmt.Errorf("rdssim: %q is not a failure state a restore can end in", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext = status
	return nil
}

// StallRestore makes the restore whose target is named stay creating until
// ClearFaults.
func (s *Sim) StallRestore(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.stalled[strings.ToLower(target)] = true
}

// ThrottleNext makes the next n requests fail with AWS's Throttling error
// (HTTP 400, "Rate exceeded"), whatever their action.
func (s *Sim) ThrottleNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle = max(n, 0)
}

// DenyAction makes every request for the action (e.g.
// "RestoreDBInstanceToPointInTime") fail with AccessDenied (HTTP 403), as
// AWS answers a role without rds:<action>.
func (s *Sim) DenyAction(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.denied[action] = true
}

// AllowAction undoes DenyAction.
func (s *Sim) AllowAction(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults.denied, action)
}

// SetTokenExpired makes every request fail with ExpiredToken (HTTP 403),
// as when temporary credentials run out in the middle of a restore.
func (s *Sim) SetTokenExpired(expired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.tokenExpired = expired
}

// SetInstanceQuota sets how many DB instances the account may have
// (default 40, AWS's): a restore beyond it fails with
// InstanceQuotaExceeded. SetInstanceQuota(0) makes every restore fail.
func (s *Sim) SetInstanceQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.quota = max(n, 0)
}

// ClearFaults removes every injected fault: a stalled restore goes on from
// now, and the quota is AWS's default again.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaults()
}

// injectedError is the error a fault makes of a request before the
// action runs, or nil.
func (s *Sim) injectedError(action string, p params) *apiError {
	if s.faults.tokenExpired {
		return newError("ExpiredToken", "The security token included in the request is expired")
	}
	if s.faults.throttle > 0 {
		s.faults.throttle--
		return newError("Throttling", "Rate exceeded")
	}
	if s.faults.denied[action] {
		return newError("AccessDenied", "User: "+s.caller+" is not authorized to perform: rds:"+action+
			" on resource: "+s.resourceOf(action, p))
	}
	return nil
}

// resourceOf is the ARN an IAM policy would be checked against for the
// request, as AccessDenied names it.
func (s *Sim) resourceOf(action string, p params) string {
	id := func(name string) string { return strings.ToLower(clip(p.Get(name))) }
	switch {
	case action == "ListTagsForResource" && p.has("ResourceName"):
		return clip(p.Get("ResourceName"))
	case action == "RestoreDBInstanceToPointInTime" && p.has("TargetDBInstanceIdentifier"):
		return s.arn("db", id("TargetDBInstanceIdentifier"))
	case action == "DescribeDBSnapshots" && strings.HasPrefix(p.Get("DBSnapshotIdentifier"), "arn:"):
		return clip(p.Get("DBSnapshotIdentifier"))
	case action == "DescribeDBSnapshots" && p.has("DBSnapshotIdentifier"):
		return s.arn("snapshot", id("DBSnapshotIdentifier"))
	case action == "DescribeDBInstanceAutomatedBackups" && p.has("DBInstanceAutomatedBackupsArn"):
		return clip(p.Get("DBInstanceAutomatedBackupsArn"))
	case p.has("DBInstanceIdentifier"):
		return s.arn("db", id("DBInstanceIdentifier"))
	}
	return s.arn("db", "*")
}
