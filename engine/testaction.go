package engine

import (
	"context"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// TestAction runs one action of a flow against a record, as HubSpot's "Test
// action" does. With dryRun nothing is written: the writes are returned,
// webhooks are not sent, and custom code finds Spoke's API read-only.
// Without it the writes are made, with source AUTOMATION_PLATFORM. Quotas
// and rate limits do not apply, and no enrollment is created.
func (e *Engine) TestAction(ctx context.Context, account int64, flowID, actionID string, objectID int64, dryRun bool) (*spoke.TestResult, error) {
	f, err := e.Flows.GetFlow(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	act := f.ActionByID(actionID)
	if act == nil {
		return nil, spoke.NotFoundf("Flow %s has no action %s.", flowID, actionID)
	}
	t, err := e.objectType(ctx, account, f.ObjectTypeID)
	if missingType(err) {
		return nil, spoke.Invalidf("Flow %s has an unsupported objectTypeId %s.", flowID, f.ObjectTypeID)
	}
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(objectID, 10)
	recs, err := e.Records.GetRecords(ctx, account, t.Name, []string{id}, spoke.ReadOptions{})
	if err != nil {
		return nil, err
	}
	rec := recs[id]
	if rec == nil {
		return nil, spoke.ObjectNotFound(id)
	}
	en := &spoke.Enrollment{AccountID: account, FlowID: f.ID, RevisionID: f.RevisionID, ObjectType: t.Name, ObjectID: objectID,
		Status: spoke.EnrollmentActive, CurrentAction: actionID, Attempt: 1, Outputs: map[string]map[string]string{}}
	if dryRun && act.Type == spoke.ActionWebhook {
		return &spoke.TestResult{Status: "SUCCESS", OutputFields: map[string]any{}, Writes: map[string]string{}, DryRun: true, NextActionID: next(act.Connection),
			Logs: "dry run: the webhook to " + act.WebhookURL + " was not sent\n"}, nil
	}
	o := e.run(ctx, f, act, en, rec, dryRun)
	res := &spoke.TestResult{Status: "SUCCESS", OutputFields: map[string]any{}, Writes: map[string]string{}, DryRun: dryRun, NextActionID: o.next}
	if x := o.exec; x != nil {
		res.Logs, res.DurationMs, res.MemoryBytes = x.Logs, x.DurationMs, x.MemoryBytes
		if x.Runtime != "" {
			name, version, _ := strings.Cut(x.Runtime, " ")
			res.Runtime = &spoke.TestRuntime{Name: name, Version: version}
		}
	}
	// The outputs as the code returned them, as `spoke run` prints them
	// (the typed values are what later actions would see).
	for k, v := range o.rawOutputs {
		res.OutputFields[k] = v
	}
	if o.err != nil {
		res.Status, res.Error = "ERROR", o.err
		return res, nil
	}
	for k, v := range o.writes {
		res.Writes[k] = v
	}
	if !dryRun && len(o.writes) > 0 {
		out, err := e.Records.WriteRecords(ctx, account, t.Name, spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: o.writes}},
			spoke.WriteSource{Type: spoke.SourceAutomation, ID: f.ID, EnrollmentID: "test"})
		if err != nil {
			return nil, err
		}
		if out[0].Err != nil {
			res.Status, res.Error = "ERROR", &spoke.ActionError{Type: "WRITE_FAILED", Message: out[0].Err.Message}
		}
	}
	return res, nil
}
