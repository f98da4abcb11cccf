package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// Trigger evaluates, for a record write, the LIST_BASED criteria of the
// enabled flows of its type, and returns the flows the record starts to
// meet, and the EVENT_BASED flows one of whose events the change raised
// (see eventTrigger). A write made by a flow never enrolls the record in that same flow,
// so a flow's own writes cannot loop it.
func (e *Engine) Trigger(ch spoke.RecordChange) []spoke.EnrollmentTrigger {
	ctx := context.Background()
	flows, err := e.cache.listBased(ctx, ch.AccountID, ch.ObjectType)
	if err != nil || len(flows) == 0 {
		if err != nil {
			e.Logger.Error("load flow triggers", "err", err)
		}
		return nil
	}
	if ch.List != nil && e.Lists == nil {
		return nil // no membership is known, so none can change a criterion
	}
	if ch.List != nil {
		// A list membership change: only criteria that test membership
		// can start to hold, so the other flows are not evaluated (and
		// with none, the store does not read the records at all).
		flows = membershipFlows(flows)
		if len(flows) == 0 {
			return nil
		}
		if ch.After == nil {
			out := make([]spoke.EnrollmentTrigger, 0, len(flows))
			for _, f := range flows {
				out = append(out, spoke.EnrollmentTrigger{FlowID: f.ID, RevisionID: f.RevisionID})
			}
			return out
		}
	}
	defs, err := e.definitions(ctx, ch.AccountID, ch.ObjectType)
	if err != nil {
		e.Logger.Error("load property definitions for triggers", "err", err)
		return nil
	}
	t, err := e.objectType(ctx, ch.AccountID, ch.ObjectType)
	if err != nil {
		e.Logger.Error("resolve object type for triggers", "objectType", ch.ObjectType, "err", err)
		return nil
	}
	now := e.Now()
	afterRec := &spoke.Record{ID: ch.RecordID, ObjectType: t.Name, Properties: ch.After, CreatedAt: ch.CreatedAt, UpdatedAt: ch.UpdatedAt}
	// A membership change is not committed yet, and the list store reads
	// committed memberships: the change's list is given its membership
	// after and before the change.
	var afterIn, beforeIn map[string]bool
	if ch.List != nil {
		afterIn, beforeIn = map[string]bool{ch.List.ListID: ch.List.Added}, map[string]bool{ch.List.ListID: !ch.List.Added}
	}
	afterEnv := e.withLists(ctx, ch.AccountID, afterRec, flow.Env{Get: values(t, ch.RecordID, ch.After, ch.CreatedAt, ch.UpdatedAt), Defs: defs, Now: now, Memberships: afterIn})
	var beforeEnv flow.Env
	if ch.Before != nil {
		beforeRec := &spoke.Record{ID: ch.RecordID, ObjectType: t.Name, Properties: ch.Before, CreatedAt: ch.CreatedAt, UpdatedAt: ch.BeforeUpdatedAt}
		beforeEnv = e.withLists(ctx, ch.AccountID, beforeRec, flow.Env{Get: values(t, ch.RecordID, ch.Before, ch.CreatedAt, ch.BeforeUpdatedAt), Defs: defs, Now: now, Memberships: beforeIn})
	}
	var out []spoke.EnrollmentTrigger
	for _, f := range flows {
		if ch.Source.Type == spoke.SourceAutomation && (ch.Source.ID == f.ID || spoke.RevertedFlow(ch.Source.ID) == f.ID) {
			continue // the flow's own write, or a revert of its writes
		}
		ec := f.EnrollmentCriteria
		if ec.Type == spoke.EnrollEvent {
			if ev, ok := eventTrigger(f, ch, afterEnv); ok {
				out = append(out, spoke.EnrollmentTrigger{FlowID: f.ID, RevisionID: f.RevisionID, ReEnroll: ec.ShouldReEnroll, Staged: f.Rollout != nil, Event: ev})
			}
			continue
		}
		if ch.Event != nil {
			continue // an association or webhook changes no value
		}
		after, err := afterEnv.Evaluate(ec.ListFilterBranch)
		if err != nil || !after {
			continue
		}
		starts := ch.Before == nil
		if !starts {
			before, err := beforeEnv.Evaluate(ec.ListFilterBranch)
			starts = err == nil && !before
		}
		if len(ec.ReEnrollmentTriggersFilterBranches) == 0 {
			if starts {
				out = append(out, spoke.EnrollmentTrigger{FlowID: f.ID, RevisionID: f.RevisionID, ReEnroll: ec.ShouldReEnroll, Staged: f.Rollout != nil})
			}
			continue
		}
		// With re-enrollment triggers, a record that meets the criteria
		// enrolls the first time it starts to meet them, and again only
		// when one of the triggers starts to hold (HubSpot's "re-enroll
		// when any of these happen").
		if ec.ShouldReEnroll && triggered(ec.ReEnrollmentTriggersFilterBranches, afterEnv, beforeEnv, ch.Before != nil) {
			out = append(out, spoke.EnrollmentTrigger{FlowID: f.ID, RevisionID: f.RevisionID, ReEnroll: true, Staged: f.Rollout != nil})
		} else if starts {
			out = append(out, spoke.EnrollmentTrigger{FlowID: f.ID, RevisionID: f.RevisionID, ReEnroll: false, Staged: f.Rollout != nil})
		}
	}
	return out
}

