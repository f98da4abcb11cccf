package api

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestNextPageLink(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		trust   bool
		target  string
		headers map[string]string
		tls     bool
		want    string
	}{
		{"own host, query order kept, after replaced", false, "http://spoke.local:8080/crm/v3/objects/contacts?limit=2&after=5&properties=email",
			nil, false, "http://spoke.local:8080/crm/v3/objects/contacts?limit=2&properties=email&after=102"},
		{"tls", false, "https://spoke.local/crm/v3/objects/contacts", nil, true, "https://spoke.local/crm/v3/objects/contacts?after=102"},
		{"untrusted forwarded headers are ignored", false, "http://10.0.0.5:8080/crm/v3/objects/contacts?limit=2",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, false, "http://10.0.0.5:8080/crm/v3/objects/contacts?limit=2&after=102"},
		{"trusted forwarded headers", true, "http://10.0.0.5:8080/crm/v3/objects/contacts?limit=2",
			map[string]string{"X-Forwarded-Proto": "HTTPS, http", "X-Forwarded-Host": "crm.example.com, 10.0.0.5"}, false, "https://crm.example.com/crm/v3/objects/contacts?limit=2&after=102"},
		{"trusted but malformed headers fall back", true, "http://10.0.0.5:8080/crm/v3/objects/contacts",
			map[string]string{"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "a/b@c"}, false, "http://10.0.0.5:8080/crm/v3/objects/contacts?after=102"},
		{"escaped after key and value", false, "http://h/crm/v3/objects/contacts?%61fter=1&archived=true", nil, false,
			"http://h/crm/v3/objects/contacts?archived=true&after=102"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.target, nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			s := &Server{TrustProxyHeaders: c.trust}
			got := s.nextPageLink(r, "102")
			if got.Next.After != "102" || got.Next.Link != c.want {
				t.Errorf("next %+v, want link %q", got.Next, c.want)
			}
		})
	}
}

func TestListPagingLinkIsAbsolute(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.createContact("l1@example.com")
	second := e.createContact("l2@example.com")
	e.createContact("l3@example.com")
	r := e.do("GET", "/crm/v3/objects/contacts?limit=2&properties=email", "")
	expect(t, r, 200, "")
	next := r.json(t)["paging"].(map[string]any)["next"].(map[string]any)
	want := e.url + "/crm/v3/objects/contacts?limit=2&properties=email&after=" + second
	if next["after"] != second || next["link"] != want {
		t.Fatalf("paging.next %v, want after %s and link %s", next, second, want)
	}
	// The link is followable as it is.
	r = e.do("GET", want[len(e.url):], "")
	expect(t, r, 200, "", `"email":"l3@example.com"`)
}
