package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/spokehq/spoke"
)

// pipelineRoutes serves CRM v3 pipelines and their stages for deals and
// tickets.
func (s *Server) pipelineRoutes() []route {
	const p = "/crm/v3/pipelines/{objectType}"
	return []route{
		reads("GET "+p, s.listPipelines),
		writes("POST "+p, s.createPipeline),
		reads("GET "+p+"/{pipelineId}", s.getPipeline),
		writes("PUT "+p+"/{pipelineId}", s.replacePipeline),
		writes("PATCH "+p+"/{pipelineId}", s.updatePipeline),
		writes("DELETE "+p+"/{pipelineId}", s.deletePipeline),
		reads("GET "+p+"/{pipelineId}/stages", s.listStages),
		writes("POST "+p+"/{pipelineId}/stages", s.createStage),
		reads("GET "+p+"/{pipelineId}/stages/{stageId}", s.getStage),
		writes("PUT "+p+"/{pipelineId}/stages/{stageId}", s.replaceStage),
		writes("PATCH "+p+"/{pipelineId}/stages/{stageId}", s.updateStage),
		writes("DELETE "+p+"/{pipelineId}/stages/{stageId}", s.deleteStage),
	}
}

// pipelineType resolves the path's object type and checks that the token
// has one of the scopes HubSpot accepts for pipelines of that type:
// reading needs any read or write scope of the type's records or schema,
// writing its schema write scope (or, for tickets, "tickets").
func pipelineType(r *http.Request, write bool) (spoke.ObjectType, error) {
	t, err := spoke.PipelineTypeFor(r.PathValue("objectType"))
	if err != nil {
		return t, err
	}
	scopes := append([]string(nil), schemaScope(t, true)...) // never append to the type's own slice
	if t.Name == "tickets" {
		scopes = append(scopes, "tickets")
	}
	if !write {
		scopes = append(scopes, objectScope(t, false)...)
		scopes = append(scopes, objectScope(t, true)...)
		scopes = append(scopes, schemaScope(t, false)...)
		scopes = append(scopes, "automation")
	}
	tok := tokenFrom(r.Context())
	for _, sc := range scopes {
		if tok != nil && tok.HasScope(sc) {
			return t, nil
		}
	}
	return t, require(r, scopes[0])
}

// stageWire is HubSpot's PipelineStage.
type stageWire struct {
	ID               string            `json:"id"`
	Label            string            `json:"label"`
	DisplayOrder     int               `json:"displayOrder"`
	Metadata         map[string]string `json:"metadata"`
	CreatedAt        string            `json:"createdAt"`
	UpdatedAt        string            `json:"updatedAt"`
	Archived         bool              `json:"archived"`
	ArchivedAt       string            `json:"archivedAt,omitempty"`
	WritePermissions string            `json:"writePermissions"`
}

// pipelineWire is HubSpot's Pipeline.
type pipelineWire struct {
	ID           string      `json:"id"`
	Label        string      `json:"label"`
	DisplayOrder int         `json:"displayOrder"`
	Stages       []stageWire `json:"stages"`
	CreatedAt    string      `json:"createdAt"`
	UpdatedAt    string      `json:"updatedAt"`
	Archived     bool        `json:"archived"`
	ArchivedAt   string      `json:"archivedAt,omitempty"`
}

func stageToWire(s *spoke.PipelineStage) stageWire {
	w := stageWire{ID: s.ID, Label: s.Label, DisplayOrder: s.DisplayOrder, Metadata: s.Metadata,
		CreatedAt: spoke.FormatTime(s.CreatedAt), UpdatedAt: spoke.FormatTime(s.UpdatedAt), Archived: s.Archived,
		WritePermissions: "CRM_PERMISSIONS_ENFORCEMENT"}
	if w.Metadata == nil {
		w.Metadata = map[string]string{}
	}
	if s.Archived {
		w.ArchivedAt = spoke.FormatTime(s.ArchivedAt)
	}
	return w
}

