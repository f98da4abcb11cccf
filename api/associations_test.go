package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestAssociationsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	contact := e.createContact("assoc@example.com")
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`)
	expect(t, r, 201, "")
	company := r.json(t)["id"].(string)
	r = e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"Big"},"associations":[{"to":{"id":`+company+`},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":341}]}]}`)
	expect(t, r, 201, "")
	deal := r.json(t)["id"].(string)

	// Create with a type: 201, both directions.
	r = e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/"+company, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]`)
	expect(t, r, 201, "", `"fromObjectTypeId":"0-1"`, `"toObjectTypeId":"0-2"`, `"toObjectId":`+company)
	expect(t, e.do("GET", "/crm/v4/objects/companies/"+company+"/associations/contacts", ""), 200, "",
		`"toObjectId":`+contact, `"typeId":280`)
	// Deal created with its company association; visible both ways and in v3 associations.
	expect(t, e.do("GET", "/crm/v4/objects/companies/"+company+"/associations/deals", ""), 200, "", `"toObjectId":`+deal, `"typeId":342`)
	expect(t, e.do("GET", "/crm/v3/objects/deals/"+deal+"?associations=companies", ""), 200, "", `"associations":{"companies":{"results":[{"id":"`+company+`","type":"deal_to_company_unlabeled"}]}}`)

	// Default association.
	r = e.do("PUT", "/crm/v4/objects/deals/"+deal+"/associations/default/contacts/"+contact, "")
	expect(t, r, 200, "", `"associationTypeId":3`, `"status":"COMPLETE"`)
	expect(t, e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/deals", ""), 200, "", `"typeId":4`)

	// Errors.
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/"+company, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":3}]`), 400, "VALIDATION_ERROR", "3")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/"+company, `[{"associationCategory":"MADE_UP","associationTypeId":279}]`), 400, "VALIDATION_ERROR", "MADE_UP")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/"+company, `[]`), 400, "VALIDATION_ERROR")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/"+company, `{"associationTypeId":279}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/companies/999999", `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]`), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/abc/associations/companies/"+company, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]`), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("PUT", "/crm/v4/objects/contacts/"+contact+"/associations/widgets/"+company, `[]`), 400, "VALIDATION_ERROR", "widgets")
	expect(t, e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/companies?limit=0", ""), 400, "VALIDATION_ERROR", "limit")
	expect(t, e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/companies?after=x", ""), 400, "VALIDATION_ERROR", "after")

	// Batch read: 200, then 207 with the missing id.
	expect(t, e.do("POST", "/crm/v4/associations/contacts/companies/batch/read", `{"inputs":[{"id":"`+contact+`"}]}`), 200, "", `"toObjectId":`+company)
	expect(t, e.do("POST", "/crm/v4/associations/contacts/companies/batch/read", `{"inputs":[{"id":"`+contact+`"},{"id":"999999"}]}`), 207, "", `"numErrors":1`, `"999999"`)

	// Batch create: 201, then 207.
	r = e.do("POST", "/crm/v4/associations/contacts/deals/batch/create", `{"inputs":[{"from":{"id":"`+contact+`"},"to":{"id":"`+deal+`"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":4}]}]}`)
	expect(t, r, 201, "")
	r = e.do("POST", "/crm/v4/associations/contacts/deals/batch/create", `{"inputs":[{"from":{"id":"`+contact+`"},"to":{"id":"`+deal+`"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":4}]},{"from":{"id":"`+contact+`"},"to":{"id":"999999"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":4}]}]}`)
	expect(t, r, 207, "", `"numErrors":1`)
	expect(t, e.do("POST", "/crm/v4/associations/contacts/deals/batch/associate/default", `{"inputs":[{"from":{"id":"`+contact+`"},"to":{"id":"`+deal+`"}}]}`), 200, "")

	// Remove: 204, both directions gone.
	r = e.do("DELETE", "/crm/v4/objects/companies/"+company+"/associations/contacts/"+contact, "")
	expect(t, r, 204, "")
	if r := e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/companies", ""); !strings.Contains(r.String(), `"results":[]`) {
		t.Errorf("after remove: %s", r)
	}
	expect(t, e.do("POST", "/crm/v4/associations/contacts/deals/batch/archive", `{"inputs":[{"from":{"id":"`+contact+`"},"to":[{"id":"`+deal+`"}]}]}`), 204, "")
	if r := e.do("GET", "/crm/v4/objects/deals/"+deal+"/associations/contacts", ""); !strings.Contains(r.String(), `"results":[]`) {
		t.Errorf("after batch archive: %s", r)
	}
}

func TestAssociationsPagingAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`)
	company := r.json(t)["id"].(string)
	var inputs []string
	for i := 0; i < 5; i++ {
		inputs = append(inputs, fmt.Sprintf(`{"properties":{"firstname":"c%d"},"associations":[{"to":{"id":"%s"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`, i, company))
	}
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[`+strings.Join(inputs, ",")+`]}`), 201, "")
	seen := 0
	path := "/crm/v4/objects/companies/" + company + "/associations/contacts?limit=2"
	for page := 0; page < 5; page++ {
		r := e.do("GET", path, "")
		expect(t, r, 200, "")
		m := r.json(t)
		seen += len(m["results"].([]any))
		p, ok := m["paging"].(map[string]any)
		if !ok {
			break
		}
		path = "/crm/v4/objects/companies/" + company + "/associations/contacts?limit=2&after=" + p["next"].(map[string]any)["after"].(string)
	}
	if seen != 5 {
		t.Fatalf("paged %d associations, want 5", seen)
	}
}
