package rdssim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds/schemas"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/traits"
)

// The SDK matches element names without regard to case and skips those it
// does not know, so a misspelt element would parse as a missing field.
// These tests hold every element of every answer to the exact names of
// the SDK's schemas, and every value to its type.

var outputSchemas = map[string]*smithy.Schema{
	"DescribeDBInstances":                schemas.DBInstanceMessage,
	"DescribeDBInstanceAutomatedBackups": schemas.DBInstanceAutomatedBackupMessage,
	"DescribeDBSnapshots":                schemas.DBSnapshotMessage,
	"DescribeEvents":                     schemas.EventsMessage,
	"ListTagsForResource":                schemas.TagListMessage,
	"RestoreDBInstanceToPointInTime":     schemas.RestoreDBInstanceToPointInTimeResult,
	"RestoreDBInstanceFromDBSnapshot":    schemas.RestoreDBInstanceFromDBSnapshotResult,
	"ModifyDBInstance":                   schemas.ModifyDBInstanceResult,
}

// post sends a form straight to the handler and returns the answer.
func post(sim *Sim, form url.Values) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func form(action string, kv ...string) url.Values {
	f := url.Values{"Action": {action}, "Version": {"2014-10-31"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestEveryAnswerMatchesTheSDKSchemas(t *testing.T) {
	clock := NewManualClock(start)
	sim := New(Options{Clock: clock.Now})
	if err := sim.AddInstance(production()); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddSnapshot(Snapshot{ID: "snap", InstanceID: "govuk-content-store", Tags: []Tag{{"k", "v"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddRetainedBackup(RetainedBackup{InstanceID: "gone", KmsKeyID: "key", Encrypted: true}); err != nil {
		t.Fatal(err)
	}
	requests := []url.Values{
		form("DescribeDBInstances"),
		form("DescribeDBInstanceAutomatedBackups"),
		form("DescribeDBSnapshots"),
		form("ListTagsForResource", "ResourceName", "arn:aws:rds:eu-west-1:123456789012:db:govuk-content-store"),
		form("RestoreDBInstanceToPointInTime", "SourceDBInstanceIdentifier", "govuk-content-store",
			"TargetDBInstanceIdentifier", "pitr", "UseLatestRestorableTime", "true", "Tags.Tag.1.Key", "a", "Tags.Tag.1.Value", "b"),
		form("RestoreDBInstanceFromDBSnapshot", "DBSnapshotIdentifier", "snap", "DBInstanceIdentifier", "from-snap"),
		form("ModifyDBInstance", "DBInstanceIdentifier", "govuk-content-store", "NewDBInstanceIdentifier", "renamed",
			"ApplyImmediately", "true"),
	}
	for _, f := range requests {
		status, body := post(sim, f)
		if status != http.StatusOK {
			t.Fatalf("%s: HTTP %d: %s", f.Get("Action"), status, body)
		}
		checkAnswer(t, f.Get("Action"), body)
	}
	clock.Advance(time.Minute) // the restores have finished, with events
	for _, action := range []string{"DescribeDBInstances", "DescribeDBInstanceAutomatedBackups", "DescribeEvents"} {
		_, body := post(sim, form(action))
		checkAnswer(t, action, body)
	}
}

func checkAnswer(t *testing.T, action string, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	root, err := nextStart(dec)
	if err != nil || root.Name.Local != action+"Response" || root.Name.Space != xmlns {
		t.Fatalf("%s: root %v (%v) in %s", action, root.Name, err, body)
	}
	var sawResult, sawRequestID bool
	for {
		el, err := nextStart(dec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		switch el.Name.Local {
		case action + "Result":
			sawResult = true
			for _, problem := range walk(dec, outputSchemas[action], action+"Result") {
				t.Errorf("%s: %s", action, problem)
			}
		case "ResponseMetadata":
			var md struct{ RequestId string }
			if err := dec.DecodeElement(&md, &el); err != nil || md.RequestId == "" {
				t.Errorf("%s: ResponseMetadata without RequestId (%v)", action, err)
			}
			sawRequestID = true
		default:
			t.Errorf("%s: unexpected element %s", action, el.Name.Local)
			_ = dec.Skip()
		}
	}
	if !sawResult || !sawRequestID {
		t.Errorf("%s: result %v, request id %v in %s", action, sawResult, sawRequestID, body)
	}
}

// nextStart reads up to the next start element, or io.EOF at the end of
// the enclosing element or document.
func nextStart(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return tok, nil
		case xml.EndElement:
			return xml.StartElement{}, io.EOF
		}
	}
}

// walk reads the children of the element just opened, described by
// schema, and returns what does not match it.
func walk(dec *xml.Decoder, schema *smithy.Schema, path string) []string {
	var problems []string
	for {
		el, err := nextStart(dec)
		if err == io.EOF {
			return problems
		}
		if err != nil {
			return append(problems, path+": "+err.Error())
		}
		child, ok := childSchema(schema, el.Name.Local)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: <%s> is not in the SDK's schema %s", path, el.Name.Local, shapeName(schema)))
			_ = dec.Skip()
			continue
		}
		problems = append(problems, read(dec, child, path+"/"+el.Name.Local)...)
	}
}

func read(dec *xml.Decoder, schema *smithy.Schema, path string) []string {
	switch schema.Type() {
	case smithy.ShapeTypeStructure, smithy.ShapeTypeList:
		return walk(dec, schema, path)
	}
	text, err := readText(dec)
	if err != nil {
		return []string{path + ": " + err.Error()}
	}
	if err := checkScalar(schema.Type(), text); err != nil {
		return []string{fmt.Sprintf("%s: %q: %v", path, text, err)}
	}
	return nil
}

// readText reads the text of the element just opened, up to its end.
func readText(dec *xml.Decoder) (string, error) {
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch tok := tok.(type) {
		case xml.CharData:
			text.Write(tok)
		case xml.StartElement:
			return "", fmt.Errorf("<%s> inside a value", tok.Name.Local)
		case xml.EndElement:
			return text.String(), nil
		}
	}
}

// childSchema finds the schema of a child element by its exact name: a
// structure's member, or a list's item.
func childSchema(parent *smithy.Schema, name string) (*smithy.Schema, bool) {
	if parent.Type() == smithy.ShapeTypeList {
		item := parent.ListMember()
		return item, item != nil && elementName(item) == name
	}
	for _, m := range parent.Members() {
		if elementName(m) == name {
			return m, true
		}
	}
	return nil, false
}

func shapeName(s *smithy.Schema) string {
	if s.MemberName() != "" {
		return s.TargetID().Name
	}
	return s.ID().Name
}

func elementName(member *smithy.Schema) string {
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](member); ok {
		return t.Name
	}
	return member.MemberName()
}

func checkScalar(kind smithy.ShapeType, text string) error {
	var err error
	switch kind {
	case smithy.ShapeTypeTimestamp:
		_, err = time.Parse(time.RFC3339Nano, text)
	case smithy.ShapeTypeInteger, smithy.ShapeTypeIntEnum:
		_, err = strconv.ParseInt(text, 10, 32)
	case smithy.ShapeTypeLong:
		_, err = strconv.ParseInt(text, 10, 64)
	case smithy.ShapeTypeBoolean:
		if text != "true" && text != "false" {
			err = fmt.Errorf("not a boolean")
		}
	}
	return err
}

func TestErrorAnswerShape(t *testing.T) {
	sim := New(Options{})
	status, body := post(sim, form("DescribeDBInstances", "DBInstanceIdentifier", "missing"))
	if status != http.StatusNotFound {
		t.Errorf("HTTP %d, want 404", status)
	}
	var e struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Error     struct{ Type, Code, Message string }
		RequestId string
	}
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.XMLName.Space != xmlns || e.Error.Type != "Sender" || e.Error.Code != "DBInstanceNotFound" ||
		e.Error.Message != "DBInstance missing not found." || e.RequestId == "" {
		t.Errorf("error answer %+v from %s", e, body)
	}
}
