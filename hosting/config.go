package hosting

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"pgrescue/problem"
)

// RDSInstance names an application's RDS database instance.
type RDSInstance struct {
	Instance string // DB instance identifier, e.g. content-publisher-postgres
	Region   string // e.g. eu-west-1; "" leaves it to the AWS CLI's own configuration
}

// AppDetails is what a restore needs to know about an application beyond
// its hosting: the catalog never recorded any of it.
type AppDetails struct {
	Databases     []string // PostgreSQL database names
	DatabasesFrom string   // where Databases came from: the config file, or BuiltinSource
	WALEEnvdir    string   // WAL-E's envdir on the primary
	PGData        string   // the data directory a WAL-E restore writes
	Cluster       string   // Debian cluster VERSION/NAME, an alternative to PGData
	PgDumpDir     string   // autopostgresqlbackup's directory on the primary
	BackupHost    string   // the onsite backup machine
	OffsiteURL    string   // the duplicity archive the backup machine sent offsite
	RDS           RDSInstance

	// Built-in knowledge only; the config file cannot set these.
	OtherStore    string   // "MySQL" or "MongoDB" when govuk-puppet gave the app that instead of PostgreSQL
	LocalPostgres bool     // PostgreSQL runs on the app's own machines, not RDS (mapit)
	SharedWith    []string // other applications using the same database
}

// Config is pgrescue's own optional config file.
type Config struct {
	Path        string // the file read; "" when none was found
	CatalogPath string // the catalog setting, made absolute; "" means the built-in catalog
	catalogLine int
	apps        map[string]configApp // keyed by lower-case name
}

// configApp is one applications entry with the line it was written on.
type configApp struct {
	name    string
	line    int
	details AppDetails
}

// systemConfigPath is the machine-wide config file; a variable so tests can
// point it at a temporary directory.
var systemConfigPath = "/etc/pgrescue/config.yaml"

// ConfigSearchPaths lists where FindConfig looks, first found wins: the
// user's file (XDG_CONFIG_HOME, else ~/.config) before the machine's, so an
// engineer can override a shared setup without root.
func ConfigSearchPaths() []string {
	var paths []string
	if xdg := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(xdg) {
		paths = append(paths, filepath.Join(xdg, "pgrescue", "config.yaml"))
	} else if home, err := os.UserHomeDir(); err == nil && home != "" {
		paths = append(paths, filepath.Join(home, ".config", "pgrescue", "config.yaml"))
	}
	return append(paths, systemConfigPath)
}

// FindConfig loads the first config file of ConfigSearchPaths. Having none
// is normal: the result is then an empty Config (built-in catalog and
// details) with Path "".
func FindConfig() (*Config, error) {
	for _, path := range ConfigSearchPaths() {
		_, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read pgrescue's config file",
				"fix its permissions, or give another file with --config")
		}
		return LoadConfig(path)
	}
	return &Config{}, nil
}

// LoadConfig reads the config file at path, as given with --config.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read pgrescue's config file",
			"check the path given with --config")
	}
	return ParseConfig(data, path)
}

// The keys pgrescue's config accepts, per level.
var (
	topKeys = []string{"catalog", "applications"}
	appKeys = []string{"databases", "wale_envdir", "pgdata", "cluster", "pg_dump_dir", "backup_host", "offsite_url", "rds"}
	rdsKeys = []string{"instance", "region"}
)

// rawConfig is the file's shape. Decoding uses KnownFields so a key that is
// not here is an error even if the walk in checkKeys missed it.
// The omitempty tags only shape MarshalConfig's output.
type rawConfig struct {
	Catalog      string                  `yaml:"catalog,omitempty"`
	Applications map[string]rawConfigApp `yaml:"applications,omitempty"`
}

type rawConfigApp struct {
	Databases  []string `yaml:"databases,omitempty"`
	WALEEnvdir string   `yaml:"wale_envdir,omitempty"`
	PGData     string   `yaml:"pgdata,omitempty"`
	Cluster    string   `yaml:"cluster,omitempty"`
	PgDumpDir  string   `yaml:"pg_dump_dir,omitempty"`
	BackupHost string   `yaml:"backup_host,omitempty"`
	OffsiteURL string   `yaml:"offsite_url,omitempty"`
	RDS        struct {
		Instance string `yaml:"instance,omitempty"`
		Region   string `yaml:"region,omitempty"`
	} `yaml:"rds,omitempty"`
}

