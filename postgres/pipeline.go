package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jackc/pgx/v5"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
)

// loadPipelines reads every pipeline of t, archived ones included, with
// their live stages; an account that never changed its pipelines of t has
// HubSpot's defaults.
func loadPipelines(ctx context.Context, q querier, account int64, t spoke.ObjectType) ([]*spoke.Pipeline, error) {
	rows, err := q.Query(ctx, `SELECT id, label, display_order, created_at, updated_at, archived, archived_at FROM pipelines WHERE account_id = $1 AND object_type = $2`, account, t.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s pipelines: %w", t.Singular, err)
	}
	var out []*spoke.Pipeline
	byID := map[string]*spoke.Pipeline{}
	for rows.Next() {
		p := &spoke.Pipeline{ObjectType: t.Name}
		var created, updated int64
		var archivedAt *int64
		if err := rows.Scan(&p.ID, &p.Label, &p.DisplayOrder, &created, &updated, &p.Archived, &archivedAt); err != nil {
			rows.Close()
			return nil, err
		}
		p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if archivedAt != nil {
			p.ArchivedAt = time.UnixMilli(*archivedAt).UTC()
		}
		out = append(out, p)
		byID[p.ID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return spoke.DefaultPipelines(t), nil
	}
	rows, err = q.Query(ctx, `SELECT pipeline_id, id, label, display_order, metadata, created_at, updated_at FROM pipeline_stages
		WHERE account_id = $1 AND object_type = $2 AND NOT archived`, account, t.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s pipeline stages: %w", t.Singular, err)
	}
	defer rows.Close()
	for rows.Next() {
		var pipeline string
		var meta []byte
		var created, updated int64
		s := &spoke.PipelineStage{}
		if err := rows.Scan(&pipeline, &s.ID, &s.Label, &s.DisplayOrder, &meta, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(meta, &s.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of stage %s: %w", s.ID, err)
		}
		s.CreatedAt, s.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if p := byID[pipeline]; p != nil {
			p.Stages = append(p.Stages, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortPipelines(out)
	return out, nil
}

// sortPipelines puts pipelines and their stages in display order, ties by
// label, as HubSpot documents.
func sortPipelines(ps []*spoke.Pipeline) {
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

func pipelineNotFound(t spoke.ObjectType, id string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find pipeline %s for object type %s.", id, t.Name), Context: map[string][]string{"pipelineId": {id}}}
}

func stageNotFound(id, pipeline string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Unable to find stage %s in pipeline %s.", id, pipeline), Context: map[string][]string{"stageId": {id}}}
}

// ListPipelines implements spoke.PipelineService.
func (db *DB) ListPipelines(ctx context.Context, account int64, objectType string) ([]*spoke.Pipeline, error) {
	t, err := spoke.PipelineTypeFor(objectType)
	if err != nil {
		return nil, err
	}
	return db.livePipelines(ctx, account, t)
}

// GetPipeline implements spoke.PipelineService.
func (db *DB) GetPipeline(ctx context.Context, account int64, objectType, id string) (*spoke.Pipeline, error) {
	t, err := spoke.PipelineTypeFor(objectType)
	if err != nil {
		return nil, err
	}
	live, err := db.livePipelines(ctx, account, t)
	if err != nil {
		return nil, err
	}
	for _, p := range live {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, pipelineNotFound(t, id)
}

// pipelineTx is one pipeline change inside a write transaction: it holds
// the type's pipelines as stored (the defaults written first if the
// account had none) and writes its changes through.
type pipelineTx struct {
	ctx     context.Context
	tx      pgx.Tx
	account int64
	t       spoke.ObjectType
	now     int64
	all     []*spoke.Pipeline // every pipeline, archived ones too
}

// pipelineChange runs fn on the type's pipelines in a write transaction
// and forgets the cached ones after it commits.
func (db *DB) pipelineChange(ctx context.Context, account int64, objectType string, fn func(p *pipelineTx) error) error {
	t, err := spoke.PipelineTypeFor(objectType)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		p := &pipelineTx{ctx: ctx, tx: tx, account: account, t: t, now: db.nowMs()}
		if err := p.load(); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		return changedDynamic(ctx, tx)
	})
	db.forgetDefinitions()
	return err
}

// load reads the stored pipelines, writing HubSpot's defaults first if
// there are none, so a change applies to what the account saw.
func (p *pipelineTx) load() error {
	// One pipeline change of a type at a time: the first writes the
	// defaults, and labels and stage ids are checked against the rest.
	if _, err := p.tx.Exec(p.ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, fmt.Sprintf("pipelines/%d/%s", p.account, p.t.Name)); err != nil {
		return fmt.Errorf("lock pipelines: %w", err)
	}
	var n int
	if err := p.tx.QueryRow(p.ctx, `SELECT count(*) FROM pipelines WHERE account_id = $1 AND object_type = $2`, p.account, p.t.Name).Scan(&n); err != nil {
		return fmt.Errorf("count pipelines: %w", err)
	}
	if n == 0 {
		for _, d := range spoke.DefaultPipelines(p.t) {
			if err := p.insertPipeline(d); err != nil {
				return err
			}
		}
	}
	all, err := loadPipelines(p.ctx, p.tx, p.account, p.t)
	p.all = all
	return err
}

func (p *pipelineTx) insertPipeline(pl *spoke.Pipeline) error {
	if _, err := p.tx.Exec(p.ctx, `INSERT INTO pipelines (account_id, object_type, id, label, display_order, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.account, p.t.Name, pl.ID, pl.Label, pl.DisplayOrder, pl.CreatedAt.UnixMilli(), pl.UpdatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("insert pipeline %s: %w", pl.ID, err)
	}
	for _, s := range pl.Stages {
		if err := p.insertStage(pl.ID, s); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipelineTx) insertStage(pipeline string, s *spoke.PipelineStage) error {
	meta, _ := json.Marshal(s.Metadata)
	if _, err := p.tx.Exec(p.ctx, `INSERT INTO pipeline_stages (account_id, object_type, pipeline_id, id, label, display_order, metadata, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, p.account, p.t.Name, pipeline, s.ID, s.Label, s.DisplayOrder, meta, s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("insert stage %s: %w", s.ID, err)
	}
	return nil
}

func (p *pipelineTx) writeStage(s *spoke.PipelineStage) error {
	meta, _ := json.Marshal(s.Metadata)
	_, err := p.tx.Exec(p.ctx, `UPDATE pipeline_stages SET label = $1, display_order = $2, metadata = $3, updated_at = $4 WHERE account_id = $5 AND object_type = $6 AND id = $7`,
		s.Label, s.DisplayOrder, meta, p.now, p.account, p.t.Name, s.ID)
	if err != nil {
		return fmt.Errorf("update stage %s: %w", s.ID, err)
	}
	return nil
}

// find returns the pipeline with the given id, live or (with archived)
// archived, or ENOTFOUND.
func (p *pipelineTx) find(id string, archived bool) (*spoke.Pipeline, error) {
	for _, pl := range p.all {
		if pl.ID == id && (!pl.Archived || archived) {
			return pl, nil
		}
	}
	return nil, pipelineNotFound(p.t, id)
}

// idTaken reports whether a pipeline or stage of the type, live or
// archived, has the id.
func (p *pipelineTx) idTaken(table, id string) (bool, error) {
	var n int
	err := p.tx.QueryRow(p.ctx, `SELECT count(*) FROM `+table+` WHERE account_id = $1 AND object_type = $2 AND id = $3`, p.account, p.t.Name, id).Scan(&n)
	return n > 0, err
}

// newID returns id if it is free, or a generated id when id is empty.
func (p *pipelineTx) newID(table, id, what string) (string, error) {
	if id == "" {
		n, err := nextID(p.ctx, p.tx, "pipelines")
		return strconv.FormatInt(n, 10), err
	}
	taken, err := p.idTaken(table, id)
	if err != nil {
		return "", err
	}
	if taken {
		return "", spoke.Errorf(spoke.ECONFLICT, "A %s with id %s already exists.", what, id)
	}
	return id, nil
}

// checkLabel refuses a pipeline label another live pipeline has.
func (p *pipelineTx) checkLabel(label, self string) error {
	if strings.TrimSpace(label) == "" {
		return spoke.Invalidf("A pipeline needs a label.")
	}
	for _, pl := range p.all {
		if !pl.Archived && pl.ID != self && strings.EqualFold(pl.Label, label) {
			return spoke.Errorf(spoke.ECONFLICT, "A pipeline with label %q already exists (id %s).", label, pl.ID)
		}
	}
	return nil
}

// newStages checks and builds a pipeline's stage inputs; stages keep the
// id, creation time and unchanged fields of those in keep.
func (p *pipelineTx) newStages(in []spoke.PipelineStageInput, keep map[string]*spoke.PipelineStage) ([]*spoke.PipelineStage, error) {
	if len(in) == 0 {
		return nil, spoke.Invalidf("A pipeline needs at least one stage.")
	}
	labels := map[string]bool{}
	var out []*spoke.PipelineStage
	for i, s := range in {
		st, err := p.checkStage(s)
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
		} else if st.ID, err = p.newID("pipeline_stages", s.ID, "stage"); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *pipelineTx) checkStage(in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	if strings.TrimSpace(in.Label) == "" {
		return nil, spoke.Invalidf("A pipeline stage needs a label.")
	}
	meta, err := spoke.NormalizeStageMetadata(p.t, in.Metadata)
	if err != nil {
		return nil, err
	}
	now := time.UnixMilli(p.now).UTC()
	return &spoke.PipelineStage{Label: in.Label, DisplayOrder: in.DisplayOrder, Metadata: meta, CreatedAt: now, UpdatedAt: now}, nil
}

// recordsIn counts the live records of the type whose property name has
// the value, for HubSpot's validateReferencesBeforeDelete.
func (p *pipelineTx) recordsIn(name, value string) (int, error) {
	var n int
	err := p.tx.QueryRow(p.ctx, `SELECT count(*) FROM records WHERE account_id = $1 AND object_type = $2 AND NOT archived
		AND properties @> jsonb_build_object($3::text, $4::text)`, p.account, p.t.Name, name, value).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count records in %s %s: %w", name, value, err)
	}
	return n, nil
}

// inUse returns EINVALID if live records have the value of name.
func (p *pipelineTx) inUse(name, value, what string) error {
	n, err := p.recordsIn(name, value)
	if err != nil {
		return err
	}
	if n > 0 {
		return spoke.Invalidf("%s is in use: %d %s %s in it. Move them first, or delete without validateReferencesBeforeDelete.", what, n, p.t.Name, map[bool]string{true: "is", false: "are"}[n == 1])
	}
	return nil
}

// CreatePipeline implements spoke.PipelineService.
func (db *DB) CreatePipeline(ctx context.Context, account int64, objectType string, in spoke.PipelineInput) (*spoke.Pipeline, error) {
	var out *spoke.Pipeline
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		if err := p.checkLabel(in.Label, ""); err != nil {
			return err
		}
		stages, err := p.newStages(in.Stages, nil)
		if err != nil {
			return err
		}
		id, err := p.newID("pipelines", in.ID, "pipeline")
		if err != nil {
			return err
		}
		now := time.UnixMilli(p.now).UTC()
		out = &spoke.Pipeline{ObjectType: p.t.Name, ID: id, Label: in.Label, DisplayOrder: in.DisplayOrder, Stages: stages, CreatedAt: now, UpdatedAt: now}
		sortPipelines([]*spoke.Pipeline{out})
		return p.insertPipeline(out)
	})
	return out, err
}

// ReplacePipeline implements spoke.PipelineService.
func (db *DB) ReplacePipeline(ctx context.Context, account int64, objectType, id string, in spoke.PipelineInput, validateReferences bool) (*spoke.Pipeline, error) {
	var out *spoke.Pipeline
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		cur, err := p.find(id, false)
		if err != nil {
			return err
		}
		if err := p.checkLabel(in.Label, id); err != nil {
			return err
		}
		keep := map[string]*spoke.PipelineStage{}
		for _, s := range cur.Stages {
			keep[s.ID] = s
		}
		stages, err := p.newStages(in.Stages, keep)
		if err != nil {
			return err
		}
		kept := map[string]bool{}
		for _, s := range stages {
			if keep[s.ID] != nil {
				kept[s.ID] = true
				if err := p.writeStage(s); err != nil {
					return err
				}
			} else if err := p.insertStage(id, s); err != nil {
				return err
			}
		}
		_, stageProp, _ := spoke.PipelineProperties(p.t)
		for _, s := range cur.Stages {
			if kept[s.ID] {
				continue
			}
			if validateReferences {
				if err := p.inUse(stageProp, s.ID, "Stage "+s.ID); err != nil {
					return err
				}
			}
			if err := p.archiveStage(s.ID); err != nil {
				return err
			}
		}
		if _, err := p.tx.Exec(ctx, `UPDATE pipelines SET label = $1, display_order = $2, updated_at = $3 WHERE account_id = $4 AND object_type = $5 AND id = $6`,
			in.Label, in.DisplayOrder, p.now, account, p.t.Name, id); err != nil {
			return fmt.Errorf("replace pipeline %s: %w", id, err)
		}
		out = &spoke.Pipeline{ObjectType: p.t.Name, ID: id, Label: in.Label, DisplayOrder: in.DisplayOrder, Stages: stages, CreatedAt: cur.CreatedAt, UpdatedAt: time.UnixMilli(p.now).UTC()}
		sortPipelines([]*spoke.Pipeline{out})
		return nil
	})
	return out, err
}

func (p *pipelineTx) archiveStage(id string) error {
	if _, err := p.tx.Exec(p.ctx, `UPDATE pipeline_stages SET archived = true, archived_at = $1, updated_at = $2 WHERE account_id = $3 AND object_type = $4 AND id = $5`,
		p.now, p.now, p.account, p.t.Name, id); err != nil {
		return fmt.Errorf("archive stage %s: %w", id, err)
	}
	return nil
}

// UpdatePipeline implements spoke.PipelineService.
func (db *DB) UpdatePipeline(ctx context.Context, account int64, objectType, id string, upd spoke.PipelineUpdate) (*spoke.Pipeline, error) {
	var out *spoke.Pipeline
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		if upd.Archived != nil && *upd.Archived {
			return spoke.Invalidf("archived may only be false, to restore an archived pipeline; delete a pipeline with DELETE.")
		}
		restore := upd.Archived != nil
		cur, err := p.find(id, restore)
		if err != nil {
			return err
		}
		next := *cur
		if upd.Label != nil {
			next.Label = *upd.Label
		}
		if upd.DisplayOrder != nil {
			next.DisplayOrder = *upd.DisplayOrder
		}
		if err := p.checkLabel(next.Label, id); err != nil {
			return err
		}
		next.Archived, next.ArchivedAt, next.UpdatedAt = false, time.Time{}, time.UnixMilli(p.now).UTC()
		if _, err := p.tx.Exec(ctx, `UPDATE pipelines SET label = $1, display_order = $2, archived = false, archived_at = NULL, updated_at = $3 WHERE account_id = $4 AND object_type = $5 AND id = $6`,
			next.Label, next.DisplayOrder, p.now, account, p.t.Name, id); err != nil {
			return fmt.Errorf("update pipeline %s: %w", id, err)
		}
		out = &next
		return nil
	})
	return out, err
}

