package api

import (
	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/lint"
)

// builtinWarnings are the save's warnings besides lint's, in the same
// shape: actions that need a HubSpot-only product, which run as SKIPPED,
// and enrollment events Spoke never raises.
func builtinWarnings(f *spoke.Flow) []flowWarning {
	var out []flowWarning
	for _, w := range flow.Warnings(f) {
		out = append(out, flowWarning{ActionID: w.ActionID, Finding: lint.Finding{Rule: w.Rule, Severity: lint.SeverityWarning, Message: w.Message}})
	}
	return out
}
