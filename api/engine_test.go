package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/sandbox"
)

// stubCode stands in for the sandbox in the handler tests: it echoes its
// input n doubled as the output "score", and logs the secret it was given.
// While fail is set it throws instead.
type stubCode struct {
	calls atomic.Int64
	fail  atomic.Bool
}

func (c *stubCode) Invoke(_ context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	c.calls.Add(1)
	if c.fail.Load() {
		return sandbox.Result{Status: sandbox.StatusError, Logs: "ERROR boom\n",
			Error: &sandbox.Error{Type: "UNCAUGHT_ERROR", Message: "boom"}}, nil
	}
	var n float64
	fmt.Sscan(fmt.Sprint(inv.Event.InputFields["n"]), &n)
	return sandbox.Result{Status: sandbox.StatusSuccess, OutputFields: map[string]any{"score": 2 * n},
		Logs: "INFO ran\n", Runtime: sandbox.RuntimeInfo{Name: "nodejs", Version: "20.0.0"}}, nil
}

// engineEnv is env with the engine routes wired to a real engine.
type engineEnv struct {
	*env
	eng  *engine.Engine
	code *stubCode
	// automationOnly has just the automation scope.
	automationOnly string
}

func setupEngine(t *testing.T) *engineEnv {
	t.Helper()
	s := newTestStore(t)
	ctx, db, acct := s.ctx, s.db, s.acct
	auto, _, err := db.CreateToken(ctx, acct, "auto", []string{"automation"}, false)
	s.must(err)
	s.must(db.SetSecretKey(make([]byte, 32)))
	_, err = db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "n", Label: "N", Type: "number", GroupName: "contactinformation"})
	s.must(err)
	_, err = db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "score", Label: "Score", Type: "number", GroupName: "contactinformation"})
	s.must(err)
	code := &stubCode{}
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, ObjectTypes: db, Code: code, Logger: s.logger,
		Rollouts: db, Alerts: db, Reverts: db, Lists: db})
	db.SetTrigger(eng.Trigger, eng.Wake)
	e := s.serve(t, &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Lists: db, FlowWebhooks: db, Flows: db, FlowChecker: db,
		Engine: eng, EngineStore: db, Secrets: db, Alerts: db, Retention: db, Logger: s.logger})
	return &engineEnv{env: e, eng: eng, code: code, automationOnly: auto}
}

