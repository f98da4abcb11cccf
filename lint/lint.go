package lint

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
)

//go:embed js/*.js
var jsFiles embed.FS

//go:embed python/spoke_lint.py
var pythonChecker string

// Language is the language of a source file.
type Language string

// Languages.
const (
	JavaScript Language = "javascript"
	Python     Language = "python"
)

// LanguageOfRuntime returns the language of a custom code runtime name
// (NODE20X, PYTHON39, ...), or "" for an unknown one.
func LanguageOfRuntime(runtime string) Language {
	switch {
	case strings.HasPrefix(runtime, "NODE"):
		return JavaScript
	case strings.HasPrefix(runtime, "PYTHON"):
		return Python
	}
	return ""
}

// LanguageOfFile returns the language of a file by its extension, or "".
func LanguageOfFile(name string) Language {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".js", ".cjs", ".mjs":
		return JavaScript
	case ".py":
		return Python
	}
	return ""
}

// Source is one custom code action's code and what its action declares.
type Source struct {
	Language Language
	Code     string
	// Inputs and Outputs are the names of the action's declared
	// inputFields and outputFields. nil means "not known", which turns off
	// the rules that compare the code with them; an empty, non-nil slice
	// means "none declared".
	Inputs  []string
	Outputs []string
}

// Finding is one problem in a source file. Line and Column are 1-based.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Message  string   `json:"message"`
}

// Config configures a Linter. The zero value finds everything itself.
type Config struct {
	// NodePath and PythonPath are the interpreters. Defaults:
	// /usr/bin/node and /usr/bin/python3.
	NodePath, PythonPath string
	// NodeModules is the directory holding the pinned ESLint
	// (lint/node_modules after scripts/setup.sh). Default:
	// $SPOKE_LINT_NODE_MODULES, else lint/node_modules found from the
	// working directory or the executable upwards.
	NodeModules string
	// NodeLibraries and PythonLibraries are the third-party modules the
	// runtimes have. Defaults: sandbox.NodeLibraries() and
	// sandbox.PythonLibraries.
	NodeLibraries, PythonLibraries []string
	// CodeTimeout is a custom code action's time limit, which the
	// time-limit rules check against. Default: sandbox.DefaultTimeout.
	CodeTimeout time.Duration
	// Timeout bounds one file's check. Default: 10 seconds.
	Timeout time.Duration
}

// Linter checks custom code. It keeps one warm process per language,
// started on first use; it is safe for concurrent use (checks of one
// language run one at a time). Close it to end the processes.
type Linter struct {
	cfg Config
	js  *worker
	py  *worker
}

// New returns a Linter. It starts nothing until the first check.
func New(cfg Config) *Linter {
	if cfg.NodePath == "" {
		cfg.NodePath = "/usr/bin/node"
	}
	if cfg.PythonPath == "" {
		cfg.PythonPath = "/usr/bin/python3"
	}
	if cfg.NodeModules == "" {
		cfg.NodeModules = findNodeModules()
	}
	if cfg.NodeLibraries == nil {
		cfg.NodeLibraries = sandbox.NodeLibraries()
	}
	if cfg.PythonLibraries == nil {
		cfg.PythonLibraries = sandbox.PythonLibraries
	}
	if cfg.CodeTimeout <= 0 {
		cfg.CodeTimeout = sandbox.DefaultTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	l := &Linter{cfg: cfg}
	l.js = &worker{name: "JavaScript", start: l.startNode, timeout: cfg.Timeout}
	l.py = &worker{name: "Python", start: l.startPython, timeout: cfg.Timeout}
	return l
}

// Close ends the linter processes. The Linter may still be used; it starts
// them again.
func (l *Linter) Close() error {
	l.js.close()
	l.py.close()
	return nil
}

// Warm starts the linter processes now rather than on the first check, so
// that the first save does not wait for ESLint to load. Errors are
// ignored: a linter that cannot start reports it on the first check.
func (l *Linter) Warm(ctx context.Context) {
	_, _ = l.Lint(ctx, Source{Language: JavaScript, Code: "exports.main = async () => ({ outputFields: {} });"})
	_, _ = l.Lint(ctx, Source{Language: Python, Code: "def main(event):\n    return {}\n"})
}

// ErrUnavailable is returned (wrapped) by Lint when the language's linter
// is not installed: no Node or ESLint for JavaScript (run
// scripts/setup.sh), no python3 for Python.
var ErrUnavailable = errUnavailable

// Lint checks one source file and returns its findings sorted by line and
// column (an empty slice when there are none). The error wraps
// ErrUnavailable when the language's linter is not installed, and is
// otherwise a failure of the linter itself (it crashed or timed out),
// never a finding.
func (l *Linter) Lint(ctx context.Context, src Source) ([]Finding, error) {
	var w *worker
	switch src.Language {
	case JavaScript:
		w = l.js
	case Python:
		w = l.py
	default:
		return nil, fmt.Errorf("lint: unknown language %q", src.Language)
	}
	findings, err := w.lint(ctx, request{Source: src.Code, Inputs: src.Inputs, Outputs: src.Outputs})
	if err != nil {
		return nil, err
	}
	for i := range findings {
		// The severity is the rule's, whatever the process said.
		if r, ok := RuleByID(findings[i].Rule); ok {
			findings[i].Severity = r.Severity
		} else {
			return nil, fmt.Errorf("lint: %s linter reported unknown rule %q", w.name, findings[i].Rule)
		}
	}
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return findings, nil
}

// HasErrors reports whether any finding is an error.
func HasErrors(findings []Finding) bool {
	for _, f := range findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

func (l *Linter) settings(libraries []string) string {
	b, _ := json.Marshal(map[string]any{"modules": libraries, "timeoutMs": l.cfg.CodeTimeout.Milliseconds()})
	return string(b)
}

// startNode prepares server.js and the plugin in a private temporary
// directory (they are embedded in the binary, so the rules always match
// it) and runs them with the pinned ESLint on NODE_PATH.
func (l *Linter) startNode() (*exec.Cmd, func(), error) {
	if !exists(l.cfg.NodePath) {
		return nil, nil, fmt.Errorf("lint: %s not found: %w", l.cfg.NodePath, errUnavailable)
	}
	if l.cfg.NodeModules == "" || !exists(filepath.Join(l.cfg.NodeModules, "eslint", "package.json")) {
		return nil, nil, fmt.Errorf("lint: ESLint is not installed (run scripts/setup.sh, or set SPOKE_LINT_NODE_MODULES): %w", errUnavailable)
	}
	dir, err := os.MkdirTemp("", "spoke-lint-")
	if err != nil {
		return nil, nil, fmt.Errorf("lint: temporary directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	err = fs.WalkDir(jsFiles, "js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := jsFiles.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o600)
	})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("lint: write the ESLint plugin: %w", err)
	}
	modules, err := filepath.Abs(l.cfg.NodeModules)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("lint: %w", err)
	}
	cmd := exec.Command(l.cfg.NodePath, "--max-old-space-size=256", filepath.Join(dir, "server.js"), l.settings(l.cfg.NodeLibraries))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "NODE_PATH=" + modules}
	cmd.Dir = dir
	return cmd, cleanup, nil
}

