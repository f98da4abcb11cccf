package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/internal/pgtest"
	"github.com/spokehq/spoke/postgres"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sandbox/egress"
	"github.com/spokehq/spoke/sqlite"
)

// These tests run flows end to end: the HTTP API, the store (SQLite and
// PostgreSQL, each test once per driver), the engine's runners and the real code sandbox (bubblewrap; see
// scripts/setup-sandbox.sh), with an injectable clock for retries.

const itToken = "integration-admin-token"

type itClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *itClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *itClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type itEnv struct {
	t   *testing.T
	url string
	// metrics serves the Prometheus registry, as spoke serve does on its
	// own address (not the API's).
	metrics string
	db      itStore
	// sqlite is the store when the driver is SQLite, else nil.
	sqlite *sqlite.DB
	eng    *engine.Engine
	clock  *itClock
	acct   int64
	// hook receives webhooks and is allowed by the egress proxy; denied
	// has the same handler but is not.
	hook, denied *httptest.Server
	hooks        *hookLog
}

// hookLog records the webhooks received.
type hookLog struct {
	mu     sync.Mutex
	bodies []map[string]any
}

// itDrivers are the stores the integration tests run on, each test as a
// subtest per driver with the same assertions.
var itDrivers = []string{"sqlite", "postgres"}

