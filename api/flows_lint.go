package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/lint"
)

// FlowLinter checks the custom code of a flow; *lint.Linter implements it.
type FlowLinter interface {
	Flow(ctx context.Context, f *spoke.Flow) ([]lint.ActionFindings, error)
}

// flowWarning is one lint finding in the answer to a flow save: a Spoke
// extension, in the top-level "warnings" array next to HubSpot's fields.
type flowWarning struct {
	ActionID string `json:"actionId"`
	lint.Finding
}

// maxLintErrorsNamed bounds how many findings a refusal's message names
// (its details list them all).
const maxLintErrorsNamed = 5

// acknowledgesLint reports whether a flow body says "acknowledgeLint": true
// (flow.Parse keeps the key out of the stored document).
func acknowledgesLint(body []byte) bool {
	var b struct {
		AcknowledgeLint bool `json:"acknowledgeLint"`
	}
	_ = json.Unmarshal(body, &b) // the body has parsed as a flow already
	return b.AcknowledgeLint
}

// lintFlow checks f's custom code and returns its findings as warnings
// (an empty slice when there are none, nil when no linter is configured). When f
// is to be enabled and some finding is an error, it returns an EINVALID
// error naming them unless ack. A linter that fails is logged and does not
// stop the save.
func (s *Server) lintFlow(r *http.Request, f *spoke.Flow, ack bool) ([]flowWarning, error) {
	if s.Linter == nil {
		return nil, nil
	}
	warnings := []flowWarning{}
	found, err := s.Linter.Flow(r.Context(), f)
	if err != nil {
		s.Logger.Error("lint of a saved flow failed; saving without its findings", "err", err)
		return warnings, nil
	}
	var errs []flowWarning
	for _, a := range found {
		for _, fd := range a.Findings {
			w := flowWarning{ActionID: a.ActionID, Finding: fd}
			warnings = append(warnings, w)
			if fd.Severity == lint.SeverityError {
				errs = append(errs, w)
			}
		}
	}
	if f.IsEnabled && len(errs) > 0 && !ack {
		return nil, lintRefusal(errs)
	}
	return warnings, nil
}

// lintRefusal is the 400 that keeps a flow with lint errors off.
func lintRefusal(errs []flowWarning) error {
	var named []string
	var ids []string
	details := make([]spoke.ErrorDetail, 0, len(errs))
	for i, w := range errs {
		where := fmt.Sprintf("action %s line %d: %s", strconv.Quote(w.ActionID), w.Line, w.Rule)
		if i < maxLintErrorsNamed {
			named = append(named, where)
		}
		if !slices.Contains(ids, w.ActionID) {
			ids = append(ids, w.ActionID)
		}
		details = append(details, spoke.ErrorDetail{
			Message: where + ": " + w.Message,
			Code:    strings.ToUpper(strings.ReplaceAll(w.Rule, "-", "_")),
			In:      "sourceCode",
			Context: map[string][]string{"actionId": {w.ActionID}, "rule": {w.Rule},
				"line": {strconv.Itoa(w.Line)}, "column": {strconv.Itoa(w.Column)}},
		})
	}
	more := ""
	if len(errs) > maxLintErrorsNamed {
		more = fmt.Sprintf(" (and %d more)", len(errs)-maxLintErrorsNamed)
	}
	return &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR",
		Message: fmt.Sprintf("The flow cannot be turned on: its custom code has %d lint error(s): %s%s. Fix them, or send \"acknowledgeLint\": true to turn it on anyway.",
			len(errs), strings.Join(named, "; "), more),
		Context: map[string][]string{"actionId": ids},
		Details: details}
}

// writeSavedFlow answers a create or update: the flow as HubSpot returns it,
// plus the lint findings in "warnings" (left out when there is no linter,
// warnings is nil).
func (s *Server) writeSavedFlow(w http.ResponseWriter, status int, f *spoke.Flow, warnings []flowWarning) error {
	out, err := flowToWire(f)
	if err != nil {
		return err
	}
	if warnings != nil {
		if out["warnings"], err = json.Marshal(warnings); err != nil {
			return err
		}
	}
	writeJSON(w, status, out)
	return nil
}
