package rdssim

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// modifyInstance applies what the engine changes after a restore: the
// rename of the cut-over, monitoring, Performance Insights, backups and
// groups. Every change but the rename is applied at once, as AWS applies
// these; a rename waits for the maintenance window (that is, never, here)
// unless ApplyImmediately is true.
func (s *Sim) modifyInstance(p params, now time.Time) (any, error) {
	id, err := p.required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	in, ok := s.lookupInstance(id)
	if !ok {
		return nil, errInstanceNotFound(id)
	}
	if in.Status != "available" {
		return nil, errNotAvailable()
	}
	applyNow, err := p.boolean("ApplyImmediately")
	if err != nil {
		return nil, err
	}
	newID, err := s.newIdentifier(p, in)
	if err != nil {
		return nil, err
	}
	next, err := s.modified(in.Instance, p)
	if err != nil {
		return nil, err
	}
	changed := s.commit(in, next, now)
	switch {
	case newID != "" && applyNow != nil && *applyNow:
		s.startRenaming(in, newID, now)
	case newID != "":
		in.pendingID = newID
	case changed:
		in.Status = "modifying"
		in.steps = append(in.steps, step{at: now.Add(s.phases.Modifying), kind: stepSettled})
	}
	return instanceResult{s.wireInstance(in, now)}, nil
}

// newIdentifier reads NewDBInstanceIdentifier: "" when there is no rename.
func (s *Sim) newIdentifier(p params, in *instance) (string, error) {
	newID := p.Get("NewDBInstanceIdentifier")
	if newID == "" {
		return "", nil
	}
	if !validIdentifier(newID) {
		return "", errBadIdentifier("NewDBInstanceIdentifier")
	}
	newID = strings.ToLower(newID)
	switch {
	case newID == in.ID:
		return "", errInvalid("The new DB instance identifier " + newID + " is the instance's current identifier.")
	case s.nameTaken(newID):
		return "", errAlreadyExists()
	}
	return newID, nil
}

// modified is the instance's settings with the request's changes, checked.
func (s *Sim) modified(cur Instance, p params) (Instance, error) {
	next := cur
	r := settingsReader{p: p}
	r.number("MonitoringInterval", &next.MonitoringInterval)
	r.text("MonitoringRoleArn", &next.MonitoringRoleARN)
	r.flag("EnablePerformanceInsights", &next.PerformanceInsights)
	r.text("PerformanceInsightsKMSKeyId", &next.PerformanceInsightsKMSKeyID)
	r.number("PerformanceInsightsRetentionPeriod", &next.PerformanceInsightsRetentionPeriod)
	r.number("BackupRetentionPeriod", &next.BackupRetentionPeriod)
	r.text("PreferredBackupWindow", &next.PreferredBackupWindow)
	r.text("DBParameterGroupName", &next.ParameterGroup)
	r.text("CACertificateIdentifier", &next.CACertificate)
	r.number("MaxAllocatedStorage", &next.MaxAllocatedStorage)
	r.flag("DeletionProtection", &next.DeletionProtection)
	r.flag("CopyTagsToSnapshot", &next.CopyTagsToSnapshot)
	r.flag("EnableIAMDatabaseAuthentication", &next.IAMDatabaseAuthentication)
	r.flag("PubliclyAccessible", &next.PubliclyAccessible)
	if groups := p.list("VpcSecurityGroupIds", "VpcSecurityGroupId"); len(groups) > 0 {
		next.SecurityGroups = groups
	}
	if r.err != nil {
		return cur, r.err
	}
	if next.PerformanceInsights && !cur.PerformanceInsights {
		next.PerformanceInsightsKMSKeyID = or(next.PerformanceInsightsKMSKeyID, s.defaultKMSKey())
		next.PerformanceInsightsRetentionPeriod = or(next.PerformanceInsightsRetentionPeriod, 7)
	}
	if err := checkMonitoring(next); err != nil {
		return cur, err
	}
	return next, s.checkSettings(next)
}

var monitoringIntervals = []int32{0, 1, 5, 10, 15, 30, 60}

// checkMonitoring refuses what AWS refuses of Enhanced Monitoring and
// Performance Insights settings, with its messages.
func checkMonitoring(in Instance) error {
	switch {
	case !slices.Contains(monitoringIntervals, in.MonitoringInterval):
		return errInvalid("Invalid MonitoringInterval " + strconv.Itoa(int(in.MonitoringInterval)) +
			": valid values are 0, 1, 5, 10, 15, 30 and 60.")
	case in.MonitoringInterval > 0 && in.MonitoringRoleARN == "":
		return errCombination("A MonitoringRoleARN value is required if you specify a MonitoringInterval value other than 0.")
	case in.PerformanceInsights && !validInsightsRetention(in.PerformanceInsightsRetentionPeriod):
		return errInvalid("Invalid PerformanceInsightsRetentionPeriod: valid values are 7, month * 31 (1 to 23 months) and 731.")
	}
	return nil
}

func validInsightsRetention(d int32) bool {
	return d == 7 || d == 731 || d > 0 && d%31 == 0 && d/31 <= 23
}

// commit makes the changes and sends the events AWS sends for them. It
// reports whether anything changed.
func (s *Sim) commit(in *instance, next Instance, now time.Time) bool {
	if reflect.DeepEqual(in.Instance, next) {
		return false
	}
	prev := in.Instance
	in.Instance = next
	if next.ParameterGroup != prev.ParameterGroup {
		in.paramStatus = "applying"
		s.emit(in.ID, now, "configuration change", "Updated to use DBParameterGroup "+next.ParameterGroup)
	}
	if next.MonitoringInterval != prev.MonitoringInterval {
		s.emit(in.ID, now, "configuration change", "Monitoring Interval changed to "+strconv.Itoa(int(next.MonitoringInterval)))
	}
	switch {
	case prev.BackupRetentionPeriod == 0 && next.BackupRetentionPeriod > 0:
		in.backupARN = s.newBackupARN()
		in.restorableFrom = now.Add(s.phases.Modifying)
		s.emit(in.ID, now, "configuration change", "Automatic backups for this DB instance have been enabled")
	case prev.BackupRetentionPeriod > 0 && next.BackupRetentionPeriod == 0:
		in.backupARN, in.restorableFrom = "", time.Time{}
		s.emit(in.ID, now, "configuration change", "Automatic backups for this DB instance have been disabled")
	}
	return true
}

// startRenaming renames as AWS does: the instance answers to its old name
// with status renaming, then to its new name (the endpoint follows), and
// is available again once it has restarted.
func (s *Sim) startRenaming(in *instance, newID string, now time.Time) {
	in.Status = "renaming"
	in.pendingID = newID
	in.steps = append(in.steps,
		step{at: now.Add(s.phases.Renaming / 2), kind: stepRenamed, newID: newID},
		step{at: now.Add(s.phases.Renaming), kind: stepSettled, category: "availability", message: "DB instance restarted"})
}
