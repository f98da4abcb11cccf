package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// The store keeps flows as documents: flow_revisions holds every saved
// revision's JSON (flow.Parse's Raw, without id, revisionId, createdAt and
// updatedAt, which come from the rows), and flows holds the current
// revision number and the columns listings and triggers filter on. It does
// not validate flows; callers run flow.Validate first.

// flowID parses a flow id; an id that is not a positive integer names no
// flow.
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

// decodeFlow rebuilds a flow from a stored document and its rows.
func decodeFlow(id, revision int64, doc string, created, updated int64) (*spoke.Flow, error) {
	f, err := flow.Parse([]byte(doc))
	if err != nil {
		// A document stored by an older, more lenient version: read it
		// as it is rather than hide the flow.
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

// document returns the JSON to store for f.
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
	for _, k := range []string{"id", "revisionId"} {
		delete(m, k)
	}
	b, err = json.Marshal(m)
	return string(b), err
}

const qFlowCurrent = `SELECT f.id, f.revision, r.document, f.created_at, r.created_at
	FROM flows f JOIN flow_revisions r ON r.flow_id = f.id AND r.revision = f.revision
	WHERE f.account_id = ? AND f.deleted = 0`

func scanFlows(rows *sql.Rows) ([]*spoke.Flow, error) {
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

// ListFlows implements spoke.FlowService: flows with ids above after, in
// id order, and whether there are more.
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
	rows, err := db.read.QueryContext(ctx, qFlowCurrent+` AND f.id > ? ORDER BY f.id LIMIT ?`, account, a, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list flows: %w", err)
	}
	out, err := scanFlows(rows)
	if err != nil {
		return nil, false, fmt.Errorf("list flows: %w", err)
	}
	out, more := page(out, limit)
	return out, more, nil
}

// GetFlow implements spoke.FlowService.
func (db *DB) GetFlow(ctx context.Context, account int64, id string) (*spoke.Flow, error) {
	n, err := flowID(id)
	if err != nil {
		return nil, notFoundFlow(id)
	}
	rows, err := db.read.QueryContext(ctx, qFlowCurrent+` AND f.id = ?`, account, n)
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

// GetFlowRevision implements spoke.FlowService. Revisions of a deleted
// flow can still be read (executions refer to them).
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
	err = db.read.QueryRowContext(ctx, `SELECT r.document, f.created_at, r.created_at, r.author, r.message
		FROM flows f JOIN flow_revisions r ON r.flow_id = f.id
		WHERE f.account_id = ? AND f.id = ? AND r.revision = ?`, account, n, rev).Scan(&doc, &created, &updated, &saved.Author, &saved.Message)
	if errors.Is(err, sql.ErrNoRows) {
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
	if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM flows WHERE account_id = ? AND id = ?)`, account, n).Scan(&exists); err != nil {
		return nil, false, fmt.Errorf("list revisions of flow %d: %w", n, err)
	}
	if !exists {
		return nil, false, notFoundFlow(id)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT revision, document, created_at, author, message FROM flow_revisions
		WHERE flow_id = ? AND revision > ? ORDER BY revision LIMIT ?`, n, after, limit+1)
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
		_ = json.Unmarshal([]byte(doc), &sum) // a summary: an odd old document lists as disabled with no actions
		r.RevisionID, r.CreatedAt = strconv.FormatInt(rev, 10), time.UnixMilli(created).UTC()
		r.IsEnabled, r.Actions = sum.IsEnabled, len(sum.Actions)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	out, more := page(out, limit)
	return out, more, nil
}

