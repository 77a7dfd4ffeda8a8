package recovery

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pgrescue/problem"
)

// Target is where recovery stops. The zero Target means the end of the
// archive: replay everything there is.
type Target struct {
	Time time.Time
	// AssumedLocal is set when the text named no time zone and was read as
	// local time; callers must say so, since a wrong zone silently moves the
	// target by hours.
	AssumedLocal bool
	// DateAssumed is set when the text was a time of day only: the date is
	// today's, and callers show the timestamp it became (the wizard moves
	// it to the archive's last day when today is outside the archive).
	DateAssumed bool
}

// OnDateOf is the target at the same clock time on day's date (in the
// target's own zone).
func (t Target) OnDateOf(day time.Time) Target {
	d := day.In(t.Time.Location())
	t.Time = time.Date(d.Year(), d.Month(), d.Day(), t.Time.Hour(), t.Time.Minute(), t.Time.Second(), t.Time.Nanosecond(), t.Time.Location())
	return t
}

// acceptedTargetForms is shown in every parse error.
const acceptedTargetForms = `accepted forms: "2026-11-25 02:52:52+00", "2026-11-25 02:52:52.067732+01:00", ` +
	`"2026-11-25 02:52:52 UTC", "2026-11-25T02:52:52.067732Z" (RFC 3339), or a time of day such as "02:52:52" (today); ` +
	`zones: Z, UTC, +HH, +HHMM, +HH:MM; without a zone the time is read as local time`

// clockPattern is a time of day with no date: "14:05", "14:05:30.25+01".
var clockPattern = regexp.MustCompile(`^(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,9}))? ?(?i:(Z|UTC|[+-]\d{2}(?::?\d{2})?))?$`)

var targetPattern = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ?` +
	`(?i:(Z|UTC|[+-]\d{2}(?::?\d{2})?))?$`)

// ParseTargetTime reads a recovery target time in RFC 3339 or in
// PostgreSQL's own "YYYY-MM-DD HH:MM:SS[.ffffff][zone]" form. A time with no
// zone is read in local (time.Local when nil) and flagged AssumedLocal.
// PostgreSQL keeps microseconds, so finer digits must be zeros.
func ParseTargetTime(s string, local *time.Location) (Target, error) {
	return ParseTargetTimeOn(s, local, time.Now())
}

// ParseTargetTimeOn is ParseTargetTime that also reads a time of day with
// no date ("14:05", "14:05:30+01"), on today's date as now gives it, and
// flags it DateAssumed.
func ParseTargetTimeOn(s string, local *time.Location, now time.Time) (Target, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return Target{}, targetError(s, "the recovery target time is empty; leave the option out to replay to the end of the archive")
	}
	if c := clockPattern.FindStringSubmatch(text); c != nil {
		if c[3] == "" {
			c[3] = "00"
		}
		zone, _, err := targetZone(c[5], local)
		if err != nil {
			return Target{}, targetError(s, err.Error())
		}
		today := now.In(zone).Format("2006-01-02")
		frac := ""
		if c[4] != "" {
			frac = "." + c[4]
		}
		t, err := ParseTargetTimeOn(today+" "+c[1]+":"+c[2]+":"+c[3]+frac+c[5], local, now)
		t.DateAssumed = err == nil
		return t, err
	}
	m := targetPattern.FindStringSubmatch(text)
	if m == nil {
		return Target{}, targetError(s, "this is not a date and time pgrescue can read")
	}
	nanos, err := fractionNanos(m[7])
	if err != nil {
		return Target{}, targetError(s, err.Error())
	}
	loc, assumed, err := targetZone(m[8], local)
	if err != nil {
		return Target{}, targetError(s, err.Error())
	}
	fields := atois(m[1:7])
	t := time.Date(fields[0], time.Month(fields[1]), fields[2], fields[3], fields[4], fields[5], nanos, loc)
	if !sameClock(t, fields) {
		why := "this date or time does not exist"
		if assumed {
			why = "this local time does not exist in " + loc.String() + " (a clock change skips it); give the zone explicitly"
		}
		return Target{}, targetError(s, why)
	}
	return Target{Time: t, AssumedLocal: assumed}, nil
}

func targetError(value, why string) error {
	return problem.New(problem.Usage, fmt.Sprintf("recovery target time %q", value), why+"; "+acceptedTargetForms,
		"give the target again in one of those forms, e.g. 2026-11-25 02:52:52+00")
}

func atois(ss []string) []int {
	n := make([]int, len(ss))
	for i, s := range ss {
		n[i], _ = strconv.Atoi(s) // the pattern admits digits only
	}
	return n
}

// sameClock catches values time.Date normalised: 2026-02-30, 25:00, or a
// local time skipped by a daylight-saving change.
func sameClock(t time.Time, f []int) bool {
	return t.Year() == f[0] && int(t.Month()) == f[1] && t.Day() == f[2] &&
		t.Hour() == f[3] && t.Minute() == f[4] && t.Second() == f[5]
}

func fractionNanos(digits string) (int, error) {
	if digits == "" {
		return 0, nil
	}
	padded := (digits + "000000000")[:9]
	if strings.Trim(padded[6:], "0") != "" {
		return 0, fmt.Errorf("PostgreSQL keeps microseconds: give at most 6 fractional digits")
	}
	n, _ := strconv.Atoi(padded)
	return n, nil
}

// targetZone turns the zone text into a location; no zone means local.
func targetZone(zone string, local *time.Location) (loc *time.Location, assumedLocal bool, err error) {
	switch {
	case zone == "":
		if local == nil {
			local = time.Local
		}
		return local, true, nil
	case strings.EqualFold(zone, "Z") || strings.EqualFold(zone, "UTC"):
		return time.UTC, false, nil
	}
	digits := strings.ReplaceAll(zone[1:], ":", "")
	hours, _ := strconv.Atoi(digits[:2])
	minutes := 0
	if len(digits) == 4 {
		minutes, _ = strconv.Atoi(digits[2:])
	}
	if hours > 15 || minutes > 59 {
		return nil, false, fmt.Errorf("the zone offset %s is out of range (at most ±15:59)", zone)
	}
	offset := hours*3600 + minutes*60
	if zone[0] == '-' {
		offset = -offset
	}
	return time.FixedZone(zone, offset), false, nil
}

// IsEndOfArchive reports whether t is the zero Target: replay everything.
func (t Target) IsEndOfArchive() bool { return t.Time.IsZero() }

// PostgresLiteral gives the target as recovery_target_time expects it: in
// UTC with an explicit +00 (so the server's TimeZone cannot shift it), and
// microseconds only when there are any, written as PostgreSQL prints them
// (trailing zeros dropped): "2026-11-25 02:52:52.067732+00".
func (t Target) PostgresLiteral() string {
	if t.IsEndOfArchive() {
		return ""
	}
	u := t.Time.UTC()
	s := u.Format("2006-01-02 15:04:05")
	if micros := u.Nanosecond() / 1000; micros != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", micros), "0")
	}
	return s + "+00"
}

// String describes the target for people.
func (t Target) String() string {
	if t.IsEndOfArchive() {
		return "the end of the archive"
	}
	if t.AssumedLocal {
		return fmt.Sprintf("%s (read as local time in %s)", t.PostgresLiteral(), t.Time.Location())
	}
	return t.PostgresLiteral()
}
