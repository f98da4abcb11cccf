// Package web serves Spoke's browser UI: server-rendered html/template
// pages with a little JavaScript (the flow canvas and editor, the code
// editor, live counts), every asset embedded in the binary, and a strict
// Content-Security-Policy. Reads go to the domain services with the
// signed-in token's scopes checked here; every write goes through the API
// handler in-process with the session's token, so validation, scopes and
// engine notifications stay where they are (packages api, flow, sqlite).
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the UI. API is the API's handler; the other fields are
// the services it reads from.
type Server struct {
	API          http.Handler
	Tokens       spoke.TokenService
	Records      spoke.RecordService
	Properties   spoke.PropertyService
	Associations spoke.AssociationService
	Flows        spoke.FlowService
	Engine       spoke.EngineStore
	Runs         spoke.RunStore
	Secrets      spoke.SecretService
	// Schemas, Owners and Pipelines are optional: with them the records
	// pages list custom objects and show owner names and stage labels.
	Schemas   spoke.SchemaService
	Owners    spoke.OwnerService
	Pipelines spoke.PipelineService
	// Storage and Retention fill the usage page's data section; nil
	// leaves it out.
	Storage   spoke.StorageReporter
	Retention spoke.RetentionService
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	storage  storageCache
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// Prefix is where the UI's pages live; "/" redirects into it.
const Prefix = "/ui/"

// Wrap returns a handler that serves the UI at / and under /ui/ and
// sends every other request to api unchanged (ServeMux is not used for
// this split because it would redirect the //crm/... paths HubSpot's
// client sends before the API could clean them).
func (s *Server) Wrap(api http.Handler) http.Handler {
	ui := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, Prefix) {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Handler returns the UI's handler.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	s.sessions = newSessions(s.Now)
	s.pages = parsePages()
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheFor(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /ui/{$}", s.home)
	mux.HandleFunc("GET /ui/signin", s.signInPage)
	mux.HandleFunc("POST /ui/signin", s.signIn)
	s.routes(mux)
	s.mux = mux
	return s.headers(mux)
}

// routes declares the pages that need a session.
func (s *Server) routes(mux *http.ServeMux) {
	page := func(pattern string, h func(http.ResponseWriter, *http.Request, *session) error) {
		mux.Handle(pattern, s.authed(h))
	}
	page("POST /ui/signout", s.signOut)
	page("GET /ui/flows", s.flowsPage)
	page("POST /ui/flows", s.createFlow)
	page("GET /ui/flows/{id}", s.flowPage)
	page("GET /ui/flows/{id}/stats", s.flowStats)
	page("GET /ui/flows/{id}/revisions/{rev}", s.revisionPage)
	page("GET /ui/flows/{id}/runs", s.runsPage)
	page("GET /ui/flows/{id}/executions/{xid}", s.executionPage)
	page("POST /ui/flows/{id}/enrollments/{eid}/retry", s.retry)
	page("GET /ui/records", s.typesPage)
	page("GET /ui/records/{type}", s.recordsPage)
	page("GET /ui/records/{type}/{rid}", s.recordPage)
	page("GET /ui/properties/{type}", s.propertiesPage)
	page("POST /ui/properties/{type}", s.createProperty)
	page("GET /ui/secrets", s.secretsPage)
	page("POST /ui/secrets", s.putSecret)
	page("POST /ui/secrets/{name}/delete", s.deleteSecret)
	page("GET /ui/usage", s.usagePage)
	page("GET /ui/settings", s.settingsPage)
	page("POST /ui/settings/{which}", s.putSettings)
	page("GET /ui/flows/{id}/revisions", s.revisionsPage)
	page("GET /ui/flows/{id}/diff", s.diffPage)
	page("POST /ui/flows/{id}/revisions/{rev}/restore", s.restore)
	page("POST /ui/flows/{id}/rollout/{cmd}", s.moveRollout)
	page("GET /ui/flows/{id}/revert", s.revertPage)
	page("POST /ui/flows/{id}/revert", s.revert)
	page("GET /ui/flows/{id}/revert/{rid}", s.revertJobPage)
	page("/ui/api/", s.proxy)
}

// home sends a browser to the first page its token may see.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	to := "/ui/flows"
	if sess := s.sessions.get(r); sess != nil && !sess.token.HasScope("automation") {
		for _, t := range objectTypes {
			if sess.token.HasScope("crm.objects." + t + ".read") {
				to = "/ui/records/" + t
				break
			}
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// csp allows only the UI's own scripts, styles and images: no inline
// script, no eval, no other host.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the security headers of every UI response.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, 10<<20)
		}
		next.ServeHTTP(w, r)
	})
}

func cacheFor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// authed runs h with the request's session, sending a browser without
// one to the sign-in page, and checks the CSRF token of every request
// that is not a GET or HEAD. An error h returns is shown in words.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.get(r)
		if sess == nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/ui/api/") && !strings.HasSuffix(r.URL.Path, "/stats") {
				http.Redirect(w, r, "/ui/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, spoke.Errorf(spoke.EUNAUTHORIZED, "Your session has ended. Sign in again."))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sess.checkCSRF(r) {
			s.fail(w, r, sess, spoke.Errorf(spoke.EFORBIDDEN, "This form has expired or did not come from Spoke's own pages. Reload the page and try again."))
			return
		}
		if err := h(w, r, sess); err != nil {
			s.fail(w, r, sess, err)
		}
	})
}

// require returns EFORBIDDEN in words unless the session's token has
// scope.
func require(sess *session, scope string) error {
	if sess.token.HasScope(scope) {
		return nil
	}
	return &spoke.Error{Code: spoke.EFORBIDDEN, Category: "MISSING_SCOPES",
		Message: fmt.Sprintf("The token you signed in with does not have the %s scope this page needs.", scope)}
}

// status maps an error to the HTTP status the UI answers with.
func status(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	switch spoke.ErrorCode(err) {
	case spoke.EINVALID:
		return http.StatusBadRequest
	case spoke.ENOTFOUND:
		return http.StatusNotFound
	case spoke.ECONFLICT:
		return http.StatusConflict
	case spoke.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case spoke.EFORBIDDEN:
		return http.StatusForbidden
	case spoke.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// message is what a person reads for err: the API's or domain's message,
// never internal details.
func message(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Message
	}
	var se *spoke.Error
	if errors.As(err, &se) && se.Code != spoke.EINTERNAL {
		return se.Message
	}
	return "Something went wrong on the server; the error is in Spoke's log."
}

// fail answers an error: JSON for the UI's scripts, an error page for a
// person.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	code := status(err)
	if code >= 500 {
		s.Logger.Error("web request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/ui/api/") || r.Header.Get("Accept") == "application/json" {
		writeJSON(w, code, map[string]string{"status": "error", "message": message(err)})
		return
	}
	s.render(w, r, sess, code, "error.html", map[string]any{"Title": http.StatusText(code), "Message": message(err), "Status": code})
}
