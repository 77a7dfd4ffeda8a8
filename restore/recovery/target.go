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
// archive: replay everything there is. At most one of Time, Xid, LSN, Name
// and Immediate is set.
type Target struct {
	Time time.Time
	// Xid is recovery_target_xid: the transaction whose commit ends replay.
	Xid uint32
	// LSN is recovery_target_lsn (PostgreSQL 10 and later), as "16/B374D848".
	LSN string
	// Name is recovery_target_name: a restore point made with pg_create_restore_point.
	Name string
	// Immediate is recovery_target = 'immediate' (9.4 and later): stop as
	// soon as the base backup is consistent.
	Immediate bool
	// Exclusive is recovery_target_inclusive = false: stop just before the
	// target (before the xid's commit, the LSN, the first commit at the time)
	// rather than just after it.
	Exclusive bool
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
func (t Target) IsEndOfArchive() bool {
	return t.Time.IsZero() && t.Xid == 0 && t.LSN == "" && t.Name == "" && !t.Immediate
}

// IsTime reports a recovery_target_time target, the only kind a window of
// upload times can check beforehand.
func (t Target) IsTime() bool { return !t.Time.IsZero() }

// setting is the target as its one recovery setting.
func (t Target) setting() (name, value string) {
	switch {
	case t.Xid != 0:
		return "recovery_target_xid", strconv.FormatUint(uint64(t.Xid), 10)
	case t.LSN != "":
		return "recovery_target_lsn", t.LSN
	case t.Name != "":
		return "recovery_target_name", t.Name
	case t.Immediate:
		return "recovery_target", "immediate"
	}
	return "recovery_target_time", t.PostgresLiteral()
}

// CheckVersion refuses a target the server's major version has no setting
// for, naming the version that introduced it.
func (t Target) CheckVersion(v Version) error {
	switch {
	case t.LSN != "" && v.Major < 10:
		return problem.New(problem.Usage, "--target-lsn", "recovery_target_lsn exists from PostgreSQL 10; this server is "+v.String(),
			"use --target-xid, or --target-time (wal-inspect gives both for each transaction)")
	case t.Immediate && v.Major == 9 && v.Minor < 4:
		return problem.New(problem.Usage, "--target immediate", "recovery_target = 'immediate' exists from PostgreSQL 9.4; this server is "+v.String(),
			"give the time the base backup ended with --target-time")
	case t.Immediate && t.Exclusive:
		return problem.New(problem.Usage, "--target-exclusive", "the end of the base backup has no before and after",
			"leave --target-exclusive out with --target immediate")
	}
	return nil
}

// Flags are the target as pgrescue's own flags, for plans.
func (t Target) Flags() []string {
	var f []string
	switch {
	case t.Xid != 0:
		f = []string{"--target-xid", strconv.FormatUint(uint64(t.Xid), 10)}
	case t.LSN != "":
		f = []string{"--target-lsn", t.LSN}
	case t.Name != "":
		f = []string{"--target-name", t.Name}
	case t.Immediate:
		f = []string{"--target", "immediate"}
	case !t.Time.IsZero():
		f = []string{"--target-time", t.PostgresLiteral()}
	}
	if t.Exclusive {
		f = append(f, "--target-exclusive")
	}
	return f
}

var lsnForm = regexp.MustCompile(`^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$`)

// ParseTargetLSN reads --target-lsn.
func ParseTargetLSN(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !lsnForm.MatchString(s) {
		return "", problem.New(problem.Usage, "--target-lsn "+s, fmt.Sprintf("%q is not an LSN", s),
			"give it as PostgreSQL prints it, e.g. 16/B374D848 (pgrescue wal-inspect shows each transaction's)")
	}
	return strings.ToUpper(s), nil
}

// PostgresLiteral gives the target as recovery_target_time expects it: in
// UTC with an explicit +00 (so the server's TimeZone cannot shift it), and
// microseconds only when there are any, written as PostgreSQL prints them
// (trailing zeros dropped): "2026-11-25 02:52:52.067732+00".
func (t Target) PostgresLiteral() string {
	if t.Time.IsZero() {
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
	edge := "after"
	if t.Exclusive {
		edge = "just before"
	}
	switch {
	case t.Xid != 0:
		return fmt.Sprintf("%s transaction %d commits", edge, t.Xid)
	case t.LSN != "":
		return fmt.Sprintf("%s WAL location %s", edge, t.LSN)
	case t.Name != "":
		return fmt.Sprintf("%s restore point %q", edge, t.Name)
	case t.Immediate:
		return "the end of the base backup (as soon as it is consistent)"
	}
	text := t.PostgresLiteral()
	if t.AssumedLocal {
		text = fmt.Sprintf("%s (read as local time in %s)", text, t.Time.Location())
	}
	if t.Exclusive {
		text += ", stopping before commits at that instant"
	}
	return text
}