func pipelineToWire(p *spoke.Pipeline) pipelineWire {
	w := pipelineWire{ID: p.ID, Label: p.Label, DisplayOrder: p.DisplayOrder, Stages: make([]stageWire, 0, len(p.Stages)),
		CreatedAt: spoke.FormatTime(p.CreatedAt), UpdatedAt: spoke.FormatTime(p.UpdatedAt), Archived: p.Archived}
	for _, s := range p.Stages {
		w.Stages = append(w.Stages, stageToWire(s))
	}
	if p.Archived {
		w.ArchivedAt = spoke.FormatTime(p.ArchivedAt)
	}
	return w
}

// metaValues is a stage's metadata object. HubSpot documents string
// values but its own examples send numbers ({"probability": 0.5}), so
// numbers and booleans are taken and stringified.
type metaValues map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (m *metaValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return spoke.Invalidf("metadata must be an object of strings.")
	}
	out := make(metaValues, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return spoke.Invalidf("metadata.%s is not a valid JSON string.", k)
			}
			out[k] = s
		case v[0] == '{' || v[0] == '[':
			return spoke.Invalidf("metadata.%s must be a string, number or boolean.", k)
		default:
			out[k] = string(v)
		}
	}
	*m = out
	return nil
}

type stageInput struct {
	StageID      string     `json:"stageId"`
	Label        *string    `json:"label"`
	DisplayOrder *int       `json:"displayOrder"`
	Metadata     metaValues `json:"metadata"`
	Archived     *bool      `json:"archived"`
}

func (in stageInput) domain() spoke.PipelineStageInput {
	return spoke.PipelineStageInput{ID: in.StageID, Label: deref(in.Label), DisplayOrder: deref(in.DisplayOrder), Metadata: in.Metadata}
}

type pipelineInput struct {
	PipelineID   string       `json:"pipelineId"`
	Label        *string      `json:"label"`
	DisplayOrder *int         `json:"displayOrder"`
	Stages       []stageInput `json:"stages"`
	Archived     *bool        `json:"archived"`
}

func (in pipelineInput) domain() spoke.PipelineInput {
	out := spoke.PipelineInput{ID: in.PipelineID, Label: deref(in.Label), DisplayOrder: deref(in.DisplayOrder)}
	for _, s := range in.Stages {
		out.Stages = append(out.Stages, s.domain())
	}
	return out
}

// validateReferences reads HubSpot's two delete-validation flags; either
// asks for the check (validateDealStageUsagesBeforeDelete is the deals
// one, validateReferencesBeforeDelete the others').
func validateReferences(r *http.Request) (bool, error) {
	a, err := boolParam(r, "validateReferencesBeforeDelete")
	if err != nil {
		return false, err
	}
	b, err := boolParam(r, "validateDealStageUsagesBeforeDelete")
	return a || b, err
}

// pipelineWrite checks the path of a pipeline or stage write: the type
// and its write scope, then, with flags, HubSpot's delete-validation
// flags (validate is what they ask for), then reads the body into in
// unless it is nil.
func pipelineWrite(r *http.Request, flags bool, in any) (t spoke.ObjectType, validate bool, err error) {
	if t, err = pipelineType(r, true); err != nil {
		return
	}
	if flags {
		if validate, err = validateReferences(r); err != nil {
			return
		}
	}
	if in != nil {
		err = decode(r, in)
	}
	return
}

// pathPipeline reads the pipeline a GET's path names.
func (s *Server) pathPipeline(r *http.Request) (*spoke.Pipeline, error) {
	t, err := pipelineType(r, false)
	if err != nil {
		return nil, err
	}
	return s.Pipelines.GetPipeline(r.Context(), account(r), t.Name, r.PathValue("pipelineId"))
}

