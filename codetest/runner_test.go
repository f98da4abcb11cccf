package codetest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// subjectJS behaves according to its "mode" input, so that one file can
// exercise every expectation.
const subjectJS = `const hubspot = require('@hubspot/api-client');
exports.main = async (event, callback) => {
  const m = event.inputFields.mode;
  console.log('mode ' + m + ' key ' + process.env.API_KEY);
  if (m === 'throw') throw new Error('boom');
  if (m === 'ratelimit') { const e = new Error('slow down'); e.response = { status: 429 }; throw e; }
  if (m === 'leak') return callback({ outputFields: { token: 'tok:' + process.env.API_KEY } });
  if (m === 'sleep') await new Promise(r => setTimeout(r, 400));
  if (m === 'mem') { globalThis.big = Buffer.alloc(60 * 1024 * 1024, 1); }
  if (m === 'random') return callback({ outputFields: { coin: Math.random() < 0.5 ? 'heads' : 'tails' } });
  if (m === 'crm') {
    const client = new hubspot.Client({ accessToken: process.env.HUBSPOT_TOKEN });
    await client.crm.contacts.basicApi.update(String(event.object.objectId), { properties: { lifecyclestage: 'customer' } });
    const co = await client.crm.companies.basicApi.create({ properties: { name: 'Made by code', domain: 'made.example' } });
    await client.crm.associations.v4.basicApi.createDefault('contacts', String(event.object.objectId), 'companies', co.id);
    return callback({ outputFields: { company: co.id } });
  }
  if (m === 'http') {
    const r = await fetch('http://api.example.com/score?email=' + encodeURIComponent(event.inputFields.email));
    if (r.status === 429) { const e = new Error('rate limited'); e.response = { status: 429 }; throw e; }
    const j = await r.json();
    return callback({ outputFields: { score: j.score, status: r.status } });
  }
  if (m === 'https') {
    const r = await fetch('https://api.example.com/v1/enrich?domain=acme.example');
    const j = await r.json();
    return callback({ outputFields: { company: j.company, status: r.status } });
  }
  if (m === 'hubapi') {
    const r = await fetch('https://api.hubapi.com/crm/v3/objects/contacts?properties=email', { headers: { authorization: 'Bearer ' + process.env.HUBSPOT_TOKEN } });
    const j = await r.json();
    return callback({ outputFields: { email: j.results[0].properties.email, count: j.results.length } });
  }
  callback({ outputFields: { n: 7, s: 'hello world', b: true, o: { a: 1 }, arr: [1, 2], nul: null, mode: m } });
};
`

const subjectPy = `import requests
def main(event):
    print("python says " + event["inputFields"]["name"])
    out = {"greeting": "hi " + event["inputFields"]["name"], "portal": event["origin"]["portalId"]}
    if event["inputFields"].get("url"):
        r = requests.get(event["inputFields"]["url"])
        out["status"] = r.status_code
        out["body"] = r.json()
    return {"outputFields": out}
`

