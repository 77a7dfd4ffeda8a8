package rdssim

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// params reads an AWS Query request's form. Malformed values become the
// InvalidParameterValue error AWS gives, naming the parameter.
type params struct{ url.Values }

// has reports whether the parameter was sent with a non-empty value: the
// SDK leaves out what the caller did not set.
func (p params) has(name string) bool { return p.Get(name) != "" }

func (p params) required(name string) (string, error) {
	v := p.Get(name)
	if v == "" {
		return "", errMissing(name)
	}
	return v, nil
}

func (p params) boolean(name string) (*bool, error) {
	v := p.Get(name)
	if v == "" {
		return nil, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return ptr(true), nil
	case "false":
		return ptr(false), nil
	}
	return nil, errInvalid("Invalid value " + strconv.Quote(clip(v)) + " for parameter " + name + ": expected true or false.")
}

func (p params) int32(name string) (*int32, error) {
	v := p.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil, errInvalid("Invalid value " + strconv.Quote(clip(v)) + " for parameter " + name + ": expected an integer.")
	}
	return ptr(int32(n)), nil
}

// timestampLayouts are the ISO 8601 forms AWS accepts: the SDK's
// (fractional seconds, Z), the CLI's, and the minute precision the RDS
// documentation shows for DescribeEvents.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"}

func (p params) timestamp(name string) (*time.Time, error) {
	v := p.Get(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return ptr(t.UTC()), nil
		}
	}
	return nil, errInvalid("Invalid value " + strconv.Quote(clip(v)) + " for parameter " + name + ": expected an ISO 8601 timestamp.")
}

// list reads a list of strings, sent as Name.Member.1, Name.Member.2…
// (the SDK uses the member's XML name; "member" is the generic form).
func (p params) list(name, member string) []string {
	var items []indexed
	for key, values := range p.Values {
		n, rest, ok := p.index(key, name, member)
		if ok && rest == "" && len(values) > 0 {
			items = append(items, indexed{n, values[0]})
		}
	}
	return sortedValues(items)
}

// structs lists the indexes of a list of structures, sent as
// Name.Member.N.Field.
func (p params) structs(name, member string) []int {
	seen := map[int]bool{}
	for key := range p.Values {
		if n, rest, ok := p.index(key, name, member); ok && rest != "" {
			seen[n] = true
		}
	}
	indexes := make([]int, 0, len(seen))
	for n := range seen {
		indexes = append(indexes, n)
	}
	slices.Sort(indexes)
	return indexes
}

// field is one field of the N-th structure of a list.
func (p params) field(name, member string, n int, field string) string {
	for _, m := range []string{member, "member"} {
		if v := p.Get(name + "." + m + "." + strconv.Itoa(n) + "." + field); v != "" {
			return v
		}
	}
	return ""
}

// index splits "Name.Member.N[.rest]" into N and rest.
func (p params) index(key, name, member string) (int, string, bool) {
	for _, m := range []string{member, "member"} {
		tail, ok := strings.CutPrefix(key, name+"."+m+".")
		if !ok {
			continue
		}
		digits, rest, _ := strings.Cut(tail, ".")
		n, err := strconv.Atoi(digits)
		if err != nil || n < 1 {
			return 0, "", false
		}
		return n, rest, true
	}
	return 0, "", false
}

type indexed struct {
	n     int
	value string
}

func sortedValues(items []indexed) []string {
	slices.SortFunc(items, func(a, b indexed) int { return a.n - b.n })
	values := make([]string, 0, len(items))
	for _, it := range items {
		values = append(values, it.value)
	}
	return values
}

// tags reads Tags.Tag.N.Key and Tags.Tag.N.Value, refusing what AWS
// refuses: a tag without a key, and keys in AWS's reserved aws: space.
func (p params) tags() ([]Tag, error) {
	var tags []Tag
	for _, n := range p.structs("Tags", "Tag") {
		t := Tag{Key: p.field("Tags", "Tag", n, "Key"), Value: p.field("Tags", "Tag", n, "Value")}
		switch {
		case t.Key == "":
			return nil, errInvalid("Tag " + strconv.Itoa(n) + " has no Key: a tag key must not be empty.")
		case len(t.Key) > 128 || len(t.Value) > 256:
			return nil, errInvalid("Tag keys can be at most 128 characters long and values 256.")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return nil, errInvalid("Tag keys must not start with \"aws:\": that prefix is reserved for AWS.")
		}
		tags = append(tags, t)
	}
	return tags, nil
}

// filter is one of a Describe call's Filters.
type filter struct {
	name   string
	values []string
}

func (p params) filters() ([]filter, error) {
	var filters []filter
	for _, n := range p.structs("Filters", "Filter") {
		name := p.field("Filters", "Filter", n, "Name")
		if name == "" {
			return nil, errInvalid("Filter " + strconv.Itoa(n) + " has no Name.")
		}
		values := p.list("Filters.Filter."+strconv.Itoa(n)+".Values", "Value")
		values = append(values, p.list("Filters.member."+strconv.Itoa(n)+".Values", "Value")...)
		if len(values) == 0 {
			return nil, errInvalid("Filter " + clip(name) + " has no Values.")
		}
		filters = append(filters, filter{name, values})
	}
	return filters, nil
}

func ptr[T any](v T) *T { return &v }
