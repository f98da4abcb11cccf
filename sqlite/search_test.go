package sqlite

import "testing"

func TestContainsToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value, pattern string
		want           bool
	}{
		{"Hello World", "world", true},
		{"Hello World", "wor", false},
		{"Hello World", "wor*", true},
		{"Hello World", "*orld", true},
		{"Hello World", "h*d", true},
		{"a@hubspot.com", "*@hubspot.com", true},
		{"a@hubspot.com", "hubspot", true},
		{"a@hubspot.com", "*@example.com", false},
		{"x", "", false},
		{"x", "  ", false},
		{"aaa", "a*a*a*a", false},
		{"anything", "*", true},
	} {
		if got := containsToken(tc.value, tc.pattern); got != tc.want {
			t.Errorf("containsToken(%q, %q) = %v, want %v", tc.value, tc.pattern, got, tc.want)
		}
	}
}
