package recovery

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

func commandsScript(srv *Server) string { return shellcmd.Script(srv.Commands()) }

// logLine is a line with the prefix Start forces: '%m [%p] '.
var logLine = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [A-Za-z0-9+-]+ \[(\d+)\] (LOG|FATAL|ERROR|WARNING|DETAIL|HINT|CONTEXT|STATEMENT):  `)

// checkLogPrefix checks every server line carries the forced prefix and
// untranslated severities; restore_command's own output has no prefix.
func checkLogPrefix(t *testing.T, log string) {
	t.Helper()
	ready := false
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.Contains(line, "database system is ready to accept connections") {
			ready = logLine.MatchString(line)
			if !ready {
				t.Errorf("the ready line lacks the forced prefix: %q", line)
			}
		}
		if regexp.MustCompile(`^\d{4}-`).MatchString(line) && !logLine.MatchString(line) {
			t.Errorf("server line without the '%%m [%%p] ' prefix: %q", line)
		}
	}
	if !ready {
		t.Errorf("no ready line in:\n%s", log)
	}
}

// The exact pg_ctl line, with every option Start forces.
func TestServerCommandsPlain(t *testing.T) {
	srv := &Server{DataDir: "/var/lib/postgresql/15/restore", Version: Version{15, 0}, BinDir: "/usr/lib/postgresql/15/bin",
		Owner: Owner{UID: 101, GID: 104, Name: "postgres"}, Port: 54321, SocketDir: "/tmp/pgrescue-test", ExtraEnv: []string{"AWS_SECRET_ACCESS_KEY=hush"}}
	script := commandsScript(srv)
	sudo := ""
	if os.Geteuid() == 0 {
		sudo = "sudo -u postgres "
	}
	want := sudo + `env LC_ALL=C AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" /usr/lib/postgresql/15/bin/pg_ctl start -D /var/lib/postgresql/15/restore ` +
		`-l /var/lib/postgresql/15/restore.pgrescue.log -W -o "-c lc_messages=C -c log_line_prefix='%m [%p] ' -c archive_mode=off -c port=54321 ` +
		`-c unix_socket_directories=/tmp/pgrescue-test -c listen_addresses='' -c hot_standby=off -c log_startup_progress_interval=1s"`
	if !strings.Contains(script, want+"\n") {
		t.Errorf("want the line\n%s\nin\n%s", want, script)
	}
	if strings.Contains(script, "hush") {
		t.Error("a secret from ExtraEnv is shown")
	}
	if strings.Contains(script, "mkdir") {
		t.Error("a given socket directory is not pgrescue's to create")
	}
	for _, w := range []string{"touch /var/lib/postgresql/15/restore.pgrescue.log", "tail -c +1 -F /var/lib/postgresql/15/restore.pgrescue.log",
		"psql -X -A -t -h /tmp/pgrescue-test -p 54321 -U postgres -d postgres -c 'SELECT pg_is_in_recovery()'"} {
		if !strings.Contains(script, w) {
			t.Errorf("missing %q in\n%s", w, script)
		}
	}
	if got := srv.StopCommand("").Line; !strings.HasSuffix(got, "/usr/lib/postgresql/15/bin/pg_ctl stop -D /var/lib/postgresql/15/restore -m fast -w -t 300 && rmdir /tmp/pgrescue-test") { // named as pgrescue's own: removed once empty
		t.Errorf("stop line %s", got)
	}

	old := &Server{DataDir: "/var/lib/postgresql/9.3/main", Version: Version{9, 3}, BinDir: "/usr/lib/postgresql/9.3/bin",
		Owner: Owner{Name: "postgres", UID: 101}, Port: 54321, SocketDir: "/tmp/s"}
	if s := commandsScript(old); strings.Contains(s, "log_startup_progress_interval") || !strings.Contains(s, "-c hot_standby=off\"") {
		t.Errorf("9.3 has no progress lines to ask for:\n%s", s)
	}
}

// A dry run names the private socket directory it would create; Start then
// creates exactly that one, so the description was the truth.
func TestServerDryRunThenStartUseTheSamePrivateSocketDir(t *testing.T) {
	dir, _ := walERestore(t)
	if _, err := EnsureConfigFiles(dir, dbUser(t)); err != nil {
		t.Fatal(err)
	}
	srv := &Server{DataDir: dir}
	script := commandsScript(srv)
	if !strings.Contains(script, "mkdir -m 0700 "+srv.SocketDir) || !strings.HasPrefix(srv.SocketDir, "/tmp/pgrescue-") {
		t.Fatalf("dry run does not create the private socket directory %q:\n%s", srv.SocketDir, script)
	}
	if exists(srv.SocketDir) {
		t.Fatal("the dry run created the socket directory")
	}
	planned, plannedLine := srv.SocketDir, srv.startLine()
	startForTest(t, srv)
	if srv.SocketDir != planned || srv.startLine() != plannedLine {
		t.Errorf("started with %s\nplanned %s", srv.startLine(), plannedLine)
	}
}

