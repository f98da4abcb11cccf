package crmrules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// SortPipelines puts pipelines and their stages in display order, ties by
// label, as HubSpot documents.
func SortPipelines(ps []*spoke.Pipeline) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].DisplayOrder != ps[j].DisplayOrder {
			return ps[i].DisplayOrder < ps[j].DisplayOrder
		}
		return ps[i].Label < ps[j].Label
	})
	for _, p := range ps {
		sort.SliceStable(p.Stages, func(i, j int) bool {
			if p.Stages[i].DisplayOrder != p.Stages[j].DisplayOrder {
				return p.Stages[i].DisplayOrder < p.Stages[j].DisplayOrder
			}
			return p.Stages[i].Label < p.Stages[j].Label
		})
	}
}

// PipelineNotFound is the 404 for a pipeline of t that does not exist.
func PipelineNotFound(t spoke.ObjectType, id string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find pipeline %s for object type %s.", id, t.Name), Context: map[string][]string{"pipelineId": {id}}}
}

// StageNotFound is the 404 for a stage that is not in the pipeline.
func StageNotFound(id, pipeline string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find stage %s in pipeline %s.", id, pipeline), Context: map[string][]string{"stageId": {id}}}
}

// FindPipeline returns the pipeline of all with the given id, live or
// (with archived) archived, or ENOTFOUND.
func FindPipeline(t spoke.ObjectType, all []*spoke.Pipeline, id string, archived bool) (*spoke.Pipeline, error) {
	for _, pl := range all {
		if pl.ID == id && (!pl.Archived || archived) {
			return pl, nil
		}
	}
	return nil, PipelineNotFound(t, id)
}

// StageOf returns a live stage of a live pipeline of all, or ENOTFOUND.
func StageOf(t spoke.ObjectType, all []*spoke.Pipeline, pipelineID, stageID string) (*spoke.Pipeline, *spoke.PipelineStage, error) {
	pl, err := FindPipeline(t, all, pipelineID, false)
	if err != nil {
		return nil, nil, err
	}
	s := pl.Stage(stageID)
	if s == nil {
		return nil, nil, StageNotFound(stageID, pipelineID)
	}
	return pl, s, nil
}

// CheckPipelineLabel refuses a pipeline label another live pipeline of
// all has; self is the id of the pipeline being changed, empty for a new
// one.
func CheckPipelineLabel(all []*spoke.Pipeline, label, self string) error {
	if strings.TrimSpace(label) == "" {
		return spoke.Invalidf("A pipeline needs a label.")
	}
	for _, pl := range all {
		if !pl.Archived && pl.ID != self && strings.EqualFold(pl.Label, label) {
			return spoke.Errorf(spoke.ECONFLICT, "A pipeline with label %q already exists (id %s).", label, pl.ID)
		}
	}
	return nil
}

// CheckStageLabel refuses a stage label another stage of pl has; self is
// the id of the stage being changed, empty for a new one.
func CheckStageLabel(pl *spoke.Pipeline, label, self string) error {
	for _, s := range pl.Stages {
		if s.ID != self && strings.EqualFold(s.Label, label) {
			return spoke.Errorf(spoke.ECONFLICT, "Pipeline %s already has a stage labelled %q (id %s); stage labels must be unique within a pipeline.", pl.ID, label, s.ID)
		}
	}
	return nil
}

// NewStage checks a stage input of a pipeline of t and builds the stage,
// created and updated at now (epoch ms), without an id.
func NewStage(t spoke.ObjectType, now int64, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	if strings.TrimSpace(in.Label) == "" {
		return nil, spoke.Invalidf("A pipeline stage needs a label.")
	}
	meta, err := spoke.NormalizeStageMetadata(t, in.Metadata)
	if err != nil {
		return nil, err
	}
	at := time.UnixMilli(now).UTC()
	return &spoke.PipelineStage{Label: in.Label, DisplayOrder: in.DisplayOrder, Metadata: meta, CreatedAt: at, UpdatedAt: at}, nil
}

