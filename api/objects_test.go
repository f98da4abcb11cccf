package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestObjectsLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)

	r := e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"email":"ada@example.com","firstname":"Ada","hs_email_optout":true},"associations":[]}`)
	expect(t, r, 201, "")
	m := r.json(t)
	id := m["id"].(string)
	props := m["properties"].(map[string]any)
	if props["email"] != "ada@example.com" || props["hs_object_id"] != id || props["hs_email_optout"] != "true" {
		t.Fatalf("created %s", r)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if _, err := time.Parse(time.RFC3339Nano, m[k].(string)); err != nil || !strings.HasSuffix(m[k].(string), "Z") {
			t.Errorf("%s = %v", k, m[k])
		}
	}
	if m["archived"] != false {
		t.Errorf("archived = %v", m["archived"])
	}

	// Get by id, default properties.
	r = e.do("GET", "/crm/v3/objects/contacts/"+id, "")
	expect(t, r, 200, "", `"firstname":"Ada"`, `"lastname":null`, `"createdate":"`)
	// By object type id and by email.
	expect(t, e.do("GET", "/crm/v3/objects/0-1/"+id, ""), 200, "", `"id":"`+id+`"`)
	expect(t, e.do("GET", "/crm/v3/objects/contacts/ADA%40example.com?idProperty=email", ""), 200, "", `"id":"`+id+`"`)

	// Repeated and comma-separated properties.
	r = e.do("GET", "/crm/v3/objects/contacts/"+id+"?properties=email&properties=firstname,hs_email_optout&properties=", "")
	expect(t, r, 200, "")
	got := r.json(t)["properties"].(map[string]any)
	for _, k := range []string{"email", "firstname", "hs_email_optout"} {
		if _, ok := got[k]; !ok {
			t.Errorf("property %s missing from %s", k, r)
		}
	}
	if _, ok := got["lastname"]; ok {
		t.Errorf("unrequested lastname in %s", r)
	}

	// Update; clearing with "" and with null; numbers are stringified.
	r = e.do("PATCH", "/crm/v3/objects/contacts/"+id, `{"properties":{"firstname":"","lastname":"Lovelace","phone":5550100}}`)
	expect(t, r, 200, "", `"lastname":"Lovelace"`, `"phone":"5550100"`)
	r = e.do("GET", "/crm/v3/objects/contacts/"+id+"?properties=firstname,lastname&propertiesWithHistory=firstname", "")
	expect(t, r, 200, "", `"firstname":null`, `"sourceType":"API"`, `"propertiesWithHistory":{"firstname":[{"value":"","timestamp":"`)
	expect(t, e.do("PATCH", "/crm/v3/objects/contacts/"+id, `{"properties":{"lastname":null}}`), 200, "")
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+id+"?properties=lastname", ""), 200, "", `"lastname":null`)
	expect(t, e.do("PATCH", "/crm/v3/objects/contacts/ada@example.com?idProperty=email", `{"properties":{"jobtitle":"Countess"}}`), 200, "", `"jobtitle":"Countess"`)

	// Archive: 204, no body, JSON content type; then 404; archived=true finds it.
	r = e.do("DELETE", "/crm/v3/objects/contacts/"+id, "")
	expect(t, r, 204, "")
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+id, ""), 404, "OBJECT_NOT_FOUND", `"message":"Object not found.  objectId are usually numeric."`, `"context":{"id":["`+id+`"]}`)
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+id+"?archived=true", ""), 200, "", `"archived":true`, `"archivedAt":"`)
	expect(t, e.do("PATCH", "/crm/v3/objects/contacts/"+id, `{"properties":{"firstname":"x"}}`), 404, "OBJECT_NOT_FOUND")
	// Archiving an unknown id is still 204, as on HubSpot.
	expect(t, e.do("DELETE", "/crm/v3/objects/contacts/987654", ""), 204, "")
}

