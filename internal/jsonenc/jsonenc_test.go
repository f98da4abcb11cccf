package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
)

// same checks that Append encodes v exactly as encoding/json does.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := Append(nil, v)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("Append(%#v) error = %v, encoding/json's = %v", v, gerr, werr)
	}
	if werr == nil && string(got) != string(want) {
		t.Fatalf("Append(%#v) = %s, encoding/json gives %s", v, got, want)
	}
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	values := []any{
		nil, "", "plain", "quote \" backslash \\ slash /", "<script>&amp;</script>", "tab\tnl\ncr\r\x00\x01\x1f\x7f",
		"é ünïcødé 漢字 🙂", "line\u2028sep\u2029", "bad \xff utf8 \xe2\x28\xa1", true, false,
		0.0, math.Copysign(0, -1), 1.0, -1.5, 3.14159, 1e20, 1e21, 1.5e300, 1e-6, 1e-7, 123456789.125, -2.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), 42, int64(-7),
		map[string]any{}, map[string]any{"b": 1.0, "a": "x", "c": nil, "d": true, "e": map[string]any{"z": []any{1.0, "two", nil}}},
		map[string]any(nil), map[string]string{"k\"ey": "v<al>", "a": ""}, map[string]map[string]any{"1": {"score": 7.0}, "0": nil},
		map[string]map[string]string{"1": {"score": "7"}, "0": nil}, map[string]map[string]string(nil), map[string]string(nil),
		[]any{}, []any(nil), map[string]any{"n": json.Number("12")}, []string{"fallback"},
		map[string]any{"k": math.NaN()},
	}
	for _, v := range values {
		same(t, v)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "<&>", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		same(t, s)
		same(t, map[string]any{s: s})
	})
}

func FuzzFloat(f *testing.F) {
	for _, x := range []float64{0, 1, -1e-7, 1e21, 123.456} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) { same(t, x) })
}

func BenchmarkAppend(b *testing.B) {
	v := map[string]any{"firstname": "Ada", "lastname": "Lovelace", "employees": "42", "score": 12.0, "ok": true}
	b.Run("jsonenc", func(b *testing.B) {
		var buf []byte
		for i := 0; i < b.N; i++ {
			buf, _ = Append(buf[:0], v)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			json.Marshal(v)
		}
	})
}
