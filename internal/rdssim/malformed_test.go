package rdssim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seededSim is an account with one instance of each kind, for requests
// that reach the actions.
func seededSim(t testing.TB) *Sim {
	clock := NewManualClock(start)
	sim := New(Options{Clock: clock.Now})
	if err := sim.AddInstance(Instance{ID: "db", BackupRetentionPeriod: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddSnapshot(Snapshot{ID: "snap", InstanceID: "db"}); err != nil {
		t.Fatal(err)
	}
	return sim
}

const restoreDB = "Action=RestoreDBInstanceToPointInTime&Version=2014-10-31&TargetDBInstanceIdentifier=x&SourceDBInstanceIdentifier=db"

var malformed = []struct {
	name, body string
	code       string // "" for success
}{
	{"empty body", "", "MissingAction"},
	{"empty action", "Action=", "MissingAction"},
	{"not a form", "%zz", "MalformedQueryString"},
	{"unknown action", "Action=DeleteDBInstance&Version=2014-10-31", "InvalidAction"},
	{"old API version", "Action=DescribeDBInstances&Version=2010-01-01", "NoSuchVersion"},
	{"restore without target", "Action=RestoreDBInstanceToPointInTime", "MissingParameter"},
	{"restore time not a time", restoreDB + "&RestoreTime=yesterday", "InvalidParameterValue"},
	{"boolean not a boolean", restoreDB + "&UseLatestRestorableTime=maybe", "InvalidParameterValue"},
	{"number not a number", restoreDB + "&UseLatestRestorableTime=true&Port=5432x", "InvalidParameterValue"},
	{"number too big", restoreDB + "&UseLatestRestorableTime=true&Port=99999999999999999999", "InvalidParameterValue"},
	{"port out of range", restoreDB + "&UseLatestRestorableTime=true&Port=80", "InvalidParameterValue"},
	{"tag without key", restoreDB + "&UseLatestRestorableTime=true&Tags.Tag.1.Value=v", "InvalidParameterValue"},
	{"tag index not a number", restoreDB + "&UseLatestRestorableTime=true&Tags.Tag.x.Key=k", ""},
	{"negative list index", restoreDB + "&UseLatestRestorableTime=true&VpcSecurityGroupIds.VpcSecurityGroupId.-1=sg-1", ""},
	{"security group not one", restoreDB + "&UseLatestRestorableTime=true&VpcSecurityGroupIds.VpcSecurityGroupId.1=web", "InvalidParameterValue"},
	{"MaxRecords too small", "Action=DescribeDBInstances&MaxRecords=5", "InvalidParameterValue"},
	{"MaxRecords overflowing", "Action=DescribeDBInstances&MaxRecords=99999999999999", "InvalidParameterValue"},
	{"bad marker", "Action=DescribeDBInstances&Marker=-1", "InvalidParameterValue"},
	{"marker past the end", "Action=DescribeEvents&Marker=1000", "InvalidParameterValue"},
	{"unknown filter", "Action=DescribeDBInstances&Filters.Filter.1.Name=nope&Filters.Filter.1.Values.Value.1=x", "InvalidParameterValue"},
	{"filter without values", "Action=DescribeDBInstances&Filters.Filter.1.Name=engine", "InvalidParameterValue"},
	{"filter without name", "Action=DescribeDBInstances&Filters.Filter.1.Values.Value.1=x", "InvalidParameterValue"},
	{"filter index overflowing", "Action=DescribeDBInstances&Filters.Filter.99999999999999999999.Name=x", ""},
	{"negative duration", "Action=DescribeEvents&Duration=-5", "InvalidParameterValue"},
	{"start time not a time", "Action=DescribeEvents&StartTime=noon", "InvalidParameterValue"},
	{"unknown source type", "Action=DescribeEvents&SourceType=db-table", "InvalidParameterValue"},
	{"modify without instance", "Action=ModifyDBInstance", "MissingParameter"},
	{"modify with a bad interval", "Action=ModifyDBInstance&DBInstanceIdentifier=db&MonitoringInterval=abc", "InvalidParameterValue"},
	{"tags without resource", "Action=ListTagsForResource", "MissingParameter"},
	{"tags of another account", "Action=ListTagsForResource&ResourceName=arn:aws:rds:eu-west-1:999999999999:db:db", "InvalidParameterValue"},
	{"tags of a parameter group", "Action=ListTagsForResource&ResourceName=arn:aws:rds:eu-west-1:123456789012:pg:x", "InvalidParameterValue"},
	{"snapshot restore without snapshot", "Action=RestoreDBInstanceFromDBSnapshot&DBInstanceIdentifier=x", "MissingParameter"},
	{"unknown snapshot type", "Action=DescribeDBSnapshots&SnapshotType=weird", "InvalidParameterValue"},
	{"control characters", "Action=DescribeDBInstances&DBInstanceIdentifier=%00%ff%fe%1b[31m", "DBInstanceNotFound"},
	{"markup in a value", "Action=DescribeDBInstances&DBInstanceIdentifier=%3C%2FError%3E%3Cx%3E", "DBInstanceNotFound"},
	{"huge identifier", "Action=DescribeDBInstances&DBInstanceIdentifier=" + strings.Repeat("a", 100000), "DBInstanceNotFound"},
	{"repeated parameter", "Action=DescribeDBInstances&Action=DeleteDBInstance", ""},
	{"body too large", "Action=DescribeDBInstances&Padding=" + strings.Repeat("a", maxBodyBytes), "MalformedQueryString"},
}

func TestMalformedRequestsGetAWSErrors(t *testing.T) {
	for _, c := range malformed {
		status, body := postRaw(seededSim(t), c.body)
		code := checkWellFormed(t, c.name, status, body)
		if code != c.code {
			t.Errorf("%s: answered %q (HTTP %d), want %q: %.300s", c.name, code, status, c.code, body)
		}
		if c.code == "MissingParameter" && !strings.Contains(string(body), "must contain the parameter") {
			t.Errorf("%s: the message does not name the parameter: %s", c.name, body)
		}
	}
}

func TestMalformedRequestsOverHTTP(t *testing.T) {
	sim := seededSim(t)
	url, stop, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Post(url, "text/plain", strings.NewReader("Action=DescribeDBInstances"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body that is not a form: HTTP %d, want 400 MissingAction", resp.StatusCode)
	}
	resp, err = http.Get(url + "/?Action=DescribeDBInstances&Version=2014-10-31")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("GET with a query string: HTTP %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	stop()
	stop() // stopping twice is harmless
}

func postRaw(sim *Sim, body string) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// checkWellFormed checks an answer is AWS-shaped XML with a status that
// agrees with it, and returns its error code ("" for success).
func checkWellFormed(t testing.TB, name string, status int, body []byte) string {
	t.Helper()
	var root struct {
		XMLName xml.Name
		Error   struct{ Code, Message string }
	}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&root); err != nil {
		t.Fatalf("%s: the answer is not XML (%v): %.300s", name, err, body)
	}
	switch {
	case status >= 500:
		t.Fatalf("%s: HTTP %d: %s", name, status, body)
	case status == http.StatusOK && strings.HasSuffix(root.XMLName.Local, "Response") && root.XMLName.Local != "ErrorResponse":
		return ""
	case status != http.StatusOK && root.XMLName.Local == "ErrorResponse" && root.Error.Code != "" && root.Error.Message != "":
		if want := statusFor(root.Error.Code); status != want {
			t.Errorf("%s: %s with HTTP %d, want %d", name, root.Error.Code, status, want)
		}
		return root.Error.Code
	}
	t.Fatalf("%s: HTTP %d with %.300s", name, status, body)
	return ""
}

// FuzzServeHTTP holds that no body makes the simulator fail or answer
// anything but AWS-shaped XML. `go test` runs the seeds; `go test -fuzz
// FuzzServeHTTP ./internal/rdssim` explores.
func FuzzServeHTTP(f *testing.F) {
	for _, c := range malformed {
		if len(c.body) < 10000 {
			f.Add(c.body)
		}
	}
	for _, seed := range []string{
		restoreDB + "&UseLatestRestorableTime=true&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v",
		"Action=RestoreDBInstanceToPointInTime&TargetDBInstanceIdentifier=y&SourceDbiResourceId=db-X&RestoreTime=2024-05-01T11:00:00Z",
		"Action=RestoreDBInstanceFromDBSnapshot&DBInstanceIdentifier=y&DBSnapshotIdentifier=snap&StorageType=io1",
		"Action=ModifyDBInstance&DBInstanceIdentifier=db&NewDBInstanceIdentifier=db2&ApplyImmediately=true",
		"Action=ModifyDBInstance&DBInstanceIdentifier=db&EnablePerformanceInsights=true&PerformanceInsightsRetentionPeriod=62",
		"Action=DescribeDBInstanceAutomatedBackups&Filters.Filter.1.Name=status&Filters.Filter.1.Values.Value.1=active",
		"Action=DescribeEvents&SourceType=db-instance&SourceIdentifier=db&StartTime=2024-05-01T00:00Z&EventCategories.EventCategory.1=backup",
		"Action=DescribeDBSnapshots&DBSnapshotIdentifier=arn:aws:rds:eu-west-1:123456789012:snapshot:snap",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		sim := seededSim(t)
		status, answer := postRaw(sim, body)
		checkWellFormed(t, "fuzzed body", status, answer)
		// A second request sees whatever the first did, settled later.
		sim.clock = func() time.Time { return start.Add(time.Hour) }
		status, answer = postRaw(sim, "Action=DescribeDBInstances")
		checkWellFormed(t, "describe after the fuzzed body", status, answer)
	})
}
