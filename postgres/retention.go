package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// Retention, with the SQLite store's rule (sqlite/retention.go, docs/store.md
// "Retention"):
//
//   - An execution is deleted once it started more than its account's Days
//     ago (FailedDays if it failed) and, with MaxExecutionsPerFlow, once
//     newer executions of its flow reach that many.
//   - An enrollment is deleted only when its status is COMPLETED,
//     CANCELLED or UNENROLLED and it finished more than Days ago, or FAILED
//     and it finished more than FailedDays ago; ACTIVE, HELD and any other
//     status are kept.
//   - Nothing of a flow is deleted while its staged rollout holds, while a
//     revert runs on it, or while it is under a retention hold.
//   - Property history is never deleted.
//   - The executions deleted are counted per flow and minute
//     (pruned_execution_counts) in the transaction that deletes them, so
//     the runs views still count them; those counts are kept countsDays.
//
// Several processes run the pruner; a session advisory lock (pruneLock)
// lets one of them prune at a time, and the others skip their cycle.
// There is no incremental vacuum: PostgreSQL's autovacuum marks the space
// of deleted rows reusable by new rows of the same table.

// countsDays is how long the per-minute counts of pruned executions are
// kept: the usage chart shows 30 days (as on SQLite).
const countsDays = 90

// pruneLock is the key of the session advisory lock the pruning process
// holds for its cycle.
const pruneLock = 1397771079

// defaultPruneDuty is the pruner's default share of time on PostgreSQL.
// There is no single writer to share, only I/O, so it may take more than
// on SQLite.
const defaultPruneDuty = 0.5

// prunableStatuses are the only enrollment statuses pruning deletes besides
// FAILED: an allowlist, so HELD and any status added later are kept.
const prunableStatuses = `('COMPLETED', 'CANCELLED', 'UNENROLLED')`

// qHeldFlows lists the flows whose runs pruning keeps: those under a
// retention hold, those whose staged rollout holds (its stages count their
// enrollments), and those a revert is running on.
const qHeldFlows = `SELECT flow_id FROM retention_holds
	UNION SELECT flow_id FROM rollouts WHERE state IN ` + holdingStates + `
	UNION SELECT flow_id FROM revert_jobs WHERE status = 'RUNNING'`

// retentionState is the retention defaults and the pruner's memory.
type retentionState struct {
	mu       sync.Mutex
	defaults *spoke.Retention
	// cursors: per account and kind of row, every due row ordered before
	// the cursor is gone, except those of flows held meanwhile; so a
	// batch reads on from there instead of past the rows pruning keeps
	// (failed executions kept longer, for one). A flow leaving the held
	// set resets them (its old rows lie behind them).
	cursors map[cursorKey]int64
	held    map[string]bool
	busy    time.Duration
}

type cursorKey struct {
	account int64
	kind    string
}

// SetRetentionDefaults implements spoke.Pruner. Every process sharing the
// database should be given the same defaults (SPOKE_RETENTION_*).
func (db *DB) SetRetentionDefaults(r spoke.Retention) error {
	if err := r.Validate(); err != nil {
		return err
	}
	db.ret.mu.Lock()
	db.ret.defaults = &r
	db.ret.mu.Unlock()
	return nil
}

func (db *DB) retentionDefaults() spoke.Retention {
	db.ret.mu.Lock()
	defer db.ret.mu.Unlock()
	if db.ret.defaults == nil {
		return spoke.DefaultRetention
	}
	return *db.ret.defaults
}

// PruneBusy returns how long this process has spent in pruning batches.
func (db *DB) PruneBusy() time.Duration {
	db.ret.mu.Lock()
	defer db.ret.mu.Unlock()
	return db.ret.busy
}

// Retention implements spoke.RetentionService.
func (db *DB) Retention(ctx context.Context, account int64) (spoke.Retention, error) {
	r := db.retentionDefaults()
	var days, failed, maxPer *int
	err := db.pool.QueryRow(ctx, `SELECT days, failed_days, max_per_flow FROM retention_settings WHERE account_id = $1`, account).Scan(&days, &failed, &maxPer)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("read retention: %w", err)
	}
	return withSettings(r, days, failed, maxPer), nil
}

// withSettings is def with an account's own settings over it.
func withSettings(def spoke.Retention, days, failed, maxPer *int) spoke.Retention {
	if days != nil {
		def.Days = *days
	}
	if failed != nil {
		def.FailedDays = *failed
	}
	if maxPer != nil {
		def.MaxExecutionsPerFlow = *maxPer
	}
	return def
}

