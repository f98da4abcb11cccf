package api

import (
	"net/http"

	"github.com/spokehq/spoke"
)

// ReadOnly wraps the API's handler so that it refuses every write with a
// 403 DRY_RUN: only the routes declared with reads (GET and HEAD, and the
// POSTs that only read: search and batch/read) go through. Custom code run
// by a dry-run test action reaches Spoke's API through it, so that a dry
// run writes nothing, whatever the code calls.
//
// The decision goes by the pattern of the route the API would serve the
// request with, so it cannot disagree with routing. A request no route
// matches gets the API's 404 if it is a GET or HEAD, else the 403.
func ReadOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if readOnlyRequest(r) {
			h.ServeHTTP(w, r)
			return
		}
		writeError(w, r, &spoke.Error{Code: spoke.EFORBIDDEN, Category: "DRY_RUN",
			Message: "This code runs in a dry-run test: Spoke's API refuses " + r.Method + " " + r.URL.Path +
				" because it would write. Test the action with \"dryRun\": false to let the code write."})
	})
}

func readOnlyRequest(r *http.Request) bool {
	t := allRoutes()
	if pattern := t.match(r); pattern != "" {
		return t.readOnly[pattern]
	}
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}
