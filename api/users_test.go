package api

import (
	"fmt"
	"testing"
)

// The users object (0-115) through the objects, batch and search APIs:
// one record per owner's user, updatable in its writable properties only.
func TestUsersObjectAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/spoke/v1/owners", `{"email":"ann@example.com","firstName":"Ann","lastName":"Lee"}`)
	expect(t, r, 201, "")
	owner, user := r.json(t)["id"].(string), r.json(t)["userId"].(float64)

	r = e.do("GET", "/crm/v3/objects/users?properties=hs_email,hs_internal_user_id,hubspot_owner_id", "")
	expect(t, r, 200, "", `"hs_email":"ann@example.com"`, fmt.Sprintf(`"hs_internal_user_id":"%.0f"`, user), `"hubspot_owner_id":"`+owner+`"`)
	id := r.json(t)["results"].([]any)[0].(map[string]any)["id"].(string)
	expect(t, e.do("GET", "/crm/v3/objects/0-115/"+id+"?properties=hs_given_name", ""), 200, "", `"hs_given_name":"Ann"`)
	expect(t, e.do("POST", "/crm/v3/objects/users/batch/read", `{"inputs":[{"id":"`+id+`"}],"properties":["hs_family_name"]}`), 200, "", `"hs_family_name":"Lee"`)
	expect(t, e.do("POST", "/crm/v3/objects/users/search", `{"filterGroups":[{"filters":[{"propertyName":"hs_email","operator":"EQ","value":"ann@example.com"}]}]}`), 200, "", `"total":1`)
	expect(t, e.do("PATCH", "/crm/v3/objects/users/"+id, `{"properties":{"hs_job_title":"AE"}}`), 200, "", `"hs_job_title":"AE"`)
	expect(t, e.do("PATCH", "/crm/v3/objects/users/"+id, `{"properties":{"hs_email":"b@example.com"}}`), 400, "VALIDATION_ERROR", "READ_ONLY_VALUE")
	expect(t, e.do("POST", "/crm/v3/objects/users", `{"properties":{"hs_job_title":"AE"}}`), 400, "VALIDATION_ERROR", "Users cannot be created")
	expect(t, e.do("DELETE", "/crm/v3/objects/users/"+id, ""), 400, "VALIDATION_ERROR", "Users cannot be archived")
	expect(t, e.do("GET", "/crm/v3/properties/users/hs_working_hours", ""), 200, "", `"type":"string"`)
}
