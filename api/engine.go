package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// Workflows is what the workflow engine offers the HTTP layer.
type Workflows interface {
	Enroll(ctx context.Context, account int64, flowID string, ids []int64) (*spoke.EnrollResult, error)
	EnrollAllMatching(ctx context.Context, account int64, flowID string) (*spoke.EnrollResult, error)
	// RetryEnrollment resumes a failed enrollment at the action it failed at.
	RetryEnrollment(ctx context.Context, account int64, flowID string, enrollmentID int64) (*spoke.Enrollment, error)
	TestAction(ctx context.Context, account int64, flowID, actionID string, objectID int64, dryRun bool) (*spoke.TestResult, error)
	// FlowsChanged tells the engine a flow was created, replaced or deleted.
	FlowsChanged()
	// CodeLimitChanged tells the engine an account's quota changed.
	CodeLimitChanged(account int64)
}

// engineRoutes serves enrollment, executions, usage and test runs.
func (s *Server) engineRoutes() []route {
	return []route{
		writes("POST /automation/v4/flows/{flowId}/enrollments", s.enroll),
		reads("GET /automation/v4/flows/{flowId}/enrollments", s.listEnrollments),
		writes("POST /automation/v4/flows/{flowId}/enrollments/{enrollmentId}/retry", s.retryEnrollment),
		reads("GET /automation/v4/flows/{flowId}/executions", s.listExecutions),
		writes("POST /automation/v4/flows/{flowId}/actions/{actionId}/test", s.testAction),
		reads("GET /automation/v4/usage", s.usage),
		writes("PUT /automation/v4/usage/limit", s.setUsageLimit),
	}
}

// secretRoutes serves the account's secrets.
func (s *Server) secretRoutes() []route {
	return []route{
		writes("PUT /automation/v4/secrets/{name}", s.putSecret),
		reads("GET /automation/v4/secrets", s.listSecrets),
		writes("DELETE /automation/v4/secrets/{name}", s.deleteSecret),
	}
}

