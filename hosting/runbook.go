package hosting

import (
	"strings"

	"pgrescue/shellcmd"
)

// The manual steps for the branches the wizard does not automate, with the
// application's own names filled in. A value pgrescue does not know stays a
// <placeholder> for the engineer to replace; known values are shell-quoted.

// OffsiteURL is the duplicity target of GOV.UK's offsite datastore backups
// (govuk-puppet hieradata/production.yaml, backup::offsite::jobs).
const OffsiteURL = "s3://s3-eu-west-1.amazonaws.com/govuk-offsite-backups-production/govuk-datastores/"

// word shell-quotes a known value, or leaves a placeholder as it is.
func word(value, placeholder string) string {
	if value == "" {
		return placeholder
	}
	return shellcmd.Quote(value)
}

// RDSSteps are the AWS CLI steps of "Backup and restore databases in AWS
// RDS": the snapshot restore as the page gave it in December 2019, the
// point-in-time restore the current page offers instead, and pointing the
// application at the restored instance (DNS then, the database secret on
// EKS now).
func RDSSteps(app App, d AppDetails) []shellcmd.Command {
	r := rdsNames{
		region:   regionFlag(d.RDS.Region),
		source:   word(d.RDS.Instance, "<rds-instance>"),
		restored: word(restoredID(d.RDS.Instance), "restored-<rds-instance>"),
	}
	var cmds []shellcmd.Command
	cmds = append(cmds, r.findSnapshot(d.RDS.Instance != "")...)
	cmds = append(cmds, r.restore()...)
	cmds = append(cmds, r.finish()...)
	if app.HostedOn == EKS {
		return append(cmds, secretSteps(app, r)...)
	}
	return append(cmds, dnsSteps(r)...)
}

// rdsNames are the words every RDS command line shares.
type rdsNames struct {
	region   string // " --region X", or "" to use the CLI's configuration
	source   string // the damaged instance
	restored string // the new instance
}

func regionFlag(region string) string {
	if region == "" {
		return ""
	}
	return " --region " + shellcmd.Quote(region)
}

// restoredID names the new instance as the current RDS page does.
func restoredID(instance string) string {
	if instance == "" {
		return ""
	}
	return "restored-" + instance
}

// findSnapshot lists restore points. Without the instance name it follows
// the 2019 page: every snapshot with its Name tag, then the instance the
// chosen one came from.
func (r rdsNames) findSnapshot(instanceKnown bool) []shellcmd.Command {
	if instanceKnown {
		return []shellcmd.Command{{
			Why:  "List this instance's snapshots, oldest first, and choose the last one taken before the damage (nightly snapshots are kept 7 days by default).",
			Line: "aws rds describe-db-snapshots --db-instance-identifier " + r.source + " --query 'sort_by(DBSnapshots,&SnapshotCreateTime)[].[SnapshotCreateTime,DBSnapshotArn,Status]' --output table" + r.region,
		}}
	}
	return []shellcmd.Command{
		{
			Why: "List every snapshot with its Name tag, to find those taken from this application's instance (pgrescue's config file does not name the instance).",
			Line: "for arn in $(aws rds describe-db-snapshots --query 'DBSnapshots[].DBSnapshotArn' --output text" + r.region + "); do " +
				"echo \"$arn $(aws rds list-tags-for-resource --resource-name \"$arn\" --query \"TagList[?Key=='Name'].Value\" --output text" + r.region + ")\"; done",
		},
		{
			Why:  "Read which instance the chosen snapshot was taken from: its settings are copied in the next step.",
			Line: "aws rds describe-db-snapshots --db-snapshot-identifier <snapshot-arn> --query 'DBSnapshots[].DBInstanceIdentifier' --output text" + r.region,
		},
	}
}