// membershipFlows returns the LIST_BASED flows whose criteria or
// re-enrollment triggers have an IN_LIST filter (either operator): the ones a
// list membership change can enroll a record in. Any list filter counts,
// not only one naming the changed list, since a dynamic list's filters may
// name it.
func membershipFlows(flows []*spoke.Flow) []*spoke.Flow {
	var out []*spoke.Flow
	for _, f := range flows {
		ec := f.EnrollmentCriteria
		if ec.Type != spoke.EnrollListBased {
			continue
		}
		mentions := hasListFilter(ec.ListFilterBranch)
		for i := range ec.ReEnrollmentTriggersFilterBranches {
			mentions = mentions || hasListFilter(&ec.ReEnrollmentTriggersFilterBranches[i])
		}
		if mentions {
			out = append(out, f)
		}
	}
	return out
}

// triggered reports whether a re-enrollment trigger starts to hold with a
// write: it holds after and did not before (or the record is new).
func triggered(branches []spoke.FilterBranch, after, before flow.Env, hadBefore bool) bool {
	for i := range branches {
		ok, err := after.Evaluate(&branches[i])
		if err != nil || !ok {
			continue
		}
		if !hadBefore {
			return true
		}
		if was, err := before.Evaluate(&branches[i]); err == nil && !was {
			return true
		}
	}
	return false
}

// values reads a record's properties for filter evaluation, the computed
// ones (hs_object_id, createdate, lastmodifieddate) included, as
// Record.Value does for allMatching and branches.
func values(t spoke.ObjectType, id int64, props map[string]string, created, updated time.Time) func(string) (string, bool) {
	rec := &spoke.Record{ID: id, ObjectType: t.Name, Properties: props, CreatedAt: created, UpdatedAt: updated}
	return func(name string) (string, bool) {
		v, ok := rec.Value(t, name)
		return v, ok && v != ""
	}
}

