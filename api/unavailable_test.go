package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

// TestUnavailableAnswer checks the answer to a request the database could
// not serve: 503 with Retry-After, HubSpot's envelope with the message a
// user can act on, and none of the driver's words. (The stores' own tests
// and cmd/spoke's TestPostgresRestart check that a database that is down
// gives this error.)
func TestUnavailableAnswer(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial unix /run/postgresql/.s.PGSQL.5432: connect: no such file or directory")
	check := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != retryAfterUnavailable {
			t.Fatalf("status %d, Retry-After %q: want 503 with Retry-After %s", rec.Code, rec.Header().Get("Retry-After"), retryAfterUnavailable)
		}
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Status != "error" || body.Message != "The database is unavailable; retry shortly." || body.Category != "SERVICE_UNAVAILABLE" || body.CorrelationID == "" {
			t.Errorf("body %+v", body)
		}
		if strings.Contains(rec.Body.String(), "PGSQL") {
			t.Errorf("the driver's error leaked: %s", rec.Body.String())
		}
	}
	t.Run("handler", func(t *testing.T) {
		rec := httptest.NewRecorder()
		handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return spoke.DatabaseUnavailable(cause)
		}).ServeHTTP(rec, httptest.NewRequest("GET", "/crm/v3/objects/contacts", nil))
		check(t, rec)
	})
	t.Run("healthz", func(t *testing.T) {
		down := true
		s := &Server{Records: newTestStore(t).db, Health: func(ctx context.Context) error {
			if down {
				return cause // an error the store did not classify: still 503
			}
			return nil
		}}
		h := s.Handler()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		check(t, rec)
		down = false
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if b, _ := io.ReadAll(rec.Body); rec.Code != 200 || !strings.Contains(string(b), `"ok"`) {
			t.Errorf("healthz with the database up: %d %s", rec.Code, b)
		}
	})
}
