package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Staged rollouts, as on SQLite (sqlite/rollout.go, docs/engine.md): a
// flow with a rollout config saved enabled starts a new rollout in the
// save's transaction; while the flow's latest rollout holds, its new
// enrollments are inserted HELD, and the rollout controller releases them
// stage by stage. Claim takes only ACTIVE rows.
//
// Several processes may run the controller at once, so every move is
// decided under the rollout's row lock:
//
//   - SetRolloutState is a compare-and-set on the (state, stage) its
//     caller read: of two controllers acting on one reading, one moves the
//     rollout and the other gets ECONFLICT.
//   - ReleaseHeld locks the rollout row, checks that it still runs the
//     caller's stage and counts the stage's members, so the stage is
//     filled to its size once, however many processes try.
//   - An enrollment of a staged flow reads the holding rollout FOR SHARE
//     (holdingRollout): a move that releases or cancels the held
//     enrollments waits for it, and then sees its row, so no enrollment is
//     left HELD behind a rollout that no longer holds.

// rolloutReplaced is the state of a rollout superseded by a newer save of
// its flow; it holds nothing.
const rolloutReplaced = "REPLACED"

// holdingStates are the states of a rollout that holds new enrollments
// (spoke.RolloutHolds).
const holdingStates = `('RUNNING', 'AWAITING_APPROVAL', 'HALTED')`

// holdingRollout reports whether a staged flow's rollout holds new
// enrollments, locking the rollout row FOR SHARE until tx ends so that no
// rollout move (which releases or cancels the held enrollments) can commit
// between this answer and the enrollment's insert.
func holdingRollout(ctx context.Context, tx pgx.Tx, flowID string) (bool, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM rollouts WHERE flow_id = $1 AND state IN `+holdingStates+` ORDER BY id DESC LIMIT 1 FOR SHARE`, flowID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the rollout of flow %s: %w", flowID, err)
	}
	return true, nil
}

// syncRollout starts, keeps or ends the rollout of a flow just saved as
// revision rev, inside the save's transaction: saving an enabled flow with
// a rollout starts a new one at its first stage; saving it without one
// ends the rollout in progress and releases what it held; saving a
// disabled flow with a rollout keeps what is held.
func syncRollout(ctx context.Context, tx pgx.Tx, account int64, flowID, rev string, f *spoke.Flow, now int64) error {
	if f.Rollout != nil && !f.IsEnabled {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE rollouts SET state = $1, updated_at = $2 WHERE flow_id = $3 AND state IN `+holdingStates,
		rolloutReplaced, now, flowID); err != nil {
		return fmt.Errorf("end the rollout of flow %s: %w", flowID, err)
	}
	if f.Rollout == nil {
		tag, err := tx.Exec(ctx, `UPDATE enrollments SET status = 'ACTIVE', revision_id = $1, run_at = $2, updated_at = $2 WHERE account_id = $3 AND flow_id = $4 AND status = 'HELD'`,
			rev, now, account, flowID)
		if err != nil {
			return fmt.Errorf("release the held enrollments of flow %s: %w", flowID, err)
		}
		if tag.RowsAffected() > 0 {
			return notifyWork(ctx, tx)
		}
		return nil
	}
	cfg, err := json.Marshal(f.Rollout)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rollouts (account_id, flow_id, revision_id, config, stage, state, started_at, stage_started_at, updated_at)
		VALUES ($1, $2, $3, $4, 0, 'RUNNING', $5, $5, $5)`, account, flowID, rev, string(cfg), now); err != nil {
		return fmt.Errorf("start the rollout of flow %s: %w", flowID, err)
	}
	return nil
}

const rolloutColumns = `id, account_id, flow_id, revision_id, config, stage, state, started_at, stage_started_at, updated_at`

func scanRollout(s pgx.Row) (*spoke.Rollout, error) {
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
	rows, err := db.pool.Query(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE state IN `+holdingStates+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Rollout, error) { return scanRollout(r) })
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	return out, nil
}

