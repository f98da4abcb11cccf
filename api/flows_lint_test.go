package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spokehq/spoke/lint"
)

// setupLintFlows is the flows API with a real linter (ESLint and Python's
// ast) behind it.
func setupLintFlows(t *testing.T) *env {
	t.Helper()
	s := newTestStore(t)
	l := lint.New(lint.Config{})
	t.Cleanup(func() { l.Close() })
	db := s.db
	return s.serve(t, &Server{Records: db, Properties: db, Associations: db, Tokens: db, Flows: db, FlowChecker: db, Linter: l,
		Logger: s.logger})
}

// lintFlowBody is a contact flow with one Node and one Python custom code
// action. The Node code logs a secret (an error) and trims an input without
// a check (a warning); the Python code is clean.
func lintFlowBody(enabled bool, extra string) string {
	js := "exports.main = async (event) => {\n  console.log('token', process.env.HS_TOKEN);\n  return { outputFields: { zip: event.inputFields.zip.trim() } };\n};"
	py := "def main(event):\n    zip_code = event.get('inputFields').get('zip') or ''\n    return {'outputFields': {'zip': zip_code[:5]}}\n"
	jsJSON, _ := json.Marshal(js)
	pyJSON, _ := json.Marshal(py)
	return fmt.Sprintf(`{"name": "Zip", "type": "CONTACT_FLOW", "objectTypeId": "0-1", "flowType": "WORKFLOW", "isEnabled": %t, %s
  "actions": [
    {"type": "CUSTOM_CODE", "actionId": "1", "runtime": "NODE20X", "sourceCode": %s,
     "inputFields": [{"name": "zip", "value": {"type": "OBJECT_PROPERTY", "propertyName": "zip"}}],
     "outputFields": [{"name": "zip", "type": "STRING"}],
     "connection": {"edgeType": "STANDARD", "nextActionId": "2"}},
    {"type": "CUSTOM_CODE", "actionId": "2", "runtime": "PYTHON39", "sourceCode": %s,
     "inputFields": [{"name": "zip", "value": {"type": "OBJECT_PROPERTY", "propertyName": "zip"}}],
     "outputFields": [{"name": "zip", "type": "STRING"}]}
  ]}`, enabled, extra, jsJSON, pyJSON)
}

func warningsOf(t *testing.T, m map[string]any) []string {
	t.Helper()
	list, ok := m["warnings"].([]any)
	if !ok {
		t.Fatalf("no warnings array in %v", m)
	}
	var out []string
	for _, w := range list {
		w := w.(map[string]any)
		if w["message"] == "" || w["column"] == nil {
			t.Errorf("warning %v lacks a message or column", w)
		}
		out = append(out, fmt.Sprintf("%v:%v:%v:%v", w["actionId"], w["line"], w["rule"], w["severity"]))
	}
	return out
}

func TestFlowSaveLint(t *testing.T) {
	t.Parallel()
	e := setupLintFlows(t)
	want := "[1:2:secret-in-log:error 1:3:unchecked-input:warning]"

	// A disabled flow saves with its findings.
	r := e.do("POST", "/automation/v4/flows", lintFlowBody(false, ""))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.json(t)
	if got := fmt.Sprint(warningsOf(t, created)); got != want {
		t.Errorf("warnings %s, want %s", got, want)
	}
	id := created["id"].(string)
	// HubSpot's fields are all there; the findings are not stored.
	for _, k := range []string{"id", "revisionId", "createdAt", "updatedAt", "actions", "isEnabled"} {
		if _, ok := created[k]; !ok {
			t.Errorf("create answer lacks %s", k)
		}
	}
	g := e.do("GET", "/automation/v4/flows/"+id, "")
	if strings.Contains(string(g.body), "warnings") {
		t.Errorf("GET returns the save's warnings: %s", g.body)
	}

	// Turning it on with an error-level finding is refused, naming it.
	on := lintFlowBody(true, `"revisionId": "1",`)
	r = e.do("PUT", "/automation/v4/flows/"+id, on)
	expect(t, r, 400, "VALIDATION_ERROR", `action \"1\" line 2: secret-in-log`, `acknowledgeLint`, `"code":"SECRET_IN_LOG"`)
	if m := r.json(t); fmt.Sprint(m["context"]) != "map[actionId:[1]]" {
		t.Errorf("context %v", m["context"])
	}
	if g := e.do("GET", "/automation/v4/flows/"+id, "").json(t); g["isEnabled"] != false || g["revisionId"] != "1" {
		t.Errorf("refused PUT changed the flow: %v", g)
	}

	// Acknowledged, it goes on, and the answer still lists the findings.
	r = e.do("PUT", "/automation/v4/flows/"+id, lintFlowBody(true, `"revisionId": "1", "acknowledgeLint": true,`))
	if r.status != http.StatusOK {
		t.Fatalf("acknowledged PUT: %d %s", r.status, r.body)
	}
	u := r.json(t)
	if u["isEnabled"] != true || fmt.Sprint(warningsOf(t, u)) != want {
		t.Errorf("acknowledged PUT answer %v", u)
	}
	g = e.do("GET", "/automation/v4/flows/"+id, "")
	if strings.Contains(string(g.body), "acknowledgeLint") || strings.Contains(string(g.body), "warnings") {
		t.Errorf("the stored flow keeps per-save fields: %s", g.body)
	}

	// A client that PUTs back a save's answer (warnings included) does not
	// store the warnings either.
	back := u
	back["isEnabled"] = false
	b, _ := json.Marshal(back)
	r = e.do("PUT", "/automation/v4/flows/"+id, string(b))
	if r.status != http.StatusOK {
		t.Fatalf("PUT of a save answer: %d %s", r.status, r.body)
	}
	if g := e.do("GET", "/automation/v4/flows/"+id, ""); strings.Contains(string(g.body), "warnings") {
		t.Errorf("PUT-back stored warnings: %s", g.body)
	}

	// Creating an enabled flow with errors is refused and creates nothing.
	r = e.do("POST", "/automation/v4/flows", lintFlowBody(true, ""))
	expect(t, r, 400, "VALIDATION_ERROR", "secret-in-log")
	if l := e.do("GET", "/automation/v4/flows", "").json(t); len(l["results"].([]any)) != 1 {
		t.Errorf("refused create stored a flow: %v", l)
	}
}

func TestFlowSaveLintWarningsDoNotBlock(t *testing.T) {
	t.Parallel()
	e := setupLintFlows(t)
	body := strings.Replace(lintFlowBody(true, ""), `console.log('token', process.env.HS_TOKEN);`, `console.log('token set', Boolean(process.env.HS_TOKEN));`, 1)
	r := e.do("POST", "/automation/v4/flows", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create with warnings only: %d %s", r.status, r.body)
	}
	if got := fmt.Sprint(warningsOf(t, r.json(t))); got != "[1:3:unchecked-input:warning]" {
		t.Errorf("warnings %s", got)
	}
	// Clean code: an empty warnings array, on every save.
	clean := strings.Replace(body, `event.inputFields.zip.trim()`, `(event.inputFields.zip || '').trim()`, 1)
	r = e.do("POST", "/automation/v4/flows", clean)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"warnings":[]`) {
		t.Fatalf("clean create: %d %s", r.status, r.body)
	}
}