// SetRetention implements spoke.RetentionService.
func (db *DB) SetRetention(ctx context.Context, account int64, r spoke.Retention) (spoke.Retention, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO retention_settings (account_id, days, failed_days, max_per_flow) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET days = excluded.days, failed_days = excluded.failed_days, max_per_flow = excluded.max_per_flow`,
		account, r.Days, r.FailedDays, r.MaxExecutionsPerFlow); err != nil {
		return r, fmt.Errorf("set retention: %w", err)
	}
	return r, nil
}

// HoldRetention implements spoke.Pruner.
func (db *DB) HoldRetention(ctx context.Context, flowID, reason string) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO retention_holds (flow_id, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		flowID, reason, db.nowMs()); err != nil {
		return fmt.Errorf("hold retention of flow %s: %w", flowID, err)
	}
	return nil
}

// ReleaseRetention implements spoke.Pruner.
func (db *DB) ReleaseRetention(ctx context.Context, flowID, reason string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM retention_holds WHERE flow_id = $1 AND reason = $2`, flowID, reason); err != nil {
		return fmt.Errorf("release retention of flow %s: %w", flowID, err)
	}
	return nil
}

// accountRetention is one account's retention as cutoffs in epoch ms.
type accountRetention struct {
	cutoff, failedCutoff int64
	maxPerFlow           int
}

// cutoffs returns every account's retention at now.
func (db *DB) cutoffs(ctx context.Context, now time.Time) (map[int64]accountRetention, error) {
	def := db.retentionDefaults()
	rows, err := db.pool.Query(ctx, `SELECT a.id, s.days, s.failed_days, s.max_per_flow FROM accounts a LEFT JOIN retention_settings s ON s.account_id = a.id`)
	if err != nil {
		return nil, fmt.Errorf("read retention: %w", err)
	}
	defer rows.Close()
	out := map[int64]accountRetention{}
	for rows.Next() {
		var id int64
		var days, failed, maxPer *int
		if err := rows.Scan(&id, &days, &failed, &maxPer); err != nil {
			return nil, fmt.Errorf("read retention: %w", err)
		}
		r := withSettings(def, days, failed, maxPer)
		out[id] = accountRetention{now.AddDate(0, 0, -r.Days).UnixMilli(), now.AddDate(0, 0, -r.FailedDays).UnixMilli(), r.MaxExecutionsPerFlow}
	}
	return out, rows.Err()
}

// heldFlows returns the flows whose runs pruning keeps (qHeldFlows). A
// flow that was held at the last look and is no longer resets the
// cursors: its old rows lie behind them.
func (db *DB) heldFlows(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, qHeldFlows)
	if err != nil {
		return nil, fmt.Errorf("read retention holds: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read retention holds: %w", err)
	}
	now := make(map[string]bool, len(ids))
	for _, id := range ids {
		now[id] = true
	}
	db.ret.mu.Lock()
	defer db.ret.mu.Unlock()
	for id := range db.ret.held {
		if !now[id] {
			db.ret.cursors = nil
			break
		}
	}
	db.ret.held = now
	return ids, nil
}

func (db *DB) cursor(k cursorKey) int64 {
	db.ret.mu.Lock()
	defer db.ret.mu.Unlock()
	return db.ret.cursors[k]
}

func (db *DB) setCursor(k cursorKey, v int64) {
	db.ret.mu.Lock()
	defer db.ret.mu.Unlock()
	if db.ret.cursors == nil {
		db.ret.cursors = map[cursorKey]int64{}
	}
	db.ret.cursors[k] = max(db.ret.cursors[k], v)
}

// PruneBatch deletes at most limit rows that retention makes due, in one
// transaction, and returns how many it deleted; 0 means nothing is due
// now. It does not take the pruning lock: PruneCycle does.
func (db *DB) PruneBatch(ctx context.Context, now time.Time, limit int) (int, error) {
	accts, err := db.cutoffs(ctx, now)
	if err != nil {
		return 0, err
	}
	held, err := db.heldFlows(ctx)
	if err != nil {
		return 0, err
	}
	if n, err := db.pruneExecutions(ctx, limit, accts, held); err != nil || n > 0 {
		return n, err
	}
	if n, err := db.pruneCapped(ctx, limit, accts, held); err != nil || n > 0 {
		return n, err
	}
	if n, err := db.pruneEnrollments(ctx, limit, accts, held); err != nil || n > 0 {
		return n, err
	}
	return db.pruneCounts(ctx, now, limit)
}

// dueIDs reads up to limit ids of one kind of due row of an account, in
// the order of column at, from the kind's cursor up to before. q selects
// id and at with $1 the account, $2 the cursor, $3 before, $4 the held
// flows and $5 the limit. It returns the ids and where the cursor goes
// once they are deleted.
func (db *DB) dueIDs(ctx context.Context, k cursorKey, q string, before int64, held []string, limit int) ([]int64, int64, error) {
	from := db.cursor(k)
	if from >= before {
		return nil, from, nil
	}
	rows, err := db.pool.Query(ctx, q, k.account, from, before, held, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("find rows to prune: %w", err)
	}
	defer rows.Close()
	var ids []int64
	last := from
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, 0, fmt.Errorf("find rows to prune: %w", err)
		}
		ids, last = append(ids, id), at
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find rows to prune: %w", err)
	}
	if len(ids) < limit {
		// Every due row of this kind before the cutoff was read.
		last = before
	}
	return ids, last, nil
}