// forEachDriver runs fn as a subtest per driver.
func forEachDriver(t *testing.T, fn func(t *testing.T, driver string)) {
	for _, d := range itDrivers {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// itStore is what the integration tests use of a store, whichever driver
// serves it.
type itStore interface {
	spoke.RecordService
	spoke.PropertyService
	spoke.AssociationService
	spoke.SchemaService
	spoke.TokenService
	spoke.OwnerService
	spoke.PipelineService
	spoke.FlowService
	spoke.EngineStore
	spoke.SecretService
	flow.Checker
	StoreToken(ctx context.Context, account int64, name, secret string, scopes []string, admin bool) (*spoke.Token, error)
	SetSecretKey(key []byte) error
}

// openStore opens a fresh store of the driver whose clock is now, and
// returns it with the functions that install the engine's trigger and,
// on PostgreSQL, deliver its notifications (as spoke serve wires them).
func openStore(t *testing.T, driver string, now func() time.Time) (itStore, *sqlite.DB, func(*engine.Engine, context.Context)) {
	t.Helper()
	ctx := context.Background()
	switch driver {
	case "sqlite":
		db, err := sqlite.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		return db, db, func(eng *engine.Engine, _ context.Context) { db.SetTrigger(eng.Trigger, eng.Wake) }
	case "postgres":
		db, err := postgres.Open(ctx, pgtest.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		return db, nil, func(eng *engine.Engine, runCtx context.Context) {
			db.SetTrigger(eng.Trigger, eng.Wake)
			go db.Listen(runCtx, eng.Wake, eng.FlowsChanged)
		}
	}
	t.Fatalf("unknown driver %q", driver)
	return nil, nil, nil
}

func setupIntegration(t *testing.T, driver string) *itEnv {
	t.Helper()
	ctx := context.Background()
	// The clock runs an hour behind, frozen, so nothing depends on the
	// real time except what should (durations).
	ck := &itClock{now: time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)}
	db, sq, wire := openStore(t, driver, ck.Now)
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StoreToken(ctx, acct, "admin", itToken, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*spoke.Property{
		{Name: "n", Type: "number", FieldType: "number"},
		{Name: "score", Type: "number", FieldType: "number"},
		{Name: "domain_out", Type: "string", FieldType: "text"},
		{Name: "vip", Type: "bool", FieldType: "booleancheckbox", Options: []spoke.Option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false"}}},
		{Name: "tier", Type: "enumeration", FieldType: "select", Options: []spoke.Option{{Label: "Gold", Value: "gold"}, {Label: "Silver", Value: "silver"}}},
		{Name: "seen_at", Type: "datetime", FieldType: "date"},
		{Name: "renewal", Type: "date", FieldType: "date"},
		{Name: "hotline", Type: "phone_number", FieldType: "phonenumber"},
		{Name: "colors", Type: "enumeration", FieldType: "checkbox", Options: []spoke.Option{{Label: "Red", Value: "red"}, {Label: "Blue", Value: "blue"}}},
		{Name: "echo", Type: "string", FieldType: "textarea"},
	} {
		p.ObjectType, p.Label, p.GroupName = "contacts", p.Name, "contactinformation"
		if _, err := db.CreateProperty(ctx, acct, p); err != nil {
			t.Fatalf("create property %s: %v", p.Name, err)
		}
	}

	e := &itEnv{t: t, db: db, sqlite: sq, clock: ck, acct: acct, hooks: &hookLog{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		body["_method"], body["_query"], body["_contentType"] = r.Method, r.URL.RawQuery, r.Header.Get("Content-Type")
		e.hooks.mu.Lock()
		e.hooks.bodies = append(e.hooks.bodies, body)
		e.hooks.mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	})
	e.hook = httptest.NewServer(handler)
	e.denied = httptest.NewServer(handler)
	t.Cleanup(e.hook.Close)
	t.Cleanup(e.denied.Close)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, ObjectTypes: db, Logger: logger, Now: ck.Now, Poll: 10 * time.Millisecond,
		HTTP:    engine.WebhookClient(egress.New(egress.Config{Allow: []string{strings.TrimPrefix(e.hook.URL, "http://")}, Logger: logger})),
		Metrics: engine.NewMetrics(reg, db)})
	srv := &api.Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Flows: db, FlowChecker: db,
		Engine: eng, EngineStore: db, Secrets: db, Logger: logger, Now: ck.Now}
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(metrics.Close)
	e.metrics = metrics.URL
	apiHandler := srv.Handler()
	ts := httptest.NewServer(apiHandler)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	ro := httptest.NewServer(api.ReadOnly(apiHandler))
	t.Cleanup(ro.Close)

	pool, err := sandbox.NewPool(sandbox.Config{APIURL: ts.URL, ReadOnlyAPIURL: ro.URL, SpareWorkers: -1, MaxWorkers: 6, Logger: logger})
	if err != nil {
		t.Fatalf("NewPool: %v (run scripts/setup-sandbox.sh)", err)
	}
	t.Cleanup(func() { pool.Close() })
	eng.Code = pool
	e.eng = eng

	runCtx, stop := context.WithCancel(context.Background())
	wire(eng, runCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		eng.Run(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return e
}

func (e *itEnv) do(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		s, ok := body.(string)
		if !ok {
			b, _ := json.Marshal(body)
			s = string(b)
		}
		rd = strings.NewReader(s)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+itToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, b)
		}
	}
	if res.StatusCode >= 500 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

func (e *itEnv) must(status int, method, path string, body any) map[string]any {
	e.t.Helper()
	got, m := e.do(method, path, body)
	if got != status {
		e.t.Fatalf("%s %s: %d, want %d: %v", method, path, got, status, m)
	}
	return m
}

func (e *itEnv) createFlow(actions string, criteria string) string {
	e.t.Helper()
	if criteria == "" {
		criteria = `{"type":"MANUAL","shouldReEnroll":false}`
	}
	body := `{"name":"it","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":` + criteria + `,"actions":` + actions + `}`
	return e.must(201, "POST", "/automation/v4/flows", body)["id"].(string)
}

func (e *itEnv) contact(props map[string]string) string {
	e.t.Helper()
	return e.must(201, "POST", "/crm/v3/objects/contacts", map[string]any{"properties": props})["id"].(string)
}

func (e *itEnv) enroll(flowID string, ids ...string) {
	e.t.Helper()
	m := e.must(202, "POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"objectIds": ids})
	if got := fmt.Sprint(m["enrolled"]); got != fmt.Sprint(ids) {
		e.t.Fatalf("enrolled %v, want %v: %v", got, ids, m)
	}
}

// waitEnrollment polls the flow's enrollments until the record's last one
// satisfies done, and returns it.
func (e *itEnv) waitEnrollment(flowID, objectID string, done func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		m := e.must(200, "GET", "/automation/v4/flows/"+flowID+"/enrollments", nil)
		for _, r := range m["results"].([]any) {
			if en := r.(map[string]any); en["objectId"] == objectID {
				last = en
			}
		}
		if last != nil && done(last) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("flow %s, record %s: enrollment never got there; last %v", flowID, objectID, last)
	return nil
}

func finished(en map[string]any) bool { return en["status"] != "ACTIVE" }

func (e *itEnv) executions(flowID, query string) []map[string]any {
	e.t.Helper()
	m := e.must(200, "GET", "/automation/v4/flows/"+flowID+"/executions?"+query, nil)
	var out []map[string]any
	for _, r := range m["results"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func (e *itEnv) properties(id string, names ...string) map[string]any {
	e.t.Helper()
	m := e.must(200, "GET", "/crm/v3/objects/contacts/"+id+"?properties="+strings.Join(names, ",")+"&propertiesWithHistory="+strings.Join(names, ","), nil)
	return m
}

func setProp(id, next, name, value string) string {
	conn := ""
	if next != "" {
		conn = `,"connection":{"edgeType":"STANDARD","nextActionId":"` + next + `"}`
	}
	return `{"type":"SINGLE_CONNECTION","actionId":"` + id + `","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"` + name + `","value":` + value + `}` + conn + `}`
}

func fieldData(action, key string) string {
	return `{"type":"FIELD_DATA","actionId":"` + action + `","dataKey":"` + key + `"}`
}

func codeAction(id, next, runtime, source, secrets, inputs, outputs string) string {
	src, _ := json.Marshal(source)
	conn := ""
	if next != "" {
		conn = `,"connection":{"edgeType":"STANDARD","nextActionId":"` + next + `"}`
	}
	return `{"type":"CUSTOM_CODE","actionId":"` + id + `","runtime":"` + runtime + `","sourceCode":` + string(src) + `,"secretNames":` + secrets +
		`,"inputFields":` + inputs + `,"outputFields":` + outputs + conn + `}`
}

func TestIntegrationRealSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the code sandbox")
	}
	forEachDriver(t, testIntegrationRealSandbox)
}

func testIntegrationRealSandbox(t *testing.T, driver string) {
	e := setupIntegration(t, driver)
	sub := func(name string, parallel bool, fn func(*itEnv)) {
		t.Run(name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			e := *e
			e.t = t
			fn(&e)
		})
	}
	// These move the shared clock or the account's quota, so they run
	// alone, first.
	sub("rate limited", false, testRateLimitedRetry)
	sub("quota", false, testQuota)
	sub("delay", false, testDelay)
	t.Run("parallel", func(t *testing.T) {
		sub := func(name string, fn func(*itEnv)) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := *e
				e.t = t
				fn(&e)
			})
		}
		sub("node secret, typed outputs, write back", testNodeSecretFlow)
		sub("python", testPythonFlow)
		sub("uncaught error", testThrowingCode)
		sub("webhook", testWebhook)
		sub("list based trigger", testListBasedTrigger)
		sub("chained code and branch", testChainedCode)
		sub("wrong output type", testWrongOutputType)
		sub("dates and phone outputs", testDateOutputs)
		sub("input formats, node", func(e *itEnv) { testInputFormats(e, "NODE20X") })
		sub("input formats, python", func(e *itEnv) { testInputFormats(e, "PYTHON39") })
		sub("dry run reaches a read-only API", testDryRunReadOnlyAPI)
		sub("custom object flow", testCustomObjectFlow)
		sub("deal pipeline flow", testDealPipelineFlow)
	})
	// Every execution was counted in the Prometheus metrics. A runner
	// counts a round's executions just after its commit, which the
	// subtests may have seen first: read until the counts settle.
	wants := []string{
		`spoke_action_executions_total{action_type="CUSTOM_CODE",runtime="NODE20X",status="SUCCESS"}`,
		`spoke_action_executions_total{action_type="CUSTOM_CODE",runtime="NODE20X",status="ERROR"}`,
		`spoke_action_executions_total{action_type="CUSTOM_CODE",runtime="PYTHON39",status="SUCCESS"} 3`,
		`spoke_action_executions_total{action_type="WEBHOOK",runtime="none",status="SUCCESS"} 1`,
		`spoke_action_executions_total{action_type="SET_PROPERTY",runtime="none",status="SUCCESS"}`,
		`spoke_action_duration_seconds_bucket{action_type="CUSTOM_CODE",runtime="PYTHON39",le="+Inf"} 3`,
		"\nspoke_enrollments_due ",
	}
	var missing []string
	var page string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(e.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		page, missing = string(body), missing[:0]
		for _, want := range wants {
			if !strings.Contains(page, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics has no %s; it has:\n%s", want, metricLines(page, "spoke_action_executions_total{"))
	}
}

// metricLines returns the lines of a metrics page that start with prefix.
func metricLines(page, prefix string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

const secretValue = "sk-live-0123456789abcdef"

func testNodeSecretFlow(e *itEnv) {
	t := e.t
	e.must(200, "PUT", "/automation/v4/secrets/API_TOKEN", map[string]string{"value": secretValue})
	e.must(200, "PUT", "/automation/v4/secrets/NOT_GRANTED", map[string]string{"value": "other-secret-value"})
	code := `
exports.main = async (event, callback) => {
  const tok = process.env.API_TOKEN;
  console.log('calling with ' + tok);
  console.log('echo is', event.inputFields.echo);
  const n = Number(event.inputFields.n);
  callback({ outputFields: {
    hasToken: tok === '` + secretValue + `',
    tokenLength: tok.length,
    domain: event.inputFields.email.split('@')[1],
    tier: n > 5 ? 'gold' : 'silver',
    undeclared: 'dropped',
    leaked: 'oops ' + tok,
    notGranted: String(process.env.NOT_GRANTED),
  } });
};`
	actions := `[` + codeAction("1", "2", "NODE20X", code, `["API_TOKEN"]`,
		`[{"name":"email","value":{"type":"OBJECT_PROPERTY","propertyName":"email"}},{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}},
		  {"name":"echo","value":{"type":"STATIC_VALUE","staticValue":"Bearer `+secretValue+`"}}]`,
		`[{"name":"hasToken","type":"BOOL"},{"name":"tokenLength","type":"NUMBER"},{"name":"domain","type":"STRING"},
		  {"name":"tier","type":"ENUMERATION","options":["gold","silver"]},{"name":"leaked","type":"STRING"},{"name":"notGranted","type":"STRING"}]`) + `,` +
		setProp("2", "3", "domain_out", fieldData("1", "domain")) + `,` +
		setProp("3", "4", "score", fieldData("1", "tokenLength")) + `,` +
		setProp("4", "5", "tier", fieldData("1", "tier")) + `,` +
		setProp("5", "", "vip", fieldData("1", "hasToken")) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "ada@engines.example", "n": "8"})
	e.enroll(flowID, id)
	en := e.waitEnrollment(flowID, id, finished)
	if en["status"] != "COMPLETED" {
		t.Fatalf("enrollment %v", en)
	}
	rec := e.properties(id, "domain_out", "score", "tier", "vip")
	props := rec["properties"].(map[string]any)
	if props["domain_out"] != "engines.example" || props["score"] != fmt.Sprint(len(secretValue)) || props["tier"] != "gold" || props["vip"] != "true" {
		t.Errorf("written back: %v", props)
	}
	hist := rec["propertiesWithHistory"].(map[string]any)["domain_out"].([]any)
	if h := hist[0].(map[string]any); h["sourceType"] != "AUTOMATION_PLATFORM" || h["sourceId"] != flowID {
		t.Errorf("history of domain_out: %v", hist)
	}
	xs := e.executions(flowID, "actionId=1")
	if len(xs) != 1 {
		t.Fatalf("code executions %v", xs)
	}
	x := xs[0]
	logs, _ := x["logs"].(string)
	raw, _ := json.Marshal(x)
	if strings.Contains(string(raw), secretValue) {
		t.Errorf("the secret appears in the execution: %s", raw)
	}
	if !strings.Contains(logs, "calling with [REDACTED]") || !strings.Contains(logs, "undeclared") {
		t.Errorf("logs %q", logs)
	}
	in := x["inputs"].(map[string]any)
	if in["echo"] != "Bearer [REDACTED]" || in["email"] != "ada@engines.example" || in["n"] != "8" {
		t.Errorf("inputs %v", in)
	}
	out := x["outputs"].(map[string]any)
	if out["hasToken"] != "true" || out["leaked"] != "oops [REDACTED]" || out["notGranted"] != "undefined" || out["tokenLength"] != fmt.Sprint(len(secretValue)) || out["tier"] != "gold" || out["undeclared"] != nil {
		t.Errorf("outputs %v", out)
	}
	if rt, _ := x["runtime"].(string); !strings.HasPrefix(rt, "NODE20X") {
		t.Errorf("runtime %q", x["runtime"])
	}
	if d, _ := x["durationMs"].(float64); d <= 0 || d > 20000 {
		t.Errorf("code durationMs %v", x["durationMs"])
	}
	if m, _ := x["memoryBytes"].(float64); m < 0 {
		t.Errorf("memoryBytes %v", x["memoryBytes"])
	}
	// Testing the action runs the code on the record without writing.
	test := e.must(200, "POST", "/automation/v4/flows/"+flowID+"/actions/1/test", map[string]any{"objectId": id})
	raw, _ = json.Marshal(test)
	if test["status"] != "SUCCESS" || test["outputFields"].(map[string]any)["domain"] != "engines.example" || strings.Contains(string(raw), secretValue) ||
		test["outputFields"].(map[string]any)["tokenLength"] != float64(len(secretValue)) || test["outputFields"].(map[string]any)["hasToken"] != true ||
		!strings.Contains(fmt.Sprint(test["logs"]), "calling with [REDACTED]") {
		t.Errorf("test action %s", raw)
	}
	// Non-code actions take well under a second, whatever the engine's
	// clock says.
	for _, x := range e.executions(flowID, "actionId=2") {
		if d, _ := x["durationMs"].(float64); d < 0 || d > 1000 {
			t.Errorf("set property durationMs %v", x["durationMs"])
		}
	}
}

func testPythonFlow(e *itEnv) {
	t := e.t
	e.must(200, "PUT", "/automation/v4/secrets/PY_TOKEN", map[string]string{"value": "py-secret-98765"})
	code := `
import os
def main(event):
    n = float(event["inputFields"]["n"])
    print("tripling", n, "with", os.environ["PY_TOKEN"])
    return {"outputFields": {"score": n * 3, "kind": event["object"]["objectType"]}}
`
	actions := `[` + codeAction("1", "2", "PYTHON39", code, `["PY_TOKEN"]`, `[{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}]`,
		`[{"name":"score","type":"NUMBER"},{"name":"kind","type":"STRING"}]`) + `,` +
		setProp("2", "3", "score", fieldData("1", "score")) + `,` +
		setProp("3", "", "jobtitle", fieldData("1", "kind")) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "py@example.com", "n": "4.5"})
	e.enroll(flowID, id)
	if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("enrollment %v", en)
	}
	props := e.properties(id, "score", "jobtitle")["properties"].(map[string]any)
	if props["score"] != "13.5" || props["jobtitle"] != "CONTACT" {
		t.Errorf("python wrote %v", props)
	}
	x := e.executions(flowID, "actionId=1")[0]
	if !strings.Contains(x["logs"].(string), "tripling 4.5 with [REDACTED]") || !strings.HasPrefix(x["runtime"].(string), "PYTHON39") {
		t.Errorf("python execution %v", x)
	}
}

