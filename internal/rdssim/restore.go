package rdssim

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// restoreSource is what a restore starts from: a live instance, a retained
// backup or a snapshot.
type restoreSource struct {
	name     string   // the source instance's identifier, for the event
	settings Instance // what the restored instance inherits
	window   window   // point-in-time sources only
}

func (s *Sim) restoreToPointInTime(p params, now time.Time) (any, error) {
	target, err := s.checkTarget(p, "TargetDBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	requested, useLatest, err := requestedTime(p)
	if err != nil {
		return nil, err
	}
	src, err := s.pointInTimeSource(p, now)
	if err != nil {
		return nil, err
	}
	at := src.window.latest
	if !useLatest {
		at = *requested
		if err := src.checkWindow(at); err != nil {
			return nil, err
		}
	}
	note := "Restored from DB instance " + src.name + " to " + at.UTC().Format("2006-01-02 15:04:05")
	return s.createRestored(target, src, note, p, now)
}

func (s *Sim) restoreFromSnapshot(p params, now time.Time) (any, error) {
	target, err := s.checkTarget(p, "DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	id, err := p.required("DBSnapshotIdentifier")
	if err != nil {
		return nil, err
	}
	snap, ok := s.lookupSnapshot(id)
	if !ok {
		return nil, errSnapshotNotFound(id)
	}
	if snap.Status != "available" {
		return nil, newError("InvalidDBSnapshotState", "Snapshot "+snap.ID+" is "+snap.Status+": only an available snapshot can be restored.")
	}
	return s.createRestored(target, snapshotSource(snap), "Restored from snapshot "+snap.ID, p, now)
}

// checkTarget reads the new instance's identifier, refusing one AWS would
// refuse and one already taken.
func (s *Sim) checkTarget(p params, param string) (string, error) {
	target, err := p.required(param)
	if err != nil {
		return "", err
	}
	if !validIdentifier(target) {
		return "", errBadIdentifier(param)
	}
	target = strings.ToLower(target)
	if s.nameTaken(target) {
		return "", errAlreadyExists()
	}
	return target, nil
}

// requestedTime reads RestoreTime and UseLatestRestorableTime, exactly one
// of which AWS requires.
func requestedTime(p params) (*time.Time, bool, error) {
	at, err := p.timestamp("RestoreTime")
	if err != nil {
		return nil, false, err
	}
	latest, err := p.boolean("UseLatestRestorableTime")
	if err != nil {
		return nil, false, err
	}
	useLatest := latest != nil && *latest
	switch {
	case useLatest && at != nil:
		return nil, false, errCombination("Cannot specify both RestoreTime and UseLatestRestorableTime.")
	case !useLatest && at == nil:
		return nil, false, errCombination("Either RestoreTime or UseLatestRestorableTime must be specified.")
	}
	return at, useLatest, nil
}

func (src restoreSource) checkWindow(at time.Time) error {
	if src.window.contains(at) {
		return nil
	}
	return newError("InvalidRestoreFault", "The restore time "+at.UTC().Format(time.RFC3339)+
		" is outside the restore window of DB instance "+src.name+": "+src.window.earliest.Format(time.RFC3339)+
		" to "+src.window.latest.Format(time.RFC3339)+".")
}

// pointInTimeSource finds the source named by exactly one of
// SourceDBInstanceIdentifier, SourceDbiResourceId and
// SourceDBInstanceAutomatedBackupsArn.
func (s *Sim) pointInTimeSource(p params, now time.Time) (restoreSource, error) {
	given := keep([]string{"SourceDBInstanceIdentifier", "SourceDbiResourceId", "SourceDBInstanceAutomatedBackupsArn"}, p.has)
	if len(given) != 1 {
		return restoreSource{}, errCombination("Exactly one of SourceDBInstanceIdentifier, SourceDbiResourceId and " +
			"SourceDBInstanceAutomatedBackupsArn must be specified.")
	}
	value := p.Get(given[0])
	var in *instance
	var retained *RetainedBackup
	switch given[0] {
	case "SourceDBInstanceIdentifier":
		found, ok := s.lookupInstance(value)
		if !ok {
			return restoreSource{}, errInstanceNotFound(value)
		}
		in = found
	case "SourceDbiResourceId":
		in = s.instanceByResourceID(value)
		retained = s.findRetained(func(r *RetainedBackup) bool { return r.DbiResourceID == value })
	default:
		in = s.instanceByBackupARN(value)
		retained = s.findRetained(func(r *RetainedBackup) bool { return r.ARN == value })
	}
	switch {
	case in != nil:
		return instanceSource(in, now)
	case retained != nil:
		return retainedSource(retained), nil
	}
	return restoreSource{}, errBackupNotFound(value)
}

func (s *Sim) instanceByBackupARN(arn string) *instance {
	for _, in := range s.instances {
		if in.backupARN != "" && in.backupARN == arn {
			return in
		}
	}
	return nil
}

func instanceSource(in *instance, now time.Time) (restoreSource, error) {
	if in.BackupRetentionPeriod == 0 {
		return restoreSource{}, newError("PointInTimeRestoreNotEnabled", "Point-in-time restore is not enabled for DB instance "+
			in.ID+": its backup retention period is 0, so it has no automated backups.")
	}
	w, ok := in.window(now)
	if !ok {
		return restoreSource{}, newError("InvalidDBInstanceState", "DB instance "+in.ID+
			" has no restorable time yet: its first automated backup has not finished.")
	}
	return restoreSource{name: in.ID, settings: in.Instance, window: w}, nil
}

func retainedSource(r *RetainedBackup) restoreSource {
	return restoreSource{
		name: r.InstanceID, window: window{r.Earliest, r.Latest},
		settings: Instance{
			ID: r.InstanceID, Class: r.InstanceClass, Engine: r.Engine, EngineVersion: r.EngineVersion,
			MasterUsername: r.MasterUsername, AllocatedStorage: r.AllocatedStorage, StorageType: r.StorageType,
			Iops: r.Iops, StorageThroughput: r.StorageThroughput, StorageEncrypted: r.Encrypted, KmsKeyID: r.KmsKeyID,
			BackupRetentionPeriod: r.BackupRetentionPeriod, PreferredBackupWindow: r.PreferredBackupWindow,
		},
	}
}

func snapshotSource(snap *Snapshot) restoreSource {
	return restoreSource{
		name: snap.InstanceID,
		settings: Instance{
			ID: snap.InstanceID, Class: snap.InstanceClass, Engine: snap.Engine, EngineVersion: snap.EngineVersion,
			MasterUsername: snap.MasterUsername, AllocatedStorage: snap.AllocatedStorage, StorageType: snap.StorageType,
			Iops: snap.Iops, StorageThroughput: snap.StorageThroughput, StorageEncrypted: snap.Encrypted, KmsKeyID: snap.KmsKeyID,
			BackupRetentionPeriod: snap.BackupRetentionPeriod, PreferredBackupWindow: snap.PreferredBackupWindow,
		},
	}
}

// createRestored makes the restored instance and starts its creation.
func (s *Sim) createRestored(target string, src restoreSource, note string, p params, now time.Time) (any, error) {
	in, err := s.restoredInstance(target, src.settings, p)
	if err != nil {
		return nil, err
	}
	if len(s.instances) >= s.faults.quota {
		return nil, newError("InstanceQuotaExceeded", "DB instance quota exceeded: the account may have "+
			strconv.Itoa(s.faults.quota)+" DB instances in "+s.region+".")
	}
	in.restoreNote = note
	if s.faults.failNext != "" {
		s.faults.failures[in.ID], s.faults.failNext = s.faults.failNext, ""
	}
	in.steps = []step{
		{at: now.Add(s.phases.Creating), kind: stepCreated},
		{at: now.Add(s.phases.Creating + s.phases.BackingUp), kind: stepBackedUp},
	}
	if in.BackupRetentionPeriod > 0 {
		in.backupARN = s.newBackupARN()
	}
	s.instances[in.ID] = in
	return instanceResult{s.wireInstance(in, now)}, nil
}

// restoredInstance is the new instance as AWS makes it: the source's data
// and storage, the settings the request names, and AWS's defaults for
// everything else (not the source's).
func (s *Sim) restoredInstance(target string, src Instance, p params) (*instance, error) {
	in := Instance{
		ID: target, Class: or(src.Class, "db.t3.micro"), Engine: src.Engine, EngineVersion: src.EngineVersion,
		Status: "creating", MasterUsername: src.MasterUsername, DBName: src.DBName, Port: 5432,
		AllocatedStorage: src.AllocatedStorage, StorageType: src.StorageType, Iops: src.Iops,
		StorageThroughput: src.StorageThroughput, StorageEncrypted: src.StorageEncrypted, KmsKeyID: src.KmsKeyID,
		AvailabilityZone: s.region + "b", SubnetGroup: defaultSubnetGroup, SecurityGroups: []string{defaultSecurityGroup},
		ParameterGroup: defaultParameterGroup(src.Engine, src.EngineVersion),
		OptionGroup:    defaultOptionGroup(src.Engine, src.EngineVersion),
		// AWS documents that a restore inherits the backup retention period.
		BackupRetentionPeriod: src.BackupRetentionPeriod, PreferredBackupWindow: src.PreferredBackupWindow,
		PreferredMaintenanceWindow: "sun:04:00-sun:04:30", DbiResourceID: s.newResourceID(),
		CACertificate: defaultCACertificate,
	}
	if err := readRestoreSettings(&in, p); err != nil {
		return nil, err
	}
	if err := s.checkSettings(in); err != nil {
		return nil, err
	}
	in.VpcID = s.subnetGroups[in.SubnetGroup]
	return &instance{Instance: in}, nil
}

// readRestoreSettings applies the settings a restore request names.
func readRestoreSettings(in *Instance, p params) error {
	r := settingsReader{p: p}
	r.text("DBInstanceClass", &in.Class)
	if t := p.Get("StorageType"); t != "" && t != in.StorageType {
		in.StorageType = t
		in.Iops, in.StorageThroughput = storageBaseline(t)
	}
	r.number("Iops", &in.Iops)
	r.number("StorageThroughput", &in.StorageThroughput)
	r.number("AllocatedStorage", &in.AllocatedStorage)
	r.number("MaxAllocatedStorage", &in.MaxAllocatedStorage)
	r.number("Port", &in.Port)
	r.number("BackupRetentionPeriod", &in.BackupRetentionPeriod)
	r.text("PreferredBackupWindow", &in.PreferredBackupWindow)
	r.text("DBName", &in.DBName)
	r.text("AvailabilityZone", &in.AvailabilityZone)
	r.text("DBSubnetGroupName", &in.SubnetGroup)
	r.text("DBParameterGroupName", &in.ParameterGroup)
	r.text("OptionGroupName", &in.OptionGroup)
	r.text("CACertificateIdentifier", &in.CACertificate)
	r.flag("MultiAZ", &in.MultiAZ)
	r.flag("PubliclyAccessible", &in.PubliclyAccessible)
	r.flag("DeletionProtection", &in.DeletionProtection)
	r.flag("CopyTagsToSnapshot", &in.CopyTagsToSnapshot)
	r.flag("EnableIAMDatabaseAuthentication", &in.IAMDatabaseAuthentication)
	if groups := p.list("VpcSecurityGroupIds", "VpcSecurityGroupId"); len(groups) > 0 {
		in.SecurityGroups = groups
	}
	tags, err := p.tags()
	r.keep(err)
	in.Tags = tags
	if r.err == nil && p.has("AvailabilityZone") && in.MultiAZ {
		return errCombination("Requesting a specific availability zone is not valid for Multi-AZ instances.")
	}
	return r.err
}

// storageBaseline is the IOPS and throughput a storage type gives without
// asking: gp3's baseline, nothing to report for the others.
func storageBaseline(storageType string) (iops, throughput int32) {
	if storageType == "gp3" {
		return 3000, 125
	}
	return 0, 0
}

// checkSettings refuses the settings AWS refuses, with its error codes.
func (s *Sim) checkSettings(in Instance) error {
	switch {
	case !strings.HasPrefix(in.Class, "db."):
		return errInvalid("Invalid DB instance class: " + clip(in.Class))
	case !knownStorageType(in.StorageType):
		return errInvalid("Invalid storage type: " + clip(in.StorageType) + ". Valid types are " + strings.Join(storageTypes, ", ") + ".")
	case (in.StorageType == "io1" || in.StorageType == "io2") && in.Iops <= 0:
		return errCombination("Iops must be specified for storage type " + in.StorageType + ".")
	case in.Port < 1150 || in.Port > 65535:
		return errInvalid("Invalid port " + strconv.Itoa(int(in.Port)) + ": the port must be between 1150 and 65535.")
	case in.BackupRetentionPeriod < 0 || in.BackupRetentionPeriod > 35:
		return errInvalid("Invalid backup retention period: it must be between 0 and 35 days.")
	case in.MaxAllocatedStorage != 0 && in.MaxAllocatedStorage < in.AllocatedStorage:
		return errCombination("Max storage size must be greater than storage size.")
	}
	if bad := slices.IndexFunc(in.SecurityGroups, func(g string) bool { return !strings.HasPrefix(g, "sg-") }); bad >= 0 {
		return errInvalid("Invalid security group ID " + strconv.Quote(clip(in.SecurityGroups[bad])) + ".")
	}
	return s.checkGroups(in)
}

// checkGroups refuses groups the account does not have: AWS's defaults and
// the groups of seeded instances exist.
func (s *Sim) checkGroups(in Instance) error {
	if _, ok := s.subnetGroups[in.SubnetGroup]; !ok {
		return newError("DBSubnetGroupNotFoundFault", "DBSubnetGroup "+clip(in.SubnetGroup)+" not found.")
	}
	if !isDefaultGroup(in.ParameterGroup) && !s.parameterGroups[in.ParameterGroup] {
		return newError("DBParameterGroupNotFound", "DBParameterGroup "+clip(in.ParameterGroup)+" not found.")
	}
	if !isDefaultGroup(in.OptionGroup) && !s.optionGroups[in.OptionGroup] {
		return newError("OptionGroupNotFoundFault", "OptionGroup "+clip(in.OptionGroup)+" not found.")
	}
	return nil
}

// settingsReader reads optional settings, keeping the first malformed one
// as the request's error.
type settingsReader struct {
	p   params
	err error
}

func (r *settingsReader) keep(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *settingsReader) text(name string, dst *string) {
	if v := r.p.Get(name); v != "" {
		*dst = v
	}
}

func (r *settingsReader) flag(name string, dst *bool) {
	v, err := r.p.boolean(name)
	r.keep(err)
	if v != nil {
		*dst = *v
	}
}

func (r *settingsReader) number(name string, dst *int32) {
	v, err := r.p.int32(name)
	r.keep(err)
	if v != nil {
		*dst = *v
	}
}