// Executions due by age: successful ones (and those of other statuses)
// after Days, failed ones after FailedDays, through executions_by_start.
const (
	qDueExecutions = `SELECT id, started_at FROM executions WHERE account_id = $1 AND started_at >= $2 AND started_at < $3
		AND status <> 'ERROR' AND flow_id <> ALL($4::text[]) ORDER BY started_at LIMIT $5`
	qDueFailedExecutions = `SELECT id, started_at FROM executions WHERE account_id = $1 AND started_at >= $2 AND started_at < $3
		AND status = 'ERROR' AND flow_id <> ALL($4::text[]) ORDER BY started_at LIMIT $5`
)

// pruneExecutions deletes executions that are due by age.
func (db *DB) pruneExecutions(ctx context.Context, limit int, accts map[int64]accountRetention, held []string) (int, error) {
	for acct, r := range accts {
		for _, kind := range []struct {
			name   string
			q      string
			before int64
		}{{"executions", qDueExecutions, r.cutoff}, {"failed_executions", qDueFailedExecutions, r.failedCutoff}} {
			k := cursorKey{acct, kind.name}
			ids, next, err := db.dueIDs(ctx, k, kind.q, kind.before, held, limit)
			if err != nil {
				return 0, err
			}
			n, err := db.deleteExecutions(ctx, ids)
			if err != nil {
				return 0, err
			}
			db.setCursor(k, next)
			if n > 0 {
				return n, nil
			}
		}
	}
	return 0, nil
}

// deleteExecutions deletes executions by id and, in the same transaction,
// adds them to the per-minute counts of pruned executions and to the rows
// pruned.
func (db *DB) deleteExecutions(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM executions WHERE id = ANY($1) RETURNING account_id, flow_id, started_at, status),
			counted AS (INSERT INTO pruned_execution_counts (account_id, flow_id, minute, executions, failures, last_at)
				SELECT account_id, flow_id, started_at / 60000, count(*), count(*) FILTER (WHERE status = 'ERROR'), max(started_at) FROM gone GROUP BY 1, 2, 3
				ON CONFLICT (account_id, flow_id, minute) DO UPDATE SET executions = pruned_execution_counts.executions + excluded.executions,
				failures = pruned_execution_counts.failures + excluded.failures, last_at = greatest(pruned_execution_counts.last_at, excluded.last_at))
			SELECT count(*) FROM gone`, ids).Scan(&n)
		if err != nil {
			return err
		}
		return addPruned(ctx, tx, "executions", n)
	})
	if err != nil {
		return 0, fmt.Errorf("prune executions: %w", err)
	}
	return int(n), nil
}

func addPruned(ctx context.Context, tx pgx.Tx, table string, n int64) error {
	if n == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO prune_totals (name, rows) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET rows = prune_totals.rows + excluded.rows`, table, n)
	return err
}

// pruneCapped deletes the oldest executions of flows whose account caps
// the executions kept per flow, beyond the cap.
func (db *DB) pruneCapped(ctx context.Context, limit int, accts map[int64]accountRetention, held []string) (int, error) {
	for acct, r := range accts {
		if r.maxPerFlow <= 0 {
			continue
		}
		rows, err := db.pool.Query(ctx, `SELECT id::text FROM flows WHERE account_id = $1 AND id::text <> ALL($2::text[]) ORDER BY id`, acct, held)
		if err != nil {
			return 0, fmt.Errorf("list flows: %w", err)
		}
		flows, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, fmt.Errorf("list flows: %w", err)
		}
		for _, f := range flows {
			// The newest execution beyond the cap, through
			// executions_by_flow.
			var boundary int64
			err := db.pool.QueryRow(ctx, `SELECT id FROM executions WHERE account_id = $1 AND flow_id = $2 ORDER BY id DESC OFFSET $3 LIMIT 1`,
				acct, f, r.maxPerFlow).Scan(&boundary)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("count executions of flow %s: %w", f, err)
			}
			rows, err := db.pool.Query(ctx, `SELECT id FROM executions WHERE account_id = $1 AND flow_id = $2 AND id <= $3 ORDER BY id LIMIT $4`, acct, f, boundary, limit)
			if err != nil {
				return 0, fmt.Errorf("find executions over the cap of flow %s: %w", f, err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return 0, fmt.Errorf("find executions over the cap of flow %s: %w", f, err)
			}
			if n, err := db.deleteExecutions(ctx, ids); err != nil || n > 0 {
				return n, err
			}
		}
	}
	return 0, nil
}

