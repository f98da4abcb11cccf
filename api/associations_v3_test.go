package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestAssociationsV3Object(t *testing.T) {
	t.Parallel()
	e := setup(t)
	contact := e.createContact("v3@example.com")
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`)
	expect(t, r, 201, "")
	company := r.json(t)["id"].(string)

	// PUT by name: 200 with the from record's computed properties and its
	// associations of the to type, as HubSpot's SimplePublicObjectWithAssociations.
	r = e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/contact_to_company", "")
	expect(t, r, 200, "", `"id":"`+contact+`"`, `"hs_object_id":"`+contact+`"`,
		`"associations":{"companies":{"results":[{"id":"`+company+`","type":"contact_to_company"}]}}`)
	if props := r.json(t)["properties"].(map[string]any); len(props) != 3 {
		t.Errorf("properties %v, want only hs_object_id, createdate and lastmodifieddate", props)
	}
	// The same link seen from v4: primary type 1, and 2 in reverse.
	expect(t, e.do("GET", "/crm/v4/objects/companies/"+company+"/associations/contacts", ""), 200, "", `"typeId":2`)

	// PUT by numeric id; the record is listed once per type, as on HubSpot.
	expect(t, e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/company/"+company+"/279", ""), 200, "",
		`{"id":"`+company+`","type":"contact_to_company"},{"id":"`+company+`","type":"contact_to_company_unlabeled"}`)
	expect(t, e.do("GET", "/crm/v3/objects/companies/"+company+"/associations/contacts", ""), 200, "",
		`"results":[{"id":"`+contact+`","type":"company_to_contact"},{"id":"`+contact+`","type":"company_to_contact_unlabeled"}]`)
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+contact+"?associations=companies", ""), 200, "",
		`"associations":{"companies":{"results":[{"id":"`+company+`","type":"contact_to_company"},{"id":"`+company+`","type":"contact_to_company_unlabeled"}]}}`)

	// A type that does not fit the pair: HubSpot's 400.
	r = e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/deal_to_contact", "")
	expect(t, r, 400, "VALIDATION_ERROR", `"message":"deal_to_contact is not a valid association type between contacts and companies"`,
		`"subCategory":"crm.associations.INVALID_ASSOCIATION_TYPE"`, `"type":["deal_to_contact"]`, `"fromObjectType":["contacts"]`, `"toObjectType":["companies"]`)
	expect(t, e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/3", ""), 400, "VALIDATION_ERROR", "INVALID_ASSOCIATION_TYPE")
	expect(t, e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/companies/999999/contact_to_company", ""), 404, "OBJECT_NOT_FOUND")

	// DELETE removes that type only, in both directions; 204.
	expect(t, e.do("DELETE", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/contact_to_company", ""), 204, "")
	r = e.do("GET", "/crm/v3/objects/companies/"+company+"/associations/contacts", "")
	expect(t, r, 200, "", `"results":[{"id":"`+contact+`","type":"company_to_contact_unlabeled"}]`)
	expect(t, e.do("DELETE", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/made_up", ""), 400, "VALIDATION_ERROR", "made_up")
}

func TestAssociationsV3ListPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Hub"}}`)
	expect(t, r, 201, "")
	company := r.json(t)["id"].(string)
	var contacts []string
	for i := range 3 {
		c := e.createContact(fmt.Sprintf("p%d@example.com", i))
		contacts = append(contacts, c)
		expect(t, e.do("PUT", "/crm/v3/objects/companies/"+company+"/associations/contacts/"+c+"/company_to_contact_unlabeled", ""), 200, "")
	}
	r = e.do("GET", "/crm/v3/objects/companies/"+company+"/associations/contacts?limit=2", "")
	expect(t, r, 200, "", `"results":[{"id":"`+contacts[0]+`","type":"company_to_contact_unlabeled"},{"id":"`+contacts[1]+`",`)
	next := r.json(t)["paging"].(map[string]any)["next"].(map[string]any)
	if next["after"] != contacts[1] {
		t.Fatalf("paging.next %v, want after %s", next, contacts[1])
	}
	want := e.url + "/crm/v3/objects/companies/" + company + "/associations/contacts?limit=2&after=" + contacts[1]
	if next["link"] != want {
		t.Errorf("paging.next.link %q, want %q", next["link"], want)
	}
	r = e.do("GET", "/crm/v3/objects/companies/"+company+"/associations/contacts?limit=2&after="+contacts[1], "")
	expect(t, r, 200, "", `"results":[{"id":"`+contacts[2]+`"`)
	if strings.Contains(r.String(), "paging") {
		t.Errorf("last page has paging: %s", r)
	}
}

