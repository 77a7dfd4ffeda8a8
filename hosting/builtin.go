package hosting

import "pgrescue/walesettings"

// The applications catalog never recorded databases. What pgrescue knows
// without a config file comes from govuk-puppet at the runbook's date
// (alphagov/govuk-puppet 50d9ce1346e6506a593bce582bd13f98812f9d74,
// 6 December 2019): its govuk_postgresql::db resources, the Carrenza
// primary's node class, and which applications used another store.

// BuiltinSource describes where built-in details come from, for the
// wizard to say why it proposes a database name.
const BuiltinSource = "govuk-puppet, 6 December 2019"

// Where govuk-puppet put things on the self-managed PostgreSQL machines.
const (
	DefaultWALEEnvdir  = walesettings.DefaultEnvdir
	DefaultPgDumpDir   = "/var/lib/autopostgresqlbackup"
	DefaultBackupHost  = "backup-1.management"
	DefaultBackupRoot  = "/data/backups"
	DefaultPrimaryFQDN = "postgresql-primary-1.backend.publishing.service.gov.uk"
	// Carrenza ran PostgreSQL 9.3 (hieradata/common.yaml), in Debian's
	// default cluster.
	DefaultCluster = "9.3/main"
	DefaultPGData  = "/var/lib/postgresql/9.3/main"
)

// CarrenzaPrimaryDatabases are the databases the Carrenza PostgreSQL
// primary held (node class s_postgresql_base.pp). A WAL-E restore rewinds
// the whole cluster, so all of them go back together.
var CarrenzaPrimaryDatabases = []string{
	"ckan_production", "ckan_pycsw_production", "content_audit_tool_production",
	"content_data_admin_production", "content_publisher_production", "content_tagger_production",
	"email-alert-api_production", "publishing_api_production", "service-manual-publisher_production",
}

// known is what govuk-puppet says about one application's data.
type known struct {
	databases  []string
	otherStore string   // the store it used instead of PostgreSQL
	local      bool     // PostgreSQL on the application's own machines, not RDS
	sharedWith []string // other applications using the same database
}

// builtin is keyed by the catalog name of the application.
var builtin = map[string]known{
	"ckanext-datagovuk":        {databases: []string{"ckan_production", "ckan_pycsw_production"}},
	"content-audit-tool":       {databases: []string{"content_audit_tool_production"}},
	"content-data-admin":       {databases: []string{"content_data_admin_production"}},
	"content-data-api":         {databases: []string{"content_performance_manager_production"}},
	"content-publisher":        {databases: []string{"content_publisher_production"}},
	"content-tagger":           {databases: []string{"content_tagger_production"}},
	"email-alert-api":          {databases: []string{"email-alert-api_production"}},
	"link-checker-api":         {databases: []string{"link_checker_api_production"}},
	"local-links-manager":      {databases: []string{"local-links-manager_production"}},
	"publishing-api":           {databases: []string{"publishing_api_production"}},
	"service-manual-publisher": {databases: []string{"service-manual-publisher_production"}},
	"support-api":              {databases: []string{"support_contacts_production"}},
	"transition":               {databases: []string{"transition_production"}, sharedWith: []string{"bouncer"}},
	"bouncer":                  {databases: []string{"transition_production"}, sharedWith: []string{"transition"}},
	"mapit":                    {databases: []string{"mapit"}, local: true},

	"whitehall":             {otherStore: "MySQL"},
	"signon":                {otherStore: "MySQL"},
	"collections-publisher": {otherStore: "MySQL"},
	"contacts-admin":        {otherStore: "MySQL"},
	"release":               {otherStore: "MySQL"},
	"search-admin":          {otherStore: "MySQL"},
	"publisher":             {otherStore: "MongoDB"},
}

// builtinFor looks an application up by every name it may be filed under.
func builtinFor(app App) (known, bool) {
	for _, name := range []string{app.Name(), app.RepoName, app.PuppetName} {
		if k, ok := builtin[name]; ok && name != "" {
			return k, true
		}
	}
	return known{}, false
}