// restore creates the new instance, from a snapshot or to a point in time.
func (r rdsNames) restore() []shellcmd.Command {
	groups := " --db-subnet-group-name <db-subnet-group-name> --vpc-security-group-ids <security-group-id> --db-parameter-group-name <db-parameter-group-name>"
	return []shellcmd.Command{
		{
			Why:  "Note the instance's security groups, parameter group and subnet group: a restored instance gets AWS's defaults unless it is given these.",
			Line: "aws rds describe-db-instances --db-instance-identifier " + r.source + " --query 'DBInstances[].[VpcSecurityGroups[].VpcSecurityGroupId,DBParameterGroups[].DBParameterGroupName,DBSubnetGroup.DBSubnetGroupName]'" + r.region,
		},
		{
			Why:  "Create a new instance from the chosen snapshot, in the same subnet group; the damaged instance is left as it is.",
			Line: "aws rds restore-db-instance-from-db-snapshot --db-subnet-group-name <db-subnet-group-name> --db-instance-identifier " + r.restored + " --db-snapshot-identifier <snapshot-arn>" + r.region,
		},
		{
			Why:  "Instead of a snapshot, RDS can restore to any second of the backup retention window (point-in-time recovery, offered by the current RDS page): this shows the latest restorable time and the window in days.",
			Line: "aws rds describe-db-instances --db-instance-identifier " + r.source + " --query 'DBInstances[].[LatestRestorableTime,BackupRetentionPeriod]' --output text" + r.region,
		},
		{
			Why:  "Point-in-time alternative to the snapshot restore above (run one or the other): create the new instance as the database was at the given UTC time.",
			Line: "aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier " + r.source + " --target-db-instance-identifier " + r.restored + " --restore-time <YYYY-MM-DDTHH:MM:SSZ>" + groups + r.region,
		},
	}
}

// finish waits for the new instance, gives it the original's groups and
// reads its endpoint.
func (r rdsNames) finish() []shellcmd.Command {
	return []shellcmd.Command{
		{
			Why:  "Wait until the new instance is available; the command gives up after 30 minutes, so run it again if it does.",
			Line: "aws rds wait db-instance-available --db-instance-identifier " + r.restored + r.region,
		},
		{
			Why:  "Give the new instance the original's security groups and parameter group, which a snapshot restore does not copy.",
			Line: "aws rds modify-db-instance --db-instance-identifier " + r.restored + " --vpc-security-group-ids <security-group-id> --db-parameter-group-name <db-parameter-group-name> --apply-immediately" + r.region,
		},
		{
			Why:  "Read the new instance's endpoint: the address the application must use from now on. Keep the original instance until the restore is checked.",
			Line: "aws rds describe-db-instances --db-instance-identifier " + r.restored + " --query 'DBInstances[].Endpoint.Address' --output text" + r.region,
		},
	}
}

// dnsSteps point the internal DNS name the application connects to at the
// new endpoint, as the December 2019 page did.
func dnsSteps(r rdsNames) []shellcmd.Command {
	batch := `{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"<database-name>.<stack-name>.<govuk-internal-domain>","Type":"CNAME","TTL":300,"ResourceRecords":[{"Value":"<restored-endpoint>"}]}}]}`
	return []shellcmd.Command{
		{
			Why:  "Find the ID of the internal DNS zone (only the Z… part is needed).",
			Line: "aws route53 list-hosted-zones-by-name --dns-name <govuk-internal-domain> --max-items 1 --query 'HostedZones[].Id' --output text",
		},
		{
			Why:  "Point the database name the application connects to at the new endpoint; with a TTL of 300 seconds the application follows within 5 minutes.",
			Line: "aws route53 change-resource-record-sets --hosted-zone-id <zone-id> --change-batch " + shellcmd.Quote(batch),
		},
	}
}

// secretSteps point an EKS application at the new instance through its
// database secret, as the current RDS page does.
func secretSteps(app App, r rdsNames) []shellcmd.Command {
	secret := shellcmd.Quote("govuk/" + app.Name() + "/postgres")
	deploy := shellcmd.Quote("deploy/" + app.Name())
	return []shellcmd.Command{
		{
			Why:  "Save the application's database secret as it is now, so the change can be undone.",
			Line: "aws secretsmanager get-secret-value --secret-id " + secret + " --query SecretString --output text" + r.region + " > secret-before-restore.json",
		},
		{
			Why:  "Store the secret with host set to the new endpoint and dbInstanceIdentifier to the new instance (edit a copy of the saved JSON).",
			Line: "aws secretsmanager put-secret-value --secret-id " + secret + " --secret-string file://secret-after-restore.json" + r.region,
		},
		{
			Why:  "Refresh the application's postgres ExternalSecret in Argo CD; if the pods do not restart by themselves, restart them.",
			Line: "kubectl -n apps rollout restart " + shellcmd.Quote("deployment/"+app.Name()),
		},
		{
			Why:  "Check the application now uses the new database host.",
			Line: "kubectl exec -n apps -it " + deploy + " -- bundle exec rails runner 'puts ActiveRecord::Base.connection_db_config.host'",
		},
	}
}

// DumpSource is where a legacy autopostgresqlbackup dump is fetched from;
// the runbook names three.
type DumpSource int

