package crmrules

import (
	"context"
	"time"

	"github.com/spokehq/spoke"
)

// PipelineTx is one pipeline change inside a store's write transaction:
// the type's pipelines as stored (archived ones too, HubSpot's defaults
// written first if the account had none) and the writes the pipeline
// service needs. The functions below are spoke.PipelineService's logic
// over it, so both stores run the same rules and differ only in SQL.
type PipelineTx interface {
	// Type is the pipelines' object type.
	Type() spoke.ObjectType
	// NowMs is the change's time, in epoch milliseconds.
	NowMs() int64
	// Pipelines are every pipeline of the type, archived ones too.
	Pipelines() []*spoke.Pipeline
	// NewID returns id if no pipeline or stage (table "pipelines" or
	// "pipeline_stages") of the type, live or archived, has it, ECONFLICT
	// naming what if one does, or a generated id when id is empty.
	NewID(table, id, what string) (string, error)
	InsertPipeline(pl *spoke.Pipeline) error
	InsertStage(pipeline string, s *spoke.PipelineStage) error
	// WriteStage writes an existing stage's label, order and metadata.
	WriteStage(s *spoke.PipelineStage) error
	ArchiveStage(id string) error
	// SetPipeline writes a pipeline's label and display order, and
	// restores it if it was archived.
	SetPipeline(id, label string, displayOrder int) error
	ArchivePipeline(id string) error
	// RecordsIn counts the live records of the type whose property name
	// has the value.
	RecordsIn(name, value string) (int, error)
}

func newStagesIn(p PipelineTx, in []spoke.PipelineStageInput, keep map[string]*spoke.PipelineStage) ([]*spoke.PipelineStage, error) {
	return NewStages(p.Type(), p.NowMs(), in, keep, func(id string) (string, error) {
		return p.NewID("pipeline_stages", id, "stage")
	})
}

// inUseIn returns EINVALID if live records have the value of name, for
// HubSpot's validateReferencesBeforeDelete.
func inUseIn(p PipelineTx, name, value, what string) error {
	n, err := p.RecordsIn(name, value)
	if err != nil {
		return err
	}
	return InUse(p.Type(), what, n)
}

// CreatePipeline is spoke.PipelineService's CreatePipeline in p.
func CreatePipeline(p PipelineTx, in spoke.PipelineInput) (*spoke.Pipeline, error) {
	if err := CheckPipelineLabel(p.Pipelines(), in.Label, ""); err != nil {
		return nil, err
	}
	stages, err := newStagesIn(p, in.Stages, nil)
	if err != nil {
		return nil, err
	}
	id, err := p.NewID("pipelines", in.ID, "pipeline")
	if err != nil {
		return nil, err
	}
	now := time.UnixMilli(p.NowMs()).UTC()
	out := &spoke.Pipeline{ObjectType: p.Type().Name, ID: id, Label: in.Label, DisplayOrder: in.DisplayOrder, Stages: stages, CreatedAt: now, UpdatedAt: now}
	SortPipelines([]*spoke.Pipeline{out})
	return out, p.InsertPipeline(out)
}

// ReplacePipeline is spoke.PipelineService's ReplacePipeline in p: stages
// kept by id are rewritten, new ones inserted, missing ones archived
// (refused while records are in them, with validateReferences).
func ReplacePipeline(p PipelineTx, id string, in spoke.PipelineInput, validateReferences bool) (*spoke.Pipeline, error) {
	t := p.Type()
	cur, err := FindPipeline(t, p.Pipelines(), id, false)
	if err != nil {
		return nil, err
	}
	if err := CheckPipelineLabel(p.Pipelines(), in.Label, id); err != nil {
		return nil, err
	}
	keep := map[string]*spoke.PipelineStage{}
	for _, s := range cur.Stages {
		keep[s.ID] = s
	}
	stages, err := newStagesIn(p, in.Stages, keep)
	if err != nil {
		return nil, err
	}
	kept := map[string]bool{}
	for _, s := range stages {
		if keep[s.ID] != nil {
			kept[s.ID] = true
			if err := p.WriteStage(s); err != nil {
				return nil, err
			}
		} else if err := p.InsertStage(id, s); err != nil {
			return nil, err
		}
	}
	_, stageProp, _ := spoke.PipelineProperties(t)
	for _, s := range cur.Stages {
		if kept[s.ID] {
			continue
		}
		if validateReferences {
			if err := inUseIn(p, stageProp, s.ID, "Stage "+s.ID); err != nil {
				return nil, err
			}
		}
		if err := p.ArchiveStage(s.ID); err != nil {
			return nil, err
		}
	}
	if err := p.SetPipeline(id, in.Label, in.DisplayOrder); err != nil {
		return nil, err
	}
	out := &spoke.Pipeline{ObjectType: t.Name, ID: id, Label: in.Label, DisplayOrder: in.DisplayOrder, Stages: stages, CreatedAt: cur.CreatedAt, UpdatedAt: time.UnixMilli(p.NowMs()).UTC()}
	SortPipelines([]*spoke.Pipeline{out})
	return out, nil
}

