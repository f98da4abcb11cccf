package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// flowRoutes serves the automation v4 flows API (reference §5.1).
func (s *Server) flowRoutes() []route {
	return []route{
		reads("GET /automation/v4/flows", s.listFlows),
		writes("POST /automation/v4/flows", s.createFlow),
		reads("POST /automation/v4/flows/batch/read", s.batchReadFlows),
		reads("POST /automation/v4/workflow-id-mappings/batch/read", s.workflowIDMappings),
		reads("GET /automation/v4/flows/{flowId}", s.getFlow),
		writes("PUT /automation/v4/flows/{flowId}", s.updateFlow),
		writes("DELETE /automation/v4/flows/{flowId}", s.deleteFlow),
		reads("GET /automation/v4/flows/{flowId}/revisions/{revisionId}", s.getFlowRevision),
	}
}

// flowToWire is ApiFlow: the stored document with the read-only id,
// revisionId, createdAt and updatedAt.
func flowToWire(f *spoke.Flow) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(f.Raw) > 0 {
		if err := json.Unmarshal(f.Raw, &m); err != nil {
			return nil, err
		}
	}
	set := func(k, v string) { m[k], _ = json.Marshal(v) }
	set("id", f.ID)
	set("revisionId", f.RevisionID)
	set("createdAt", spoke.FormatTime(f.CreatedAt))
	set("updatedAt", spoke.FormatTime(f.UpdatedAt))
	return m, nil
}

// flowListing is ApiFlowListing, the short form in lists.
type flowListing struct {
	ID           string `json:"id"`
	IsEnabled    bool   `json:"isEnabled"`
	FlowType     string `json:"flowType"`
	ObjectTypeID string `json:"objectTypeId"`
	RevisionID   string `json:"revisionId"`
	CreatedAt    string `json:"createdAt"`
	UpdatedAt    string `json:"updatedAt"`
	Name         string `json:"name,omitempty"`
	UUID         string `json:"uuid,omitempty"`
}

func flowToListing(f *spoke.Flow) flowListing {
	var extra struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(f.Raw, &extra)
	return flowListing{ID: f.ID, IsEnabled: f.IsEnabled, FlowType: f.FlowType, ObjectTypeID: f.ObjectTypeID, RevisionID: f.RevisionID,
		CreatedAt: spoke.FormatTime(f.CreatedAt), UpdatedAt: spoke.FormatTime(f.UpdatedAt), Name: f.Name, UUID: extra.UUID}
}

