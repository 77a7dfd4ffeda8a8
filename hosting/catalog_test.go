package hosting

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pgrescue/problem"
)

func loadTestCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := LoadCatalog(filepath.Join("testdata", "applications.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRealFormatCatalogParsesWithEveryHostingValue(t *testing.T) {
	c := loadTestCatalog(t)
	if len(c.Apps) != 12 {
		t.Fatalf("got %d apps, want 12", len(c.Apps))
	}
	if c.Source != filepath.Join("testdata", "applications.yml") {
		t.Errorf("Source = %q", c.Source)
	}
	seen := map[Hosting]bool{}
	for _, a := range c.Apps {
		seen[a.HostedOn] = true
	}
	for _, h := range Hostings {
		if !seen[h] {
			t.Errorf("no app hosted on %q was parsed", h)
		}
	}

	find := func(name string) App {
		t.Helper()
		a, ok := c.Find(name)
		if !ok {
			t.Fatalf("%s not found", name)
		}
		return a
	}
	cp := find("content-publisher")
	if cp.Type != "Publishing apps" || cp.Team != "#govuk-pub-workflow" || cp.HostedOn != Carrenza || cp.Retired {
		t.Errorf("content-publisher = %+v", cp)
	}
	if got := find("contacts-admin").PuppetName; got != "contacts" {
		t.Errorf("contacts-admin puppet_name = %q", got)
	}
	find2 := find("find-data-beta")
	if find2.RepoName != "datagovuk_find" || find2.Name() != "find-data-beta" || find2.HostedOn != PaaS {
		t.Errorf("app_name entry = %+v, Name %q", find2, find2.Name())
	}
	if got := find("seal").Description; got != "Posts pull requests waiting for review to Slack" {
		t.Errorf("seal description = %q", got)
	}
	pan := find("panopticon")
	if !pan.Retired || pan.HostedOn != "" {
		t.Errorf("retired entry without hosting = %+v", pan)
	}
	if bsa := find("business-support-api"); !bsa.Retired || bsa.HostedOn != Carrenza {
		t.Errorf("retired entry with hosting = %+v", bsa)
	}
}

// writeCatalog writes YAML to a file so errors can be checked for its path.
func writeCatalog(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "applications.yml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCatalogErrorsNameFileEntryAndLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown hosting value",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- github_repo_name: whitehall\n  type: Publishing apps\n  production_hosted_on: azure\n",
			want: []string{":5: entry 2 \"whitehall\", key production_hosted_on", `unknown production_hosted_on value "azure"`, "aws, carrenza, ukcloud, heroku, paas, none, eks, gcp"},
		},
		{
			name: "missing github_repo_name",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- type: Frontend apps\n  production_hosted_on: aws\n",
			want: []string{":3: entry 2", "has no github_repo_name", "add github_repo_name"},
		},
		{
			name: "live app without hosting",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- github_repo_name: signon\n  type: Supporting apps\n",
			want: []string{":3: entry 2 \"signon\", key production_hosted_on", "a live application has no production_hosted_on", "retired: true"},
		},
		{
			name: "duplicate name",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- github_repo_name: frontend\n  production_hosted_on: aws\n- github_repo_name: other-router\n  app_name: Router\n  production_hosted_on: aws\n",
			want: []string{":5: entry 3 \"Router\"", `two catalog entries have the name "Router"`, ":1: entry 1 \"router\""},
		},
		{
			name: "malformed YAML",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- github_repo_name: frontend\n  production_hosted_on: aws\n   team: [unclosed\n",
			want: []string{"not valid YAML", "entry 2 \"frontend\"", "line 5"},
		},
		{
			name: "wrong type for retired",
			yaml: "- github_repo_name: router\n  production_hosted_on: aws\n- github_repo_name: panopticon\n  retired: sometimes\n",
			want: []string{":3: entry 2 \"panopticon\"", "wrong type", "line 4"},
		},
		{
			name: "not a list",
			yaml: "applications:\n  router: {}\n",
			want: []string{":1", "not a YAML list"},
		},
		{
			name: "empty",
			yaml: "# nothing\n",
			want: []string{"empty"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCatalog(t, tc.yaml)
			_, err := LoadCatalog(path)
			if err == nil {
				t.Fatal("no error")
			}
			if problem.KindOf(err) != problem.Config {
				t.Errorf("kind = %v, want config", problem.KindOf(err))
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !strings.Contains(msg, "Next: ") {
				t.Errorf("error %q gives no next step", msg)
			}
		})
	}
}

func TestRetiredEntryMayOmitHosting(t *testing.T) {
	c, err := ParseCatalog([]byte("- github_repo_name: panopticon\n  retired: true\n"), "x.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apps[0]; !got.Retired || got.HostedOn != "" || got.HostingName() != "not recorded" {
		t.Errorf("got %+v", got)
	}
}

func TestLaterReposFormatNameIsAccepted(t *testing.T) {
	c, err := ParseCatalog([]byte("- repo_name: account-api\n  production_hosted_on: eks\n"), "repos.yml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Apps[0].Name() != "account-api" || c.Apps[0].HostingName() != "AWS (EKS)" {
		t.Errorf("got %+v", c.Apps[0])
	}
}

func TestLoadCatalogMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yml")
	_, err := LoadCatalog(path)
	if problem.KindOf(err) != problem.LocalIO || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v", err)
	}
}