// UpdatePipeline is spoke.PipelineService's UpdatePipeline in p; archived
// may only be false, which restores an archived pipeline.
func UpdatePipeline(p PipelineTx, id string, upd spoke.PipelineUpdate) (*spoke.Pipeline, error) {
	if upd.Archived != nil && *upd.Archived {
		return nil, spoke.Invalidf("archived may only be false, to restore an archived pipeline; delete a pipeline with DELETE.")
	}
	cur, err := FindPipeline(p.Type(), p.Pipelines(), id, upd.Archived != nil)
	if err != nil {
		return nil, err
	}
	next := UpdatedPipeline(cur, upd, p.NowMs())
	if err := CheckPipelineLabel(p.Pipelines(), next.Label, id); err != nil {
		return nil, err
	}
	return next, p.SetPipeline(id, next.Label, next.DisplayOrder)
}

// DeletePipeline is spoke.PipelineService's DeletePipeline in p.
func DeletePipeline(p PipelineTx, id string, validateReferences bool) error {
	if err := CheckPipelineDelete(p.Type(), p.Pipelines(), id); err != nil {
		return err
	}
	if validateReferences {
		pipeProp, _, _ := spoke.PipelineProperties(p.Type())
		if err := inUseIn(p, pipeProp, id, "Pipeline "+id); err != nil {
			return err
		}
	}
	return p.ArchivePipeline(id)
}

// CreateStage is spoke.PipelineService's CreateStage in p.
func CreateStage(p PipelineTx, pipelineID string, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	pl, err := FindPipeline(p.Type(), p.Pipelines(), pipelineID, false)
	if err != nil {
		return nil, err
	}
	out, err := NewStage(p.Type(), p.NowMs(), in)
	if err != nil {
		return nil, err
	}
	if err := CheckStageLabel(pl, out.Label, ""); err != nil {
		return nil, err
	}
	if out.ID, err = p.NewID("pipeline_stages", in.ID, "stage"); err != nil {
		return nil, err
	}
	return out, p.InsertStage(pipelineID, out)
}

// ReplaceStage is spoke.PipelineService's ReplaceStage in p.
func ReplaceStage(p PipelineTx, pipelineID, stageID string, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	pl, cur, err := StageOf(p.Type(), p.Pipelines(), pipelineID, stageID)
	if err != nil {
		return nil, err
	}
	return rewriteStage(p, pl, cur, in)
}

// UpdateStage is spoke.PipelineService's UpdateStage in p; archived may
// only be false.
func UpdateStage(p PipelineTx, pipelineID, stageID string, upd spoke.PipelineStageUpdate) (*spoke.PipelineStage, error) {
	if upd.Archived != nil && *upd.Archived {
		return nil, spoke.Invalidf("archived may only be false; delete a stage with DELETE.")
	}
	pl, cur, err := StageOf(p.Type(), p.Pipelines(), pipelineID, stageID)
	if err != nil {
		return nil, err
	}
	return rewriteStage(p, pl, cur, StageInput(cur, upd))
}

