package demo

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"pgrescue/hosting"
	"pgrescue/internal/rdssim"
)

// The RDS scenarios are the runbook's first branch: an application hosted
// on AWS whose database is an RDS instance. AWS is the in-process RDS
// simulator, which answers the same API calls as AWS and takes seconds, not
// minutes, to go creating → backing-up → available; no AWS account is
// needed. In "rds-failure" the first restore ends in incompatible-parameters,
// as a parameter group too large for the class does, and the trainee reads
// AWS's events and restores again.

const (
	rdsScenario        = "rds"
	rdsFailureScenario = "rds-failure"

	rdsApp      = "local-links-manager"
	rdsInstance = "local-links-manager-postgres"
	rdsRegion   = "eu-west-1"
	// rdsAccessKey and rdsSecretKey are the trainee's keys: the simulator
	// checks none, and they are no one's.
	rdsAccessKey = "AKIAPGRESCUETRAINING"
	rdsSecretKey = "training/secret/not-an-aws-key"
)

// isRDS reports whether a scenario restores an RDS instance (no PostgreSQL
// is started for it).
func isRDS(name string) bool { return name == rdsScenario || name == rdsFailureScenario }

// RDSDemo is what the wizard needs to reach the simulated AWS.
type RDSDemo struct {
	Endpoint             string
	Region               string
	AccessKey, SecretKey string
	Instance             string
}

// rdsPhases are short enough for a trainee to watch, long enough to read.
var rdsPhases = rdssim.Phases{Creating: 12 * time.Second, BackingUp: 6 * time.Second, Renaming: 6 * time.Second, Modifying: 5 * time.Second}

// startRDS serves the simulated account until Close.
func (b *builder) startRDS(context.Context) error {
	s := b.s
	s.rds = rdssim.New(rdssim.Options{Region: rdsRegion, Clock: b.now, Phases: rdsPhases})
	url, stop, err := s.rds.Start()
	if err != nil {
		return fmt.Errorf("the RDS simulator could not listen on 127.0.0.1: %w", err)
	}
	s.rdsStop = stop
	s.RDS = &RDSDemo{Endpoint: url, Region: rdsRegion, AccessKey: rdsAccessKey, SecretKey: rdsSecretKey, Instance: rdsInstance}
	s.App, s.Database = rdsApp, "local-links-manager_production"
	return nil
}

// seedRDS makes the application's instance as GOV.UK's terraform did (a
// week of automated backups in 01:00-03:00), a snapshot taken before an
// upgrade, a week of nightly snapshots, and two earlier restores whose
// events tell how long a restore takes here.
func (b *builder) seedRDS(context.Context) error {
	s, now := b.s, b.now()
	err := s.rds.AddInstance(rdssim.Instance{
		ID: rdsInstance, Class: "db.m6g.large", EngineVersion: "13.7", MasterUsername: "aws_db_admin",
		DBName: "local-links-manager_production", AllocatedStorage: 100, MaxAllocatedStorage: 200, StorageType: "gp3",
		StorageEncrypted: true, MultiAZ: true, SubnetGroup: "blue-govuk-rds-subnet", VpcID: "vpc-0a1b2c3d",
		SecurityGroups: []string{"sg-0123456789abcdef0"}, ParameterGroup: "local-links-manager-postgres-20220705",
		BackupRetentionPeriod: 7, PreferredBackupWindow: "01:00-03:00", DeletionProtection: true, CopyTagsToSnapshot: true,
		Created: now.AddDate(0, -6, 0), Tags: []rdssim.Tag{{Key: "Name", Value: rdsApp}, {Key: "project", Value: "govuk"}},
	})
	if err != nil {
		return err
	}
	for day := 1; day <= 7; day++ {
		d := now.AddDate(0, 0, -day).UTC()
		at := time.Date(d.Year(), d.Month(), d.Day(), 1, 30, 0, 0, time.UTC)
		if _, err := s.rds.AddSnapshot(rdssim.Snapshot{InstanceID: rdsInstance, Type: "automated", Created: at}); err != nil {
			return err
		}
	}
	if _, err := s.rds.AddSnapshot(rdssim.Snapshot{ID: "before-postgres-13-upgrade", InstanceID: rdsInstance, Created: now.AddDate(0, 0, -3)}); err != nil {
		return err
	}
	for i, took := range []time.Duration{14 * time.Minute, 22 * time.Minute} {
		id := fmt.Sprintf("drill-%d", i+1)
		at := now.AddDate(0, 0, -(i + 2))
		for _, e := range []rdssim.Event{
			{SourceIdentifier: id, Message: "DB instance created", Date: at},
			{SourceIdentifier: id, Message: "Restored from snapshot rds:" + rdsInstance, Date: at.Add(took / 2)},
			{SourceIdentifier: id, Message: "Finished DB Instance backup", Date: at.Add(took)},
		} {
			if err := s.rds.AddEvent(e); err != nil {
				return err
			}
		}
	}
	if s.Scenario.Name == rdsFailureScenario {
		return s.rds.FailNextRestore(rdssim.StatusIncompatibleParameters)
	}
	return nil
}

// badMigration places the accident the trainee restores to just before.
func (b *builder) badMigration(context.Context) error {
	b.s.AccidentAt = b.now().Add(-25 * time.Minute).Truncate(time.Second)
	return nil
}

