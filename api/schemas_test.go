package api

import (
	"context"
	"strings"
	"testing"
)

// token creates a token with the given scopes.
func (e *env) token(scopes ...string) string {
	e.t.Helper()
	ctx := context.Background()
	acct, _, err := e.db.DefaultAccount(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := e.db.CreateToken(ctx, acct, "t", scopes, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// Engagements, commerce objects and leads are served at
// /crm/v3/objects/{type} with HubSpot's scopes: notes with the contact
// scopes, emails also with sales-email-read, line items also with
// e-commerce; hs_timestamp is required on an engagement's create.
func TestNewObjectTypesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	contact := e.createContact("eng@example.com")
	r := e.do("POST", "/crm/v3/objects/notes", `{"properties":{"hs_note_body":"no time"}}`)
	expect(t, r, 400, "VALIDATION_ERROR", `hs_timestamp`, `REQUIRED_FIELD`)
	r = e.do("POST", "/crm/v3/objects/notes", `{"properties":{"hs_timestamp":"2024-01-02T03:04:05Z","hs_note_body":"Hello"},`+
		`"associations":[{"to":{"id":"`+contact+`"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":202}]}]}`)
	expect(t, r, 201, "", `"hs_note_body":"Hello"`)
	note := r.json(t)["id"].(string)
	r = e.do("GET", "/crm/v3/objects/0-46/"+note+"?associations=contacts", "")
	expect(t, r, 200, "", `"hs_timestamp":"2024-01-02T03:04:05.000Z"`, `"id":"`+contact+`","type":"note_to_contact"`)
	r = e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/notes", "")
	expect(t, r, 200, "", `"toObjectId":`+note, `"typeId":201`)

	// Scopes: the contact read scope reads notes, not line items.
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/objects/notes/"+note, ""), 200, "")
	expect(t, e.doAs(e.readOnly, "POST", "/crm/v3/objects/notes", `{"properties":{"hs_timestamp":"1"}}`), 403, "MISSING_SCOPES", "crm.objects.contacts.write")
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/objects/line_items", ""), 403, "MISSING_SCOPES", "crm.objects.line_items.read")
	commerce := e.token("e-commerce")
	r = e.doAs(commerce, "POST", "/crm/v3/objects/line_items", `{"properties":{"name":"Widget","quantity":"2","price":"9.5","hs_discount_percentage":"10"}}`)
	expect(t, r, 201, "", `"amount":"17.1"`)
	mail := e.token("sales-email-read")
	expect(t, e.doAs(mail, "POST", "/crm/v3/objects/emails", `{"properties":{"hs_timestamp":"1700000000000","hs_email_subject":"Hi"}}`), 201, "")
	expect(t, e.doAs(mail, "GET", "/crm/v3/objects/notes", ""), 403, "MISSING_SCOPES")

	// Properties of the new types, with their own schema scopes.
	r = e.do("GET", "/crm/v3/properties/tasks/hs_task_status", "")
	expect(t, r, 200, "", `"value":"NOT_STARTED"`, `"value":"DEFERRED"`)
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/properties/leads", ""), 403, "MISSING_SCOPES", "crm.objects.leads.read")

	// Engagements cannot be merged (HubSpot's notes API has no merge).
	expect(t, e.do("POST", "/crm/v3/objects/notes/merge", `{"primaryObjectId":"`+note+`","objectIdToMerge":"`+note+`"}`), 404, "OBJECT_NOT_FOUND", "does not merge notes")

	// A base name that is no type is HubSpot's 400.
	expect(t, e.do("GET", "/crm/v3/objects/cars", ""), 400, "VALIDATION_ERROR", "Unable to infer object type from: cars")
}

// The schemas API creates, lists, reads, updates and deletes custom
// object schemas; their records go through the objects, search and
// association APIs by object type id, fully qualified name or p_{name}.
func TestSchemasAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := `{"name":"cars","labels":{"singular":"Car","plural":"Cars"},"primaryDisplayProperty":"model",
		"requiredProperties":["model"],"searchableProperties":["model"],"secondaryDisplayProperties":["year"],
		"properties":[{"name":"model","label":"Model","isPrimaryDisplayLabel":true},{"name":"year","label":"Year","type":"number","fieldType":"number"}],
		"associatedObjects":["CONTACT"]}`
	expect(t, e.doAs(e.readOnly, "POST", "/crm/v3/schemas", body), 403, "MISSING_SCOPES", "crm.schemas.custom.write")
	r := e.do("POST", "/crm-object-schemas/v3/schemas", body)
	expect(t, r, 201, "", `"name":"cars"`, `"labels":{"singular":"Car","plural":"Cars"}`, `"fullyQualifiedName":"p1_cars"`, `"metaType":"PORTAL_SPECIFIC"`, `"toObjectTypeId":"0-1"`, `"name":"year"`)
	m := r.json(t)
	typeID := m["objectTypeId"].(string)
	if !strings.HasPrefix(typeID, "2-") || m["id"] != strings.TrimPrefix(typeID, "2-") {
		t.Fatalf("ids %v %v", m["id"], typeID)
	}
	expect(t, e.do("POST", "/crm/v3/schemas", body), 409, "CONFLICT")
	expect(t, e.do("GET", "/crm/v3/schemas", ""), 200, "", `"objectTypeId":"`+typeID+`"`)
	expect(t, e.do("GET", "/crm/v3/schemas/p_cars", ""), 200, "", `"objectTypeId":"`+typeID+`"`)
	expect(t, e.do("GET", "/crm/v3/schemas/cars", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("PATCH", "/crm/v3/schemas/"+typeID, `{"searchableProperties":["model","year"]}`), 200, "", `"searchableProperties":["model","year"]`)
	expect(t, e.do("PATCH", "/crm/v3/schemas/"+typeID, `{"requiredProperties":["nope"]}`), 400, "VALIDATION_ERROR")

	// Records of the custom object.
	expect(t, e.do("POST", "/crm/v3/objects/"+typeID, `{"properties":{"year":"2014"}}`), 400, "VALIDATION_ERROR", "model is required")
	custom := e.token("crm.objects.custom.read", "crm.objects.custom.write")
	r = e.doAs(custom, "POST", "/crm/v3/objects/p1_cars", `{"properties":{"model":"Frontier","year":"2014"}}`)
	expect(t, r, 201, "", `"model":"Frontier"`)
	car := r.json(t)["id"].(string)
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/objects/"+typeID+"/"+car, ""), 403, "MISSING_SCOPES", "crm.objects.custom.read")
	expect(t, e.doAs(custom, "GET", "/crm/v3/objects/p_cars/"+car+"?properties=model,year", ""), 200, "", `"year":"2014"`)
	expect(t, e.do("POST", "/crm/v3/objects/"+typeID+"/search", `{"filterGroups":[{"filters":[{"propertyName":"year","operator":"EQ","value":"2014"}]}]}`),
		200, "", `"total":1`, `"id":"`+car+`"`)
	contact := e.createContact("car-owner@example.com")
	expect(t, e.do("PUT", "/crm/v4/objects/"+typeID+"/"+car+"/associations/default/contacts/"+contact, ""), 200, "")
	expect(t, e.do("GET", "/crm/v4/objects/contacts/"+contact+"/associations/"+typeID, ""), 200, "", `"toObjectId":`+car, `"category":"USER_DEFINED"`)
	expect(t, e.do("GET", "/crm/v4/associations/"+typeID+"/contacts/labels", ""), 200, "", `"category":"USER_DEFINED"`, `"label":null`)
	r = e.do("POST", "/crm/v3/schemas/"+typeID+"/associations", `{"fromObjectTypeId":"`+typeID+`","toObjectTypeId":"ticket","name":"car_to_ticket"}`)
	expect(t, r, 201, "", `"toObjectTypeId":"0-5"`, `"name":"car_to_ticket"`)
	assocID := r.json(t)["id"].(string)
	expect(t, e.do("DELETE", "/crm/v3/schemas/"+typeID+"/associations/"+assocID, ""), 204, "")

	// Deleting: refused while records exist, then archived, then purged.
	expect(t, e.do("DELETE", "/crm/v3/schemas/"+typeID, ""), 400, "VALIDATION_ERROR", "records")
	expect(t, e.do("DELETE", "/crm/v3/objects/"+typeID+"/"+car, ""), 204, "")
	expect(t, e.do("DELETE", "/crm/v3/schemas/"+typeID, ""), 204, "")
	expect(t, e.do("GET", "/crm/v3/objects/"+typeID, ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/schemas?archived=true", ""), 200, "", `"archived":true`)
	expect(t, e.do("DELETE", "/crm/v3/schemas/"+typeID+"?archived=true", ""), 204, "")
	expect(t, e.do("POST", "/crm/v3/schemas", body), 201, "")
}