// CreateFlow implements spoke.FlowService: it stores f (which the caller
// has validated) as revision 1 and returns the stored flow.
func (db *DB) CreateFlow(ctx context.Context, account int64, f *spoke.Flow) (*spoke.Flow, error) {
	doc, err := document(f)
	if err != nil {
		return nil, err
	}
	now := db.nowMs()
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO flows (account_id, revision, object_type_id, enabled, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)`,
			account, f.ObjectTypeID, f.IsEnabled, now, now)
		if err != nil {
			return fmt.Errorf("insert flow: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO flow_revisions (flow_id, revision, document, created_at, author, message) VALUES (?, 1, ?, ?, ?, ?)`,
			id, doc, now, f.Saved.Author, f.Saved.Message); err != nil {
			return fmt.Errorf("insert flow revision: %w", err)
		}
		return syncRollout(ctx, tx, account, strconv.FormatInt(id, 10), "1", f, now)
	})
	if err != nil {
		return nil, err
	}
	return withSaved(decodeFlow(id, 1, doc, now, now))(f.Saved)
}

// withSaved sets the save info of a flow just stored.
func withSaved(f *spoke.Flow, err error) func(spoke.SaveInfo) (*spoke.Flow, error) {
	return func(s spoke.SaveInfo) (*spoke.Flow, error) {
		if f != nil {
			f.Saved = s
		}
		return f, err
	}
}

// UpdateFlow implements spoke.FlowService: it replaces flow f.ID whole
// with f as the next revision. f.RevisionID must be the current revision:
// a stale or missing one is ECONFLICT, with the current revision in the
// message; an unknown or deleted flow is ENOTFOUND.
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
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT revision, created_at FROM flows WHERE account_id = ? AND id = ? AND deleted = 0`, account, n).Scan(&cur, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFoundFlow(f.ID)
		}
		if err != nil {
			return fmt.Errorf("read flow %d: %w", n, err)
		}
		if err := spoke.CheckRevision(f.ID, strconv.FormatInt(cur, 10), f.RevisionID); err != nil {
			return err
		}
		rev = cur + 1
		if _, err := tx.ExecContext(ctx, `INSERT INTO flow_revisions (flow_id, revision, document, created_at, author, message) VALUES (?, ?, ?, ?, ?, ?)`,
			n, rev, doc, now, f.Saved.Author, f.Saved.Message); err != nil {
			return fmt.Errorf("insert flow revision: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE flows SET revision = ?, object_type_id = ?, enabled = ?, updated_at = ? WHERE id = ?`,
			rev, f.ObjectTypeID, f.IsEnabled, now, n); err != nil {
			return fmt.Errorf("update flow: %w", err)
		}
		return syncRollout(ctx, tx, account, strconv.FormatInt(n, 10), strconv.FormatInt(rev, 10), f, now)
	})
	if err != nil {
		return nil, err
	}
	return withSaved(decodeFlow(n, rev, doc, created, now))(f.Saved)
}

// DeleteFlow implements spoke.FlowService. The flow disappears from
// listings and reads; its revisions stay.
func (db *DB) DeleteFlow(ctx context.Context, account int64, id string) error {
	n, err := flowID(id)
	if err != nil {
		return notFoundFlow(id)
	}
	now := db.nowMs()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flows SET deleted = 1, enabled = 0, deleted_at = ?, updated_at = ? WHERE account_id = ? AND id = ? AND deleted = 0`, now, now, account, n)
		if err != nil {
			return fmt.Errorf("delete flow %d: %w", n, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return notFoundFlow(id)
		}
		return nil
	})
}

// EnabledFlows implements spoke.FlowService: the enabled flows of an
// object type (plural name or id), in id order.
func (db *DB) EnabledFlows(ctx context.Context, account int64, objectType string) ([]*spoke.Flow, error) {
	t, err := db.ObjectType(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, qFlowCurrent+` AND f.object_type_id = ? AND f.enabled = 1 ORDER BY f.id`, account, t.ID)
	if err != nil {
		return nil, fmt.Errorf("enabled flows: %w", err)
	}
	out, err := scanFlows(rows)
	if err != nil {
		return nil, fmt.Errorf("enabled flows: %w", err)
	}
	return out, nil
}
