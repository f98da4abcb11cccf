package jsonerr_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/spokehq/spoke/internal/jsonerr"
)

// TestPosition decodes broken documents with encoding/json and checks
// that the position names the byte that is wrong.
func TestPosition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc       string
		line, col int
	}{
		{`x`, 1, 1},
		{`{"a": x}`, 1, 7},
		{"{\n  \"a\": 1,\n  \"b\" 2\n}", 3, 7},
		{"[1,\n\n]", 3, 1},
		{"{\"a\":\n\t@}", 2, 2},
	} {
		var v any
		err := json.Unmarshal([]byte(tc.doc), &v)
		var syn *json.SyntaxError
		if !errors.As(err, &syn) {
			t.Fatalf("%q: %v is not a syntax error", tc.doc, err)
		}
		if line, col := jsonerr.Position([]byte(tc.doc), syn.Offset); line != tc.line || col != tc.col {
			t.Errorf("%q (offset %d): line %d, column %d; want line %d, column %d", tc.doc, syn.Offset, line, col, tc.line, tc.col)
		}
	}
	if line, col := jsonerr.Position([]byte("ab"), 99); line != 1 || col != 3 {
		t.Errorf("an offset past the end: line %d, column %d; want the end, line 1, column 3", line, col)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string
	}{
		{[]string{}, "an array"},
		{map[string]int{}, "an object"},
		{struct{ A int }{}, "an object"},
		{int64(0), "a number"},
		{float64(0), "a number"},
		{true, "a boolean"},
		{"", "a string"},
		{time0{}, "an object"},
	} {
		if got := jsonerr.Kind(reflect.TypeOf(tc.v).String()); got != tc.want {
			t.Errorf("Kind(%T) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

type time0 struct{}
