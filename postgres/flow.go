package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

func flowID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, spoke.NotFoundf("Flow %s does not exist.", strconv.Quote(id))
	}
	return n, nil
}

func notFoundFlow(id string) error {
	return &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: fmt.Sprintf("Flow %s does not exist.", id), Context: map[string][]string{"flowId": {id}}}
}

// decodeFlow parses a stored revision, keeping its document byte for byte.
func decodeFlow(id, revision int64, doc string, created, updated int64) (*spoke.Flow, error) {
	f, err := flow.Parse([]byte(doc))
	if err != nil {
		f = &spoke.Flow{}
		if err2 := json.Unmarshal([]byte(doc), f); err2 != nil {
			return nil, fmt.Errorf("decode flow %d revision %d: %w", id, revision, err2)
		}
	}
	f.Raw = json.RawMessage(doc)
	f.ID = strconv.FormatInt(id, 10)
	f.RevisionID = strconv.FormatInt(revision, 10)
	f.CreatedAt = time.UnixMilli(created).UTC()
	f.UpdatedAt = time.UnixMilli(updated).UTC()
	return f, nil
}

// document returns the JSON stored for a flow: its Raw document as sent,
// or its typed fields without id and revisionId.
func document(f *spoke.Flow) (string, error) {
	if len(f.Raw) > 0 {
		if !json.Valid(f.Raw) {
			return "", spoke.Invalidf("Invalid flow: the document is not valid JSON.")
		}
		return string(f.Raw), nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode flow: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	delete(m, "id")
	delete(m, "revisionId")
	b, err = json.Marshal(m)
	return string(b), err
}

const qFlowCurrent = `SELECT f.id, f.revision, r.document, f.created_at, r.created_at
	FROM flows f JOIN flow_revisions r ON r.flow_id = f.id AND r.revision = f.revision
	WHERE f.account_id = $1 AND NOT f.deleted`

func scanFlows(rows pgx.Rows) ([]*spoke.Flow, error) {
	defer rows.Close()
	var out []*spoke.Flow
	for rows.Next() {
		var id, rev, created, updated int64
		var doc string
		if err := rows.Scan(&id, &rev, &doc, &created, &updated); err != nil {
			return nil, err
		}
		f, err := decodeFlow(id, rev, doc, created, updated)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// ListFlows implements spoke.FlowService.
func (db *DB) ListFlows(ctx context.Context, account int64, after string, limit int) ([]*spoke.Flow, bool, error) {
	var a int64
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 0 {
			return nil, false, spoke.Invalidf("after must be the cursor from paging.next.after, got %s.", strconv.Quote(after))
		}
		a = n
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, qFlowCurrent+` AND f.id > $2 ORDER BY f.id LIMIT $3`, account, a, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list flows: %w", err)
	}
	out, err := scanFlows(rows)
	if err != nil {
		return nil, false, fmt.Errorf("list flows: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// GetFlow implements spoke.FlowService.
func (db *DB) GetFlow(ctx context.Context, account int64, id string) (*spoke.Flow, error) {
	n, err := flowID(id)
	if err != nil {
		return nil, notFoundFlow(id)
	}
	rows, err := db.pool.Query(ctx, qFlowCurrent+` AND f.id = $2`, account, n)
	if err != nil {
		return nil, fmt.Errorf("get flow %d: %w", n, err)
	}
	out, err := scanFlows(rows)
	if err != nil {
		return nil, fmt.Errorf("get flow %d: %w", n, err)
	}
	if len(out) == 0 {
		return nil, notFoundFlow(id)
	}
	return out[0], nil
}

// GetFlowRevision implements spoke.FlowService.
func (db *DB) GetFlowRevision(ctx context.Context, account int64, id, revisionID string) (*spoke.Flow, error) {
	n, err := flowID(id)
	if err != nil {
		return nil, notFoundFlow(id)
	}
	rev, err := strconv.ParseInt(revisionID, 10, 64)
	if err != nil || rev <= 0 {
		return nil, spoke.NotFoundf("Flow %s has no revision %s.", id, strconv.Quote(revisionID))
	}
	var doc string
	var created, updated int64
	var saved spoke.SaveInfo
	err = db.pool.QueryRow(ctx, `SELECT r.document, f.created_at, r.created_at, r.author, r.message
		FROM flows f JOIN flow_revisions r ON r.flow_id = f.id
		WHERE f.account_id = $1 AND f.id = $2 AND r.revision = $3`, account, n, rev).Scan(&doc, &created, &updated, &saved.Author, &saved.Message)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Flow %s has no revision %s.", id, revisionID), Context: map[string][]string{"flowId": {id}, "revisionId": {revisionID}}}
	}
	if err != nil {
		return nil, fmt.Errorf("get flow %d revision %d: %w", n, rev, err)
	}
	f, err := decodeFlow(n, rev, doc, created, updated)
	if err != nil {
		return nil, err
	}
	f.Saved = saved
	return f, nil
}

// ListFlowRevisions implements spoke.FlowService. Revisions of a deleted
// flow are listed too, as GetFlowRevision reads them.
func (db *DB) ListFlowRevisions(ctx context.Context, account int64, id string, after int64, limit int) ([]*spoke.FlowRevision, bool, error) {
	n, err := flowID(id)
	if err != nil {
		return nil, false, notFoundFlow(id)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flows WHERE account_id = $1 AND id = $2)`, account, n).Scan(&exists); err != nil {
		return nil, false, fmt.Errorf("list revisions of flow %d: %w", n, err)
	}
	if !exists {
		return nil, false, notFoundFlow(id)
	}
	rows, err := db.pool.Query(ctx, `SELECT revision, document, created_at, author, message FROM flow_revisions
		WHERE flow_id = $1 AND revision > $2 ORDER BY revision LIMIT $3`, n, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list revisions of flow %d: %w", n, err)
	}
	defer rows.Close()
	var out []*spoke.FlowRevision
	for rows.Next() {
		var rev, created int64
		var doc string
		r := &spoke.FlowRevision{FlowID: id}
		if err := rows.Scan(&rev, &doc, &created, &r.Author, &r.Message); err != nil {
			return nil, false, err
		}
		var sum struct {
			IsEnabled bool              `json:"isEnabled"`
			Actions   []json.RawMessage `json:"actions"`
		}
		_ = json.Unmarshal([]byte(doc), &sum) // a summary: an odd document lists as disabled with no actions
		r.RevisionID, r.CreatedAt = strconv.FormatInt(rev, 10), time.UnixMilli(created).UTC()
		r.IsEnabled, r.Actions = sum.IsEnabled, len(sum.Actions)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// CreateFlow implements spoke.FlowService.
func (db *DB) CreateFlow(ctx context.Context, account int64, f *spoke.Flow) (*spoke.Flow, error) {
	doc, err := document(f)
	if err != nil {
		return nil, err
	}
	now := db.nowMs()
	var id int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO flows (account_id, revision, object_type_id, enabled, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $4) RETURNING id`,
			account, f.ObjectTypeID, f.IsEnabled, now).Scan(&id); err != nil {
			return fmt.Errorf("insert flow: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO flow_revisions (flow_id, revision, document, created_at, author, message) VALUES ($1, 1, $2, $3, $4, $5)`,
			id, doc, now, f.Saved.Author, f.Saved.Message); err != nil {
			return fmt.Errorf("insert flow revision: %w", err)
		}
		if err := syncRollout(ctx, tx, account, strconv.FormatInt(id, 10), "1", f, now); err != nil {
			return err
		}
		return notifyFlows(ctx, tx, account)
	})
	if err != nil {
		return nil, err
	}
	created, err := decodeFlow(id, 1, doc, now, now)
	if err != nil {
		return nil, err
	}
	created.Saved = f.Saved
	return created, nil
}

// UpdateFlow implements spoke.FlowService. The flow's row is locked for
// the update, so two processes updating one revision cannot both win.
func (db *DB) UpdateFlow(ctx context.Context, account int64, f *spoke.Flow) (*spoke.Flow, error) {
	n, err := flowID(f.ID)
	if err != nil {
		return nil, notFoundFlow(f.ID)
	}
	doc, err := document(f)
	if err != nil {
		return nil, err
	}
	now := db.nowMs()
	var rev, created int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT revision, created_at FROM flows WHERE account_id = $1 AND id = $2 AND NOT deleted FOR UPDATE`, account, n).Scan(&cur, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFoundFlow(f.ID)
		}
		if err != nil {
			return fmt.Errorf("read flow %d: %w", n, err)
		}
		if f.RevisionID != strconv.FormatInt(cur, 10) {
			msg := fmt.Sprintf("Flow %d is at revision %d; the update names revision %s. GET the flow and send its current revisionId.", n, cur, strconv.Quote(f.RevisionID))
			if f.RevisionID == "" {
				msg = fmt.Sprintf("Flow %d is at revision %d; a PUT must send revisionId (the current one, %d).", n, cur, cur)
			}
			return &spoke.Error{Code: spoke.ECONFLICT, Category: "CONFLICT", Message: msg,
				Context: map[string][]string{"revisionId": {strconv.FormatInt(cur, 10)}}}
		}
		rev = cur + 1
		if _, err := tx.Exec(ctx, `INSERT INTO flow_revisions (flow_id, revision, document, created_at, author, message) VALUES ($1, $2, $3, $4, $5, $6)`,
			n, rev, doc, now, f.Saved.Author, f.Saved.Message); err != nil {
			return fmt.Errorf("insert flow revision: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE flows SET revision = $1, object_type_id = $2, enabled = $3, updated_at = $4 WHERE id = $5`,
			rev, f.ObjectTypeID, f.IsEnabled, now, n); err != nil {
			return fmt.Errorf("update flow: %w", err)
		}
		if err := syncRollout(ctx, tx, account, strconv.FormatInt(n, 10), strconv.FormatInt(rev, 10), f, now); err != nil {
			return err
		}
		return notifyFlows(ctx, tx, account)
	})
	if err != nil {
		return nil, err
	}
	updated, err := decodeFlow(n, rev, doc, created, now)
	if err != nil {
		return nil, err
	}
	updated.Saved = f.Saved
	return updated, nil
}