// NewStages checks and builds a pipeline's stage inputs; stages keep the
// id, creation time and unchanged fields of those in keep, and the others
// get their ids from newID, given the input's id (empty for none).
func NewStages(t spoke.ObjectType, now int64, in []spoke.PipelineStageInput, keep map[string]*spoke.PipelineStage, newID func(id string) (string, error)) ([]*spoke.PipelineStage, error) {
	if len(in) == 0 {
		return nil, spoke.Invalidf("A pipeline needs at least one stage.")
	}
	labels := map[string]bool{}
	var out []*spoke.PipelineStage
	for i, s := range in {
		st, err := NewStage(t, now, s)
		if err != nil {
			if spoke.ErrorCode(err) != spoke.EINVALID {
				return nil, err
			}
			return nil, spoke.Invalidf("stages[%d]: %s", i, spoke.ErrorMessage(err))
		}
		if labels[strings.ToLower(st.Label)] {
			return nil, spoke.Invalidf("stages[%d]: the label %q is used twice; stage labels must be unique within a pipeline.", i, st.Label)
		}
		labels[strings.ToLower(st.Label)] = true
		if old := keep[s.ID]; s.ID != "" && old != nil {
			st.ID, st.CreatedAt = old.ID, old.CreatedAt
		} else if st.ID, err = newID(s.ID); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// InUse is the EINVALID for deleting what (a pipeline or stage of t) with
// validateReferencesBeforeDelete while n live records are in it; nil when
// n is 0.
func InUse(t spoke.ObjectType, what string, n int) error {
	if n > 0 {
		return spoke.Invalidf("%s is in use: %d %s %s in it. Move them first, or delete without validateReferencesBeforeDelete.", what, n, t.Name, map[bool]string{true: "is", false: "are"}[n == 1])
	}
	return nil
}

// CheckPipelineDelete refuses to delete the pipeline id of all when it is
// not live or is the type's only live pipeline.
func CheckPipelineDelete(t spoke.ObjectType, all []*spoke.Pipeline, id string) error {
	if _, err := FindPipeline(t, all, id, false); err != nil {
		return err
	}
	live := 0
	for _, pl := range all {
		if !pl.Archived {
			live++
		}
	}
	if live == 1 {
		return spoke.Invalidf("Pipeline %s is the only %s pipeline; an account always has at least one.", id, t.Singular)
	}
	return nil
}

// UpdatedPipeline applies an update to a copy of cur, restoring it if it
// was archived, as of now (epoch ms). An update may not archive.
func UpdatedPipeline(cur *spoke.Pipeline, upd spoke.PipelineUpdate, now int64) *spoke.Pipeline {
	next := *cur
	if upd.Label != nil {
		next.Label = *upd.Label
	}
	if upd.DisplayOrder != nil {
		next.DisplayOrder = *upd.DisplayOrder
	}
	next.Archived, next.ArchivedAt, next.UpdatedAt = false, time.Time{}, time.UnixMilli(now).UTC()
	return &next
}

// StageInput is the input that replaces the stage cur with an update:
// cur's fields with the update's on top. A new probability drops the
// closed flag unless the update sets that too, so it follows the
// probability.
func StageInput(cur *spoke.PipelineStage, upd spoke.PipelineStageUpdate) spoke.PipelineStageInput {
	in := spoke.PipelineStageInput{Label: cur.Label, DisplayOrder: cur.DisplayOrder, Metadata: map[string]string{}}
	for k, v := range cur.Metadata {
		in.Metadata[k] = v
	}
	if upd.Label != nil {
		in.Label = *upd.Label
	}
	if upd.DisplayOrder != nil {
		in.DisplayOrder = *upd.DisplayOrder
	}
	if _, changed := upd.Metadata[spoke.MetaProbability]; changed {
		if _, explicit := upd.Metadata[spoke.MetaIsClosed]; !explicit {
			delete(in.Metadata, spoke.MetaIsClosed) // follows the new probability
		}
	}
	for k, v := range upd.Metadata {
		in.Metadata[k] = v
	}
	return in
}
