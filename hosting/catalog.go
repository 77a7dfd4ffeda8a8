package hosting

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"pgrescue/problem"
)

// App is one entry of the applications catalog, keeping the fields the
// restore decision and the wizard's list need.
type App struct {
	RepoName    string  // github_repo_name (repo_name in the later data/repos.yml)
	AppName     string  // app_name: overrides the repository name on the docs site
	Type        string  // e.g. "Publishing apps"
	Team        string  // the owning team's Slack channel, e.g. "#govuk-pub-workflow"
	PuppetName  string  // the name govuk-puppet and the machines use, e.g. "contacts"
	Description string  // a sentence about what the application does
	HostedOn    Hosting // production_hosted_on; "" only on retired entries
	Retired     bool
}

// Name is the name the docs site shows and links to: app_name when the
// entry has one, else the repository name (app_docs.rb's app_name).
func (a App) Name() string {
	if a.AppName != "" {
		return a.AppName
	}
	return a.RepoName
}

// HostingName is the hosting as the docs print it, e.g. "Carrenza".
func (a App) HostingName() string { return a.HostedOn.Name() }

// Catalog is a parsed applications catalog and where it came from, so every
// answer can say which list it was taken from.
type Catalog struct {
	Source string // file path, or a description of the built-in catalog
	Apps   []App  // in catalog order
}

// DefaultCatalogSource is the Source of the built-in catalog.
const DefaultCatalogSource = "built-in GOV.UK catalog (December 2019)"

//go:embed govuk-applications-2019-12.yml
var defaultCatalogYAML []byte

// DefaultCatalog returns the built-in catalog: GOV.UK's applications and
// their hosting as govuk-developer-docs listed them when the runbook was
// written. Each call returns a fresh copy that callers may change. The data
// is fixed at build time and checked by the tests, so a parse failure is a
// broken build and panics.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog(defaultCatalogYAML, DefaultCatalogSource)
	if err != nil {
		panic("hosting: the built-in catalog does not parse: " + err.Error())
	}
	return c
}

// LoadCatalog reads an applications catalog file in the format of
// govuk-developer-docs' data/applications.yml.
func LoadCatalog(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problem.Wrap(err, problem.LocalIO, path, "cannot read the applications catalog",
			"check the path, or leave the catalog setting out to use the built-in December 2019 catalog")
	}
	return ParseCatalog(data, path)
}

// rawApp is an entry as written. Only the fields pgrescue uses are listed;
// the real file has many more (dependencies, dashboard_url, sentry_url, …),
// which decoding ignores on purpose.
type rawApp struct {
	GithubRepoName string `yaml:"github_repo_name"`
	RepoName       string `yaml:"repo_name"` // data/repos.yml's name for the same field
	AppName        string `yaml:"app_name"`
	Type           string `yaml:"type"`
	Team           string `yaml:"team"`
	HostedOn       string `yaml:"production_hosted_on"`
	Retired        bool   `yaml:"retired"`
	PuppetName     string `yaml:"puppet_name"`
	Description    string `yaml:"description"`
}

// entryRef names one catalog entry in error messages: the file, the
// entry's position and line, and its name once known.
type entryRef struct {
	source string
	index  int // 0-based position in the list
	line   int
	name   string
}

func (e entryRef) String() string {
	return fmt.Sprintf("%s:%d: %s", e.source, e.line, e.entry())
}

// short names the entry without the file, with its first line.
func (e entryRef) short() string {
	return fmt.Sprintf("%s (line %d)", e.entry(), e.line)
}

func (e entryRef) entry() string {
	s := fmt.Sprintf("entry %d", e.index+1)
	if e.name != "" {
		s += fmt.Sprintf(" %q", e.name)
	}
	return s
}

// at names a key of the entry, on the key's own line when it has one.
func (e entryRef) at(key string, line int) string {
	if line > 0 {
		e.line = line
	}
	return e.String() + ", key " + key
}

