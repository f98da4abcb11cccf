package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// setupFlows is setup with the flows API wired to the store.
func setupFlows(t *testing.T) *env {
	t.Helper()
	s := newTestStore(t)
	s.addFlowFixtures()
	db := s.db
	return s.serve(t, &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Lists: db, FlowWebhooks: db, Flows: db, FlowChecker: db,
		Logger: s.logger})
}

// flowExample is reference §5.5 plus fields Spoke does not interpret.
const flowExample = `{
  "name": "Normalize zip",
  "type": "PLATFORM_FLOW",
  "objectTypeId": "0-3",
  "flowType": "WORKFLOW",
  "isEnabled": false,
  "startActionId": "1",
  "uuid": "2b1f8c1e-0000-4000-8000-000000000001",
  "futureField": {"deep": [1, {"x": "y"}]},
  "actions": [
    {"type": "CUSTOM_CODE", "actionId": "1", "runtime": "NODE20X", "secretNames": ["HUBSPOT_TOKEN"],
     "sourceCode": "exports.main = async (event, callback) => callback({outputFields: {zip: (event.inputFields.zip || '').trim()}});",
     "inputFields": [{"name": "zip", "value": {"type": "OBJECT_PROPERTY", "propertyName": "zip"}}],
     "outputFields": [{"name": "zip", "type": "STRING"}],
     "connection": {"edgeType": "STANDARD", "nextActionId": "2"},
     "actionNote": "kept"},
    {"type": "SINGLE_CONNECTION", "actionId": "2", "actionTypeId": "0-5", "actionTypeVersion": 0,
     "fields": {"property_name": "zip", "value": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "zip"}},
     "connection": {"edgeType": "GO-TO", "nextActionId": "3"}},
    {"type": "SINGLE_CONNECTION", "actionId": "3", "actionTypeId": "0-1", "actionTypeVersion": 0,
     "fields": {"delta": "60", "time_unit": "MINUTES"}}
  ],
  "enrollmentCriteria": {"type": "MANUAL", "shouldReEnroll": false},
  "timeWindows": [], "blockedDates": [], "customProperties": {}, "dataSources": []
}`

