package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// serverKeys are the fields the server adds to a flow: read-only ones and
// HubSpot's defaults for fields the body left out.
var serverKeys = map[string]bool{"id": true, "revisionId": true, "createdAt": true, "updatedAt": true, "crmObjectCreationStatus": true,
	"nextAvailableActionId": true, "startActionId": true, "timeWindows": true, "blockedDates": true, "customProperties": true,
	"dataSources": true, "suppressionListIds": true, "canEnrollFromSalesforce": true}

// TestFlowCorpusRoundTrips loads every v4 flow document in
// testdata/flows (written from HubSpot's documentation and the v4 OpenAPI
// description: every filter and operation type, list-membership,
// association and event filters, values without a type, goals, time
// windows, blocked dates, re-enrollment triggers): each is created with
// 201 and comes back from GET with every field it was sent, unchanged.
func TestFlowCorpusRoundTrips(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	files, err := filepath.Glob("testdata/flows/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/automation/v4/flows", string(body))
		if r.status != 201 {
			t.Errorf("%s: POST = %d %s", file, r.status, r.body)
			continue
		}
		id := r.json(t)["id"].(string)
		got := e.do("GET", "/automation/v4/flows/"+id, "")
		if got.status != 200 {
			t.Errorf("%s: GET = %d %s", file, got.status, got.body)
			continue
		}
		var sent, back map[string]any
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got.body, &back); err != nil {
			t.Fatal(err)
		}
		for k, v := range sent {
			if !reflect.DeepEqual(back[k], v) {
				a, _ := json.Marshal(v)
				b, _ := json.Marshal(back[k])
				t.Errorf("%s: %s changed:\n sent %s\n got  %s", file, k, a, b)
			}
		}
		var extra []string
		for k := range back {
			if _, ok := sent[k]; !ok && !serverKeys[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		if len(extra) > 0 {
			t.Errorf("%s: GET added fields %v", file, extra)
		}
		// A PUT of what GET returned is accepted as is, too.
		put := e.do("PUT", "/automation/v4/flows/"+id, string(got.body))
		if put.status != 200 {
			t.Errorf("%s: PUT of the GET = %d %s", file, put.status, put.body)
		}
	}
}

// TestTrailingSlashAndFieldTypes checks two small HubSpot fidelity points:
// a trailing slash on a path answers as the path without it, and every
// type/fieldType pair of HubSpot's properties guide is accepted (a string
// shown as phonenumber, a calculated bool or enumeration).
func TestTrailingSlashAndFieldTypes(t *testing.T) {
	t.Parallel()
	e := setupFlows(t)
	e.createContact("slash@example.com")
	a, b := e.do("GET", "/crm/v3/objects/contacts", ""), e.do("GET", "/crm/v3/objects/contacts/", "")
	if a.status != 200 || b.status != 200 || !jsonEqual(t, a.body, b.body) {
		t.Errorf("GET with a trailing slash = %d %s, without = %d %s", b.status, b.body, a.status, a.body)
	}
	if r := e.do("POST", "/crm/v3/objects/contacts/", `{"properties":{"email":"slash2@example.com"}}`); r.status != 201 {
		t.Errorf("POST with a trailing slash = %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ typ, field, extra string }{
		{"string", "phonenumber", ""}, {"string", "calculation_equation", ""}, {"string", "html", ""},
		{"bool", "calculation_equation", `,"options":[{"label":"Yes","value":"true"},{"label":"No","value":"false"}]`},
		{"enumeration", "calculation_equation", `,"options":[{"label":"A","value":"a"}]`},
		{"phone_number", "phonenumber", ""}, {"number", "calculation_equation", ""},
	} {
		name := "p_" + tc.typ + "_" + tc.field
		r := e.do("POST", "/crm/v3/properties/contacts", `{"name":"`+name+`","label":"L","groupName":"contactinformation","type":"`+tc.typ+`","fieldType":"`+tc.field+`"`+tc.extra+`}`)
		if r.status != 201 {
			t.Errorf("%s/%s: %d %s", tc.typ, tc.field, r.status, r.body)
		}
	}
	if r := e.do("POST", "/crm/v3/properties/contacts", `{"name":"p_bad","label":"L","groupName":"contactinformation","type":"date","fieldType":"phonenumber"}`); r.status != 400 {
		t.Errorf("date/phonenumber: %d %s", r.status, r.body)
	}
}
