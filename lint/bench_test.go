package lint_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spokehq/spoke/lint"
)

// benchSources are the fixtures of a language, read once.
func benchSources(b *testing.B, glob string) []lint.Source {
	b.Helper()
	files, _ := filepath.Glob(glob)
	var out []lint.Source
	for _, f := range files {
		code, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, lint.Source{Language: lint.LanguageOfFile(f), Code: string(code), Outputs: []string{"a"}, Inputs: []string{"email"}})
	}
	return out
}

// BenchmarkLint measures one file's check on the warm processes (what a
// flow save pays) and, for comparison, with a fresh process per file.
// Run: go test -run '^$' -bench BenchmarkLint -benchtime 200x ./lint
func BenchmarkLint(b *testing.B) {
	for _, lang := range []struct{ name, glob string }{{"js", "testdata/js/*.js"}, {"py", "testdata/py/*.py"}} {
		srcs := benchSources(b, lang.glob)
		b.Run("warm/"+lang.name, func(b *testing.B) {
			l := lint.New(lint.Config{})
			defer l.Close()
			if _, err := l.Lint(context.Background(), srcs[0]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Lint(context.Background(), srcs[i%len(srcs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("cold/"+lang.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l := lint.New(lint.Config{})
				if _, err := l.Lint(context.Background(), srcs[i%len(srcs)]); err != nil {
					b.Fatal(err)
				}
				l.Close()
			}
		})
	}
}
