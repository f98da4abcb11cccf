package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// handlerFunc is an API handler that returns its error instead of writing
// it: it either writes the whole response and returns nil, or writes
// nothing and returns the error, which ServeHTTP writes as HubSpot's error
// envelope (the one mapping of errors to statuses is in errors.go).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (f handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		writeError(w, r, err)
	}
}

// route is one endpoint of the API. readOnly marks the routes that never
// write, the only ones ReadOnly lets through; it is set where the route is
// declared, beside its pattern, so that routing and the read-only decision
// go by the same pattern.
type route struct {
	pattern  string // a ServeMux pattern: "METHOD /path/{wildcard}"
	readOnly bool
	// public marks the routes that need no access token (health, and
	// inbound flow webhooks, which authenticate by the token in their
	// path); it is declared with the route, like readOnly.
	public  bool
	handler http.Handler
}

// reads declares a route that only reads.
func reads(pattern string, h handlerFunc) route {
	return route{pattern: pattern, readOnly: true, handler: h}
}

// writes declares a route that may write.
func writes(pattern string, h handlerFunc) route {
	return route{pattern: pattern, handler: h}
}

// public marks rt as served without an access token.
func public(rt route) route {
	rt.public = true
	return rt
}

// routeGroup is a set of routes and whether the server has the services
// their handlers call.
type routeGroup struct {
	served bool
	routes []route
}

// routeGroups lists every route of the API, served or not: Handler
// registers the served ones, ReadOnly knows them all. Metrics are not
// here: sandboxed code reaches the API, so spoke serve serves them on an
// address of their own (--metrics-addr) that the egress guard refuses.
func (s *Server) routeGroups() []routeGroup {
	engine := s.Engine != nil && s.EngineStore != nil
	return []routeGroup{
		{true, s.objectRoutes()},
		{true, s.propertyRoutes()},
		{true, s.associationRoutes()},
		{true, s.associationV3Routes()},
		{true, s.schemaRoutes()},
		{s.Owners != nil, s.ownerRoutes()},
		{s.Pipelines != nil, s.pipelineRoutes()},
		{s.Lists != nil, s.listRoutes()},
		{s.Flows != nil, s.flowRoutes()},
		{s.Flows != nil && s.FlowWebhooks != nil, s.flowWebhookRoutes()},
		{engine, s.engineRoutes()},
		{engine && s.Secrets != nil, s.secretRoutes()},
		{s.Flows != nil, s.revisionRoutes()},
		{engine, s.safetyRoutes()},
		{engine && s.Alerts != nil, s.alertRoutes()},
		{s.Retention != nil, s.retentionRoutes()},
		{true, []route{public(reads("GET /healthz", s.healthz))}},
	}
}

// healthz answers 200 while the server can serve, and the store's error
// (503 while the database is unavailable) when Health fails.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	if s.Health != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if err := s.Health(ctx); err != nil {
			if spoke.ErrorCode(err) == spoke.EINTERNAL {
				// A database that does not answer in time is as
				// unavailable as one that refuses.
				err = spoke.DatabaseUnavailable(err)
			}
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// healthTimeout bounds the database check of /healthz.
const healthTimeout = 2 * time.Second

// routeTable matches requests to the patterns of all the API's routes and
// knows which of them only read.
type routeTable struct {
	mux      *http.ServeMux // every pattern; its handlers are never called
	readOnly map[string]bool
}

// allRoutes is the table of every route the API declares, served by a
// given Server or not.
var allRoutes = sync.OnceValue(func() *routeTable {
	t := &routeTable{mux: http.NewServeMux(), readOnly: map[string]bool{}}
	for _, g := range new(Server).routeGroups() {
		for _, rt := range g.routes {
			t.mux.Handle(rt.pattern, http.NotFoundHandler())
			t.readOnly[rt.pattern] = rt.readOnly
		}
	}
	return t
})

// match returns the pattern of the route that serves r, as the API's
// middleware and ServeMux route it, or "" if none does.
func (t *routeTable) match(r *http.Request) string {
	u := *r.URL
	c := *r
	c.URL = &u
	canonicalize(&c)
	_, pattern := t.mux.Handler(&c)
	return pattern
}
