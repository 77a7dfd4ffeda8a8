package rds

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// Setting is one setting of the new instance as the plan shows it, next to
// the source's value.
type Setting struct {
	Name   string // "DB subnet group"
	Source string // the source instance's value; "" when the source is gone
	New    string // what the new instance gets
	// Later: RDS cannot set it at restore time, so pgrescue applies it with
	// ModifyDBInstance once the new instance is available.
	Later bool
}

// Copied reports whether the new instance gets the source's value.
func (s Setting) Copied() bool { return s.Source != "" && s.Source == s.New }

// copySet is every setting a restore copies from the source: the ones AWS
// would otherwise silently default (subnet group, security groups,
// parameter group…), and those RDS only takes afterwards (monitoring,
// Performance Insights). One struct feeds the SDK input, the aws command
// line and the plan, so the three cannot disagree.
type copySet struct {
	known              bool // false when the source instance is gone: AWS's defaults apply
	SubnetGroup        string
	SecurityGroups     []string
	ParameterGroup     string
	OptionGroup        string
	Class              string
	StorageType        string
	Iops, Throughput   int32
	MultiAZ            bool
	Port               int32
	Public             bool
	DeletionProtection bool
	Tags               []Tag
	CopyTags           bool
	IAMAuth            bool
	MaxAllocatedGiB    int32
	maxLater           bool // a snapshot restore cannot take MaxAllocatedGiB: it is applied afterwards
	CACertificate      string
	BackupRetention    int32

	MonitoringInterval  int32
	MonitoringRole      string
	PerformanceInsights bool
	PIKMSKey            string
	PIRetentionDays     int32
}

func copyFrom(src *Instance) copySet {
	if src == nil {
		return copySet{}
	}
	c := copySet{
		known: true, SubnetGroup: src.SubnetGroup, SecurityGroups: src.SecurityGroups,
		OptionGroup: first(src.OptionGroups), ParameterGroup: first(src.ParameterGroups),
		Class: src.Class, StorageType: src.StorageType, MultiAZ: src.MultiAZ, Port: src.Port,
		Public: src.PubliclyAccessible, DeletionProtection: src.DeletionProtection,
		Tags: append([]Tag(nil), src.Tags...), CopyTags: src.CopyTagsToSnapshot, IAMAuth: src.IAMAuth,
		MaxAllocatedGiB: src.MaxAllocatedGiB, CACertificate: src.CACertificate, BackupRetention: src.BackupRetentionDays,
		MonitoringInterval: src.MonitoringInterval, MonitoringRole: src.MonitoringRole,
		PerformanceInsights: src.PerformanceInsights, PIKMSKey: src.PIKMSKey, PIRetentionDays: src.PIRetentionDays,
	}
	if provisionedIOPS(src) {
		c.Iops, c.Throughput = src.Iops, src.Throughput
	}
	return c
}

