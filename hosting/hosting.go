// Package hosting answers the runbook's first question: where does this
// application's production database live, and so which restore applies?
// GOV.UK's "PostgreSQL backups" page sends the engineer to the application's
// page in govuk-developer-docs, reads "The production version of this
// application is hosted on…", and branches: AWS RDS, or Carrenza/6DG machines
// with WAL-E and the legacy nightly pg_dump. This package reads the same
// catalog (data/applications.yml), pgrescue's own config file for the
// details the catalog never recorded (database names, RDS instance, data
// directory), and turns the answer into a decision and the manual steps for
// the branches the wizard does not automate.
package hosting

import "strings"

// Hosting is a production_hosted_on value from the applications catalog.
// The zero value means the catalog does not record one, which the docs
// allow only for retired applications.
type Hosting string

// Every production_hosted_on value govuk-developer-docs has ever used.
// ukcloud disappeared in November 2019; eks and gcp arrived with
// data/repos.yml after the move off Carrenza.
const (
	AWS      Hosting = "aws"
	Carrenza Hosting = "carrenza"
	UKCloud  Hosting = "ukcloud"
	Heroku   Hosting = "heroku"
	PaaS     Hosting = "paas"
	None     Hosting = "none"
	EKS      Hosting = "eks"
	GCP      Hosting = "gcp"
)

// Hostings lists the accepted values in the order error messages name them.
var Hostings = []Hosting{AWS, Carrenza, UKCloud, Heroku, PaaS, None, EKS, GCP}

// hosters mirrors app_docs.rb's HOSTERS (at the runbook's commit), extended
// with the names the later docs gave eks and gcp, so pgrescue says exactly
// what the engineer sees on the application's page.
var hosters = map[Hosting]string{
	AWS:      "AWS",
	PaaS:     "GOV.UK PaaS",
	Carrenza: "Carrenza",
	UKCloud:  "UK Cloud",
	Heroku:   "Heroku",
	None:     "None",
	EKS:      "AWS (EKS)",
	GCP:      "Google Cloud",
}

// ParseHosting accepts a production_hosted_on value exactly as written in
// the catalog; app_docs.rb uses Hash#fetch, so anything else is an error
// there too.
func ParseHosting(s string) (Hosting, bool) {
	h := Hosting(s)
	_, ok := hosters[h]
	return h, ok
}

// Name is the display name the docs print under "Hosting". An unrecorded
// value reads "not recorded"; a value pgrescue does not know is shown as
// written rather than hidden.
func (h Hosting) Name() string {
	if h == "" {
		return "not recorded"
	}
	if name, ok := hosters[h]; ok {
		return name
	}
	return string(h)
}

// acceptedHostings renders Hostings for error messages.
func acceptedHostings() string {
	words := make([]string, len(Hostings))
	for i, h := range Hostings {
		words[i] = string(h)
	}
	return strings.Join(words, ", ")
}
