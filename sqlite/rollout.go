package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spokehq/spoke"
)

// Rollouts: a flow with a rollout config that is saved enabled starts a new
// rollout (in the same transaction as the revision). While the latest
// rollout of a flow holds, its new enrollments are inserted HELD (see
// qHoldingState); the engine's rollout controller releases them stage by
// stage with ReleaseHeld. Claim takes only ACTIVE rows, so the engine's hot
// path never sees a held enrollment.

// rolloutReplaced is the state of a rollout superseded by a newer save of
// its flow; it holds nothing.
const rolloutReplaced = "REPLACED"

// qHolding is true when a flow's rollout holds new enrollments.
const qHolding = `EXISTS (SELECT 1 FROM rollouts WHERE flow_id = ? AND state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED'))`

// syncRollout starts, keeps or ends the rollout of a flow just saved as
// revision rev, inside the save's transaction: saving an enabled flow with
// a rollout starts a new one at its first stage; saving it without one
// ends the rollout in progress and releases what it held; saving a
// disabled flow with a rollout keeps what is held.
func syncRollout(ctx context.Context, tx *sql.Tx, account int64, flowID, rev string, f *spoke.Flow, now int64) error {
	if f.Rollout != nil && !f.IsEnabled {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = ?, updated_at = ? WHERE flow_id = ? AND state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED')`,
		rolloutReplaced, now, flowID); err != nil {
		return fmt.Errorf("end the rollout of flow %s: %w", flowID, err)
	}
	if f.Rollout == nil {
		_, err := tx.ExecContext(ctx, `UPDATE enrollments SET status = 'ACTIVE', revision_id = ?, run_at = ?, updated_at = ? WHERE flow_id = ? AND status = 'HELD'`,
			rev, now, now, flowID)
		if err != nil {
			return fmt.Errorf("release the held enrollments of flow %s: %w", flowID, err)
		}
		return nil
	}
	cfg, err := json.Marshal(f.Rollout)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollouts (account_id, flow_id, revision_id, config, stage, state, started_at, stage_started_at, updated_at)
		VALUES (?, ?, ?, ?, 0, 'RUNNING', ?, ?, ?)`, account, flowID, rev, string(cfg), now, now, now); err != nil {
		return fmt.Errorf("start the rollout of flow %s: %w", flowID, err)
	}
	return nil
}

const rolloutColumns = `id, account_id, flow_id, revision_id, config, stage, state, started_at, stage_started_at, updated_at`

func scanRollout(s interface{ Scan(...any) error }) (*spoke.Rollout, error) {
	var r spoke.Rollout
	var cfg string
	var started, stageStarted, updated int64
	if err := s.Scan(&r.ID, &r.AccountID, &r.FlowID, &r.RevisionID, &cfg, &r.Stage, &r.State, &started, &stageStarted, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cfg), &r.Config); err != nil {
		return nil, fmt.Errorf("decode rollout %d: %w", r.ID, err)
	}
	r.StartedAt, r.StageStartedAt, r.UpdatedAt = time.UnixMilli(started).UTC(), time.UnixMilli(stageStarted).UTC(), time.UnixMilli(updated).UTC()
	return &r, nil
}

// ActiveRollouts implements spoke.RolloutStore.
func (db *DB) ActiveRollouts(ctx context.Context) ([]*spoke.Rollout, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CurrentRollout implements spoke.RolloutStore.
func (db *DB) CurrentRollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error) {
	r, err := scanRollout(db.read.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE account_id = ? AND flow_id = ? ORDER BY id DESC LIMIT 1`, account, flowID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("Flow %s has no rollout: give it \"rollout\": {\"stages\": [...]} and turn it on.", flowID)
	}
	if err != nil {
		return nil, fmt.Errorf("read the rollout of flow %s: %w", flowID, err)
	}
	return r, nil
}

