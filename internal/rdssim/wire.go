package rdssim

import (
	"bytes"
	"encoding/xml"
	"strings"
	"time"
)

// The structures below are RDS's response shapes. Their field names are
// AWS's element names, so that the wire format can be read off them (and
// checked against the SDK's schemas by the tests).

// xmlTime is a timestamp as AWS writes them: UTC, milliseconds, Z.
type xmlTime time.Time

func (t xmlTime) MarshalText() ([]byte, error) {
	return []byte(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z")), nil
}

func timeOrNil(t time.Time) *xmlTime {
	if t.IsZero() {
		return nil
	}
	v := xmlTime(t)
	return &v
}

func int32OrNil(n int32) *int32 {
	if n == 0 {
		return nil
	}
	return &n
}

type xmlInstance struct {
	DBInstanceIdentifier               string
	DBInstanceClass                    string
	Engine                             string
	DBInstanceStatus                   string
	MasterUsername                     string       `xml:",omitempty"`
	DBName                             string       `xml:",omitempty"`
	Endpoint                           *xmlEndpoint `xml:",omitempty"`
	AllocatedStorage                   int32
	InstanceCreateTime                 *xmlTime `xml:",omitempty"`
	PreferredBackupWindow              string   `xml:",omitempty"`
	BackupRetentionPeriod              int32
	VpcSecurityGroups                  []xmlSecurityGroup  `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
	DBParameterGroups                  []xmlParameterGroup `xml:"DBParameterGroups>DBParameterGroup"`
	AvailabilityZone                   string              `xml:",omitempty"`
	DBSubnetGroup                      *xmlSubnetGroup     `xml:",omitempty"`
	PreferredMaintenanceWindow         string              `xml:",omitempty"`
	PendingModifiedValues              xmlPending
	LatestRestorableTime               *xmlTime `xml:",omitempty"`
	MultiAZ                            bool
	EngineVersion                      string
	AutoMinorVersionUpgrade            bool
	LicenseModel                       string
	Iops                               *int32           `xml:",omitempty"`
	StorageThroughput                  *int32           `xml:",omitempty"`
	OptionGroupMemberships             []xmlOptionGroup `xml:"OptionGroupMemberships>OptionGroupMembership"`
	PubliclyAccessible                 bool
	StorageType                        string
	DbInstancePort                     int32
	StorageEncrypted                   bool
	KmsKeyId                           string `xml:",omitempty"`
	DbiResourceId                      string
	CACertificateIdentifier            string
	CopyTagsToSnapshot                 bool
	MonitoringInterval                 int32
	EnhancedMonitoringResourceArn      string `xml:",omitempty"`
	MonitoringRoleArn                  string `xml:",omitempty"`
	DBInstanceArn                      string
	IAMDatabaseAuthenticationEnabled   bool
	PerformanceInsightsEnabled         bool
	PerformanceInsightsKMSKeyId        string `xml:",omitempty"`
	PerformanceInsightsRetentionPeriod *int32 `xml:",omitempty"`
	DeletionProtection                 bool
	MaxAllocatedStorage                *int32   `xml:",omitempty"`
	TagList                            []xmlTag `xml:"TagList>Tag"`
	BackupTarget                       string
	NetworkType                        string
}

type xmlEndpoint struct {
	Address      string
	Port         int32
	HostedZoneId string
}

type xmlSecurityGroup struct {
	VpcSecurityGroupId string
	Status             string
}

type xmlParameterGroup struct {
	DBParameterGroupName string
	ParameterApplyStatus string
}

type xmlOptionGroup struct {
	OptionGroupName string
	Status          string
}

type xmlSubnetGroup struct {
	DBSubnetGroupName        string
	DBSubnetGroupDescription string
	VpcId                    string
	SubnetGroupStatus        string
}

type xmlPending struct {
	DBInstanceIdentifier string `xml:",omitempty"`
}

type xmlTag struct{ Key, Value string }

type xmlSnapshot struct {
	DBSnapshotIdentifier             string
	DBInstanceIdentifier             string
	SnapshotCreateTime               *xmlTime `xml:",omitempty"`
	Engine                           string
	AllocatedStorage                 int32
	Status                           string
	Port                             int32
	AvailabilityZone                 string   `xml:",omitempty"`
	VpcId                            string   `xml:",omitempty"`
	InstanceCreateTime               *xmlTime `xml:",omitempty"`
	MasterUsername                   string   `xml:",omitempty"`
	EngineVersion                    string
	LicenseModel                     string
	SnapshotType                     string
	Iops                             *int32 `xml:",omitempty"`
	StorageThroughput                *int32 `xml:",omitempty"`
	PercentProgress                  int32
	StorageType                      string
	Encrypted                        bool
	KmsKeyId                         string `xml:",omitempty"`
	DBSnapshotArn                    string
	IAMDatabaseAuthenticationEnabled bool
	DbiResourceId                    string   `xml:",omitempty"`
	BackupRetentionPeriod            *int32   `xml:",omitempty"`
	PreferredBackupWindow            string   `xml:",omitempty"`
	TagList                          []xmlTag `xml:"TagList>Tag"`
	SnapshotTarget                   string
}

type xmlAutomatedBackup struct {
	DBInstanceArn                    string
	DbiResourceId                    string
	Region                           string
	DBInstanceIdentifier             string
	RestoreWindow                    *xmlRestoreWindow `xml:",omitempty"`
	AllocatedStorage                 int32
	Status                           string
	Port                             int32
	AvailabilityZone                 string   `xml:",omitempty"`
	VpcId                            string   `xml:",omitempty"`
	InstanceCreateTime               *xmlTime `xml:",omitempty"`
	MasterUsername                   string   `xml:",omitempty"`
	Engine                           string
	EngineVersion                    string
	LicenseModel                     string
	Iops                             *int32 `xml:",omitempty"`
	StorageThroughput                *int32 `xml:",omitempty"`
	Encrypted                        bool
	StorageType                      string
	KmsKeyId                         string `xml:",omitempty"`
	IAMDatabaseAuthenticationEnabled bool
	BackupRetentionPeriod            int32
	PreferredBackupWindow            string `xml:",omitempty"`
	DBInstanceAutomatedBackupsArn    string
	BackupTarget                     string
}

type xmlRestoreWindow struct {
	EarliestTime *xmlTime `xml:",omitempty"`
	LatestTime   *xmlTime `xml:",omitempty"`
}

type xmlEvent struct {
	SourceIdentifier string
	SourceType       string
	Message          string
	EventCategories  []string `xml:"EventCategories>EventCategory"`
	Date             xmlTime
	SourceArn        string `xml:",omitempty"`
}

// The results, one per action.

type instancesResult struct {
	DBInstances []xmlInstance `xml:"DBInstances>DBInstance"`
	Marker      string        `xml:",omitempty"`
}

type instanceResult struct{ DBInstance xmlInstance }

type snapshotsResult struct {
	DBSnapshots []xmlSnapshot `xml:"DBSnapshots>DBSnapshot"`
	Marker      string        `xml:",omitempty"`
}

type backupsResult struct {
	DBInstanceAutomatedBackups []xmlAutomatedBackup `xml:"DBInstanceAutomatedBackups>DBInstanceAutomatedBackup"`
	Marker                     string               `xml:",omitempty"`
}

type eventsResult struct {
	Events []xmlEvent `xml:"Events>Event"`
	Marker string     `xml:",omitempty"`
}

type tagsResult struct {
	TagList []xmlTag `xml:"TagList>Tag"`
}

type xmlError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	// RequestId sits beside Error, not in it, in AWS Query errors.
	RequestId string
}

const xmlns = "http://rds.amazonaws.com/doc/2014-10-31/"

// responseXML wraps an action's result as AWS does:
// <{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>.
// action is always one of the simulated actions' names.
func responseXML(action string, result any, requestID string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<" + action + `Response xmlns="` + xmlns + `">`)
	enc := xml.NewEncoder(&b)
	if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	b.WriteString("<ResponseMetadata><RequestId>" + requestID + "</RequestId></ResponseMetadata>")
	b.WriteString("</" + action + "Response>")
	return b.Bytes(), nil
}

func errorXML(e *apiError, requestID string) []byte {
	body, err := xml.Marshal(xmlError{Xmlns: xmlns, Type: e.errorType(), Code: e.code, Message: e.message, RequestId: requestID})
	if err != nil { // only strings: Marshal cannot fail, but never answer nothing
		return []byte(`<ErrorResponse xmlns="` + xmlns + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code></Error></ErrorResponse>`)
	}
	return body
}