// DeletePipeline implements spoke.PipelineService.
func (db *DB) DeletePipeline(ctx context.Context, account int64, objectType, id string, validateReferences bool) error {
	return db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		if _, err := p.find(id, false); err != nil {
			return err
		}
		live := 0
		for _, pl := range p.all {
			if !pl.Archived {
				live++
			}
		}
		if live == 1 {
			return spoke.Invalidf("Pipeline %s is the only %s pipeline; an account always has at least one.", id, p.t.Singular)
		}
		if validateReferences {
			pipeProp, _, _ := spoke.PipelineProperties(p.t)
			if err := p.inUse(pipeProp, id, "Pipeline "+id); err != nil {
				return err
			}
		}
		_, err := p.tx.Exec(ctx, `UPDATE pipelines SET archived = true, archived_at = $1, updated_at = $2 WHERE account_id = $3 AND object_type = $4 AND id = $5`,
			p.now, p.now, account, p.t.Name, id)
		return err
	})
}

// CreateStage implements spoke.PipelineService.
func (db *DB) CreateStage(ctx context.Context, account int64, objectType, pipelineID string, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	var out *spoke.PipelineStage
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		pl, err := p.find(pipelineID, false)
		if err != nil {
			return err
		}
		if out, err = p.checkStage(in); err != nil {
			return err
		}
		if err := checkStageLabel(pl, out.Label, ""); err != nil {
			return err
		}
		if out.ID, err = p.newID("pipeline_stages", in.ID, "stage"); err != nil {
			return err
		}
		return p.insertStage(pipelineID, out)
	})
	return out, err
}