func (s *Server) writeFlow(w http.ResponseWriter, r *http.Request, status int, f *spoke.Flow) error {
	out, err := flowToWire(f)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// permissive answers yes to every question; it stands in when the server
// has no FlowChecker, so the rest of validation still runs.
type permissive struct{}

func (permissive) PropertyExists(context.Context, int64, string, string) (bool, error) {
	return true, nil
}
func (permissive) SecretSize(context.Context, int64, string) (int, bool, error) { return 0, true, nil }

// parseFlow reads and parses a flow body, and reports whether it says
// "acknowledgeLint": true.
func (s *Server) parseFlow(r *http.Request) (*spoke.Flow, bool, error) {
	var body json.RawMessage
	if err := decode(r, &body); err != nil {
		return nil, false, err
	}
	f, err := flow.Parse(body)
	if err != nil {
		return nil, false, err
	}
	return f, acknowledgesLint(body), nil
}

func (s *Server) validateFlow(r *http.Request, f *spoke.Flow) error {
	var c flow.Checker = permissive{}
	if s.FlowChecker != nil {
		c = s.FlowChecker
	}
	return flow.Validate(r.Context(), account(r), f, c)
}

func (s *Server) flowsChanged() {
	if s.Engine != nil {
		s.Engine.FlowsChanged()
	}
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 100)
	if err != nil {
		return err
	}
	// The store takes the cursor as sent; it must still be a flow id.
	if _, err := afterParam(r); err != nil {
		return err
	}
	flows, more, err := s.Flows.ListFlows(r.Context(), account(r), r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	out := struct {
		Results []flowListing `json:"results"`
		Paging  *listPaging   `json:"paging,omitempty"`
	}{Results: make([]flowListing, 0, len(flows))}
	for _, f := range flows {
		out.Results = append(out.Results, flowToListing(f))
	}
	if more && len(flows) > 0 {
		out.Paging = s.nextPageLink(r, flows[len(flows)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createFlow(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	f, ack, err := s.parseFlow(r)
	if err != nil {
		return err
	}
	if err := s.validateFlow(r, f); err != nil {
		return err
	}
	warnings, err := s.lintFlow(r, f, ack)
	if err != nil {
		return err
	}
	warnings = append(warnings, builtinWarnings(f)...)
	f.ID, f.RevisionID = "", ""
	f.Saved = saveInfo(r)
	created, err := s.Flows.CreateFlow(r.Context(), account(r), f)
	if err != nil {
		return err
	}
	s.flowsChanged()
	return s.writeSavedFlow(w, http.StatusCreated, created, warnings)
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlow(r.Context(), account(r), r.PathValue("flowId"))
	if err != nil {
		return err
	}
	return s.writeFlow(w, r, http.StatusOK, f)
}

// getFlowRevision serves one saved revision (2026-09-beta's
// /flows/{flowId}/revisions/{revisionId}); revisions of deleted flows stay
// readable.
func (s *Server) getFlowRevision(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	f, err := s.Flows.GetFlowRevision(r.Context(), account(r), r.PathValue("flowId"), r.PathValue("revisionId"))
	if err != nil {
		return err
	}
	return s.writeFlow(w, r, http.StatusOK, f)
}

func (s *Server) updateFlow(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	id := r.PathValue("flowId")
	f, ack, err := s.parseFlow(r)
	if err != nil {
		return err
	}
	cur, err := s.Flows.GetFlow(r.Context(), account(r), id)
	if err != nil {
		return err
	}
	if err := spoke.CheckRevision(id, cur.RevisionID, f.RevisionID); err != nil {
		return err
	}
	if err := s.validateFlow(r, f); err != nil {
		return err
	}
	warnings, err := s.lintFlow(r, f, ack)
	if err != nil {
		return err
	}
	warnings = append(warnings, builtinWarnings(f)...)
	f.ID = id
	f.Saved = saveInfo(r)
	updated, err := s.Flows.UpdateFlow(r.Context(), account(r), f)
	if err != nil {
		return err
	}
	s.flowsChanged()
	return s.writeSavedFlow(w, http.StatusOK, updated, warnings)
}

func (s *Server) deleteFlow(w http.ResponseWriter, r *http.Request) error {
	if err := require(r, "automation"); err != nil {
		return err
	}
	if err := s.Flows.DeleteFlow(r.Context(), account(r), r.PathValue("flowId")); err != nil {
		return err
	}
	s.flowsChanged()
	writeNoContent(w)
	return nil
}

func (s *Server) batchReadFlows(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		Inputs []struct {
			Type   string     `json:"type"`
			FlowID flexString `json:"flowId"`
		} `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := checkBatchSize(len(in.Inputs)); err != nil {
		return err
	}
	for i, input := range in.Inputs {
		if input.Type != "" && input.Type != "FLOW_ID" {
			return spoke.Invalidf("inputs[%d].type %q is not supported; use FLOW_ID.", i, input.Type)
		}
		if input.FlowID == "" {
			return spoke.Invalidf("inputs[%d].flowId is required.", i)
		}
	}
	results := []map[string]json.RawMessage{}
	var errs []standardErr
	for _, input := range in.Inputs {
		f, err := s.Flows.GetFlow(r.Context(), account(r), string(input.FlowID))
		if spoke.ErrorCode(err) == spoke.ENOTFOUND {
			e := &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
				Message: "Flow " + string(input.FlowID) + " does not exist.", Context: map[string][]string{"flowId": {string(input.FlowID)}}}
			errs = append(errs, toStandardErr(e))
			continue
		}
		if err != nil {
			return err
		}
		m, err := flowToWire(f)
		if err != nil {
			return err
		}
		results = append(results, m)
	}
	writeBatch(w, http.StatusOK, started, results, errs)
	return nil
}

// workflowIDMappings maps flow ids to the ids of HubSpot's legacy (v3)
// workflows and back. A Spoke flow has no second id: its workflowId is
// its flowId, so scripts that translate ids keep working. Unknown ids are
// reported as errors (207).
func (s *Server) workflowIDMappings(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	if err := require(r, "automation"); err != nil {
		return err
	}
	var in struct {
		Inputs []struct {
			Type       string     `json:"type"`
			FlowID     flexString `json:"flowId"`
			WorkflowID flexString `json:"workflowId"`
		} `json:"inputs"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := checkBatchSize(len(in.Inputs)); err != nil {
		return err
	}
	ids := make([]string, len(in.Inputs))
	for i, input := range in.Inputs {
		switch input.Type {
		case "FLOW_ID":
			ids[i] = string(input.FlowID)
		case "WORKFLOW_ID":
			ids[i] = string(input.WorkflowID)
		default:
			return spoke.Invalidf("inputs[%d].type must be FLOW_ID or WORKFLOW_ID, got %q.", i, input.Type)
		}
		if ids[i] == "" {
			return spoke.Invalidf("inputs[%d] needs the id its type names (flowId or workflowId).", i)
		}
	}
	type mapping struct {
		FlowID     json.Number `json:"flowId"`
		WorkflowID json.Number `json:"workflowId"`
	}
	results := []mapping{}
	var errs []standardErr
	for _, id := range ids {
		f, err := s.Flows.GetFlow(r.Context(), account(r), id)
		if spoke.ErrorCode(err) == spoke.ENOTFOUND {
			errs = append(errs, toStandardErr(&spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
				Message: "No flow or workflow has id " + id + ".", Context: map[string][]string{"id": {id}}}))
			continue
		}
		if err != nil {
			return err
		}
		results = append(results, mapping{FlowID: json.Number(f.ID), WorkflowID: json.Number(f.ID)})
	}
	writeBatch(w, http.StatusOK, started, results, errs)
	return nil
}