// drain runs the engine until no enrollment is due.
func (e *engineEnv) drain() {
	e.t.Helper()
	for i := 0; i < 100; i++ {
		n, err := e.eng.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatal("the engine did not drain")
}

// scoreFlowJSON: custom code doubles n, set property score from its output,
// then set jobtitle.
func scoreFlowJSON(enabled bool, criteria string) string {
	if criteria == "" {
		criteria = `{"type":"MANUAL","shouldReEnroll":false}`
	}
	return `{"name":"score","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":` + fmt.Sprint(enabled) + `,
	 "enrollmentCriteria":` + criteria + `,
	 "actions":[
	  {"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","secretNames":[],
	   "sourceCode":"exports.main = async (e, cb) => cb({outputFields: {score: 2 * e.inputFields.n}});",
	   "inputFields":[{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}],
	   "outputFields":[{"name":"score","type":"NUMBER"}],"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"score","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"score"}},
	   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"scored"}}}]}`
}

func (e *engineEnv) createFlow(body string) string {
	e.t.Helper()
	r := e.do("POST", "/automation/v4/flows", body)
	expect(e.t, r, 201, "")
	return r.json(e.t)["id"].(string)
}

func (e *engineEnv) contactWith(props string) string {
	e.t.Helper()
	r := e.do("POST", "/crm/v3/objects/contacts", `{"properties":`+props+`}`)
	expect(e.t, r, 201, "")
	return r.json(e.t)["id"].(string)
}

func (e *engineEnv) property(id, name string) string {
	e.t.Helper()
	r := e.do("GET", "/crm/v3/objects/contacts/"+id+"?properties="+name, "")
	expect(e.t, r, 200, "")
	v, _ := r.json(e.t)["properties"].(map[string]any)[name].(string)
	return v
}

// results decodes a list response.
func results(t *testing.T, r resp) ([]map[string]any, string) {
	t.Helper()
	var out struct {
		Results []map[string]any `json:"results"`
		Paging  *struct {
			Next struct {
				After string `json:"after"`
			} `json:"next"`
		} `json:"paging"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("list body %s: %v", r.body, err)
	}
	if out.Results == nil {
		t.Fatalf("list body %s has no results array", r.body)
	}
	after := ""
	if out.Paging != nil {
		after = out.Paging.Next.After
	}
	return out.Results, after
}

func TestEngineRoutesNeedAutomationScope(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	routes := []struct{ method, path, body string }{
		{"POST", "/automation/v4/flows/" + id + "/enrollments", `{"allMatching":true}`},
		{"GET", "/automation/v4/flows/" + id + "/enrollments", ""},
		{"GET", "/automation/v4/flows/" + id + "/executions", ""},
		{"POST", "/automation/v4/flows/" + id + "/actions/3/test", `{"objectId":"1"}`},
		{"GET", "/automation/v4/usage", ""},
		{"PUT", "/automation/v4/usage/limit", `{"limit":5}`},
		{"PUT", "/automation/v4/secrets/API_KEY", `{"value":"x"}`},
		{"GET", "/automation/v4/secrets", ""},
		{"DELETE", "/automation/v4/secrets/API_KEY", ""},
	}
	for _, rt := range routes {
		r := e.doAs(e.readOnly, rt.method, rt.path, rt.body)
		expect(t, r, 403, "MISSING_SCOPES", "automation")
		if r := e.doAs("", rt.method, rt.path, rt.body); r.status != 401 {
			t.Errorf("%s %s without a token: %d %s", rt.method, rt.path, r.status, r.body)
		}
	}
	// The automation scope alone is enough.
	expect(t, e.doAs(e.automationOnly, "GET", "/automation/v4/usage", ""), 200, "")
	expect(t, e.doAs(e.automationOnly, "PUT", "/automation/v4/secrets/API_KEY", `{"value":"x"}`), 200, "")
	expect(t, e.doAs(e.automationOnly, "GET", "/automation/v4/flows/"+id+"/enrollments", ""), 200, "")
}

func TestEnrollRunAndObserve(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	a := e.contactWith(`{"email":"a@example.com","n":"4"}`)
	b := e.contactWith(`{"email":"b@example.com","n":"5"}`)
	company := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`).json(t)["id"].(string)

	// Ids as strings or numbers; unknown and other-type ids are skipped.
	r := e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":["`+a+`",`+b+`,999999,`+company+`]}`)
	expect(t, r, 202, "")
	var got struct {
		FlowID   string   `json:"flowId"`
		Enrolled []string `json:"enrolled"`
		Skipped  []struct {
			ObjectID string `json:"objectId"`
			Reason   string `json:"reason"`
		} `json:"skipped"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.FlowID != id || strings.Join(got.Enrolled, ",") != a+","+b || len(got.Skipped) != 2 {
		t.Fatalf("enroll answer %s", r.body)
	}
	for _, s := range got.Skipped {
		if !strings.HasPrefix(s.Reason, "OBJECT_NOT_FOUND") || (s.ObjectID != "999999" && s.ObjectID != company) {
			t.Errorf("skipped %+v", s)
		}
	}

	// Before the engine runs, they are ACTIVE with a nextRunAt.
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 2 || list[0]["status"] != "ACTIVE" || list[0]["nextRunAt"] == nil || list[0]["objectTypeId"] != "0-1" {
		t.Fatalf("enrollments before running: %v", list)
	}
	e.drain()
	if e.property(a, "score") != "8" || e.property(b, "score") != "10" || e.property(a, "jobtitle") != "scored" {
		t.Fatalf("flow writes missing: a score %q b score %q", e.property(a, "score"), e.property(b, "score"))
	}

	// Enrollments page by one; every field is there.
	var seen []map[string]any
	after := ""
	for i := 0; i < 5; i++ {
		q := "?limit=1"
		if after != "" {
			q += "&after=" + after
		}
		page, next := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments"+q, ""))
		seen = append(seen, page...)
		if after = next; after == "" {
			break
		}
	}
	if len(seen) != 2 {
		t.Fatalf("paged enrollments: %v", seen)
	}
	for i, en := range seen {
		want := []string{a, b}[i]
		if en["objectId"] != want || en["flowId"] != id || en["status"] != "COMPLETED" || en["revisionId"] != "1" ||
			en["completedAt"] == nil || en["createdAt"] == nil || en["updatedAt"] == nil || en["nextRunAt"] != nil || en["error"] != nil {
			t.Errorf("enrollment %d: %v", i, en)
		}
		if _, ok := en["id"].(string); !ok {
			t.Errorf("enrollment id is not a string: %v", en)
		}
	}

	// Executions: three actions per enrollment, filterable.
	all, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions", ""))
	if len(all) != 6 {
		t.Fatalf("executions = %d, want 6: %v", len(all), all)
	}
	x := all[0]
	for _, k := range []string{"id", "enrollmentId", "objectId", "actionId", "actionType", "attempt", "status", "startedAt", "durationMs", "memoryBytes", "inputs", "outputs", "logs"} {
		if _, ok := x[k]; !ok {
			t.Errorf("execution has no %s: %v", k, x)
		}
	}
	if x["actionType"] != "CUSTOM_CODE" || x["status"] != "SUCCESS" || x["logs"] != "INFO ran\n" || x["runtime"] != "nodejs 20.0.0" {
		t.Errorf("code execution %v", x)
	}
	if in, _ := x["inputs"].(map[string]any); in["n"] != "4" {
		t.Errorf("code execution inputs %v", x["inputs"])
	}
	if out, _ := x["outputs"].(map[string]any); out["score"] != "8" {
		t.Errorf("code execution outputs %v", x["outputs"])
	}
	if d, _ := x["durationMs"].(float64); d < 0 || d > 60_000 {
		t.Errorf("durationMs %v", x["durationMs"])
	}
	for _, c := range []struct {
		query string
		n     int
	}{
		{"objectId=" + b, 3}, {"actionId=2", 2}, {"status=SUCCESS", 6}, {"status=success", 6}, {"status=ERROR", 0}, {"objectId=" + b + "&actionId=3", 1},
		{"objectId=999999", 0}, {"actionId=nope", 0},
	} {
		list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?"+c.query, ""))
		if len(list) != c.n {
			t.Errorf("executions?%s = %d, want %d", c.query, len(list), c.n)
		}
	}
	page, next := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?limit=4", ""))
	rest, last := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?limit=4&after="+next, ""))
	if len(page) != 4 || next == "" || len(rest) != 2 || last != "" {
		t.Errorf("execution paging: %d next %q then %d next %q", len(page), next, len(rest), last)
	}

	// Enrolling again: re-enrollment is off.
	r = e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+a+`]}`)
	expect(t, r, 202, "", `"enrolled":[]`, "ALREADY_ENROLLED_BEFORE")

	// allMatching on a MANUAL flow enrolls every contact not enrolled before.
	c := e.contactWith(`{"email":"c@example.com","n":"1"}`)
	r = e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"allMatching":true}`)
	expect(t, r, 202, "", `"enrolled":["`+c+`"]`)
	e.drain()
	if e.property(c, "score") != "2" {
		t.Errorf("allMatching enrollment did not run")
	}

	// Usage counts the three code runs.
	r = e.do("GET", "/automation/v4/usage", "")
	expect(t, r, 200, "")
	if u := r.json(t); u["customCodeExecutions"] != float64(3) {
		t.Errorf("usage %s", r.body)
	}
}

