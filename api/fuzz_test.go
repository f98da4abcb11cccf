package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

// seedBodies are valid request bodies of the decoded input types.
var seedBodies = []string{
	`{"properties":{"email":"a@b.co","firstname":"Ada","amount":100,"hs_email_optout":true,"lastname":null}}`,
	`{"properties":{"email":"a@b.co"},"associations":[{"to":{"id":"5"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`,
	`{"inputs":[{"properties":{"email":"x@y.co"}},{"id":"1","properties":{"firstname":"Y"}}]}`,
	`{"inputs":[{"idProperty":"email","id":"a@b.c","properties":{"firstname":"Y"}}]}`,
	`{"inputs":[{"id":"101"},{"id":102}],"properties":["email"],"propertiesWithHistory":[],"idProperty":"email"}`,
	`{"query":"foo","limit":10,"after":0,"sorts":[{"propertyName":"createdate","direction":"DESCENDING"},"-lastmodifieddate"],"properties":["email"],"filterGroups":[{"filters":[{"propertyName":"email","value":"a@b.c","operator":"EQ"},{"propertyName":"hs_object_id","values":["1","2"],"operator":"IN"},{"highValue":"2","propertyName":"createdate","value":"1","operator":"BETWEEN"}]}]}`,
	`{"filterGroups":[{"filters":[{"propertyName":"email","operator":"CONTAINS_TOKEN","value":"*@hubspot.com"}]},{"filters":[{"propertyName":"phone","operator":"HAS_PROPERTY"}]}],"after":"10","limit":"5"}`,
	`{}`,
	`[]`,
	`{"properties":{"a":"\u00e9\ud83d\ude00"}}`,
	"{\n\"properties\": {\"email\": \"x\",}\n}",
}

// FuzzDecode drives request decoding into each input type: it must never
// panic, and every failure must be a 400-class *spoke.Error.
func FuzzDecode(f *testing.F) {
	for _, s := range seedBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{
			new(searchInput),
			new(objectInput),
			new(batchReadInput),
			new(struct {
				Inputs []objectInput `json:"inputs"`
			}),
			new(propertyInput),
			new(batchAssocInput),
			new([]assocSpec),
		}
		for _, v := range targets {
			err := decodeBytes(body, v)
			if err == nil {
				continue
			}
			var e *spoke.Error
			if !errors.As(err, &e) {
				t.Fatalf("decode into %T: %v (%T) is not a *spoke.Error", v, err, err)
			}
			if c := e.Code; c != spoke.EINVALID {
				t.Fatalf("decode into %T: code %s for %q", v, c, body)
			}
			if e.Message == "" {
				t.Fatalf("decode into %T: empty message", v)
			}
		}
		// A body that decodes as a search converts to a request without panicking.
		var s searchInput
		if decodeBytes(body, &s) == nil {
			for _, so := range s.Sorts {
				_ = so.Sort
			}
		}
	})
}

// fuzzHandler starts a server on a store in a temporary directory, with a
// few records for the fuzzed bodies to hit.
func fuzzHandler(f *testing.F) http.Handler {
	s := newTestStore(f)
	db := s.db
	srv := &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db,
		Logger: s.logger}
	h := srv.Handler()
	for _, c := range []struct{ path, body string }{
		{"/crm/v3/objects/contacts", `{"properties":{"email":"a@b.co","firstname":"Ada"}}`},
		{"/crm/v3/objects/contacts", `{"properties":{"email":"x@y.co"}}`},
		{"/crm/v3/objects/companies", `{"properties":{"name":"Acme"}}`},
	} {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			f.Fatalf("seed %s: %d %s", c.path, rec.Code, rec.Body)
		}
	}
	return h
}

// fuzzEndpoints are the routes FuzzHandlers sends bodies to.
var fuzzEndpoints = []struct{ method, path string }{
	{"POST", "/crm/v3/objects/contacts"},
	{"PATCH", "/crm/v3/objects/contacts/1"},
	{"POST", "/crm/v3/objects/contacts/search"},
	{"POST", "/crm/v3/objects/deals/search"},
	{"POST", "/crm/v3/objects/contacts/batch/read"},
	{"POST", "/crm/v3/objects/contacts/batch/create"},
	{"POST", "/crm/v3/objects/contacts/batch/update"},
	{"POST", "/crm/v3/objects/contacts/batch/upsert"},
	{"POST", "/crm/v3/objects/companies/batch/archive"},
	{"POST", "/crm/v3/properties/contacts"},
	{"PUT", "/crm/v4/objects/contacts/1/associations/companies/3"},
	{"POST", "/crm/v4/associations/contacts/companies/batch/create"},
	{"POST", "/crm/v4/associations/contacts/companies/batch/read"},
	{"POST", "/crm/v3/objects/contacts/merge"},
	{"POST", "/crm/v4/associations/contacts/companies/batch/labels/archive"},
	{"POST", "/crm/v4/associations/deals/companies/labels"},
	{"PUT", "/crm/v4/associations/deals/companies/labels"},
	{"POST", "/automation/v4/workflow-id-mappings/batch/read"},
	{"POST", "/crm/v3/objects/contacts/gdpr-delete"},
}

// FuzzHandlers sends fuzzed bodies to a real server: no input may yield a
// 5xx or a response without the JSON content type.
func FuzzHandlers(f *testing.F) {
	for i, s := range seedBodies {
		f.Add(uint8(i), []byte(s))
	}
	f.Add(uint8(10), []byte(`[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]`))
	f.Add(uint8(11), []byte(`{"inputs":[{"from":{"id":"1"},"to":{"id":"3"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`))
	f.Add(uint8(12), []byte(`{"inputs":[{"id":"1"}]}`))
	f.Add(uint8(9), []byte(`{"name":"fz","label":"Fz","type":"enumeration","fieldType":"select","groupName":"contactinformation","options":[{"label":"A","value":"a"}]}`))
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := fuzzEndpoints[int(which)%len(fuzzEndpoints)]
		req := httptest.NewRequest(ep.method, ep.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", ep.method, ep.path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s: Content-Type %q", ep.method, ep.path, ct)
		}
		if rec.Code != http.StatusNoContent && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: body not JSON: %q", ep.method, ep.path, rec.Body)
		}
	})
}