func TestConflict(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createContact("dup@example.com")
	r := e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"email":"DUP@example.com"}}`)
	expect(t, r, 409, "CONFLICT", `"message":"Contact already exists. Existing ID: `+id+`"`)
	r = e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"new@example.com"}},{"properties":{"email":"dup@example.com"}}]}`)
	expect(t, r, 409, "CONFLICT", "Existing ID: "+id)
	// The whole batch failed: new@example.com was not created.
	expect(t, e.do("GET", "/crm/v3/objects/contacts/new@example.com?idProperty=email", ""), 404, "OBJECT_NOT_FOUND")
}

func TestBatches(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"a@example.com"}},{"properties":{"email":"b@example.com","firstname":"B"}}]}`)
	expect(t, r, 201, "", `"status":"COMPLETE"`, `"startedAt":"`, `"completedAt":"`)
	results := r.json(t)["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("results %s", r)
	}
	a := results[0].(map[string]any)["id"].(string)
	b := results[1].(map[string]any)["id"].(string)
	if strings.Contains(r.String(), "numErrors") {
		t.Errorf("numErrors on 201: %s", r)
	}

	// 207 on a partly invalid batch create; the bad input is named.
	r = e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"c@example.com"}},{"properties":{"email":"nope"}}]}`)
	expect(t, r, 207, "", `"numErrors":1`, `"category":"VALIDATION_ERROR"`, `INVALID_EMAIL`, `"c@example.com"`)

	// Read: 200, then 207 with the missing id.
	r = e.do("POST", "/crm/v3/objects/contacts/batch/read?archived=false", `{"inputs":[{"id":"`+a+`"},{"id":`+b+`}],"properties":["email"],"propertiesWithHistory":[]}`)
	expect(t, r, 200, "", `"email":"a@example.com"`, `"email":"b@example.com"`)
	r = e.do("POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":"`+a+`"},{"id":"999999"}]}`)
	expect(t, r, 207, "", `"numErrors":1`, `"category":"OBJECT_NOT_FOUND"`, `"message":"Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."`, `"context":{"ids":["999999"]}`)
	r = e.do("POST", "/crm/v3/objects/contacts/batch/read", `{"idProperty":"email","inputs":[{"id":"B@EXAMPLE.COM"}],"properties":["firstname"]}`)
	expect(t, r, 200, "", `"firstname":"B"`)

	// Update: 200, then 207.
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/update", `{"inputs":[{"id":"`+a+`","properties":{"firstname":"Y"}}]}`), 200, "", `"firstname":"Y"`)
	r = e.do("POST", "/crm/v3/objects/contacts/batch/update", `{"inputs":[{"id":"`+a+`","properties":{"firstname":"Z"}},{"id":"999999","properties":{"firstname":"Z"}}]}`)
	expect(t, r, 207, "", `"numErrors":1`, `"OBJECT_NOT_FOUND"`, `"firstname":"Z"`)

	// Upsert: new true then false.
	r = e.do("POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"idProperty":"email","id":"up@example.com","properties":{"firstname":"One"}}]}`)
	expect(t, r, 200, "", `"new":true`, `"email":"up@example.com"`)
	r = e.do("POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"idProperty":"email","id":"up@example.com","properties":{"firstname":"Two"}}]}`)
	expect(t, r, 200, "", `"new":false`, `"firstname":"Two"`)

	// Archive: 204 with no body.
	r = e.do("POST", "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"`+a+`"},{"id":"999999"}]}`)
	expect(t, r, 204, "")
	if len(r.body) != 0 {
		t.Errorf("batch archive body %q", r.body)
	}
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+a, ""), 404, "OBJECT_NOT_FOUND")

	// Batch limits.
	var many []string
	for i := 0; i < 101; i++ {
		many = append(many, fmt.Sprintf(`{"properties":{"firstname":"n%d"}}`, i))
	}
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[`+strings.Join(many, ",")+`]}`), 400, "VALIDATION_ERROR", "100")
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[]}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{}]}`), 400, "VALIDATION_ERROR", "inputs[0].properties")
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var inputs []string
	for i := 0; i < 25; i++ {
		inputs = append(inputs, fmt.Sprintf(`{"properties":{"dealname":"d%d","amount":%d}}`, i, i))
	}
	expect(t, e.do("POST", "/crm/v3/objects/deals/batch/create", `{"inputs":[`+strings.Join(inputs, ",")+`]}`), 201, "")
	seen := 0
	path := "/crm/v3/objects/deals?limit=10&properties=dealname&archived=false"
	for page := 0; page < 5; page++ {
		r := e.do("GET", path, "")
		expect(t, r, 200, "")
		m := r.json(t)
		seen += len(m["results"].([]any))
		p, ok := m["paging"].(map[string]any)
		if !ok {
			break
		}
		next := p["next"].(map[string]any)
		path = "/crm/v3/objects/deals?limit=10&properties=dealname&after=" + next["after"].(string)
		if !strings.Contains(next["link"].(string), "after=") {
			t.Errorf("link %v", next["link"])
		}
	}
	if seen != 25 {
		t.Fatalf("paged %d deals, want 25", seen)
	}
	expect(t, e.do("GET", "/crm/v3/objects/deals?limit=0", ""), 400, "VALIDATION_ERROR", "limit")
	expect(t, e.do("GET", "/crm/v3/objects/deals?limit=101", ""), 400, "VALIDATION_ERROR", "limit")
	expect(t, e.do("GET", "/crm/v3/objects/deals?after=x", ""), 400, "VALIDATION_ERROR", "after")
	expect(t, e.do("GET", "/crm/v3/objects/deals?archived=maybe", ""), 400, "VALIDATION_ERROR", "archived")
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var inputs []string
	for _, n := range []int{9, 10, 100, 55, 7} {
		inputs = append(inputs, fmt.Sprintf(`{"properties":{"dealname":"deal %d","amount":"%d"}}`, n, n))
	}
	expect(t, e.do("POST", "/crm/v3/objects/deals/batch/create", `{"inputs":[`+strings.Join(inputs, ",")+`]}`), 201, "")

	amounts := func(r resp) string {
		var out []string
		for _, x := range r.json(t)["results"].([]any) {
			out = append(out, x.(map[string]any)["properties"].(map[string]any)["amount"].(string))
		}
		return strings.Join(out, ",")
	}
	// Both sort shapes, numeric order, after as number and as string.
	r := e.do("POST", "/crm/v3/objects/deals/search", `{"sorts":[{"propertyName":"amount","direction":"ASCENDING"}],"properties":["amount"],"limit":2,"after":0}`)
	expect(t, r, 200, "", `"total":5`, `"paging":{"next":{"after":"2"`)
	if got := amounts(r); got != "7,9" {
		t.Errorf("page 1 = %s", got)
	}
	r = e.do("POST", "/crm/v3/objects/deals/search", `{"sorts":["amount"],"properties":["amount"],"limit":2,"after":"2"}`)
	expect(t, r, 200, "", `"total":5`)
	if got := amounts(r); got != "10,55" {
		t.Errorf("page 2 = %s", got)
	}
	r = e.do("POST", "/crm/v3/objects/deals/search", `{"sorts":["-amount"],"properties":["amount"],"limit":"10"}`)
	expect(t, r, 200, "")
	if got := amounts(r); got != "100,55,10,9,7" {
		t.Errorf("desc = %s", got)
	}
	if strings.Contains(r.String(), `"paging"`) {
		t.Errorf("paging on the last page: %s", r)
	}
	// Filters, with the value as a number.
	r = e.do("POST", "/crm/v3/objects/deals/search", `{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"BETWEEN","value":9,"highValue":"55"}]},{"filters":[{"propertyName":"amount","operator":"IN","values":[100]}]}],"sorts":[{"propertyName":"amount","direction":"DESCENDING"}],"properties":["amount"]}`)
	expect(t, r, 200, "", `"total":4`)
	if got := amounts(r); got != "100,55,10,9" {
		t.Errorf("filtered = %s", got)
	}
	r = e.do("POST", "/crm/v3/objects/deals/search", `{"filterGroups":[{"filters":[{"propertyName":"createdate","operator":"GTE","value":"`+fmt.Sprint(time.Now().Add(-time.Hour).UnixMilli())+`"},{"propertyName":"dealname","operator":"CONTAINS_TOKEN","value":"deal"}]}]}`)
	expect(t, r, 200, "", `"total":5`)
	expect(t, e.do("POST", "/crm/v3/objects/deals/search", `{}`), 200, "", `"total":5`)
	expect(t, e.do("POST", "/crm/v3/objects/deals/search", `{"query":"deal 55"}`), 200, "", `"total":1`)

	// Bad searches are 400s that say what is wrong.
	for body, want := range map[string]string{
		`{"filterGroups":[{"filters":[{"propertyName":"nope","operator":"EQ","value":"1"}]}]}`:      "nope",
		`{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"EQ"}]}]}`:                "needs a value",
		`{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"BETWEEN","value":1}]}]}`: "highValue",
		`{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"SIMILAR","value":1}]}]}`: "SIMILAR",
		`{"filterGroups":[{"filters":[{"operator":"EQ","value":1}]}]}`:                              "propertyName",
		`{"sorts":[{"propertyName":"amount","direction":"UP"}]}`:                                    "direction",
		`{"sorts":[42]}`:      "sorts",
		`{"limit":201}`:       "limit",
		`{"limit":"ten"}`:     "limit",
		`{"after":"-1"}`:      "after",
		`{"after":true}`:      "after",
		`{"filterGroups":{}}`: "filterGroups",
	} {
		expect(t, e.do("POST", "/crm/v3/objects/deals/search", body), 400, "VALIDATION_ERROR", want)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createContact("err@example.com")

	// Validation errors name each bad field.
	r := e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"email":"example.lcom","hs_email_optout":"maybe","nope":"x"}}`)
	expect(t, r, 400, "VALIDATION_ERROR", `Email address example.lcom is invalid`, `INVALID_EMAIL`, `INVALID_BOOLEAN`, `PROPERTY_DOESNT_EXIST`, `\"name\":\"nope\"`, `\"name\":\"hs_email_optout\"`)
	expect(t, e.do("PATCH", "/crm/v3/objects/contacts/"+id, `{"properties":{"hs_object_id":"5"}}`), 400, "VALIDATION_ERROR", "READ_ONLY_VALUE")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"firstname":{"a":1}}}`), 400, "VALIDATION_ERROR", "properties.firstname")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"firstname":[1]}}`), 400, "VALIDATION_ERROR", "properties.firstname")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{}`), 400, "VALIDATION_ERROR", "properties")

	// Malformed JSON says where.
	expect(t, e.do("POST", "/crm/v3/objects/contacts", "{\n  \"properties\": {\"email\": \"x@y.z\",}\n}"), 400, "VALIDATION_ERROR", "line 2", "column")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":`), 400, "VALIDATION_ERROR")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", ``), 400, "VALIDATION_ERROR", "empty")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `nonsense`), 400, "VALIDATION_ERROR", "line 1, column 2")
	// Wrong JSON types.
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `{"properties":"email"}`), 400, "VALIDATION_ERROR", "properties")
	expect(t, e.do("POST", "/crm/v3/objects/contacts", `[]`), 400, "VALIDATION_ERROR")
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":{}}`), 400, "VALIDATION_ERROR", "inputs", "array")
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":{}}]}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":"1"}],"properties":"email"}`), 400, "VALIDATION_ERROR", "properties")

	// Oversized body.
	big := `{"properties":{"firstname":"` + strings.Repeat("x", MaxBodyBytes+10) + `"}}`
	expect(t, e.do("POST", "/crm/v3/objects/contacts", big), 413, "")

	// Unknown object type, unknown route.
	expect(t, e.do("GET", "/crm/v3/objects/widgets", ""), 400, "VALIDATION_ERROR", "widgets")
	expect(t, e.do("POST", "/crm/v3/objects/widgets/search", "{}"), 400, "VALIDATION_ERROR", "widgets")
	expect(t, e.do("GET", "/crm/v3/nothing/here", ""), 404, "", `"status":"error"`, "/crm/v3/nothing/here")
	expect(t, e.do("GET", "/", ""), 404, "")
	expect(t, e.do("PUT", "/crm/v3/objects/contacts", "{}"), 404, "")

	// Unknown idProperty, non-unique idProperty.
	expect(t, e.do("GET", "/crm/v3/objects/contacts/x?idProperty=nope", ""), 400, "VALIDATION_ERROR", "nope")
	expect(t, e.do("GET", "/crm/v3/objects/contacts/x?idProperty=firstname", ""), 400, "VALIDATION_ERROR", "firstname")
	expect(t, e.do("GET", "/crm/v3/objects/contacts/notanumber", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+id+"?associations=widgets", ""), 400, "VALIDATION_ERROR", "widgets")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createContact("auth@example.com")
	expect(t, e.doAs("", "GET", "/crm/v3/objects/contacts", ""), 401, "INVALID_AUTHENTICATION")
	expect(t, e.doAs("wrong", "GET", "/crm/v3/objects/contacts", ""), 401, "INVALID_AUTHENTICATION")
	expect(t, e.doAs("", "GET", "/crm/v3/nothing", ""), 401, "INVALID_AUTHENTICATION")
	req, _ := http.NewRequest("GET", e.url+"/crm/v3/objects/contacts", nil)
	req.Header.Set("Authorization", "Basic "+adminToken)
	expect(t, e.send(req), 401, "INVALID_AUTHENTICATION")

	// The scheme is case-insensitive.
	req, _ = http.NewRequest("GET", e.url+"/crm/v3/objects/contacts/"+id, nil)
	req.Header.Set("Authorization", "bearer  "+adminToken)
	expect(t, e.send(req), 200, "")
	req, _ = http.NewRequest("GET", e.url+"/crm/v3/objects/contacts/"+id, nil)
	req.Header.Set("Authorization", "Bearer")
	expect(t, e.send(req), 401, "INVALID_AUTHENTICATION")

	// The read-only token reads contacts, nothing else.
	expect(t, e.doAs(e.readOnly, "GET", "/crm/v3/objects/contacts/"+id, ""), 200, "")
	expect(t, e.doAs(e.readOnly, "POST", "/crm/v3/objects/contacts/search", "{}"), 200, "")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/crm/v3/objects/contacts", `{"properties":{}}`},
		{"PATCH", "/crm/v3/objects/contacts/" + id, `{"properties":{}}`},
		{"DELETE", "/crm/v3/objects/contacts/" + id, ""},
		{"POST", "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"` + id + `"}]}`},
		{"GET", "/crm/v3/objects/companies", ""},
		{"GET", "/crm/v3/properties/contacts", ""},
		{"POST", "/crm/v3/properties/contacts", `{}`},
		{"PUT", "/crm/v4/objects/contacts/" + id + "/associations/default/companies/1", ""},
	} {
		r := e.doAs(e.readOnly, c.method, c.path, c.body)
		expect(t, r, 403, "MISSING_SCOPES")
	}
	// The contact is still there.
	expect(t, e.do("GET", "/crm/v3/objects/contacts/"+id, ""), 200, "")
	// Health needs no token.
	expect(t, e.doAs("", "GET", "/healthz", ""), 200, "")
	// Metrics are not an API route (spoke serve serves them on
	// --metrics-addr, which sandboxed code cannot reach): without a token
	// the path is refused like any other.
	expect(t, e.doAs("", "GET", "/metrics", ""), 401, "")
	expect(t, e.do("GET", "/metrics", ""), 404, "")
}

func TestDoubleSlash(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("POST", "//crm/v3/objects/contacts", `{"properties":{"email":"slash@example.com"}}`)
	expect(t, r, 201, "", `"email":"slash@example.com"`)
	id := r.json(t)["id"].(string)
	expect(t, e.do("GET", "//crm//v3/objects/contacts/"+id, ""), 200, "")
	expect(t, e.do("POST", "//crm/v3/objects/contacts//search", `{}`), 200, "", `"total":1`)
	expect(t, e.do("DELETE", "//crm/v3/objects/contacts/"+id, ""), 204, "")
}
