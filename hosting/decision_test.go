package hosting

import (
	"strings"
	"testing"
)

func TestStatementWording(t *testing.T) {
	cases := []struct {
		app  App
		want string
	}{
		{App{RepoName: "content-publisher", HostedOn: Carrenza}, "The production version of this application is hosted on Carrenza."},
		{App{RepoName: "router", HostedOn: AWS}, "The production version of this application is hosted on AWS."},
		{App{RepoName: "licensify", HostedOn: UKCloud}, "The production version of this application is hosted on UK Cloud."},
		{App{RepoName: "seal", HostedOn: Heroku}, "The production version of this application is hosted on Heroku."},
		{App{RepoName: "datagovuk_find", HostedOn: PaaS}, "The production version of this application is hosted on GOV.UK PaaS."},
		{App{RepoName: "account-api", HostedOn: EKS}, "The production version of this application is hosted on AWS (EKS)."},
		{App{RepoName: "govuk-s3-mirror", HostedOn: GCP}, "The production version of this application is hosted on Google Cloud."},
		{App{RepoName: "govuk-knowledge-graph", HostedOn: None}, "There is no production version of this application yet."},
		{App{RepoName: "panopticon", Retired: true}, "This application is retired; the catalog does not record where it was hosted."},
		{App{RepoName: "mystery"}, "The catalog does not record where this application is hosted."},
	}
	for _, tc := range cases {
		if got := Statement(tc.app); got != tc.want {
			t.Errorf("Statement(%s) = %q, want %q", tc.app.RepoName, got, tc.want)
		}
	}
}

func TestDecideEveryHosting(t *testing.T) {
	cases := []struct {
		app      App
		route    Route
		meanings []string // words the meaning must contain
	}{
		{App{RepoName: "local-links-manager", HostedOn: AWS}, RouteRDS, []string{"RDS", "new instance", "snapshot", "point in time"}},
		{App{RepoName: "account-api", HostedOn: EKS}, RouteRDS, []string{"RDS", "new instance"}},
		{App{RepoName: "content-publisher", HostedOn: Carrenza}, RouteSelfManaged, []string{"machines we manage (Carrenza/6DG)", "WAL-E archive in S3", "pg_dump"}},
		{App{RepoName: "licensify", HostedOn: UKCloud}, RouteSelfManaged, []string{"UK Cloud", "written for Carrenza/6DG", "run the same way", "WAL-E"}},
		{App{RepoName: "seal", HostedOn: Heroku}, RouteNothing, []string{"Heroku holds", "nothing for pgrescue to restore", "heroku pg:backups"}},
		{App{RepoName: "datagovuk_find", HostedOn: PaaS}, RouteNothing, []string{"GOV.UK PaaS holds", "nothing for pgrescue to restore", "platform's own backup tools"}},
		{App{RepoName: "govuk-s3-mirror", HostedOn: GCP}, RouteNothing, []string{"Google Cloud holds", "nothing for pgrescue to restore"}},
		{App{RepoName: "govuk-knowledge-graph", HostedOn: None}, RouteNothing, []string{"no production version"}},
		{App{RepoName: "panopticon", Retired: true}, RouteNothing, []string{"retired"}},
		{App{RepoName: "business-support-api", HostedOn: Carrenza, Retired: true}, RouteNothing, []string{"retired"}},
		{App{RepoName: "mystery", Team: "#govuk-mystery"}, RouteUnknown, []string{"cannot choose", "#govuk-mystery"}},
	}
	for _, tc := range cases {
		d := Decide(tc.app, Details(tc.app))
		if d.Route != tc.route {
			t.Errorf("%s: route %v, want %v", tc.app.RepoName, d.Route, tc.route)
		}
		if d.Statement != Statement(tc.app) {
			t.Errorf("%s: statement %q", tc.app.RepoName, d.Statement)
		}
		for _, w := range tc.meanings {
			if !strings.Contains(d.Meaning, w) {
				t.Errorf("%s: meaning %q lacks %q", tc.app.RepoName, d.Meaning, w)
			}
		}
		if d.Route == RouteNothing && len(d.Cautions) != 0 {
			t.Errorf("%s: cautions on a route with nothing to restore: %q", tc.app.RepoName, d.Cautions)
		}
	}
}

