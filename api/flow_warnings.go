package api

import (
	"net/http"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// setFlowWarnings adds one Warning header (RFC 9111's 299, a
// persistent warning) per thing a person saving the flow should know:
// actions that need a HubSpot-only product, which run as SKIPPED, and
// enrollment events Spoke never raises. The body stays the flow, so a
// client that ignores headers sees HubSpot's response.
func setFlowWarnings(w http.ResponseWriter, f *spoke.Flow) {
	for _, msg := range flow.Warnings(f) {
		w.Header().Add("Warning", `299 spoke "`+strings.NewReplacer(`"`, `'`, "\n", " ", "\\", "/").Replace(msg)+`"`)
	}
}
