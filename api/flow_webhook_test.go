package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

// A flow's inbound webhook: its address needs the automation scope; the
// address itself takes no access token but the secret in its path, finds
// the record by objectId or by an idProperty, and answers whether the
// record enrolled (the flow is off here, so it does not). A wrong token
// is a 404 and rotating the token retires the old one.
func TestFlowWebhookAddress(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	created := e.do("POST", "/automation/v4/flows", `{"name":"hook","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,
	  "enrollmentCriteria":{"type":"EVENT_BASED","shouldReEnroll":true,"eventFilterBranches":[{"eventTypeId":"spoke-webhook-received","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filters":[],"filterBranches":[]}]},
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"city","value":{"type":"ENROLLMENT_EVENT_PROPERTY","enrollmentEventPropertyToken":"city"}}}]}`)
	if created.status != 201 {
		t.Fatalf("create = %d %s", created.status, created.body)
	}
	id := created.json(t)["id"].(string)
	expect(t, e.doAs(e.readOnly, "GET", "/automation/v4/flows/"+id+"/webhook", ""), 403, "MISSING_SCOPES", "automation")
	addr := e.do("GET", "/automation/v4/flows/"+id+"/webhook", "")
	if addr.status != 200 {
		t.Fatalf("address = %d %s", addr.status, addr.body)
	}
	m := addr.json(t)
	path := m["path"].(string)
	if !strings.HasPrefix(m["url"].(string), "http://") || !strings.HasSuffix(m["url"].(string), path) || m["token"] == "" {
		t.Fatalf("address %v", m)
	}
	if again := e.do("GET", "/automation/v4/flows/"+id+"/webhook", "").json(t); again["token"] != m["token"] {
		t.Errorf("the token changed between reads: %v", again)
	}
	res, err := e.db.WriteRecords(context.Background(), 1, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{"email": "hook@example.com"}}}, spoke.WriteSource{Type: spoke.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	rid := res[0].Record.ID
	got := e.doAs("", "POST", path, `{"objectId":`+strconv.FormatInt(rid, 10)+`,"city":"Cork"}`)
	if got.status != 200 || got.json(t)["objectId"] != strconv.FormatInt(rid, 10) || got.json(t)["enrolled"] != false {
		t.Errorf("webhook by objectId = %d %s", got.status, got.body)
	}
	if got := e.doAs("", "POST", path+"?idProperty=email", `{"email":"HOOK@example.com"}`); got.status != 200 || got.json(t)["objectId"] != strconv.FormatInt(rid, 10) {
		t.Errorf("webhook by email = %d %s", got.status, got.body)
	}
	expect(t, e.doAs("", "POST", path, `{"objectId":"999999"}`), 404, "")
	expect(t, e.doAs("", "POST", path, `{"city":"Cork"}`), 400, "", "objectId")
	expect(t, e.doAs("", "POST", "/automation/v4/flows/"+id+"/webhook/wrong", `{"objectId":"1"}`), 404, "")
	rot := e.do("POST", "/automation/v4/flows/"+id+"/webhook/rotate", "")
	if rot.status != 200 || rot.json(t)["token"] == m["token"] {
		t.Fatalf("rotate = %d %s", rot.status, rot.body)
	}
	expect(t, e.doAs("", "POST", path, `{"objectId":`+strconv.FormatInt(rid, 10)+`}`), 404, "")
}

// Saving a flow with an action that needs a HubSpot-only product, or an
// event Spoke does not raise, answers with a warning naming it (in the
// save's "warnings", beside lint's findings).
func TestFlowSaveWarnings(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	r := e.do("POST", "/automation/v4/flows", `{"name":"warn","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,
	  "enrollmentCriteria":{"type":"EVENT_BASED","shouldReEnroll":false,"eventFilterBranches":[{"eventTypeId":"4-1639801","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filters":[],"filterBranches":[]}]},
	  "actions":[{"type":"SINGLE_CONNECTION","actionId":"7","actionTypeId":"0-4","actionTypeVersion":0,"fields":{"content_id":"123"}}]}`)
	if r.status != 201 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	var body struct {
		Warnings []map[string]any `json:"warnings"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Warnings) != 2 || body.Warnings[0]["actionId"] != "7" || body.Warnings[0]["rule"] != "hubspot-only-action" || body.Warnings[0]["severity"] != "warning" ||
		!strings.Contains(fmt.Sprint(body.Warnings[0]["message"]), "send marketing email, actionTypeId 0-4) needs HubSpot Marketing Hub") ||
		body.Warnings[1]["rule"] != "event-not-raised" || !strings.Contains(fmt.Sprint(body.Warnings[1]["message"]), `"4-1639801" is not raised by Spoke`) {
		t.Errorf("warnings %v", body.Warnings)
	}
	if got := e.do("GET", "/automation/v4/flows/"+r.json(t)["id"].(string), ""); strings.Contains(string(got.body), "warnings") {
		t.Errorf("GET returns the save's warnings: %s", got.body)
	}
	if plain := e.do("POST", "/automation/v4/flows", `{"name":"plain","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":false,"actions":[]}`); strings.Contains(string(plain.body), "warnings") {
		t.Errorf("a plain flow has warnings: %s", plain.body)
	}
}