func (s *Sim) wireInstance(in *instance, now time.Time) xmlInstance {
	x := xmlInstance{
		DBInstanceIdentifier: in.ID, DBInstanceClass: in.Class, Engine: in.Engine, DBInstanceStatus: in.Status,
		MasterUsername: in.MasterUsername, DBName: in.DBName, AllocatedStorage: in.AllocatedStorage,
		InstanceCreateTime: timeOrNil(in.Created), PreferredBackupWindow: in.PreferredBackupWindow,
		BackupRetentionPeriod: in.BackupRetentionPeriod, AvailabilityZone: in.AvailabilityZone,
		PreferredMaintenanceWindow: in.PreferredMaintenanceWindow, PendingModifiedValues: xmlPending{in.pendingID},
		MultiAZ: in.MultiAZ, EngineVersion: in.EngineVersion, AutoMinorVersionUpgrade: true,
		LicenseModel: licenseModel(in.Engine), Iops: int32OrNil(in.Iops), StorageThroughput: int32OrNil(in.StorageThroughput),
		PubliclyAccessible: in.PubliclyAccessible, StorageType: in.StorageType, StorageEncrypted: in.StorageEncrypted,
		KmsKeyId: in.KmsKeyID, DbiResourceId: in.DbiResourceID, CACertificateIdentifier: in.CACertificate,
		CopyTagsToSnapshot: in.CopyTagsToSnapshot, MonitoringInterval: in.MonitoringInterval,
		MonitoringRoleArn: in.MonitoringRoleARN, DBInstanceArn: s.arn("db", in.ID),
		IAMDatabaseAuthenticationEnabled: in.IAMDatabaseAuthentication, PerformanceInsightsEnabled: in.PerformanceInsights,
		PerformanceInsightsKMSKeyId: in.PerformanceInsightsKMSKeyID, DeletionProtection: in.DeletionProtection,
		PerformanceInsightsRetentionPeriod: int32OrNil(in.PerformanceInsightsRetentionPeriod),
		MaxAllocatedStorage:                int32OrNil(in.MaxAllocatedStorage), TagList: wireTags(in.Tags),
		BackupTarget: "region", NetworkType: "IPV4",
		DBSubnetGroup: &xmlSubnetGroup{DBSubnetGroupName: in.SubnetGroup, DBSubnetGroupDescription: in.SubnetGroup,
			VpcId: in.VpcID, SubnetGroupStatus: "Complete"},
	}
	// A creating instance has no address yet, and no creation time: AWS
	// leaves both out until the instance exists.
	if !in.Created.IsZero() {
		x.Endpoint = &xmlEndpoint{Address: s.endpointAddress(in.ID), Port: in.Port, HostedZoneId: s.hostedZone()}
	}
	if in.MonitoringInterval > 0 {
		x.EnhancedMonitoringResourceArn = "arn:aws:logs:" + s.region + ":" + s.account +
			":log-group:RDSOSMetrics:log-stream:" + in.DbiResourceID
	}
	if w, ok := in.window(now); ok {
		x.LatestRestorableTime = timeOrNil(w.latest)
	}
	for _, sg := range in.SecurityGroups {
		x.VpcSecurityGroups = append(x.VpcSecurityGroups, xmlSecurityGroup{sg, "active"})
	}
	x.DBParameterGroups = []xmlParameterGroup{{in.ParameterGroup, or(in.paramStatus, "in-sync")}}
	x.OptionGroupMemberships = []xmlOptionGroup{{in.OptionGroup, "in-sync"}}
	return x
}

