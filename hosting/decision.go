package hosting

import (
	"fmt"
	"strings"
)

// Route is the runbook branch an application's restore takes.
type Route int

const (
	// RouteUnknown: the catalog does not say where the application runs,
	// so no branch can be chosen.
	RouteUnknown Route = iota
	// RouteRDS: "AWS RDS PostgreSQL Backups": AWS restores a new instance.
	RouteRDS
	// RouteSelfManaged: "Carrenza/6DG WAL-E Backups to S3" and the legacy
	// autopostgresqlbackup dumps, on machines GOV.UK ran itself.
	RouteSelfManaged
	// RouteNothing: no database pgrescue can or should restore (a platform
	// owns it, there is no production version, or the app is retired).
	RouteNothing
)

// String names the route for logs and the wizard's plan screen.
func (r Route) String() string {
	switch r {
	case RouteRDS:
		return "AWS RDS"
	case RouteSelfManaged:
		return "self-managed PostgreSQL"
	case RouteNothing:
		return "nothing to restore"
	default:
		return "unknown"
	}
}

// Decision is the hosting step of the runbook, answered.
type Decision struct {
	Route     Route
	Statement string   // the docs' sentence under "Hosting", as the engineer would read it
	Meaning   string   // what that means for restoring, in plain words
	Cautions  []string // facts that change how the restore should be done, if any
}

// Statement is the sentence govuk-developer-docs prints under the
// application's "Hosting" heading, the one the runbook tells the engineer to
// look for. An entry with no hosting (allowed only when retired) never
// reached that template; pgrescue says so plainly instead.
func Statement(app App) string {
	switch app.HostedOn {
	case None:
		return "There is no production version of this application yet."
	case "":
		if app.Retired {
			return "This application is retired; the catalog does not record where it was hosted."
		}
		return "The catalog does not record where this application is hosted."
	}
	return "The production version of this application is hosted on " + app.HostingName() + "."
}

// Decide chooses the runbook branch for an application and explains it.
func Decide(app App, details AppDetails) Decision {
	d := Decision{Statement: Statement(app)}
	d.Route, d.Meaning = route(app, details)
	if d.Route == RouteRDS || d.Route == RouteSelfManaged {
		d.Cautions = cautions(app, details)
	}
	return d
}

// route maps the hosting to a branch and its meaning. A retired
// application has nothing to restore whatever its last hosting was.
func route(app App, details AppDetails) (Route, string) {
	if app.Retired {
		return RouteNothing, "This application is retired, so it has no production database to restore."
	}
	switch app.HostedOn {
	case AWS, EKS:
		if details.LocalPostgres && details.RDS.Instance == "" {
			return RouteSelfManaged, "Although the application is hosted on AWS, its PostgreSQL database runs on its own machines, not on RDS (govuk-puppet, December 2019), so the RDS restore does not apply. " +
				"Restore it on those machines, after checking which backups they keep."
		}
		return RouteRDS, "Its PostgreSQL database is an Amazon RDS instance, backed up by AWS. " +
			"AWS restores it to a new instance, from a nightly snapshot or to a point in time within the backup retention window (7 days by default in GOV.UK's terraform), and the application is then pointed at the new instance."
	case Carrenza:
		return RouteSelfManaged, "Its PostgreSQL runs on machines we manage (Carrenza/6DG). " +
			"Restore it from the WAL-E archive in S3 (any point in time after a nightly base backup, to within about 5 minutes of the last archived change) or from the legacy nightly pg_dump."
	case UKCloud:
		return RouteSelfManaged, "Its PostgreSQL runs on machines we manage (UK Cloud). " +
			"The runbook was written for Carrenza/6DG, but UK Cloud machines were run the same way, so restore it from the WAL-E archive in S3 or from the legacy nightly pg_dump."
	case Heroku:
		return RouteNothing, "Heroku holds this application's database and its backups, so there is nothing for pgrescue to restore here. " +
			"Use Heroku's own backup tools (heroku pg:backups for Heroku Postgres)."
	case PaaS:
		return RouteNothing, "GOV.UK PaaS holds this application's database and its backups, so there is nothing for pgrescue to restore here. " +
			"Use the platform's own backup tools, as the GOV.UK PaaS documentation describes for its postgres service."
	case GCP:
		return RouteNothing, "Google Cloud holds this application's data and its backups, so there is nothing for pgrescue to restore here. " +
			"Use Google Cloud's own backup and restore tools."
	case None:
		return RouteNothing, "There is no production version of this application, so there is no production database to restore."
	}
	return RouteUnknown, "The catalog does not say where this application's production version runs, so pgrescue cannot choose a restore. " +
		"Ask its team" + teamSuffix(app) + " where its database lives."
}

func teamSuffix(app App) string {
	if app.Team == "" {
		return ""
	}
	return " (" + app.Team + ")"
}

// cautions lists what the engineer must know before restoring: no known
// database, a database shared with another application, or a restore that
// rewinds more than this application.
func cautions(app App, details AppDetails) []string {
	var out []string
	name := app.Name()
	switch {
	case len(details.Databases) == 0 && details.OtherStore != "":
		out = append(out, fmt.Sprintf("govuk-puppet (December 2019) gave %s a %s database, not PostgreSQL: these PostgreSQL restores do not apply to it.", name, details.OtherStore))
	case len(details.Databases) == 0:
		out = append(out, fmt.Sprintf("pgrescue knows no PostgreSQL database for %s: its built-in list (govuk-puppet, December 2019) has none for it and the config file names none. If it has one, add it under applications.%s.databases in pgrescue's config file.", name, name))
	}
	if len(details.SharedWith) > 0 && details.DatabasesFrom == BuiltinSource {
		out = append(out, fmt.Sprintf("%s is also used by %s: restoring it changes the data both applications see.", strings.Join(details.Databases, ", "), strings.Join(details.SharedWith, " and ")))
	}
	if selfManaged(app.HostedOn) && len(details.Databases) > 0 {
		out = append(out, wholeClusterCaution(app, details))
	}
	return out
}

// wholeClusterCaution: WAL-E restores the primary's whole cluster (the
// wal-e_restore script restores LATEST into the data directory), so every
// database on it goes back in time, not only this application's.
func wholeClusterCaution(app App, details AppDetails) string {
	s := "A WAL-E restore brings back the whole PostgreSQL cluster of the primary, so every database on it goes back to the same moment"
	if app.HostedOn == Carrenza {
		s += " (in December 2019 the Carrenza primary held " + strings.Join(CarrenzaPrimaryDatabases, ", ") + ")"
	}
	return s + ". To restore only " + strings.Join(details.Databases, ", ") + ", use the nightly pg_dump."
}
