package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spokehq/spoke/lint"
)

func TestLintCommand(t *testing.T) {
	t.Parallel()
	l := lint.New(lint.Config{})
	t.Cleanup(func() { l.Close() })
	dir := t.TempDir()
	write := func(name, code string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.js", "exports.main = async (event) => {\n  console.log(process.env.TOKEN);\n  return { outputFields: { a: 1 } };\n};\n")
	warnOnly := write("warn.py", "def main(event):\n    email = event.get('inputFields').get('email')\n    return {'outputFields': {'d': email.split('@')[1]}}\n")
	clean := write("clean.py", "def main(event):\n    return {'outputFields': {'n': 1}}\n")
	code := write("code.txt", "exports.main = async () => ({});")
	flowFile := write("flow.json", `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,"actions":[
 {"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"exports.main = async (event) => ({ outputFields: { score: 1 } });",
  "inputFields":[{"name":"email","value":{"type":"OBJECT_PROPERTY","propertyName":"email"}}],"outputFields":[{"name":"tier","type":"STRING"}]},
 {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"MINUTES"}}]}`)

	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := lintMain(context.Background(), l, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	line := regexp.MustCompile(`^(.+):(\d+):(\d+) ([a-z-]+) (error|warning): (.+)$`)

	t.Run("text, errors exit 1", func(t *testing.T) {
		code, out, errOut := run(bad)
		if code != 1 {
			t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 {
			t.Fatalf("want one finding, got %q", out)
		}
		m := line.FindStringSubmatch(lines[0])
		if m == nil || m[1] != bad || m[2] != "2" || m[3] != "15" || m[4] != "secret-in-log" || m[5] != "error" {
			t.Fatalf("line %q does not match file:line:col rule severity: message", lines[0])
		}
		if !strings.Contains(errOut, "1 error(s), 0 warning(s)") {
			t.Errorf("summary %q", errOut)
		}
	})
	t.Run("warnings exit 0", func(t *testing.T) {
		code, out, _ := run(warnOnly, clean)
		if code != 0 || !strings.Contains(out, "warn.py:3:") || !strings.Contains(out, "unchecked-input warning:") {
			t.Fatalf("exit %d, out %q", code, out)
		}
	})
	t.Run("clean exit 0, no output", func(t *testing.T) {
		code, out, errOut := run(clean)
		if code != 0 || out != "" || errOut != "" {
			t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := run("--format", "json", bad, "--outputs", "a,b")
		if code != 1 {
			t.Fatalf("exit %d", code)
		}
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		rules := map[string]bool{}
		for _, f := range got {
			rules[f["rule"].(string)] = true
			if f["file"] != bad || f["line"] == nil || f["column"] == nil || f["severity"] == nil || f["message"] == "" {
				t.Errorf("finding %v", f)
			}
		}
		if !rules["secret-in-log"] || !rules["output-unreturned"] || len(got) != 2 {
			t.Errorf("findings %v", got)
		}
		code, out, _ = run("--format", "json", clean)
		if code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("clean json: exit %d, %q", code, out)
		}
	})
	t.Run("flow file", func(t *testing.T) {
		code, out, _ := run(flowFile)
		if code != 1 {
			t.Fatalf("exit %d, out %q", code, out)
		}
		for _, want := range []string{flowFile + "#1:1:", "output-unreturned error: Output \"tier\"", "output-undeclared warning: Output \"score\""} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("runtime overrides the extension", func(t *testing.T) {
		code, _, errOut := run("--runtime", "NODE20X", code)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no files", nil, "Usage"},
		{"bad format", []string{"--format", "xml", clean}, "want text or json"},
		{"unknown extension", []string{code}, "pass --runtime"},
		{"bad runtime", []string{"--runtime", "RUBY", clean}, "want NODE20X"},
		{"missing file", []string{filepath.Join(dir, "nope.js")}, "no such file"},
		{"unknown flag", []string{"--nope", clean}, "flag provided but not defined"},
	} {
		t.Run("usage: "+tc.name, func(t *testing.T) {
			code, _, errOut := run(tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.msg)
			}
		})
	}
	t.Run("eslint missing exits 2", func(t *testing.T) {
		missing := lint.New(lint.Config{NodeModules: t.TempDir()})
		defer missing.Close()
		var out, errOut bytes.Buffer
		code := lintMain(context.Background(), missing, []string{bad}, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "scripts/setup.sh") {
			t.Fatalf("exit %d, stderr %q", code, errOut.String())
		}
	})
}