func (b *builder) writeRDSSettings(context.Context) error {
	s := b.s
	if err := writeCatalog(s.Catalog); err != nil {
		return err
	}
	data, err := hosting.MarshalConfig(s.Catalog, map[string]hosting.AppDetails{
		rdsApp: {Databases: []string{s.Database}, RDS: hosting.RDSInstance{Instance: rdsInstance, Region: rdsRegion}},
	})
	if err != nil {
		return fileError(s.Config, err)
	}
	return writePublic(s.Config, append([]byte(configHeader), data...))
}

func (b *builder) rdsSteps() []step {
	return []step{
		{"Starting the RDS simulator (the AWS RDS API on 127.0.0.1)", b.startRDS},
		{"The application's instance, a week of backups and snapshots", b.seedRDS},
		{"This morning: the bad migration", b.badMigration},
		{"Writing the catalog and pgrescue's config", b.writeRDSSettings},
	}
}

func describeRDS(s *Sandbox) string {
	text := fmt.Sprintf("At %s a migration of %s dropped a column of its production database, an AWS RDS instance (%s, in %s), "+
		"and the application has been failing since. Restore the instance to a point in time just before the migration "+
		"(within 15 minutes before it), into a new instance: the old one is kept for comparison. Once the new instance is "+
		"available, cut over so that the application's endpoint reaches it.",
		describeTime(s.AccidentAt), rdsApp, rdsInstance, rdsRegion)
	if s.Scenario.Name == rdsFailureScenario {
		text += " Careful: AWS may not manage the first time. Read what it says, and try again."
	}
	return text
}

// checkRDS judges the exercise from the simulated account: a restore to a
// point in time within 15 minutes before the migration that became
// available, and whether the cut-over was done.
func (s *Sandbox) checkRDS() Verdict {
	var restoredTo time.Time
	var target, cutOver string
	for _, r := range s.rds.Requests() {
		if r.ErrorCode != "" || r.Status >= 300 {
			continue
		}
		switch r.Action {
		case "RestoreDBInstanceToPointInTime":
			restoredTo, target = time.Time{}, r.Params.Get("TargetDBInstanceIdentifier")
			if t, err := time.Parse(time.RFC3339, r.Params.Get("RestoreTime")); err == nil {
				restoredTo = t
			}
		case "RestoreDBInstanceFromDBSnapshot":
			restoredTo, target = time.Time{}, r.Params.Get("DBInstanceIdentifier")
		case "ModifyDBInstance":
			if r.Params.Get("NewDBInstanceIdentifier") == rdsInstance {
				cutOver = r.Params.Get("DBInstanceIdentifier")
			}
		}
	}
	switch {
	case target == "":
		return Verdict{Message: "no restore was asked of AWS"}
	case restoredTo.IsZero():
		return Verdict{Message: target + " was restored from a snapshot or to the latest time: a snapshot loses every change since it was taken, and the latest time is after the migration. Restore to a point in time just before " + describeTime(s.AccidentAt) + "."}
	case !restoredTo.Before(s.AccidentAt):
		return Verdict{Message: fmt.Sprintf("%s was restored to %s, after the migration at %s: the dropped column is still gone.", target, describeTime(restoredTo), describeTime(s.AccidentAt))}
	case s.AccidentAt.Sub(restoredTo) > 15*time.Minute:
		return Verdict{Message: fmt.Sprintf("%s was restored to %s, %s before the migration: every change in between is lost. Aim within 15 minutes before it.", target, describeTime(restoredTo), s.AccidentAt.Sub(restoredTo).Round(time.Second))}
	}
	name := target
	if cutOver == target {
		name = rdsInstance
	}
	if status, _ := s.rds.Status(name); status != "available" {
		return Verdict{Message: fmt.Sprintf("%s is %s, not available: wait for it, or read AWS's events and restore again under another name.", name, cmp.Or(status, "gone"))}
	}
	msg := fmt.Sprintf("%s was restored to %s, %s before the migration.", target, describeTime(restoredTo), s.AccidentAt.Sub(restoredTo).Round(time.Second))
	if cutOver == target {
		return Verdict{OK: true, Message: msg + " The cut-over is done: " + rdsInstance + " is the restored instance, and the old one is kept."}
	}
	return Verdict{OK: true, Message: msg + " The cut-over is still to do: pgrescue rds cut-over --old " + rdsInstance + " --new " + target + "."}
}

// CheckRDS judges an RDS exercise (not OK for another scenario).
func (s *Sandbox) CheckRDS() Verdict {
	if s.rds == nil {
		return Verdict{Message: "this exercise has no RDS instance"}
	}
	return s.checkRDS()
}

// RDSFacts are the briefing's lines for an RDS exercise.
func (s *Sandbox) RDSFacts() []string {
	return []string{
		"Application: " + s.App + " (RDS instance " + rdsInstance + ", " + rdsRegion + ")",
		"AWS here is a simulator on " + strings.TrimPrefix(s.RDS.Endpoint, "http://") + ": your real AWS credentials are not used",
		"In a second terminal: AWS_ENDPOINT_URL_RDS=" + s.RDS.Endpoint + " AWS_ACCESS_KEY_ID=" + rdsAccessKey +
			" AWS_SECRET_ACCESS_KEY=" + rdsSecretKey + " pgrescue rds-status --region " + rdsRegion + " --instance " + rdsInstance,
	}
}
