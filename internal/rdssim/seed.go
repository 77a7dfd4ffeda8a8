package rdssim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tag is one AWS resource tag.
type Tag struct{ Key, Value string }

// Instance is a DB instance as it is seeded and as the simulator keeps it.
// Zero fields take the defaults AddInstance documents.
type Instance struct {
	ID                  string // required; AWS keeps identifiers in lower case
	Class               string // default db.t3.micro
	Engine              string // default postgres
	EngineVersion       string // default 16.3
	Status              string // default available
	MasterUsername      string // default postgres
	DBName              string
	Port                int32 // default 5432
	AllocatedStorage    int32 // GiB, default 20
	MaxAllocatedStorage int32 // storage autoscaling limit; 0: off
	StorageType         string
	// Iops and StorageThroughput default to gp3's baseline (3000, 125)
	// for gp3, the default storage type.
	Iops, StorageThroughput int32
	StorageEncrypted        bool
	KmsKeyID                string
	MultiAZ                 bool
	PubliclyAccessible      bool
	AvailabilityZone        string   // default <region>a
	SubnetGroup             string   // default "default"
	VpcID                   string   // default vpc-default0
	SecurityGroups          []string // default sg-default0
	ParameterGroup          string   // default default.postgres<major>
	OptionGroup             string   // default default:postgres-<major>
	// BackupRetentionPeriod 0 means automated backups are off, as in AWS;
	// above 0 the instance has an active automated backup.
	BackupRetentionPeriod      int32
	PreferredBackupWindow      string    // default 03:00-03:30
	PreferredMaintenanceWindow string    // default sun:04:00-sun:04:30
	Created                    time.Time // default 30 days before now, unless creating
	DbiResourceID              string    // default db-<26 random characters>
	DeletionProtection         bool
	CopyTagsToSnapshot         bool
	IAMDatabaseAuthentication  bool
	MonitoringInterval         int32
	MonitoringRoleARN          string
	PerformanceInsights        bool
	// The Performance Insights key and retention default to AWS's aws/rds
	// key and 7 days when PerformanceInsights is on.
	PerformanceInsightsKMSKeyID        string
	PerformanceInsightsRetentionPeriod int32
	CACertificate                      string // default rds-ca-rsa2048-g1
	Tags                               []Tag
}

// Snapshot is a DB snapshot. Zero fields are taken from the instance it
// names when that instance exists, else from Instance's defaults.
type Snapshot struct {
	// ID is required for a manual snapshot; an automated one is named as
	// AWS names them, rds:<instance>-YYYY-MM-DD-HH-MM, when it is empty.
	ID         string
	InstanceID string // required
	Type       string // manual (default) or automated
	Status     string // default available
	// PercentProgress defaults to 100 for an available snapshot.
	PercentProgress         int32
	Created                 time.Time // default now
	Engine                  string
	EngineVersion           string
	MasterUsername          string
	AllocatedStorage        int32
	Port                    int32
	AvailabilityZone        string
	VpcID                   string
	DbiResourceID           string
	StorageType             string
	Iops, StorageThroughput int32
	Encrypted               bool
	KmsKeyID                string
	InstanceCreated         time.Time
	BackupRetentionPeriod   int32
	PreferredBackupWindow   string
	// InstanceClass is not in AWS's description of a snapshot, but AWS
	// remembers it: it is the class of an instance restored from the
	// snapshot without DBInstanceClass.
	InstanceClass string
	Tags          []Tag
}

// RetainedBackup is an automated backup kept after its instance was
// deleted: restorable to a point in its window through
// RestoreDBInstanceToPointInTime's SourceDBInstanceAutomatedBackupsArn.
type RetainedBackup struct {
	InstanceID string // the deleted instance's identifier; required
	// ARN defaults to arn:aws:rds:<region>:<account>:auto-backup:ab-<random>.
	ARN           string
	DbiResourceID string // default db-<random>
	// Earliest and Latest bound the restore window: Latest defaults to an
	// hour before now, Earliest to BackupRetentionPeriod days before Latest.
	Earliest, Latest        time.Time
	BackupRetentionPeriod   int32 // default 7
	Engine                  string
	EngineVersion           string
	MasterUsername          string
	InstanceClass           string
	AllocatedStorage        int32
	Port                    int32
	AvailabilityZone        string
	VpcID                   string
	StorageType             string
	Iops, StorageThroughput int32
	Encrypted               bool
	KmsKeyID                string
	InstanceCreated         time.Time
	PreferredBackupWindow   string
}

