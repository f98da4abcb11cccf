package api

import (
	"strings"
	"testing"
)

func TestPropertiesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("GET", "/crm/v3/properties/contacts", "")
	expect(t, r, 200, "", `"name":"email"`, `"hubspotDefined":true`, `"readOnlyValue":true`)
	expect(t, e.do("GET", "/crm/v3/properties/0-1/email", ""), 200, "", `"hasUniqueValue":true`, `"readOnlyDefinition":true`)
	expect(t, e.do("GET", "/crm/v3/properties/contacts/nope", ""), 404, "OBJECT_NOT_FOUND", "nope")
	expect(t, e.do("GET", "/crm/v3/properties/widgets", ""), 400, "VALIDATION_ERROR", "widgets")

	// Groups.
	expect(t, e.do("GET", "/crm/v3/properties/contacts/groups", ""), 200, "", `"name":"contactinformation"`, `"label":"Contact information"`)
	expect(t, e.do("POST", "/crm/v3/properties/contacts/groups", `{"name":"extra","label":"Extra","displayOrder":2}`), 201, "", `"name":"extra"`)
	expect(t, e.do("POST", "/crm/v3/properties/contacts/groups", `{"name":"extra","label":"Extra"}`), 409, "CONFLICT")
	expect(t, e.do("POST", "/crm/v3/properties/contacts/groups", `{"label":"No name"}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/properties/contacts/groups/extra", ""), 200, "", `"label":"Extra"`)
	expect(t, e.do("PATCH", "/crm/v3/properties/contacts/groups/extra", `{"label":"More"}`), 200, "", `"label":"More"`)
	expect(t, e.do("PATCH", "/crm/v3/properties/contacts/groups/contactinformation", `{"label":"x"}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/properties/contacts/groups/nope", ""), 404, "OBJECT_NOT_FOUND")

	// Create, conflict, invalid.
	r = e.do("POST", "/crm/v3/properties/contacts", `{"name":"shoe_size","label":"Shoe size","type":"number","fieldType":"number","groupName":"extra"}`)
	expect(t, r, 201, "", `"name":"shoe_size"`, `"hubspotDefined":false`, `"createdAt":"`)
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"shoe_size","label":"Again","type":"string","groupName":"extra"}`), 409, "CONFLICT", "shoe_size")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"email","label":"Again","type":"string","groupName":"extra"}`), 409, "CONFLICT")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"x1","label":"X","type":"money","groupName":"extra"}`), 400, "VALIDATION_ERROR", "money")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"x2","label":"X","type":"enumeration","fieldType":"select","groupName":"extra"}`), 400, "VALIDATION_ERROR", "option")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"x3","label":"X","type":"string","groupName":"nogroup"}`), 400, "VALIDATION_ERROR", "nogroup")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"x4","label":"X","type":"string","groupName":"extra","displayOrder":"one"}`), 400, "VALIDATION_ERROR", "displayOrder")
	expect(t, e.do("POST", "/crm/v3/properties/contacts", `{"name":"x5","label":"X","type":"enumeration","fieldType":"checkbox","groupName":"extra","options":[{"label":"A","value":"a"},{"label":"B","value":"b"}]}`), 201, "", `"value":"b"`)

	// Typed values are enforced through the objects API.
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"shoe_size":"big"}}`), 400, "VALIDATION_ERROR", "INVALID_DOUBLE", `\"name\":\"shoe_size\"`)
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"shoe_size":42.5,"x5":"a;b"}}`), 201, "", `"shoe_size":"42.5"`, `"x5":"a;b"`)
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"x5":"a;c"}}`), 400, "VALIDATION_ERROR", "INVALID_OPTION")

	// Update, archive.
	expect(t, e.do("PATCH", "/crm/v3/properties/contacts/shoe_size", `{"label":"Shoe"}`), 200, "", `"label":"Shoe"`)
	expect(t, e.do("PATCH", "/crm/v3/properties/contacts/email", `{"label":"Mail"}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("PATCH", "/crm/v3/properties/contacts/nope", `{"label":"Mail"}`), 404, "OBJECT_NOT_FOUND")
	r = e.do("DELETE", "/crm/v3/properties/contacts/shoe_size", "")
	expect(t, r, 204, "")
	if len(r.body) != 0 {
		t.Errorf("204 body %q", r.body)
	}
	expect(t, e.do("DELETE", "/crm/v3/properties/contacts/email", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/properties/contacts/shoe_size", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("GET", "/crm/v3/properties/contacts?archived=true", ""), 200, "", `"name":"shoe_size"`, `"archived":true`)
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"shoe_size":"1"}}`), 400, "VALIDATION_ERROR", "PROPERTY_DOESNT_EXIST")

	// Batch property calls.
	r = e.do("POST", "/crm/v3/properties/contacts/batch/read", `{"inputs":[{"name":"email"},{"name":"nope"}]}`)
	expect(t, r, 207, "", `"name":"email"`, `"numErrors":1`)
	r = e.do("POST", "/crm/v3/properties/contacts/batch/create", `{"inputs":[{"name":"p1","label":"P1","type":"string","groupName":"extra"},{"name":"p2","label":"P2","type":"string","groupName":"extra"}]}`)
	expect(t, r, 201, "", `"name":"p1"`, `"name":"p2"`)
	r = e.do("POST", "/crm/v3/properties/contacts/batch/create", `{"inputs":[{"name":"p3","label":"P3","type":"string","groupName":"extra"},{"name":"p1","label":"P1","type":"string","groupName":"extra"}]}`)
	expect(t, r, 207, "", `"name":"p3"`, `"CONFLICT"`)
	expect(t, e.do("POST", "/crm/v3/properties/contacts/batch/archive", `{"inputs":[{"name":"p1"},{"name":"nope"}]}`), 204, "")
	expect(t, e.do("POST", "/crm/v3/properties/contacts/batch/archive", `{"inputs":[{"name":"email"}]}`), 400, "VALIDATION_ERROR")

	// Archive a group.
	expect(t, e.do("DELETE", "/crm/v3/properties/contacts/groups/extra", ""), 204, "")
	expect(t, e.do("DELETE", "/crm/v3/properties/contacts/groups/contactinformation", ""), 400, "VALIDATION_ERROR")
	if r := e.do("GET", "/crm/v3/properties/contacts/groups", ""); strings.Contains(r.String(), `"extra"`) {
		t.Errorf("archived group still listed: %s", r)
	}
}
