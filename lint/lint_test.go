package lint_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/lint"
)

var (
	sharedOnce sync.Once
	shared     *lint.Linter
)

// linter returns one Linter for the whole test binary: the point of the
// warm processes is that they are shared.
func linter(t *testing.T) *lint.Linter {
	t.Helper()
	sharedOnce.Do(func() { shared = lint.New(lint.Config{}) })
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

var (
	wantRe   = regexp.MustCompile(`(?://|#)\s*want:\s*([a-z\- ]+)$`)
	headerRe = regexp.MustCompile(`(?://|#)\s*spoke-lint:\s*(.*)$`)
)

// fixture reads a testdata file: the source, the declared inputs and
// outputs from its "spoke-lint: inputs=a,b outputs=c" header (nil when not
// given) and the expected findings, "line rule", from its "want: rule ..."
// comments.
func fixture(t *testing.T, path string) (lint.Source, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := lint.Source{Language: lint.LanguageOfFile(path), Code: string(b)}
	var want []string
	for i, line := range strings.Split(string(b), "\n") {
		if m := headerRe.FindStringSubmatch(line); m != nil {
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				list := []string{}
				if v != "" {
					list = strings.Split(v, ",")
				}
				switch k {
				case "inputs":
					src.Inputs = list
				case "outputs":
					src.Outputs = list
				}
			}
		}
		if m := wantRe.FindStringSubmatch(line); m != nil {
			for _, rule := range strings.Fields(m[1]) {
				want = append(want, fmt.Sprintf("%d %s", i+1, rule))
			}
		}
	}
	sort.Strings(want)
	return src, want
}

// TestFixtures lints every file in testdata/js and testdata/py and checks
// that the findings are exactly the ones the file's want comments name:
// each rule fires where it should (true positives) and nowhere else (the
// unmarked lines are realistic code that must stay clean).
func TestFixtures(t *testing.T) {
	l := linter(t)
	files, _ := filepath.Glob("testdata/js/*")
	py, _ := filepath.Glob("testdata/py/*")
	files = append(files, py...)
	if len(files) < 30 && os.Getenv("LINT_FIXTURES_PARTIAL") == "" {
		t.Fatalf("only %d fixtures found", len(files))
	}
	fired := map[string]bool{}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, want := fixture(t, path)
			findings, err := l.Lint(context.Background(), src)
			if err != nil {
				t.Fatalf("Lint: %v (run scripts/setup.sh to install ESLint)", err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, fmt.Sprintf("%d %s", f.Line, f.Rule))
				fired[string(src.Language)+" "+f.Rule] = true
				if f.Column < 1 || f.Message == "" {
					t.Errorf("finding without a column or message: %+v", f)
				}
				if r, _ := lint.RuleByID(f.Rule); r.Severity != f.Severity {
					t.Errorf("%s has severity %s, the rule says %s", f.Rule, f.Severity, r.Severity)
				}
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				var detail strings.Builder
				for _, f := range findings {
					fmt.Fprintf(&detail, "\n  %d:%d %s %s", f.Line, f.Column, f.Rule, f.Message)
				}
				t.Errorf("findings\n got: %q\nwant: %q%s", got, want, detail.String())
			}
		})
	}
	// Every rule must have been seen firing, in each language it checks.
	for _, r := range lint.Rules {
		if r.ID == "lint-unavailable" {
			continue
		}
		if r.JavaScript && !fired["javascript "+r.ID] {
			t.Errorf("no JavaScript fixture makes %s fire", r.ID)
		}
		if r.Python && !fired["python "+r.ID] {
			t.Errorf("no Python fixture makes %s fire", r.ID)
		}
	}
}

// TestRulesMatchPlugins holds the Go rule table, the ESLint plugin's
// severities and the Python checker's in step.
func TestRulesMatchPlugins(t *testing.T) {
	js, err := os.ReadFile("js/eslint-plugin-spoke.js")
	if err != nil {
		t.Fatal(err)
	}
	py, err := os.ReadFile("python/spoke_lint.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range lint.Rules {
		jsSev := map[lint.Severity]string{lint.SeverityError: "error", lint.SeverityWarning: "warn"}[r.Severity]
		inJS := strings.Contains(string(js), fmt.Sprintf("'%s': '%s'", r.ID, jsSev))
		inPy := strings.Contains(string(py), fmt.Sprintf("%q: %q", r.ID, r.Severity))
		switch {
		case r.ID == "lint-unavailable" || r.ID == "syntax-error":
			// Made by the Go side and by the servers' parse step.
		default:
			if inJS != r.JavaScript {
				t.Errorf("rule %s: in the ESLint plugin with severity %s = %v, want %v", r.ID, jsSev, inJS, r.JavaScript)
			}
			if inPy != r.Python {
				t.Errorf("rule %s: in the Python checker with severity %s = %v, want %v", r.ID, r.Severity, inPy, r.Python)
			}
		}
	}
}