func wireTags(tags []Tag) []xmlTag {
	out := make([]xmlTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, xmlTag(t))
	}
	return out
}

func licenseModel(engine string) string {
	switch {
	case strings.Contains(engine, "postgres"):
		return "postgresql-license"
	case engine == "mysql" || engine == "mariadb":
		return "general-public-license"
	}
	return "license-included"
}

func (s *Sim) wireSnapshot(snap *Snapshot) xmlSnapshot {
	return xmlSnapshot{
		DBSnapshotIdentifier: snap.ID, DBInstanceIdentifier: snap.InstanceID, SnapshotCreateTime: timeOrNil(snap.Created),
		Engine: snap.Engine, AllocatedStorage: snap.AllocatedStorage, Status: snap.Status, Port: snap.Port,
		AvailabilityZone: snap.AvailabilityZone, VpcId: snap.VpcID, InstanceCreateTime: timeOrNil(snap.InstanceCreated),
		MasterUsername: snap.MasterUsername, EngineVersion: snap.EngineVersion, LicenseModel: licenseModel(snap.Engine),
		SnapshotType: snap.Type, Iops: int32OrNil(snap.Iops), StorageThroughput: int32OrNil(snap.StorageThroughput),
		PercentProgress: snap.PercentProgress, StorageType: snap.StorageType, Encrypted: snap.Encrypted,
		KmsKeyId: snap.KmsKeyID, DBSnapshotArn: s.arn("snapshot", snap.ID), DbiResourceId: snap.DbiResourceID,
		BackupRetentionPeriod: int32OrNil(snap.BackupRetentionPeriod), PreferredBackupWindow: snap.PreferredBackupWindow,
		TagList: wireTags(snap.Tags), SnapshotTarget: "region",
	}
}

