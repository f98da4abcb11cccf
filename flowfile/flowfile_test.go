package flowfile

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/sqlite"
)

const token = "flowfile-test-token"

// server is an in-process Spoke API on its own store.
type server struct {
	t      *testing.T
	client *Client
	db     *sqlite.DB
	acct   int64
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StoreToken(ctx, acct, "admin", token, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	// Secrets exist on every server under the same name, with different
	// values: a folder carries names only.
	if _, err := db.PutSecret(ctx, acct, "HUBSPOT_TOKEN", "value-on-"+t.Name()+"-"+filepath.Base(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{Records: db, Properties: db, Associations: db, Tokens: db, Flows: db, FlowChecker: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		db.Close()
	})
	return &server{t: t, client: &Client{URL: ts.URL, Token: token}, db: db, acct: acct}
}

func (s *server) createFlow(doc string) string {
	s.t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		s.t.Fatal(err)
	}
	out, err := s.client.CreateFlow(context.Background(), m)
	if err != nil {
		s.t.Fatal(err)
	}
	return out["id"].(string)
}

func (s *server) flow(id string) map[string]any {
	s.t.Helper()
	doc, err := s.client.GetFlow(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return doc
}

// everyAction uses each action type Spoke runs, both runtimes, a secret,
// a custom property in enrollment criteria, a branch and a set-property
// action.
const everyAction = `{
  "name": "Every action", "type": "CONTACT_FLOW", "objectTypeId": "0-1", "flowType": "WORKFLOW", "isEnabled": false,
  "enrollmentCriteria": {"type": "LIST_BASED", "shouldReEnroll": false, "unEnrollObjectsNotMeetingCriteria": false,
    "listFilterBranch": {"filterBranchType": "OR", "filters": [], "filterBranches": [{"filterBranchType": "AND", "filterBranches": [],
      "filters": [{"filterType": "PROPERTY", "property": "lead_score", "operation": {"operationType": "NUMBER", "operator": "IS_GREATER_THAN", "value": 10, "includeObjectsWithNoValueSet": false}}]}]}},
  "timeWindows": [], "customProperties": {"team": "revops"},
  "actions": [
    {"type": "CUSTOM_CODE", "actionId": "1", "actionTypeVersion": 0, "runtime": "NODE20X", "secretNames": ["HUBSPOT_TOKEN"],
     "sourceCode": "exports.main = async (event, callback) => {\n  callback({ outputFields: { score: 42, tier: 'gold' } });\n};\n",
     "inputFields": [{"name": "email", "value": {"type": "OBJECT_PROPERTY", "propertyName": "email"}}],
     "outputFields": [{"name": "score", "type": "NUMBER"}, {"name": "tier", "type": "ENUMERATION", "options": ["gold", "silver"]}],
     "connection": {"edgeType": "STANDARD", "nextActionId": "2"}},
    {"type": "SINGLE_CONNECTION", "actionId": "2", "actionTypeId": "0-1", "actionTypeVersion": 0,
     "fields": {"delta": "5", "time_unit": "MINUTES"}, "connection": {"edgeType": "STANDARD", "nextActionId": "3"}},
    {"type": "STATIC_BRANCH", "actionId": "3", "actionTypeVersion": 0,
     "inputValue": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "tier"},
     "staticBranches": [{"branchValue": "gold", "connection": {"edgeType": "STANDARD", "nextActionId": "4"}}],
     "defaultBranchName": "other", "defaultBranch": {"edgeType": "STANDARD", "nextActionId": "5"}},
    {"type": "SINGLE_CONNECTION", "actionId": "4", "actionTypeId": "0-5", "actionTypeVersion": 0,
     "fields": {"property_name": "lead_score", "value": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "score"}},
     "connection": {"edgeType": "STANDARD", "nextActionId": "5"}},
    {"type": "LIST_BRANCH", "actionId": "5", "actionTypeVersion": 0,
     "listBranches": [{"branchName": "has email", "filterBranch": {"filterBranchType": "AND", "filterBranches": [],
       "filters": [{"filterType": "PROPERTY", "property": "email", "operation": {"operationType": "ALL_PROPERTY", "operator": "IS_KNOWN", "includeObjectsWithNoValueSet": false}}]},
       "connection": {"edgeType": "STANDARD", "nextActionId": "6"}}],
     "defaultBranchName": "no email"},
    {"type": "CUSTOM_CODE", "actionId": "6", "actionTypeVersion": 0, "runtime": "PYTHON39", "secretNames": [],
     "sourceCode": "def main(event):\n    return {\"outputFields\": {}}\n", "inputFields": [], "outputFields": [],
     "connection": {"edgeType": "STANDARD", "nextActionId": "7"}},
    {"type": "WEBHOOK", "actionId": "7", "actionTypeVersion": 0, "webhookUrl": "https://hooks.example.com/lead", "method": "POST",
     "queryParams": [{"name": "score", "value": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "score"}}]}
  ]
}`

func addLeadScore(t *testing.T, s *server) {
	t.Helper()
	_, err := s.db.CreateProperty(context.Background(), s.acct, &spoke.Property{ObjectType: "contacts", Name: "lead_score", Label: "Lead score",
		Type: "number", FieldType: "number", GroupName: "contactinformation", Description: "Set by the scoring flow"})
	if err != nil {
		t.Fatal(err)
	}
}

// withoutStoreFields drops what differs between two servers holding the
// same flow.
func withoutStoreFields(doc map[string]any) string {
	d := cloneJSON(doc).(map[string]any)
	for _, k := range storeOwned {
		delete(d, k)
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func plan(t *testing.T, s *server, dir string) *Plan {
	t.Helper()
	dirs, err := Folders(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(context.Background(), s.client, dirs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func planText(p *Plan) string {
	var b bytes.Buffer
	p.Write(&b)
	return b.String()
}

// TestRoundTrip exports a flow with every action type from one server and
// applies it to another: the flow and its property arrive exactly.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	staging, prod := newServer(t), newServer(t)
	addLeadScore(t, staging)
	id := staging.createFlow(everyAction)
	out := t.TempDir()
	dirs, err := Export(ctx, staging.client, ExportOptions{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "every-action")
	if len(dirs) != 1 || dirs[0] != dir {
		t.Fatalf("exported %v", dirs)
	}
	flowYAML, err := os.ReadFile(filepath.Join(dir, FlowYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: Every action\n", "sourceFile: actions/action-1.js", "sourceFile: actions/action-6.py", "- HUBSPOT_TOKEN"} {
		if !strings.Contains(string(flowYAML), want) {
			t.Errorf("flow.yaml lacks %q:\n%s", want, flowYAML)
		}
	}
	for _, bad := range []string{"revisionId", "createdAt", "sourceCode", "value-on-", "nextAvailableActionId"} {
		if strings.Contains(string(flowYAML), bad) {
			t.Errorf("flow.yaml holds %q:\n%s", bad, flowYAML)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "actions", "action-6.py")); !strings.HasPrefix(string(b), "def main(event):") {
		t.Errorf("python source: %q", b)
	}
	props, _ := os.ReadFile(filepath.Join(dir, PropertiesYAML))
	if !strings.Contains(string(props), "name: lead_score") || strings.Contains(string(props), "name: email") {
		t.Errorf("properties.yaml:\n%s", props)
	}
	// A second export writes the same bytes: stable order and names.
	if _, err := Export(ctx, staging.client, ExportOptions{Out: out, Flows: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, FlowYAML)); !bytes.Equal(again, flowYAML) {
		t.Errorf("re-export changed flow.yaml:\n%s\n---\n%s", flowYAML, again)
	}

	// Onto production: the property first, then the flow.
	p := plan(t, prod, out)
	text := planText(p)
	for _, want := range []string{"property contacts.lead_score: create", `flow "Every action" (` + dir + `): create`,
		"+ action 1 CUSTOM_CODE (actions/action-1.js)", "+ action 7 WEBHOOK", "Plan for " + prod.client.Target() + ": 2 to create"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if n, err := Apply(ctx, prod.client, p, false); err != nil || n != 2 {
		t.Fatalf("apply: %d, %v", n, err)
	}
	sync, _ := ReadSync(dir)
	prodID := sync[prod.client.Target()].ID
	if got, want := withoutStoreFields(prod.flow(prodID)), withoutStoreFields(staging.flow(id)); got != want {
		t.Errorf("production's flow differs from staging's:\n%s\n%s", got, want)
	}
	prop, err := prod.client.GetProperty(ctx, "contacts", "lead_score")
	if err != nil || prop.Label != "Lead score" || prop.Type != "number" || prop.Description != "Set by the scoring flow" {
		t.Errorf("property on production: %+v, %v", prop, err)
	}
	if sync[staging.client.Target()].ID != id {
		t.Errorf("sync records: %+v", sync)
	}
}

// TestApplyIdempotentAndConflicts applies a folder twice (nothing
// changes), changes a file (one new revision), and refuses to overwrite a
// flow changed on the server unless forced.
func TestApplyIdempotentAndConflicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	dir := filepath.Join(t.TempDir(), "leads")
	if _, err := Scaffold(dir); err != nil {
		t.Fatal(err)
	}
	p := plan(t, s, dir)
	if n, err := Apply(ctx, s.client, p, false); err != nil || n != 2 {
		t.Fatalf("first apply: %d, %v\n%s", n, err, planText(p))
	}
	sync, _ := ReadSync(dir)
	id := sync[s.client.Target()].ID
	if rev := s.flow(id)["revisionId"]; rev != "1" {
		t.Fatalf("revision after create: %v", rev)
	}
	// Twice: nothing to do, no new revision.
	p = plan(t, s, dir)
	if p.Changes() != 0 || !strings.Contains(planText(p), "2 unchanged") {
		t.Errorf("second plan:\n%s", planText(p))
	}
	if n, err := Apply(ctx, s.client, p, false); err != nil || n != 0 {
		t.Fatalf("second apply: %d, %v", n, err)
	}
	if rev := s.flow(id)["revisionId"]; rev != "1" {
		t.Errorf("revision after a no-op apply: %v", rev)
	}
	// A changed code file: one update, with the code diff, one revision.
	code := filepath.Join(dir, "actions", "score.js")
	src, _ := os.ReadFile(code)
	os.WriteFile(code, bytes.Replace(src, []byte("score += 50;"), []byte("score += 45;"), 1), 0o644)
	p = plan(t, s, dir)
	text := planText(p)
	for _, want := range []string{`flow "Score new leads" (` + dir + `, id ` + id + `): update`, "~ action 1 CUSTOM_CODE (actions/score.js): sourceCode",
		"--- server/actions/score.js", "-  if (/(founder|chief|director|head|vp)/.test(title)) score += 50;", "+  if (/(founder|chief|director|head|vp)/.test(title)) score += 45;"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if n, err := Apply(ctx, s.client, p, false); err != nil || n != 1 {
		t.Fatalf("apply of a change: %d, %v", n, err)
	}
	if rev := s.flow(id)["revisionId"]; rev != "2" {
		t.Errorf("revision after one change: %v", rev)
	}
	if got := plan(t, s, dir); got.Changes() != 0 {
		t.Errorf("plan after applying the change:\n%s", planText(got))
	}
	// Someone edits the flow on the server; the local folder changes too.
	doc := s.flow(id)
	doc["name"] = "Renamed on the server"
	if _, err := s.client.UpdateFlow(ctx, id, "2", doc); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(code, src, 0o644)
	p = plan(t, s, dir)
	text = planText(p)
	if !p.Blocked() || !strings.Contains(text, "conflict: changed on the server since the last export (now revision 3, exported at 2)") ||
		!strings.Contains(text, `~ name: "Renamed on the server" -> "Score new leads"`) {
		t.Errorf("conflict plan:\n%s", text)
	}
	if _, err := Apply(ctx, s.client, p, false); err == nil || !strings.Contains(err.Error(), "in conflict") {
		t.Errorf("apply over a conflict: %v", err)
	}
	if rev := s.flow(id)["revisionId"]; rev != "3" {
		t.Errorf("a refused apply changed the flow: revision %v", rev)
	}
	if n, err := Apply(ctx, s.client, p, true); err != nil || n != 1 {
		t.Fatalf("forced apply: %d, %v", n, err)
	}
	if f := s.flow(id); f["revisionId"] != "4" || f["name"] != "Score new leads" {
		t.Errorf("after --force: %v %v", f["revisionId"], f["name"])
	}
	// A folder never applied here, whose name matches a different flow on
	// the server, is a conflict too.
	other := filepath.Join(t.TempDir(), "copy")
	if _, err := Scaffold(other); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(other, "actions", "score.js"), []byte("exports.main = async () => ({ outputFields: { score: 1, grade: 'C' } });\n"), 0o644)
	if p := plan(t, s, other); !p.Blocked() || !strings.Contains(planText(p), "was never exported from or applied to it") {
		t.Errorf("unsynced same-name plan:\n%s", planText(p))
	}
}

func TestInvalidFolder(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dir := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, FlowYAML), []byte("name: Bad\ntype: CONTACT_FLOW\nactions:\n  - actionId: \"1\"\n    type: CUSTOM_CODE\n    sourceFile: actions/missing.js\n"), 0o644)
	p := plan(t, s, dir)
	if !p.Blocked() || !strings.Contains(planText(p), "invalid") || !strings.Contains(planText(p), "missing.js") {
		t.Errorf("plan:\n%s", planText(p))
	}
	if _, err := Apply(context.Background(), s.client, p, true); err == nil {
		t.Error("an invalid folder was applied with --force")
	}
}

func TestYAMLKeepsTypes(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"actionId": "1", "n": json.Number("5"), "f": json.Number("1.5"), "b": true, "nul": nil, "multi": "a\nb\n", "empty": []any{}}
	b, err := EncodeYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeDoc("x.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	if withoutStoreFields(back) != withoutStoreFields(doc) {
		t.Errorf("round trip through YAML:\n%s\n%v", b, back)
	}
	if !strings.HasPrefix(string(b), "actionId: \"1\"\n") {
		t.Errorf("actionId is not first or not a string:\n%s", b)
	}
}

func TestWarningLines(t *testing.T) {
	t.Parallel()
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"id": "1", "warnings": [{"actionId": "1", "rule": "unchecked-input", "severity": "warning", "line": 3, "column": 18, "message": "Input field \"email\" is used without a check."}]}`))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	got := warningLines(out)
	want := `action 1:3:18 unchecked-input warning: Input field "email" is used without a check.`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if warningLines(map[string]any{"id": "1"}) != nil {
		t.Error("warnings from an answer without any")
	}
}
