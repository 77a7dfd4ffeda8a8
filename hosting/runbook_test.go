package hosting

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"pgrescue/shellcmd"
)

// checkCommands asserts what every step must have: a command line and one
// sentence saying why.
func checkCommands(t *testing.T, label string, cmds []shellcmd.Command) {
	t.Helper()
	if len(cmds) == 0 {
		t.Fatalf("%s: no commands", label)
	}
	for i, c := range cmds {
		if strings.TrimSpace(c.Line) == "" {
			t.Errorf("%s: command %d has an empty line (why: %q)", label, i, c.Why)
		}
		if c.Why == "" || !strings.HasSuffix(c.Why, ".") || strings.Contains(c.Line, "\n") {
			t.Errorf("%s: command %d: why %q, line %q", label, i, c.Why, c.Line)
		}
	}
}

// linesWith returns the command lines containing s.
func linesWith(cmds []shellcmd.Command, s string) []string {
	var out []string
	for _, c := range cmds {
		if strings.Contains(c.Line, s) {
			out = append(out, c.Line)
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9_:-]*>`)

// bashParses checks the steps form a shell script bash can parse once the
// engineer has filled in the placeholders, so a quoting mistake cannot reach
// a terminal.
func bashParses(t *testing.T, label string, cmds []shellcmd.Command) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(placeholder.ReplaceAllString(shellcmd.Script(cmds), "filled-in"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: bash -n: %v\n%s\n%s", label, err, out, shellcmd.Script(cmds))
	}
}

func TestRDSStepsWithKnownInstance(t *testing.T) {
	app := App{RepoName: "local-links-manager", HostedOn: AWS}
	d := AppDetails{RDS: RDSInstance{Instance: "local-links-manager-postgres", Region: "eu-west-1"}}
	cmds := RDSSteps(app, d)
	checkCommands(t, "rds", cmds)
	bashParses(t, "rds", cmds)

	for _, want := range []string{
		"aws rds describe-db-snapshots --db-instance-identifier local-links-manager-postgres ",
		"aws rds describe-db-instances --db-instance-identifier local-links-manager-postgres --query 'DBInstances[].[VpcSecurityGroups[].VpcSecurityGroupId,DBParameterGroups[].DBParameterGroupName,DBSubnetGroup.DBSubnetGroupName]'",
		"aws rds restore-db-instance-from-db-snapshot --db-subnet-group-name <db-subnet-group-name> --db-instance-identifier restored-local-links-manager-postgres --db-snapshot-identifier <snapshot-arn>",
		"aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier local-links-manager-postgres --target-db-instance-identifier restored-local-links-manager-postgres --restore-time ",
		"aws rds wait db-instance-available --db-instance-identifier restored-local-links-manager-postgres",
		"aws rds modify-db-instance --db-instance-identifier restored-local-links-manager-postgres --vpc-security-group-ids <security-group-id> --db-parameter-group-name <db-parameter-group-name>",
		"aws rds describe-db-instances --db-instance-identifier restored-local-links-manager-postgres --query 'DBInstances[].Endpoint.Address'",
		"aws route53 change-resource-record-sets --hosted-zone-id <zone-id> --change-batch ",
	} {
		if len(linesWith(cmds, want)) != 1 {
			t.Errorf("no single step contains %q", want)
		}
	}
	for _, c := range cmds {
		if strings.HasPrefix(c.Line, "aws rds ") && !strings.HasSuffix(c.Line, " --region eu-west-1") {
			t.Errorf("RDS command without the configured region: %q", c.Line)
		}
	}
	if got := linesWith(cmds, "list-tags-for-resource"); got != nil {
		t.Errorf("searching snapshots by tag although the instance is known: %q", got)
	}
	if got := linesWith(cmds, "secretsmanager"); got != nil {
		t.Errorf("EKS secret steps for an app hosted on AWS (2019): %q", got)
	}
	restoreAt := index(cmds, "restore-db-instance-from-db-snapshot")
	if !(index(cmds, "describe-db-snapshots") < restoreAt && restoreAt < index(cmds, "wait db-instance-available") &&
		index(cmds, "wait db-instance-available") < index(cmds, "modify-db-instance") &&
		index(cmds, "modify-db-instance") < index(cmds, "Endpoint.Address") && index(cmds, "Endpoint.Address") < index(cmds, "route53 change")) {
		t.Errorf("steps out of order:\n%s", shellcmd.Script(cmds))
	}
}

// index is the position of the first step whose line contains s, or -1.
func index(cmds []shellcmd.Command, s string) int {
	for i, c := range cmds {
		if strings.Contains(c.Line, s) {
			return i
		}
	}
	return -1
}

func TestRDSStepsWithoutInstanceUsePlaceholders(t *testing.T) {
	cmds := RDSSteps(App{RepoName: "bouncer", HostedOn: AWS}, AppDetails{})
	checkCommands(t, "rds", cmds)
	bashParses(t, "rds", cmds)
	if linesWith(cmds, "list-tags-for-resource") == nil || linesWith(cmds, "--db-snapshot-identifier <snapshot-arn> --query 'DBSnapshots[].DBInstanceIdentifier'") == nil {
		t.Errorf("no tag search for an unknown instance:\n%s", shellcmd.Script(cmds))
	}
	if linesWith(cmds, "--db-instance-identifier restored-<rds-instance>") == nil {
		t.Errorf("no placeholder for the restored instance:\n%s", shellcmd.Script(cmds))
	}
	if got := linesWith(cmds, "--region"); got != nil {
		t.Errorf("--region without a configured region: %q", got)
	}
}

func TestRDSStepsOnEKSUpdateTheSecret(t *testing.T) {
	app := App{RepoName: "account-api", HostedOn: EKS}
	cmds := RDSSteps(app, AppDetails{RDS: RDSInstance{Instance: "account-api-postgres"}})
	checkCommands(t, "eks", cmds)
	bashParses(t, "eks", cmds)
	if linesWith(cmds, "aws secretsmanager get-secret-value --secret-id govuk/account-api/postgres") == nil ||
		linesWith(cmds, "aws secretsmanager put-secret-value --secret-id govuk/account-api/postgres") == nil ||
		linesWith(cmds, "deploy/account-api") == nil {
		t.Errorf("no secret update for account-api:\n%s", shellcmd.Script(cmds))
	}
	if got := linesWith(cmds, "route53"); got != nil {
		t.Errorf("2019 DNS step on EKS: %q", got)
	}
}

func carrenzaApp(t *testing.T, name string) (App, AppDetails) {
	t.Helper()
	app, ok := DefaultCatalog().Find(name)
	if !ok {
		t.Fatalf("%s not in the built-in catalog", name)
	}
	return app, Details(app)
}

func TestPgDumpStepsFromEachSource(t *testing.T) {
	app, d := carrenzaApp(t, "content-publisher")
	const db = "content_publisher_production"
	const file = db + "_<YYYY-MM-DD_HHhMMm>.<Weekday>.sql"
	want := map[DumpSource][]string{
		MountPoint: {
			"sudo ls -l /var/lib/autopostgresqlbackup/daily/" + db + "/ ",
			"sudo cat /var/lib/autopostgresqlbackup/daily/" + db + "/" + file + ".gz > /var/tmp/" + file + ".gz",
		},
		BackupMachine: {
			"ssh backup-1.management sudo ls -l /data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup/daily/" + db + "/ ",
			"ssh backup-1.management sudo cat /data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup/daily/" + db + "/" + file + ".gz > " + file + ".gz",
			"scp " + file + ".gz postgresql-primary-1.backend.publishing.service.gov.uk:/var/tmp/",
		},
		S3Duplicity: {
			"duplicity restore --file-to-restore data/backups/postgresql-primary-1.backend.publishing.service.gov.uk/var/lib/autopostgresqlbackup/latest.tbz2 " + OffsiteURL + " /tmp/latest.tbz2",
			"tar xvjf /tmp/latest.tbz2",
			"scp /tmp/latest/" + file + ".gz postgresql-primary-1.backend.publishing.service.gov.uk:/var/tmp/",
		},
	}
	for _, source := range DumpSources {
		cmds := PgDumpSteps(app, d, source)
		label := source.String()
		checkCommands(t, label, cmds)
		bashParses(t, label, cmds)
		for _, w := range append(want[source],
			"gunzip /var/tmp/"+file+".gz",
			"sudo -iu postgres createdb "+db,
			"sudo -iu postgres psql "+db+" < /var/tmp/"+file,
			"sudo -iu postgres psql postgres < /var/tmp/postgres_globals_",
		) {
			if len(linesWith(cmds, w)) != 1 {
				t.Errorf("%s: no single step contains %q:\n%s", label, w, shellcmd.Script(cmds))
			}
		}
		if index(cmds, "gunzip") > index(cmds, "psql "+db) || index(cmds, "createdb") > index(cmds, "psql "+db) {
			t.Errorf("%s: import before unzip or createdb:\n%s", label, shellcmd.Script(cmds))
		}
	}
}

func TestDuplicitySourceWarnsItMayBeStale(t *testing.T) {
	app, d := carrenzaApp(t, "content-publisher")
	var whys []string
	for _, c := range PgDumpSteps(app, d, S3Duplicity) {
		whys = append(whys, c.Why)
	}
	if all := strings.Join(whys, " "); !strings.Contains(all, "removed from the offsite job on 2018-07-03") || !strings.Contains(all, "stale") {
		t.Errorf("no staleness caution in %q", whys)
	}
	if !strings.Contains(S3Duplicity.String(), "stale") {
		t.Errorf("source label %q does not warn", S3Duplicity.String())
	}
}

func TestPgDumpStepsUseConfiguredDirectoryAndEveryDatabase(t *testing.T) {
	app := App{RepoName: "licensify", HostedOn: UKCloud}
	d := AppDetails{
		Databases:  []string{"licensify_production", "licensify audit"},
		PgDumpDir:  "/srv/pgdumps/",
		BackupHost: "backup-2.management",
	}
	for _, source := range DumpSources {
		cmds := PgDumpSteps(app, d, source)
		checkCommands(t, source.String(), cmds)
		bashParses(t, source.String(), cmds)
		for _, w := range []string{
			"sudo -iu postgres psql licensify_production < ",
			"sudo -iu postgres psql 'licensify audit' < ",
			`'ALTER DATABASE "licensify audit" RENAME TO "licensify audit_before_restore"'`,
		} {
			if linesWith(cmds, w) == nil {
				t.Errorf("%s: no step contains %q:\n%s", source, w, shellcmd.Script(cmds))
			}
		}
		if got := linesWith(cmds, "/var/lib/autopostgresqlbackup"); got != nil {
			t.Errorf("%s: default dump directory despite the config: %q", source, got)
		}
		if got := linesWith(cmds, DefaultPrimaryFQDN); got != nil {
			t.Errorf("%s: the Carrenza primary for a UK Cloud app: %q", source, got)
		}
	}
	if linesWith(PgDumpSteps(app, d, BackupMachine), "ssh backup-2.management sudo ls -l /data/backups/<primary-fqdn>/srv/pgdumps/daily/licensify_production/") == nil {
		t.Error("backup machine listing does not use the configured host and directory")
	}
	if linesWith(PgDumpSteps(app, d, MountPoint), "sudo ls -l /srv/pgdumps/daily/licensify_production/") == nil {
		t.Error("mount point listing does not use the configured directory")
	}
}

func TestPgDumpStepsWithoutDatabaseUsePlaceholder(t *testing.T) {
	cmds := PgDumpSteps(App{RepoName: "maslow", HostedOn: Carrenza}, AppDetails{}, MountPoint)
	checkCommands(t, "placeholder", cmds)
	if linesWith(cmds, "sudo -iu postgres psql <dbname> < /var/tmp/<dbname>_") == nil ||
		linesWith(cmds, "/var/lib/autopostgresqlbackup/daily/<dbname>/") == nil {
		t.Errorf("no <dbname> placeholder:\n%s", shellcmd.Script(cmds))
	}
}

func TestPgDumpStepsUnknownSource(t *testing.T) {
	app, d := carrenzaApp(t, "content-publisher")
	if got := PgDumpSteps(app, d, DumpSource(42)); got != nil {
		t.Errorf("unknown source gave %d steps", len(got))
	}
	if DumpSource(42).String() != "unknown dump source" {
		t.Errorf("label %q", DumpSource(42).String())
	}
}
