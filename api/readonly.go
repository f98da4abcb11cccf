package api

import (
	"net/http"
	"path"
	"strings"

	"github.com/spokehq/spoke"
)

// ReadOnly wraps the API's handler so that it refuses every write with a
// 403 DRY_RUN: only GET and HEAD, and the POSTs that only read (search and
// batch/read), go through. Custom code run by a dry-run test action reaches
// Spoke's API through it, so that a dry run writes nothing, whatever the
// code calls.
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
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		p := path.Clean("/" + r.URL.Path)
		return strings.HasSuffix(p, "/search") || strings.HasSuffix(p, "/batch/read")
	}
	return false
}