// writeResults answers 200 with {"results": [...]}, each item in its wire
// shape.
func writeResults[T, W any](w http.ResponseWriter, items []T, wire func(T) W) {
	out := struct {
		Results []W `json:"results"`
	}{Results: make([]W, 0, len(items))}
	for _, it := range items {
		out.Results = append(out.Results, wire(it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) error {
	t, err := pipelineType(r, false)
	if err != nil {
		return err
	}
	ps, err := s.Pipelines.ListPipelines(r.Context(), account(r), t.Name)
	if err != nil {
		return err
	}
	writeResults(w, ps, pipelineToWire)
	return nil
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pathPipeline(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pipelineToWire(p))
	return nil
}

func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request) error {
	var in pipelineInput
	t, _, err := pipelineWrite(r, false, &in)
	if err != nil {
		return err
	}
	p, err := s.Pipelines.CreatePipeline(r.Context(), account(r), t.Name, in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pipelineToWire(p))
	return nil
}

func (s *Server) replacePipeline(w http.ResponseWriter, r *http.Request) error {
	var in pipelineInput
	t, validate, err := pipelineWrite(r, true, &in)
	if err != nil {
		return err
	}
	p, err := s.Pipelines.ReplacePipeline(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), in.domain(), validate)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pipelineToWire(p))
	return nil
}

// updatePipeline takes the delete-validation flags, as HubSpot does, but
// an update removes no stage for them to check.
func (s *Server) updatePipeline(w http.ResponseWriter, r *http.Request) error {
	var in pipelineInput
	t, _, err := pipelineWrite(r, true, &in)
	if err != nil {
		return err
	}
	p, err := s.Pipelines.UpdatePipeline(r.Context(), account(r), t.Name, r.PathValue("pipelineId"),
		spoke.PipelineUpdate{Label: in.Label, DisplayOrder: in.DisplayOrder, Archived: in.Archived})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pipelineToWire(p))
	return nil
}

func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	t, validate, err := pipelineWrite(r, true, nil)
	if err != nil {
		return err
	}
	if err := s.Pipelines.DeletePipeline(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), validate); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}

func (s *Server) listStages(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pathPipeline(r)
	if err != nil {
		return err
	}
	writeResults(w, p.Stages, stageToWire)
	return nil
}

func (s *Server) getStage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.pathPipeline(r)
	if err != nil {
		return err
	}
	st := p.Stage(r.PathValue("stageId"))
	if st == nil {
		return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
			Message: "Unable to find stage " + r.PathValue("stageId") + " in pipeline " + p.ID + ".", Context: map[string][]string{"stageId": {r.PathValue("stageId")}}}
	}
	writeJSON(w, http.StatusOK, stageToWire(st))
	return nil
}

func (s *Server) createStage(w http.ResponseWriter, r *http.Request) error {
	var in stageInput
	t, _, err := pipelineWrite(r, false, &in)
	if err != nil {
		return err
	}
	st, err := s.Pipelines.CreateStage(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, stageToWire(st))
	return nil
}

func (s *Server) replaceStage(w http.ResponseWriter, r *http.Request) error {
	var in stageInput
	t, _, err := pipelineWrite(r, false, &in)
	if err != nil {
		return err
	}
	st, err := s.Pipelines.ReplaceStage(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), r.PathValue("stageId"), in.domain())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stageToWire(st))
	return nil
}

func (s *Server) updateStage(w http.ResponseWriter, r *http.Request) error {
	var in stageInput
	t, _, err := pipelineWrite(r, false, &in)
	if err != nil {
		return err
	}
	st, err := s.Pipelines.UpdateStage(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), r.PathValue("stageId"),
		spoke.PipelineStageUpdate{Label: in.Label, DisplayOrder: in.DisplayOrder, Metadata: in.Metadata, Archived: in.Archived})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stageToWire(st))
	return nil
}

func (s *Server) deleteStage(w http.ResponseWriter, r *http.Request) error {
	t, validate, err := pipelineWrite(r, true, nil)
	if err != nil {
		return err
	}
	if err := s.Pipelines.DeleteStage(r.Context(), account(r), t.Name, r.PathValue("pipelineId"), r.PathValue("stageId"), validate); err != nil {
		return err
	}
	writeNoContent(w)
	return nil
}