// ParseCatalog parses a catalog. source names the data in error messages
// (normally the file path). Unknown fields are accepted, since the real file
// carries many pgrescue has no use for; a missing name, an unknown hosting
// value, a live application with no hosting and a repeated name are errors.
func ParseCatalog(data []byte, source string) (*Catalog, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxProblem(err, data, source)
	}
	list, err := catalogList(&doc, source)
	if err != nil {
		return nil, err
	}
	c := &Catalog{Source: source}
	seen := map[string]entryRef{}
	for i, item := range list.Content {
		ref := entryRef{source: source, index: i, line: item.Line}
		app, err := parseEntry(item, ref)
		if err != nil {
			return nil, err
		}
		ref.name = app.Name()
		if first, dup := seen[strings.ToLower(app.Name())]; dup {
			return nil, duplicateProblem(ref, first)
		}
		seen[strings.ToLower(app.Name())] = ref
		c.Apps = append(c.Apps, app)
	}
	return c, nil
}

// catalogList finds the top-level list, rejecting files of another shape
// (a config file or any other mapping, an empty file).
func catalogList(doc *yaml.Node, source string) (*yaml.Node, error) {
	next := "give a file in the format of govuk-developer-docs' data/applications.yml: a YAML list with one entry per application"
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, problem.New(problem.Config, source, "the applications catalog is empty", next)
	}
	list := doc.Content[0]
	if list.Kind != yaml.SequenceNode {
		return nil, problem.New(problem.Config, fmt.Sprintf("%s:%d", source, list.Line),
			"the applications catalog is not a YAML list", next)
	}
	if len(list.Content) == 0 {
		return nil, problem.New(problem.Config, source, "the applications catalog lists no applications", next)
	}
	return list, nil
}

// parseEntry decodes and checks one entry.
func parseEntry(item *yaml.Node, ref entryRef) (App, error) {
	if item.Kind != yaml.MappingNode {
		return App{}, problem.New(problem.Config, ref.String(), "a catalog entry is not a mapping of fields",
			"write each entry as \"- github_repo_name: <name>\" followed by its other fields")
	}
	var raw rawApp
	if err := item.Decode(&raw); err != nil {
		ref.name = scalarField(item, "github_repo_name")
		return App{}, yamlProblem(err, ref.String(), "a catalog entry has a field of the wrong type",
			"fix the field on the line named (retired takes true or false; the others take text)")
	}
	app := App{
		RepoName:    strings.TrimSpace(raw.GithubRepoName),
		AppName:     strings.TrimSpace(raw.AppName),
		Type:        raw.Type,
		Team:        raw.Team,
		PuppetName:  strings.TrimSpace(raw.PuppetName),
		Description: raw.Description,
		Retired:     raw.Retired,
	}
	if app.RepoName == "" {
		app.RepoName = strings.TrimSpace(raw.RepoName)
	}
	ref.name = app.Name()
	if app.RepoName == "" {
		return App{}, problem.New(problem.Config, ref.String(), "a catalog entry has no github_repo_name",
			"add github_repo_name: <repository name> to the entry (govuk-developer-docs requires it)")
	}
	hosted, err := entryHosting(item, ref, strings.TrimSpace(raw.HostedOn), app.Retired)
	if err != nil {
		return App{}, err
	}
	app.HostedOn = hosted
	return app, nil
}

// entryHosting checks production_hosted_on the way the docs site does:
// Hash#fetch raises on an unknown value, and only retired entries may go
// without one.
func entryHosting(item *yaml.Node, ref entryRef, value string, retired bool) (Hosting, error) {
	line := keyLine(item, "production_hosted_on")
	if value == "" {
		if retired {
			return "", nil
		}
		return "", problem.New(problem.Config, ref.at("production_hosted_on", line),
			"a live application has no production_hosted_on",
			"add production_hosted_on: one of "+acceptedHostings()+" (or mark the entry retired: true)")
	}
	h, ok := ParseHosting(value)
	if !ok {
		return "", problem.New(problem.Config, ref.at("production_hosted_on", line),
			fmt.Sprintf("unknown production_hosted_on value %q", value),
			"use one of "+acceptedHostings()+", as govuk-developer-docs does")
	}
	return h, nil
}

