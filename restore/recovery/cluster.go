package recovery

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"pgrescue/problem"
)

// Cluster names a Debian/Ubuntu (postgresql-common) cluster, such as 9.3
// main. Such a cluster keeps its configuration in /etc/postgresql/VER/NAME,
// is started with pg_ctlcluster and logs to /var/log/postgresql.
type Cluster struct{ Version, Name string }

// Where postgresql-common keeps things; tests point them elsewhere.
var (
	debianConfigRoot = "/etc/postgresql"
	debianLogDir     = "/var/log/postgresql"
	debianSocketDir  = "/var/run/postgresql"
)

// ConfigDir is the cluster's configuration directory.
func (c Cluster) ConfigDir() string { return filepath.Join(debianConfigRoot, c.Version, c.Name) }

// LogFile is where pg_ctlcluster sends the server's output: the target of
// ConfigDir/log when that is a symlink, else
// /var/log/postgresql/postgresql-VER-NAME.log (as PgCommon's cluster_info).
func (c Cluster) LogFile() string {
	if target, err := os.Readlink(filepath.Join(c.ConfigDir(), "log")); err == nil {
		// pg_ctlcluster runs from /, so a relative link is taken from there.
		return filepath.Join("/", target)
	}
	return filepath.Join(debianLogDir, "postgresql-"+c.Version+"-"+c.Name+".log")
}

func (c Cluster) String() string { return c.Version + "/" + c.Name }

// clusterSettings are what pg_ctlcluster will use for a cluster.
type clusterSettings struct {
	DataDir   string
	Port      int
	SocketDir string
}

// settings reads the cluster's postgresql.conf the way postgresql-common
// does for these keys (pg_createcluster writes all of them there).
func (c Cluster) settings() (clusterSettings, error) {
	path := filepath.Join(c.ConfigDir(), "postgresql.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		return clusterSettings{}, problem.Wrap(err, problem.Config, path, "cannot read the configuration of cluster "+c.String(),
			"check the cluster exists (pg_lsclusters), or leave the Debian cluster out to start the data directory with pg_ctl")
	}
	entries := parseConf(data)
	s := clusterSettings{DataDir: filepath.Join("/var/lib/postgresql", c.Version, c.Name), Port: 5432}
	if dir, ok := lastConfValue(entries, "data_directory"); ok && dir != "" {
		s.DataDir = dir
	}
	if p, ok := lastConfValue(entries, "port"); ok {
		if s.Port, err = strconv.Atoi(p); err != nil {
			return s, problem.New(problem.Config, path+": port", "the cluster's port "+strconv.Quote(p)+" is not a number", "fix port in "+path)
		}
	}
	s.SocketDir = clusterSocketDir(entries, s.DataDir)
	return s, nil
}

// clusterSocketDir mirrors PgCommon's get_cluster_socketdir: the first
// configured directory, else /var/run/postgresql for a cluster owned by that
// directory's owner, else /tmp.
func clusterSocketDir(entries []confEntry, dataDir string) string {
	if dirs, ok := lastConfValue(entries, "unix_socket_directories"); ok && strings.TrimSpace(dirs) != "" {
		first, _, _ := strings.Cut(dirs, ",")
		return strings.TrimSpace(first)
	}
	if sameOwner(debianSocketDir, dataDir) {
		return debianSocketDir
	}
	return "/tmp"
}

func sameOwner(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return errA == nil // as PgCommon: /var/run/postgresql if it exists
	}
	return sa.Sys().(*syscall.Stat_t).Uid == sb.Sys().(*syscall.Stat_t).Uid
}

// FindCluster returns the Debian cluster whose data_directory is pgdata, or
// nil when no cluster claims it (a plain pg_ctl layout).
func FindCluster(pgdata string) (*Cluster, error) {
	want, err := canonicalDir(pgdata)
	if err != nil {
		return nil, err
	}
	confs, _ := filepath.Glob(filepath.Join(debianConfigRoot, "*", "*", "postgresql.conf"))
	for _, conf := range confs {
		dir := filepath.Dir(conf)
		c := Cluster{Version: filepath.Base(filepath.Dir(dir)), Name: filepath.Base(dir)}
		s, err := c.settings()
		if err != nil {
			continue // an unreadable cluster is not the one we are after
		}
		if got, err := canonicalDir(s.DataDir); err == nil && got == want {
			return &c, nil
		}
	}
	return nil, nil
}

// canonicalDir makes two spellings of one directory compare equal.
func canonicalDir(dir string) (string, error) {
	abs, err := absDataDir(dir)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	}
	return abs, nil
}