// Event is an RDS event, as DescribeEvents returns it.
type Event struct {
	SourceIdentifier string
	SourceType       string // default db-instance
	Message          string
	Categories       []string
	Date             time.Time // default now
	// SourceARN defaults to the ARN of the instance or snapshot named.
	SourceARN string
}

// AddInstance adds a DB instance to the account. An instance with a
// BackupRetentionPeriod above 0 also gets an active automated backup whose
// window runs from its creation (or BackupRetentionPeriod days ago, the
// later) to its LatestRestorableTime, five minutes before now.
func (s *Sim) AddInstance(in Instance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	if !validIdentifier(in.ID) {
		return fmt.Errorf("rdssim: instance identifier %q is not one AWS accepts", in.ID)
	}
	in.ID = strings.ToLower(in.ID)
	if s.nameTaken(in.ID) {
		return fmt.Errorf("rdssim: an instance named %s already exists", in.ID)
	}
	s.fillInstanceDefaults(&in, now)
	if err := checkSeededSettings(in); err != nil {
		return fmt.Errorf("rdssim: instance %s: %w", in.ID, err)
	}
	inst := &instance{Instance: in}
	if in.BackupRetentionPeriod > 0 {
		inst.restorableFrom = in.Created
		inst.backupARN = s.newBackupARN()
	}
	s.instances[in.ID] = inst
	s.learnGroups(in)
	return nil
}

// checkSeededSettings refuses settings AWS would never report, so that a
// test cannot seed a state the engine will never meet.
func checkSeededSettings(in Instance) error {
	if !knownStorageType(in.StorageType) {
		return fmt.Errorf("storage type %q is not one of %s", in.StorageType, strings.Join(storageTypes, ", "))
	}
	if in.Port < 1150 || in.Port > 65535 {
		return fmt.Errorf("port %d is outside AWS's 1150 to 65535", in.Port)
	}
	if in.BackupRetentionPeriod < 0 || in.BackupRetentionPeriod > 35 {
		return fmt.Errorf("backup retention period %d is outside AWS's 0 to 35 days", in.BackupRetentionPeriod)
	}
	return nil
}

func (s *Sim) fillInstanceDefaults(in *Instance, now time.Time) {
	in.Class = or(in.Class, "db.t3.micro")
	in.Engine = or(in.Engine, "postgres")
	in.EngineVersion = or(in.EngineVersion, "16.3")
	in.Status = or(in.Status, "available")
	in.MasterUsername = or(in.MasterUsername, "postgres")
	in.Port = or(in.Port, 5432)
	in.AllocatedStorage = or(in.AllocatedStorage, 20)
	in.StorageType = or(in.StorageType, "gp3")
	if in.StorageType == "gp3" && in.Iops == 0 && in.StorageThroughput == 0 {
		in.Iops, in.StorageThroughput = 3000, 125
	}
	in.AvailabilityZone = or(in.AvailabilityZone, s.region+"a")
	in.SubnetGroup = or(in.SubnetGroup, defaultSubnetGroup)
	in.VpcID = or(in.VpcID, s.subnetGroups[in.SubnetGroup], defaultVPC)
	if len(in.SecurityGroups) == 0 {
		in.SecurityGroups = []string{defaultSecurityGroup}
	}
	in.SecurityGroups = slices.Clone(in.SecurityGroups)
	in.Tags = slices.Clone(in.Tags)
	in.ParameterGroup = or(in.ParameterGroup, defaultParameterGroup(in.Engine, in.EngineVersion))
	in.OptionGroup = or(in.OptionGroup, defaultOptionGroup(in.Engine, in.EngineVersion))
	in.PreferredBackupWindow = or(in.PreferredBackupWindow, "03:00-03:30")
	in.PreferredMaintenanceWindow = or(in.PreferredMaintenanceWindow, "sun:04:00-sun:04:30")
	// A creating instance has no creation time (and so no endpoint) yet.
	if in.Status != "creating" {
		in.Created = orTime(in.Created, now.Add(-30*24*time.Hour))
	}
	in.DbiResourceID = or(in.DbiResourceID, s.newResourceID())
	in.CACertificate = or(in.CACertificate, defaultCACertificate)
	if in.PerformanceInsights {
		in.PerformanceInsightsKMSKeyID = or(in.PerformanceInsightsKMSKeyID, s.defaultKMSKey())
		in.PerformanceInsightsRetentionPeriod = or(in.PerformanceInsightsRetentionPeriod, 7)
	}
}

