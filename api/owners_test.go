package api

import (
	"context"
	"fmt"
	"testing"
)

// The owners API in HubSpot's shapes, paging and filters; the admin API
// that manages owners needs spoke.owners.write; record writes validate
// hubspot_owner_id against the owners.
func TestOwnersAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/spoke/v1/owners", `{"email":"ann@example.com","firstName":"Ann","lastName":"Lee","teams":["Sales","EMEA"]}`)
	expect(t, r, 201, "", `"type":"PERSON"`, `"teams":[{"id":`, `"name":"Sales","primary":true}`, `"name":"EMEA","primary":false}`)
	ann := r.json(t)
	id, user := ann["id"].(string), ann["userId"].(float64)
	if ann["userIdIncludingInactive"].(float64) != user || ann["archived"] != false || ann["createdAt"] == "" {
		t.Fatalf("owner %s", r.body)
	}
	expect(t, e.do("POST", "/spoke/v1/owners", `{"email":"ann@example.com"}`), 409, "CONFLICT")
	expect(t, e.do("POST", "/spoke/v1/owners", `{"firstName":"No email"}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("POST", "/spoke/v1/owners", `{"email":"bob@example.com"}`), 201, "")

	r = e.do("GET", "/crm/v3/owners?limit=1", "")
	expect(t, r, 200, "", `"paging":{"next":{"after":"`+id+`"`)
	expect(t, e.do("GET", "/crm/v3/owners?limit=1&after="+id, ""), 200, "", `"email":"bob@example.com"`)
	r = e.do("GET", "/crm/v3/owners?email=ANN@example.com", "")
	if res := r.json(t)["results"].([]any); len(res) != 1 || res[0].(map[string]any)["id"] != id {
		t.Errorf("by email: %s", r.body)
	}
	expect(t, e.do("GET", "/crm/v3/owners/"+id, ""), 200, "", `"firstName":"Ann"`)
	expect(t, e.do("GET", fmt.Sprintf("/crm/v3/owners/%.0f?idProperty=userId", user), ""), 200, "", `"id":"`+id+`"`)
	expect(t, e.do("GET", "/crm/v3/owners/"+id+"?idProperty=email", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/owners/12", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("GET", "/crm/v3/owners/abc", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/owners", ""), 403, "MISSING_SCOPES", "crm.objects.owners.read")

	// Scopes: reading owners is not managing them.
	sec, _, err := e.db.CreateToken(context.Background(), 1, "owners-read", []string{"crm.objects.owners.read"}, false)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.doAs(sec, "GET", "/crm/v3/owners", ""), 200, "")
	expect(t, e.doAs(sec, "POST", "/spoke/v1/owners", `{"email":"x@example.com"}`), 403, "MISSING_SCOPES", "spoke.owners.write")

	// hubspot_owner_id is an enumeration of the owners, validated on write.
	expect(t, e.do("GET", "/crm/v3/properties/deals/hubspot_owner_id", ""), 200, "", `"type":"enumeration"`, `"fieldType":"select"`, `{"label":"Ann Lee","value":"`+id+`"`)
	expect(t, e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"d","hubspot_owner_id":"4242"}}`), 400, "VALIDATION_ERROR", `INVALID_OWNER_ID`, `hubspot_owner_id`)
	r = e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"d","hubspot_owner_id":"`+id+`"}}`)
	expect(t, r, 201, "")
	deal := r.json(t)["id"].(string)
	expect(t, e.do("GET", "/crm/v3/objects/deals/"+deal+"?properties=hubspot_owner_id,hubspot_team_id", ""), 200, "", `"hubspot_owner_id":"`+id+`"`, `"hubspot_team_id":"`+ann["teams"].([]any)[0].(map[string]any)["id"].(string)+`"`)

	r = e.do("PATCH", "/spoke/v1/owners/"+id, `{"lastName":"Smith","teams":[]}`)
	expect(t, r, 200, "", `"lastName":"Smith"`, `"firstName":"Ann"`)
	if _, ok := r.json(t)["teams"]; ok {
		t.Errorf("teams after clearing: %s", r.body)
	}
	expect(t, e.do("DELETE", "/spoke/v1/owners/"+id, ""), 204, "")
	expect(t, e.do("GET", "/crm/v3/owners/"+id, ""), 404, "OBJECT_NOT_FOUND")
	r = e.do("GET", "/crm/v3/owners/"+id+"?archived=true", "")
	expect(t, r, 200, "", `"archived":true`)
	if _, ok := r.json(t)["userId"]; ok {
		t.Errorf("an archived owner's user is inactive: %s", r.body)
	}
	expect(t, e.do("DELETE", "/spoke/v1/owners/"+id, ""), 404, "OBJECT_NOT_FOUND")
}