func TestFlow(t *testing.T) {
	l := linter(t)
	f := &spoke.Flow{Actions: []spoke.Action{
		{Type: spoke.ActionCustomCode, ActionID: "1", Runtime: "NODE20X",
			SourceCode:   "exports.main = async (event) => ({ outputFields: { a: event.inputFields.x.trim() } });",
			InputFields:  []spoke.InputField{{Name: "x"}},
			OutputFields: []spoke.OutputField{{Name: "a", Type: "STRING"}, {Name: "b", Type: "STRING"}}},
		{Type: spoke.ActionSingleConnection, ActionID: "2", ActionTypeID: spoke.ActionTypeDelay},
		{Type: spoke.ActionCustomCode, ActionID: "3", Runtime: "PYTHON39",
			SourceCode: "def main(event):\n    return {'outputFields': {}}\n"},
		{Type: spoke.ActionCustomCode, ActionID: "4", Runtime: "PYTHON39",
			SourceCode: "import os\ndef main(event):\n    print(os.environ['TOKEN'])\n    return {'outputFields': {'n': 1}}\n"},
	}}
	got, err := l.Flow(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, a := range got {
		for _, fd := range a.Findings {
			summary = append(summary, fmt.Sprintf("%s:%d %s", a.ActionID, fd.Line, fd.Rule))
		}
	}
	want := []string{"1:1 unchecked-input", "1:1 output-unreturned", "4:3 secret-in-log", "4:4 output-undeclared"}
	sort.Strings(summary)
	sort.Strings(want)
	if !slices.Equal(summary, want) {
		t.Errorf("Flow findings = %q, want %q", summary, want)
	}
}

// TestUnavailable: without ESLint, JavaScript is reported as not checked
// (an error wrapping ErrUnavailable, a lint-unavailable warning in a flow),
// and Python still works.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	l := lint.New(lint.Config{NodeModules: t.TempDir()})
	defer l.Close()
	_, err := l.Lint(context.Background(), lint.Source{Language: lint.JavaScript, Code: "exports.main = async () => ({})"})
	if !errors.Is(err, lint.ErrUnavailable) {
		t.Fatalf("Lint without ESLint: err = %v, want ErrUnavailable", err)
	}
	f := &spoke.Flow{Actions: []spoke.Action{{Type: spoke.ActionCustomCode, ActionID: "7", Runtime: "NODE20X", SourceCode: "exports.main = async () => ({})"}}}
	got, err := l.Flow(context.Background(), f)
	if err != nil || len(got) != 1 || got[0].Findings[0].Rule != "lint-unavailable" || got[0].Findings[0].Severity != lint.SeverityWarning {
		t.Fatalf("Flow without ESLint = %+v, %v", got, err)
	}
	py, err := l.Lint(context.Background(), lint.Source{Language: lint.Python, Code: "def main(event):\n    return {}\n"})
	if err != nil || len(py) != 0 {
		t.Fatalf("Python lint = %+v, %v", py, err)
	}
}

// TestRestartAfterTimeout: a linter that does not answer in time is killed
// and the next check starts a fresh one.
func TestRestartAfterTimeout(t *testing.T) {
	t.Parallel()
	l := lint.New(lint.Config{Timeout: time.Nanosecond})
	defer l.Close()
	src := lint.Source{Language: lint.Python, Code: "def main(event):\n    return {}\n"}
	if _, err := l.Lint(context.Background(), src); err == nil {
		t.Fatal("Lint with a 1 ns timeout succeeded")
	}
	ok := lint.New(lint.Config{})
	defer ok.Close()
	for i := 0; i < 2; i++ {
		if got, err := ok.Lint(context.Background(), src); err != nil || len(got) != 0 {
			t.Fatalf("Lint #%d = %v, %v", i, got, err)
		}
	}
}

// TestConcurrent: checks from many goroutines share the warm processes and
// each gets its own answer.
func TestConcurrent(t *testing.T) {
	l := linter(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lang, code := lint.JavaScript, fmt.Sprintf("exports.main = async () => { console.log(process.env.K%d); return {outputFields: {}}; };", i)
			if i%2 == 1 {
				lang, code = lint.Python, fmt.Sprintf("import os\ndef main(event):\n    print(os.environ['K%d'])\n    return {}\n", i)
			}
			got, err := l.Lint(context.Background(), lint.Source{Language: lang, Code: code})
			if err != nil {
				errs <- err
				return
			}
			if len(got) != 1 || got[0].Rule != "secret-in-log" || !strings.Contains(got[0].Message, fmt.Sprintf("K%d", i)) {
				errs <- fmt.Errorf("request %d got %+v", i, got)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