// MarshalConfig writes a config file's content, in the shape ParseConfig
// reads, for tools that set pgrescue up (the demo sandbox): the settings
// a config file can hold are taken from apps, the built-in-only ones are
// not written.
func MarshalConfig(catalog string, apps map[string]AppDetails) ([]byte, error) {
	raw := rawConfig{Catalog: catalog, Applications: map[string]rawConfigApp{}}
	for name, d := range apps {
		a := rawConfigApp{Databases: d.Databases, WALEEnvdir: d.WALEEnvdir, PGData: d.PGData, Cluster: d.Cluster,
			PgDumpDir: d.PgDumpDir, BackupHost: d.BackupHost, OffsiteURL: d.OffsiteURL}
		a.RDS.Instance, a.RDS.Region = d.RDS.Instance, d.RDS.Region
		raw.Applications[name] = a
	}
	return yaml.Marshal(raw)
}

// ParseConfig parses a config file's content; path names it in errors and
// anchors a relative catalog path. Unlike the catalog, an unknown key here
// is an error: a misspelt setting in our own file must not be ignored.
func ParseConfig(data []byte, path string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlProblem(err, atLine(path, err), "pgrescue's config file is not valid YAML",
			"fix the YAML at the line named")
	}
	lines := map[string]int{}
	if err := checkKeys(&doc, path, lines); err != nil {
		return nil, err
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, decodeProblem(err, path)
	}
	return buildConfig(raw, path, lines)
}

// decodeProblem explains what the typed decoding rejected: a key given
// twice, or a value of the wrong shape.
func decodeProblem(err error, path string) error {
	if strings.Contains(err.Error(), "already defined") {
		return yamlProblem(err, atLine(path, err), "pgrescue's config file gives a key twice",
			"keep one of the two: YAML does not merge them")
	}
	return yamlProblem(err, atLine(path, err), "pgrescue's config file has a setting of the wrong shape",
		"fix the line named: databases is a list of names, rds holds instance and region, the others are text")
}

// atLine adds the first line a YAML error names to the file name.
func atLine(path string, err error) string {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return path + ":" + m[1]
	}
	return path
}

// checkKeys walks the document and rejects unknown keys with their line,
// recording the line of every key (dotted path) for later messages.
func checkKeys(doc *yaml.Node, path string, lines map[string]int) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return eachKey(doc.Content[0], path, "", topKeys, lines, func(key, val *yaml.Node) error {
		if key.Value != "applications" {
			return nil
		}
		return eachKey(val, path, "applications", nil, lines, func(app, fields *yaml.Node) error {
			where := "applications." + app.Value
			return eachKey(fields, path, where, appKeys, lines, func(field, v *yaml.Node) error {
				if field.Value != "rds" {
					return nil
				}
				return eachKey(v, path, where+".rds", rdsKeys, lines, nil)
			})
		})
	})
}