// testRunner starts one runner for a test; cases run one at a time.
func testRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	r, err := NewRunner(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const secretValue = "sk-live-4f9a8b7c6d"

// TestExpectations runs one case per expectation kind, passing and
// failing, in the real sandbox, and checks each failure message.
func TestExpectations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// want: "" for a case that must pass, else substrings of its failures.
	table := []struct {
		name string
		yaml string
		want []string
	}{
		{"every output check passes", `
    inputFields: {mode: plain}
    expect:
      outputs:
        n: {equals: 7, gt: 6, lt: 8, gte: 7, lte: 7, type: number}
        s: {matches: "^hello", contains: "o w", type: string}
        b: true
        o: {a: 1}
        arr: [1, 2]
        nul: {type: "null"}
        missing: {exists: false}
        mode: {exists: true}`, nil},
		{"equals fails", `
    inputFields: {mode: plain}
    expect: {outputs: {n: 8, s: "7"}}`, []string{"outputs.n: got 7 (number), want equal to 8", `outputs.s: got "hello world" (string), want equal to "7"`}},
		{"matches, gt, lt, exists and type fail", `
    inputFields: {mode: plain}
    expect:
      outputs:
        s: {matches: "^bye"}
        n: {gt: 10}
        b: {lt: 1}
        mode: {exists: false}
        nope: {exists: true}
        o: {type: array}`, []string{"outputs.s: got \"hello world\" (string), want matching /^bye/", "outputs.n: got 7 (number), want greater than 10",
			"outputs.b: got true (boolean), want less than 1", "outputs.mode: got \"plain\", want it absent", "outputs.nope: absent, want it present",
			"outputs.o: got {\"a\":1} (object), want of type array"}},
		{"error type and message", `
    inputFields: {mode: throw}
    expect: {error: {type: UNCAUGHT_ERROR, message: {contains: boom}}}`, nil},
		{"rate limit", `
    inputFields: {mode: ratelimit}
    expect: {error: RATE_LIMITED}`, nil},
		{"wrong error type", `
    inputFields: {mode: throw}
    expect: {error: RATE_LIMITED}`, []string{"error: got UNCAUGHT_ERROR (boom), want RATE_LIMITED"}},
		{"unexpected error", `
    inputFields: {mode: throw}`, []string{"status: got ERROR, want SUCCESS (UNCAUGHT_ERROR: boom)"}},
		{"expected an error", `
    inputFields: {mode: plain}
    expect: {status: ERROR}`, []string{"status: got SUCCESS, want ERROR"}},
		{"logs pass", `
    inputFields: {mode: plain}
    secrets: {API_KEY: ` + secretValue + `}
    expect:
      logs:
        - contains: "mode plain"
        - matches: "key \\[REDACTED\\]$"
        - notContains: "mode other"
        - noSecrets`, nil},
		{"logs fail", `
    inputFields: {mode: plain}
    expect:
      logs:
        - contains: "mode other"
        - matches: "^never"
        - notContains: "mode plain"`, []string{`logs: no line contains "mode other"`, "logs: no line matches /^never/", `logs: a line contains "mode plain", which must not appear`}},
		{"a secret leaks into the outputs", `
    inputFields: {mode: leak}
    secrets: {API_KEY: ` + secretValue + `}
    expect:
      outputs: {token: "tok:nothing"}
      logs: [noSecrets]`, []string{"noSecrets: the value of secret API_KEY (literal) appears in the outputs", `got "tok:[secret API_KEY]"`}},
		{"crm writes pass", `
    inputFields: {mode: crm}
    secrets: {HUBSPOT_TOKEN: {crm: token}}
    crm:
      properties: [{objectType: contacts, name: tier, type: enumeration, fieldType: select, options: [gold, silver]}]
      records:
        ada: {type: contacts, properties: {email: ada@engines.example, tier: gold}}
    expect:
      outputs: {company: {matches: "^[0-9]+$"}}
      crm:
        updated: [{ref: ada, properties: {lifecyclestage: customer}}]
        created: [{type: companies, properties: {name: Made by code, domain: {contains: made}}}]
        associated: [[ada, companies]]
      logs: [noSecrets]`, nil},
		{"crm writes fail", `
    inputFields: {mode: crm}
    secrets: {HUBSPOT_TOKEN: {crm: token}}
    crm:
      records:
        ada: {type: contacts, properties: {email: ada@engines.example}}
        bob: {type: contacts, properties: {email: bob@engines.example}}
    expect:
      crm:
        none: true
        updated: [{ref: ada, properties: {lifecyclestage: lead}}, {ref: bob}]
        created: [{type: deals}]
        associated: [[bob, companies]]`, []string{"crm: want no writes, got 1 created, 1 updated, 1 associated",
			`ada: lifecyclestage: got "customer" (string), want equal to "lead"`, "bob was not updated",
			"no created deals record matches", "no association bob - companies; associated: [ada - companies#1]"}},
		{"declared http", `
    inputFields: {mode: http, email: a@b.example}
    http:
      - "GET http://api.example.com/score?email=a%40b.example -> 200 {\"score\": 42}"
    expect: {outputs: {score: 42, status: 200}}`, nil},
		{"declared 429", `
    inputFields: {mode: http, email: a@b.example}
    http:
      - {method: GET, url: "http://api.example.com/score", status: 429}
    expect: {error: RATE_LIMITED}`, nil},
		{"undeclared http", `
    inputFields: {mode: http, email: a@b.example}
    expect: {status: ERROR}`, []string{"external call GET http://api.example.com/score?email=a%40b.example has no declared response"}},
		{"declared https", `
    inputFields: {mode: https}
    http: ["GET https://api.example.com/v1/enrich -> 200 {\"company\": \"Acme\"}"]
    expect: {outputs: {company: Acme, status: 200}}`, nil},
		{"undeclared https", `
    inputFields: {mode: https}
    expect: {status: ERROR}`, []string{"external call GET https://api.example.com/v1/enrich?domain=acme.example has no declared response"}},
		{"api.hubapi.com reaches the seeded CRM", `
    inputFields: {mode: hubapi}
    secrets: {HUBSPOT_TOKEN: {crm: token}}
    crm:
      records:
        ada: {type: contacts, properties: {email: ada@engines.example}}
    expect: {outputs: {email: ada@engines.example, count: 1}}`, nil},
		{"within budgets", `
    inputFields: {mode: plain}
    expect: {maxDuration: 5s, maxMemoryMB: 128}`, nil},
		{"over the time budget", `
    inputFields: {mode: sleep}
    expect: {maxDuration: 150ms}`, []string{"duration: took", "over the budget of 150ms"}},
		{"over the memory budget", `
    inputFields: {mode: mem}
    memory: 256
    expect: {maxMemoryMB: 40}`, []string{"memory: used", "over the budget of 40 MB"}},
		{"the real time limit", `
    inputFields: {mode: sleep}
    timeout: 100ms
    expect: {error: TIMEOUT}`, nil},
	}
	var b strings.Builder
	b.WriteString("cases:\n")
	for _, c := range table {
		b.WriteString("  - name: " + c.name + strings.ReplaceAll(c.yaml, "\n    ", "\n    ") + "\n")
	}
	writeFiles(t, dir, map[string]string{"subject.js": subjectJS, "subject.test.yaml": b.String(),
		"hello.py": subjectPy, "hello.test.json": `{"cases": [
		  {"name": "python", "inputFields": {"name": "Ada"}, "expect": {"outputs": {"greeting": "hi Ada", "portal": 1}, "logs": ["python says Ada"]}},
		  {"name": "python https", "inputFields": {"name": "Ada", "url": "https://api.example.com/py"},
		   "http": [{"method": "GET", "url": "https://api.example.com/py", "status": 201, "body": {"ok": true}}],
		   "expect": {"outputs": {"status": 201, "body": {"ok": true}}}}]}`})
	files, err := Find([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	cases, errs := Load(files, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r := testRunner(t, Options{})
	results := r.Run(context.Background(), cases)
	if len(results) != len(table)+2 {
		t.Fatalf("%d results for %d cases", len(results), len(table)+2)
	}
	byName := map[string]*Result{}
	for _, res := range results {
		byName[res.Case.Name] = res
		// No secret value is ever shown, in any failure or outcome.
		j, _ := json.Marshal(res)
		if strings.Contains(string(j), secretValue) || strings.Contains(strings.Join(res.Failures, "\n"), secretValue) {
			t.Errorf("%s: the secret value is shown: %s", res.Case.Name, j)
		}
	}
	for _, name := range []string{"python", "python https"} {
		if res := byName[name]; res == nil || !res.Passed {
			t.Errorf("%s case: %+v", name, res)
		}
	}
	for _, c := range table {
		res := byName[c.name]
		if res == nil {
			t.Errorf("%s: no result", c.name)
			continue
		}
		all := strings.Join(res.Failures, "\n")
		if len(c.want) == 0 {
			if !res.Passed {
				t.Errorf("%s: failed:\n%s", c.name, all)
			}
			continue
		}
		if res.Passed {
			t.Errorf("%s: passed, want a failure", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: failures lack %q:\n%s", c.name, w, all)
			}
		}
	}

	// Reports: text, JUnit and JSON.
	var text bytes.Buffer
	WriteText(&text, results, time.Second)
	if !strings.Contains(text.String(), "FAIL "+filepath.Join(dir, "subject.test.yaml")+": equals fails") ||
		!strings.Contains(text.String(), "ok   "+filepath.Join(dir, "subject.test.yaml")+": rate limit") {
		t.Errorf("text report:\n%s", text.String())
	}
	sum := Summarize(results)
	if !strings.HasSuffix(strings.TrimSpace(text.String()), sum.String()+" (1s)") {
		t.Errorf("summary line: %q", text.String()[strings.LastIndex(strings.TrimSpace(text.String()), "\n"):])
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, results, time.Second); err != nil {
		t.Fatal(err)
	}
	var js junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &js); err != nil {
		t.Fatalf("junit: %v\n%s", err, junit.String())
	}
	if js.Tests != len(results) || js.Failures != sum.Failed || len(js.Suites) != 2 {
		t.Errorf("junit: %d tests, %d failures, %d suites; want %d, %d, 2", js.Tests, js.Failures, len(js.Suites), len(results), sum.Failed)
	}
	var jsonOut bytes.Buffer
	if err := WriteJSON(&jsonOut, results, time.Second); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Passed, Failed int
		Cases          []struct {
			Name    string
			Passed  bool
			Outcome struct{ Status string }
		}
	}
	if err := json.Unmarshal(jsonOut.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Passed != sum.Passed || doc.Failed != sum.Failed || len(doc.Cases) != len(results) || doc.Cases[0].Outcome.Status == "" {
		t.Errorf("json: %+v", doc)
	}
}

// TestSnapshots creates, compares and updates snapshots.
func TestSnapshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code := `exports.main = async (event, callback) => { console.log('greeting ' + event.inputFields.name); callback({ outputFields: { greeting: 'hello ' + event.inputFields.name } }); };`
	writeFiles(t, dir, map[string]string{"greet.js": code, "greet.test.yaml": "inputFields: {name: Ada}\n"})
	load := func() []*Case {
		cs, err := LoadFile(filepath.Join(dir, "greet.test.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	snap := filepath.Join(dir, "greet.test.snap.json")
	run := func(update bool) *Result {
		r := testRunner(t, Options{Update: update, Runtimes: []string{sandbox.RuntimeNode}})
		res := r.Run(context.Background(), load())
		if err := r.Flush(); err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	if res := run(false); !res.Passed || res.Snapshot != "" {
		t.Fatalf("without a snapshot: %+v", res)
	}
	if _, err := os.Stat(snap); err == nil {
		t.Fatal("a snapshot was written without --update")
	}
	if res := run(true); res.Snapshot != "written" {
		t.Fatalf("update: %+v", res)
	}
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"greeting": "hello Ada"`) || !strings.Contains(string(b), `"INFO\tgreeting Ada"`) {
		t.Fatalf("snapshot file:\n%s", b)
	}
	if res := run(false); !res.Passed || res.Snapshot != "matched" {
		t.Fatalf("compare: %+v", res)
	}
	// The code changes: the case fails with a readable diff.
	writeFiles(t, dir, map[string]string{"greet.js": strings.Replace(code, "'hello '", "'hi '", 1)})
	res := run(false)
	if res.Passed || res.Snapshot != "mismatched" {
		t.Fatalf("changed code: %+v", res)
	}
	diff := strings.Join(res.Failures, "\n")
	for _, want := range []string{"snapshot differs (run with --update to accept)", "--- snapshot", "+++ this run", `-    "greeting": "hello Ada"`, `+    "greeting": "hi Ada"`} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if res := run(true); res.Snapshot != "written" {
		t.Fatalf("update after change: %+v", res)
	}
	if res := run(false); !res.Passed || res.Snapshot != "matched" {
		t.Fatalf("compare after update: %+v", res)
	}
}

// TestRepeat reports a case whose result changes between runs as flaky,
// and a steady one as not.
func TestRepeat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"subject.js": subjectJS, "subject.test.yaml": `cases:
  - name: coin
    inputFields: {mode: random}
    expect: {outputs: {coin: heads}}
  - name: steady
    inputFields: {mode: plain}
`})
	cases, err := LoadFile(filepath.Join(dir, "subject.test.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := testRunner(t, Options{Repeat: 24, Runtimes: []string{sandbox.RuntimeNode}})
	res := r.Run(context.Background(), cases)
	coin, steady := res[0], res[1]
	if !coin.Flaky || coin.Passed || coin.Runs != 24 || coin.PassedRuns == 0 || coin.PassedRuns == 24 {
		t.Errorf("coin: %+v", coin)
	}
	if !strings.HasPrefix(coin.Failures[0], "flaky: the result changed between runs") {
		t.Errorf("coin failures: %q", coin.Failures)
	}
	if steady.Flaky || !steady.Passed || steady.PassedRuns != 24 {
		t.Errorf("steady: %+v", steady)
	}
	if s := Summarize(res); s.String() != "1 passed, 1 failed, 1 flaky" {
		t.Errorf("summary %q", s)
	}
}