const (
	MountPoint    DumpSource = iota // the dedicated mount point on the PostgreSQL primary
	BackupMachine                   // the onsite backup machine's copy
	S3Duplicity                     // the offsite S3 bucket, through duplicity
)

// DumpSources lists the sources in the runbook's order.
var DumpSources = []DumpSource{MountPoint, BackupMachine, S3Duplicity}

// String describes the source for the wizard's choice list.
func (s DumpSource) String() string {
	switch s {
	case MountPoint:
		return "the dump directory on the PostgreSQL primary"
	case BackupMachine:
		return "the onsite backup machine"
	case S3Duplicity:
		return "the offsite S3 bucket (duplicity; possibly stale)"
	}
	return "unknown dump source"
}

// dumpNames are the words the pg_dump steps share.
type dumpNames struct {
	dir        string   // autopostgresqlbackup's directory on the primary, quoted
	bareDir    string   // the same, unquoted, for paths inside archives
	backupHost string   // the onsite backup machine, quoted
	primary    string   // the primary's fully qualified name, or a placeholder
	databases  []string // names as PostgreSQL knows them, or the <dbname> placeholder
}

// PgDumpSteps are the runbook's legacy restore: fetch a nightly dump from
// source, unzip it, and import it with psql into the PostgreSQL primary.
// It returns nil for a source it does not know.
func PgDumpSteps(app App, d AppDetails, source DumpSource) []shellcmd.Command {
	bare := strings.TrimSuffix(orEmpty(d.PgDumpDir, DefaultPgDumpDir), "/")
	n := dumpNames{
		dir:        shellcmd.Quote(bare),
		bareDir:    bare,
		backupHost: shellcmd.Quote(orEmpty(d.BackupHost, DefaultBackupHost)),
		primary:    "<primary-fqdn>",
		databases:  d.Databases,
	}
	if app.HostedOn == Carrenza {
		n.primary = DefaultPrimaryFQDN
	}
	if len(n.databases) == 0 {
		n.databases = []string{dbPlaceholder}
	}
	var fetch []shellcmd.Command
	switch source {
	case MountPoint:
		fetch = n.fromMountPoint()
	case BackupMachine:
		fetch = n.fromBackupMachine()
	case S3Duplicity:
		fetch = n.fromDuplicity()
	default:
		return nil
	}
	return append(fetch, n.importDumps()...)
}

const dbPlaceholder = "<dbname>"

// shell quotes a database name for a command line, leaving the placeholder
// as it is.
func shell(db string) string {
	if db == dbPlaceholder {
		return db
	}
	return shellcmd.Quote(db)
}

// dumpFile is the daily dump's file name (autopostgresqlbackup with
// SEPDIR=yes and COMP=gzip), shell-quoted, with the date part left for the
// engineer to choose.
func dumpFile(db string) string { return shell(db) + "_<YYYY-MM-DD_HHhMMm>.<Weekday>.sql.gz" }

// listing is the daily, weekly and globals directories under a dump root.
func (n dumpNames) listing(root string) string {
	var dirs []string
	for _, db := range n.databases {
		dirs = append(dirs, root+"/daily/"+shell(db)+"/", root+"/weekly/"+shell(db)+"/")
	}
	return strings.Join(append(dirs, root+"/daily/postgres_globals/"), " ")
}

func (n dumpNames) fromMountPoint() []shellcmd.Command {
	dir := shellcmd.Quote(n.dir)
	cmds := []shellcmd.Command{{
		Why:  "On the PostgreSQL primary (" + n.primary + "), list the nightly dumps: daily/ keeps the last 7 days, and Saturday's dump is in weekly/ instead.",
		Line: "sudo ls -l " + n.listing(dir),
	}}
	for _, db := range n.databases {
		cmds = append(cmds, shellcmd.Command{
			Why:  "Copy the chosen dump of " + db + " to /var/tmp, readable only by you, leaving the original untouched (sudo, because the dumps are readable only by their owner).",
			Line: "umask 077; sudo cat " + dir + "/daily/" + shell(db) + "/" + dumpFile(db) + " > /var/tmp/" + dumpFile(db),
		}, gunzipStep(db))
	}
	return cmds
}