func TestAssociationsV3Batch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c1, c2 := e.createContact("b1@example.com"), e.createContact("b2@example.com")
	r := e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`)
	expect(t, r, 201, "")
	company := r.json(t)["id"].(string)

	// Create: 201 echoing the inputs, in HubSpot's BatchResponsePublicAssociation.
	r = e.do("POST", "/crm/v3/associations/contacts/companies/batch/create",
		`{"inputs":[{"from":{"id":"`+c1+`"},"to":{"id":"`+company+`"},"type":"contact_to_company"},{"from":{"id":"`+c2+`"},"to":{"id":"`+company+`"},"type":"279"}]}`)
	expect(t, r, 201, "", `"status":"COMPLETE"`, `"startedAt"`, `"completedAt"`,
		`{"from":{"id":"`+c1+`"},"to":{"id":"`+company+`"},"type":"contact_to_company"}`)
	// One bad type and one missing record: 207 with both errors, the good one created.
	r = e.do("POST", "/crm/v3/associations/contacts/companies/batch/create",
		`{"inputs":[{"from":{"id":"`+c2+`"},"to":{"id":"`+company+`"},"type":"contact_to_company"},{"from":{"id":"`+c1+`"},"to":{"id":"`+company+`"},"type":"nope"},{"from":{"id":"999999"},"to":{"id":"`+company+`"},"type":"contact_to_company"}]}`)
	expect(t, r, 207, "", `"numErrors":2`, `"subCategory":"crm.associations.INVALID_ASSOCIATION_TYPE"`, `"OBJECT_NOT_FOUND"`, `"type":"contact_to_company"`)
	expect(t, e.do("POST", "/crm/v3/associations/contacts/companies/batch/create", `{"inputs":[]}`), 400, "VALIDATION_ERROR", "inputs")

	// Read: one {id, type} per type of each link.
	r = e.do("POST", "/crm/v3/associations/companies/contacts/batch/read", `{"inputs":[{"id":"`+company+`"}]}`)
	expect(t, r, 200, "", `"status":"COMPLETE"`,
		`"results":[{"from":{"id":"`+company+`"},"to":[{"id":"`+c1+`","type":"company_to_contact"},{"id":"`+c2+`","type":"company_to_contact"},{"id":"`+c2+`","type":"company_to_contact_unlabeled"}]}]`)
	r = e.do("POST", "/crm/v3/associations/companies/contacts/batch/read", `{"inputs":[{"id":"`+company+`"},{"id":"424242"}]}`)
	expect(t, r, 207, "", `"numErrors":1`, `"fromObjectIds":["424242"]`)

	// Archive removes the named type only; 204.
	r = e.do("POST", "/crm/v3/associations/contacts/companies/batch/archive",
		`{"inputs":[{"from":{"id":"`+c2+`"},"to":{"id":"`+company+`"},"type":"contact_to_company"}]}`)
	expect(t, r, 204, "")
	r = e.do("POST", "/crm/v3/associations/contacts/companies/batch/read", `{"inputs":[{"id":"`+c2+`"}]}`)
	expect(t, r, 200, "", `"to":[{"id":"`+company+`","type":"contact_to_company_unlabeled"}]`)
	// An unknown type refuses the whole archive before removing anything.
	r = e.do("POST", "/crm/v3/associations/contacts/companies/batch/archive",
		`{"inputs":[{"from":{"id":"`+c2+`"},"to":{"id":"`+company+`"},"type":"contact_to_company_unlabeled"},{"from":{"id":"`+c1+`"},"to":{"id":"`+company+`"},"type":"bogus"}]}`)
	expect(t, r, 400, "VALIDATION_ERROR", "bogus")
	expect(t, e.do("POST", "/crm/v3/associations/contacts/companies/batch/read", `{"inputs":[{"id":"`+c2+`"}]}`), 200, "", `"type":"contact_to_company_unlabeled"`)
}

func TestAssociationsV3Types(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("GET", "/crm/v3/associations/contacts/companies/types", "")
	expect(t, r, 200, "", `{"results":[{"id":"1","name":"contact_to_company"},{"id":"279","name":"contact_to_company_unlabeled"}]}`)
	// A label defined in v4 is listed by its internal name and usable in v3
	// by that name; the reverse direction derives one from its label.
	r = e.do("POST", "/crm/v4/associations/contacts/companies/labels", `{"label":"Decision maker","name":"decision_maker","inverseLabel":"Decided by"}`)
	expect(t, r, 200, "")
	id := fmt.Sprint(r.json(t)["results"].([]any)[0].(map[string]any)["typeId"])
	expect(t, e.do("GET", "/crm/v3/associations/contacts/companies/types", ""), 200, "", `{"id":"`+id+`","name":"decision_maker"}`)
	expect(t, e.do("GET", "/crm/v3/associations/companies/contacts/types", ""), 200, "", `{"id":"`+id+`","name":"decided_by"}`)
	contact := e.createContact("label@example.com")
	r = e.do("POST", "/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`)
	expect(t, r, 201, "")
	company := r.json(t)["id"].(string)
	expect(t, e.do("PUT", "/crm/v3/objects/contacts/"+contact+"/associations/companies/"+company+"/decision_maker", ""), 200, "",
		`{"id":"`+company+`","type":"decision_maker"}`)
	expect(t, e.do("GET", "/crm/v3/objects/companies/"+company+"?associations=contacts", ""), 200, "", `{"id":"`+contact+`","type":"decided_by"}`)
	expect(t, e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/companies", ""), 200, "", `"category":"USER_DEFINED"`, `"label":"Decision maker"`)

	expect(t, e.do("GET", "/crm/v3/associations/contacts/widgets/types", ""), 400, "VALIDATION_ERROR", "widgets")
}
