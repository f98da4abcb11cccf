package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// Safe change (issue 11): revisions with authors, staged rollouts,
// reverts of a flow's writes, and the account's alert webhook.

// Safety is what the engine offers for rollouts, reverts and pre-flight
// figures; *engine.Engine implements it.
type Safety interface {
	PreflightEnroll(ctx context.Context, account int64, flowID string, ids []int64, allMatching bool) (*spoke.Preflight, error)
	RolloutStatus(ctx context.Context, account int64, flowID string) (*spoke.RolloutReport, error)
	AdvanceRollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error)
	AbortRollout(ctx context.Context, account int64, flowID, author string) (*spoke.Rollout, error)
	Revert(ctx context.Context, account int64, flowID string, req spoke.RevertRequest) (*spoke.RevertJob, error)
	RevertJob(ctx context.Context, account int64, flowID string, id int64) (*spoke.RevertJob, error)
}

// revisionRoutes serve a flow's revisions: list, diff and restore.
func (s *Server) revisionRoutes() []route {
	return []route{
		reads("GET /automation/v4/flows/{flowId}/revisions", s.listRevisions),
		reads("GET /automation/v4/flows/{flowId}/revisions/diff", s.diffRevisions),
		writes("POST /automation/v4/flows/{flowId}/revisions/{revisionId}/restore", s.restoreRevision),
	}
}

// safetyRoutes serve rollouts and reverts.
func (s *Server) safetyRoutes() []route {
	return []route{
		reads("GET /automation/v4/flows/{flowId}/rollout", s.getRollout),
		writes("POST /automation/v4/flows/{flowId}/rollout/advance", s.advanceRollout),
		writes("POST /automation/v4/flows/{flowId}/rollout/abort", s.abortRollout),
		writes("POST /automation/v4/flows/{flowId}/revert", s.revert),
		reads("GET /automation/v4/flows/{flowId}/revert/{revertId}", s.getRevert),
	}
}

// alertRoutes serve the account's alert webhook settings.
func (s *Server) alertRoutes() []route {
	return []route{
		reads("GET /automation/v4/settings/alerts", s.getAlerts),
		writes("PUT /automation/v4/settings/alerts", s.putAlerts),
	}
}

// saveInfo names who saves a flow revision (the token's name) and why
// (the optional ?message= of the request).
func saveInfo(r *http.Request) spoke.SaveInfo {
	info := spoke.SaveInfo{Message: r.URL.Query().Get("message")}
	if t := tokenFrom(r.Context()); t != nil {
		info.Author = t.Name
	}
	return info
}

type revisionWire struct {
	RevisionID string `json:"revisionId"`
	Author     string `json:"author"`
	Message    string `json:"message"`
	CreatedAt  string `json:"createdAt"`
	IsEnabled  bool   `json:"isEnabled"`
	Actions    int    `json:"actions"`
}