// duplicateProblem reports a name used twice. Names are compared without
// case because Find matches without case: two such entries could not be told
// apart.
func duplicateProblem(second, first entryRef) error {
	e := problem.New(problem.Config, second.String(),
		fmt.Sprintf("two catalog entries have the name %q", second.name),
		"remove one, or give one of them a different app_name")
	e.Detail = "the first is " + first.String()
	return e
}

// keyLine is the line of a key in a mapping node, 0 when absent.
func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// scalarField is a key's scalar value in a mapping node, "" when absent or
// not a scalar; used to name an entry whose decoding failed.
func scalarField(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxProblem explains malformed YAML, naming the entry around the line
// the parser complained about so the engineer knows where to look in a file
// of a hundred entries.
func syntaxProblem(err error, data []byte, source string) error {
	subject := source
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		subject = fmt.Sprintf("%s:%d", source, line)
		if ref, ok := entryNear(data, line); ok {
			subject += ", in " + ref.short()
		}
	}
	return yamlProblem(err, subject, "the applications catalog is not valid YAML",
		"fix the YAML at the line named (a YAML linter such as yamllint shows the exact spot)")
}

// yamlProblem wraps a YAML error with its multi-line listing flattened, so
// the explanation stays one paragraph.
func yamlProblem(err error, subject, summary, next string) error {
	e := problem.Wrap(err, problem.Config, subject, summary, next)
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
	e.Detail = strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: "), "\n  ", "; ")
	return e
}

var entryName = regexp.MustCompile(`^\s*-?\s*(?:github_repo_name|repo_name|app_name):\s*["']?([^"'#\s]+)`)

// entryNear finds, in text the parser could not read, the top-level list
// item that contains line: items start with "-" in the first column, as in
// the real file. It is a best effort for error messages only.
func entryNear(data []byte, line int) (entryRef, bool) {
	lines := bytes.Split(data, []byte("\n"))
	ref, found := entryRef{index: -1}, false
	for i := 0; i < len(lines) && i < line; i++ {
		if bytes.HasPrefix(lines[i], []byte("-")) {
			ref = entryRef{index: ref.index + 1, line: i + 1}
			found = true
		}
	}
	if !found {
		return ref, false
	}
	for i := ref.line - 1; i < len(lines); i++ {
		if i > ref.line-1 && bytes.HasPrefix(lines[i], []byte("-")) {
			break
		}
		if m := entryName.FindSubmatch(lines[i]); m != nil {
			ref.name = string(m[1])
			break
		}
	}
	return ref, true
}

// Find returns the application with this name, ignoring case. It also
// accepts the repository name and puppet_name, because on-call engineers
// often know an application by the name its machines and databases use
// (contacts for contacts-admin). A display-name match wins over the others.
func (c *Catalog) Find(name string) (App, bool) {
	name = strings.TrimSpace(name)
	for _, field := range []func(App) string{App.Name, appRepo, appPuppet} {
		for _, a := range c.Apps {
			if v := field(a); v != "" && strings.EqualFold(v, name) {
				return a, true
			}
		}
	}
	return App{}, false
}

func appRepo(a App) string   { return a.RepoName }
func appPuppet(a App) string { return a.PuppetName }

// Filter returns the applications matching query, for the wizard's
// filterable list: the query occurs, ignoring case and surrounding space, in
// the name, repository or puppet name, team, type or hosting (as shown or as
// written in the catalog). Live applications come first, each group
// alphabetical by name, because a retired application is rarely the one
// being restored. An empty query lists everything.
func (c *Catalog) Filter(query string) []App {
	q := strings.ToLower(strings.TrimSpace(query))
	var out []App
	for _, a := range c.Apps {
		if matches(a, q) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, compareForList)
	return out
}

func matches(a App, q string) bool {
	for _, field := range []string{a.Name(), a.RepoName, a.PuppetName, a.Team, a.Type, a.HostingName(), string(a.HostedOn)} {
		if strings.Contains(strings.ToLower(field), q) {
			return true
		}
	}
	return false
}

func compareForList(a, b App) int {
	if a.Retired != b.Retired {
		if a.Retired {
			return 1
		}
		return -1
	}
	if c := strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name())); c != 0 {
		return c
	}
	return strings.Compare(a.Name(), b.Name())
}