// eachKey visits a mapping's keys. allowed nil accepts any key (application
// names); an empty value (null) has no keys.
func eachKey(n *yaml.Node, path, where string, allowed []string, lines map[string]int, fn func(key, val *yaml.Node) error) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias // a YAML anchor reused for several applications
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return problem.New(problem.Config, fmt.Sprintf("%s:%d, key %s", path, n.Line, displayWhere(where)),
			"this setting must be a mapping of keys", "write its settings as indented \"key: value\" lines under it")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		full := joinKey(where, key.Value)
		if allowed != nil && !slices.Contains(allowed, key.Value) {
			return unknownKey(path, key, where, full, allowed)
		}
		lines[full] = key.Line
		if fn != nil {
			if err := fn(key, val); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinKey(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

func displayWhere(where string) string {
	if where == "" {
		return "the top level"
	}
	return where
}

// unknownKey names the file, line and key, suggests the key probably meant,
// and lists the accepted ones.
func unknownKey(path string, key *yaml.Node, where, full string, allowed []string) error {
	next := "use one of: " + strings.Join(allowed, ", ")
	if guess := closest(key.Value, allowed); guess != "" {
		next = fmt.Sprintf("did you mean %q? The keys accepted here are: %s", guess, strings.Join(allowed, ", "))
	}
	e := problem.New(problem.Config, fmt.Sprintf("%s:%d, key %s", path, key.Line, full),
		fmt.Sprintf("unknown key %q at %s", key.Value, displayWhere(where)), next)
	e.Detail = "pgrescue rejects keys it does not know so that a misspelt setting is not silently ignored"
	return e
}

// closest returns the accepted key within two edits of word, if any.
func closest(word string, allowed []string) string {
	best, bestDist := "", 3
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(word), a); d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// buildConfig validates the decoded values and resolves the catalog path.
func buildConfig(raw rawConfig, path string, lines map[string]int) (*Config, error) {
	c := &Config{Path: path, apps: map[string]configApp{}, catalogLine: lines["catalog"]}
	if cat := strings.TrimSpace(raw.Catalog); cat != "" {
		if !filepath.IsAbs(cat) {
			cat = filepath.Join(filepath.Dir(path), cat)
		}
		c.CatalogPath = filepath.Clean(cat)
	}
	names := make([]string, 0, len(raw.Applications))
	for name := range raw.Applications {
		names = append(names, name)
	}
	// In file order, so a repeated name is reported where it is repeated.
	slices.SortFunc(names, func(a, b string) int { return lines["applications."+a] - lines["applications."+b] })
	for _, name := range names {
		entry := configApp{name: name, line: lines["applications."+name], details: appDetails(raw.Applications[name], path)}
		if err := validateApp(entry, path, lines); err != nil {
			return nil, err
		}
		if prev, dup := c.apps[strings.ToLower(name)]; dup {
			return nil, problem.New(problem.Config, fmt.Sprintf("%s:%d, key applications.%s", path, entry.line, name),
				fmt.Sprintf("the application %q is configured twice (also as %q at line %d)", name, prev.name, prev.line),
				"merge the two entries: names are matched without regard to case")
		}
		c.apps[strings.ToLower(name)] = entry
	}
	return c, nil
}

func appDetails(r rawConfigApp, path string) AppDetails {
	d := AppDetails{
		WALEEnvdir: strings.TrimSpace(r.WALEEnvdir),
		PGData:     strings.TrimSpace(r.PGData),
		Cluster:    strings.TrimSpace(r.Cluster),
		PgDumpDir:  strings.TrimSpace(r.PgDumpDir),
		BackupHost: strings.TrimSpace(r.BackupHost),
		OffsiteURL: strings.TrimSpace(r.OffsiteURL),
		RDS:        RDSInstance{Instance: strings.TrimSpace(r.RDS.Instance), Region: strings.TrimSpace(r.RDS.Region)},
	}
	for _, db := range r.Databases {
		d.Databases = append(d.Databases, strings.TrimSpace(db))
	}
	if len(d.Databases) > 0 {
		d.DatabasesFrom = "config file " + path
	}
	return d
}

var (
	clusterName = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?/[^/\s]+$`)
	rdsID       = regexp.MustCompile(`^[A-Za-z](-?[A-Za-z0-9])*$`)
	awsRegion   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	hostName    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
)

// check is one rule on one setting of an application.
type check struct {
	key   string
	value string
	ok    func(string) bool
	want  string
}

// validateApp rejects values that would only fail later, on a command line
// pasted at 3am.
func validateApp(e configApp, path string, lines map[string]int) error {
	d := e.details
	for i, db := range d.Databases {
		if db == "" || strings.ContainsAny(db, "\n\x00") {
			return settingProblem(e, path, lines, "databases", fmt.Sprintf("database %d is empty or spans lines", i+1),
				"list the PostgreSQL database names, e.g. [content_publisher_production]")
		}
	}
	checks := []check{
		{"wale_envdir", d.WALEEnvdir, filepath.IsAbs, "an absolute directory, e.g. " + DefaultWALEEnvdir},
		{"pgdata", d.PGData, filepath.IsAbs, "an absolute directory, e.g. " + DefaultPGData},
		{"cluster", d.Cluster, clusterName.MatchString, "a Debian cluster as VERSION/NAME, e.g. " + DefaultCluster + " (see pg_lsclusters)"},
		{"pg_dump_dir", d.PgDumpDir, filepath.IsAbs, "an absolute directory, e.g. " + DefaultPgDumpDir},
		{"backup_host", d.BackupHost, hostName.MatchString, "a host name, e.g. " + DefaultBackupHost},
		{"offsite_url", d.OffsiteURL, func(v string) bool { return strings.Contains(v, "://") }, "a duplicity URL, e.g. " + OffsiteURL},
		{"rds.instance", d.RDS.Instance, ValidRDSIdentifier, "an RDS DB instance identifier: up to 63 letters, digits and single hyphens, starting with a letter"},
		{"rds.region", d.RDS.Region, awsRegion.MatchString, "an AWS region such as eu-west-1"},
	}
	for _, c := range checks {
		if c.value != "" && !c.ok(c.value) {
			return settingProblem(e, path, lines, c.key, fmt.Sprintf("%q is not %s", c.value, c.want), "correct the value")
		}
	}
	return nil
}

// ValidRDSIdentifier is AWS's rule for a DB instance identifier: 1 to 63
// letters, digits or hyphens, starting with a letter, with no trailing
// hyphen and no two hyphens in a row.
func ValidRDSIdentifier(s string) bool { return len(s) <= 63 && rdsID.MatchString(s) }

func settingProblem(e configApp, path string, lines map[string]int, key, summary, next string) error {
	full := "applications." + e.name + "." + key
	line := lines[full]
	if line == 0 {
		line = e.line
	}
	return problem.New(problem.Config, fmt.Sprintf("%s:%d, key %s", path, line, full), summary, next)
}

// lookup finds the config entry for an application under any of its names.
func (c *Config) lookup(app App) (configApp, bool) {
	if c == nil {
		return configApp{}, false
	}
	for _, name := range []string{app.Name(), app.RepoName, app.PuppetName} {
		if e, ok := c.apps[strings.ToLower(name)]; ok && name != "" {
			return e, true
		}
	}
	return configApp{}, false
}

// App returns what the config file says about one application (nothing
// built in), matching the name without regard to case.
func (c *Config) App(name string) AppDetails {
	if c == nil {
		return AppDetails{}
	}
	return c.apps[strings.ToLower(strings.TrimSpace(name))].details
}

// Details is everything known about an application: the config file's
// settings over the built-in knowledge from govuk-puppet, then govuk-puppet's
// standard locations for self-managed machines. A nil Config gives the
// built-in knowledge alone.
func (c *Config) Details(app App) AppDetails {
	d := builtinDetails(app)
	if e, ok := c.lookup(app); ok {
		d = overlay(d, e.details)
	}
	if selfManaged(app.HostedOn) && len(d.Databases) > 0 {
		d = withSelfManagedDefaults(d)
	}
	return d
}

// Details is Config.Details without a config file.
func Details(app App) AppDetails { return (*Config)(nil).Details(app) }

func builtinDetails(app App) AppDetails {
	k, ok := builtinFor(app)
	if !ok {
		return AppDetails{}
	}
	d := AppDetails{
		Databases:     slices.Clone(k.databases),
		OtherStore:    k.otherStore,
		LocalPostgres: k.local,
		SharedWith:    slices.Clone(k.sharedWith),
	}
	if len(d.Databases) > 0 {
		d.DatabasesFrom = BuiltinSource
	}
	return d
}

// overlay applies the config's settings. pgdata and cluster travel
// together: they are two ways to name one data directory, and mixing the
// config's cluster with a built-in pgdata would name two.
func overlay(d, cfg AppDetails) AppDetails {
	if len(cfg.Databases) > 0 {
		d.Databases, d.DatabasesFrom = slices.Clone(cfg.Databases), cfg.DatabasesFrom
	}
	if cfg.PGData != "" || cfg.Cluster != "" {
		d.PGData, d.Cluster = cfg.PGData, cfg.Cluster
	}
	setIf(&d.WALEEnvdir, cfg.WALEEnvdir)
	setIf(&d.PgDumpDir, cfg.PgDumpDir)
	setIf(&d.BackupHost, cfg.BackupHost)
	setIf(&d.OffsiteURL, cfg.OffsiteURL)
	setIf(&d.RDS.Instance, cfg.RDS.Instance)
	setIf(&d.RDS.Region, cfg.RDS.Region)
	return d
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// withSelfManagedDefaults fills in where govuk-puppet put WAL-E, the data
// directory and the nightly dumps on every PostgreSQL primary it managed.
func withSelfManagedDefaults(d AppDetails) AppDetails {
	if d.PGData == "" && d.Cluster == "" {
		d.PGData, d.Cluster = DefaultPGData, DefaultCluster
	}
	d.WALEEnvdir = orEmpty(d.WALEEnvdir, DefaultWALEEnvdir)
	d.PgDumpDir = orEmpty(d.PgDumpDir, DefaultPgDumpDir)
	d.BackupHost = orEmpty(d.BackupHost, DefaultBackupHost)
	d.OffsiteURL = orEmpty(d.OffsiteURL, OffsiteURL)
	return d
}

// orEmpty returns fallback when v is empty, else v.
func orEmpty(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

func selfManaged(h Hosting) bool { return h == Carrenza || h == UKCloud }

// Catalog returns the catalog the config names, or the built-in one.
func (c *Config) Catalog() (*Catalog, error) {
	if c == nil || c.CatalogPath == "" {
		return DefaultCatalog(), nil
	}
	data, err := os.ReadFile(c.CatalogPath)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO,
			fmt.Sprintf("%s, named by the catalog key at %s:%d", c.CatalogPath, c.Path, c.catalogLine),
			"cannot read the applications catalog named in pgrescue's config file",
			"fix the catalog setting (a relative path is relative to the config file's directory), or remove it to use the built-in December 2019 catalog")
	}
	return ParseCatalog(data, c.CatalogPath)
}

// CheckApps reports a configured application the catalog does not know:
// its settings would otherwise never be used, and the engineer would not
// know why.
func (c *Config) CheckApps(cat *Catalog) error {
	if c == nil {
		return nil
	}
	entries := make([]configApp, 0, len(c.apps))
	for _, e := range c.apps {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b configApp) int { return a.line - b.line })
	for _, e := range entries {
		if _, ok := cat.Find(e.name); !ok {
			return problem.New(problem.Config, fmt.Sprintf("%s:%d, key applications.%s", c.Path, e.line, e.name),
				fmt.Sprintf("the application %q is not in the catalog (%s)", e.name, cat.Source),
				"spell it as the catalog does (its github_repo_name, app_name or puppet_name)")
		}
	}
	return nil
}
