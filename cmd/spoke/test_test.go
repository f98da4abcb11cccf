package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestCommand checks spoke test's exit codes, output formats and that
// a secret from .env is never printed.
func TestTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "dotenv-secret-value-93"
	files := map[string]string{
		".env":           "API_KEY=" + secret + "\n",
		"ok/a.js":        `exports.main = async (e, cb) => { console.log('key', process.env.API_KEY); cb({ outputFields: { v: e.inputFields.v } }); };`,
		"ok/a.test.yaml": "secrets: {API_KEY: {dotenv: API_KEY}}\ninputFields: {v: x}\nexpect: {outputs: {v: x}}\n",
		"bad/b.js":       `exports.main = async (e, cb) => cb({ outputFields: { v: 'leak ' + process.env.API_KEY } });`,
		"bad/b.test.json": `{"cases": [{"name": "leaks", "secrets": {"API_KEY": {"dotenv": "API_KEY"}}, "expect": {"outputs": {"v": "nope"}, "logs": ["noSecrets"]}},
		                 {"name": "fine", "expect": {"outputs": {"v": {"exists": true}}}}]}`,
		"broken/c.js":        `exports.main = async () => ({});`,
		"broken/c.test.yaml": "cases:\n  - name: x\n    expect:\n      outputs: {v: {gt: 0, between: 1}}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := testMain(context.Background(), args, &out, &errb)
		if strings.Contains(out.String()+errb.String(), secret) {
			t.Errorf("spoke test %v printed the secret:\n%s%s", args, out.String(), errb.String())
		}
		return code, out.String(), errb.String()
	}
	code, out, _ := run(filepath.Join(dir, "ok"))
	if code != 0 || !strings.Contains(out, "ok   "+filepath.Join(dir, "ok", "a.test.yaml")+": case 1 (") || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("passing run: exit %d\n%s", code, out)
	}
	code, out, _ = run(filepath.Join(dir, "bad", "b.js"))
	if code != 1 || !strings.Contains(out, "FAIL "+filepath.Join(dir, "bad", "b.test.json")+": leaks") ||
		!strings.Contains(out, "noSecrets: the value of secret API_KEY (.env API_KEY) appears in the outputs") ||
		!strings.Contains(out, `got "leak [secret API_KEY]"`) || !strings.Contains(out, "1 passed, 1 failed") {
		t.Errorf("failing run: exit %d\n%s", code, out)
	}
	code, _, errs := run(dir)
	if code != 2 || !strings.Contains(errs, filepath.Join(dir, "broken", "c.test.yaml")+`:4: expect.outputs.v: unknown check "between"`) {
		t.Errorf("broken case file: exit %d\n%s", code, errs)
	}
	if code, _, _ := run("--format", "xml", dir); code != 2 {
		t.Errorf("bad --format: exit %d", code)
	}
	if code, _, errs := run(filepath.Join(dir, "nothing-here")); code != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing path: exit %d: %s", code, errs)
	}
	code, out, _ = run("--format", "junit", filepath.Join(dir, "ok"), filepath.Join(dir, "bad"))
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil || code != 1 || suites.Tests != 3 || suites.Failures != 1 {
		t.Errorf("junit: exit %d, %+v, %v\n%s", code, suites, err, out)
	}
	code, out, _ = run("--format", "json", "--repeat", "2", filepath.Join(dir, "ok"))
	var doc struct {
		Passed, Failed int
		Cases          []struct{ Runs, PassedRuns int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || doc.Passed != 1 || doc.Cases[0].Runs != 2 || doc.Cases[0].PassedRuns != 2 {
		t.Errorf("json: exit %d, %+v, %v\n%s", code, doc, err, out)
	}
}

// TestInitThenTest scaffolds a flow folder and runs its cases: they pass
// straight away.
func TestInitThenTest(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "leads")
	var out, errb bytes.Buffer
	if code := initMain(context.Background(), []string{dir}, &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"flow.yaml", "actions/score.js", "actions/score.test.yaml", "README.md", "properties.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s", f)
		}
	}
	if code := initMain(context.Background(), []string{dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already exists") {
		t.Errorf("init over an existing folder: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := testMain(context.Background(), []string{dir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "2 passed, 0 failed") {
		t.Errorf("spoke test on the scaffold: exit %d\n%s", code, out.String())
	}
}