func TestEnrollDuplicateIDs(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	a := e.contactWith(`{"email":"a@example.com","n":"4"}`)
	r := e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+a+`,"`+a+`",`+a+`]}`)
	expect(t, r, 202, "", `"enrolled":["`+a+`"]`, `"skipped":[]`)
}

func TestEnrollAllMatchingListBased(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	hot := e.contactWith(`{"email":"hot@example.com","n":"7"}`)
	e.contactWith(`{"email":"cold@example.com"}`)
	id := e.createFlow(scoreFlowJSON(true, `{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[],
	  "filterBranches":[{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"n","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":5}}]}]}}`))
	r := e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"allMatching":true}`)
	expect(t, r, 202, "", `"enrolled":["`+hot+`"]`, `"skipped":[]`)
	// A new contact meeting the criteria enrolls by itself.
	warm := e.contactWith(`{"email":"warm@example.com","n":"6"}`)
	e.drain()
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 2 || list[1]["objectId"] != warm || list[1]["status"] != "COMPLETED" {
		t.Fatalf("enrollments %v", list)
	}
}

func TestEnrollBadInput(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	disabled := e.createFlow(scoreFlowJSON(false, ""))
	a := e.contactWith(`{"email":"a@example.com"}`)
	path := "/automation/v4/flows/" + id + "/enrollments"
	many := strings.Repeat("1,", 10000) + "1"
	for _, c := range []struct{ body, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"{}", "objectIds"},
		{"null", "objectIds"},
		{"[1,2]", "must be"},
		{"not json", "Invalid JSON"},
		{`{"objectIds":[1`, "Invalid JSON"},
		{`{"objectIds":[]}`, "objectIds"},
		{`{"objectIds":null}`, "objectIds"},
		{`{"objectIds":"1"}`, "objectIds"},
		{`{"objectIds":1}`, "objectIds"},
		{`{"objectIds":["abc"]}`, "objectIds[0]"},
		{`{"objectIds":["` + a + `","x1"]}`, "objectIds[1]"},
		{`{"objectIds":[1.5]}`, "objectIds[0]"},
		{`{"objectIds":[1e3]}`, "objectIds[0]"},
		{`{"objectIds":[-3]}`, "objectIds[0]"},
		{`{"objectIds":[0]}`, "objectIds[0]"},
		{`{"objectIds":[""]}`, "objectIds[0]"},
		{`{"objectIds":[null]}`, "objectIds[0]"},
		{`{"objectIds":[true]}`, "objectIds"},
		{`{"objectIds":[{}]}`, "objectIds"},
		{`{"objectIds":[[1]]}`, "objectIds"},
		{`{"objectIds":[99999999999999999999999]}`, "objectIds[0]"},
		{`{"objectIds":[` + many + `]}`, "10000"},
		{`{"objectIds":[` + a + `],"allMatching":true}`, "not both"},
		{`{"allMatching":false}`, "objectIds"},
		{`{"allMatching":"yes"}`, "allMatching"},
		{`{"allMatching":1}`, "allMatching"},
	} {
		r := e.do("POST", path, c.body)
		if r.status != 400 {
			t.Errorf("body %.60q: status %d, want 400: %s", c.body, r.status, r.body)
			continue
		}
		expect(t, r, 400, "VALIDATION_ERROR", c.want)
	}
	// Unknown flows are 404 on every flow route; a disabled one cannot enroll.
	for _, f := range []string{"424242", "abc", "0", "-1", "99999999999999999999999"} {
		for _, rt := range []struct{ method, path, body string }{
			{"POST", "/enrollments", `{"objectIds":[` + a + `]}`},
			{"POST", "/enrollments", `{"allMatching":true}`},
			{"GET", "/enrollments", ""},
			{"GET", "/executions", ""},
			{"POST", "/actions/1/test", `{"objectId":"` + a + `"}`},
		} {
			expect(t, e.do(rt.method, "/automation/v4/flows/"+f+rt.path, rt.body), 404, "OBJECT_NOT_FOUND")
		}
	}
	expect(t, e.do("POST", "/automation/v4/flows/"+disabled+"/enrollments", `{"objectIds":[`+a+`]}`), 400, "VALIDATION_ERROR", "not enabled")
	expect(t, e.do("POST", "/automation/v4/flows/"+disabled+"/enrollments", `{"allMatching":true}`), 400, "VALIDATION_ERROR", "not enabled")
	// A deleted flow is unknown.
	expect(t, e.do("DELETE", "/automation/v4/flows/"+disabled, ""), 204, "")
	expect(t, e.do("POST", "/automation/v4/flows/"+disabled+"/enrollments", `{"objectIds":[`+a+`]}`), 404, "OBJECT_NOT_FOUND")
}

func TestListBadParams(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	for _, route := range []string{"enrollments", "executions"} {
		for _, q := range []string{"limit=0", "limit=abc", "limit=1001", "limit=-1", "after=-1", "after=abc", "after=1.5"} {
			expect(t, e.do("GET", "/automation/v4/flows/"+id+"/"+route+"?"+q, ""), 400, "VALIDATION_ERROR")
		}
		list, next := results(t, e.do("GET", "/automation/v4/flows/"+id+"/"+route+"?limit=1000&after=0", ""))
		if len(list) != 0 || next != "" {
			t.Errorf("%s of a fresh flow: %v", route, list)
		}
	}
	for _, q := range []string{"objectId=abc", "objectId=-1", "objectId=0", "objectId=1.5"} {
		expect(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?"+q, ""), 400, "VALIDATION_ERROR", "objectId")
	}
}

func TestTestActionRoute(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(false, "")) // testing works on disabled flows too
	a := e.contactWith(`{"email":"a@example.com","n":"21"}`)
	company := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`).json(t)["id"].(string)
	path := "/automation/v4/flows/" + id + "/actions/"

	// Dry run (the default) of set-property: the write is reported, not made.
	r := e.do("POST", path+"3/test", `{"objectId":"`+a+`"}`)
	expect(t, r, 200, "")
	m := r.json(t)
	if m["status"] != "SUCCESS" || m["dryRun"] != true || m["writes"].(map[string]any)["jobtitle"] != "scored" {
		t.Fatalf("dry run answer %s", r.body)
	}
	if got := e.property(a, "jobtitle"); got != "" {
		t.Fatalf("dry run wrote jobtitle %q", got)
	}
	// Custom code: outputs, logs and runtime as `spoke run` prints them.
	r = e.do("POST", path+"1/test", `{"objectId":`+a+`,"dryRun":true}`)
	expect(t, r, 200, "")
	m = r.json(t)
	if m["status"] != "SUCCESS" || m["outputFields"].(map[string]any)["score"] != float64(42) || m["logs"] != "INFO ran\n" || m["nextActionId"] != "2" {
		t.Fatalf("code test answer %s", r.body)
	}
	if rt, _ := m["runtime"].(map[string]any); rt["name"] != "nodejs" || rt["version"] != "20.0.0" {
		t.Errorf("runtime %v", m["runtime"])
	}
	// dryRun false writes, with history source AUTOMATION_PLATFORM.
	r = e.do("POST", path+"3/test", `{"objectId":"`+a+`","dryRun":false}`)
	expect(t, r, 200, "", `"dryRun":false`)
	if got := e.property(a, "jobtitle"); got != "scored" {
		t.Fatalf("dryRun false did not write: %q", got)
	}
	r = e.do("GET", "/crm/v3/objects/contacts/"+a+"?propertiesWithHistory=jobtitle", "")
	expect(t, r, 200, "", `"sourceType":"AUTOMATION_PLATFORM"`, `"sourceId":"`+id+`"`)
	// A FIELD_DATA value has no earlier output in a test run: an ERROR
	// result, not an HTTP error.
	r = e.do("POST", path+"2/test", `{"objectId":"`+a+`"}`)
	expect(t, r, 200, "", `"status":"ERROR"`, "MISSING_FIELD_DATA")

	expect(t, e.do("POST", path+"9/test", `{"objectId":"`+a+`"}`), 404, "", "action 9")
	expect(t, e.do("POST", path+"abc/test", `{"objectId":"`+a+`"}`), 404, "")
	expect(t, e.do("POST", path+"3/test", `{"objectId":"999999"}`), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("POST", path+"3/test", `{"objectId":"`+company+`"}`), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("DELETE", "/crm/v3/objects/contacts/"+a, ""), 204, "")
	expect(t, e.do("POST", path+"3/test", `{"objectId":"`+a+`"}`), 404, "OBJECT_NOT_FOUND")
	for _, body := range []string{"", "{}", `{"objectId":""}`, `{"objectId":"abc"}`, `{"objectId":-1}`, `{"objectId":0}`, `{"objectId":1.5}`,
		`{"objectId":true}`, `{"objectId":[1]}`, `{"objectId":"1","dryRun":"yes"}`, `{"objectId":"1","dryRun":1}`, "[]", "nope"} {
		r := e.do("POST", path+"3/test", body)
		if r.status != 400 {
			t.Errorf("test body %q: %d %s", body, r.status, r.body)
			continue
		}
		expect(t, r, 400, "VALIDATION_ERROR")
	}
}