// Enrollments due: finished ones after Days, FAILED ones after
// FailedDays, through the enrollments_finished partial index (whose
// predicate each query repeats).
const (
	qDueEnrollments = `SELECT id, completed_at FROM enrollments WHERE account_id = $1 AND status NOT IN ('ACTIVE', 'HELD')
		AND completed_at >= $2 AND completed_at < $3 AND status IN ` + prunableStatuses + ` AND flow_id <> ALL($4::text[]) ORDER BY completed_at LIMIT $5`
	qDueFailedEnrollments = `SELECT id, completed_at FROM enrollments WHERE account_id = $1 AND status NOT IN ('ACTIVE', 'HELD')
		AND completed_at >= $2 AND completed_at < $3 AND status = 'FAILED' AND flow_id <> ALL($4::text[]) ORDER BY completed_at LIMIT $5`
)

// pruneEnrollments deletes finished enrollments that are due, with the
// events that enrolled them.
func (db *DB) pruneEnrollments(ctx context.Context, limit int, accts map[int64]accountRetention, held []string) (int, error) {
	for acct, r := range accts {
		for _, kind := range []struct {
			name   string
			q      string
			before int64
		}{{"enrollments", qDueEnrollments, r.cutoff}, {"failed_enrollments", qDueFailedEnrollments, r.failedCutoff}} {
			k := cursorKey{acct, kind.name}
			ids, next, err := db.dueIDs(ctx, k, kind.q, kind.before, held, limit)
			if err != nil {
				return 0, err
			}
			var n int64
			if len(ids) > 0 {
				err = db.inTx(ctx, func(tx pgx.Tx) error {
					tag, err := tx.Exec(ctx, `DELETE FROM enrollments WHERE id = ANY($1) AND status NOT IN ('ACTIVE', 'HELD')`, ids)
					if err != nil {
						return err
					}
					n = tag.RowsAffected()
					if _, err := tx.Exec(ctx, `DELETE FROM enrollment_events WHERE enrollment_id = ANY($1)`, ids); err != nil {
						return err
					}
					return addPruned(ctx, tx, "enrollments", n)
				})
				if err != nil {
					return 0, fmt.Errorf("prune enrollments: %w", err)
				}
			}
			db.setCursor(k, next)
			if n > 0 {
				return int(n), nil
			}
		}
	}
	return 0, nil
}

// pruneCounts deletes the per-minute counts of pruned executions older
// than countsDays.
func (db *DB) pruneCounts(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM pruned_execution_counts WHERE (account_id, flow_id, minute) IN
			(SELECT account_id, flow_id, minute FROM pruned_execution_counts WHERE minute < $1 LIMIT $2)`,
			now.AddDate(0, 0, -countsDays).UnixMilli()/60000, limit)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return addPruned(ctx, tx, "pruned_execution_counts", n)
	})
	if err != nil {
		return 0, fmt.Errorf("prune execution counts: %w", err)
	}
	return int(n), nil
}

// RunPruner implements spoke.Pruner: a PruneCycle every cfg.Every until
// ctx ends. Every process that runs an engine runs it; PruneCycle lets one
// of them prune at a time.
func (db *DB) RunPruner(ctx context.Context, cfg spoke.PruneConfig) {
	cfg = db.pruneDefaults(cfg)
	cfg.RunCycles(ctx, db.logger(), func(ctx context.Context) error {
		_, err := db.PruneCycle(ctx, cfg)
		return err
	})
}

func (db *DB) pruneDefaults(cfg spoke.PruneConfig) spoke.PruneConfig {
	if cfg.Duty <= 0 {
		cfg.Duty = defaultPruneDuty
	}
	return cfg.WithDefaults()
}

// PruneCycle implements spoke.Pruner. It holds a session advisory lock
// for the cycle, on a connection of its own: when another process holds
// it (it is pruning), the cycle returns 0 at once. A process that dies
// mid-cycle drops its connection, and with it the lock. Between batches
// it sleeps so that pruning takes at most cfg.Duty of the time.
func (db *DB) PruneCycle(ctx context.Context, cfg spoke.PruneConfig) (int, error) {
	cfg = db.pruneDefaults(cfg)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer conn.Release()
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(pruneLock)).Scan(&mine); err != nil {
		return 0, fmt.Errorf("prune: take the pruning lock: %w", err)
	}
	if !mine {
		return 0, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(pruneLock)); err != nil {
			// The lock would stay with this pooled connection: drop it.
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	total := 0
	for {
		start := time.Now()
		n, err := db.PruneBatch(ctx, db.Now(), cfg.Batch)
		d := time.Since(start)
		db.ret.mu.Lock()
		db.ret.busy += d
		db.ret.mu.Unlock()
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(time.Duration(float64(d) * (1 - cfg.Duty) / cfg.Duty)):
		}
	}
}
