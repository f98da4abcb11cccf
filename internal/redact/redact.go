// Package redact hides secret values in what Spoke records or shows: a
// custom code action's logs and error, and the inputs and outputs its
// execution log keeps. The engine and the sandbox both redact, so the rule
// lives here rather than in either.
package redact

import (
	"iter"
	"sort"
	"strings"
)

// Mark stands in for a secret's value.
const Mark = "[REDACTED]"

// MinLen is the shortest value hidden. A value of one or two characters
// is no secret worth the name, and replacing every "a" or "10" in a log
// would make the log unreadable without protecting anything.
const MinLen = 3

// Secrets is a set of secret values to hide. The zero Secrets hides
// nothing.
type Secrets struct {
	// values are at least MinLen long and longest first, so that a secret
	// that holds another is hidden whole rather than around the shorter
	// one.
	values []string
}

// New returns the Secrets that hide every value of values at least MinLen
// bytes long.
func New(values iter.Seq[string]) Secrets {
	var s Secrets
	for v := range values {
		if len(v) >= MinLen {
			s.values = append(s.values, v)
		}
	}
	sort.SliceStable(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
	return s
}

// String returns text with every secret value in it replaced by Mark.
func (s Secrets) String(text string) string {
	for _, v := range s.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mark)
		}
	}
	return text
}

// Values returns a copy of m in which every string value has its secrets
// replaced by Mark; values of other types are copied as they are.
func (s Secrets) Values(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if str, ok := v.(string); ok {
			v = s.String(str)
		}
		out[k] = v
	}
	return out
}

// Deep returns a copy of v in which every string at every depth (values
// of objects and arrays, and object keys) has its secrets replaced by
// Mark, as JSON decodes custom code's answers: map[string]any, []any and
// scalars. Values of other types are returned as they are.
func (s Secrets) Deep(v any) any {
	if len(s.values) == 0 {
		return v
	}
	switch x := v.(type) {
	case string:
		return s.String(x)
	case map[string]any:
		return s.DeepValues(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.Deep(e)
		}
		return out
	}
	return v
}

// DeepValues is Values at every depth: a copy of m with secrets replaced
// in its keys and in strings nested anywhere in its values.
func (s Secrets) DeepValues(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[s.String(k)] = s.Deep(v)
	}
	return out
}
