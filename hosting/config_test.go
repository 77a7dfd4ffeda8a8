package hosting

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgrescue/problem"
)

const exampleConfig = `catalog: /path/to/applications.yml   # optional: replaces the built-in catalog
applications:
  content-publisher:
    databases: [content_publisher_production]
    wale_envdir: /etc/wal-e/env.d
    pgdata: /var/lib/postgresql/9.3/main
    cluster: 9.3/main              # a Debian cluster VERSION/NAME, alternative to pgdata
    pg_dump_dir: /var/lib/autopostgresqlbackup
    backup_host: backup-1.management
    offsite_url: s3://s3-eu-west-1.amazonaws.com/govuk-offsite-backups-production/govuk-datastores/
    rds:
      instance: content-publisher-postgres
      region: eu-west-1
`

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseConfigExample(t *testing.T) {
	c, err := ParseConfig([]byte(exampleConfig), "/etc/pgrescue/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "/etc/pgrescue/config.yaml" || c.CatalogPath != "/path/to/applications.yml" {
		t.Errorf("Path %q, CatalogPath %q", c.Path, c.CatalogPath)
	}
	got := c.App("Content-Publisher")
	want := AppDetails{
		Databases:     []string{"content_publisher_production"},
		DatabasesFrom: "config file /etc/pgrescue/config.yaml",
		WALEEnvdir:    "/etc/wal-e/env.d",
		PGData:        "/var/lib/postgresql/9.3/main",
		Cluster:       "9.3/main",
		PgDumpDir:     "/var/lib/autopostgresqlbackup",
		BackupHost:    "backup-1.management",
		RDS:           RDSInstance{Instance: "content-publisher-postgres", Region: "eu-west-1"},
	}
	if !equalDetails(got, want) {
		t.Errorf("App = %+v\nwant  %+v", got, want)
	}
	if other := c.App("whitehall"); !equalDetails(other, AppDetails{}) {
		t.Errorf("unconfigured app = %+v", other)
	}
}

func equalDetails(a, b AppDetails) bool {
	return slices.Equal(a.Databases, b.Databases) && slices.Equal(a.SharedWith, b.SharedWith) &&
		a.DatabasesFrom == b.DatabasesFrom && a.WALEEnvdir == b.WALEEnvdir && a.PGData == b.PGData &&
		a.Cluster == b.Cluster && a.PgDumpDir == b.PgDumpDir && a.BackupHost == b.BackupHost &&
		a.RDS == b.RDS && a.OtherStore == b.OtherStore && a.LocalPostgres == b.LocalPostgres
}

func TestEmptyConfigIsValid(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "applications:\n", "applications:\n  content-publisher:\n"} {
		c, err := ParseConfig([]byte(text), "c.yaml")
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if c.CatalogPath != "" || len(c.App("content-publisher").Databases) != 0 {
			t.Errorf("%q: %+v", text, c)
		}
	}
}

func TestConfigErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown top-level key", "catalog: x.yml\ncatalogue: y.yml\n",
			[]string{"c.yaml:2, key catalogue", `unknown key "catalogue"`, `did you mean "catalog"`}},
		{"unknown application key", "applications:\n  content-publisher:\n    databases: [a]\n    pg_data: /x\n",
			[]string{"c.yaml:4, key applications.content-publisher.pg_data", `unknown key "pg_data"`, `did you mean "pgdata"`}},
		{"unknown rds key", "applications:\n  bouncer:\n    rds:\n      region: eu-west-1\n      instanse: x\n",
			[]string{"c.yaml:5, key applications.bouncer.rds.instanse", `did you mean "instance"`}},
		{"unrelated key lists the accepted ones", "applications:\n  bouncer:\n    colour: blue\n",
			[]string{"c.yaml:3", "use one of: databases, wale_envdir, pgdata, cluster, pg_dump_dir, backup_host, offsite_url, rds"}},
		{"databases not a list", "applications:\n  bouncer:\n    databases: transition_production\n",
			[]string{"c.yaml:3", "wrong shape", "[]string"}},
		{"application not a mapping", "applications:\n  bouncer: transition_production\n",
			[]string{"c.yaml:2, key applications.bouncer", "must be a mapping"}},
		{"bad cluster", "applications:\n  bouncer:\n    databases: [x]\n    cluster: \"9.3\"\n",
			[]string{"c.yaml:4, key applications.bouncer.cluster", `"9.3" is not a Debian cluster`}},
		{"relative pgdata", "applications:\n  bouncer:\n    pgdata: var/lib/postgresql\n",
			[]string{"c.yaml:3, key applications.bouncer.pgdata", "absolute"}},
		{"bad rds instance", "applications:\n  bouncer:\n    rds:\n      instance: 1-bouncer--db\n",
			[]string{"c.yaml:4, key applications.bouncer.rds.instance", "DB instance identifier"}},
		{"bad region", "applications:\n  bouncer:\n    rds:\n      region: eu-west1\n",
			[]string{"c.yaml:4, key applications.bouncer.rds.region", "AWS region"}},
		{"empty database name", "applications:\n  bouncer:\n    databases: [transition_production, \"\"]\n",
			[]string{"c.yaml:3, key applications.bouncer.databases", "database 2"}},
		{"same app twice", "applications:\n  bouncer: {}\n  Bouncer: {}\n",
			[]string{"c.yaml:3, key applications.Bouncer", "configured twice", "line 2"}},
		{"key given twice", "catalog: a.yml\ncatalog: b.yml\n",
			[]string{"c.yaml:2", "gives a key twice"}},
		{"malformed", "applications:\n  bouncer:\n    databases: [a\n",
			[]string{"c.yaml", "not valid YAML"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "c.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if problem.KindOf(err) != problem.Config {
				t.Errorf("kind = %v", problem.KindOf(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRelativeCatalogIsRelativeToTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	catalog, err := os.ReadFile(filepath.Join("testdata", "applications.yml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "catalogs", "apps.yml"), string(catalog))
	path := writeFile(t, filepath.Join(dir, "config.yaml"), "catalog: catalogs/apps.yml\n")

	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "catalogs", "apps.yml"); c.CatalogPath != want {
		t.Errorf("CatalogPath = %q, want %q", c.CatalogPath, want)
	}
	cat, err := c.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if cat.Source != c.CatalogPath || len(cat.Apps) != 12 {
		t.Errorf("catalog %q with %d apps", cat.Source, len(cat.Apps))
	}

	abs, err := ParseConfig([]byte("catalog: /srv/apps.yml\n"), filepath.Join(dir, "config.yaml"))
	if err != nil || abs.CatalogPath != "/srv/apps.yml" {
		t.Errorf("absolute catalog path: %q, %v", abs.CatalogPath, err)
	}
}

func TestMissingCatalogNamesTheConfigSetting(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "config.yaml"), "applications: {}\ncatalog: gone.yml\n")
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Catalog()
	if problem.KindOf(err) != problem.LocalIO {
		t.Fatalf("got %v", err)
	}
	for _, w := range []string{filepath.Join(dir, "gone.yml"), path + ":2"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestNoCatalogSettingUsesTheBuiltInOne(t *testing.T) {
	for _, c := range []*Config{nil, {}} {
		cat, err := c.Catalog()
		if err != nil || cat.Source != DefaultCatalogSource {
			t.Errorf("got %v, %v", cat, err)
		}
	}
}

// searchSetup points the search at a temporary home, XDG directory and
// system file.
func searchSetup(t *testing.T) (home, xdg, system string) {
	t.Helper()
	root := t.TempDir()
	home, xdg = filepath.Join(root, "home"), filepath.Join(root, "xdg")
	system = filepath.Join(root, "etc", "pgrescue", "config.yaml")
	old := systemConfigPath
	systemConfigPath = system
	t.Cleanup(func() { systemConfigPath = old })
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	return home, xdg, system
}

func TestConfigSearchOrder(t *testing.T) {
	home, xdg, system := searchSetup(t)
	xdgFile := filepath.Join(xdg, "pgrescue", "config.yaml")
	homeFile := filepath.Join(home, ".config", "pgrescue", "config.yaml")

	if got := ConfigSearchPaths(); !slices.Equal(got, []string{xdgFile, system}) {
		t.Errorf("paths with XDG_CONFIG_HOME = %q", got)
	}
	c, err := FindConfig()
	if err != nil || c.Path != "" {
		t.Fatalf("nothing to find: %+v, %v", c, err)
	}

	writeFile(t, system, "applications:\n  bouncer:\n    databases: [from_system]\n")
	writeFile(t, homeFile, "applications:\n  bouncer:\n    databases: [from_home]\n")
	if c := mustFind(t); c.Path != system {
		t.Errorf("with only the system file (home ignored while XDG_CONFIG_HOME is set): %q", c.Path)
	}

	writeFile(t, xdgFile, "applications:\n  bouncer:\n    databases: [from_xdg]\n")
	if c := mustFind(t); c.Path != xdgFile || c.App("bouncer").Databases[0] != "from_xdg" {
		t.Errorf("XDG file should win: %q", c.Path)
	}

	t.Setenv("XDG_CONFIG_HOME", "")
	if got := ConfigSearchPaths(); !slices.Equal(got, []string{homeFile, system}) {
		t.Errorf("paths without XDG_CONFIG_HOME = %q", got)
	}
	if c := mustFind(t); c.Path != homeFile {
		t.Errorf("~/.config file should win: %q", c.Path)
	}

	t.Setenv("XDG_CONFIG_HOME", "relative/dir") // the XDG spec says to ignore relative paths
	if c := mustFind(t); c.Path != homeFile {
		t.Errorf("relative XDG_CONFIG_HOME: %q", c.Path)
	}
}

func mustFind(t *testing.T) *Config {
	t.Helper()
	c, err := FindConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFoundConfigErrorsAreReported(t *testing.T) {
	_, xdg, _ := searchSetup(t)
	bad := writeFile(t, filepath.Join(xdg, "pgrescue", "config.yaml"), "applications:\n  bouncer:\n    databse: [x]\n")
	_, err := FindConfig()
	if err == nil || !strings.Contains(err.Error(), bad+":3") {
		t.Errorf("got %v", err)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	_, err := LoadConfig(path)
	if problem.KindOf(err) != problem.LocalIO || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v", err)
	}
}

func TestDetailsBuiltIn(t *testing.T) {
	cat := DefaultCatalog()
	get := func(name string) AppDetails {
		t.Helper()
		a, ok := cat.Find(name)
		if !ok {
			t.Fatalf("%s not in the built-in catalog", name)
		}
		return Details(a)
	}
	cp := get("content-publisher")
	want := AppDetails{
		Databases: []string{"content_publisher_production"}, DatabasesFrom: BuiltinSource,
		WALEEnvdir: DefaultWALEEnvdir, PGData: DefaultPGData, Cluster: DefaultCluster,
		PgDumpDir: DefaultPgDumpDir, BackupHost: DefaultBackupHost,
	}
	if !equalDetails(cp, want) {
		t.Errorf("content-publisher = %+v", cp)
	}
	if d := get("email-alert-api"); !slices.Equal(d.Databases, []string{"email-alert-api_production"}) || d.PGData != "" {
		t.Errorf("email-alert-api (RDS: no self-managed defaults) = %+v", d)
	}
	if d := get("bouncer"); !slices.Equal(d.Databases, []string{"transition_production"}) || !slices.Equal(d.SharedWith, []string{"transition"}) {
		t.Errorf("bouncer = %+v", d)
	}
	if d := get("ckanext-datagovuk"); !slices.Equal(d.Databases, []string{"ckan_production", "ckan_pycsw_production"}) {
		t.Errorf("ckanext-datagovuk = %+v", d)
	}
	if d := get("contacts"); d.OtherStore != "MySQL" || len(d.Databases) != 0 || d.WALEEnvdir != "" {
		t.Errorf("contacts-admin = %+v", d)
	}
	if d := get("mapit"); !d.LocalPostgres || d.Databases[0] != "mapit" {
		t.Errorf("mapit = %+v", d)
	}
	if d := get("frontend"); !equalDetails(d, AppDetails{}) {
		t.Errorf("frontend = %+v", d)
	}
}

func TestDetailsConfigOverBuiltIn(t *testing.T) {
	c, err := ParseConfig([]byte(`applications:
  content-publisher:
    databases: [cp_restored]
    cluster: 13/main
    backup_host: backup-2.management
  CONTACTS:
    databases: [contacts_production]
  email-alert-api:
    rds:
      instance: email-alert-api-postgres
`), "/etc/pgrescue/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat := DefaultCatalog()
	cp, _ := cat.Find("content-publisher")
	got := c.Details(cp)
	want := AppDetails{
		Databases: []string{"cp_restored"}, DatabasesFrom: "config file /etc/pgrescue/config.yaml",
		Cluster: "13/main", WALEEnvdir: DefaultWALEEnvdir, PgDumpDir: DefaultPgDumpDir, BackupHost: "backup-2.management",
	}
	if !equalDetails(got, want) {
		t.Errorf("content-publisher = %+v\nwant %+v", got, want)
	}

	contacts, _ := cat.Find("contacts-admin")
	if d := c.Details(contacts); !slices.Equal(d.Databases, []string{"contacts_production"}) || d.PGData != DefaultPGData || d.OtherStore != "MySQL" {
		t.Errorf("contacts-admin by puppet name = %+v", d)
	}

	eaa, _ := cat.Find("email-alert-api")
	if d := c.Details(eaa); d.RDS.Instance != "email-alert-api-postgres" || d.Databases[0] != "email-alert-api_production" || d.DatabasesFrom != BuiltinSource {
		t.Errorf("email-alert-api = %+v", d)
	}
}

func TestCheckAppsFindsMisspeltApplications(t *testing.T) {
	c, err := ParseConfig([]byte("applications:\n  contacts: {}\n  content-publsher:\n    databases: [x]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckApps(DefaultCatalog())
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"c.yaml:3, key applications.content-publsher", DefaultCatalogSource} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	good, _ := ParseConfig([]byte("applications:\n  contacts: {}\n  Content-Publisher: {}\n"), "c.yaml")
	if err := good.CheckApps(DefaultCatalog()); err != nil {
		t.Errorf("known names rejected: %v", err)
	}
}

func TestConfigAnchorsAreFollowed(t *testing.T) {
	c, err := ParseConfig([]byte("applications:\n  transition: &shared\n    databases: [transition_production]\n  bouncer: *shared\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.App("bouncer").Databases; !slices.Equal(got, []string{"transition_production"}) {
		t.Errorf("bouncer = %q", got)
	}
	_, err = ParseConfig([]byte("applications:\n  transition: &shared\n    databse: [x]\n  bouncer: *shared\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "c.yaml:3, key applications.transition.databse") {
		t.Errorf("got %v", err)
	}
}

// TestMarshalConfigRoundTrips: what MarshalConfig writes, ParseConfig reads
// back to the same details, and nothing unset is written.
func TestMarshalConfigRoundTrips(t *testing.T) {
	want := AppDetails{Databases: []string{"content_publisher_production"}, WALEEnvdir: "/etc/wal-e/env.d",
		PGData: "/srv/pg/main", RDS: RDSInstance{Instance: "content-publisher-postgres", Region: "eu-west-1"}}
	data, err := MarshalConfig("apps.yml", map[string]AppDetails{"content-publisher": want})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "cluster") || strings.Contains(string(data), "backup_host") {
		t.Errorf("unset settings written:\n%s", data)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	c, err := ParseConfig(data, path)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	got := c.App("content-publisher")
	if !slices.Equal(got.Databases, want.Databases) || got.WALEEnvdir != want.WALEEnvdir || got.PGData != want.PGData || got.RDS != want.RDS {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	if c.CatalogPath != filepath.Join(filepath.Dir(path), "apps.yml") {
		t.Errorf("catalog %q", c.CatalogPath)
	}
}