// wireActiveBackup is the automated backup of a live instance, described
// from the instance as it is now.
func (s *Sim) wireActiveBackup(in *instance, now time.Time) xmlAutomatedBackup {
	b := xmlAutomatedBackup{
		DBInstanceArn: s.arn("db", in.ID), DbiResourceId: in.DbiResourceID, Region: s.region,
		DBInstanceIdentifier: in.ID, AllocatedStorage: in.AllocatedStorage, Status: "creating", Port: in.Port,
		AvailabilityZone: in.AvailabilityZone, VpcId: in.VpcID, InstanceCreateTime: timeOrNil(in.Created),
		MasterUsername: in.MasterUsername, Engine: in.Engine, EngineVersion: in.EngineVersion,
		LicenseModel: licenseModel(in.Engine), Iops: int32OrNil(in.Iops), StorageThroughput: int32OrNil(in.StorageThroughput),
		Encrypted: in.StorageEncrypted, StorageType: in.StorageType, KmsKeyId: in.KmsKeyID,
		IAMDatabaseAuthenticationEnabled: in.IAMDatabaseAuthentication, BackupRetentionPeriod: in.BackupRetentionPeriod,
		PreferredBackupWindow: in.PreferredBackupWindow, DBInstanceAutomatedBackupsArn: in.backupARN, BackupTarget: "region",
	}
	if w, ok := in.window(now); ok {
		b.Status = "active"
		b.RestoreWindow = &xmlRestoreWindow{timeOrNil(w.earliest), timeOrNil(w.latest)}
	}
	return b
}

func (s *Sim) wireRetainedBackup(r *RetainedBackup) xmlAutomatedBackup {
	return xmlAutomatedBackup{
		DBInstanceArn: s.arn("db", r.InstanceID), DbiResourceId: r.DbiResourceID, Region: s.region,
		DBInstanceIdentifier: r.InstanceID, RestoreWindow: &xmlRestoreWindow{timeOrNil(r.Earliest), timeOrNil(r.Latest)},
		AllocatedStorage: r.AllocatedStorage, Status: "retained", Port: r.Port, AvailabilityZone: r.AvailabilityZone,
		VpcId: r.VpcID, InstanceCreateTime: timeOrNil(r.InstanceCreated), MasterUsername: r.MasterUsername,
		Engine: r.Engine, EngineVersion: r.EngineVersion, LicenseModel: licenseModel(r.Engine),
		Iops: int32OrNil(r.Iops), StorageThroughput: int32OrNil(r.StorageThroughput), Encrypted: r.Encrypted,
		StorageType: r.StorageType, KmsKeyId: r.KmsKeyID, BackupRetentionPeriod: r.BackupRetentionPeriod,
		PreferredBackupWindow: r.PreferredBackupWindow, DBInstanceAutomatedBackupsArn: r.ARN, BackupTarget: "region",
	}
}

func wireEvent(e Event) xmlEvent {
	return xmlEvent{SourceIdentifier: e.SourceIdentifier, SourceType: e.SourceType, Message: e.Message,
		EventCategories: e.Categories, Date: xmlTime(e.Date), SourceArn: e.SourceARN}
}