func (s *Server) listRevisions(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	after, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	list, more, err := s.Flows.ListFlowRevisions(r.Context(), account(r), r.PathValue("flowId"), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Results []revisionWire `json:"results"`
		Paging  *listPaging    `json:"paging,omitempty"`
	}{Results: []revisionWire{}}
	for _, rev := range list {
		out.Results = append(out.Results, revisionWire{RevisionID: rev.RevisionID, Author: rev.Author, Message: rev.Message,
			CreatedAt: spoke.FormatTime(rev.CreatedAt), IsEnabled: rev.IsEnabled, Actions: rev.Actions})
	}
	if more {
		out.Paging = s.nextPageLink(r, list[len(list)-1].RevisionID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) diffRevisions(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if from == "" || to == "" {
		return spoke.Invalidf("Give the two revisions to compare: ?from=1&to=2.")
	}
	id := r.PathValue("flowId")
	a, err := s.Flows.GetFlowRevision(r.Context(), account(r), id, from)
	if err != nil {
		return err
	}
	b, err := s.Flows.GetFlowRevision(r.Context(), account(r), id, to)
	if err != nil {
		return err
	}
	d, err := flow.Compare(a, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"flowId": id, "from": from, "to": to, "fieldsChanged": d.Fields,
		"actionsAdded": d.Added, "actionsRemoved": d.Removed, "actionsChanged": d.Changed})
	return nil
}

// restoreRevision saves an old revision's document as the flow's next
// revision. The flow's rollout, if it has one and is on, starts again.
func (s *Server) restoreRevision(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	id, revID := r.PathValue("flowId"), r.PathValue("revisionId")
	cur, err := s.Flows.GetFlow(r.Context(), account(r), id)
	if err != nil {
		return err
	}
	old, err := s.Flows.GetFlowRevision(r.Context(), account(r), id, revID)
	if err != nil {
		return err
	}
	f, err := flow.Parse(old.Raw)
	if err != nil {
		return err
	}
	// Properties or secrets the old revision used may be gone.
	if err := s.validateFlow(r, f); err != nil {
		return err
	}
	f.ID, f.RevisionID = id, cur.RevisionID
	f.Saved = saveInfo(r)
	if f.Saved.Message == "" {
		f.Saved.Message = "Restored revision " + old.RevisionID + "."
	}
	updated, err := s.Flows.UpdateFlow(r.Context(), account(r), f)
	if err != nil {
		return err
	}
	s.flowsChanged()
	return s.writeFlow(w, r, http.StatusOK, updated)
}

type rolloutWire struct {
	FlowID         string  `json:"flowId"`
	RevisionID     string  `json:"revisionId"`
	State          string  `json:"state"`
	Stage          int     `json:"stage"`     // 1-based; len(stages)+1 is "all"
	StageSize      *int    `json:"stageSize"` // null: all
	Stages         []int   `json:"stages"`
	MaxFailureRate float64 `json:"maxFailureRate"`
	Approval       string  `json:"approval"`
	Counts         struct {
		InStage   int `json:"inStage"`
		Running   int `json:"running"`
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
		Held      int `json:"held"`
	} `json:"counts"`
	FailureRate       float64         `json:"failureRate"`
	FailingExecutions []executionWire `json:"failingExecutions"`
	StartedAt         string          `json:"startedAt"`
	StageStartedAt    string          `json:"stageStartedAt"`
	UpdatedAt         string          `json:"updatedAt"`
}

func toRolloutWire(rep *spoke.RolloutReport) rolloutWire {
	ro := rep.Rollout
	out := rolloutWire{FlowID: ro.FlowID, RevisionID: ro.RevisionID, State: ro.State, Stage: ro.Stage + 1, Stages: ro.Config.Stages,
		MaxFailureRate: ro.Config.MaxFailureRate, Approval: ro.Config.Approval, FailingExecutions: []executionWire{},
		StartedAt: spoke.FormatTime(ro.StartedAt), StageStartedAt: spoke.FormatTime(ro.StageStartedAt), UpdatedAt: spoke.FormatTime(ro.UpdatedAt)}
	if out.Approval == "" {
		out.Approval = spoke.RolloutAuto
	}
	if n := ro.StageSize(); n >= 0 {
		out.StageSize = &n
	}
	c := rep.Counts
	out.Counts.InStage, out.Counts.Running, out.Counts.Completed, out.Counts.Failed, out.Counts.Held = c.Total, c.Running, c.Completed, c.Failed, c.Held
	if c.Finished() > 0 {
		out.FailureRate = float64(c.Failed) / float64(c.Finished())
	}
	for _, x := range rep.Failures {
		out.FailingExecutions = append(out.FailingExecutions, toExecutionWire(x))
	}
	return out
}

func (s *Server) safety() (Safety, error) {
	sf, ok := s.Engine.(Safety)
	if !ok {
		return nil, spoke.NotFoundf("Rollouts and reverts are not available on this server.")
	}
	return sf, nil
}

func (s *Server) getRollout(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	sf, err := s.safety()
	if err != nil {
		return err
	}
	rep, err := sf.RolloutStatus(r.Context(), account(r), r.PathValue("flowId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRolloutWire(rep))
	return nil
}

func (s *Server) advanceRollout(w http.ResponseWriter, r *http.Request) error {
	return s.moveRollout(w, r, func(sf Safety) error {
		_, err := sf.AdvanceRollout(r.Context(), account(r), r.PathValue("flowId"))
		return err
	})
}

func (s *Server) abortRollout(w http.ResponseWriter, r *http.Request) error {
	return s.moveRollout(w, r, func(sf Safety) error {
		_, err := sf.AbortRollout(r.Context(), account(r), r.PathValue("flowId"), saveInfo(r).Author)
		return err
	})
}

// moveRollout runs a rollout command and answers with the rollout's state.
func (s *Server) moveRollout(w http.ResponseWriter, r *http.Request, cmd func(Safety) error) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	sf, err := s.safety()
	if err != nil {
		return err
	}
	if err := cmd(sf); err != nil {
		return err
	}
	s.flowsChanged()
	return s.getRollout(w, r)
}

type revertWire struct {
	ID          string             `json:"id,omitempty"`
	FlowID      string             `json:"flowId"`
	Status      string             `json:"status"`
	DryRun      bool               `json:"dryRun"`
	Since       string             `json:"since"`
	Until       string             `json:"until"`
	RevisionID  string             `json:"revisionId,omitempty"`
	Properties  []string           `json:"properties,omitempty"`
	RevertID    string             `json:"revertOf,omitempty"`
	SourceID    string             `json:"sourceId,omitempty"`
	Total       int64              `json:"recordsTotal"`
	Done        int64              `json:"recordsProcessed"`
	Records     int64              `json:"recordsChanged"`
	Reverted    int64              `json:"valuesReverted"`
	Conflicts   int64              `json:"conflicts"`
	Sample      spoke.RevertSample `json:"sample"`
	Error       string             `json:"error,omitempty"`
	CreatedAt   string             `json:"createdAt,omitempty"`
	UpdatedAt   string             `json:"updatedAt,omitempty"`
	ProgressPct float64            `json:"progress"`
}

func toRevertWire(j *spoke.RevertJob, done int64) revertWire {
	out := revertWire{FlowID: j.FlowID, Status: j.Status, DryRun: j.Request.DryRun, Since: spoke.FormatTime(j.Request.Since),
		Until: spoke.FormatTime(j.Request.Until), RevisionID: j.Request.RevisionID, Properties: j.Request.Properties,
		Total: j.Total, Done: done, Records: j.Records, Reverted: j.Reverted, Conflicts: j.Conflicts, Sample: j.Sample, Error: j.Error}
	if out.Sample.Changes == nil {
		out.Sample.Changes = []spoke.RevertChange{}
	}
	if out.Sample.Conflicts == nil {
		out.Sample.Conflicts = []spoke.RevertConflict{}
	}
	if j.ID > 0 {
		out.ID = strconv.FormatInt(j.ID, 10)
		out.SourceID = spoke.RevertSourceID(j.ID, j.FlowID)
		out.CreatedAt, out.UpdatedAt = spoke.FormatTime(j.CreatedAt), spoke.FormatTime(j.UpdatedAt)
	}
	if j.Request.RevertID > 0 {
		out.RevertID = strconv.FormatInt(j.Request.RevertID, 10)
	}
	switch {
	case j.Status == spoke.RevertComplete:
		out.ProgressPct = 100
	case j.Total > 0:
		out.ProgressPct = float64(done) * 100 / float64(j.Total)
	}
	return out
}

func (s *Server) revert(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	sf, err := s.safety()
	if err != nil {
		return err
	}
	var in struct {
		Since      flexString `json:"since"`
		Until      flexString `json:"until"`
		RevisionID flexString `json:"revisionId"`
		Properties []string   `json:"properties"`
		RevertOf   flexString `json:"revertOf"`
		DryRun     *bool      `json:"dryRun"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	req := spoke.RevertRequest{RevisionID: string(in.RevisionID), Properties: in.Properties, DryRun: in.DryRun == nil || *in.DryRun}
	if in.Since == "" {
		return spoke.Invalidf("since is required: the start of the window whose writes to revert (ISO 8601 or epoch milliseconds).")
	}
	var ok bool
	if req.Since, ok = spoke.ParseTime(string(in.Since)); !ok {
		return spoke.Invalidf("since %q is not a time (ISO 8601 or epoch milliseconds).", in.Since)
	}
	if in.Until != "" {
		if req.Until, ok = spoke.ParseTime(string(in.Until)); !ok {
			return spoke.Invalidf("until %q is not a time (ISO 8601 or epoch milliseconds).", in.Until)
		}
	}
	if in.RevertOf != "" {
		if req.RevertID, err = strconv.ParseInt(string(in.RevertOf), 10, 64); err != nil || req.RevertID <= 0 {
			return spoke.Invalidf("revertOf must be the id of a revert of this flow, got %q.", in.RevertOf)
		}
	}
	j, err := sf.Revert(r.Context(), account(r), r.PathValue("flowId"), req)
	if err != nil {
		return err
	}
	if req.DryRun {
		writeJSON(w, http.StatusOK, toRevertWire(j, j.Total))
		return nil
	}
	w.Header().Set("Location", "/automation/v4/flows/"+url.PathEscape(j.FlowID)+"/revert/"+strconv.FormatInt(j.ID, 10))
	writeJSON(w, http.StatusAccepted, toRevertWire(j, 0))
	return nil
}

func (s *Server) getRevert(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	sf, err := s.safety()
	if err != nil {
		return err
	}
	raw := r.PathValue("revertId")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return spoke.NotFoundf("Flow %s has no revert %q.", r.PathValue("flowId"), raw)
	}
	j, err := sf.RevertJob(r.Context(), account(r), r.PathValue("flowId"), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRevertWire(j, j.Processed))
	return nil
}

type alertsWire struct {
	URL         string  `json:"url"`
	FailureRate float64 `json:"failureRate"`
	LastN       int     `json:"lastExecutions"`
	UpdatedAt   string  `json:"updatedAt,omitempty"`
}

func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	a, err := s.Alerts.AlertSettings(r.Context(), account(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, alertsWire{URL: a.URL, FailureRate: a.FailureRate, LastN: a.FailureWindow, UpdatedAt: spoke.FormatTime(a.UpdatedAt)})
	return nil
}

// putAlerts sets the alert webhook. The URL must be http(s) with a host;
// whether it may be reached is decided when an alert is sent, by the same
// egress rules as webhooks (no private addresses unless allowed).
func (s *Server) putAlerts(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		URL         string   `json:"url"`
		FailureRate *float64 `json:"failureRate"`
		LastN       *int     `json:"lastExecutions"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return spoke.Invalidf("url must be an http(s) URL with a host, got %q.", in.URL)
	}
	a := &spoke.AlertSettings{AccountID: account(r), URL: in.URL, FailureRate: spoke.DefaultAlertFailureRate, FailureWindow: spoke.DefaultAlertFailureWindow}
	if in.FailureRate != nil {
		if *in.FailureRate < 0 || *in.FailureRate > 1 {
			return spoke.Invalidf("failureRate must be between 0 and 1, got %v.", *in.FailureRate)
		}
		a.FailureRate = *in.FailureRate
	}
	if in.LastN != nil {
		if *in.LastN < 1 || *in.LastN > 10000 {
			return spoke.Invalidf("lastExecutions must be between 1 and 10000, got %d.", *in.LastN)
		}
		a.FailureWindow = *in.LastN
	}
	if err := s.Alerts.PutAlertSettings(r.Context(), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, alertsWire{URL: a.URL, FailureRate: a.FailureRate, LastN: a.FailureWindow, UpdatedAt: spoke.FormatTime(a.UpdatedAt)})
	return nil
}

func toExecutionWire(x *spoke.Execution) executionWire {
	return executionWire{ID: strconv.FormatInt(x.ID, 10), EnrollmentID: strconv.FormatInt(x.EnrollmentID, 10),
		ObjectID: strconv.FormatInt(x.ObjectID, 10), ActionID: x.ActionID, ActionType: x.ActionType, Attempt: x.Attempt, Status: x.Status,
		StartedAt: spoke.FormatTime(x.StartedAt), DurationMs: x.DurationMs, MemoryBytes: x.MemoryBytes, Runtime: x.Runtime,
		Inputs: x.Inputs, Outputs: x.Outputs, Logs: x.Logs, Error: x.Error}
}