// learnGroups makes the groups a seeded instance uses known, so that a
// restore naming them succeeds and one naming an unknown group fails as
// AWS's would.
func (s *Sim) learnGroups(in Instance) {
	if _, known := s.subnetGroups[in.SubnetGroup]; !known {
		s.subnetGroups[in.SubnetGroup] = in.VpcID
	}
	s.parameterGroups[in.ParameterGroup] = true
	s.optionGroups[in.OptionGroup] = true
}

// AddSnapshot adds a DB snapshot and returns its identifier.
func (s *Sim) AddSnapshot(snap Snapshot) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	if !validIdentifier(snap.InstanceID) {
		return "", fmt.Errorf("rdssim: snapshot of %q: not an instance identifier AWS accepts", snap.InstanceID)
	}
	snap.InstanceID = strings.ToLower(snap.InstanceID)
	snap.Type = or(snap.Type, "manual")
	snap.Created = orTime(snap.Created, now)
	if snap.Type == "automated" && snap.ID == "" {
		snap.ID = automatedSnapshotName(snap.InstanceID, snap.Created)
	}
	if err := checkSnapshotID(snap); err != nil {
		return "", err
	}
	snap.ID = strings.ToLower(snap.ID)
	if _, taken := s.snapshots[snap.ID]; taken {
		return "", fmt.Errorf("rdssim: a snapshot named %s already exists", snap.ID)
	}
	s.fillSnapshotDefaults(&snap, now)
	s.snapshots[snap.ID] = &snap
	return snap.ID, nil
}

func checkSnapshotID(snap Snapshot) error {
	switch {
	case snap.Type != "manual" && snap.Type != "automated":
		return fmt.Errorf("rdssim: snapshot type %q: only manual and automated are simulated", snap.Type)
	case snap.ID == "":
		return errors.New("rdssim: a manual snapshot needs an ID")
	case snap.Type == "manual" && !validIdentifier(snap.ID):
		return fmt.Errorf("rdssim: snapshot identifier %q is not one AWS accepts", snap.ID)
	}
	return nil
}

// automatedSnapshotName is AWS's name for a daily automated snapshot.
func automatedSnapshotName(instance string, at time.Time) string {
	return "rds:" + instance + "-" + at.UTC().Format("2006-01-02-15-04")
}

func (s *Sim) fillSnapshotDefaults(snap *Snapshot, now time.Time) {
	from := Instance{ID: snap.InstanceID}
	if in, ok := s.instances[snap.InstanceID]; ok {
		from = in.Instance
	} else {
		s.fillInstanceDefaults(&from, now)
	}
	snap.Status = or(snap.Status, "available")
	if snap.Status == "available" {
		snap.PercentProgress = or(snap.PercentProgress, 100)
	}
	snap.Engine = or(snap.Engine, from.Engine)
	snap.EngineVersion = or(snap.EngineVersion, from.EngineVersion)
	snap.MasterUsername = or(snap.MasterUsername, from.MasterUsername)
	snap.AllocatedStorage = or(snap.AllocatedStorage, from.AllocatedStorage)
	snap.Port = or(snap.Port, from.Port)
	snap.AvailabilityZone = or(snap.AvailabilityZone, from.AvailabilityZone)
	snap.VpcID = or(snap.VpcID, from.VpcID)
	snap.DbiResourceID = or(snap.DbiResourceID, from.DbiResourceID)
	snap.StorageType = or(snap.StorageType, from.StorageType)
	snap.Iops = or(snap.Iops, from.Iops)
	snap.StorageThroughput = or(snap.StorageThroughput, from.StorageThroughput)
	snap.Encrypted = snap.Encrypted || from.StorageEncrypted
	snap.KmsKeyID = or(snap.KmsKeyID, from.KmsKeyID)
	snap.InstanceCreated = orTime(snap.InstanceCreated, from.Created)
	snap.BackupRetentionPeriod = or(snap.BackupRetentionPeriod, from.BackupRetentionPeriod)
	snap.PreferredBackupWindow = or(snap.PreferredBackupWindow, from.PreferredBackupWindow)
	snap.InstanceClass = or(snap.InstanceClass, from.Class)
	snap.Tags = slices.Clone(snap.Tags)
}