// CurrentRollout implements spoke.RolloutStore.
func (db *DB) CurrentRollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error) {
	r, err := scanRollout(db.pool.QueryRow(ctx, `SELECT `+rolloutColumns+` FROM rollouts WHERE account_id = $1 AND flow_id = $2 ORDER BY id DESC LIMIT 1`, account, flowID))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := db.pool.Query(ctx, `SELECT e.status, count(*) FROM rollout_enrollments m JOIN enrollments e ON e.id = m.enrollment_id
		WHERE m.rollout_id = $1 AND m.stage = $2 GROUP BY e.status`, r.ID, r.Stage)
	if err != nil {
		return c, fmt.Errorf("count the stage of rollout %d: %w", r.ID, err)
	}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			rows.Close()
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count the stage of rollout %d: %w", r.ID, err)
	}
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE account_id = $1 AND flow_id = $2 AND status = 'HELD'`, r.AccountID, r.FlowID).Scan(&c.Held)
	if err != nil {
		return c, fmt.Errorf("count held enrollments of flow %s: %w", r.FlowID, err)
	}
	return c, nil
}

// ReleaseHeld implements spoke.RolloutStore. The enrollments run on the
// rollout's revision: they never started, and a revision saved while they
// waited (a fix, a restore) is the one the rollout tests. The rollout's
// row is locked for the transaction: controllers in other processes
// releasing into the same stage wait, then find it full.
func (db *DB) ReleaseHeld(ctx context.Context, r *spoke.Rollout, n int, now time.Time) (int, error) {
	if n == 0 {
		return 0, nil
	}
	var released int
	ms := now.UnixMilli()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		released = 0
		var stage int
		var state string
		err := tx.QueryRow(ctx, `SELECT stage, state FROM rollouts WHERE id = $1 FOR UPDATE`, r.ID).Scan(&stage, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if state != spoke.RolloutRunning || stage != r.Stage {
			return nil // moved on: the caller's figures are stale
		}
		limit := int64(n)
		if size := r.StageSize(); size >= 0 {
			var in int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM rollout_enrollments WHERE rollout_id = $1 AND stage = $2`, r.ID, r.Stage).Scan(&in); err != nil {
				return err
			}
			if limit < 0 || limit > int64(size)-in {
				limit = int64(size) - in
			}
			if limit <= 0 {
				return nil
			}
		}
		var lim *int64 // NULL: no limit
		if limit > 0 {
			lim = &limit
		}
		// The CTE picks the rows once: a locking subquery in the WHERE
		// may be rescanned per row by a nested loop, and each rescan would
		// skip the rows this statement already updated and pick more.
		rows, err := tx.Query(ctx, `WITH picked AS MATERIALIZED (SELECT id FROM enrollments WHERE account_id = $3 AND flow_id = $4 AND status = 'HELD' ORDER BY id LIMIT $5 FOR UPDATE)
			UPDATE enrollments SET status = 'ACTIVE', revision_id = $1, run_at = $2, updated_at = $2
			WHERE id IN (SELECT id FROM picked) AND status = 'HELD' RETURNING id`,
			r.RevisionID, ms, r.AccountID, r.FlowID, lim)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		released = len(ids)
		if released == 0 {
			return nil
		}
		if r.StageSize() >= 0 { // the "all" stage is not counted
			if _, err := tx.Exec(ctx, `INSERT INTO rollout_enrollments (rollout_id, stage, enrollment_id) SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING`,
				r.ID, r.Stage, ids); err != nil {
				return err
			}
		}
		return notifyWork(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("release held enrollments of flow %s: %w", r.FlowID, err)
	}
	if released > 0 {
		db.notifyEnrolled()
	}
	return released, nil
}

// SetRolloutState implements spoke.RolloutStore: a compare-and-set on the
// state and stage r was read at. The UPDATE takes the rollout's row lock;
// a concurrent move of the same rollout waits for it and then finds the
// row changed (PostgreSQL re-checks the WHERE on the new row version).
func (db *DB) SetRolloutState(ctx context.Context, r *spoke.Rollout, from string, stage int, state string, now time.Time) error {
	ms := now.UnixMilli()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE rollouts SET stage = $1, state = $2, updated_at = $3,
			stage_started_at = CASE WHEN stage = $1 THEN stage_started_at ELSE $3 END WHERE id = $4 AND state = $5 AND stage = $6`,
			stage, state, ms, r.ID, from, r.Stage)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return spoke.Errorf(spoke.ECONFLICT, "The rollout of flow %s is no longer %s at stage %d.", r.FlowID, from, r.Stage+1)
		}
		switch state {
		case spoke.RolloutAborted:
			_, err = tx.Exec(ctx, `UPDATE enrollments SET status = 'CANCELLED', updated_at = $1, completed_at = $1 WHERE account_id = $2 AND flow_id = $3 AND status = 'HELD'`,
				ms, r.AccountID, r.FlowID)
		case spoke.RolloutComplete:
			// Past the last stage everything runs: release what is held
			// in the same transaction, so nothing stays held behind a
			// rollout that no longer releases.
			_, err = tx.Exec(ctx, `UPDATE enrollments SET status = 'ACTIVE', revision_id = $1, run_at = $2, updated_at = $2 WHERE account_id = $3 AND flow_id = $4 AND status = 'HELD'`,
				r.RevisionID, ms, r.AccountID, r.FlowID)
			if err == nil {
				err = notifyWork(ctx, tx)
			}
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
	rows, err := db.pool.Query(ctx, `SELECT `+executionColumns+` FROM executions
		WHERE account_id = $1 AND flow_id = $2 AND status = 'ERROR'
		AND enrollment_id IN (SELECT enrollment_id FROM rollout_enrollments WHERE rollout_id = $3 AND stage = $4) ORDER BY id DESC LIMIT $5`,
		r.AccountID, r.FlowID, r.ID, r.Stage, limit)
	if err != nil {
		return nil, fmt.Errorf("list failures of rollout %d: %w", r.ID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Execution, error) { return scanExecution(r) })
	if err != nil {
		return nil, fmt.Errorf("list failures of rollout %d: %w", r.ID, err)
	}
	return out, nil
}