func TestUsageRoutes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	r := e.do("GET", "/automation/v4/usage", "")
	expect(t, r, 200, "")
	m := r.json(t)
	if len(m["period"].(string)) != 7 || m["customCodeExecutions"] != float64(0) || m["limit"] != float64(spoke.DefaultCodeLimit) || m["unlimited"] != false {
		t.Fatalf("usage %s", r.body)
	}
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"limit":5}`), 200, "", `"limit":5`, `"unlimited":false`)
	expect(t, e.do("GET", "/automation/v4/usage", ""), 200, "", `"limit":5`)
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"limit":0}`), 200, "", `"limit":0`)
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"unlimited":true}`), 200, "", `"limit":null`, `"unlimited":true`)
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"limit":-1}`), 200, "", `"limit":null`, `"unlimited":true`)
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"limit":7,"unlimited":false}`), 200, "", `"limit":7`)
	for _, body := range []string{"", "{}", "null", `{"limit":-2}`, `{"limit":-100}`, `{"limit":"5"}`, `{"limit":1.5}`, `{"limit":1e30}`,
		`{"limit":null}`, `{"unlimited":false}`, `{"unlimited":"yes"}`, `{"limit":5,"unlimited":true}`, "[5]", "5"} {
		r := e.do("PUT", "/automation/v4/usage/limit", body)
		if r.status != 400 {
			t.Errorf("limit body %q: %d %s", body, r.status, r.body)
			continue
		}
		expect(t, r, 400, "VALIDATION_ERROR")
	}
	expect(t, e.do("GET", "/automation/v4/usage", ""), 200, "", `"limit":7`)
}

func TestSecretRoutes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	const value = "pat-na1-s3cr3t-value"
	r := e.do("PUT", "/automation/v4/secrets/API_KEY", `{"value":"`+value+`"}`)
	expect(t, r, 200, "", `"name":"API_KEY"`)
	first := r.json(t)
	if first["createdAt"] == nil || first["updatedAt"] == nil || strings.Contains(r.String(), value) || first["value"] != nil {
		t.Fatalf("put answer %s", r.body)
	}
	r = e.do("PUT", "/automation/v4/secrets/API_KEY", `{"value":"rotated-`+value+`"}`)
	expect(t, r, 200, "")
	if r.json(t)["createdAt"] != first["createdAt"] {
		t.Errorf("replacing a secret changed createdAt: %s then %s", first["createdAt"], r.json(t)["createdAt"])
	}
	expect(t, e.do("PUT", "/automation/v4/secrets/_other2", `{"value":"v"}`), 200, "")
	// Exactly 1000 characters is fine, multibyte ones included.
	expect(t, e.do("PUT", "/automation/v4/secrets/LONG", `{"value":"`+strings.Repeat("x", 1000)+`"}`), 200, "")
	expect(t, e.do("PUT", "/automation/v4/secrets/ACCENTS", `{"value":"`+strings.Repeat("é", 1000)+`"}`), 200, "")

	r = e.do("GET", "/automation/v4/secrets", "")
	expect(t, r, 200, "")
	list, _ := results(t, r)
	var names []string
	for _, s := range list {
		names = append(names, s["name"].(string))
		if _, ok := s["value"]; ok {
			t.Errorf("list shows a value: %v", s)
		}
	}
	if strings.Join(names, ",") != "ACCENTS,API_KEY,LONG,_other2" {
		t.Errorf("names %v", names)
	}
	if strings.Contains(r.String(), value) || strings.Contains(r.String(), "xxxx") {
		t.Errorf("list leaks values: %s", r.body)
	}

	for _, c := range []struct{ name, body, want string }{
		{"1ABC", `{"value":"v"}`, "letters"},
		{"A-B", `{"value":"v"}`, "letters"},
		{"A.B", `{"value":"v"}`, "letters"},
		{"A%20B", `{"value":"v"}`, "letters"},
		{"A%00B", `{"value":"v"}`, "letters"},
		{"%C3%A9", `{"value":"v"}`, "letters"},
		{"A=B", `{"value":"v"}`, "letters"},
		{strings.Repeat("A", 101), `{"value":"v"}`, "letters"},
		{"OK", `{"value":""}`, "non-empty"},
		{"OK", `{}`, "value"},
		{"OK", `{"value":null}`, "value"},
		{"OK", `{"value":5}`, "value"},
		{"OK", `{"value":["a"]}`, "value"},
		{"OK", ``, "empty"},
		{"OK", `"v"`, "must be"},
		{"OK", `{"value":"` + strings.Repeat("x", 1001) + `"}`, "1000"},
		{"OK", `{"value":"` + strings.Repeat("é", 1001) + `"}`, "1000"},
		{"OK", `{"value":"a\u0000b"}`, "NUL"},
	} {
		r := e.do("PUT", "/automation/v4/secrets/"+c.name, c.body)
		if r.status != 400 {
			t.Errorf("PUT secret %.30q %.40q: %d %s", c.name, c.body, r.status, r.body)
			continue
		}
		expect(t, r, 400, "VALIDATION_ERROR", c.want)
	}
	list, _ = results(t, e.do("GET", "/automation/v4/secrets", ""))
	if len(list) != 4 {
		t.Errorf("bad PUTs stored something: %v", list)
	}

	expect(t, e.do("DELETE", "/automation/v4/secrets/NOPE", ""), 404, "OBJECT_NOT_FOUND", "NOPE")
	expect(t, e.do("DELETE", "/automation/v4/secrets/1bad-name", ""), 404, "")
	if r := e.do("DELETE", "/automation/v4/secrets/API_KEY", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	expect(t, e.do("DELETE", "/automation/v4/secrets/API_KEY", ""), 404, "")
	list, _ = results(t, e.do("GET", "/automation/v4/secrets", ""))
	if len(list) != 3 {
		t.Errorf("after delete: %v", list)
	}
}

// A flow naming a secret passes it to the code; the executions never show
// its value.
func TestSecretReachesCodeRedacted(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	const value = "tok-123456"
	expect(t, e.do("PUT", "/automation/v4/secrets/TOKEN", `{"value":"`+value+`"}`), 200, "")
	body := strings.Replace(scoreFlowJSON(true, ""), `"secretNames":[]`, `"secretNames":["TOKEN"]`, 1)
	body = strings.Replace(body, `"inputFields":[`, `"inputFields":[{"name":"echo","value":{"type":"STATIC_VALUE","staticValue":"k=`+value+`"}},`, 1)
	id := e.createFlow(body)
	a := e.contactWith(`{"email":"a@example.com","n":"1"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+a+`]}`), 202, "")
	e.drain()
	r := e.do("GET", "/automation/v4/flows/"+id+"/executions?actionId=1", "")
	expect(t, r, 200, "", `k=[REDACTED]`)
	if strings.Contains(r.String(), value) {
		t.Errorf("execution shows the secret: %s", r.body)
	}
	// Deleting the secret the flow needs fails later enrollments by name.
	expect(t, e.do("DELETE", "/automation/v4/secrets/TOKEN", ""), 204, "")
	b := e.contactWith(`{"email":"b@example.com","n":"1"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+b+`]}`), 202, "")
	e.drain()
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 2 || list[1]["status"] != "FAILED" || !strings.Contains(fmt.Sprint(list[1]["error"]), "TOKEN") {
		t.Errorf("enrollment without its secret: %v", list[1])
	}
}

// Criteria on the properties every record has without storing them
// (createdate, hs_object_id, lastmodifieddate) work for records created
// and updated through the API as they do for allMatching.
func TestListBasedComputedProperties(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	known := func(p string) string {
		return `{"filterType":"PROPERTY","property":"` + p + `","operation":{"operationType":"ALL_PROPERTY","operator":"IS_KNOWN"}}`
	}
	criteria := `{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[],
	  "filterBranches":[{"filterBranchType":"AND","filterBranches":[],"filters":[` + known("createdate") + `,` + known("lastmodifieddate") + `,` + known("hs_object_id") + `,
	  {"filterType":"PROPERTY","property":"firstname","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"Go"}}]}]}}`
	id := e.createFlow(`{"name":"c","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":` + criteria + `,
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"triggered"}}}]}`)
	created := e.contactWith(`{"email":"a@example.com","firstname":"Go"}`)
	updated := e.contactWith(`{"email":"b@example.com","firstname":"Stop"}`)
	expect(t, e.do("PATCH", "/crm/v3/objects/contacts/"+updated, `{"properties":{"firstname":"Go"}}`), 200, "")
	e.drain()
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 2 || list[0]["objectId"] != created || list[1]["objectId"] != updated {
		t.Fatalf("enrollments %v", list)
	}
	if e.property(created, "jobtitle") != "triggered" || e.property(updated, "jobtitle") != "triggered" {
		t.Error("the flow did not run")
	}
}

// Deleting a flow stops its enrollments: they do not go on writing to
// records from a flow no one can see any more.
func TestDeletedFlowStopsItsEnrollments(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	a := e.contactWith(`{"email":"a@example.com","n":"4"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+a+`]}`), 202, "")
	expect(t, e.do("DELETE", "/automation/v4/flows/"+id, ""), 204, "")
	e.drain()
	if got := e.property(a, "jobtitle"); got != "" {
		t.Errorf("the deleted flow wrote jobtitle %q", got)
	}
	if n := e.code.calls.Load(); n != 0 {
		t.Errorf("the deleted flow ran its code %d times", n)
	}
	list, _, err := e.db.ListEnrollments(context.Background(), 1, id, 0, 10)
	if err != nil || len(list) != 1 || list[0].Status != spoke.EnrollmentFailed || list[0].Error == nil || list[0].Error.Type != "FLOW_DELETED" {
		t.Fatalf("enrollment of the deleted flow: %v %+v", err, list)
	}
}

// A property sent empty counts as unset for allMatching as it does for
// triggers.
func TestAllMatchingEmptyIsUnknown(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	empty := e.contactWith(`{"email":"empty@example.com","firstname":""}`)
	named := e.contactWith(`{"email":"named@example.com","firstname":"Ada"}`)
	criteria := `{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[],
	  "filterBranches":[{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"firstname","operation":{"operationType":"ALL_PROPERTY","operator":"IS_UNKNOWN"}}]}]}}`
	id := e.createFlow(`{"name":"c","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":` + criteria + `,
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"anonymous"}}}]}`)
	r := e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"allMatching":true}`)
	expect(t, r, 202, "", `"enrolled":["`+empty+`"]`)
	_ = named // not enrolled: the list above is exact
}

