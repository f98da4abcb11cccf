package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/lint"
)

func init() { commands["lint"] = lintCommand }

const lintUsage = `Usage: spoke lint [flags] FILE...

Checks custom code actions without running them: JavaScript with ESLint and
Spoke's rules, Python with Python's ast module. FILE is a .js/.cjs/.mjs or .py
file, or a flow (.json, HubSpot's automation v4 shape), whose custom code
actions are checked with the inputs and outputs they declare.

Prints one line per finding, "file:line:col rule severity: message" (for a
flow, file is "flow.json#actionId"), or a JSON array with --format json.
Exits 1 if any finding is an error, 0 otherwise, and 2 on bad usage or when a
linter is not installed (run scripts/setup.sh).

Flags:
`

// lintTarget is one piece of code to check and the name findings carry.
type lintTarget struct {
	file     string
	actionID string
	src      lint.Source
}

// lintResult is one finding as --format json prints it.
type lintResult struct {
	File     string `json:"file"`
	ActionID string `json:"actionId,omitempty"`
	lint.Finding
}

// lintCommand implements "spoke lint".
func lintCommand(ctx context.Context, args []string) int {
	l := lint.New(lint.Config{})
	defer l.Close()
	return lintMain(ctx, l, args, os.Stdout, os.Stderr)
}

func lintMain(ctx context.Context, l *lint.Linter, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, lintUsage)
		fs.PrintDefaults()
	}
	format := fs.String("format", "text", "text or json")
	runtimeName := fs.String("runtime", "", "NODE20X, NODE16X, NODE24X or PYTHON39 (default: from the file extension)")
	inputs := fs.String("inputs", "", "the action's declared input field names, comma-separated (checks input-undeclared)")
	outputs := fs.String("outputs", "", "the action's declared output field names, comma-separated (checks output-undeclared and output-unreturned)")
	listRules := fs.Bool("rules", false, "list the rules and exit")

	// Accept flags before and after the files.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *listRules {
		for _, r := range lint.Rules {
			langs := []string{}
			if r.JavaScript {
				langs = append(langs, "js")
			}
			if r.Python {
				langs = append(langs, "py")
			}
			fmt.Fprintf(stdout, "%-22s %-7s %-5s %s\n", r.ID, r.Severity, strings.Join(langs, ","), r.Summary)
		}
		return 0
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "spoke lint: --format %q: want text or json\n", *format)
		return 2
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	var lang lint.Language
	if *runtimeName != "" {
		if lang = lint.LanguageOfRuntime(*runtimeName); lang == "" {
			fmt.Fprintf(stderr, "spoke lint: --runtime %q: want NODE20X, NODE16X, NODE24X or PYTHON39\n", *runtimeName)
			return 2
		}
	}
	set := func(flagName, v string) []string {
		if !flagSet(fs, flagName) {
			return nil // unknown: the rules that need the list stay silent
		}
		list := []string{}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return list
	}

	var targets []lintTarget
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "spoke lint: %v\n", err)
			return 2
		}
		if strings.EqualFold(filepath.Ext(file), ".json") {
			t, err := flowTargets(file, b)
			if err != nil {
				fmt.Fprintf(stderr, "spoke lint: %v\n", err)
				return 2
			}
			targets = append(targets, t...)
			continue
		}
		fl := lang
		if fl == "" {
			if fl = lint.LanguageOfFile(file); fl == "" {
				fmt.Fprintf(stderr, "spoke lint: cannot tell the language of %s from its extension; pass --runtime\n", file)
				return 2
			}
		}
		targets = append(targets, lintTarget{file: file, src: lint.Source{Language: fl, Code: string(b),
			Inputs: set("inputs", *inputs), Outputs: set("outputs", *outputs)}})
	}

	results := []lintResult{}
	errs, warns := 0, 0
	for _, t := range targets {
		findings, err := l.Lint(ctx, t.src)
		if err != nil {
			fmt.Fprintf(stderr, "spoke lint: %s: %v\n", t.file, err)
			return 2
		}
		for _, f := range findings {
			results = append(results, lintResult{File: t.file, ActionID: t.actionID, Finding: f})
			if f.Severity == lint.SeverityError {
				errs++
			} else {
				warns++
			}
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "spoke lint: %v\n", err)
			return 2
		}
	} else {
		for _, r := range results {
			name := r.File
			if r.ActionID != "" {
				name += "#" + r.ActionID
			}
			fmt.Fprintf(stdout, "%s:%d:%d %s %s: %s\n", name, r.Line, r.Column, r.Rule, r.Severity, r.Message)
		}
		if len(results) > 0 {
			fmt.Fprintf(stderr, "%d error(s), %d warning(s)\n", errs, warns)
		}
	}
	if errs > 0 {
		return 1
	}
	return 0
}

// flowTargets returns the custom code actions of a flow file, each with the
// inputs and outputs it declares.
func flowTargets(file string, b []byte) ([]lintTarget, error) {
	var doc struct {
		Actions []spoke.Action `json:"actions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a flow: %w", file, err)
	}
	var out []lintTarget
	for _, a := range doc.Actions {
		if a.Type != spoke.ActionCustomCode {
			continue
		}
		lang := lint.LanguageOfRuntime(a.Runtime)
		if lang == "" {
			return nil, fmt.Errorf("%s: action %s: unknown runtime %q", file, a.ActionID, a.Runtime)
		}
		src := lint.Source{Language: lang, Code: a.SourceCode, Inputs: []string{}, Outputs: []string{}}
		for _, in := range a.InputFields {
			src.Inputs = append(src.Inputs, in.Name)
		}
		for _, o := range a.OutputFields {
			src.Outputs = append(src.Outputs, o.Name)
		}
		out = append(out, lintTarget{file: file, actionID: a.ActionID, src: src})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: the flow has no CUSTOM_CODE actions", file)
	}
	return out, nil
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}
