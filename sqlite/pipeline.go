package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/crmrules"
)

// loadPipelines reads every pipeline of t, archived ones included, with
// their live stages; an account that never changed its pipelines of t has
// HubSpot's defaults.
func loadPipelines(ctx context.Context, q queryer, account int64, t spoke.ObjectType) ([]*spoke.Pipeline, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, label, display_order, created_at, updated_at, archived, archived_at FROM pipelines WHERE account_id = ? AND object_type = ?`, account, t.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s pipelines: %w", t.Singular, err)
	}
	var out []*spoke.Pipeline
	byID := map[string]*spoke.Pipeline{}
	for rows.Next() {
		p := &spoke.Pipeline{ObjectType: t.Name}
		var created, updated int64
		var archivedAt sql.NullInt64
		if err := rows.Scan(&p.ID, &p.Label, &p.DisplayOrder, &created, &updated, &p.Archived, &archivedAt); err != nil {
			rows.Close()
			return nil, err
		}
		p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if archivedAt.Valid {
			p.ArchivedAt = time.UnixMilli(archivedAt.Int64).UTC()
		}
		out = append(out, p)
		byID[p.ID] = p
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return spoke.DefaultPipelines(t), nil
	}
	rows, err = q.QueryContext(ctx, `SELECT pipeline_id, id, label, display_order, metadata, created_at, updated_at FROM pipeline_stages
		WHERE account_id = ? AND object_type = ? AND archived = 0`, account, t.Name)
	if err != nil {
		return nil, fmt.Errorf("load %s pipeline stages: %w", t.Singular, err)
	}
	defer rows.Close()
	for rows.Next() {
		var pipeline, meta string
		var created, updated int64
		s := &spoke.PipelineStage{}
		if err := rows.Scan(&pipeline, &s.ID, &s.Label, &s.DisplayOrder, &meta, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(meta), &s.Metadata); err != nil {
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
	crmrules.SortPipelines(out)
	return out, nil
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
	return nil, crmrules.PipelineNotFound(t, id)
}

// pipelineTx is one pipeline change inside a write transaction: it holds
// the type's pipelines as stored (the defaults written first if the
// account had none) and writes its changes through.
type pipelineTx struct {
	ctx     context.Context
	tx      *sql.Tx
	account int64
	t       spoke.ObjectType
	now     int64
	all     []*spoke.Pipeline // every pipeline, archived ones too
}

// ChangePipelines implements crmrules.PipelineChanger: it runs fn on the
// type's pipelines in a write transaction and forgets the cached ones
// after it commits. The pipeline writes of spoke.PipelineService
// (crmrules.PipelineWrites, embedded in DB) run in it.
func (db *DB) ChangePipelines(ctx context.Context, account int64, objectType string, fn func(crmrules.PipelineTx) error) error {
	t, err := spoke.PipelineTypeFor(objectType)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		p := &pipelineTx{ctx: ctx, tx: tx, account: account, t: t, now: db.nowMs()}
		if err := p.load(); err != nil {
			return err
		}
		return fn(p)
	})
	if err != nil {
		return err
	}
	db.forgetDynamic(account)
	return nil
}

// load reads the stored pipelines, writing HubSpot's defaults first if
// there are none, so a change applies to what the account saw.
func (p *pipelineTx) load() error {
	var n int
	if err := p.tx.QueryRowContext(p.ctx, `SELECT count(*) FROM pipelines WHERE account_id = ? AND object_type = ?`, p.account, p.t.Name).Scan(&n); err != nil {
		return fmt.Errorf("count pipelines: %w", err)
	}
	if n == 0 {
		for _, d := range spoke.DefaultPipelines(p.t) {
			if err := p.InsertPipeline(d); err != nil {
				return err
			}
		}
	}
	all, err := loadPipelines(p.ctx, p.tx, p.account, p.t)
	p.all = all
	return err
}

func (p *pipelineTx) InsertPipeline(pl *spoke.Pipeline) error {
	if _, err := p.tx.ExecContext(p.ctx, `INSERT INTO pipelines (account_id, object_type, id, label, display_order, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.account, p.t.Name, pl.ID, pl.Label, pl.DisplayOrder, pl.CreatedAt.UnixMilli(), pl.UpdatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("insert pipeline %s: %w", pl.ID, err)
	}
	for _, s := range pl.Stages {
		if err := p.InsertStage(pl.ID, s); err != nil {
			return err
		}
	}
	return nil
}