// A PLATFORM_FLOW on a custom object runs custom code on its records, with
// the custom object's object type id as event.object.objectType, and
// writes its outputs back to the record.
func testCustomObjectFlow(e *itEnv) {
	t := e.t
	schema := e.must(201, "POST", "/crm/v3/schemas", `{"name":"gadgets","labels":{"singular":"Gadget","plural":"Gadgets"},"primaryDisplayProperty":"label",
		"requiredProperties":["label"],"properties":[{"name":"label","label":"Label"},{"name":"kind","label":"Kind"},{"name":"size","label":"Size","type":"number","fieldType":"number"}],
		"associatedObjects":[]}`)
	typeID := schema["objectTypeId"].(string)
	code := `exports.main = async (event, callback) => {
  callback({ outputFields: { kind: event.object.objectType, double: Number(event.inputFields.size) * 2, id: String(event.object.objectId) } });
};`
	actions := `[` + codeAction("1", "2", "NODE20X", code, `[]`, `[{"name":"size","value":{"type":"OBJECT_PROPERTY","propertyName":"size"}}]`,
		`[{"name":"kind","type":"STRING"},{"name":"double","type":"NUMBER"},{"name":"id","type":"STRING"}]`) + `,` +
		setProp("2", "", "kind", fieldData("1", "kind")) + `]`
	body := `{"name":"gadgets","type":"PLATFORM_FLOW","objectTypeId":"` + typeID + `","flowType":"WORKFLOW","isEnabled":true,` +
		`"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},"actions":` + actions + `}`
	flowID := e.must(201, "POST", "/automation/v4/flows", body)["id"].(string)
	// A flow on another account's (or no) custom object is refused.
	if status, m := e.do("POST", "/automation/v4/flows", strings.Replace(body, typeID, "2-999999", 1)); status != 400 || !strings.Contains(fmt.Sprint(m["message"]), "not a custom object") {
		t.Errorf("flow on 2-999999: %d %v", status, m)
	}
	id := e.must(201, "POST", "/crm/v3/objects/"+typeID, map[string]any{"properties": map[string]string{"label": "G1", "size": "21"}})["id"].(string)
	e.enroll(flowID, id)
	if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" || en["objectTypeId"] != typeID {
		t.Fatalf("enrollment %v", en)
	}
	got := e.must(200, "GET", "/crm/v3/objects/"+typeID+"/"+id+"?properties=kind", nil)["properties"].(map[string]any)
	if got["kind"] != typeID {
		t.Errorf("event.object.objectType was %v, want %s", got["kind"], typeID)
	}
	x := e.executions(flowID, "actionId=1")[0]
	if out := x["outputs"].(map[string]any); fmt.Sprint(out["double"]) != "42" || out["id"] != id {
		t.Errorf("outputs %v", x["outputs"])
	}
}

