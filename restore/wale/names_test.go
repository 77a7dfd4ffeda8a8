package wale

import (
	"reflect"
	"testing"
)

func seg(t *testing.T, name string) Segment {
	t.Helper()
	s, err := ParseSegment(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSegmentArithmeticCarriesIntoTheNextLog(t *testing.T) {
	s := seg(t, "0000000100000000000000FF")
	if got := s.Next(DefaultSegmentSize).String(); got != "000000010000000100000000" {
		t.Fatalf("next of ...FF = %s", got)
	}
	// 64 MiB segments: 64 per log.
	s = seg(t, "00000001000000000000003F")
	if got := s.Next(64 << 20).String(); got != "000000010000000100000000" {
		t.Fatalf("next with 64 MiB segments = %s", got)
	}
	if _, err := ParseSegment("00000001000000000000001"); err == nil {
		t.Fatal("23 digits accepted")
	}
	if _, err := ParseSegment("0000000100000000000000fe"); err == nil {
		t.Fatal("lower case accepted (WAL-E and PostgreSQL write upper case)")
	}
}

func TestClassifyWAL(t *testing.T) {
	cases := map[string]WALKind{
		"000000010000000000000012":                 WALSegment,
		"000000010000000000000002.00000028.backup": WALBackup,
		"00000002.history":                         WALHistory,
		"00000001000000000000001A.partial":         WALPartial,
		"000000010000000000000012.lzo":             "",
		"RECOVERYXLOG":                             "",
		"../000000010000000000000012":              "",
	}
	for name, want := range cases {
		kind, _, ok := ClassifyWAL(name)
		if kind != want || ok != (want != "") {
			t.Errorf("%s: got %q %v, want %q", name, kind, ok, want)
		}
	}
}

func TestBackupNames(t *testing.T) {
	b, ok := ParseBackupName("base_000000010000000000000012_00000012")
	if !ok || b.Start.String() != "000000010000000000000012" || b.Offset != "00000012" {
		t.Fatalf("%+v %v", b, ok)
	}
	l := Layout{Prefix: "pg15-primary/"}
	if got := l.sentinelBackupName("pg15-primary/basebackups_005/base_000000010000000000000012_00000012_backup_stop_sentinel.json"); got != b.Name {
		t.Fatalf("sentinel name = %q", got)
	}
	for _, key := range []string{
		"pg15-primary/basebackups_005/base_000000010000000000000012_00000012/extended_version.txt",
		"pg15-primary/basebackups_005/nested/base_000000010000000000000012_00000012_backup_stop_sentinel.json",
		"other/basebackups_005/base_000000010000000000000012_00000012_backup_stop_sentinel.json",
	} {
		if got := l.sentinelBackupName(key); got != "" {
			t.Errorf("%s taken as a sentinel of %s", key, got)
		}
	}
}

func walObjects(t *testing.T, names ...string) []WALObject {
	var out []WALObject
	for _, n := range names {
		kind, s, ok := ClassifyWAL(n)
		if !ok {
			t.Fatalf("bad name %s", n)
		}
		out = append(out, WALObject{Name: n, Kind: kind, Segment: s})
	}
	return out
}

func TestContinuityNamesMissingSegments(t *testing.T) {
	objs := walObjects(t, "000000010000000000000010", "000000010000000000000012", "000000010000000000000013",
		"000000010000000000000015", "000000010000000000000016.00000028.backup", "00000002.history")
	c := CheckContinuity(seg(t, "000000010000000000000012"), objs, DefaultSegmentSize)
	if c.Newest.String() != "000000010000000000000015" || c.Count != 3 {
		t.Fatalf("%+v", c)
	}
	if want := []string{"000000010000000000000014"}; !reflect.DeepEqual(c.Missing, want) {
		t.Fatalf("missing %v, want %v", c.Missing, want)
	}
}

func TestContinuityFollowsANewTimeline(t *testing.T) {
	objs := walObjects(t, "0000000100000000000000FE", "0000000100000000000000FF.partial",
		"000000020000000100000000", "000000020000000100000002")
	c := CheckContinuity(seg(t, "0000000100000000000000FE"), objs, DefaultSegmentSize)
	if c.Newest.String() != "000000020000000100000002" {
		t.Fatalf("newest %s", c.Newest)
	}
	if want := []string{"000000020000000100000001"}; !reflect.DeepEqual(c.Missing, want) {
		t.Fatalf("missing %v, want %v", c.Missing, want)
	}
}

func TestContinuityWithNothingArchivedAfterTheBackup(t *testing.T) {
	c := CheckContinuity(seg(t, "000000010000000000000020"), walObjects(t, "000000010000000000000010"), DefaultSegmentSize)
	if c.HasNewest || c.Complete() || !reflect.DeepEqual(c.Missing, []string{"000000010000000000000020"}) {
		t.Fatalf("%+v", c)
	}
}
