package pglog

import (
	"strings"
	"sync"
	"time"
)

// parseTimestamp reads the %t ("2026-11-25 02:48:16 UTC ") or %m
// ("2026-11-25 02:33:05.123 UTC ") prefix field at the start of text and
// returns the offset after it, or 0 when there is none.
func parseTimestamp(text string, l *Line) int {
	wall, pos, ok := parseWallClock(text)
	if !ok || pos >= len(text) || text[pos] != ' ' {
		return 0
	}
	zoneEnd := strings.IndexByte(text[pos+1:], ' ')
	if zoneEnd <= 0 {
		return 0
	}
	zone := text[pos+1 : pos+1+zoneEnd]
	loc, known := zoneLocation(zone)
	if loc == nil {
		return 0
	}
	l.Time = time.Date(wall.year, time.Month(wall.month), wall.day, wall.hour, wall.minute, wall.second, wall.nanos, loc)
	l.HasTime = known
	return pos + 1 + zoneEnd + 1
}

type wallClock struct {
	year, month, day, hour, minute, second, nanos int
}

// parseWallClock reads "YYYY-MM-DD HH:MM:SS" with an optional fraction.
func parseWallClock(text string) (wallClock, int, bool) {
	const layout = "0000-00-00 00:00:00"
	if len(text) < len(layout) {
		return wallClock{}, 0, false
	}
	for i := 0; i < len(layout); i++ {
		isDigit := '0' <= text[i] && text[i] <= '9'
		if (layout[i] == '0') != isDigit || (!isDigit && text[i] != layout[i]) {
			return wallClock{}, 0, false
		}
	}
	num := func(from, to int) int { n, _ := atoiDigits(text[from:to]); return n }
	w := wallClock{
		year: num(0, 4), month: num(5, 7), day: num(8, 10),
		hour: num(11, 13), minute: num(14, 16), second: num(17, 19),
	}
	if w.month < 1 || w.month > 12 || w.day < 1 || w.day > 31 || w.hour > 23 || w.minute > 59 || w.second > 60 {
		return wallClock{}, 0, false
	}
	pos := len(layout)
	if pos < len(text) && text[pos] == '.' {
		pos++
		scale := int(time.Second)
		start := pos
		for pos < len(text) && '0' <= text[pos] && text[pos] <= '9' {
			if scale > 1 {
				scale /= 10
				w.nanos += int(text[pos]-'0') * scale
			}
			pos++
		}
		if pos == start {
			return wallClock{}, 0, false
		}
	}
	return w, pos, true
}

// zoneOffsets are the log_timezone abbreviations pgrescue trusts, in seconds
// east of UTC. Abbreviations used by several zones with different offsets
// (IST: India, Ireland, Israel; CST: US Central, China; AST: Atlantic,
// Arabia) are left out on purpose: a wrong offset is worse than none. BST is
// British Summer Time, its only meaning in current tzdata.
var zoneOffsets = map[string]int{
	"UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0,
	"BST": 1 * 3600, "WEST": 1 * 3600, "CET": 1 * 3600, "MET": 1 * 3600, "WAT": 1 * 3600,
	"CEST": 2 * 3600, "MEST": 2 * 3600, "EET": 2 * 3600, "SAST": 2 * 3600, "CAT": 2 * 3600,
	"EEST": 3 * 3600, "MSK": 3 * 3600, "EAT": 3 * 3600,
	"PKT": 5 * 3600, "HKT": 8 * 3600, "AWST": 8 * 3600, "PHT": 8 * 3600, "WIB": 7 * 3600,
	"JST": 9 * 3600, "KST": 9 * 3600,
	"ACST": 9*3600 + 1800, "ACDT": 10*3600 + 1800,
	"AEST": 10 * 3600, "AEDT": 11 * 3600,
	"NZST": 12 * 3600, "NZDT": 13 * 3600,
	"NST": -(3*3600 + 1800), "NDT": -(2*3600 + 1800),
	"ADT": -3 * 3600, "EST": -5 * 3600, "EDT": -4 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
}

// zoneCache keeps one *time.Location per zone text seen, so that parsing a
// log does not allocate a location per line.
var zoneCache sync.Map // string -> zoneEntry

type zoneEntry struct {
	loc   *time.Location
	known bool
}

// zoneLocation maps a %t/%m zone to a location. known is false for a word
// that looks like an abbreviation but is not in zoneOffsets: the location is
// then that name at offset 0. A nil location means the token is not a zone.
func zoneLocation(zone string) (loc *time.Location, known bool) {
	if e, ok := zoneCache.Load(zone); ok {
		entry := e.(zoneEntry)
		return entry.loc, entry.known
	}
	loc, known = resolveZone(zone)
	if loc != nil {
		zoneCache.Store(zone, zoneEntry{loc, known})
	}
	return loc, known
}

func resolveZone(zone string) (*time.Location, bool) {
	if zone == "UTC" {
		return time.UTC, true
	}
	if offset, ok := zoneOffsets[zone]; ok {
		return time.FixedZone(zone, offset), true
	}
	if offset, ok := numericOffset(zone); ok {
		return time.FixedZone(zone, offset), true
	}
	if isZoneAbbreviation(zone) {
		return time.FixedZone(zone, 0), false
	}
	return nil, false
}

// numericOffset reads the offsets tzdata uses as abbreviations for zones
// without a name: "+03", "-05", "+0530", "+05:30", "-0330".
func numericOffset(zone string) (int, bool) {
	if len(zone) < 3 || (zone[0] != '+' && zone[0] != '-') {
		return 0, false
	}
	digits := strings.Replace(zone[1:], ":", "", 1)
	if len(digits) != 2 && len(digits) != 4 {
		return 0, false
	}
	hours, ok := atoiDigits(digits[:2])
	if !ok || hours > 15 {
		return 0, false
	}
	minutes := 0
	if len(digits) == 4 {
		if minutes, ok = atoiDigits(digits[2:]); !ok || minutes > 59 {
			return 0, false
		}
	}
	offset := hours*3600 + minutes*60
	if zone[0] == '-' {
		offset = -offset
	}
	return offset, true
}

// isZoneAbbreviation accepts 2 to 6 ASCII capitals, the shape of every
// tzdata abbreviation.
func isZoneAbbreviation(zone string) bool {
	if len(zone) < 2 || len(zone) > 6 {
		return false
	}
	for i := 0; i < len(zone); i++ {
		if zone[i] < 'A' || zone[i] > 'Z' {
			return false
		}
	}
	return true
}