func testThrowingCode(e *itEnv) {
	t := e.t
	code := `
exports.main = async (event, callback) => {
  console.log('about to fail');
  throw new Error('kaboom in custom code');
};`
	actions := `[` + codeAction("1", "2", "NODE20X", code, `[]`, `[]`, `[]`) + `,` +
		setProp("2", "", "jobtitle", `{"type":"STATIC_VALUE","staticValue":"should not happen"}`) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "boom@example.com"})
	e.enroll(flowID, id)
	en := e.waitEnrollment(flowID, id, finished)
	errObj, _ := en["error"].(map[string]any)
	if en["status"] != "FAILED" || errObj["type"] != "UNCAUGHT_ERROR" || !strings.Contains(fmt.Sprint(errObj["message"]), "kaboom") || en["currentActionId"] != "1" {
		t.Fatalf("enrollment %v", en)
	}
	xs := e.executions(flowID, "status=ERROR")
	if len(xs) != 1 || xs[0]["actionId"] != "1" || !strings.Contains(xs[0]["logs"].(string), "about to fail") {
		t.Fatalf("failed executions %v", xs)
	}
	if xe, _ := xs[0]["error"].(map[string]any); xe["type"] != "UNCAUGHT_ERROR" || !strings.Contains(fmt.Sprint(xe["stack"]), "kaboom") {
		t.Errorf("execution error %v", xs[0]["error"])
	}
	if len(e.executions(flowID, "actionId=2")) != 0 {
		t.Error("the action after the failure ran")
	}
	if p := e.properties(id, "jobtitle")["properties"].(map[string]any); p["jobtitle"] != nil && p["jobtitle"] != "" {
		t.Errorf("jobtitle %v", p["jobtitle"])
	}
}

