package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spokehq/spoke/api"
	"github.com/spokehq/spoke/engine"
	"github.com/spokehq/spoke/sqlite"
)

// setup serves the UI and the API on one test server, with an admin token
// and a token that may only read contacts.
func setup(t *testing.T) (ts *httptest.Server, admin, contactsOnly string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err = db.CreateToken(ctx, acct, "admin", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	contactsOnly, _, err = db.CreateToken(ctx, acct, "reader", []string{"crm.objects.contacts.read"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Config{Store: db, Flows: db, Records: db, Properties: db, Secrets: db, Logger: logger, Rollouts: db, Alerts: db, Reverts: db})
	apiSrv := &api.Server{Records: db, Properties: db, Associations: db, Tokens: db, Flows: db, FlowChecker: db, Secrets: db, EngineStore: db,
		Engine: eng, Logger: logger, Schemas: db, Owners: db, Pipelines: db, Alerts: db, Retention: db}
	h := apiSrv.Handler()
	ui := &Server{API: h, Tokens: db, Records: db, Properties: db, Associations: db, Flows: db, Engine: db, Runs: db, Secrets: db, Storage: db, Retention: db,
		Schemas: db, Owners: db, Pipelines: db, Logger: logger}
	ts = httptest.NewServer(ui.Wrap(h))
	t.Cleanup(ts.Close)
	return ts, admin, contactsOnly
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see where the UI sends it.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func signIn(t *testing.T, c *http.Client, base, token string) string {
	t.Helper()
	resp, err := c.PostForm(base+"/ui/signin", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	ck := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	page := get(t, c, base+"/ui/secrets", 200)
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page")
	}
	return m[1]
}

func get(t *testing.T, c *http.Client, u string, want int) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

func TestSignInAndCSRF(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)

	// Signed out: pages send the browser to sign in; the API is untouched.
	resp, _ := c.Get(ts.URL + "/ui/flows")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/signin") {
		t.Fatalf("signed-out /ui/flows: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	get(t, c, ts.URL+"/crm/v3/objects/contacts", 401)
	if body := get(t, c, ts.URL+"/ui/signin", 200); !strings.Contains(body, "Private-app token") {
		t.Fatal("no sign-in form")
	}
	// A wrong token is refused in words; a cross-site sign-in form is refused.
	resp, _ = c.PostForm(ts.URL+"/ui/signin", url.Values{"token": {"nope"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/ui/signin", strings.NewReader(url.Values{"token": {admin}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, _ = c.Do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d", resp.StatusCode)
	}

	csrf := signIn(t, c, ts.URL, admin)
	post := func(path string, form url.Values, header map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Without the CSRF token, or from another origin, a write is refused.
	if r := post("/ui/secrets", url.Values{"name": {"A"}, "value": {"1"}}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("secret without CSRF token: %d", r.StatusCode)
	}
	if r := post("/ui/secrets", url.Values{"name": {"A"}, "value": {"1"}, "csrf": {csrf}}, map[string]string{"Origin": "https://evil.example"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin secret: %d", r.StatusCode)
	}
	if r := post("/ui/secrets", url.Values{"name": {"A"}, "value": {"1"}, "csrf": {csrf}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("secret with CSRF token: %d", r.StatusCode)
	}
	if page := get(t, c, ts.URL+"/ui/secrets", 200); !strings.Contains(page, "<code>A</code>") || strings.Contains(page, ">1<") {
		t.Fatalf("secrets page does not list A (or shows its value)")
	}
	// The scripts' API pass-through checks the header token too.
	req, _ = http.NewRequest("PUT", ts.URL+"/ui/api/automation/v4/secrets/B", strings.NewReader(`{"value":"2"}`))
	if resp, _ = c.Do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("pass-through without CSRF header: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("PUT", ts.URL+"/ui/api/automation/v4/secrets/B", strings.NewReader(`{"value":"2"}`))
	req.Header.Set("X-CSRF-Token", csrf)
	if resp, _ = c.Do(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("pass-through with CSRF header: %d", resp.StatusCode)
	}
	// An API error reaches a person in words.
	if r := post("/ui/flows", url.Values{"name": {""}, "objectType": {"contacts"}, "csrf": {csrf}}, nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("flow without a name: %d", r.StatusCode)
	}
	// Sign out ends the session.
	if r := post("/ui/signout", url.Values{"csrf": {csrf}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	if resp, _ = c.Get(ts.URL + "/ui/flows"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign out: %d", resp.StatusCode)
	}
}

func TestScopesLimitTheUI(t *testing.T) {
	t.Parallel()
	ts, _, reader := setup(t)
	c := browser(t)
	resp, _ := c.PostForm(ts.URL+"/ui/signin", url.Values{"token": {reader}, "next": {"/ui/records/contacts"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/records/contacts" {
		t.Fatalf("sign in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := get(t, c, ts.URL+"/ui/records/contacts", 200)
	if strings.Contains(page, `href="/ui/flows"`) || strings.Contains(page, `href="/ui/records/deals"`) || !strings.Contains(page, "No contacts yet") {
		t.Errorf("a contacts-only token's menu shows what it cannot use, or no empty state:\n%s", page)
	}
	if body := get(t, c, ts.URL+"/ui/flows", 403); !strings.Contains(body, "does not have the automation scope") {
		t.Errorf("workflows with a contacts-only token:\n%s", body)
	}
	get(t, c, ts.URL+"/ui/records/deals", 403)
	// Sign-in never redirects off the UI.
	if got := safeNext("//evil.example/ui/"); got != "/" {
		t.Errorf("safeNext = %q", got)
	}
}

// TestUsageShowsStorage: the usage page shows the retention and the
// database's figures.
func TestUsageShowsStorage(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)
	signIn(t, c, ts.URL, admin)
	page := get(t, c, ts.URL+"/ui/usage", 200)
	for _, want := range []string{`id="storage"`, "<b>30 days</b>", "<b>90 days</b>", "<code>execution_steps</code>", "<code>records</code>", "Oldest execution kept: none"} {
		if !strings.Contains(page, want) {
			t.Errorf("usage page lacks %q", want)
		}
	}
}
