package rds_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"pgrescue/internal/mototest"
	"pgrescue/problem"
	"pgrescue/restore/rds"
)

const region = "eu-west-1"

var static = mototest.Credentials

// motoSource is an instance made in moto with every setting a restore must
// copy set away from AWS's defaults, and a manual snapshot of it.
type motoSource struct {
	srv    *mototest.Server
	sdk    *sdk.Client
	engine *rds.Client
}

func startMoto(t *testing.T) *motoSource {
	srv := mototest.Start(t)
	srv.MakeSource(t, region)
	ctx := context.Background()
	c := sdk.New(sdk.Options{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: static})
	engine, err := rds.Connect(ctx, rds.Options{Region: region, Endpoint: srv.URL, Credentials: static,
		Wait: rds.WaitOptions{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Limit: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return &motoSource{srv: srv, sdk: c, engine: engine}
}

// sameSettings compares every setting a restore copies.
func sameSettings(t *testing.T, src, got *rds.Instance) {
	t.Helper()
	type pair struct {
		name      string
		want, got any
	}
	for _, p := range []pair{
		{"subnet group", src.SubnetGroup, got.SubnetGroup},
		{"security groups", src.SecurityGroups, got.SecurityGroups},
		{"parameter groups", src.ParameterGroups, got.ParameterGroups},
		{"option groups", src.OptionGroups, got.OptionGroups},
		{"class", src.Class, got.Class},
		{"storage type", src.StorageType, got.StorageType},
		{"iops", src.Iops, got.Iops},
		{"multi-az", src.MultiAZ, got.MultiAZ},
		{"port", src.Port, got.Port},
		{"publicly accessible", src.PubliclyAccessible, got.PubliclyAccessible},
		{"deletion protection", src.DeletionProtection, got.DeletionProtection},
		{"copy tags", src.CopyTagsToSnapshot, got.CopyTagsToSnapshot},
		{"iam auth", src.IAMAuth, got.IAMAuth},
		{"backup retention", src.BackupRetentionDays, got.BackupRetentionDays},
		{"storage autoscaling limit", src.MaxAllocatedGiB, got.MaxAllocatedGiB},
		{"monitoring interval", src.MonitoringInterval, got.MonitoringInterval},
		{"monitoring role", src.MonitoringRole, got.MonitoringRole},
		{"performance insights", src.PerformanceInsights, got.PerformanceInsights},
	} {
		if !equal(p.want, p.got) {
			t.Errorf("%s: source %v, restored %v", p.name, p.want, p.got)
		}
	}
	for _, tag := range src.Tags {
		if !slices.Contains(got.Tags, tag) {
			t.Errorf("tag %s=%s not copied: %v", tag.Key, tag.Value, got.Tags)
		}
	}
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestMotoRestoresCopyEverySetting(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	src, err := m.engine.Describe(ctx, "local-links-manager-postgres")
	if err != nil {
		t.Fatal(err)
	}
	// moto, unlike AWS, copies most settings by itself and keeps no
	// monitoring or Performance Insights: what pgrescue sends is checked
	// against the simulator (rds_sim_test.go), which applies AWS's defaults.
	for _, tc := range []struct {
		name string
		req  rds.Request
	}{
		{"latest", rds.Request{Source: src.ID, Latest: true, Target: "llm-latest"}},
		{"point in time", rds.Request{Source: src.ID, TargetTime: src.LatestRestorable, Target: "llm-pitr"}},
		{"snapshot", rds.Request{Snapshot: "before-the-migration", Target: "llm-snapshot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = time.Now()
			plan, err := m.engine.Prepare(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var events []rds.Event
			got, err := plan.Finish(ctx, m.engine.WaitOptions(), func(e rds.Event) { events = append(events, e) })
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != "available" || got.Endpoint == "" {
				t.Fatalf("restored: %+v", got)
			}
			sameSettings(t, src, got)
			if !slices.ContainsFunc(got.Tags, func(tg rds.Tag) bool { return tg.Key == "pgrescue:restored-from" }) {
				t.Errorf("no pgrescue:restored-from tag: %v", got.Tags)
			}
			if !slices.ContainsFunc(events, func(e rds.Event) bool { return e.Kind == rds.StatusChanged && e.Status == "available" }) {
				t.Errorf("no status event for available: %v", events)
			}
		})
	}
}

func TestMotoStatus(t *testing.T) {
	m := startMoto(t)
	st, err := m.engine.Status(context.Background(), "local-links-manager-postgres", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := st.Instance
	if in == nil || in.Engine != "postgres" || in.Class != "db.m5.large" || !in.MultiAZ || !in.Encrypted || in.Port != 5433 {
		t.Fatalf("instance: %+v", in)
	}
	if st.Window == nil || st.Window.Latest.IsZero() || !st.Window.Earliest.Before(st.Window.Latest.Add(time.Second)) || st.Window.RetentionDays != 7 {
		t.Fatalf("window: %+v", st.Window)
	}
	var kinds []string
	for _, s := range st.Snapshots {
		kinds = append(kinds, s.Type+":"+s.ID)
	}
	if !slices.Contains(kinds, "manual:before-the-migration") || !slices.ContainsFunc(kinds, func(k string) bool { return strings.HasPrefix(k, "automated:rds:") }) {
		t.Fatalf("snapshots: %v", kinds)
	}
	found, err := m.engine.FindByApp(context.Background(), "local-links-manager")
	if err != nil || len(found) != 1 || found[0].ID != "local-links-manager-postgres" {
		t.Fatalf("FindByApp: %v %v", found, err)
	}
}

func TestMotoRefusesBeforeAnyCall(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	now := time.Now()
	for _, tc := range []struct {
		name string
		req  rds.Request
		kind problem.Kind
	}{
		{"before the window", rds.Request{Source: "local-links-manager-postgres", TargetTime: now.Add(-30 * 24 * time.Hour)}, problem.OutsideWindow},
		{"in the future", rds.Request{Source: "local-links-manager-postgres", TargetTime: now.Add(time.Hour)}, problem.OutsideWindow},
		{"name taken", rds.Request{Source: "local-links-manager-postgres", Latest: true, Target: "local-links-manager-postgres"}, problem.NameTaken},
		{"bad name", rds.Request{Source: "local-links-manager-postgres", Latest: true, Target: "restored--db"}, problem.Usage},
		{"unknown instance", rds.Request{Source: "no-such-db", Latest: true}, problem.RDSNotFound},
		{"unknown snapshot", rds.Request{Snapshot: "no-such-snapshot"}, problem.RDSNotFound},
		{"two targets", rds.Request{Source: "local-links-manager-postgres", Latest: true, Snapshot: "before-the-migration"}, problem.Usage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = now
			_, err := m.engine.Prepare(ctx, tc.req)
			if problem.KindOf(err) != tc.kind {
				t.Fatalf("got %v (%v), want %v", problem.KindOf(err), err, tc.kind)
			}
		})
	}
	out, err := m.sdk.DescribeDBInstances(ctx, &sdk.DescribeDBInstancesInput{})
	if err != nil || len(out.DBInstances) != 1 {
		t.Fatalf("a refused plan made an instance: %d, %v", len(out.DBInstances), err)
	}
}

func TestMotoCutOverByRename(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	plan, err := m.engine.Prepare(ctx, rds.Request{Source: "local-links-manager-postgres", Latest: true, Target: "llm-restored", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Finish(ctx, m.engine.WaitOptions(), nil); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	co, err := m.engine.PrepareCutOver(ctx, rds.CutOverRequest{Old: "local-links-manager-postgres", New: "llm-restored", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if co.BeforeName != "local-links-manager-postgres-before-202612040930" {
		t.Fatalf("before name %q", co.BeforeName)
	}
	if err := co.Run(ctx, m.engine.WaitOptions(), nil); err != nil {
		t.Fatal(err)
	}
	live, err := m.engine.Describe(ctx, "local-links-manager-postgres")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(live.Tags, func(tg rds.Tag) bool { return tg.Key == "pgrescue:restored-from" }) {
		t.Fatalf("the old name is not the restored instance: %v", live.Tags)
	}
	if _, err := m.engine.Describe(ctx, co.BeforeName); err != nil {
		t.Fatalf("the old instance is not kept as %s: %v", co.BeforeName, err)
	}
	if _, err := m.engine.Describe(ctx, "llm-restored"); !problem.Is(err, problem.RDSNotFound) {
		t.Fatalf("llm-restored still answers: %v", err)
	}
	closing := strings.Join(co.Closing(), "\n")
	if !strings.Contains(closing, "--final-db-snapshot-identifier "+co.BeforeName+"-final") {
		t.Fatalf("closing text: %s", closing)
	}
}

func TestMotoCutOverByCNAME(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	r53 := route53.New(route53.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.srv.URL), Credentials: static})
	if _, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("blue.govuk-internal.digital"), CallerReference: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	plan, err := m.engine.Prepare(ctx, rds.Request{Snapshot: "before-the-migration", Target: "llm-restored", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	plan.Start(ctx)
	restored, err := plan.Finish(ctx, m.engine.WaitOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	co, err := m.engine.PrepareCutOver(ctx, rds.CutOverRequest{Old: "local-links-manager-postgres", New: "llm-restored",
		CNAME: "local-links-manager-postgres.blue.govuk-internal.digital", Zone: "blue.govuk-internal.digital"})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Run(ctx, m.engine.WaitOptions(), nil); err != nil {
		t.Fatal(err)
	}
	zoneID := co.ZoneID
	records, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range records.ResourceRecordSets {
		if aws.ToString(r.Name) == "local-links-manager-postgres.blue.govuk-internal.digital." && r.Type == "CNAME" {
			found = aws.ToInt64(r.TTL) == 300 && aws.ToString(r.ResourceRecords[0].Value) == restored.Endpoint
		}
	}
	if !found {
		t.Fatalf("no CNAME to %s: %+v", restored.Endpoint, records.ResourceRecordSets)
	}
	if _, err := m.engine.PrepareCutOver(ctx, rds.CutOverRequest{Old: "local-links-manager-postgres", New: "llm-restored",
		CNAME: "db.elsewhere.example", Zone: "blue.govuk-internal.digital"}); !problem.Is(err, problem.Usage) {
		t.Fatalf("a record outside the zone: %v", err)
	}
}