// DeleteFlow implements spoke.FlowService.
func (db *DB) DeleteFlow(ctx context.Context, account int64, id string) error {
	n, err := flowID(id)
	if err != nil {
		return notFoundFlow(id)
	}
	now := db.nowMs()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE flows SET deleted = true, enabled = false, deleted_at = $1, updated_at = $1 WHERE account_id = $2 AND id = $3 AND NOT deleted`, now, account, n)
		if err != nil {
			return fmt.Errorf("delete flow %d: %w", n, err)
		}
		if tag.RowsAffected() == 0 {
			return notFoundFlow(id)
		}
		// The flow's actions' shared counters (rate-limit windows, owner
		// rotations) die with it: a deleted flow never runs again.
		for _, table := range []string{"rate_windows", "owner_rotations"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE account_id = $1 AND flow_id = $2`, account, strconv.FormatInt(n, 10)); err != nil {
				return fmt.Errorf("delete flow %d: %s: %w", n, table, err)
			}
		}
		return notifyFlows(ctx, tx, account)
	})
}

// EnabledFlows implements spoke.FlowService.
func (db *DB) EnabledFlows(ctx context.Context, account int64, objectType string) ([]*spoke.Flow, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, qFlowCurrent+` AND f.object_type_id = $2 AND f.enabled ORDER BY f.id`, account, t.ID)
	if err != nil {
		return nil, fmt.Errorf("enabled flows: %w", err)
	}
	out, err := scanFlows(rows)
	if err != nil {
		return nil, fmt.Errorf("enabled flows: %w", err)
	}
	return out, nil
}
