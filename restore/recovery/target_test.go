package recovery

import (
	"testing"
	"time"

	"pgrescue/problem"
)

func TestParseTargetTime(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	utc := func(s string) time.Time {
		tt, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	cases := []struct {
		in      string
		want    time.Time // in UTC
		local   bool
		literal string
	}{
		{"2026-11-25T02:52:52.067732Z", utc("2026-11-25 02:52:52.067732"), false, "2026-11-25 02:52:52.067732+00"},
		{"2026-11-25t02:52:52z", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25T03:52:52+01:00", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 02:52:52.067732+00", utc("2026-11-25 02:52:52.067732"), false, "2026-11-25 02:52:52.067732+00"},
		{"2026-11-25 02:52:52+00", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 03:52:52+0100", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 03:52:52.5+01:00", utc("2026-11-25 02:52:52.5"), false, "2026-11-25 02:52:52.5+00"},
		{"2026-11-24 21:22:52-05:30", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 02:52:52 UTC", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 02:52:52utc", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"2026-11-25 02:52:52Z", utc("2026-11-25 02:52:52"), false, "2026-11-25 02:52:52+00"},
		{"  2026-11-25 02:52:52.100000+00\n", utc("2026-11-25 02:52:52.1"), false, "2026-11-25 02:52:52.1+00"},
		{"2026-11-25 02:52:52.067732000Z", utc("2026-11-25 02:52:52.067732"), false, "2026-11-25 02:52:52.067732+00"},
		// No zone: local time, flagged. London is on GMT in November, BST in July.
		{"2026-11-25 02:52:52", utc("2026-11-25 02:52:52"), true, "2026-11-25 02:52:52+00"},
		{"2026-07-01 12:00:00.25", utc("2026-07-01 11:00:00.25"), true, "2026-07-01 11:00:00.25+00"},
		{"2026-07-01T12:00:00", utc("2026-07-01 11:00:00"), true, "2026-07-01 11:00:00+00"},
	}
	for _, c := range cases {
		got, err := ParseTargetTime(c.in, london)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !got.Time.Equal(c.want) || got.AssumedLocal != c.local {
			t.Errorf("%q: got %v local=%v, want %v local=%v", c.in, got.Time.UTC(), got.AssumedLocal, c.want, c.local)
		}
		if lit := got.PostgresLiteral(); lit != c.literal {
			t.Errorf("%q: literal %q, want %q", c.in, lit, c.literal)
		}
		if c.local && got.Time.Location() != london {
			t.Errorf("%q: read in %v, want the given local zone", c.in, got.Time.Location())
		}
	}
}

// The fixture's PITR points must come back exactly as PostgreSQL wrote
// them, whichever form they were given in.
func TestPostgresLiteralRoundTripsTheFixtureTargets(t *testing.T) {
	points := []struct{ postgres, rfc3339 string }{
		{"2026-11-25 02:52:52.067732+00", "2026-11-25T02:52:52.067732Z"},
		{"2026-11-25 02:52:57.892164+00", "2026-11-25T02:52:57.892164Z"},
		{"2026-11-25 02:53:02.335231+00", "2026-11-25T02:53:02.335231Z"},
		{"2026-11-25 02:53:14.456205+00", "2026-11-25T02:53:14.456205Z"},
		{"2026-11-25 02:53:19.233043+00", "2026-11-25T02:53:19.233043Z"},
	}
	for _, p := range points {
		for _, in := range []string{p.postgres, p.rfc3339} {
			got, err := ParseTargetTime(in, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if lit := got.PostgresLiteral(); lit != p.postgres {
				t.Errorf("%q gave %q, want %q", in, lit, p.postgres)
			}
			again, err := ParseTargetTime(got.PostgresLiteral(), time.UTC)
			if err != nil || !again.Time.Equal(got.Time) {
				t.Errorf("%q does not read back: %v %v", got.PostgresLiteral(), again.Time, err)
			}
		}
	}
}

func TestParseTargetTimeRejects(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	for _, in := range []string{
		"",
		"   ",
		"yesterday",
		"2026-11-25",                     // a date alone is too vague to restore to
		"25/11/2026 02:52:52",            //
		"2026-11-25 02:52",               // seconds are required
		"2026-13-01 00:00:00+00",         // month 13
		"2026-02-30 00:00:00+00",         // 30 February
		"2026-11-25 24:00:00+00",         //
		"2026-11-25 02:60:00+00",         //
		"2026-11-25 02:52:52.0677321+00", // finer than microseconds
		"2026-11-25 02:52:52+16",         // offset out of range
		"2026-11-25 02:52:52+01:75",      //
		"2026-11-25 02:52:52 CET",        // zone abbreviations are ambiguous
		"2026-11-25 02:52:52 Europe/London",
		"2026-11-25 02:52:52.+00",
		"2026-03-29 01:30:00", // skipped by the clock change in London
	} {
		_, err := ParseTargetTime(in, london)
		wantKind(t, err, problem.Usage, "recovery target time", "accepted forms")
	}
}

// TestATimeOfDayIsToday: at incident time an engineer types "14:05": it is
// today's date in the zone given (or local), flagged so the timestamp it
// became is shown. It used to be refused with the same error each time.
func TestATimeOfDayIsToday(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	now := time.Date(2026, 7, 4, 23, 30, 0, 0, time.UTC) // already 5 July in London
	for in, want := range map[string]string{
		"14:05":            "2026-07-05T14:05:00+01:00",
		"14:05:30":         "2026-07-05T14:05:30+01:00",
		"14:05:30.25 UTC":  "2026-07-04T14:05:30.25Z",
		"14:05:30+00":      "2026-07-04T14:05:30Z",
		"23:59:59.999999Z": "2026-07-04T23:59:59.999999Z",
	} {
		got, err := ParseTargetTimeOn(in, london, now)
		if err != nil || got.Time.Format(time.RFC3339Nano) != want || !got.DateAssumed {
			t.Errorf("%q: %v %+v, want %s", in, err, got, want)
		}
	}
	if _, err := ParseTargetTimeOn("25:00", london, now); err == nil {
		t.Error("25:00 was accepted")
	}
	full, _ := ParseTargetTimeOn("2026-07-01 10:00:00+00", london, now)
	if full.DateAssumed {
		t.Error("a full timestamp is flagged as dateless")
	}
	moved := full.OnDateOf(time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC))
	if moved.Time.Format(time.RFC3339) != "2026-06-30T10:00:00Z" {
		t.Errorf("OnDateOf: %s", moved.Time)
	}
}

func TestTargetZeroIsEndOfArchive(t *testing.T) {
	var z Target
	if !z.IsEndOfArchive() || z.PostgresLiteral() != "" || z.String() != "the end of the archive" {
		t.Errorf("zero target: %q %q", z.PostgresLiteral(), z.String())
	}
	tgt, err := ParseTargetTime("2026-11-25 02:52:52", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if tgt.String() != "2026-11-25 02:52:52+00 (read as local time in UTC)" {
		t.Errorf("assumed-local target described as %q", tgt.String())
	}
}