// A flow write the store refuses (an email another contact has) fails that
// enrollment only; the others of the batch complete.
func TestFlowWriteConflictFailsOneEnrollment(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	e.contactWith(`{"email":"taken@example.com"}`)
	id := e.createFlow(`{"name":"c","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"set"}},"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	   {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,
	   "fields":{"property_name":"email","value":{"type":"OBJECT_PROPERTY","propertyName":"firstname"}}}]}`)
	bad := e.contactWith(`{"email":"bad@example.com","firstname":"taken@example.com"}`)
	good := e.contactWith(`{"email":"good@example.com","firstname":"free@example.com"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":[`+bad+`,`+good+`]}`), 202, "")
	e.drain()
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 2 || list[0]["status"] != "FAILED" || list[1]["status"] != "COMPLETED" {
		t.Fatalf("enrollments %v", list)
	}
	if errObj, _ := list[0]["error"].(map[string]any); errObj["type"] != "WRITE_FAILED" {
		t.Errorf("error %v", list[0]["error"])
	}
	if e.property(good, "email") != "free@example.com" || e.property(good, "jobtitle") != "set" {
		t.Errorf("good record not written")
	}
	if e.property(bad, "email") != "bad@example.com" || e.property(bad, "jobtitle") != "" {
		t.Errorf("the failed enrollment's writes were not all refused")
	}
	// Both actions' writes were refused together: both executions failed.
	xs, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?objectId="+bad, ""))
	if len(xs) != 2 || xs[0]["status"] != "ERROR" || xs[1]["status"] != "ERROR" {
		t.Errorf("executions of the failed enrollment %v", xs)
	}
}

