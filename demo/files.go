package demo

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"pgrescue/hosting"
	"pgrescue/problem"
	"pgrescue/restore/recovery"
	"pgrescue/walesettings"
)

// The application whose database the sandbox damages: a Carrenza-hosted
// publishing app, as the runbook's WAL-E restores were for.
const (
	sandboxApp      = "content-publisher"
	sandboxDatabase = "content_publisher_production"
)

// envdirValues is the WAL-E envdir as GOV.UK's puppet wrote
// /etc/wal-e/env.d, pointing at the sandbox's bucket, server and keyring.
func envdirValues(endpoint, keyID, gnupgHome string) map[string]string {
	return map[string]string{
		walesettings.S3Prefix:        "s3://" + bucket + "/" + archivePrefix,
		walesettings.S3Endpoint:      endpoint,
		walesettings.Region:          region,
		walesettings.AccessKeyID:     accessKeyID,
		walesettings.SecretAccessKey: secretAccessKey,
		walesettings.GPGKeyID:        keyID,
		walesettings.GNUPGHome:       gnupgHome,
	}
}

// writeEnvdir writes one file per variable. The server's archive_command
// reads it as the cluster's owner, so the directory and files belong to the
// owner's group (0750, 0640) and to nobody else: it holds the S3 secret.
func writeEnvdir(dir string, values map[string]string, owner recovery.Owner) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fileError(dir, err)
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	paths := []string{dir}
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(values[name]+"\n"), 0o640); err != nil {
			return fileError(path, err)
		}
		paths = append(paths, path)
	}
	for _, p := range paths {
		mode := os.FileMode(0o640)
		if p == dir {
			mode = 0o750
		}
		if err := os.Chmod(p, mode); err != nil {
			return fileError(p, err)
		}
		if os.Geteuid() != 0 {
			continue // ours already, and the owner is us
		}
		if err := os.Lchown(p, 0, owner.GID); err != nil {
			return fileError(p, err)
		}
	}
	return nil
}

// catalogApp is one entry of govuk-developer-docs' data/applications.yml.
type catalogApp struct {
	Repo     string `yaml:"github_repo_name"`
	Type     string `yaml:"type,omitempty"`
	Team     string `yaml:"team,omitempty"`
	Puppet   string `yaml:"puppet_name,omitempty"`
	HostedOn string `yaml:"production_hosted_on"`
}

// sandboxCatalog is a slice of the December 2019 catalog: the application
// the exercise is about among its Carrenza neighbours and AWS applications,
// so the wizard's hosting decision has something to decide.
var sandboxCatalog = []catalogApp{
	{Repo: "local-links-manager", Type: "Publishing apps", Team: "#govuk-platform-health", HostedOn: "aws"},
	{Repo: "content-store", HostedOn: "aws"},
	{Repo: "publishing-api", HostedOn: "aws"},
	{Repo: "email-alert-api", HostedOn: "aws"},
	{Repo: "search-api", HostedOn: "aws"},
	{Repo: "collections-publisher", HostedOn: "carrenza"},
	{Repo: "contacts-admin", Type: "Publishing apps", Team: "#govuk-platform-health", Puppet: "contacts", HostedOn: "carrenza"},
	{Repo: sandboxApp, Type: "Publishing apps", Team: "#govuk-pub-workflow", HostedOn: "carrenza"},
	{Repo: "publisher", HostedOn: "carrenza"},
	{Repo: "specialist-publisher", HostedOn: "carrenza"},
	{Repo: "whitehall", HostedOn: "carrenza"},
	{Repo: "signon", HostedOn: "carrenza"},
}

const catalogHeader = "# GOV.UK applications and where their production versions were hosted, in the\n" +
	"# format of govuk-developer-docs' data/applications.yml (December 2019), for a\n" +
	"# pgrescue training sandbox. Only the entries the exercise needs are kept.\n"

func writeCatalog(path string) error {
	data, err := yaml.Marshal(sandboxCatalog)
	if err != nil {
		return fileError(path, err)
	}
	return writePublic(path, append([]byte(catalogHeader), data...))
}

const configHeader = "# pgrescue configuration for a training sandbox built by `pgrescue demo`: the\n" +
	"# catalog, and where the exercise's application keeps its WAL-E settings and\n" +
	"# data directory. Use it with: pgrescue --config THIS_FILE\n"

func writeConfig(path, catalog, envdir, pgdata string) error {
	data, err := hosting.MarshalConfig(catalog, map[string]hosting.AppDetails{
		sandboxApp: {Databases: []string{sandboxDatabase}, WALEEnvdir: envdir, PGData: pgdata},
	})
	if err != nil {
		return fileError(path, err)
	}
	return writePublic(path, append([]byte(configHeader), data...))
}

// writeDumpConfig is the nightly-dump exercise's config: the dumps' tree
// on "the primary" and the offsite archive, for the wizard's pg_dump flow.
func writeDumpConfig(path, catalog, tree, offsite string) error {
	d := hosting.AppDetails{Databases: []string{sandboxDatabase}, OffsiteURL: offsite}
	if tree != "" {
		d.PgDumpDir = tree
	}
	data, err := hosting.MarshalConfig(catalog, map[string]hosting.AppDetails{sandboxApp: d})
	if err != nil {
		return fileError(path, err)
	}
	return writePublic(path, append([]byte(configHeader), data...))
}

// writePublic writes a file anyone may read: nothing secret is in it.
func writePublic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fileError(path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fileError(path, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return fileError(path, err)
	}
	return nil
}

// mkdirOwned makes a directory (and missing parents) belonging to the
// cluster's owner, as /var/lib/postgresql belongs to postgres.
func mkdirOwned(dir string, mode os.FileMode, owner recovery.Owner) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fileError(dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fileError(dir, err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, owner.UID, owner.GID); err != nil {
			return fileError(dir, err)
		}
	}
	return nil
}

// chownTree gives every directory from top down to dir to the owner.
func chownTree(top, dir string, mode os.FileMode, owner recovery.Owner) error {
	rel, err := filepath.Rel(top, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return mkdirOwned(dir, mode, owner)
	}
	path := top
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		path = filepath.Join(path, part)
		if err := mkdirOwned(path, mode, owner); err != nil {
			return err
		}
	}
	return nil
}

func fileError(path string, err error) error {
	return problem.Wrap(err, problem.LocalIO, path, "cannot write the sandbox", "check the sandbox folder's free space and permissions")
}
