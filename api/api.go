// Package api serves Spoke's HubSpot-compatible HTTP API: CRM v3 objects,
// properties, associations v4 and (later) automation v4. It only
// translates wire shapes to calls on the domain services of package spoke
// and errors to HubSpot's error envelope; it holds no business rules.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 10 << 20

// MaxBatchInputs is the most inputs a batch call takes, as on HubSpot.
const MaxBatchInputs = 100

// Server holds the services the handlers call.
type Server struct {
	Records      spoke.RecordService
	Properties   spoke.PropertyService
	Associations spoke.AssociationService
	// Schemas stores custom object schemas and resolves object type names
	// with them; nil serves the standard object types only.
	Schemas spoke.SchemaService
	Tokens  spoke.TokenService
	// Owners serves the owners API and the admin API that manages them;
	// Pipelines serves the pipelines API. nil leaves their routes out.
	Owners    spoke.OwnerService
	Pipelines spoke.PipelineService
	// Lists serves the lists API; nil leaves its routes out.
	Lists spoke.ListService
	// FlowWebhooks serves flows' inbound webhooks; nil leaves their
	// routes out.
	FlowWebhooks FlowWebhooks
	// Flows stores workflows (automation v4).
	Flows spoke.FlowService
	// FlowChecker answers flow validation's questions about properties
	// and secrets; nil checks neither.
	FlowChecker flow.Checker
	// Linter checks custom code on every flow save (the answer's
	// "warnings") and keeps a flow with lint errors from being turned on
	// without "acknowledgeLint": true; nil checks nothing.
	Linter FlowLinter
	// Engine, EngineStore and Secrets serve enrollment, executions, usage,
	// test runs and secrets; nil leaves those routes out.
	Engine      Workflows
	EngineStore spoke.EngineStore
	Secrets     spoke.SecretService
	// Alerts keeps the account's alert webhook; nil leaves its routes out.
	Alerts spoke.AlertStore
	// Retention serves the retention settings; nil leaves them out.
	Retention spoke.RetentionService
	Logger    *slog.Logger
	// TrustProxyHeaders builds the absolute paging links of list
	// responses from X-Forwarded-Proto and X-Forwarded-Host; set it only
	// behind a reverse proxy that sets them, since clients can forge them.
	TrustProxyHeaders bool
	// Now is the clock that picks the quota's month; nil is time.Now.
	// Tests that move the store's and the engine's clock set it too.
	Now func() time.Time
	// Health, when set, is called by GET /healthz, which answers its
	// error (503 for EUNAVAILABLE) instead of 200: a check that the
	// database answers. nil checks nothing (SQLite, a file of this
	// process, cannot be unreachable).
	Health func(ctx context.Context) error

	tokens sync.Map // secret → *spoke.Token; tokens are never revoked while running
	mux    *http.ServeMux
	// public holds the patterns of the routes served without a token.
	public map[string]bool
}

// Handler returns the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	s.mux, s.public = mux, map[string]bool{}
	for _, g := range s.routeGroups() {
		if !g.served {
			continue
		}
		for _, rt := range g.routes {
			mux.Handle(rt.pattern, rt.handler)
			s.public[rt.pattern] = rt.public
		}
	}
	return s.middleware(mux)
}

// now reads the server's clock.
func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

type ctxKey int

const (
	tokenKey ctxKey = iota
	typesKey
)

// tokenFrom returns the authenticated token of a request.
func tokenFrom(ctx context.Context) *spoke.Token {
	t, _ := ctx.Value(tokenKey).(*spoke.Token)
	return t
}

