package recovery

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgrescue/internal/testtool"
	"pgrescue/problem"
)

// fakeDebianCluster points postgresql-common's locations at a temporary
// tree holding one cluster with the given postgresql.conf.
func fakeDebianCluster(t *testing.T, version, name, conf string) Cluster {
	t.Helper()
	root := t.TempDir()
	for _, v := range []*string{&debianConfigRoot, &debianLogDir} {
		saved := *v
		t.Cleanup(func() { *v = saved })
	}
	debianConfigRoot, debianLogDir = filepath.Join(root, "etc"), filepath.Join(root, "log")
	c := Cluster{Version: version, Name: name}
	if err := os.MkdirAll(c.ConfigDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(c.ConfigDir(), "postgresql.conf"), conf)
	return c
}

func TestClusterLocations(t *testing.T) {
	c := fakeDebianCluster(t, "9.3", "main", "data_directory = '/var/lib/postgresql/9.3/main'\n")
	if got := c.LogFile(); got != filepath.Join(debianLogDir, "postgresql-9.3-main.log") {
		t.Errorf("default log %s", got)
	}
	if err := os.Symlink("/srv/logs/pg.log", filepath.Join(c.ConfigDir(), "log")); err != nil {
		t.Fatal(err)
	}
	if got := c.LogFile(); got != "/srv/logs/pg.log" {
		t.Errorf("log through the symlink: %s", got)
	}
	os.Remove(filepath.Join(c.ConfigDir(), "log"))
	if err := os.Symlink("srv/relative.log", filepath.Join(c.ConfigDir(), "log")); err != nil {
		t.Fatal(err)
	}
	if got := c.LogFile(); got != "/srv/relative.log" {
		t.Errorf("relative log link (pg_ctlcluster runs from /): %s", got)
	}
}

func TestClusterSettings(t *testing.T) {
	c := fakeDebianCluster(t, "15", "main", "data_directory = '/srv/pg/15'\t# moved\nport = 5433 # second cluster\n"+
		"unix_socket_directories = '/run/pg-a, /run/pg-b'\n#port = 1\n")
	s, err := c.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s != (clusterSettings{DataDir: "/srv/pg/15", Port: 5433, SocketDir: "/run/pg-a"}) {
		t.Errorf("settings %+v", s)
	}
	writeFile(t, filepath.Join(c.ConfigDir(), "postgresql.conf"), "port = fifty\n")
	_, err = c.settings()
	wantKind(t, err, problem.Config, "port")
	_, err = Cluster{Version: "15", Name: "nosuch"}.settings()
	wantKind(t, err, problem.Config, "nosuch")
}

func TestFindCluster(t *testing.T) {
	dir := fakeDataDir(t, "15")
	c := fakeDebianCluster(t, "15", "restore", "data_directory = '"+dir+"/'\n")
	found, err := FindCluster(dir)
	if err != nil || found == nil || *found != c {
		t.Fatalf("FindCluster = %v, %v", found, err)
	}
	if found, err := FindCluster(t.TempDir()); err != nil || found != nil {
		t.Errorf("a plain data directory matched %v (%v)", found, err)
	}
}

// The exact lines a Debian cluster is started and stopped with, and the
// settings pg_ctlcluster will not let us change.
func TestServerCommandsForDebianCluster(t *testing.T) {
	dir := fakeDataDir(t, "15")
	c := fakeDebianCluster(t, "15", "restore", "data_directory = '"+dir+"'\nport = 5433\nunix_socket_directories = '/var/run/postgresql'\n")
	srv := &Server{DataDir: dir, BinDir: "/usr/lib/postgresql/15/bin", Cluster: &c}
	script := commandsScript(srv)
	wantStart := "pg_ctlcluster 15 restore start -- -W -o \"-c lc_messages=C -c log_line_prefix='%m [%p] ' -c archive_mode=off " +
		"-c port=5433 -c unix_socket_directories=/var/run/postgresql -c hot_standby=off -c log_startup_progress_interval=1s\""
	if !strings.Contains(script, wantStart) || strings.Contains(script, "listen_addresses") {
		t.Errorf("start line missing or wrong; want %s in\n%s", wantStart, script)
	}
	if !strings.Contains(script, "-F "+filepath.Join(debianLogDir, "postgresql-15-restore.log")) {
		t.Errorf("does not follow the cluster's log:\n%s", script)
	}
	if got := srv.StopCommand("fast").Line; !strings.HasSuffix(got, "pg_ctlcluster -m fast 15 restore stop") {
		t.Errorf("stop line %s", got)
	}

	for _, bad := range []*Server{
		{DataDir: dir, BinDir: "/x", Cluster: &c, Port: 54321},
		{DataDir: dir, BinDir: "/x", Cluster: &c, SocketDir: "/tmp"},
		{DataDir: dir, BinDir: "/x", Cluster: &Cluster{Version: "13", Name: "restore"}},
		{DataDir: t.TempDir(), Version: Version{15, 0}, Owner: dbUser(t), BinDir: "/x", Cluster: &c},
	} {
		err := bad.Start(context.Background())
		wantKind(t, err, problem.Usage, "cluster")
	}
}

// A real Debian cluster made by pg_createcluster, started with pg_ctlcluster.
func TestServerDebianClusterForReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pg_createcluster needs root")
	}
	v := installedVersion(t)
	testtool.Need(t, "pg_createcluster")
	testtool.Need(t, "pg_ctlcluster")
	testtool.Need(t, "pg_dropcluster")
	if _, err := os.Stat(debianConfigRoot); err != nil {
		testtool.Missing(t, debianConfigRoot, "install postgresql-common")
	}
	owner := dbUser(t)
	dir := filepath.Join(sharedDir(t, owner), "data")
	port, err := choosePort("")
	if err != nil {
		t.Fatal(err)
	}
	name := "pgrescue_test_" + strconv.Itoa(os.Getpid())
	out, err := exec.Command("pg_createcluster", v.String(), name, "-d", dir, "-p", strconv.Itoa(port), "--start-conf", "manual").CombinedOutput()
	if err != nil {
		t.Fatalf("pg_createcluster: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("pg_dropcluster", "--stop", v.String(), name).CombinedOutput(); err != nil {
			t.Errorf("pg_dropcluster %s %s: %v\n%s", v, name, err, out)
		}
	})
	found, err := FindCluster(dir)
	if err != nil || found == nil || found.Name != name {
		t.Fatalf("FindCluster(%s) = %v, %v", dir, found, err)
	}
	srv := &Server{DataDir: dir, Cluster: found}
	startForTest(t, srv)
	if srv.Port != port || srv.LogFile != found.LogFile() {
		t.Errorf("port %d log %s, want the cluster's %d %s", srv.Port, srv.LogFile, port, found.LogFile())
	}
	log := waitForLog(t, srv.LogFile, srv.LogOffset(), "database system is ready to accept connections")
	checkLogPrefix(t, log)
	for sql, want := range map[string]string{"SHOW archive_mode": "off", "SHOW lc_messages": "C", "SHOW port": strconv.Itoa(port),
		"SHOW config_file": filepath.Join(found.ConfigDir(), "postgresql.conf")} {
		if got := psql(t, srv, sql); got != want {
			t.Errorf("%s = %q, want %q", sql, got, want)
		}
	}
	if err := srv.Stop(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	if srv.Running() {
		t.Error("still running after Stop")
	}
}