// StageCounts implements spoke.RolloutStore.
func (db *DB) StageCounts(ctx context.Context, r *spoke.Rollout) (spoke.StageCounts, error) {
	var c spoke.StageCounts
	rows, err := db.read.QueryContext(ctx, `SELECT e.status, count(*) FROM rollout_enrollments m JOIN enrollments e ON e.id = m.enrollment_id
		WHERE m.rollout_id = ? AND m.stage = ? GROUP BY e.status`, r.ID, r.Stage)
	if err != nil {
		return c, fmt.Errorf("count the stage of rollout %d: %w", r.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return c, err
		}
		c.Total += n
		switch status {
		case spoke.EnrollmentActive:
			c.Running += n
		case spoke.EnrollmentCompleted:
			c.Completed += n
		case spoke.EnrollmentFailed:
			c.Failed += n
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM enrollments WHERE account_id = ? AND flow_id = ? AND status = 'HELD'`, r.AccountID, r.FlowID).Scan(&c.Held)
	if err != nil {
		return c, fmt.Errorf("count held enrollments of flow %s: %w", r.FlowID, err)
	}
	return c, nil
}

// ReleaseHeld implements spoke.RolloutStore. The enrollments run on the
// rollout's revision: they never started, and a revision saved while they
// waited (a fix, a restore) is the one the rollout tests. In the same
// transaction it checks that the rollout still runs the stage r names and
// counts what the stage holds already, so a stale r (another caller moved
// the rollout on, or filled the stage) releases nothing more than the
// stage's size.
func (db *DB) ReleaseHeld(ctx context.Context, r *spoke.Rollout, n int, now time.Time) (int, error) {
	if n == 0 {
		return 0, nil
	}
	var released int
	ms := now.UnixMilli()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		released = 0
		var stage int
		var state string
		err := tx.QueryRowContext(ctx, `SELECT stage, state FROM rollouts WHERE id = ?`, r.ID).Scan(&stage, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if state != spoke.RolloutRunning || stage != r.Stage {
			return nil // moved on: the caller's figures are stale
		}
		limit := n
		if size := r.StageSize(); size >= 0 {
			var in int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rollout_enrollments WHERE rollout_id = ? AND stage = ?`, r.ID, r.Stage).Scan(&in); err != nil {
				return err
			}
			if limit < 0 || limit > size-in {
				limit = size - in
			}
			if limit <= 0 {
				return nil
			}
		}
		if limit < 0 {
			limit = -1 // SQLite: no limit
		}
		rows, err := tx.QueryContext(ctx, `UPDATE enrollments SET status = 'ACTIVE', revision_id = ?, run_at = ?, updated_at = ?
			WHERE id IN (SELECT id FROM enrollments WHERE account_id = ? AND flow_id = ? AND status = 'HELD' ORDER BY id LIMIT ?) RETURNING id`,
			r.RevisionID, ms, ms, r.AccountID, r.FlowID, limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		released = len(ids)
		if r.StageSize() < 0 {
			return nil // the "all" stage is not counted
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO rollout_enrollments (rollout_id, stage, enrollment_id) VALUES (?, ?, ?)`, r.ID, r.Stage, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release held enrollments of flow %s: %w", r.FlowID, err)
	}
	if released > 0 {
		db.notifyEnrolled()
	}
	return released, nil
}

// SetRolloutState implements spoke.RolloutStore: a compare-and-set on
// the state and stage r was read at.
func (db *DB) SetRolloutState(ctx context.Context, r *spoke.Rollout, from string, stage int, state string, now time.Time) error {
	ms := now.UnixMilli()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rollouts SET stage = ?, state = ?, updated_at = ?,
			stage_started_at = CASE WHEN stage = ? THEN stage_started_at ELSE ? END WHERE id = ? AND state = ? AND stage = ?`,
			stage, state, ms, stage, ms, r.ID, from, r.Stage)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return spoke.Errorf(spoke.ECONFLICT, "The rollout of flow %s is no longer %s at stage %d.", r.FlowID, from, r.Stage+1)
		}
		switch state {
		case spoke.RolloutAborted:
			_, err = tx.ExecContext(ctx, `UPDATE enrollments SET status = 'CANCELLED', updated_at = ?, completed_at = ? WHERE account_id = ? AND flow_id = ? AND status = 'HELD'`,
				ms, ms, r.AccountID, r.FlowID)
		case spoke.RolloutComplete:
			// Past the last stage everything runs: release what is held
			// in the same transaction, so nothing stays held behind a
			// rollout that no longer releases.
			_, err = tx.ExecContext(ctx, `UPDATE enrollments SET status = 'ACTIVE', revision_id = ?, run_at = ?, updated_at = ? WHERE account_id = ? AND flow_id = ? AND status = 'HELD'`,
				r.RevisionID, ms, ms, r.AccountID, r.FlowID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("move the rollout of flow %s to %s: %w", r.FlowID, state, err)
	}
	if r.Stage != stage {
		r.StageStartedAt = now
	}
	if state == spoke.RolloutComplete {
		db.notifyEnrolled()
	}
	r.Stage, r.State, r.UpdatedAt = stage, state, now
	return nil
}

// StageFailures implements spoke.RolloutStore.
func (db *DB) StageFailures(ctx context.Context, r *spoke.Rollout, limit int) ([]*spoke.Execution, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+stepColumns+` FROM execution_steps INDEXED BY execution_steps_by_flow
		WHERE flow_id = ? AND account_id = ? AND failed = 1
		AND enrollment_id IN (SELECT enrollment_id FROM rollout_enrollments WHERE rollout_id = ? AND stage = ?) ORDER BY id DESC`,
		r.FlowID, r.AccountID, r.ID, r.Stage)
	if err != nil {
		return nil, fmt.Errorf("list failures of rollout %d: %w", r.ID, err)
	}
	out, err := db.collect(ctx, rows, execFilter{status: "ERROR", limit: limit, desc: true})
	if err != nil {
		return nil, fmt.Errorf("list failures of rollout %d: %w", r.ID, err)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