// middleware collapses duplicate slashes, limits bodies, sets the JSON
// content type, recovers panics into 500s and logs each request.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		canonicalize(r)
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				s.Logger.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(rw, r, spoke.Errorf(spoke.EINTERNAL, "internal error"))
			}
			if rw.status >= 500 {
				s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start), "err", rw.err)
			} else {
				s.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start))
			}
		}()
		_, pattern := s.mux.Handler(r)
		if !s.public[pattern] {
			tok, err := s.authenticate(r)
			if err != nil {
				if r.ContentLength == 0 {
					writeError(rw, r, err)
					return
				}
				// Answer now and close without reading the body:
				// net/http would otherwise read (up to 256 KB of) it,
				// before the answer and after it, as long as a slow
				// client without a token cares to send it.
				w.Header().Set("Connection", "close")
				writeError(rw, r, err)
				http.NewResponseController(w).SetReadDeadline(time.Now())
				return
			}
			ctx := context.WithValue(r.Context(), tokenKey, tok)
			if s.Schemas != nil {
				ctx = context.WithValue(ctx, typesKey, spoke.ObjectTypeService(s.Schemas))
			}
			r = r.WithContext(ctx)
		}
		if pattern == "" {
			writeError(rw, r, &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
				Message: "No API route matches " + r.Method + " " + r.URL.Path + "."})
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// canonicalize cleans r's path as ServeMux would, so that ServeMux routes
// the request instead of redirecting it (a redirect loses a POST body).
func canonicalize(r *http.Request) {
	if esc := r.URL.EscapedPath(); cleanPath(esc) != esc {
		if p, err := url.PathUnescape(cleanPath(esc)); err == nil {
			r.URL.Path, r.URL.RawPath = p, cleanPath(esc)
		}
	}
}

// cleanPath collapses duplicate slashes and removes . and .. elements as
// ServeMux does before it routes, and drops a trailing slash: HubSpot
// answers GET /crm/v3/objects/contacts/ as GET /crm/v3/objects/contacts.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return path.Clean(p)
}

func (s *Server) authenticate(r *http.Request) (*spoke.Token, error) {
	h := r.Header.Get("Authorization")
	// The scheme is case-insensitive (RFC 9110): "bearer x" is fine.
	scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return nil, spoke.Errorf(spoke.EUNAUTHORIZED, "Authentication credentials not found. This API supports OAuth 2.0 authentication and private app access tokens: send Authorization: Bearer TOKEN.")
	}
	secret = strings.TrimSpace(secret)
	if t, ok := s.tokens.Load(secret); ok {
		return t.(*spoke.Token), nil
	}
	t, err := s.Tokens.Authenticate(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	s.tokens.Store(secret, t)
	return t, nil
}

// require returns EFORBIDDEN unless the request's token has one of
// scopes; the error names the first, as HubSpot names one required scope.
func require(r *http.Request, scopes ...string) error {
	t := tokenFrom(r.Context())
	if t != nil && t.HasAnyScope(scopes) {
		return nil
	}
	return &spoke.Error{Code: spoke.EFORBIDDEN, Category: "MISSING_SCOPES",
		Message: "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
		Context: map[string][]string{"requiredGranularScopes": scopes[:1]}}
}

// resolveType resolves an object type name of a request within the
// token's account: a standard type, or one of the account's custom
// objects when the server stores schemas.
func resolveType(r *http.Request, name string) (spoke.ObjectType, error) {
	if t, ok := spoke.LookupObjectType(name); ok {
		return t, nil
	}
	types, _ := r.Context().Value(typesKey).(spoke.ObjectTypeService)
	tok := tokenFrom(r.Context())
	if types == nil || tok == nil {
		return spoke.ObjectType{}, spoke.UnknownObjectType(name)
	}
	return types.ObjectType(r.Context(), tok.AccountID, name)
}

// objectScope lists the scopes of which a token needs one to read or
// write records of t.
func objectScope(t spoke.ObjectType, write bool) []string {
	if write {
		return t.WriteScopes
	}
	return t.ReadScopes
}

// schemaScope lists the scopes of which a token needs one to read or
// write t's property definitions.
func schemaScope(t spoke.ObjectType, write bool) []string {
	if write {
		return t.SchemaWriteScopes
	}
	return t.SchemaReadScopes
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	err    error // an internal error, logged by the middleware
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}