// Enroll enrolls the given records in an enabled flow.
func (e *Engine) Enroll(ctx context.Context, account int64, flowID string, ids []int64) (*spoke.EnrollResult, error) {
	f, t, err := e.enrollable(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	return e.Store.Enroll(ctx, account, f, t.Name, dedupe(ids), reEnroll(f))
}

// dedupe drops repeated ids, keeping the first of each, so a record listed
// twice is enrolled once and not also reported as skipped.
func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func reEnroll(f *spoke.Flow) bool {
	return f.EnrollmentCriteria != nil && f.EnrollmentCriteria.ShouldReEnroll
}

func (e *Engine) enrollable(ctx context.Context, account int64, flowID string) (*spoke.Flow, spoke.ObjectType, error) {
	f, err := e.Flows.GetFlow(ctx, account, flowID)
	if err != nil {
		return nil, spoke.ObjectType{}, err
	}
	if !f.IsEnabled {
		return nil, spoke.ObjectType{}, spoke.Invalidf("Flow %s is not enabled; only enabled flows enroll records. Set isEnabled to true first.", flowID)
	}
	t, err := e.objectType(ctx, account, f.ObjectTypeID)
	if missingType(err) {
		return nil, spoke.ObjectType{}, spoke.Invalidf("Flow %s has an unsupported objectTypeId %s.", flowID, f.ObjectTypeID)
	}
	if err != nil {
		return nil, spoke.ObjectType{}, err
	}
	return f, t, nil
}

// EnrollAllMatching enrolls every live record that meets the flow's
// LIST_BASED criteria now (every record, for a MANUAL flow).
func (e *Engine) EnrollAllMatching(ctx context.Context, account int64, flowID string) (*spoke.EnrollResult, error) {
	f, t, err := e.enrollable(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	return e.eachMatching(ctx, account, f, t, func(ids []int64) (*spoke.EnrollResult, error) {
		return e.Store.EnrollKnown(ctx, account, f, t.Name, ids, reEnroll(f))
	})
}

// eachMatching calls enroll with each page of the live records that meet
// f's criteria and gathers the results.
func (e *Engine) eachMatching(ctx context.Context, account int64, f *spoke.Flow, t spoke.ObjectType, enroll func(ids []int64) (*spoke.EnrollResult, error)) (*spoke.EnrollResult, error) {
	var criteria *spoke.FilterBranch
	if f.EnrollmentCriteria != nil && f.EnrollmentCriteria.Type == spoke.EnrollListBased {
		criteria = f.EnrollmentCriteria.ListFilterBranch
	}
	defs, err := e.definitions(ctx, account, t.Name)
	if err != nil {
		return nil, err
	}
	// Read only the properties the criteria test. hs_object_id is computed,
	// not stored, so a MANUAL flow reads no stored value at all.
	only := []string{spoke.PropObjectID}
	if criteria != nil {
		only = append(only, criteria.Properties()...)
	}
	if hasListFilter(criteria) {
		only = nil // a dynamic list's filters may read any property
	}
	total := &spoke.EnrollResult{Enrolled: []int64{}, Skipped: map[int64]string{}}
	var after int64
	const page = 1000
	for {
		recs, more, err := e.Records.ListRecords(ctx, account, t.Name, spoke.ListOptions{Limit: page, After: after, Only: only})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t.Name, err)
		}
		ids := make([]int64, 0, len(recs))
		for _, r := range recs {
			after = r.ID
			if criteria != nil {
				ok, err := e.withLists(ctx, account, r, flow.Env{Get: func(n string) (string, bool) { return r.Value(t, n) }, Defs: defs, Now: e.Now()}).Evaluate(criteria)
				if err != nil {
					return nil, spoke.Invalidf("Flow %s criteria cannot be evaluated: %v", f.ID, err)
				}
				if !ok {
					continue
				}
			}
			ids = append(ids, r.ID)
		}
		if len(ids) > 0 {
			res, err := enroll(ids)
			if err != nil {
				return nil, err
			}
			total.Enrolled = append(total.Enrolled, res.Enrolled...)
			for id, why := range res.Skipped {
				total.Skipped[id] = why
			}
		}
		if !more {
			return total, nil
		}
	}
}

// RetryEnrollment resumes a failed enrollment at the action it failed at,
// on the flow's current revision, so a person who fixed the action's code
// retries with the fix. ENOTFOUND for an unknown flow or enrollment,
// EINVALID when the flow is off or its current revision no longer has the
// action, ECONFLICT when the enrollment has not failed.
func (e *Engine) RetryEnrollment(ctx context.Context, account int64, flowID string, enrollmentID int64) (*spoke.Enrollment, error) {
	f, _, err := e.enrollable(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	en, err := e.Store.RetryEnrollment(ctx, account, f, enrollmentID, e.Now())
	if err != nil {
		return nil, err
	}
	e.Wake()
	return en, nil
}
