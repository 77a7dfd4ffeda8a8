package demo

import (
	"strings"

	"pgrescue/problem"
)

// Scenario is one exercise the sandbox can be built for.
type Scenario struct {
	Name    string // what `pgrescue demo --scenario` takes
	Title   string // one line, for menus and the briefing's heading
	Summary string // a few sentences: the situation and the goal
}

// The scenarios' names, used where the build differs.
const (
	accidentScenario = "accident"
	diskLostScenario = "disk-lost"
)

// Scenarios lists the exercises, the default first.
var Scenarios = []Scenario{
	{
		Name:  accidentScenario,
		Title: "Restore to just before an accidental DELETE (WAL-E, protected key)",
		Summary: "Someone deleted many rows of an application's production database by mistake. " +
			"Restore the primary to just before the DELETE from the WAL-E archive, whose GPG key is protected by a passphrase.",
	},
	{
		Name:  diskLostScenario,
		Title: "The primary's disk is lost: restore to the end of the archive",
		Summary: "The primary's data directory is gone with its disk. " +
			"Restore everything the WAL-E archive holds onto a new disk.",
	},
	{
		Name:  nightlyDumpScenario,
		Title: "Restore one database from last night's pg_dump (the legacy path)",
		Summary: "An application's database was damaged this morning. Restore last night's autopostgresqlbackup dump " +
			"into a new database beside the live one, from the primary's mount point or the offsite duplicity copy, and check it.",
	},
	{
		Name:  rdsScenario,
		Title: "Restore an AWS RDS instance to just before a bad migration, then cut over",
		Summary: "A migration broke an application whose database is an AWS RDS instance. Restore the instance to a point " +
			"in time just before it, into a new instance, and cut over. AWS is a simulator here: no account is needed.",
	},
	{
		Name:  rdsFailureScenario,
		Title: "An RDS restore that AWS cannot finish: read its events, restore again",
		Summary: "As \"rds\", but the first restore ends in incompatible-parameters. Read AWS's events, leave the failed " +
			"instance, and restore again.",
	},
}

// FindScenario returns the scenario called name; "" means the first. An
// unknown name is a usage error that lists the known ones, since it comes
// straight from the command line.
func FindScenario(name string) (Scenario, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Scenarios[0], nil
	}
	for _, s := range Scenarios {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = s.Name
	}
	return Scenario{}, problem.New(problem.Usage, "scenario "+name, "there is no training scenario called "+name,
		"choose one of: "+strings.Join(names, ", "))
}