func (p *pipelineTx) InsertStage(pipeline string, s *spoke.PipelineStage) error {
	meta, _ := json.Marshal(s.Metadata)
	if _, err := p.tx.ExecContext(p.ctx, `INSERT INTO pipeline_stages (account_id, object_type, pipeline_id, id, label, display_order, metadata, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.account, p.t.Name, pipeline, s.ID, s.Label, s.DisplayOrder, string(meta), s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli()); err != nil {
		return fmt.Errorf("insert stage %s: %w", s.ID, err)
	}
	return nil
}

func (p *pipelineTx) WriteStage(s *spoke.PipelineStage) error {
	meta, _ := json.Marshal(s.Metadata)
	_, err := p.tx.ExecContext(p.ctx, `UPDATE pipeline_stages SET label = ?, display_order = ?, metadata = ?, updated_at = ? WHERE account_id = ? AND object_type = ? AND id = ?`,
		s.Label, s.DisplayOrder, string(meta), p.now, p.account, p.t.Name, s.ID)
	if err != nil {
		return fmt.Errorf("update stage %s: %w", s.ID, err)
	}
	return nil
}

// idTaken reports whether a pipeline or stage of the type, live or
// archived, has the id.
func (p *pipelineTx) idTaken(table, id string) (bool, error) {
	var n int
	err := p.tx.QueryRowContext(p.ctx, `SELECT count(*) FROM `+table+` WHERE account_id = ? AND object_type = ? AND id = ?`, p.account, p.t.Name, id).Scan(&n)
	return n > 0, err
}

// NewID implements crmrules.PipelineTx.
func (p *pipelineTx) NewID(table, id, what string) (string, error) {
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

// Type implements crmrules.PipelineTx.
func (p *pipelineTx) Type() spoke.ObjectType { return p.t }

// NowMs implements crmrules.PipelineTx.
func (p *pipelineTx) NowMs() int64 { return p.now }

// Pipelines implements crmrules.PipelineTx.
func (p *pipelineTx) Pipelines() []*spoke.Pipeline { return p.all }

// RecordsIn implements crmrules.PipelineTx.
func (p *pipelineTx) RecordsIn(name, value string) (int, error) {
	var n int
	err := p.tx.QueryRowContext(p.ctx, `SELECT count(*) FROM records WHERE account_id = ? AND `+typeFilter(p.t.Name, false)+` AND json_extract(properties, ?) = ?`,
		p.account, jsonPath(name), value).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count records in %s %s: %w", name, value, err)
	}
	return n, nil
}

// SetPipeline implements crmrules.PipelineTx.
func (p *pipelineTx) SetPipeline(id, label string, displayOrder int) error {
	if _, err := p.tx.ExecContext(p.ctx, `UPDATE pipelines SET label = ?, display_order = ?, archived = 0, archived_at = NULL, updated_at = ? WHERE account_id = ? AND object_type = ? AND id = ?`,
		label, displayOrder, p.now, p.account, p.t.Name, id); err != nil {
		return fmt.Errorf("update pipeline %s: %w", id, err)
	}
	return nil
}

// ArchivePipeline implements crmrules.PipelineTx.
func (p *pipelineTx) ArchivePipeline(id string) error {
	if _, err := p.tx.ExecContext(p.ctx, `UPDATE pipelines SET archived = 1, archived_at = ?, updated_at = ? WHERE account_id = ? AND object_type = ? AND id = ?`,
		p.now, p.now, p.account, p.t.Name, id); err != nil {
		return fmt.Errorf("archive pipeline %s: %w", id, err)
	}
	return nil
}

// ArchiveStage implements crmrules.PipelineTx.
func (p *pipelineTx) ArchiveStage(id string) error {
	if _, err := p.tx.ExecContext(p.ctx, `UPDATE pipeline_stages SET archived = 1, archived_at = ?, updated_at = ? WHERE account_id = ? AND object_type = ? AND id = ?`,
		p.now, p.now, p.account, p.t.Name, id); err != nil {
		return fmt.Errorf("archive stage %s: %w", id, err)
	}
	return nil
}