func testRateLimitedRetry(e *itEnv) {
	t := e.t
	code := `
exports.main = async (event, callback) => {
  console.log('calling the API');
  const err = new Error('Request failed with status code 429');
  err.isAxiosError = true;
  err.response = { status: 429, headers: { 'retry-after': '10' }, data: { message: 'You have reached your secondly limit.' } };
  throw err;
};`
	actions := `[` + codeAction("1", "", "NODE20X", code, `[]`, `[]`, `[]`) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "limited@example.com"})
	start := e.clock.Now()
	e.enroll(flowID, id)
	en := e.waitEnrollment(flowID, id, func(en map[string]any) bool { return en["attempt"] == float64(2) || finished(en) })
	errObj, _ := en["error"].(map[string]any)
	if en["status"] != "ACTIVE" || en["waitReason"] != "RETRY" || errObj["type"] != "RATE_LIMITED" || en["nextRunAt"] != spoke.FormatTime(start.Add(time.Minute)) {
		t.Fatalf("after the first 429: %v", en)
	}
	// Nothing happens until the minute has passed.
	time.Sleep(100 * time.Millisecond)
	if n := len(e.executions(flowID, "")); n != 1 {
		t.Fatalf("%d executions before the retry is due", n)
	}
	e.clock.Add(time.Minute)
	e.eng.Wake()
	en = e.waitEnrollment(flowID, id, func(en map[string]any) bool { return en["attempt"] == float64(3) || finished(en) })
	if en["status"] != "ACTIVE" || en["waitReason"] != "RETRY" || en["nextRunAt"] != spoke.FormatTime(start.Add(3*time.Minute)) {
		t.Fatalf("after the second 429: %v", en)
	}
	xs := e.executions(flowID, "")
	if len(xs) != 2 || xs[0]["attempt"] != float64(1) || xs[1]["attempt"] != float64(2) || xs[1]["status"] != "ERROR" ||
		!strings.Contains(xs[1]["logs"].(string), "calling the API") {
		t.Fatalf("executions %v", xs)
	}
}