// rewriteStage checks in as the new content of the existing stage cur of
// pl and writes it, keeping the stage's id and creation time.
func rewriteStage(p PipelineTx, pl *spoke.Pipeline, cur *spoke.PipelineStage, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	out, err := NewStage(p.Type(), p.NowMs(), in)
	if err != nil {
		return nil, err
	}
	if err := CheckStageLabel(pl, out.Label, cur.ID); err != nil {
		return nil, err
	}
	out.ID, out.CreatedAt = cur.ID, cur.CreatedAt
	return out, p.WriteStage(out)
}

// DeleteStage is spoke.PipelineService's DeleteStage in p: a pipeline
// keeps at least one stage.
func DeleteStage(p PipelineTx, pipelineID, stageID string, validateReferences bool) error {
	pl, _, err := StageOf(p.Type(), p.Pipelines(), pipelineID, stageID)
	if err != nil {
		return err
	}
	if len(pl.Stages) == 1 {
		return spoke.Invalidf("Stage %s is the only stage of pipeline %s; a pipeline always has at least one stage.", stageID, pipelineID)
	}
	if validateReferences {
		_, stageProp, _ := spoke.PipelineProperties(p.Type())
		if err := inUseIn(p, stageProp, stageID, "Stage "+stageID); err != nil {
			return err
		}
	}
	return p.ArchiveStage(stageID)
}

// PipelineChanger is a store that runs fn in one pipeline change: a write
// transaction holding the type's pipelines, after which the store forgets
// what it cached of them.
type PipelineChanger interface {
	ChangePipelines(ctx context.Context, account int64, objectType string, fn func(PipelineTx) error) error
}

// PipelineWrites implements spoke.PipelineService's writes with the
// functions above, each in one change of Store; a store embeds it.
type PipelineWrites struct{ Store PipelineChanger }

// CreatePipeline implements spoke.PipelineService.
func (w PipelineWrites) CreatePipeline(ctx context.Context, account int64, objectType string, in spoke.PipelineInput) (out *spoke.Pipeline, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = CreatePipeline(p, in)
		return err
	})
	return out, err
}

// ReplacePipeline implements spoke.PipelineService.
func (w PipelineWrites) ReplacePipeline(ctx context.Context, account int64, objectType, id string, in spoke.PipelineInput, validateReferences bool) (out *spoke.Pipeline, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = ReplacePipeline(p, id, in, validateReferences)
		return err
	})
	return out, err
}

// UpdatePipeline implements spoke.PipelineService.
func (w PipelineWrites) UpdatePipeline(ctx context.Context, account int64, objectType, id string, upd spoke.PipelineUpdate) (out *spoke.Pipeline, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = UpdatePipeline(p, id, upd)
		return err
	})
	return out, err
}

// DeletePipeline implements spoke.PipelineService.
func (w PipelineWrites) DeletePipeline(ctx context.Context, account int64, objectType, id string, validateReferences bool) error {
	return w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) error {
		return DeletePipeline(p, id, validateReferences)
	})
}

// CreateStage implements spoke.PipelineService.
func (w PipelineWrites) CreateStage(ctx context.Context, account int64, objectType, pipelineID string, in spoke.PipelineStageInput) (out *spoke.PipelineStage, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = CreateStage(p, pipelineID, in)
		return err
	})
	return out, err
}

// ReplaceStage implements spoke.PipelineService.
func (w PipelineWrites) ReplaceStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, in spoke.PipelineStageInput) (out *spoke.PipelineStage, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = ReplaceStage(p, pipelineID, stageID, in)
		return err
	})
	return out, err
}

// UpdateStage implements spoke.PipelineService.
func (w PipelineWrites) UpdateStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, upd spoke.PipelineStageUpdate) (out *spoke.PipelineStage, err error) {
	err = w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) (err error) {
		out, err = UpdateStage(p, pipelineID, stageID, upd)
		return err
	})
	return out, err
}

// DeleteStage implements spoke.PipelineService.
func (w PipelineWrites) DeleteStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, validateReferences bool) error {
	return w.Store.ChangePipelines(ctx, account, objectType, func(p PipelineTx) error {
		return DeleteStage(p, pipelineID, stageID, validateReferences)
	})
}