// AddRetainedBackup adds the retained automated backup of a deleted
// instance and returns its ARN.
func (s *Sim) AddRetainedBackup(b RetainedBackup) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	if !validIdentifier(b.InstanceID) {
		return "", fmt.Errorf("rdssim: retained backup of %q: not an instance identifier AWS accepts", b.InstanceID)
	}
	b.InstanceID = strings.ToLower(b.InstanceID)
	b.ARN = or(b.ARN, s.newBackupARN())
	if s.findRetained(func(r *RetainedBackup) bool { return r.ARN == b.ARN }) != nil {
		return "", fmt.Errorf("rdssim: a retained backup %s already exists", b.ARN)
	}
	s.fillRetainedDefaults(&b, now)
	if b.Earliest.After(b.Latest) {
		return "", fmt.Errorf("rdssim: retained backup of %s: its window starts after it ends", b.InstanceID)
	}
	s.retained = append(s.retained, &b)
	return b.ARN, nil
}

func (s *Sim) fillRetainedDefaults(b *RetainedBackup, now time.Time) {
	from := Instance{ID: b.InstanceID}
	s.fillInstanceDefaults(&from, now)
	b.DbiResourceID = or(b.DbiResourceID, from.DbiResourceID)
	b.BackupRetentionPeriod = or(b.BackupRetentionPeriod, 7)
	b.Latest = orTime(b.Latest, now.Add(-time.Hour))
	b.Earliest = orTime(b.Earliest, b.Latest.Add(-days(b.BackupRetentionPeriod)))
	b.Engine = or(b.Engine, from.Engine)
	b.EngineVersion = or(b.EngineVersion, from.EngineVersion)
	b.MasterUsername = or(b.MasterUsername, from.MasterUsername)
	b.InstanceClass = or(b.InstanceClass, from.Class)
	b.AllocatedStorage = or(b.AllocatedStorage, from.AllocatedStorage)
	b.Port = or(b.Port, from.Port)
	b.AvailabilityZone = or(b.AvailabilityZone, from.AvailabilityZone)
	b.VpcID = or(b.VpcID, from.VpcID)
	b.StorageType = or(b.StorageType, from.StorageType)
	b.Iops = or(b.Iops, from.Iops)
	b.StorageThroughput = or(b.StorageThroughput, from.StorageThroughput)
	b.InstanceCreated = orTime(b.InstanceCreated, from.Created)
	b.PreferredBackupWindow = or(b.PreferredBackupWindow, from.PreferredBackupWindow)
}

// AddEvent adds a past (or future) event, for instance an earlier
// restore's, so that the engine can learn how long restores take here.
func (s *Sim) AddEvent(e Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e.SourceType = or(e.SourceType, "db-instance")
	if !slices.Contains(sourceTypes, e.SourceType) {
		return fmt.Errorf("rdssim: event source type %q is not one of %s", e.SourceType, strings.Join(sourceTypes, ", "))
	}
	if e.SourceIdentifier == "" || e.Message == "" {
		return errors.New("rdssim: an event needs a SourceIdentifier and a Message")
	}
	e.Date = orTime(e.Date, now)
	e.SourceARN = or(e.SourceARN, s.sourceARN(e.SourceType, e.SourceIdentifier))
	e.Categories = slices.Clone(e.Categories)
	s.events = append(s.events, e)
	return nil
}

// sourceARN is the ARN AWS gives an event's source.
func (s *Sim) sourceARN(sourceType, id string) string {
	switch sourceType {
	case "db-instance":
		return s.arn("db", id)
	case "db-snapshot":
		return s.arn("snapshot", id)
	case "db-parameter-group":
		return s.arn("pg", id)
	}
	return ""
}

func or[T comparable](values ...T) T {
	var zero T
	for _, v := range values {
		if v != zero {
			return v
		}
	}
	return zero
}

// orTime also rounds to the millisecond, the precision of AWS's answers,
// so that a time read back from an answer compares equal to the one kept.
func orTime(t, fallback time.Time) time.Time {
	if t.IsZero() {
		t = fallback
	}
	return t.UTC().Truncate(time.Millisecond)
}

func days(n int32) time.Duration { return time.Duration(n) * 24 * time.Hour }

// Status is an instance's status now ("" and false when no instance has
// that name), for a checker that reads the account as AWS would show it.
func (s *Sim) Status(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.now())
	in, ok := s.instances[strings.ToLower(id)]
	if !ok {
		return "", false
	}
	return in.Status, true
}