func TestFlowsLifecycle(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)

	r := e.do("POST", "/automation/v4/flows", flowExample)
	expect(t, r, 201, "")
	created := r.json(t)
	id, _ := created["id"].(string)
	if id == "" || created["revisionId"] != "1" || created["nextAvailableActionId"] != "4" || created["crmObjectCreationStatus"] != "COMPLETE" {
		t.Fatalf("created: %s", r.body)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if s, _ := created[k].(string); !strings.HasSuffix(s, "Z") || len(s) != 24 {
			t.Errorf("%s = %v", k, created[k])
		}
	}
	for _, s := range []string{`"futureField":{"deep":[1,{"x":"y"}]}`, `"actionNote":"kept"`, `"edgeType":"GOTO"`, `"uuid":"2b1f8c1e`} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("create response lacks %s: %s", s, r.body)
		}
	}

	g := e.do("GET", "/automation/v4/flows/"+id, "")
	expect(t, g, 200, "")
	if !jsonEqual(t, g.body, r.body) {
		t.Errorf("GET differs from create:\n%s\n%s", g.body, r.body)
	}

	// PUT a full replacement with the current revision.
	put := strings.Replace(flowExample, `"name": "Normalize zip"`, `"name": "Renamed", "revisionId": "1"`, 1)
	u := e.do("PUT", "/automation/v4/flows/"+id, put)
	expect(t, u, 200, "")
	if m := u.json(t); m["revisionId"] != "2" || m["name"] != "Renamed" || m["id"] != id || m["createdAt"] != created["createdAt"] {
		t.Fatalf("PUT: %s", u.body)
	}
	// The same PUT again is stale.
	expect(t, e.do("PUT", "/automation/v4/flows/"+id, put), 409, "CONFLICT", "revision 2")
	// Without revisionId too.
	expect(t, e.do("PUT", "/automation/v4/flows/"+id, flowExample), 409, "CONFLICT", "revisionId")
	// A PUT of what GET returned works (read-only fields are ignored).
	g = e.do("GET", "/automation/v4/flows/"+id, "")
	expect(t, e.do("PUT", "/automation/v4/flows/"+id, string(g.body)), 200, "", `"revisionId":"3"`)

	// Every revision stays readable.
	r1 := e.do("GET", "/automation/v4/flows/"+id+"/revisions/1", "")
	expect(t, r1, 200, "", `"revisionId":"1"`, `"name":"Normalize zip"`)
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions/9", ""), 404, "OBJECT_NOT_FOUND")

	// List: only the listing fields.
	l := e.do("GET", "/automation/v4/flows", "")
	expect(t, l, 200, "")
	var list struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(l.body, &list); err != nil || len(list.Results) != 1 {
		t.Fatalf("list: %s", l.body)
	}
	for k := range list.Results[0] {
		switch k {
		case "id", "isEnabled", "flowType", "objectTypeId", "revisionId", "createdAt", "updatedAt", "name", "uuid":
		default:
			t.Errorf("listing has %s: %s", k, l.body)
		}
	}
	if list.Results[0]["uuid"] == nil || list.Results[0]["revisionId"] != "3" {
		t.Errorf("listing: %s", l.body)
	}

	// Batch read: one found, one missing.
	b := e.do("POST", "/automation/v4/flows/batch/read", `{"inputs":[{"type":"FLOW_ID","flowId":"`+id+`"}]}`)
	expect(t, b, 200, "", `"futureField"`)
	b = e.do("POST", "/automation/v4/flows/batch/read", `{"inputs":[{"type":"FLOW_ID","flowId":`+id+`},{"type":"FLOW_ID","flowId":"987654"}]}`)
	expect(t, b, 207, "", `"numErrors":1`, `"OBJECT_NOT_FOUND"`, `"987654"`)
	expect(t, e.do("POST", "/automation/v4/flows/batch/read", `{"inputs":[{"type":"NAME","flowId":"1"}]}`), 400, "VALIDATION_ERROR", "FLOW_ID")

	// Delete.
	d := e.do("DELETE", "/automation/v4/flows/"+id, "")
	if d.status != 204 || len(d.body) != 0 {
		t.Fatalf("DELETE: %d %s", d.status, d.body)
	}
	expect(t, e.do("GET", "/automation/v4/flows/"+id, ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("DELETE", "/automation/v4/flows/"+id, ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("PUT", "/automation/v4/flows/"+id, put), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions/2", ""), 200, "", `"name":"Renamed"`)
}

// expectMessage is expect with substrings of the decoded error message.
func expectMessage(t *testing.T, r resp, status int, category string, contains ...string) {
	t.Helper()
	expect(t, r, status, category)
	msg, _ := r.json(t)["message"].(string)
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not contain %q", msg, s)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

func TestFlowsMinimalDefaults(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	r := e.do("POST", "/automation/v4/flows", `{"name":"My flow","type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1","actions":[]}`)
	expect(t, r, 201, "", `"timeWindows":[]`, `"blockedDates":[]`, `"customProperties":{}`, `"dataSources":[]`,
		`"suppressionListIds":[]`, `"canEnrollFromSalesforce":false`, `"crmObjectCreationStatus":"COMPLETE"`, `"revisionId":"1"`)
}

func TestFlowsPaging(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	for i := 0; i < 5; i++ {
		expect(t, e.do("POST", "/automation/v4/flows", `{"type":"PLATFORM_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-2","actions":[]}`), 201, "")
	}
	seen := 0
	path := "/automation/v4/flows?limit=2"
	for i := 0; i < 5 && path != ""; i++ {
		r := e.do("GET", path, "")
		expect(t, r, 200, "")
		var page struct {
			Results []map[string]any
			Paging  *struct{ Next struct{ After, Link string } }
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		seen += len(page.Results)
		path = ""
		if page.Paging != nil {
			path = "/automation/v4/flows?limit=2&after=" + page.Paging.Next.After
		}
	}
	if seen != 5 {
		t.Errorf("paged through %d flows, want 5", seen)
	}
	expect(t, e.do("GET", "/automation/v4/flows?after=abc", ""), 400, "VALIDATION_ERROR", "after")
	expect(t, e.do("GET", "/automation/v4/flows?limit=0", ""), 400, "VALIDATION_ERROR", "limit")
}

func TestFlowsAuth(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	expect(t, e.doAs(e.readOnly, "GET", "/automation/v4/flows", ""), 403, "MISSING_SCOPES", "automation")
	expect(t, e.doAs(e.readOnly, "POST", "/automation/v4/flows", `{}`), 403, "MISSING_SCOPES")
	expect(t, e.doAs("", "GET", "/automation/v4/flows", ""), 401, "INVALID_AUTHENTICATION")
	for _, id := range []string{"123456", "abc", "0"} {
		expect(t, e.do("GET", "/automation/v4/flows/"+id, ""), 404, "OBJECT_NOT_FOUND")
	}
}

// TestFlowsBadJSON sends many kinds of bad flows: each gets a 400 that
// names the problem (and the action), never a 500.
func TestFlowsBadJSON(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	wrap := func(actions string, extra ...string) string {
		return `{"type":"PLATFORM_FLOW","flowType":"WORKFLOW","isEnabled":true,"objectTypeId":"0-3","actions":[` + actions + `]` + strings.Join(extra, "") + `}`
	}
	delay := `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"DAYS"},"connection":{"edgeType":"STANDARD","nextActionId":"2"}}`
	code := func(id, src, rest string) string {
		b, _ := json.Marshal(src)
		return `{"type":"CUSTOM_CODE","actionId":"` + id + `","runtime":"NODE20X","secretNames":[],"sourceCode":` + string(b) + `,"inputFields":[],"outputFields":[{"name":"score","type":"NUMBER"}]` + rest + `}`
	}
	cases := []struct {
		name, body string
		want       []string
	}{
		{"empty body", ``, []string{"empty"}},
		{"not json", `{"type":`, []string{"Invalid JSON"}},
		{"not an object", `[1,2]`, []string{"must be"}},
		{"missing fields", `{"name":"x"}`, []string{"type", "objectTypeId", "actions"}},
		{"wrong type for actions", wrap(``)[:0] + `{"type":"PLATFORM_FLOW","flowType":"WORKFLOW","isEnabled":true,"objectTypeId":"0-3","actions":"no"}`, []string{"actions", "array"}},
		{"wrong type inside action", wrap(`{"type":"CUSTOM_CODE","actionId":"1","outputFields":"x"}`), []string{`actionId "1"`, "outputFields"}},
		{"unknown next", wrap(delay), []string{`action "1"`, `nextActionId "2"`}},
		{"duplicate ids", wrap(code("1", "exports.main=async()=>({})", ``) + "," + code("1", "exports.main=async()=>({})", ``)), []string{`action "1"`, "more than one"}},
		{"cycle", wrap(strings.Replace(delay, `"nextActionId":"2"`, `"nextActionId":"1"`, 1)), []string{`action "1"`, "cycle"}},
		{"unreachable", wrap(code("1", "exports.main=async()=>({})", ``) + "," + code("2", "exports.main=async()=>({})", ``)), []string{`action "2"`, "unreachable"}},
		{"unknown property", wrap(code("1", "exports.main=async()=>({})", ``)[:0] + `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"property_name":"nope","value":{"type":"STATIC_VALUE","staticValue":"x"}}}`), []string{`action "1"`, `"nope"`}},
		{"contact property on deals", wrap(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"property_name":"firstname","value":{"type":"STATIC_VALUE","staticValue":"x"}}}`), []string{`"firstname"`, "0-3"}},
		{"undeclared output", wrap(code("1", "exports.main=async()=>({})", `,"connection":{"edgeType":"STANDARD","nextActionId":"2"}`) + `,{"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","fields":{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}}}`), []string{`action "2"`, `dataKey "zip"`}},
		{"code does not parse", wrap(code("1", "exports.main = async (event) => {", ``)), []string{`action "1"`, "does not parse", "SyntaxError"}},
		{"python does not parse", wrap(`{"type":"CUSTOM_CODE","actionId":"1","runtime":"PYTHON39","secretNames":[],"sourceCode":"def main(event:\n  pass","inputFields":[],"outputFields":[]}`), []string{`action "1"`, "SyntaxError"}},
		{"missing secret", wrap(code("1", "exports.main=async()=>({})", `,"secretNames":["NOT_THERE"]`)), []string{`secret "NOT_THERE"`}},
		{"bad runtime", wrap(strings.Replace(code("1", "x", ``), "NODE20X", "RUBY", 1)), []string{`"RUBY"`}},
		{"bad output type", wrap(code("1", "exports.main=async()=>({})", ``)[:0] + `{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"exports.main=async()=>({})","outputFields":[{"name":"a","type":"BOOLEAN"}]}`), []string{`"BOOLEAN"`}},
		{"bad delay", wrap(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"soon","time_unit":"DAYS"}}`), []string{"delta"}},
		{"bad webhook", wrap(`{"type":"WEBHOOK","actionId":"1","webhookUrl":"file:///etc/passwd","method":"POST"}`), []string{"webhookUrl"}},
		{"unknown action type", wrap(`{"type":"TELEPORT","actionId":"1"}`), []string{`"TELEPORT"`}},
		{"unsupported actionTypeId", wrap(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-99","fields":{}}`), []string{`"0-99"`}},
		{"event based", wrap(``, `,"enrollmentCriteria":{"type":"EVENT_BASED","shouldReEnroll":false,"eventFilterBranches":[]}`), []string{"EVENT_BASED"}},
		{"bad filter", wrap(``, `,"enrollmentCriteria":{"type":"LIST_BASED","listFilterBranch":{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"amount","operation":{"operationType":"NUMBER","operator":"IS_ROUGHLY","value":1}}]}}`), []string{"IS_ROUGHLY"}},
		{"bad start", wrap(delay[:0]+`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"DAYS"}}`, `,"startActionId":"77"`), []string{`"77"`}},
		{"bad type", `{"type":"SOMETHING","flowType":"WORKFLOW","isEnabled":true,"objectTypeId":"0-3","actions":[]}`, []string{"SOMETHING"}},
		{"deep nesting", wrap(``, `,"x":`+strings.Repeat("[", 500)+strings.Repeat("]", 500)), []string{"nested"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/automation/v4/flows", tc.body)
			expectMessage(t, r, 400, "VALIDATION_ERROR", tc.want...)
		})
	}
	// The same checks on PUT.
	r := e.do("POST", "/automation/v4/flows", wrap(``))
	expect(t, r, 201, "")
	id := r.json(t)["id"].(string)
	expectMessage(t, e.do("PUT", "/automation/v4/flows/"+id, wrap(delay, `,"revisionId":"1"`)), 400, "VALIDATION_ERROR", `action "1"`, `nextActionId "2"`)
	m := e.do("PUT", "/automation/v4/flows/"+id, wrap(delay, `,"revisionId":"1"`)).json(t)
	if ctx, _ := m["context"].(map[string]any); ctx == nil || ctx["actionId"] == nil {
		t.Errorf("400 has no context.actionId: %v", m)
	}
}

// TestFlowsMutationsNever500 replaces every value of a valid flow, one at
// a time, with a value of each JSON type: every answer is 201 or a 400
// envelope, never a 5xx (send fails the test on those).
func TestFlowsMutationsNever500(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	var base any
	if err := json.Unmarshal([]byte(flowExample), &base); err != nil {
		t.Fatal(err)
	}
	replacements := []any{nil, 0.0, -1.5, "", "x", true, []any{}, map[string]any{}, []any{"1"}}
	var paths [][]any
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		if len(path) > 0 {
			paths = append(paths, append([]any(nil), path...))
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, append(path, k))
			}
		case []any:
			for i, c := range x {
				walk(c, append(path, i))
			}
		}
	}
	walk(base, nil)
	statuses := map[int]int{}
	for _, p := range paths {
		for _, rep := range replacements {
			var doc any
			_ = json.Unmarshal([]byte(flowExample), &doc)
			cur := doc
			for i, step := range p {
				last := i == len(p)-1
				switch c := cur.(type) {
				case map[string]any:
					if last {
						c[step.(string)] = rep
					} else {
						cur = c[step.(string)]
					}
				case []any:
					if last {
						c[step.(int)] = rep
					} else {
						cur = c[step.(int)]
					}
				}
			}
			body, _ := json.Marshal(doc)
			r := e.do("POST", "/automation/v4/flows", string(body))
			statuses[r.status]++
			if r.status == 201 && testing.Verbose() {
				t.Logf("accepted %v = %#v", p, rep)
			}
			if r.status != 201 && r.status != 400 {
				t.Errorf("path %v = %#v: status %d: %s", p, rep, r.status, r.body)
			}
			if r.status == 400 {
				if m := r.json(t); m["category"] != "VALIDATION_ERROR" || m["message"] == "" {
					t.Errorf("path %v = %#v: %s", p, rep, r.body)
				}
			}
		}
	}
	if statuses[400] == 0 || statuses[201] == 0 {
		t.Errorf("statuses %v", statuses)
	}
	t.Logf("%d mutations: %v", len(paths)*len(replacements), statuses)
}
