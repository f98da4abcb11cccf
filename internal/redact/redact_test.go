package redact_test

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/spokehq/spoke/internal/redact"
)

func TestString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"none", nil, "token abc", "token abc"},
		{"one", []string{"abc"}, "token abc and abc", "token [REDACTED] and [REDACTED]"},
		{"empty and short values are ignored", []string{"", "ab", "abc"}, "ab abc", "ab [REDACTED]"},
		{"a secret holding another is hidden whole", []string{"key", "key-long"}, "x key-long y key", "x [REDACTED] y [REDACTED]"},
		{"same, in the other order", []string{"key-long", "key"}, "key-long", "[REDACTED]"},
		{"absent", []string{"zzz"}, "nothing here", "nothing here"},
	} {
		if got := redact.New(slices.Values(tc.secrets)).String(tc.in); got != tc.want {
			t.Errorf("%s: String(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestValues(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{"API_KEY": "s3cret", "EMPTY": ""}
	in := map[string]any{"url": "https://x/?k=s3cret", "n": 42.0, "nil": nil, "plain": "ok"}
	got := redact.New(maps.Values(secrets)).Values(in)
	want := map[string]any{"url": "https://x/?k=[REDACTED]", "n": 42.0, "nil": nil, "plain": "ok"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Values = %v, want %v", got, want)
	}
	if in["url"] != "https://x/?k=s3cret" {
		t.Errorf("Values changed its input: %v", in)
	}
}

func TestDeepValues(t *testing.T) {
	t.Parallel()
	s := redact.New(slices.Values([]string{"s3cret"}))
	in := map[string]any{
		"top":    "a s3cret",
		"nested": map[string]any{"k": "s3cret", "deeper": []any{"x", "s3cret!", 1.0, map[string]any{"s3cret": true}}},
		"list":   []any{[]any{"s3cret"}},
		"n":      2.0,
	}
	want := map[string]any{
		"top":    "a [REDACTED]",
		"nested": map[string]any{"k": "[REDACTED]", "deeper": []any{"x", "[REDACTED]!", 1.0, map[string]any{"[REDACTED]": true}}},
		"list":   []any{[]any{"[REDACTED]"}},
		"n":      2.0,
	}
	if got := s.DeepValues(in); !reflect.DeepEqual(got, want) {
		t.Errorf("DeepValues = %v, want %v", got, want)
	}
	if in["nested"].(map[string]any)["k"] != "s3cret" {
		t.Errorf("DeepValues changed its input: %v", in)
	}
}