func checkStageLabel(pl *spoke.Pipeline, label, self string) error {
	for _, s := range pl.Stages {
		if s.ID != self && strings.EqualFold(s.Label, label) {
			return spoke.Errorf(spoke.ECONFLICT, "Pipeline %s already has a stage labelled %q (id %s); stage labels must be unique within a pipeline.", pl.ID, label, s.ID)
		}
	}
	return nil
}

// stageOf returns a live stage of a live pipeline, or ENOTFOUND.
func (p *pipelineTx) stageOf(pipelineID, stageID string) (*spoke.Pipeline, *spoke.PipelineStage, error) {
	pl, err := p.find(pipelineID, false)
	if err != nil {
		return nil, nil, err
	}
	s := pl.Stage(stageID)
	if s == nil {
		return nil, nil, stageNotFound(stageID, pipelineID)
	}
	return pl, s, nil
}

// ReplaceStage implements spoke.PipelineService.
func (db *DB) ReplaceStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, in spoke.PipelineStageInput) (*spoke.PipelineStage, error) {
	var out *spoke.PipelineStage
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		pl, cur, err := p.stageOf(pipelineID, stageID)
		if err != nil {
			return err
		}
		if out, err = p.checkStage(in); err != nil {
			return err
		}
		if err := checkStageLabel(pl, out.Label, stageID); err != nil {
			return err
		}
		out.ID, out.CreatedAt = stageID, cur.CreatedAt
		return p.writeStage(out)
	})
	return out, err
}

