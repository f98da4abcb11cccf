package api

import (
	"net/http"
	"net/http/httptest"
	"regexp"
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

// TestReadOnlyRoutes sends a request to every route the API declares
// through ReadOnly: the routes declared with reads must go through, all
// the others must be refused with 403 DRY_RUN without reaching the API.
// It also checks the declarations themselves: every GET route reads, and
// the only POSTs that read are searches and batch reads.
func TestReadOnlyRoutes(t *testing.T) {
	t.Parallel()
	wildcard := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for _, g := range new(Server).routeGroups() {
		for _, rt := range g.routes {
			n++
			method, p, _ := strings.Cut(rt.pattern, " ")
			switch {
			case method == http.MethodGet && !rt.readOnly:
				t.Errorf("%s: a GET route must be declared with reads", rt.pattern)
			case method == http.MethodPost && rt.readOnly && !strings.HasSuffix(p, "/search") && !strings.HasSuffix(p, "/batch/read"):
				t.Errorf("%s: declared read-only, but only searches and batch reads are read-only POSTs", rt.pattern)
			case method != http.MethodGet && method != http.MethodPost && rt.readOnly:
				t.Errorf("%s: a %s route cannot be read-only", rt.pattern, method)
			}
			req := httptest.NewRequest(method, wildcard.ReplaceAllString(p, "x1"), strings.NewReader("{}"))
			if got := allRoutes().match(req); got != rt.pattern {
				t.Errorf("%s: the request %s %s matches %q", rt.pattern, method, req.URL.Path, got)
			}
			reached := false
			h := ReadOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				w.WriteHeader(http.StatusOK)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case rt.readOnly && (!reached || rec.Code != http.StatusOK):
				t.Errorf("%s: read-only route refused: %d %s", rt.pattern, rec.Code, rec.Body)
			case !rt.readOnly && (reached || rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"category":"DRY_RUN"`)):
				t.Errorf("%s: writing route not refused: reached %v, %d %s", rt.pattern, reached, rec.Code, rec.Body)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d routes declared; the route groups are incomplete", n)
	}
}

// TestReadOnlyUnrouted checks requests no route matches: reads go on to
// the API's 404, anything else is refused.
func TestReadOnlyUnrouted(t *testing.T) {
	t.Parallel()
	h := ReadOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/crm/v3/nothing/here", http.StatusNotFound},
		{"HEAD", "/nothing", http.StatusNotFound},
		{"POST", "/crm/v3/nothing/search", http.StatusForbidden},
		{"PUT", "/crm/v3/objects/contacts/1", http.StatusForbidden},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}

// TestReadOnlyEscapedSlash checks a path the old suffix rule misread: an
// escaped slash is no path separator to the router, so ".../contacts%2Fsearch"
// is a create, not a search, and must be refused.
func TestReadOnlyEscapedSlash(t *testing.T) {
	t.Parallel()
	h := ReadOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	for _, p := range []string{"/crm/v3/objects/contacts%2Fsearch", "/crm/v3/objects/contacts/batch%2Fread"} {
		req := httptest.NewRequest("POST", p, strings.NewReader("{}"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403 DRY_RUN", p, rec.Code)
		}
	}
	if got := allRoutes().match(httptest.NewRequest("POST", "/crm/v3/objects/contacts%2Fsearch", nil)); got != "POST /crm/v3/objects/{objectType}" {
		t.Errorf("POST .../contacts%%2Fsearch matches %q, want the create route", got)
	}
}