func TestCarrenzaMeaningIsTheRunbooks(t *testing.T) {
	d := Decide(App{RepoName: "content-publisher", HostedOn: Carrenza}, AppDetails{})
	if !strings.HasPrefix(d.Meaning, "Its PostgreSQL runs on machines we manage (Carrenza/6DG). Restore it from the WAL-E archive in S3 (") ||
		!strings.HasSuffix(d.Meaning, ") or from the legacy nightly pg_dump.") {
		t.Errorf("meaning = %q", d.Meaning)
	}
}

func cautionsOf(t *testing.T, name string) Decision {
	t.Helper()
	app, ok := DefaultCatalog().Find(name)
	if !ok {
		t.Fatalf("%s not in the built-in catalog", name)
	}
	return Decide(app, Details(app))
}

func TestDecideCautions(t *testing.T) {
	wh := cautionsOf(t, "whitehall")
	if wh.Route != RouteSelfManaged || len(wh.Cautions) != 1 || !strings.Contains(wh.Cautions[0], "a MySQL database, not PostgreSQL") {
		t.Errorf("whitehall: %v %q", wh.Route, wh.Cautions)
	}
	if pub := cautionsOf(t, "publisher"); len(pub.Cautions) != 1 || !strings.Contains(pub.Cautions[0], "MongoDB") {
		t.Errorf("publisher: %q", pub.Cautions)
	}
	fe := cautionsOf(t, "frontend")
	if fe.Route != RouteRDS || len(fe.Cautions) != 1 || !strings.Contains(fe.Cautions[0], "knows no PostgreSQL database for frontend") ||
		!strings.Contains(fe.Cautions[0], "applications.frontend.databases") {
		t.Errorf("frontend: %v %q", fe.Route, fe.Cautions)
	}
	if strings.Contains(strings.Join(fe.Cautions, " "), "MySQL") {
		t.Errorf("frontend: a store the sources do not give: %q", fe.Cautions)
	}
	bo := cautionsOf(t, "bouncer")
	if bo.Route != RouteRDS || len(bo.Cautions) != 1 || !strings.Contains(bo.Cautions[0], "transition_production is also used by transition") {
		t.Errorf("bouncer: %v %q", bo.Route, bo.Cautions)
	}
	cp := cautionsOf(t, "content-publisher")
	if len(cp.Cautions) != 1 || !strings.Contains(cp.Cautions[0], "whole PostgreSQL cluster") ||
		!strings.Contains(cp.Cautions[0], "publishing_api_production") || !strings.Contains(cp.Cautions[0], "To restore only content_publisher_production") {
		t.Errorf("content-publisher: %q", cp.Cautions)
	}
	if llm := cautionsOf(t, "local-links-manager"); llm.Route != RouteRDS || len(llm.Cautions) != 0 {
		t.Errorf("local-links-manager: %v %q", llm.Route, llm.Cautions)
	}
}

func TestMapitIsNotRDS(t *testing.T) {
	app := App{RepoName: "mapit", HostedOn: AWS}
	d := Decide(app, Details(app))
	if d.Route != RouteSelfManaged || !strings.Contains(d.Meaning, "not on RDS") || d.Statement != "The production version of this application is hosted on AWS." {
		t.Errorf("mapit: %+v", d)
	}
	withRDS := Details(app)
	withRDS.RDS.Instance = "mapit-postgres"
	if d := Decide(app, withRDS); d.Route != RouteRDS {
		t.Errorf("mapit with a configured RDS instance: %v", d.Route)
	}
}

func TestConfiguredDatabaseSilencesTheOtherStoreCaution(t *testing.T) {
	app := App{RepoName: "whitehall", HostedOn: Carrenza}
	details := Details(app)
	details.Databases = []string{"whitehall_production"}
	d := Decide(app, details)
	for _, c := range d.Cautions {
		if strings.Contains(c, "MySQL") {
			t.Errorf("caution despite a configured database: %q", c)
		}
	}
}

func TestRouteNames(t *testing.T) {
	want := map[Route]string{RouteRDS: "AWS RDS", RouteSelfManaged: "self-managed PostgreSQL", RouteNothing: "nothing to restore", RouteUnknown: "unknown"}
	for r, s := range want {
		if r.String() != s {
			t.Errorf("%d: %q", r, r.String())
		}
	}
}