func testWebhook(e *itEnv) {
	t := e.t
	hook := func(url string) string {
		return `{"type":"WEBHOOK","actionId":"1","webhookUrl":"` + url + `/hook?static=1","method":"POST",
		  "queryParams":[{"name":"email","value":{"type":"OBJECT_PROPERTY","propertyName":"email"}}],
		  "connection":{"edgeType":"STANDARD","nextActionId":"2"}}`
	}
	ok := e.createFlow(`[`+hook(e.hook.URL)+`,`+setProp("2", "", "jobtitle", `{"type":"STATIC_VALUE","staticValue":"hooked"}`)+`]`, "")
	denied := e.createFlow(`[`+hook(e.denied.URL)+`,`+setProp("2", "", "jobtitle", `{"type":"STATIC_VALUE","staticValue":"hooked"}`)+`]`, "")
	id := e.contact(map[string]string{"email": "hook@example.com", "firstname": "Hook"})
	e.enroll(ok, id)
	e.enroll(denied, id)

	if en := e.waitEnrollment(ok, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("allowed webhook enrollment %v", en)
	}
	en := e.waitEnrollment(denied, id, finished)
	if errObj, _ := en["error"].(map[string]any); en["status"] != "FAILED" || errObj["type"] != "EGRESS_DENIED" {
		t.Fatalf("denied webhook enrollment %v", en)
	}
	if p := e.properties(id, "jobtitle")["properties"].(map[string]any); p["jobtitle"] != "hooked" {
		t.Errorf("jobtitle %v", p["jobtitle"])
	}
	e.hooks.mu.Lock()
	bodies := append([]map[string]any(nil), e.hooks.bodies...)
	e.hooks.mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("webhooks received: %v", bodies)
	}
	b := bodies[0]
	props, _ := b["properties"].(map[string]any)
	origin, _ := b["origin"].(map[string]any)
	if b["_method"] != "POST" || b["_contentType"] != "application/json" || b["objectId"] != json.Number(id) && fmt.Sprint(b["objectId"]) != id ||
		b["objectType"] != "CONTACT" || props["email"] != "hook@example.com" || props["firstname"] != "Hook" || props["hs_object_id"] != id ||
		origin["flowId"] != ok || origin["actionId"] != "1" {
		t.Errorf("webhook body %v", b)
	}
	if q := fmt.Sprint(b["_query"]); !strings.Contains(q, "static=1") || !strings.Contains(q, "email=hook%40example.com") {
		t.Errorf("webhook query %q", q)
	}
	xs := e.executions(ok, "actionId=1")
	if len(xs) != 1 || xs[0]["actionType"] != "WEBHOOK" || !strings.Contains(fmt.Sprint(xs[0]["logs"]), "-> 200") {
		t.Errorf("webhook execution %v", xs)
	}
}

func testListBasedTrigger(e *itEnv) {
	t := e.t
	criteria := `{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[
	  {"filterBranchType":"AND","filterBranches":[],"filters":[
	    {"filterType":"PROPERTY","property":"lifecyclestage","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["evangelist"]}},
	    {"filterType":"PROPERTY","property":"n","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":100}}]}]}}`
	flowID := e.createFlow(`[`+setProp("1", "", "domain_out", `{"type":"OBJECT_PROPERTY","propertyName":"email"}`)+`]`, criteria)
	yes := e.contact(map[string]string{"email": "fan@example.com", "lifecyclestage": "evangelist", "n": "101"})
	no := e.contact(map[string]string{"email": "meh@example.com", "lifecyclestage": "evangelist", "n": "100"})
	en := e.waitEnrollment(flowID, yes, finished)
	if en["status"] != "COMPLETED" {
		t.Fatalf("enrollment %v", en)
	}
	if p := e.properties(yes, "domain_out")["properties"].(map[string]any); p["domain_out"] != "fan@example.com" {
		t.Errorf("domain_out %v", p)
	}
	// The other contact starts to meet the criteria on an update.
	e.must(200, "PATCH", "/crm/v3/objects/contacts/"+no, map[string]any{"properties": map[string]string{"n": "150"}})
	if en := e.waitEnrollment(flowID, no, finished); en["status"] != "COMPLETED" {
		t.Fatalf("enrollment after update %v", en)
	}
	m := e.must(200, "GET", "/automation/v4/flows/"+flowID+"/enrollments", nil)
	if n := len(m["results"].([]any)); n != 2 {
		t.Errorf("%d enrollments, want 2", n)
	}
}

func testChainedCode(e *itEnv) {
	t := e.t
	first := `exports.main = async (event, callback) => callback({ outputFields: { doubled: Number(event.inputFields.n) * 2 } });`
	second := `
exports.main = async (event) => {
  const v = event.inputFields.doubled;
  return { outputFields: { label: typeof v + ':' + v, big: Number(v) > 10 } };
};`
	actions := `[` +
		codeAction("1", "2", "NODE20X", first, `[]`, `[{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}]`, `[{"name":"doubled","type":"NUMBER"}]`) + `,` +
		codeAction("2", "3", "NODE20X", second, `[]`, `[{"name":"doubled","value":`+fieldData("1", "doubled")+`}]`, `[{"name":"label","type":"STRING"},{"name":"big","type":"BOOL"}]`) + `,` +
		setProp("3", "4", "score", fieldData("1", "doubled")) + `,` +
		`{"type":"LIST_BRANCH","actionId":"4","listBranches":[{"branchName":"big","filterBranch":{"filterBranchType":"AND","filterBranches":[],
		   "filters":[{"filterType":"PROPERTY","property":"score","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":10}}]},
		   "connection":{"edgeType":"STANDARD","nextActionId":"5"}}],"defaultBranchName":"small","defaultBranch":{"edgeType":"STANDARD","nextActionId":"6"}},` +
		setProp("5", "", "jobtitle", fieldData("2", "label")) + `,` +
		setProp("6", "", "jobtitle", `{"type":"STATIC_VALUE","staticValue":"small"}`) + `]`
	flowID := e.createFlow(actions, "")
	big := e.contact(map[string]string{"email": "big@example.com", "n": "6"})
	small := e.contact(map[string]string{"email": "small@example.com", "n": "2"})
	e.enroll(flowID, big, small)
	for _, c := range []struct{ id, score, title string }{{big, "12", "string:12"}, {small, "4", "small"}} {
		if en := e.waitEnrollment(flowID, c.id, finished); en["status"] != "COMPLETED" {
			t.Fatalf("enrollment %v", en)
		}
		p := e.properties(c.id, "score", "jobtitle")["properties"].(map[string]any)
		if p["score"] != c.score || p["jobtitle"] != c.title {
			t.Errorf("record %s: %v, want score %s jobtitle %s", c.id, p, c.score, c.title)
		}
	}
	if xs := e.executions(flowID, "actionId=4&objectId="+big); len(xs) != 1 || xs[0]["outputs"].(map[string]any)["branch"] != "big" {
		t.Errorf("branch execution %v", xs)
	}
}