func TestFind(t *testing.T) {
	c := loadTestCatalog(t)
	cases := map[string]string{
		"content-publisher": "content-publisher",
		"CONTENT-PUBLISHER": "content-publisher",
		" seal ":            "seal",
		"contacts":          "contacts-admin", // puppet_name
		"Contacts":          "contacts-admin",
		"smartanswers":      "smart-answers",
		"find-data-beta":    "find-data-beta",
		"datagovuk_find":    "find-data-beta", // repository name behind app_name
	}
	for query, want := range cases {
		got, ok := c.Find(query)
		if !ok || got.Name() != want {
			t.Errorf("Find(%q) = %q, %v; want %q", query, got.Name(), ok, want)
		}
	}
	for _, miss := range []string{"content", "publisher-content", ""} {
		if got, ok := c.Find(miss); ok {
			t.Errorf("Find(%q) = %q, want no match", miss, got.Name())
		}
	}
}

func TestFindPrefersNameOverPuppetName(t *testing.T) {
	c, err := ParseCatalog([]byte(
		"- github_repo_name: contacts-admin\n  puppet_name: contacts\n  production_hosted_on: carrenza\n"+
			"- github_repo_name: contacts\n  retired: true\n"), "x.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Find("contacts"); got.RepoName != "contacts" {
		t.Errorf("Find(contacts) = %q, want the app named contacts", got.RepoName)
	}
}

func names(apps []App) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.Name())
	}
	return out
}