type skippedWire struct {
	ObjectID string `json:"objectId"`
	Reason   string `json:"reason"`
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		ObjectIDs     []flexString `json:"objectIds"`
		AllMatching   bool         `json:"allMatching"`
		DryRun        bool         `json:"dryRun"`
		AllowQueueing bool         `json:"allowQueueing"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	flowID := r.PathValue("flowId")
	var ids []int64
	var err error
	switch {
	case in.AllMatching && len(in.ObjectIDs) > 0:
		err = spoke.Invalidf("Give either objectIds or allMatching, not both.")
	case in.AllMatching:
	case len(in.ObjectIDs) == 0:
		err = spoke.Invalidf("Give objectIds (a list of record ids) or \"allMatching\": true.")
	case len(in.ObjectIDs) > 10000:
		err = spoke.Invalidf("At most 10000 objectIds per request; use allMatching for more.")
	default:
		ids = make([]int64, len(in.ObjectIDs))
		for i, v := range in.ObjectIDs {
			if ids[i], err = strconv.ParseInt(string(v), 10, 64); err != nil || ids[i] <= 0 {
				err = spoke.Invalidf("objectIds[%d] = %q is not a record id.", i, v)
				break
			}
		}
	}
	if err != nil {
		return err
	}
	if in.DryRun || !in.AllowQueueing {
		p, err := s.preflight(r, flowID, ids, in.AllMatching, in.DryRun)
		if err != nil {
			return err
		}
		if in.DryRun {
			writeJSON(w, http.StatusOK, toPreflightWire(flowID, p))
			return nil
		}
		if p != nil && p.Exceeds {
			return &spoke.Error{Code: spoke.ECONFLICT, Category: "QUOTA_EXCEEDED",
				Message: fmt.Sprintf("This enrollment needs up to %d custom code executions and %d remain this month (%s); it would run out after %d records. Send \"allowQueueing\": true to enroll anyway (the rest wait for the quota), raise the limit, or enroll fewer records.",
					p.CodeExecutions, p.Remaining, p.Usage.Period, p.RunsOutAfter)}
		}
	}
	var res *spoke.EnrollResult
	if in.AllMatching {
		res, err = s.Engine.EnrollAllMatching(r.Context(), account(r), flowID)
	} else {
		res, err = s.Engine.Enroll(r.Context(), account(r), flowID, ids)
	}
	if err != nil {
		return err
	}
	out := struct {
		FlowID   string        `json:"flowId"`
		Enrolled []string      `json:"enrolled"`
		Skipped  []skippedWire `json:"skipped"`
	}{FlowID: flowID, Enrolled: make([]string, len(res.Enrolled)), Skipped: []skippedWire{}}
	for i, id := range res.Enrolled {
		out.Enrolled[i] = strconv.FormatInt(id, 10)
	}
	out.Skipped = skippedList(res)
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// preflight returns the cost of a bulk enrollment. For a real enrollment
// (not dryRun) it is skipped, and nil returned, when the account's quota
// is unlimited, so the check costs nothing then.
func (s *Server) preflight(r *http.Request, flowID string, ids []int64, all, dryRun bool) (*spoke.Preflight, error) {
	sf, err := s.safety()
	if err != nil {
		if dryRun {
			return nil, err
		}
		return nil, nil
	}
	if !dryRun {
		u, err := s.EngineStore.Usage(r.Context(), account(r), spoke.Period(s.now()))
		if err != nil {
			return nil, err
		}
		if u.Limit < 0 {
			return nil, nil
		}
	}
	return sf.PreflightEnroll(r.Context(), account(r), flowID, ids, all)
}

type preflightWire struct {
	FlowID                  string        `json:"flowId"`
	DryRun                  bool          `json:"dryRun"`
	WouldEnroll             int           `json:"wouldEnroll"`
	Skipped                 []skippedWire `json:"skipped"`
	CodeExecutionsPerRecord int           `json:"customCodeExecutionsPerRecord"`
	CodeExecutions          int64         `json:"customCodeExecutions"`
	Period                  string        `json:"period"`
	Used                    int64         `json:"quotaUsed"`
	Limit                   any           `json:"quotaLimit"`
	Remaining               any           `json:"quotaRemaining"`
	Exceeds                 bool          `json:"quotaWouldRunOut"`
	RunsOutAfter            *int64        `json:"quotaRunsOutAfterRecords,omitempty"`
	ResetsAt                string        `json:"quotaResetsAt"`
}

func toPreflightWire(flowID string, p *spoke.Preflight) preflightWire {
	out := preflightWire{FlowID: flowID, DryRun: true, WouldEnroll: len(p.Result.Enrolled), Skipped: skippedList(p.Result),
		CodeExecutionsPerRecord: p.CodeExecutionsPerRecord, CodeExecutions: p.CodeExecutions, Period: p.Usage.Period,
		Used: p.Usage.Executions, Exceeds: p.Exceeds, ResetsAt: spoke.FormatTime(p.ResetsAt)}
	if p.Usage.Limit >= 0 {
		out.Limit, out.Remaining = p.Usage.Limit, p.Remaining
	}
	if p.Exceeds {
		out.RunsOutAfter = &p.RunsOutAfter
	}
	return out
}

func skippedList(res *spoke.EnrollResult) []skippedWire {
	out := []skippedWire{}
	skipped := make([]int64, 0, len(res.Skipped))
	for id := range res.Skipped {
		skipped = append(skipped, id)
	}
	sort.Slice(skipped, func(i, j int) bool { return skipped[i] < skipped[j] })
	for _, id := range skipped {
		out = append(out, skippedWire{ObjectID: strconv.FormatInt(id, 10), Reason: res.Skipped[id]})
	}
	return out
}

// retryEnrollment answers 202 with the enrollment, ACTIVE again at the
// action it failed at.
func (s *Server) retryEnrollment(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	raw := r.PathValue("enrollmentId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return spoke.NotFoundf("Flow %s has no enrollment %q.", r.PathValue("flowId"), raw)
	}
	e, err := s.Engine.RetryEnrollment(r.Context(), account(r), r.PathValue("flowId"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, toEnrollmentWire(e))
	return nil
}

type enrollmentWire struct {
	ID              string             `json:"id"`
	FlowID          string             `json:"flowId"`
	RevisionID      string             `json:"revisionId"`
	ObjectTypeID    string             `json:"objectTypeId"`
	ObjectID        string             `json:"objectId"`
	Status          string             `json:"status"`
	CurrentActionID string             `json:"currentActionId,omitempty"`
	WaitReason      string             `json:"waitReason,omitempty"`
	NextRunAt       string             `json:"nextRunAt,omitempty"`
	Attempt         int                `json:"attempt"`
	Error           *spoke.ActionError `json:"error,omitempty"`
	CreatedAt       string             `json:"createdAt"`
	UpdatedAt       string             `json:"updatedAt"`
	CompletedAt     string             `json:"completedAt,omitempty"`
}

func pageParams(r *http.Request) (int64, int, error) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return 0, 0, err
	}
	after, err := afterParam(r)
	if err != nil {
		return 0, 0, err
	}
	return after, limit, nil
}

// flowExists answers 404 for an unknown flow id.
func (s *Server) flowExists(r *http.Request) error {
	if s.Flows == nil {
		return nil
	}
	_, err := s.Flows.GetFlow(r.Context(), account(r), r.PathValue("flowId"))
	return err
}

func (s *Server) listEnrollments(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err == nil {
		err = s.flowExists(r)
	}
	if err != nil {
		return err
	}
	list, more, err := s.EngineStore.ListEnrollments(r.Context(), account(r), r.PathValue("flowId"), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Results []enrollmentWire `json:"results"`
		Paging  *nextPage        `json:"paging,omitempty"`
	}{Results: []enrollmentWire{}}
	for _, e := range list {
		out.Results = append(out.Results, toEnrollmentWire(e))
	}
	if more {
		out.Paging = &nextPage{}
		out.Paging.Next.After = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func toEnrollmentWire(e *spoke.Enrollment) enrollmentWire {
	// A custom object type's stored name is its object type id.
	typeID := e.ObjectType
	if t, ok := spoke.LookupObjectType(e.ObjectType); ok {
		typeID = t.ID
	}
	ew := enrollmentWire{ID: strconv.FormatInt(e.ID, 10), FlowID: e.FlowID, RevisionID: e.RevisionID, ObjectTypeID: typeID,
		ObjectID: strconv.FormatInt(e.ObjectID, 10), Status: e.Status, CurrentActionID: e.CurrentAction, WaitReason: e.WaitReason,
		Attempt: e.Attempt, Error: e.Error, CreatedAt: spoke.FormatTime(e.CreatedAt), UpdatedAt: spoke.FormatTime(e.UpdatedAt)}
	if e.Status == spoke.EnrollmentActive {
		ew.NextRunAt = spoke.FormatTime(e.RunAt)
	}
	if !e.CompletedAt.IsZero() {
		ew.CompletedAt = spoke.FormatTime(e.CompletedAt)
	}
	return ew
}

type executionWire struct {
	ID           string             `json:"id"`
	EnrollmentID string             `json:"enrollmentId"`
	ObjectID     string             `json:"objectId"`
	ActionID     string             `json:"actionId"`
	ActionType   string             `json:"actionType"`
	Attempt      int                `json:"attempt"`
	Status       string             `json:"status"`
	StartedAt    string             `json:"startedAt"`
	DurationMs   float64            `json:"durationMs"`
	MemoryBytes  int64              `json:"memoryBytes"`
	Runtime      string             `json:"runtime,omitempty"`
	Inputs       map[string]any     `json:"inputs"`
	Outputs      map[string]any     `json:"outputs"`
	Logs         string             `json:"logs"`
	Error        *spoke.ActionError `json:"error,omitempty"`
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err == nil {
		err = s.flowExists(r)
	}
	if err != nil {
		return err
	}
	q := spoke.ExecutionQuery{After: after, Limit: limit, ActionID: r.URL.Query().Get("actionId"), Status: strings.ToUpper(r.URL.Query().Get("status"))}
	if v := r.URL.Query().Get("objectId"); v != "" {
		if q.ObjectID, err = strconv.ParseInt(v, 10, 64); err != nil || q.ObjectID <= 0 {
			return spoke.Invalidf("objectId must be a record id, got %q.", v)
		}
	}
	list, more, err := s.EngineStore.ListExecutions(r.Context(), account(r), r.PathValue("flowId"), q)
	if err != nil {
		return err
	}
	out := struct {
		Results []executionWire `json:"results"`
		Paging  *nextPage       `json:"paging,omitempty"`
	}{Results: []executionWire{}}
	for _, x := range list {
		out.Results = append(out.Results, toExecutionWire(x))
	}
	if more {
		out.Paging = &nextPage{}
		out.Paging.Next.After = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) testAction(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		ObjectID flexString `json:"objectId"`
		DryRun   *bool      `json:"dryRun"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	id, err := strconv.ParseInt(string(in.ObjectID), 10, 64)
	if err != nil || id <= 0 {
		return spoke.Invalidf("objectId must be the id of the record to test the action on.")
	}
	dry := in.DryRun == nil || *in.DryRun
	res, err := s.Engine.TestAction(r.Context(), account(r), r.PathValue("flowId"), r.PathValue("actionId"), id, dry)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	u, err := s.EngineStore.Usage(r.Context(), account(r), spoke.Period(s.now()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, usageWire(u))
	return nil
}

func usageWire(u *spoke.Usage) map[string]any {
	limit := any(u.Limit)
	if u.Limit < 0 {
		limit = nil
	}
	return map[string]any{"period": u.Period, "customCodeExecutions": u.Executions, "limit": limit, "unlimited": u.Limit < 0}
}

func (s *Server) setUsageLimit(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		Limit     *int64 `json:"limit"`
		Unlimited bool   `json:"unlimited"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	limit := int64(-1)
	switch {
	case in.Unlimited && in.Limit != nil:
		return spoke.Invalidf("Give either \"limit\": N or \"unlimited\": true, not both.")
	case in.Unlimited:
	case in.Limit == nil:
		return spoke.Invalidf("Give \"limit\": N (executions per month) or \"unlimited\": true.")
	default:
		limit = *in.Limit
	}
	if err := s.EngineStore.SetCodeLimit(r.Context(), account(r), limit); err != nil {
		return err
	}
	s.Engine.CodeLimitChanged(account(r))
	return s.usage(w, r)
}

type secretWire struct {
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		Value *string `json:"value"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return spoke.Invalidf("Give the secret as {\"value\": \"...\"}.")
	}
	sec, err := s.Secrets.PutSecret(r.Context(), account(r), r.PathValue("name"), *in.Value)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretWire{Name: sec.Name, CreatedAt: spoke.FormatTime(sec.CreatedAt), UpdatedAt: spoke.FormatTime(sec.UpdatedAt)})
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	list, err := s.Secrets.ListSecrets(r.Context(), account(r))
	if err != nil {
		return err
	}
	out := []secretWire{}
	for _, sec := range list {
		out = append(out, secretWire{Name: sec.Name, CreatedAt: spoke.FormatTime(sec.CreatedAt), UpdatedAt: spoke.FormatTime(sec.UpdatedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	if err := s.Secrets.DeleteSecret(r.Context(), account(r), r.PathValue("name")); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