func testWrongOutputType(e *itEnv) {
	t := e.t
	code := `exports.main = async (event, callback) => callback({ outputFields: { amount: 'not a number' } });`
	actions := `[` + codeAction("1", "2", "NODE20X", code, `[]`, `[]`, `[{"name":"amount","type":"NUMBER"}]`) + `,` +
		setProp("2", "", "score", fieldData("1", "amount")) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "wrongtype@example.com"})
	e.enroll(flowID, id)
	en := e.waitEnrollment(flowID, id, finished)
	if errObj, _ := en["error"].(map[string]any); en["status"] != "FAILED" || errObj["type"] != "INVALID_OUTPUT" || !strings.Contains(fmt.Sprint(errObj["message"]), "amount") {
		t.Fatalf("enrollment %v", en)
	}
	// A test run shows what the code returned, and why it does not fit.
	test := e.must(200, "POST", "/automation/v4/flows/"+flowID+"/actions/1/test", map[string]any{"objectId": id})
	if errObj, _ := test["error"].(map[string]any); test["status"] != "ERROR" || errObj["type"] != "INVALID_OUTPUT" ||
		test["outputFields"].(map[string]any)["amount"] != "not a number" {
		t.Errorf("test action %v", test)
	}
}

func testQuota(e *itEnv) {
	t := e.t
	code := `exports.main = async (event, callback) => callback({ outputFields: { ok: true } });`
	flowID := e.createFlow(`[`+codeAction("1", "2", "NODE20X", code, `[]`, `[]`, `[{"name":"ok","type":"BOOL"}]`)+`,`+
		setProp("2", "", "vip", fieldData("1", "ok"))+`]`, "")
	before := e.must(200, "GET", "/automation/v4/usage", nil)["customCodeExecutions"].(float64)
	e.must(200, "PUT", "/automation/v4/usage/limit", map[string]any{"limit": before + 1})
	defer e.must(200, "PUT", "/automation/v4/usage/limit", map[string]any{"limit": spoke.DefaultCodeLimit})
	a := e.contact(map[string]string{"email": "quota-a@example.com"})
	b := e.contact(map[string]string{"email": "quota-b@example.com"})
	// Two enrollments need two executions and one remains: a bulk
	// enrollment is refused unless it allows queueing the rest.
	refused := e.must(409, "POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"objectIds": []string{a, b}})
	if refused["category"] != "QUOTA_EXCEEDED" {
		t.Errorf("over-quota enrollment: %v", refused)
	}
	m := e.must(202, "POST", "/automation/v4/flows/"+flowID+"/enrollments", map[string]any{"objectIds": []string{a, b}, "allowQueueing": true})
	if got := fmt.Sprint(m["enrolled"]); got != fmt.Sprint([]string{a, b}) {
		t.Fatalf("enrolled %v: %v", got, m)
	}
	var done, waiting string
	deadline := time.Now().Add(30 * time.Second)
	for (done == "" || waiting == "") && time.Now().Before(deadline) {
		done, waiting = "", ""
		for _, r := range e.must(200, "GET", "/automation/v4/flows/"+flowID+"/enrollments", nil)["results"].([]any) {
			en := r.(map[string]any)
			switch {
			case en["status"] == "COMPLETED":
				done = en["objectId"].(string)
			case en["waitReason"] == "QUOTA":
				waiting = en["objectId"].(string)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if done == "" || waiting == "" {
		t.Fatalf("with one execution left: completed %q, waiting on the quota %q", done, waiting)
	}
	u := e.must(200, "GET", "/automation/v4/usage", nil)
	if u["customCodeExecutions"] != before+1 || u["limit"] != before+1 {
		t.Errorf("usage %v", u)
	}
	// Raising the limit resumes the waiting enrollment at once.
	e.must(200, "PUT", "/automation/v4/usage/limit", map[string]any{"unlimited": true})
	if en := e.waitEnrollment(flowID, waiting, finished); en["status"] != "COMPLETED" {
		t.Fatalf("after raising the limit: %v", en)
	}
}

func testDelay(e *itEnv) {
	t := e.t
	actions := `[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","actionTypeVersion":0,"fields":{"delta":"2","time_unit":"HOURS"},
	  "connection":{"edgeType":"STANDARD","nextActionId":"2"}},` + setProp("2", "", "jobtitle", `{"type":"STATIC_VALUE","staticValue":"later"}`) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "delay@example.com"})
	start := e.clock.Now()
	e.enroll(flowID, id)
	en := e.waitEnrollment(flowID, id, func(en map[string]any) bool { return en["waitReason"] == "DELAY" || finished(en) })
	if en["currentActionId"] != "2" || en["nextRunAt"] != spoke.FormatTime(start.Add(2*time.Hour)) {
		t.Fatalf("delayed enrollment %v", en)
	}
	e.clock.Add(2 * time.Hour)
	e.eng.Wake()
	if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("after the delay %v", en)
	}
	if p := e.properties(id, "jobtitle")["properties"].(map[string]any); p["jobtitle"] != "later" {
		t.Errorf("jobtitle %v", p)
	}
}

func testDateOutputs(e *itEnv) {
	t := e.t
	code := `
exports.main = async (event, callback) => callback({ outputFields: {
  seen: Date.UTC(2026, 2, 10, 12, 30, 0),
  seenIso: '2026-03-11T08:00:00+02:00',
  day: '2026-03-10',
  dayMs: Date.UTC(2026, 11, 31),
  phone: '+1 (555) 010-0000',
} });`
	actions := `[` + codeAction("1", "2", "NODE20X", code, `[]`, `[]`,
		`[{"name":"seen","type":"DATETIME"},{"name":"seenIso","type":"DATETIME"},{"name":"day","type":"DATE"},{"name":"dayMs","type":"DATE"},{"name":"phone","type":"PHONE_NUMBER"}]`) + `,` +
		setProp("2", "3", "seen_at", fieldData("1", "seen")) + `,` +
		setProp("3", "4", "renewal", fieldData("1", "dayMs")) + `,` +
		setProp("4", "", "hotline", fieldData("1", "phone")) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "dates@example.com"})
	e.enroll(flowID, id)
	if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("enrollment %v", en)
	}
	out := e.executions(flowID, "actionId=1")[0]["outputs"].(map[string]any)
	if out["seen"] != "2026-03-10T12:30:00.000Z" || out["seenIso"] != "2026-03-11T06:00:00.000Z" || out["day"] != "2026-03-10" ||
		out["dayMs"] != "2026-12-31" || out["phone"] != "+1 (555) 010-0000" {
		t.Errorf("typed outputs %v", out)
	}
	p := e.properties(id, "seen_at", "renewal", "hotline")["properties"].(map[string]any)
	if p["seen_at"] != "2026-03-10T12:30:00Z" && p["seen_at"] != "2026-03-10T12:30:00.000Z" || p["renewal"] != "2026-12-31" || p["hotline"] != "+1 (555) 010-0000" {
		t.Errorf("written %v", p)
	}
}