// provisionedIOPS: IOPS and throughput can be given only for io1/io2, and
// for gp3 from 400 GiB (PostgreSQL); below that AWS refuses the restore
// if they are given at all.
func provisionedIOPS(src *Instance) bool {
	switch src.StorageType {
	case "io1", "io2":
		return src.Iops > 0
	case "gp3":
		return src.AllocatedGiB >= 400 && src.Iops > 0
	}
	return false
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func num(n int32) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

// settings lists what the plan shows, source value next to the new one.
func (c copySet) settings(src *Instance) []Setting {
	if !c.known {
		return []Setting{{Name: "every setting", New: "AWS's defaults: the source instance no longer exists to copy from"}}
	}
	s := []Setting{
		{Name: "DB subnet group", Source: src.SubnetGroup, New: c.SubnetGroup},
		{Name: "VPC security groups", Source: strings.Join(src.SecurityGroups, " "), New: strings.Join(c.SecurityGroups, " ")},
		{Name: "parameter group", Source: first(src.ParameterGroups), New: c.ParameterGroup},
		{Name: "option group", Source: first(src.OptionGroups), New: c.OptionGroup},
		{Name: "instance class", Source: src.Class, New: c.Class},
		{Name: "storage type", Source: src.StorageType, New: c.StorageType},
		{Name: "Multi-AZ", Source: yesNo(src.MultiAZ), New: yesNo(c.MultiAZ)},
		{Name: "port", Source: num(src.Port), New: num(c.Port)},
		{Name: "publicly accessible", Source: yesNo(src.PubliclyAccessible), New: yesNo(c.Public)},
		{Name: "deletion protection", Source: yesNo(src.DeletionProtection), New: yesNo(c.DeletionProtection)},
		{Name: "tags", Source: tagList(src.Tags), New: tagList(c.Tags)},
		{Name: "copy tags to snapshots", Source: yesNo(src.CopyTagsToSnapshot), New: yesNo(c.CopyTags)},
		{Name: "IAM database authentication", Source: yesNo(src.IAMAuth), New: yesNo(c.IAMAuth)},
		{Name: "backup retention (days)", Source: num(src.BackupRetentionDays), New: num(c.BackupRetention)},
	}
	if c.Iops > 0 {
		s = append(s, Setting{Name: "IOPS", Source: num(src.Iops), New: num(c.Iops)},
			Setting{Name: "storage throughput (MiB/s)", Source: num(src.Throughput), New: num(c.Throughput)})
	}
	if c.MaxAllocatedGiB > 0 {
		s = append(s, Setting{Name: "storage autoscaling limit (GiB)", Source: num(src.MaxAllocatedGiB), New: num(c.MaxAllocatedGiB), Later: c.maxLater})
	}
	if c.CACertificate != "" {
		s = append(s, Setting{Name: "CA certificate", Source: src.CACertificate, New: c.CACertificate})
	}
	if c.MonitoringInterval > 0 {
		s = append(s, Setting{Name: "enhanced monitoring", Later: true,
			Source: monitoring(src.MonitoringInterval, src.MonitoringRole), New: monitoring(c.MonitoringInterval, c.MonitoringRole)})
	}
	if c.PerformanceInsights {
		s = append(s, Setting{Name: "Performance Insights", Later: true,
			Source: insights(src.PerformanceInsights, src.PIRetentionDays), New: insights(c.PerformanceInsights, c.PIRetentionDays)})
	}
	return s
}

func monitoring(interval int32, role string) string {
	return fmt.Sprintf("every %d s, role %s", interval, role)
}

func insights(on bool, days int32) string {
	if !on {
		return "off"
	}
	return fmt.Sprintf("on, kept %d days", days)
}

func tagList(tags []Tag) string {
	var words []string
	for _, t := range tags {
		words = append(words, t.Key+"="+t.Value)
	}
	return strings.Join(words, " ")
}

func (c copySet) sdkTags() []types.Tag {
	var tags []types.Tag
	for _, t := range c.Tags {
		tags = append(tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	return tags
}

// later reports whether settings remain for ModifyDBInstance.
func (c copySet) later() bool {
	return c.MonitoringInterval > 0 || c.PerformanceInsights || c.maxLater && c.MaxAllocatedGiB > 0
}

func (c copySet) pointInTimeInput(target string) *rds.RestoreDBInstanceToPointInTimeInput {
	in := &rds.RestoreDBInstanceToPointInTimeInput{TargetDBInstanceIdentifier: aws.String(target), Tags: c.sdkTags()}
	if !c.known {
		return in
	}
	in.DBSubnetGroupName, in.VpcSecurityGroupIds = nonEmpty(c.SubnetGroup), c.SecurityGroups
	in.DBParameterGroupName, in.OptionGroupName = nonEmpty(c.ParameterGroup), nonEmpty(c.OptionGroup)
	in.DBInstanceClass, in.StorageType = nonEmpty(c.Class), nonEmpty(c.StorageType)
	in.Iops, in.StorageThroughput = positive(c.Iops), positive(c.Throughput)
	in.MultiAZ, in.Port, in.PubliclyAccessible = aws.Bool(c.MultiAZ), positive(c.Port), aws.Bool(c.Public)
	in.DeletionProtection, in.CopyTagsToSnapshot = aws.Bool(c.DeletionProtection), aws.Bool(c.CopyTags)
	in.EnableIAMDatabaseAuthentication = aws.Bool(c.IAMAuth)
	in.CACertificateIdentifier = nonEmpty(c.CACertificate)
	if !c.maxLater {
		in.MaxAllocatedStorage = positive(c.MaxAllocatedGiB)
	}
	in.BackupRetentionPeriod = positive(c.BackupRetention)
	return in
}

// snapshotInput is the same settings for a snapshot restore; AWS wants a
// snapshot of another account by ARN, its own by identifier or ARN.
func (c copySet) snapshotInput(target, arn, id string) *rds.RestoreDBInstanceFromDBSnapshotInput {
	p := c.pointInTimeInput(target)
	return &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(target), DBSnapshotIdentifier: aws.String(cmp.Or(arn, id)),
		Tags: p.Tags, DBSubnetGroupName: p.DBSubnetGroupName, VpcSecurityGroupIds: p.VpcSecurityGroupIds,
		DBParameterGroupName: p.DBParameterGroupName, OptionGroupName: p.OptionGroupName,
		DBInstanceClass: p.DBInstanceClass, StorageType: p.StorageType, Iops: p.Iops, StorageThroughput: p.StorageThroughput,
		MultiAZ: p.MultiAZ, Port: p.Port, PubliclyAccessible: p.PubliclyAccessible,
		DeletionProtection: p.DeletionProtection, CopyTagsToSnapshot: p.CopyTagsToSnapshot,
		EnableIAMDatabaseAuthentication: p.EnableIAMDatabaseAuthentication,
		CACertificateIdentifier:         p.CACertificateIdentifier,
		BackupRetentionPeriod:           p.BackupRetentionPeriod,
	}
}

// modifyInput applies what RDS cannot take at restore time.
func (c copySet) modifyInput(target string) *rds.ModifyDBInstanceInput {
	in := &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(target), ApplyImmediately: aws.Bool(true)}
	if c.MonitoringInterval > 0 {
		in.MonitoringInterval, in.MonitoringRoleArn = aws.Int32(c.MonitoringInterval), nonEmpty(c.MonitoringRole)
	}
	if c.PerformanceInsights {
		in.EnablePerformanceInsights = aws.Bool(true)
		in.PerformanceInsightsKMSKeyId, in.PerformanceInsightsRetentionPeriod = nonEmpty(c.PIKMSKey), positive(c.PIRetentionDays)
	}
	if c.maxLater {
		in.MaxAllocatedStorage = positive(c.MaxAllocatedGiB)
	}
	return in
}

func positive(n int32) *int32 {
	if n <= 0 {
		return nil
	}
	return aws.Int32(n)
}

// cliFlags are the restore settings as aws rds flags, in the SDK input's order.
func (c copySet) cliFlags() []string {
	var f []string
	add := func(words ...string) { f = append(f, words...) }
	if c.known {
		addIf(&f, "--db-subnet-group-name", c.SubnetGroup)
		if len(c.SecurityGroups) > 0 {
			add(append([]string{"--vpc-security-group-ids"}, c.SecurityGroups...)...)
		}
		addIf(&f, "--db-parameter-group-name", c.ParameterGroup)
		addIf(&f, "--option-group-name", c.OptionGroup)
		addIf(&f, "--db-instance-class", c.Class)
		addIf(&f, "--storage-type", c.StorageType)
		addIf(&f, "--iops", num(c.Iops))
		addIf(&f, "--storage-throughput", num(c.Throughput))
		add(boolFlag("multi-az", c.MultiAZ))
		addIf(&f, "--port", num(c.Port))
		add(boolFlag("publicly-accessible", c.Public), boolFlag("deletion-protection", c.DeletionProtection),
			boolFlag("copy-tags-to-snapshot", c.CopyTags), boolFlag("enable-iam-database-authentication", c.IAMAuth))
		if !c.maxLater {
			addIf(&f, "--max-allocated-storage", num(c.MaxAllocatedGiB))
		}
		addIf(&f, "--ca-certificate-identifier", c.CACertificate)
		addIf(&f, "--backup-retention-period", num(c.BackupRetention))
	}
	if len(c.Tags) > 0 {
		add("--tags")
		for _, t := range c.Tags {
			add("Key=" + t.Key + ",Value=" + t.Value)
		}
	}
	return f
}

// laterFlags are ModifyDBInstance's flags for what RDS takes only afterwards.
func (c copySet) laterFlags() []string {
	var f []string
	if c.MonitoringInterval > 0 {
		addIf(&f, "--monitoring-interval", num(c.MonitoringInterval))
		addIf(&f, "--monitoring-role-arn", c.MonitoringRole)
	}
	if c.PerformanceInsights {
		f = append(f, "--enable-performance-insights")
		addIf(&f, "--performance-insights-kms-key-id", c.PIKMSKey)
		addIf(&f, "--performance-insights-retention-period", num(c.PIRetentionDays))
	}
	if c.maxLater {
		addIf(&f, "--max-allocated-storage", num(c.MaxAllocatedGiB))
	}
	return append(f, "--apply-immediately")
}

func addIf(f *[]string, flag, value string) {
	if value != "" {
		*f = append(*f, flag, value)
	}
}

func boolFlag(name string, on bool) string {
	if on {
		return "--" + name
	}
	return "--no-" + name
}