// startPython runs the embedded checker with python3 -I (no user site, no
// environment variables), so only the standard library is involved.
func (l *Linter) startPython() (*exec.Cmd, func(), error) {
	if !exists(l.cfg.PythonPath) {
		return nil, nil, fmt.Errorf("lint: %s not found: %w", l.cfg.PythonPath, errUnavailable)
	}
	cmd := exec.Command(l.cfg.PythonPath, "-I", "-c", pythonChecker, l.settings(l.cfg.PythonLibraries))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return cmd, func() {}, nil
}

// findNodeModules looks for lint/node_modules with ESLint in it.
func findNodeModules() string {
	if d := os.Getenv("SPOKE_LINT_NODE_MODULES"); d != "" {
		return d
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			for _, c := range []string{filepath.Join(d, "lint", "node_modules"), filepath.Join(d, "node_modules")} {
				if exists(filepath.Join(c, "eslint", "package.json")) && exists(filepath.Join(filepath.Dir(c), "package-lock.json")) {
					return c
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return ""
}

// ActionFindings are the findings of one custom code action of a flow.
type ActionFindings struct {
	ActionID string
	Findings []Finding
}

// Flow checks every custom code action of f, with the action's declared
// inputs and outputs, and returns the findings of the actions that have
// some, in the flow's order. A language whose linter is not installed gives
// one lint-unavailable warning per action instead; any other failure of a
// linter is returned as an error.
func (l *Linter) Flow(ctx context.Context, f *spoke.Flow) ([]ActionFindings, error) {
	var out []ActionFindings
	for i := range f.Actions {
		a := &f.Actions[i]
		if a.Type != spoke.ActionCustomCode {
			continue
		}
		lang := LanguageOfRuntime(a.Runtime)
		if lang == "" || strings.TrimSpace(a.SourceCode) == "" {
			continue
		}
		src := Source{Language: lang, Code: a.SourceCode, Inputs: []string{}, Outputs: []string{}}
		for _, in := range a.InputFields {
			src.Inputs = append(src.Inputs, in.Name)
		}
		for _, o := range a.OutputFields {
			src.Outputs = append(src.Outputs, o.Name)
		}
		findings, err := l.Lint(ctx, src)
		if errors.Is(err, ErrUnavailable) {
			findings = []Finding{{Rule: "lint-unavailable", Severity: SeverityWarning, Line: 1, Column: 1,
				Message: "This code was not checked: " + strings.TrimPrefix(err.Error(), "lint: ") + "."}}
		} else if err != nil {
			return nil, fmt.Errorf("lint action %s: %w", a.ActionID, err)
		}
		if len(findings) > 0 {
			out = append(out, ActionFindings{ActionID: a.ActionID, Findings: findings})
		}
	}
	return out, nil
}
