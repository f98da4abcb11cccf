package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadOnly(t *testing.T) {
	t.Parallel()
	var reached []string
	h := ReadOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.Method+" "+r.URL.Path)
		w.WriteHeader(http.StatusOK)
	}))
	for _, tc := range []struct {
		method, path string
		pass         bool
	}{
		{"GET", "/crm/v3/objects/contacts/1", true},
		{"HEAD", "/crm/v3/objects/contacts", true},
		{"POST", "/crm/v3/objects/contacts/search", true},
		{"POST", "//crm/v3/objects/contacts/batch/read", true},
		{"POST", "/crm/v3/objects/contacts", false},
		{"PATCH", "/crm/v3/objects/contacts/1", false},
		{"DELETE", "/crm/v3/objects/contacts/1", false},
		{"POST", "/crm/v3/objects/contacts/batch/update", false},
		{"POST", "/crm/v3/objects/contacts/search/../batch/create", false},
		{"PUT", "/crm/v4/objects/contacts/1/associations/companies/2", false},
		{"POST", "/automation/v4/flows/9/enrollments", false},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
		if pass := rec.Code == http.StatusOK; pass != tc.pass {
			t.Errorf("%s %s: status %d, want passed=%v", tc.method, tc.path, rec.Code, tc.pass)
		}
		if !tc.pass && (rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"category":"DRY_RUN"`)) {
			t.Errorf("%s %s: %d %s, want 403 DRY_RUN", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
}
