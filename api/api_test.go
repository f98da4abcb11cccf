package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sqlite"
)

const adminToken = "test-admin-token"

// env is a running API server on a real store.
type env struct {
	t      *testing.T
	url    string
	db     *sqlite.DB
	client *http.Client
	// readOnly has only crm.objects.contacts.read.
	readOnly string
}

// testStore is what every API test starts from: a fresh store in a
// temporary directory, closed when the test ends, with the default
// account, the admin token and a read-only token.
type testStore struct {
	tb   testing.TB
	ctx  context.Context
	db   *sqlite.DB
	acct int64
	// readOnly has only crm.objects.contacts.read.
	readOnly string
	// logger discards.
	logger *slog.Logger
}

// newTestStore opens a testStore.
func newTestStore(tb testing.TB) *testStore {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	// Registered first, so it runs after the cleanups of whatever serves
	// the store.
	tb.Cleanup(func() { db.Close() })
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.StoreToken(ctx, acct, "admin", adminToken, nil, true); err != nil {
		tb.Fatal(err)
	}
	ro, _, err := db.CreateToken(ctx, acct, "ro", []string{"crm.objects.contacts.read"}, false)
	if err != nil {
		tb.Fatal(err)
	}
	return &testStore{tb: tb, ctx: ctx, db: db, acct: acct, readOnly: ro, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// must fails the test on a fixture's error.
func (s *testStore) must(err error) {
	s.tb.Helper()
	if err != nil {
		s.tb.Fatal(err)
	}
}

// addFlowFixtures adds what the flow examples refer to: a secret key, the
// secret HUBSPOT_TOKEN and the deal property zip.
func (s *testStore) addFlowFixtures() {
	s.tb.Helper()
	s.must(s.db.SetSecretKey(make([]byte, 32)))
	_, err := s.db.PutSecret(s.ctx, s.acct, "HUBSPOT_TOKEN", "s3cret")
	s.must(err)
	_, err = s.db.CreateProperty(s.ctx, s.acct, &spoke.Property{ObjectType: "deals", Name: "zip", Label: "Zip", Type: "string", GroupName: "dealinformation"})
	s.must(err)
}

// serve starts srv on a test server, closed at the end of the test before
// the store, and returns the env that talks to it as the admin. Its
// client does not follow redirects.
func (s *testStore) serve(t *testing.T, srv *Server) *env {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, url: ts.URL, db: s.db, client: client, readOnly: s.readOnly}
}

// setup starts the API on a fresh store in a temporary directory.
func setup(t *testing.T) *env {
	t.Helper()
	s := newTestStore(t)
	db := s.db
	return s.serve(t, &Server{Records: db, Properties: db, Associations: db, Schemas: db, Tokens: db, Owners: db, Pipelines: db, Lists: db, FlowWebhooks: db,
		Logger: s.logger})
}

// resp is a response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r resp) String() string { return string(r.body) }

// do sends a request with the admin token. Every response must have the
// JSON content type and a status below 500.
func (e *env) do(method, path, body string) resp {
	e.t.Helper()
	return e.doAs(adminToken, method, path, body)
}

func (e *env) doAs(token, method, path, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: b}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	if r.status >= 500 {
		e.t.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, r.status, b)
	}
	if r.status != http.StatusNoContent && req.Method != "HEAD" && !json.Valid(b) {
		e.t.Errorf("%s %s: body is not JSON: %q", req.Method, req.URL.Path, b)
	}
	return r
}

// expect fails unless the response has the status and, for errors, the
// HubSpot error envelope with the category; the body must contain every
// substring given.
func expect(t *testing.T, r resp, status int, category string, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if category != "" {
		m := r.json(t)
		if m["status"] != "error" || m["category"] != category || m["message"] == "" || m["correlationId"] == "" {
			t.Fatalf("error body %s, want category %s", r.body, category)
		}
	}
	for _, s := range contains {
		if !bytes.Contains(r.body, []byte(s)) {
			t.Fatalf("body %s does not contain %q", r.body, s)
		}
	}
}

// createContact creates a contact and returns its id.
func (e *env) createContact(email string) string {
	e.t.Helper()
	r := e.do("POST", "/crm/v3/objects/contacts", `{"properties":{"email":"`+email+`","firstname":"F"}}`)
	expect(e.t, r, 201, "")
	return r.json(e.t)["id"].(string)
}
