package codetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"score.js":        "exports.main = async () => ({ outputFields: {} });",
		"short.js":        "exports.main = async () => ({ outputFields: {} });",
		".env":            "# local secrets\nexport FROM_DOTENV=\"dot-value\"\nOTHER=x\n",
		"short.test.yaml": "inputFields: {email: a@b.c}\nexpect: {outputs: {score: 10}}\n",
		"score.test.yaml": `file: score.js
cases:
  - name: full
    runtime: NODE16X
    event:
      inputFields: {n: 1}
      object: {objectType: deal, objectId: 9}
      origin: {portalId: 77, actionDefinitionId: 5}
    secrets:
      LIT: plain
      ENV: {env: SPOKE_TEST_ENV}
      DOT: {dotenv: FROM_DOTENV}
      TOK: {crm: token}
    crm:
      records:
        ada: {type: contacts, properties: {email: ada@x.example, age: 36}}
        acme: {type: companies, properties: {name: Acme}}
      associations: [[ada, acme]]
    http:
      - "POST https://api.example.com/x → 201 {\"ok\": true}"
      - {method: get, url: "https://api.example.com/y", status: 429, body: {error: slow}}
    timeout: 2s
    memory: 256
    expect:
      error: {type: RATE_LIMITED, message: {matches: "slow"}}
      logs: [hello, noSecrets, {matches: "^a"}]
      maxDuration: 1500
      maxMemoryMB: 64
`,
	})
	env := func(k string) (string, bool) {
		if k == "SPOKE_TEST_ENV" {
			return "env-value", true
		}
		return "", false
	}
	short, err := LoadFile(filepath.Join(dir, "short.test.yaml"), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(short) != 1 || short[0].Name != "case 1" || short[0].Runtime != "NODE20X" || short[0].Code != filepath.Join(dir, "short.js") ||
		short[0].Event.InputFields["email"] != "a@b.c" || short[0].Expect.Status != "SUCCESS" || short[0].Expect.Outputs[0].Checks[0].Value != float64(10) {
		t.Errorf("three-line case: %+v", short[0])
	}
	cs, err := LoadFile(filepath.Join(dir, "score.test.yaml"), env)
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	if c.Runtime != "NODE20X" || c.Event.ObjectType != "DEAL" || c.Event.ObjectID != 9 || c.Event.PortalID != 77 || c.Event.ActionDefinitionID != 5 {
		t.Errorf("event: %+v", c.Event)
	}
	secrets := map[string]Secret{}
	for _, s := range c.Secrets {
		secrets[s.Name] = s
	}
	if secrets["LIT"].Value != "plain" || secrets["ENV"].Value != "env-value" || secrets["DOT"].Value != "dot-value" || !secrets["TOK"].CRMToken {
		t.Errorf("secrets: %+v", secrets)
	}
	if len(c.CRM.Records) != 2 || c.CRM.Records[0].Ref != "ada" || c.CRM.Records[0].Properties["age"] != "36" || len(c.CRM.Associations) != 1 {
		t.Errorf("crm: %+v", c.CRM)
	}
	if len(c.HTTP) != 2 || c.HTTP[0].Method != "POST" || c.HTTP[0].Status != 201 || c.HTTP[0].Body != `{"ok": true}` ||
		c.HTTP[1].Method != "GET" || c.HTTP[1].Status != 429 || c.HTTP[1].Body != `{"error":"slow"}` {
		t.Errorf("http: %+v", c.HTTP)
	}
	if c.Timeout != 2*time.Second || c.MemoryMB != 256 || c.Expect.Status != "ERROR" || c.Expect.ErrorType != "RATE_LIMITED" ||
		len(c.Expect.Logs) != 3 || !c.Expect.Logs[1].NoSecrets || c.Expect.MaxDuration != 1500*time.Millisecond || c.Expect.MaxMemoryMB != 64 {
		t.Errorf("case: %+v", c)
	}
}

// TestBrokenCaseFiles checks that each mistake is reported with the file,
// the line and what is wrong.
func TestBrokenCaseFiles(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{"inputFields: [1\n", ":1: "},
		{"cases:\n  - name: a\n    expect:\n      outputs: {x: {gt: lots}}\n", ":4: expect.outputs.x: gt wants a number"},
		{"cases:\n  - name: a\n    expekt: {}\n", `:3: case: unknown key "expekt"`},
		{"cases:\n  - name: a\n  - name: a\n", `:3: case "a" is already defined on line 2`},
		{"expect:\n  error: OOPS\n", `:2: expect.error: unknown error type "OOPS"`},
		{"secrets:\n  K: {env: SPOKE_SURELY_UNSET_VAR}\n", ":2: secret K: environment variable SPOKE_SURELY_UNSET_VAR is not set"},
		{"http:\n  - GET nowhere -> 200\n", `:2: http: url "nowhere" must start with http:// or https://`},
		{"http:\n  - GET https://x.example/ 200\n", `want "METHOD URL -> STATUS [BODY]"`},
		{"event: {object: bob}\n", `:1: event.object "bob" names no record under crm.records`},
		{"crm:\n  records:\n    ada: {properties: {}}\n", ":3: crm.records.ada needs a type"},
		{"expect:\n  outputs: {s: {matches: \"(\"}}\n", ":2: expect.outputs.s: matches: not a regular expression"},
		{"expect:\n  maxDuration: soon\n", ":2: expect.maxDuration must be a positive duration"},
		{"", ": the file holds no test case"},
	}
	for i, tc := range tests {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"c.js": "exports.main = async () => ({});", "c.test.yaml": tc.body})
		path := filepath.Join(dir, "c.test.yaml")
		_, err := LoadFile(path, func(string) (string, bool) { return "", false })
		if err == nil {
			t.Errorf("%d: no error for %q", i, tc.body)
			continue
		}
		if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: error %q, want %s...%s", i, err, path, tc.want)
		}
	}
	// A case file without its code.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"gone.test.yaml": "inputFields: {}\n"})
	if _, err := LoadFile(filepath.Join(dir, "gone.test.yaml"), nil); err == nil || !strings.Contains(err.Error(), "the code under test") {
		t.Errorf("missing code: %v", err)
	}
	os.RemoveAll(dir)
}

func TestParseStubLine(t *testing.T) {
	t.Parallel()
	s, err := parseStubLine("get https://api.example.com/x?a=1 -> 503")
	if err != nil || s.Method != "GET" || s.URL != "https://api.example.com/x?a=1" || s.Status != 503 || s.Body != "" {
		t.Errorf("%+v %v", s, err)
	}
	if _, err := parseStubLine(`GET https://a.example/ -> 200 {"broken"`); err == nil {
		t.Error("broken JSON body accepted")
	}
}