// TestWorkflowIDMappings checks that a flow's legacy workflow id is its
// flow id, both ways, and that unknown ids are reported per input.
func TestWorkflowIDMappings(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(`{"name":"m","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,"actions":[]}`)
	const path = "/automation/v4/workflow-id-mappings/batch/read"
	r := e.do("POST", path, `{"inputs":[{"type":"FLOW_ID","flowId":"`+id+`"},{"type":"WORKFLOW_ID","workflowId":`+id+`}]}`)
	expect(t, r, 200, "", `"status":"COMPLETE"`, `{"flowId":`+id+`,"workflowId":`+id+`}`)
	r = e.do("POST", path, `{"inputs":[{"type":"FLOW_ID","flowId":"`+id+`"},{"type":"WORKFLOW_ID","workflowId":"999999"}]}`)
	expect(t, r, 207, "", `"numErrors":1`, "999999")
	expect(t, e.do("POST", path, `{"inputs":[{"type":"NAME","flowId":"1"}]}`), 400, "VALIDATION_ERROR", "FLOW_ID or WORKFLOW_ID")
	expect(t, e.do("POST", path, `{"inputs":[{"type":"WORKFLOW_ID","flowId":"1"}]}`), 400, "VALIDATION_ERROR", "workflowId")
}

func TestRetentionRoutes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	expect(t, e.do("GET", "/automation/v4/settings/retention", ""), 200, "", `"days":30`, `"failedDays":90`, `"maxExecutionsPerFlow":0`)
	expect(t, e.do("PUT", "/automation/v4/settings/retention", `{"days":7}`), 200, "", `"days":7`, `"failedDays":90`)
	expect(t, e.do("PUT", "/automation/v4/settings/retention", `{"failedDays":14,"maxExecutionsPerFlow":1000}`), 200, "", `"days":7`, `"failedDays":14`, `"maxExecutionsPerFlow":1000`)
	expect(t, e.doAs(e.automationOnly, "GET", "/automation/v4/settings/retention", ""), 200, "", `"days":7`)
	for _, body := range []string{"", "{}", `{"days":0}`, `{"days":"7"}`, `{"failedDays":-1}`, `{"maxExecutionsPerFlow":-5}`, `{"days":1.5}`, "[1]"} {
		expect(t, e.do("PUT", "/automation/v4/settings/retention", body), 400, "VALIDATION_ERROR")
	}
	expect(t, e.do("GET", "/automation/v4/settings/retention", ""), 200, "", `"days":7`, `"failedDays":14`)
}
