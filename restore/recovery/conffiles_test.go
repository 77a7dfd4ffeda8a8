package recovery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgrescue/problem"
	"pgrescue/shellcmd"
)

func TestEnsureConfigFilesWritesOnlyMissingOnes(t *testing.T) {
	dir := fakeDataDir(t, "15")
	owner := dbUser(t)
	mine := "# production settings\nshared_buffers = '8GB'\n"
	writeFile(t, filepath.Join(dir, "postgresql.conf"), mine)

	written, err := EnsureConfigFiles(dir, owner)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "pg_hba.conf"), filepath.Join(dir, "pg_ident.conf")}
	if strings.Join(written, " ") != strings.Join(want, " ") {
		t.Errorf("written %v, want %v", written, want)
	}
	if readFile(t, filepath.Join(dir, "postgresql.conf")) != mine {
		t.Error("an existing postgresql.conf was overwritten")
	}
	hba := readFile(t, filepath.Join(dir, "pg_hba.conf"))
	if !strings.Contains(hba, "local   all       "+owner.Name+"  peer\n") || strings.Contains(hba, "host") {
		t.Errorf("pg_hba.conf must allow only local peer connections by %s:\n%s", owner.Name, hba)
	}
	checkPrivateAndOwned(t, dir, written)

	again, err := EnsureConfigFiles(dir, owner)
	if err != nil || len(again) != 0 {
		t.Errorf("second run wrote %v (%v)", again, err)
	}
}

func TestEnsureConfigFilesMinimalPostgresqlConf(t *testing.T) {
	dir := fakeDataDir(t, "15")
	written, err := EnsureConfigFiles(dir, dbUser(t))
	if err != nil || len(written) != 3 {
		t.Fatalf("written %v: %v", written, err)
	}
	conf := readFile(t, filepath.Join(dir, "postgresql.conf"))
	if !strings.HasPrefix(conf, "# Written by pgrescue") {
		t.Errorf("postgresql.conf does not say who wrote it:\n%s", conf)
	}
	if v, _ := lastConfValue(parseConf([]byte(conf)), "listen_addresses"); v != "" || !strings.Contains(conf, "listen_addresses = ''") {
		t.Errorf("listen_addresses not empty:\n%s", conf)
	}
	if entries := parseConf([]byte(readFile(t, filepath.Join(dir, "pg_ident.conf")))); len(entries) != 0 {
		t.Errorf("pg_ident.conf maps users: %v", entries)
	}
}

func TestEnsureConfigFilesZeroOwnerMeansTheDataDirectorys(t *testing.T) {
	dir := fakeDataDir(t, "15")
	written, err := EnsureConfigFiles(dir, Owner{})
	if err != nil || len(written) != 3 {
		t.Fatalf("written %v: %v", written, err)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, "pg_hba.conf")), "local   all       "+dbUser(t).Name+"  peer") {
		t.Error("pg_hba.conf is not for the data directory's owner")
	}
	checkPrivateAndOwned(t, dir, written)
}

func TestEnsureConfigFilesLeavesDebianClustersAlone(t *testing.T) {
	dir := fakeDataDir(t, "15")
	fakeDebianCluster(t, "15", "restore", "data_directory = '"+dir+"'\n")
	written, err := EnsureConfigFiles(dir, dbUser(t))
	if err != nil || len(written) != 0 {
		t.Errorf("wrote %v into a Debian cluster's data directory (%v)", written, err)
	}
}

func TestEnsureConfigFilesRefusesLiveServer(t *testing.T) {
	dir := fakeDataDir(t, "15")
	writeFile(t, filepath.Join(dir, "postmaster.pid"), itoa(os.Getpid())+"\n")
	_, err := EnsureConfigFiles(dir, dbUser(t))
	wantKind(t, err, problem.DataDirInUse, "PID")
}

func TestHBAName(t *testing.T) {
	for in, want := range map[string]string{"postgres": "postgres", "pg_user2": "pg_user2", "Admin": `"Admin"`, `we"ird`: `"we""ird"`, "all": `"all"`} {
		if got := hbaName(in); got != want {
			t.Errorf("hbaName(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDescribeConfigFiles(t *testing.T) {
	golden(t, "describe-config-files.sh", shellcmd.Script(DescribeConfigFiles("postgres")))
}