// testDryRunReadOnlyAPI tests an action whose code reads and writes a
// contact through @hubspot/api-client: a dry run reads but cannot write
// (Spoke's API answers 403 DRY_RUN), and a real test writes.
func testDryRunReadOnlyAPI(e *itEnv) {
	t := e.t
	e.must(200, "PUT", "/automation/v4/secrets/SPOKE_TOKEN", map[string]string{"value": itToken})
	code := `
const hubspot = require('@hubspot/api-client');
exports.main = async (event) => {
  const client = new hubspot.Client({ accessToken: process.env.SPOKE_TOKEN });
  const id = String(event.object.objectId);
  const got = await client.crm.contacts.basicApi.getById(id, ['firstname']);
  let wrote = 'ok';
  try {
    await client.crm.contacts.basicApi.update(id, { properties: { jobtitle: 'set by code' } });
  } catch (err) {
    wrote = String(err.code) + ' ' + String(err.body && err.body.category);
  }
  return { outputFields: { read: got.properties.firstname, wrote } };
};`
	actions := `[` + codeAction("1", "", "NODE20X", code, `["SPOKE_TOKEN"]`, `[]`,
		`[{"name":"read","type":"STRING"},{"name":"wrote","type":"STRING"}]`) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"email": "dry@run.example", "firstname": "Dry"})

	dry := e.must(200, "POST", "/automation/v4/flows/"+flowID+"/actions/1/test", map[string]any{"objectId": id, "dryRun": true})
	out, _ := dry["outputFields"].(map[string]any)
	if dry["status"] != "SUCCESS" || out["read"] != "Dry" || out["wrote"] != "403 DRY_RUN" {
		t.Fatalf("dry run: %v", dry)
	}
	if got := e.properties(id, "jobtitle")["properties"].(map[string]any)["jobtitle"]; got != nil && got != "" {
		t.Fatalf("the dry run's code wrote jobtitle = %v", got)
	}
	real := e.must(200, "POST", "/automation/v4/flows/"+flowID+"/actions/1/test", map[string]any{"objectId": id, "dryRun": false})
	if out, _ := real["outputFields"].(map[string]any); real["status"] != "SUCCESS" || out["wrote"] != "ok" {
		t.Fatalf("real test: %v", real)
	}
	if got := e.properties(id, "jobtitle")["properties"].(map[string]any)["jobtitle"]; got != "set by code" {
		t.Errorf("after the real test jobtitle = %v", got)
	}
}
