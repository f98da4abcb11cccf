package api

import (
	"testing"
)

// The pipelines API in HubSpot's shapes and statuses, and deal writes
// checked against it.
func TestPipelinesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	expect(t, e.do("GET", "/crm/v3/pipelines/deals", ""), 200, "", `"id":"default"`, `"label":"Sales Pipeline"`, `"createdAt":"1970-01-01T00:00:00.000Z"`,
		`{"id":"closedwon","label":"Closed Won","displayOrder":5,"metadata":{"isClosed":"true","probability":"1.0"}`)
	expect(t, e.do("GET", "/crm/v3/pipelines/0-5/0/stages/4", ""), 200, "", `"metadata":{"ticketState":"CLOSED"}`)
	expect(t, e.do("GET", "/crm/v3/pipelines/contacts", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/crm/v3/pipelines/deals/nope", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("GET", "/crm/v3/pipelines/deals/default/stages/nope", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/pipelines/deals", ""), 403, "MISSING_SCOPES")

	r := e.do("POST", "/crm/v3/pipelines/deals", `{"label":"Renewals","displayOrder":1,"stages":[{"label":"Open","displayOrder":0,"metadata":{"probability":0.5}},{"label":"Won","displayOrder":1,"metadata":{"probability":"1.0"}}]}`)
	expect(t, r, 201, "", `"label":"Renewals"`, `"metadata":{"isClosed":"false","probability":"0.5"}`)
	p := r.json(t)
	id := p["id"].(string)
	open := p["stages"].([]any)[0].(map[string]any)["id"].(string)
	expect(t, e.do("POST", "/crm/v3/pipelines/deals", `{"label":"renewals","displayOrder":2,"stages":[{"label":"A","displayOrder":0,"metadata":{"probability":0.1}}]}`), 409, "CONFLICT")
	expect(t, e.do("POST", "/crm/v3/pipelines/deals", `{"label":"P","displayOrder":2,"stages":[{"label":"A","displayOrder":0,"metadata":{}}]}`), 400, "VALIDATION_ERROR", "probability")
	expect(t, e.do("POST", "/crm/v3/pipelines/tickets", `{"label":"P","displayOrder":2,"stages":[{"label":"A","displayOrder":0,"metadata":{"ticketState":"DONE"}}]}`), 400, "VALIDATION_ERROR", "ticketState")
	expect(t, e.do("PATCH", "/crm/v3/pipelines/deals/"+id, `{"label":"Renewals 2026"}`), 200, "", `"label":"Renewals 2026"`)
	expect(t, e.do("PATCH", "/crm/v3/pipelines/deals/"+id, `{"archived":true}`), 400, "VALIDATION_ERROR")
	r = e.do("POST", "/crm/v3/pipelines/deals/"+id+"/stages", `{"label":"Lost","displayOrder":2,"metadata":{"probability":0}}`)
	expect(t, r, 201, "", `"isClosed":"true"`)
	lost := r.json(t)["id"].(string)
	expect(t, e.do("PATCH", "/crm/v3/pipelines/deals/"+id+"/stages/"+lost, `{"metadata":{"probability":"0.0"},"label":"Lost!"}`), 200, "", `"label":"Lost!"`)
	expect(t, e.do("PUT", "/crm/v3/pipelines/deals/"+id+"/stages/"+lost, `{"label":"Gone","displayOrder":3,"metadata":{"probability":"0.0"}}`), 200, "", `"label":"Gone"`, `"displayOrder":3`)
	expect(t, e.do("GET", "/crm/v3/pipelines/deals/"+id+"/stages", ""), 200, "", `"label":"Gone"`)

	// The stage must be in the deal's pipeline; the default pipeline is
	// assumed when the deal names none.
	expect(t, e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"x","dealstage":"`+open+`"}}`), 400, "VALIDATION_ERROR", `dealstage`, `pipeline default`)
	r = e.do("POST", "/crm/v3/objects/deals", `{"properties":{"dealname":"x","pipeline":"`+id+`","dealstage":"`+open+`"}}`)
	expect(t, r, 201, "")
	deal := r.json(t)["id"].(string)
	expect(t, e.do("GET", "/crm/v3/objects/deals/"+deal+"?properties=hs_deal_stage_probability,hs_is_closed", ""), 200, "", `"hs_deal_stage_probability":"0.5"`, `"hs_is_closed":"false"`)
	expect(t, e.do("GET", "/crm/v3/properties/deals/dealstage", ""), 200, "", `"value":"`+open+`"`, `"value":"closedwon"`)

	expect(t, e.do("DELETE", "/crm/v3/pipelines/deals/"+id+"/stages/"+open+"?validateReferencesBeforeDelete=true", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("DELETE", "/crm/v3/pipelines/deals/"+id+"?validateDealStageUsagesBeforeDelete=true", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("DELETE", "/crm/v3/pipelines/deals/"+id+"/stages/"+lost+"?validateReferencesBeforeDelete=true", ""), 204, "")
	expect(t, e.do("DELETE", "/crm/v3/pipelines/deals/"+id, ""), 204, "")
	expect(t, e.do("GET", "/crm/v3/pipelines/deals/"+id, ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("DELETE", "/crm/v3/pipelines/deals/default", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("PUT", "/crm/v3/pipelines/tickets/0", `{"label":"Support","displayOrder":0,"stages":[{"stageId":"1","label":"New","displayOrder":0,"metadata":{}},{"label":"Done","displayOrder":1,"metadata":{"ticketState":"CLOSED"}}]}`),
		200, "", `"label":"Support"`, `"id":"1"`, `"label":"Done"`)
}
