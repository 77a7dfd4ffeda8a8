package rds

import (
	"cmp"
	"strings"
	"time"

	"pgrescue/shellcmd"
)

// awsLine renders one aws command, every word shell-quoted.
func awsLine(region string, words ...string) string {
	q := make([]string, 0, len(words)+3)
	q = append(q, "aws")
	for _, w := range words {
		q = append(q, shellcmd.Quote(w))
	}
	if region != "" {
		q = append(q, "--region", shellcmd.Quote(region))
	}
	return strings.Join(q, " ")
}

// Commands are the plan as the aws commands an engineer would type: the
// restore with every copied setting, the wait, what RDS takes only
// afterwards, and where the new instance answers.
func (p *Plan) Commands() []shellcmd.Command {
	var restore []string
	why := "Restore " + p.restoredFrom() + " into a new instance, " + p.Target + ", with the source's settings (AWS would otherwise use its defaults)"
	switch {
	case p.Method == FromSnapshot:
		restore = []string{"rds", "restore-db-instance-from-db-snapshot", "--db-instance-identifier", p.Target,
			"--db-snapshot-identifier", cmp.Or(p.Snapshot.ARN, p.Snapshot.ID)}
	case p.Retained != nil:
		restore = []string{"rds", "restore-db-instance-to-point-in-time", "--source-db-instance-automated-backups-arn", p.Retained.ARN,
			"--target-db-instance-identifier", p.Target}
	default:
		restore = []string{"rds", "restore-db-instance-to-point-in-time", "--source-db-instance-identifier", p.SourceID,
			"--target-db-instance-identifier", p.Target}
	}
	if p.Method == PointInTime {
		if p.Latest {
			restore = append(restore, "--use-latest-restorable-time")
		} else {
			restore = append(restore, "--restore-time", p.Time.UTC().Format(time.RFC3339))
		}
	}
	restore = append(restore, p.copy.cliFlags()...)
	cmds := []shellcmd.Command{
		{Why: "Check the source and its window (pgrescue rds-status shows the same)",
			Line: awsLine(p.Region, "rds", "describe-db-instances", "--db-instance-identifier", p.SourceID)},
		{Why: why, Line: awsLine(p.Region, restore...)},
		{Why: "Wait until it is available (AWS: usually tens of minutes, longer for large instances)",
			Line: awsLine(p.Region, "rds", "wait", "db-instance-available", "--db-instance-identifier", p.Target)},
	}
	if p.copy.later() {
		cmds = append(cmds, shellcmd.Command{Why: "Settings RDS takes only once the instance exists",
			Line: awsLine(p.Region, append([]string{"rds", "modify-db-instance", "--db-instance-identifier", p.Target}, p.copy.laterFlags()...)...)})
	}
	return append(cmds, shellcmd.Command{Why: "Where the new instance answers",
		Line: awsLine(p.Region, "rds", "describe-db-instances", "--db-instance-identifier", p.Target,
			"--query", "DBInstances[0].Endpoint")})
}

// CheckLater is the hint given when pgrescue stops waiting: the restore
// goes on in AWS.
func CheckLater(id string) string {
	return "the restore goes on in AWS; check on it with: pgrescue rds-status --instance " + id
}

// PsqlLine is how to check the restored database by hand.
func PsqlLine(in *Instance) string {
	user := cmp.Or(in.MasterUser, "postgres")
	db := cmp.Or(in.DBName, "postgres")
	return "psql " + shellcmd.Quote("host="+in.Endpoint+" port="+num(in.Port)+" user="+user+" dbname="+db+" sslmode=require") +
		" -c '\\dt+'"
}