// UpdateStage implements spoke.PipelineService.
func (db *DB) UpdateStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, upd spoke.PipelineStageUpdate) (*spoke.PipelineStage, error) {
	var out *spoke.PipelineStage
	err := db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		if upd.Archived != nil && *upd.Archived {
			return spoke.Invalidf("archived may only be false; delete a stage with DELETE.")
		}
		pl, cur, err := p.stageOf(pipelineID, stageID)
		if err != nil {
			return err
		}
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
		if out, err = p.checkStage(in); err != nil {
			return err
		}
		if err := checkStageLabel(pl, out.Label, stageID); err != nil {
			return err
		}
		out.ID, out.CreatedAt = stageID, cur.CreatedAt
		return p.writeStage(out)
	})
	return out, err
}

// DeleteStage implements spoke.PipelineService.
func (db *DB) DeleteStage(ctx context.Context, account int64, objectType, pipelineID, stageID string, validateReferences bool) error {
	return db.pipelineChange(ctx, account, objectType, func(p *pipelineTx) error {
		pl, _, err := p.stageOf(pipelineID, stageID)
		if err != nil {
			return err
		}
		if len(pl.Stages) == 1 {
			return spoke.Invalidf("Stage %s is the only stage of pipeline %s; a pipeline always has at least one stage.", stageID, pipelineID)
		}
		if validateReferences {
			_, stageProp, _ := spoke.PipelineProperties(p.t)
			if err := p.inUse(stageProp, stageID, "Stage "+stageID); err != nil {
				return err
			}
		}
		return p.archiveStage(stageID)
	})
}