func (n dumpNames) fromBackupMachine() []shellcmd.Command {
	root := DefaultBackupRoot + "/" + n.primary + n.dir
	cmds := []shellcmd.Command{{
		Why:  "List the copies on the onsite backup machine, which mirrors the primary's dump directory every morning.",
		Line: "ssh " + n.backupHost + " sudo ls -l " + n.listing(root),
	}}
	for _, db := range n.databases {
		cmds = append(cmds,
			shellcmd.Command{
				Why:  "Copy the chosen dump of " + db + " to your machine, readable only by you (sudo, because the copies are readable only by govuk-backup).",
				Line: "umask 077; ssh " + n.backupHost + " sudo cat " + root + "/daily/" + shell(db) + "/" + dumpFile(db) + " > " + dumpFile(db),
			},
			shellcmd.Command{
				Why:  "Put it on the PostgreSQL primary, where it will be imported.",
				Line: "scp " + dumpFile(db) + " " + n.primary + ":/var/tmp/",
			},
			gunzipStep(db))
	}
	return cmds
}

func (n dumpNames) fromDuplicity() []shellcmd.Command {
	member := strings.TrimPrefix(DefaultBackupRoot, "/") + "/" + n.primary + shellcmd.Quote(n.bareDir+"/latest.tbz2")
	cmds := []shellcmd.Command{
		{
			Why:  "On a machine with duplicity, import the offsite backups' private key (backup::assets::backup_private_gpg_key in govuk-secrets); the same key decrypts every offsite backup.",
			Line: "gpg --allow-secret-key-import --import <offsite-backup-private-key-file>",
		},
		{
			Why:  "Check the bucket still holds a PostgreSQL dump: Postgres dumps were removed from the offsite job on 2018-07-03, so anything found is from before then and may be stale (needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from backup::offsite::job in govuk-secrets).",
			Line: "duplicity list-current-files " + OffsiteURL + " | grep autopostgresqlbackup",
		},
		{
			Why:  "Fetch latest.tbz2, the last night's dumps as archived (give the passphrase backup::assets::backup_private_gpg_key_passphrase; add --tempdir /var/govuk/tmp if /tmp is short of space).",
			Line: "duplicity restore --file-to-restore " + member + " " + OffsiteURL + " /tmp/latest.tbz2",
		},
		{
			Why:  "Unpack it: latest/ holds one dump per database from that night.",
			Line: "tar xvjf /tmp/latest.tbz2 -C /tmp && ls -l /tmp/latest/",
		},
	}
	for _, db := range n.databases {
		cmds = append(cmds, shellcmd.Command{
			Why:  "Put the dump of " + db + " on the PostgreSQL primary, where it will be imported.",
			Line: "scp /tmp/latest/" + dumpFile(db) + " " + n.primary + ":/var/tmp/",
		}, gunzipStep(db))
	}
	return cmds
}

func gunzipStep(db string) shellcmd.Command {
	return shellcmd.Command{
		Why:  "On the primary, unzip the dump of " + db + " (the runbook's second step); the result is a plain SQL script.",
		Line: "gunzip /var/tmp/" + dumpFile(db),
	}
}

// importDumps are the runbook's "psql <dbname> < <file>", made safe: the
// dumps contain CREATE DATABASE, so into a populated database psql reports
// clashes, skips the data and still exits 0. Importing into a fresh empty
// database leaves one harmless error.
func (n dumpNames) importDumps() []shellcmd.Command {
	cmds := []shellcmd.Command{{
		Why:  "Only if the application's roles are missing (a new or rebuilt server): restore them first from the postgres_globals dump of the same night, fetched and unzipped the same way.",
		Line: "sudo -iu postgres psql postgres < /var/tmp/postgres_globals_<YYYY-MM-DD_HHhMMm>.<Weekday>.sql",
	}}
	for _, db := range n.databases {
		sqlFile := "/var/tmp/" + strings.TrimSuffix(dumpFile(db), ".gz")
		cmds = append(cmds,
			shellcmd.Command{
				Why:  "Stop the application, then keep the current " + db + " under another name for comparison (renaming fails while anything is still connected).",
				Line: "sudo -iu postgres psql -c " + shellcmd.Quote("ALTER DATABASE "+sqlIdent(db)+" RENAME TO "+sqlIdent(db+"_before_restore")),
			},
			shellcmd.Command{
				Why:  "Create an empty " + db + " for the dump to fill.",
				Line: "sudo -iu postgres createdb " + shell(db),
			},
			shellcmd.Command{
				Why:  "Import the dump (the runbook's psql <dbname> < <file>); expect exactly one error, \"database already exists\", since the dump also creates it: any other error means the import is incomplete.",
				Line: "sudo -iu postgres psql " + shell(db) + " < " + sqlFile,
			})
	}
	return cmds
}

// sqlIdent double-quotes a database name for SQL, so names such as
// email-alert-api_production survive.
func sqlIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
