package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
)

// attrs converts slog attributes to JSON values, redacted: strings through
// String, groups recursively, and the whole value of any attribute whose key
// is a secret name (whose string value is then registered as a secret).
func (r *Redactor) attrs(as []slog.Attr) map[string]any {
	if len(as) == 0 {
		return nil
	}
	m := make(map[string]any, len(as))
	r.addAttrs(m, as)
	if len(m) == 0 {
		return nil
	}
	return m
}

// addAttrs follows slog's conventions: an attribute with an empty key is
// dropped, an empty group is dropped and a group with an empty key is inlined.
func (r *Redactor) addAttrs(m map[string]any, as []slog.Attr) {
	for _, a := range as {
		v := a.Value.Resolve()
		switch {
		case a.Key != "" && isSecretName(a.Key):
			if v.Kind() == slog.KindString {
				r.AddSecret(v.String())
			}
			m[a.Key] = Placeholder
		case v.Kind() == slog.KindGroup && a.Key == "":
			r.addAttrs(m, v.Group())
		case v.Kind() == slog.KindGroup:
			if sub := r.attrs(v.Group()); sub != nil {
				m[a.Key] = sub
			}
		case a.Key != "":
			m[a.Key] = r.value(v)
		}
	}
}

// value converts one resolved, non-group slog value.
func (r *Redactor) value(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return r.String(v.String())
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time()
	case slog.KindFloat64:
		return finite(v.Float64())
	case slog.KindAny:
		return r.anyValue(v.Any())
	}
	return v.Any() // int64, uint64, bool
}

// finite keeps NaN and infinities, which JSON cannot hold, as text.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

// anyValue writes an error as its text, and anything else through a JSON
// round trip so that the strings and keys inside a struct or map are
// redacted like any other.
func (r *Redactor) anyValue(x any) any {
	switch x := x.(type) {
	case nil:
		return nil
	case error:
		return r.String(x.Error())
	}
	b, err := json.Marshal(x)
	if err != nil {
		return r.String(fmt.Sprint(x))
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep large integers exact
	if err := dec.Decode(&v); err != nil {
		return r.String(fmt.Sprint(x))
	}
	return r.jsonValue(v)
}

// jsonValue redacts a decoded JSON value.
func (r *Redactor) jsonValue(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case []any:
		for i := range v {
			v[i] = r.jsonValue(v[i])
		}
	case map[string]any:
		for k, e := range v {
			if isSecretName(k) {
				if s, ok := e.(string); ok {
					r.AddSecret(s)
				}
				v[k] = Placeholder
				continue
			}
			v[k] = r.jsonValue(e)
		}
	}
	return v
}