func TestServerLifecycle(t *testing.T) {
	dir, v := walERestore(t)
	owner := dbUser(t)
	written, err := EnsureConfigFiles(dir, owner)
	if err != nil || len(written) != 3 {
		t.Fatalf("EnsureConfigFiles wrote %v: %v", written, err)
	}
	earlier := "an earlier run's line\n"
	writeFile(t, dir+".pgrescue.log", earlier) // root's, until Start gives it to the owner

	srv := &Server{DataDir: dir}
	startForTest(t, srv)
	if srv.LogOffset() != int64(len(earlier)) || srv.LogFile != dir+".pgrescue.log" {
		t.Errorf("log %s offset %d, want %s.pgrescue.log offset %d", srv.LogFile, srv.LogOffset(), dir, len(earlier))
	}
	log := waitForLog(t, srv.LogFile, srv.LogOffset(), "database system is ready to accept connections")
	checkLogPrefix(t, log)
	pid, ok := srv.PID()
	if !ok || !strings.Contains(log, "["+strconv.Itoa(pid)+"] LOG:  database system is ready to accept connections") {
		t.Errorf("the ready line is not from the postmaster (PID %d, %v)", pid, ok)
	}

	want := map[string]string{
		"SHOW archive_mode": "off", "SHOW lc_messages": "C", "SHOW listen_addresses": "", "SHOW log_line_prefix": "%m [%p] ",
		"SHOW port": strconv.Itoa(srv.Port), "SHOW unix_socket_directories": srv.SocketDir, "SHOW data_directory": dir,
	}
	if v.HasProgressLines() {
		want["SHOW log_startup_progress_interval"] = "1s"
	}
	for sql, w := range want {
		if got := psql(t, srv, sql); got != w {
			t.Errorf("%s = %q, want %q", sql, got, w)
		}
	}

	if !strings.HasPrefix(srv.SocketDir, "/tmp/pgrescue-") || srv.Port < firstDefaultPort {
		t.Errorf("defaults: socket dir %s port %d", srv.SocketDir, srv.Port)
	}
	if uid, mode := fileOwner(t, srv.SocketDir); uid != owner.UID || mode.Perm() != 0o700 {
		t.Errorf("socket directory uid %d mode %v, want %d 0700", uid, mode.Perm(), owner.UID)
	}
	if uid, _ := fileOwner(t, srv.LogFile); uid != owner.UID {
		t.Errorf("log owned by %d, want %d", uid, owner.UID)
	}

	err = srv.Start(context.Background())
	wantKind(t, err, problem.DataDirInUse, "PID "+strconv.Itoa(pid), "postmaster.pid")

	if err := srv.Stop(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	if srv.Running() || exists(srv.SocketDir) {
		t.Errorf("after Stop: running %v, socket directory left %v", srv.Running(), exists(srv.SocketDir))
	}
	if err := srv.Stop(context.Background(), "fast"); err != nil {
		t.Errorf("stopping a stopped server: %v", err)
	}
}

// Two restores started with defaults side by side never share a socket
// directory or a port.
func TestServerDefaultsDoNotCollide(t *testing.T) {
	var servers []*Server
	for range 2 {
		dir, _ := walERestore(t)
		if _, err := EnsureConfigFiles(dir, dbUser(t)); err != nil {
			t.Fatal(err)
		}
		srv := &Server{DataDir: dir}
		startForTest(t, srv)
		waitForLog(t, srv.LogFile, srv.LogOffset(), "database system is ready to accept connections")
		servers = append(servers, srv)
	}
	a, b := servers[0], servers[1]
	if a.SocketDir == b.SocketDir || a.Port == b.Port {
		t.Errorf("collision: %s:%d and %s:%d", a.SocketDir, a.Port, b.SocketDir, b.Port)
	}
	for _, srv := range servers {
		if got := psql(t, srv, "SHOW data_directory"); got != srv.DataDir {
			t.Errorf("connected to %s, want %s", got, srv.DataDir)
		}
	}
}

// Archive recovery for real: the settings Write produces are read by the
// server exactly (quotes, backslashes), recovery runs restore_command,
// promotes to a new timeline, and Cleanup leaves postgresql.auto.conf as it
// was.
func TestRecoveryWithRealServer(t *testing.T) {
	dir, v := walERestore(t)
	if _, err := EnsureConfigFiles(dir, dbUser(t)); err != nil {
		t.Fatal(err)
	}
	autoBefore := readFile(t, filepath.Join(dir, autoConf))
	raw := `echo pgrescue-probe 'it''s' "C:\new\table" %f %p >&2; exit 1`
	if _, err := Write(dir, v, Settings{RestoreCommand: raw}); err != nil {
		t.Fatal(err)
	}
	srv := &Server{DataDir: dir}
	startForTest(t, srv)
	log := waitForLog(t, srv.LogFile, srv.LogOffset(), "database system is ready to accept connections")
	for _, w := range []string{"starting archive recovery", "pgrescue-probe", "selected new timeline ID: 2", "archive recovery complete"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if got := psql(t, srv, "SHOW restore_command"); got != raw {
		t.Errorf("the server read restore_command as %q, want %q", got, raw)
	}
	if got := psql(t, srv, "SELECT pg_is_in_recovery()"); got != "f" {
		t.Errorf("still in recovery: %s", got)
	}
	if err := srv.Stop(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	c, err := Cleanup(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, autoConf)); v.UsesSignalFiles() && (got != autoBefore || len(c.Removed) != 1) {
		t.Errorf("postgresql.auto.conf after cleanup:\n%q\nwant\n%q", got, autoBefore)
	}
}

func TestStartRefusesLivePostmasterPID(t *testing.T) {
	dir := fakeDataDir(t, "15")
	writeFile(t, filepath.Join(dir, "postmaster.pid"), strconv.Itoa(os.Getpid())+"\n")
	srv := &Server{DataDir: dir, BinDir: "/nonexistent"}
	err := srv.Start(context.Background())
	wantKind(t, err, problem.DataDirInUse, "PID "+strconv.Itoa(os.Getpid()))
	if srv.SocketDir != "" && exists(srv.SocketDir) {
		t.Error("a refused start left a socket directory")
	}
}

func TestStartRefusesRootOwnedDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own a data directory as root")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "PG_VERSION"), "15\n")
	srv := &Server{DataDir: dir, BinDir: "/nonexistent"}
	err := srv.Start(context.Background())
	wantKind(t, err, problem.Config, "refuses to run as root", "chown -R postgres:postgres")
}

func TestServerRefusesBadInput(t *testing.T) {
	dir := fakeDataDir(t, "15")
	long := "/tmp/" + strings.Repeat("x", 100)
	for _, srv := range []*Server{
		{DataDir: dir, BinDir: "/x", Port: 5432, SocketDir: long},
		{DataDir: dir, BinDir: "/x", Port: 5432, SocketDir: "/tmp/a,b"},
		{DataDir: dir, BinDir: "/x", Port: 5432, SocketDir: "relative/dir"},
		{DataDir: dir, BinDir: "/x", LogFile: "/tmp/$HOME.log"},
	} {
		wantKind(t, srv.Start(context.Background()), problem.Usage)
	}
	srv := &Server{DataDir: dir, BinDir: "/x"}
	wantKind(t, srv.Stop(context.Background(), "gently"), problem.Usage, "smart, fast or immediate")
	_, err := srv.Psql(context.Background(), "postgres", "SELECT 1")
	wantKind(t, err, problem.Usage, "start it first")
}

// A port held by a live server in a shared socket directory is refused
// before PostgreSQL would fail on it.
func TestStartRefusesPortInUse(t *testing.T) {
	dir := fakeDataDir(t, "15")
	sockets := t.TempDir()
	writeFile(t, filepath.Join(sockets, ".s.PGSQL.5499.lock"), strconv.Itoa(os.Getpid())+"\n")
	srv := &Server{DataDir: dir, BinDir: "/x", Port: 5499, SocketDir: sockets, LogFile: filepath.Join(t.TempDir(), "log")}
	wantKind(t, srv.Start(context.Background()), problem.Usage, "port 5499 is in use", "PID "+strconv.Itoa(os.Getpid()))
}

func TestStartWithoutPgCtlcluster(t *testing.T) {
	dir := fakeDataDir(t, "15")
	c := fakeDebianCluster(t, "15", "restore", "data_directory = '"+dir+"'\n")
	t.Setenv("PATH", t.TempDir())
	srv := &Server{DataDir: dir, BinDir: "/x", Cluster: &c}
	wantKind(t, srv.Start(context.Background()), problem.Config, "pg_ctlcluster is not installed", "postgresql-common")
}

// pg_ctl itself failing: run as a user who may not read the data directory,
// the real pg_ctl cannot open postmaster.pid. The error carries its words.
func TestStartReportsPgCtlFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run pg_ctl as another user")
	}
	v := installedVersion(t)
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	nobody, err := lookupOwner("test", uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	dir := fakeDataDir(t, v.String())
	srv := &Server{DataDir: dir, Owner: nobody, LogFile: filepath.Join(sharedDir(t, nobody), "server.log")}
	t.Cleanup(func() { srv.Stop(context.Background(), "fast") })
	err = srv.Start(context.Background())
	wantKind(t, err, problem.Unknown, "PostgreSQL did not start", "postmaster.pid", "tail -c +1 -F "+srv.LogFile)
}

func TestFindBinaries(t *testing.T) {
	v := installedVersion(t)
	dir, err := FindBinaries(v)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := binDirVersion(dir); err != nil || got != v {
		t.Errorf("%s holds %v (%v), want %s", dir, got, err, v)
	}
	missing := Version{9, 3}
	if _, err := binDirVersion(BinDirs(missing)[0]); err == nil {
		t.Skip("PostgreSQL 9.3 is installed here")
	}
	_, err = FindBinaries(missing)
	wantKind(t, err, problem.Config, "apt-get install postgresql-9.3", "postgresql93-server")
}

func TestChoosePortSkipsUsedPorts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(firstDefaultPort)+".lock"), "1\n")
	port, err := choosePort(dir)
	if err != nil {
		t.Fatal(err)
	}
	if port == firstDefaultPort || portInUse(dir, port) || !tcpFree(port) {
		t.Errorf("chose port %d", port)
	}
}
