package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestHostileInputs sends odd but possible requests: none may give a 5xx,
// a redirect or a non-JSON response (the checks live in env.send).
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createContact("hostile@example.com")
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	manyValues := `"1"` + strings.Repeat(`,"1"`, 40000)
	manyProps := `"email"` + strings.Repeat(`,"p"`, 40000)
	cases := []struct{ method, path, body string }{
		{"GET", "/crm/v3/objects/contacts/", ""},
		{"GET", "/crm/v3/objects/contacts/" + id + "/", ""},
		{"GET", "/crm/v3/objects/contacts/./" + id, ""},
		{"GET", "/crm/v3/objects/../objects/contacts", ""},
		{"POST", "/crm/v3/objects/contacts/../contacts/search", "{}"},
		{"GET", "/crm/v3/objects/contacts/%00", ""},
		{"GET", "/crm/v3/objects/contacts/a%2Fb", ""},
		{"GET", "/crm/v3/objects/contacts/99999999999999999999999", ""},
		{"GET", "/crm/v3/objects/contacts/-1", ""},
		{"GET", "/crm/v3/objects/contacts?limit=-1", ""},
		{"GET", "/crm/v3/objects/contacts?after=99999999999999999999", ""},
		{"GET", "/crm/v3/objects/contacts?after=9223372036854775807", ""},
		{"GET", "/crm/v3/objects/contacts?properties=%00&propertiesWithHistory=email,%00", ""},
		{"GET", "/crm/v3/objects/contacts/" + id + "?idProperty=hs_object_id&associations=companies,deals", ""},
		{"GET", "/crm/v3/objects/contacts?limit=100&associations=" + strings.Repeat("companies,0-2,", 3000), ""},
		{"GET", "/crm/v3/objects/contacts/x%27%20OR%201=1?idProperty=email", ""},
		{"POST", "/crm/v3/objects/contacts", deep},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"firstname":"\u0000\ud800"}}`},
		{"POST", "/crm/v3/objects/contacts", "{\"properties\":{\"firstname\":\"\xff\xfe\"}}"},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"":"x"}}`},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"email":"a@b.co"},"associations":[{"to":{"id":"x"},"types":[]}]}`},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"email":"b@b.co"},"associations":[{"to":{"id":` + id + `},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":99999999999}]}]}`},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{"email":"c@b.co"},"associations":[{"to":{"id":1e400},"types":[]}]}`},
		{"POST", "/crm/v3/objects/contacts", `{"properties":null}`},
		{"POST", "/crm/v3/objects/contacts", `null`},
		{"POST", "/crm/v3/objects/contacts", `"string"`},
		{"POST", "/crm/v3/objects/contacts", `{"properties":{}}{"x":1}`},
		{"PATCH", "/crm/v3/objects/contacts/" + id + "?idProperty=nope", `{"properties":{}}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"createdate","operator":"GT","value":"99999999999999999999"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"createdate","operator":"GT","value":"9223372036854775807"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"createdate","operator":"LT","value":"-9223372036854775808"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"EQ","value":"inf"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"EQ","value":"NaN"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"IN","values":["1",null,2]}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"CONTAINS_TOKEN","value":"***"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"CONTAINS_TOKEN","value":"%' OR 1=1 --"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email\"","operator":"EQ","value":"x"}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[]},{}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"sorts":[""]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"sorts":["-"]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"sorts":[null]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"sorts":[{"propertyName":"hs_object_id","direction":null}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"query":"\u0000%_"}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"IN","values":[` + manyValues + `]}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"NOT_IN","values":[` + manyValues + `]}]}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"properties":[` + manyProps + `]}`},
		{"POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":"1"}],"properties":[` + manyProps + `],"propertiesWithHistory":[` + manyProps + `]}`},
		{"GET", "/crm/v3/objects/contacts?propertiesWithHistory=" + strings.Repeat("p,", 30000), ""},
		{"POST", "/crm/v3/objects/contacts/search", `{"sorts":[` + strings.Repeat(`"-createdate",`, 3000) + `"email"]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"filterGroups":[` + strings.Repeat(`{"filters":[{"propertyName":"email","operator":"HAS_PROPERTY"}]},`, 25) + `{}]}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"query":"` + strings.Repeat("é", 2000) + `"}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"after":"99999999999999999999"}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"after":9223372036854775807}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"after":1.5,"limit":1e2}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"limit":-5}`},
		{"POST", "/crm/v3/objects/contacts/search", `{"properties":[null,""]}`},
		{"POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":null}],"idProperty":"email"}`},
		{"POST", "/crm/v3/objects/contacts/batch/read", `{"inputs":[{"id":"1"}],"propertiesWithHistory":["nope",""]}`},
		{"POST", "/crm/v3/objects/contacts/batch/update", `{"inputs":[{"id":"","properties":{}}]}`},
		{"POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"id":"z@z.co","idProperty":"hs_object_id","properties":{}}]}`},
		{"POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"id":"z@z.co","idProperty":"email","properties":{"email":"other@z.co"}}]}`},
		{"POST", "/crm/v3/objects/contacts/batch/upsert", `{"inputs":[{"id":"","idProperty":"email","properties":{}}]}`},
		{"POST", "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"x"},{"id":null}]}`},
		{"POST", "/crm/v3/objects/contacts/merge", `{"primaryObjectId":"x","objectIdToMerge":null}`},
		{"POST", "/crm/v3/objects/contacts/merge", `{"primaryObjectId":1e30,"objectIdToMerge":-1}`},
		{"POST", "/crm/v3/objects/contacts/merge", `{"primaryObjectId":[],"objectIdToMerge":{}}`},
		{"POST", "/crm/v3/objects/deals/gdpr-delete", `{"objectId":"1"}`},
		{"POST", "/crm/v3/objects/contacts/gdpr-delete", `{"objectId":"a@b.c","idProperty":"firstname"}`},
		{"POST", "/crm/v3/objects/contacts/gdpr-delete", `{"objectId":""}`},
		{"POST", "/crm/v3/properties/contacts", `{"name":"` + strings.Repeat("a", 200) + `","label":"x","type":"string","groupName":"contactinformation"}`},
		{"POST", "/crm/v3/properties/contacts", `{"name":"opt","label":"x","type":"enumeration","fieldType":"select","groupName":"contactinformation","options":[{}]}`},
		{"POST", "/crm/v3/properties/contacts", `{"name":"hs_object_id","label":"x","type":"string","groupName":"contactinformation"}`},
		{"PATCH", "/crm/v3/properties/contacts/nope", `{"type":"number"}`},
		{"POST", "/crm/v3/properties/contacts/batch/read", `{"inputs":[{}]}`},
		{"POST", "/crm/v3/properties/contacts/groups", `{"name":"` + strings.Repeat("g", 5000) + `","label":"x"}`},
		{"PUT", "/crm/v4/objects/contacts/" + id + "/associations/contacts/" + id, `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":449}]`},
		{"PUT", "/crm/v4/objects/contacts/99999999999999999999/associations/companies/1", `[]`},
		{"PUT", "/crm/v4/objects/contacts/" + id + "/associations/default/tickets/" + id, ""},
		{"GET", "/crm/v4/objects/contacts/" + id + "/associations/companies?after=-5&limit=500", ""},
		{"POST", "/crm/v4/associations/contacts/companies/batch/read", `{"inputs":[{"id":"` + id + `","after":"x"}]}`},
		{"POST", "/crm/v4/associations/contacts/companies/batch/create", `{"inputs":[{"from":{},"to":{}}]}`},
		{"POST", "/crm/v4/associations/contacts/companies/batch/archive", `{"inputs":[{"from":{"id":"x"},"to":[{"id":null}]}]}`},
		{"POST", "/crm/v4/associations/contacts/companies/batch/labels/archive", `{"inputs":[{"from":{"id":"1"},"to":{"id":"2"},"types":[]}]}`},
		{"POST", "/crm/v4/associations/deals/companies/labels", `{"label":"","name":"x"}`},
		{"POST", "/crm/v4/associations/deals/companies/labels", `{"label":"` + strings.Repeat("L", 500) + `","name":"x"}`},
		{"POST", "/crm/v4/associations/deals/nope/labels", `{"label":"L","name":"x"}`},
		{"PUT", "/crm/v4/associations/deals/companies/labels", `{"associationTypeId":"x","label":"L"}`},
		{"PUT", "/crm/v4/associations/deals/companies/labels", `{"associationTypeId":99999,"label":"L"}`},
		{"DELETE", "/crm/v4/associations/deals/companies/labels/abc", ""},
		{"DELETE", "/crm/v4/associations/deals/companies/labels/99999", ""},
		{"POST", "/crm/v4/associations/contacts/companies/batch/labels/archive", `{"inputs":[{"from":{"id":"x"},"to":{"id":null},"types":[{"associationCategory":"NOPE","associationTypeId":1}]}]}`},
		{"DELETE", "/crm/v4/objects/contacts/" + id + "/associations/companies/1", ""},
		{"OPTIONS", "/crm/v3/objects/contacts", ""},
		{"HEAD", "/crm/v3/objects/contacts", ""},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, c.body)
		if r.status >= 300 && r.status < 400 {
			t.Errorf("%s %s: redirect %d", c.method, c.path, r.status)
		}
		if r.status >= 400 && c.method != "HEAD" {
			m := r.json(t)
			if m["status"] != "error" || m["message"] == "" {
				t.Errorf("%s %s: %d without the error envelope: %s", c.method, c.path, r.status, r.body)
			}
		}
	}
	// Non-JSON content types are read as JSON all the same.
	req, _ := http.NewRequest("POST", e.url+"/crm/v3/objects/contacts/search", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "text/plain")
	expect(t, e.send(req), 200, "")
}