func TestFilter(t *testing.T) {
	c := loadTestCatalog(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"carrenza", []string{"contacts-admin", "content-publisher", "business-support-api"}},
		{"PLATFORM-health", []string{"contacts-admin", "local-links-manager"}},
		{"uk cloud", []string{"licensify"}},
		{"ukcloud", []string{"licensify"}},
		{"gov.uk paas", []string{"find-data-beta"}},
		{"aws (eks)", []string{"publishing-api"}},
		{"  Frontend Apps ", []string{"find-data-beta", "smart-answers"}},
		{"smartanswers", []string{"smart-answers"}},
		{"publish", []string{"contacts-admin", "content-publisher", "local-links-manager", "publishing-api", "panopticon"}},
		{"no-such-thing", nil},
	}
	for _, tc := range cases {
		if got := names(c.Filter(tc.query)); !slices.Equal(got, tc.want) {
			t.Errorf("Filter(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
}

func TestFilterEmptyQueryListsAllRetiredLast(t *testing.T) {
	c := loadTestCatalog(t)
	got := c.Filter("  ")
	if len(got) != len(c.Apps) {
		t.Fatalf("got %d apps, want %d", len(got), len(c.Apps))
	}
	want := []string{
		"contacts-admin", "content-publisher", "find-data-beta", "govuk-knowledge-graph", "govuk-s3-mirror",
		"licensify", "local-links-manager", "publishing-api", "seal", "smart-answers",
		"business-support-api", "panopticon",
	}
	if !slices.Equal(names(got), want) {
		t.Errorf("order = %q\nwant    %q", names(got), want)
	}
	if names(c.Apps)[0] != "content-publisher" {
		t.Errorf("Filter reordered the catalog itself: %q", names(c.Apps))
	}
}

// The lists of section 1.3 of the research notes: the Dec-2019 hosting of
// each application in govuk-developer-docs at 366860ced.
var dec2019 = map[Hosting][]string{
	AWS: {"local-links-manager", "content-store", "email-alert-api", "imminence", "link-checker-api", "publishing-api",
		"search-api", "router-api", "support-api", "mapit", "cache-clearing-service", "email-alert-service",
		"content-data-api", "content-data-admin", "support", "authenticating-proxy", "router", "calculators",
		"calendars", "collections", "email-alert-frontend", "feedback", "finder-frontend", "frontend",
		"government-frontend", "info-frontend", "licence-finder", "manuals-frontend", "smart-answers",
		"service-manual-frontend", "static", "bouncer", "transition", "ckanext-datagovuk",
		"govuk-related-links-recommender", "licensify"},
	Carrenza: {"collections-publisher", "contacts-admin", "content-tagger", "content-publisher", "manuals-publisher",
		"maslow", "publisher", "service-manual-publisher", "short-url-manager", "specialist-publisher",
		"travel-advice-publisher", "whitehall", "asset-manager", "hmrc-manuals-api", "search-analytics",
		"content-audit-tool", "search-admin", "signon", "release"},
	Heroku: {"seal", "govuk-display-screen"},
	PaaS:   {"datagovuk_find", "datagovuk_publish", "govuk-pact-broker"},
	None:   {"govuk-knowledge-graph"},
}

func TestDefaultCatalogMatchesTheDecember2019Lists(t *testing.T) {
	c := DefaultCatalog()
	if c.Source != "built-in GOV.UK catalog (December 2019)" {
		t.Errorf("Source = %q", c.Source)
	}
	counts := map[Hosting]int{}
	for _, a := range c.Apps {
		counts[a.HostedOn]++
		if a.Retired {
			t.Errorf("%s is retired in the built-in catalog", a.Name())
		}
	}
	wantCounts := map[Hosting]int{AWS: 36, Carrenza: 19, Heroku: 2, PaaS: 3, None: 1}
	for h, n := range wantCounts {
		if counts[h] != n || len(dec2019[h]) != n {
			t.Errorf("%s: %d apps in the catalog, %d in the list, want %d", h, counts[h], len(dec2019[h]), n)
		}
	}
	if len(c.Apps) != 61 {
		t.Errorf("%d apps, want 61", len(c.Apps))
	}
	for h, list := range dec2019 {
		for _, name := range list {
			if a, ok := c.Find(name); !ok || a.HostedOn != h {
				t.Errorf("%s: found %v, hosted on %q, want %q", name, ok, a.HostedOn, h)
			}
		}
	}
	cp, _ := c.Find("content-publisher")
	llm, _ := c.Find("local-links-manager")
	ca, _ := c.Find("contacts")
	if cp.Team != "#govuk-pub-workflow" || llm.Team != "#govuk-platform-health" || ca.Name() != "contacts-admin" || ca.Type != "Publishing apps" {
		t.Errorf("quoted entries: %+v %+v %+v", cp, llm, ca)
	}
	if fe, _ := c.Find("frontend"); fe.Team != "" || fe.Type != "" {
		t.Errorf("frontend has team/type the sources do not give: %+v", fe)
	}
}

func TestDefaultCatalogIsAFreshCopy(t *testing.T) {
	a := DefaultCatalog()
	a.Apps[0].HostedOn = Heroku
	if b := DefaultCatalog(); b.Apps[0].HostedOn == Heroku {
		t.Error("a change to one DefaultCatalog result shows in the next")
	}
}

func TestHostingNames(t *testing.T) {
	want := map[Hosting]string{
		AWS: "AWS", Carrenza: "Carrenza", UKCloud: "UK Cloud", Heroku: "Heroku", PaaS: "GOV.UK PaaS",
		None: "None", EKS: "AWS (EKS)", GCP: "Google Cloud", "": "not recorded", "azure": "azure",
	}
	for h, name := range want {
		if got := h.Name(); got != name {
			t.Errorf("%q.Name() = %q, want %q", h, got, name)
		}
	}
	for _, h := range Hostings {
		if got, ok := ParseHosting(string(h)); !ok || got != h {
			t.Errorf("ParseHosting(%q) = %q, %v", h, got, ok)
		}
	}
	for _, bad := range []string{"AWS", "", "azure", "carrenza "} {
		if _, ok := ParseHosting(bad); ok {
			t.Errorf("ParseHosting(%q) accepted", bad)
		}
	}
}
