package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// Retention (docs/store.md, "Retention"). The pruning rule:
//
//   - An execution_steps row is deleted once it is older (started_at) than
//     its account's Days, or FailedDays if one of its executions failed,
//     and, with MaxExecutionsPerFlow, once newer rows of its flow hold that
//     many executions.
//   - An enrollment is deleted only when its status is COMPLETED,
//     CANCELLED or UNENROLLED and it finished (completed_at) more than Days
//     ago, or FAILED and it finished more than FailedDays ago. Any other
//     status (ACTIVE, HELD, and whatever a later status means) is kept
//     with its checkpoint, whatever its age.
//   - Nothing of a flow is deleted while its staged rollout holds
//     (RUNNING, AWAITING_APPROVAL, HALTED), while a revert runs on it, or
//     while it is under a retention hold (HoldRetention).
//   - Property history is never deleted here: HubSpot keeps every change
//     of a property (its API returns the full history), and reverts read
//     it.
//   - Counts per minute (execution_counts) are kept countsDays.

// countsDays is how long the per-minute execution counts are kept: the
// usage chart shows 30 days.
const countsDays = 90

// retentionState is the pruner's memory between batches.
type retentionState struct {
	mu sync.Mutex
	// cursor: every execution_steps row with a smaller id was looked at
	// and kept; rescan from 0 once nextDue passes or settings change.
	cursor  int64
	nextDue int64 // epoch ms when a kept row below cursor becomes due
	// held is the held flows at the last look: a flow leaving the set
	// (its rollout or revert ended) has rows below the cursor.
	held   map[string]bool
	pruned map[string]int64
	busy   time.Duration // time spent in batches and vacuum steps
}

// PruneBusy returns how long pruning has run batches and vacuum steps
// (mostly holding the writer) since the database was opened.
func (db *DB) PruneBusy() time.Duration {
	db.prune.mu.Lock()
	defer db.prune.mu.Unlock()
	return db.prune.busy
}

func (db *DB) addBusy(d time.Duration) {
	db.prune.mu.Lock()
	db.prune.busy += d
	db.prune.mu.Unlock()
}

// SetRetentionDefaults sets the retention of accounts that set none (the
// server's flags); it returns EINVALID if r is not valid.
func (db *DB) SetRetentionDefaults(r spoke.Retention) error {
	if err := r.Validate(); err != nil {
		return err
	}
	db.retMu.Lock()
	db.retDefaults = &r
	db.retMu.Unlock()
	db.resetPruneCursor()
	return nil
}

func (db *DB) retentionDefaults() spoke.Retention {
	db.retMu.Lock()
	defer db.retMu.Unlock()
	if db.retDefaults == nil {
		return spoke.DefaultRetention
	}
	return *db.retDefaults
}

func (db *DB) resetPruneCursor() {
	db.prune.mu.Lock()
	db.prune.cursor, db.prune.nextDue = 0, 0
	db.prune.mu.Unlock()
}

// Retention implements spoke.RetentionService.
func (db *DB) Retention(ctx context.Context, account int64) (spoke.Retention, error) {
	r := db.retentionDefaults()
	var days, failed, max sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT days, failed_days, max_per_flow FROM retention_settings WHERE account_id = ?`, account).Scan(&days, &failed, &max)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("read retention: %w", err)
	}
	if days.Valid {
		r.Days = int(days.Int64)
	}
	if failed.Valid {
		r.FailedDays = int(failed.Int64)
	}
	if max.Valid {
		r.MaxExecutionsPerFlow = int(max.Int64)
	}
	return r, nil
}

// SetRetention implements spoke.RetentionService.
func (db *DB) SetRetention(ctx context.Context, account int64, r spoke.Retention) (spoke.Retention, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_settings (account_id, days, failed_days, max_per_flow) VALUES (?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET days = excluded.days, failed_days = excluded.failed_days, max_per_flow = excluded.max_per_flow`,
			account, r.Days, r.FailedDays, r.MaxExecutionsPerFlow)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("set retention: %w", err)
	}
	db.resetPruneCursor()
	return r, nil
}

// HoldRetention keeps every run of a flow (enrollments and executions)
// from pruning until ReleaseRetention with the same reason: a staged
// rollout holds its flow while it runs, a revert while it reads the runs.
func (db *DB) HoldRetention(ctx context.Context, flowID, reason string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_holds (flow_id, reason, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			flowID, reason, db.nowMs())
		return err
	})
	if err != nil {
		return fmt.Errorf("hold retention of flow %s: %w", flowID, err)
	}
	return nil
}

// ReleaseRetention ends a hold of HoldRetention.
func (db *DB) ReleaseRetention(ctx context.Context, flowID, reason string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM retention_holds WHERE flow_id = ? AND reason = ?`, flowID, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("release retention of flow %s: %w", flowID, err)
	}
	db.resetPruneCursor()
	return nil
}

// accountRetention is one account's retention as cutoffs in epoch ms.
type accountRetention struct {
	cutoff, failedCutoff int64
	maxPerFlow           int
}

func (db *DB) cutoffs(ctx context.Context, now time.Time) (map[int64]accountRetention, accountRetention, error) {
	def := db.retentionDefaults()
	toCut := func(r spoke.Retention) accountRetention {
		return accountRetention{now.AddDate(0, 0, -r.Days).UnixMilli(), now.AddDate(0, 0, -r.FailedDays).UnixMilli(), r.MaxExecutionsPerFlow}
	}
	out := map[int64]accountRetention{}
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM accounts`)
	if err != nil {
		return nil, toCut(def), fmt.Errorf("list accounts: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, toCut(def), err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		r, err := db.Retention(ctx, id)
		if err != nil {
			return nil, toCut(def), err
		}
		out[id] = toCut(r)
	}
	return out, toCut(def), nil
}

// PruneBatch deletes at most limit rows that retention makes due, in one
// short write transaction per table, and returns how many it deleted. 0
// means nothing is due now.
func (db *DB) PruneBatch(ctx context.Context, now time.Time, limit int) (int, error) {
	accts, def, err := db.cutoffs(ctx, now)
	if err != nil {
		return 0, err
	}
	n, err := db.pruneExecutions(ctx, now, limit, accts, def)
	if err != nil || n > 0 {
		return n, err
	}
	if n, err = db.pruneCapped(ctx, limit, accts); err != nil || n > 0 {
		return n, err
	}
	if n, err = db.pruneEnrollments(ctx, limit, accts); err != nil || n > 0 {
		return n, err
	}
	return db.pruneCounts(ctx, now, limit)
}

// deleteIDs deletes rows of table by id and counts them as pruned, in one
// transaction.
func (db *DB) deleteIDs(ctx context.Context, table string, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for rest := ids; len(rest) > 0; {
			part := rest[:min(500, len(rest))]
			rest = rest[len(part):]
			args := make([]any, len(part))
			for i, id := range part {
				args[i] = id
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN (`+placeholders(len(part))+`)`, args...)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		if table == "enrollments" {
			// The events that enrolled them go with them.
			for rest := ids; len(rest) > 0; {
				part := rest[:min(500, len(rest))]
				rest = rest[len(part):]
				args := make([]any, len(part))
				for i, id := range part {
					args[i] = id
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM enrollment_events WHERE enrollment_id IN (`+placeholders(len(part))+`)`, args...); err != nil {
					return err
				}
			}
		}
		return addPruned(ctx, tx, table, n)
	})
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", table, err)
	}
	db.countPruned(table, n)
	return int(n), nil
}

func addPruned(ctx context.Context, tx *sql.Tx, table string, n int64) error {
	if n == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO prune_totals (name, rows) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET rows = rows + excluded.rows`, table, n)
	return err
}

func (db *DB) countPruned(table string, n int64) {
	db.prune.mu.Lock()
	defer db.prune.mu.Unlock()
	if db.prune.pruned == nil {
		db.prune.pruned = map[string]int64{}
	}
	db.prune.pruned[table] += n
}

// qHeldFlows lists the flows whose runs pruning keeps: those under a
// retention hold, those whose staged rollout holds (its stages count their
// enrollments), and those a revert is running on.
const qHeldFlows = `SELECT flow_id FROM retention_holds
	UNION SELECT flow_id FROM rollouts WHERE state IN ('RUNNING', 'AWAITING_APPROVAL', 'HALTED')
	UNION SELECT flow_id FROM revert_jobs WHERE status = 'RUNNING'`

// heldFlows returns the flows whose runs pruning keeps (qHeldFlows). A
// flow that was held at the last look and is no longer (its rollout ended
// without a ReleaseRetention) rescans from the start: its old rows lie
// below the cursor.
func (db *DB) heldFlows(ctx context.Context) (map[string]bool, error) {
	rows, err := db.read.QueryContext(ctx, qHeldFlows)
	if err != nil {
		return nil, fmt.Errorf("read retention holds: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	db.prune.mu.Lock()
	defer db.prune.mu.Unlock()
	for id := range db.prune.held {
		if !out[id] {
			db.prune.cursor, db.prune.nextDue = 0, 0
			break
		}
	}
	db.prune.held = out
	return out, nil
}

// pruneExecutions walks execution_steps in id order (which is commit
// order) from the cursor and deletes the rows that are due. Rows it keeps
// (failed ones kept longer, accounts with longer retention, held flows)
// move the cursor past them and record when the first of them becomes
// due, so later batches do not read them again until then. It stops at
// the first row newer than every account's cutoff: the rows after it are
// newer still, give or take a round's duration.
func (db *DB) pruneExecutions(ctx context.Context, now time.Time, limit int, accts map[int64]accountRetention, def accountRetention) (int, error) {
	held, err := db.heldFlows(ctx)
	if err != nil {
		return 0, err
	}
	nowMs := now.UnixMilli()
	newest := def.cutoff
	for _, r := range accts {
		newest = max(newest, r.cutoff)
	}
	db.prune.mu.Lock()
	if db.prune.nextDue > 0 && nowMs >= db.prune.nextDue {
		db.prune.cursor, db.prune.nextDue = 0, 0
	}
	cursor := db.prune.cursor
	db.prune.mu.Unlock()
	var due []int64
	nextDue := int64(0)
	for stop := false; !stop && len(due) < limit; {
		rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, flow_id, started_at, failed FROM execution_steps WHERE id > ? ORDER BY id LIMIT ?`, cursor, limit)
		if err != nil {
			return 0, fmt.Errorf("find executions to prune: %w", err)
		}
		read := 0
		for !stop && len(due) < limit && rows.Next() {
			var id, acct, at int64
			var flow string
			var failed bool
			if err := rows.Scan(&id, &acct, &flow, &at, &failed); err != nil {
				rows.Close()
				return 0, fmt.Errorf("find executions to prune: %w", err)
			}
			read++
			r, ok := accts[acct]
			if !ok {
				r = def
			}
			cut := r.cutoff
			if failed {
				cut = r.failedCutoff
			}
			switch {
			case held[flow]:
				// Kept until the hold ends (ReleaseRetention rescans).
			case at < cut:
				due = append(due, id)
			case at >= newest:
				stop = true
				continue
			default:
				if at2 := at + (nowMs - cut) + 1; nextDue == 0 || at2 < nextDue {
					nextDue = at2
				}
			}
			cursor = id
		}
		if err := rows.Close(); err != nil {
			return 0, fmt.Errorf("find executions to prune: %w", err)
		}
		if read == 0 {
			break
		}
	}
	db.prune.mu.Lock()
	db.prune.cursor = max(db.prune.cursor, cursor)
	if nextDue > 0 && (db.prune.nextDue == 0 || nextDue < db.prune.nextDue) {
		db.prune.nextDue = nextDue
	}
	db.prune.mu.Unlock()
	return db.deleteIDs(ctx, "execution_steps", due)
}

// pruneCapped deletes the oldest execution_steps rows of flows whose
// account caps the executions kept per flow, beyond the cap.
func (db *DB) pruneCapped(ctx context.Context, limit int, accts map[int64]accountRetention) (int, error) {
	held, err := db.heldFlows(ctx)
	if err != nil {
		return 0, err
	}
	for acct, r := range accts {
		if r.maxPerFlow <= 0 {
			continue
		}
		rows, err := db.read.QueryContext(ctx, `SELECT id FROM flows WHERE account_id = ?`, acct)
		if err != nil {
			return 0, fmt.Errorf("list flows: %w", err)
		}
		var flows []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			flows = append(flows, id)
		}
		rows.Close()
		for _, f := range flows {
			if held[f] {
				continue
			}
			// Walk the flow's rows newest first until they hold the cap.
			var boundary int64
			rows, err := db.read.QueryContext(ctx, `SELECT id, n FROM execution_steps INDEXED BY execution_steps_by_flow WHERE flow_id = ? ORDER BY id DESC`, f)
			if err != nil {
				return 0, fmt.Errorf("count executions of flow %s: %w", f, err)
			}
			kept := 0
			for rows.Next() {
				var id int64
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return 0, err
				}
				if kept+n > r.maxPerFlow {
					boundary = id
					break
				}
				kept += n
			}
			rows.Close()
			if boundary == 0 {
				continue
			}
			ids, err := db.ids(ctx, `SELECT id FROM execution_steps INDEXED BY execution_steps_by_flow WHERE flow_id = ? AND id <= ? ORDER BY id LIMIT ?`, f, boundary, limit)
			if err != nil {
				return 0, err
			}
			if n, err := db.deleteIDs(ctx, "execution_steps", ids); err != nil || n > 0 {
				return n, err
			}
		}
	}
	return 0, nil
}

func (db *DB) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find rows to prune: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// prunableStatuses are the only enrollment statuses pruning deletes: an
// allowlist, so a status added later (HELD by staged rollout) is kept.
const prunableStatuses = `'COMPLETED', 'CANCELLED', 'UNENROLLED'`

// pruneEnrollments deletes finished enrollments that are due, oldest
// first by completion (the enrollments_finished index).
func (db *DB) pruneEnrollments(ctx context.Context, limit int, accts map[int64]accountRetention) (int, error) {
	for acct, r := range accts {
		ids, err := db.ids(ctx, `SELECT id FROM enrollments INDEXED BY enrollments_finished
			WHERE status <> 'ACTIVE' AND completed_at < ? AND account_id = ? AND
			((status IN (`+prunableStatuses+`) AND completed_at < ?) OR (status = 'FAILED' AND completed_at < ?))
			AND flow_id NOT IN (`+qHeldFlows+`) LIMIT ?`,
			max(r.cutoff, r.failedCutoff), acct, r.cutoff, r.failedCutoff, limit)
		if err != nil {
			return 0, err
		}
		if n, err := db.deleteIDs(ctx, "enrollments", ids); err != nil || n > 0 {
			return n, err
		}
	}
	return 0, nil
}

// pruneCounts deletes per-minute execution counts older than countsDays.
func (db *DB) pruneCounts(ctx context.Context, now time.Time, limit int) (int, error) {
	// Read first: most cycles find nothing, and need not queue for the
	// writer to learn it.
	var due int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM execution_counts WHERE minute < ? LIMIT 1)`,
		now.AddDate(0, 0, -countsDays).UnixMilli()/60000).Scan(&due)
	if err != nil || due == 0 {
		return 0, err
	}
	var n int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM execution_counts WHERE (account_id, flow_id, minute) IN (SELECT account_id, flow_id, minute FROM execution_counts WHERE minute < ? LIMIT ?)`,
			now.AddDate(0, 0, -countsDays).UnixMilli()/60000, limit)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return addPruned(ctx, tx, "execution_counts", n)
	})
	if err != nil {
		return 0, fmt.Errorf("prune execution counts: %w", err)
	}
	db.countPruned("execution_counts", n)
	return int(n), nil
}

// PruneConfig paces the background pruning (spoke.PruneConfig).
type PruneConfig = spoke.PruneConfig

// RunPruner prunes what retention makes due, a cycle every cfg.Every,
// until ctx ends.
func (db *DB) RunPruner(ctx context.Context, cfg PruneConfig) {
	cfg = cfg.WithDefaults()
	cfg.RunCycles(ctx, db.logger(), func(ctx context.Context) error {
		_, err := db.PruneCycle(ctx, cfg)
		return err
	})
}

// PruneCycle deletes everything due now in batches, pausing between
// batches so the pruner holds the writer at most cfg.Duty of the time,
// then gives free pages back to the file system (incremental vacuum). It
// returns the rows deleted.
func (db *DB) PruneCycle(ctx context.Context, cfg PruneConfig) (int, error) {
	cfg = cfg.WithDefaults()
	total := 0
	pause := func(d time.Duration) bool {
		db.addBusy(d)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Duration(float64(d) * (1 - cfg.Duty) / cfg.Duty)):
			return true
		}
	}
	for {
		start := time.Now()
		n, err := db.PruneBatch(ctx, db.Now(), cfg.Batch)
		total += n
		if err != nil || n == 0 {
			db.addBusy(time.Since(start))
			if err == nil {
				err = db.giveBack(ctx, pause)
			}
			return total, err
		}
		if !pause(time.Since(start)) {
			return total, ctx.Err()
		}
	}
}

// vacuumStep is the most pages one incremental vacuum frees (4 MiB).
const vacuumStep = 1024

// minReserve is the fewest free pages giveBack keeps (1 MiB).
const minReserve = 256

// giveBack frees the file's empty pages beyond a reserve of a tenth of the
// file (at least minReserve pages), which new rows would soon fill again,
// vacuumStep pages per transaction.
func (db *DB) giveBack(ctx context.Context, pause func(time.Duration) bool) error {
	for {
		var free, pages int64
		if err := db.read.QueryRowContext(ctx, `SELECT freelist_count, page_count FROM pragma_freelist_count(), pragma_page_count()`).Scan(&free, &pages); err != nil {
			return fmt.Errorf("read free pages: %w", err)
		}
		excess := free - max(minReserve, pages/10)
		if excess <= 0 {
			return nil
		}
		start := time.Now()
		if _, err := db.write.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, min(excess, vacuumStep))); err != nil {
			return fmt.Errorf("incremental vacuum: %w", err)
		}
		if !pause(time.Since(start)) {
			return ctx.Err()
		}
	}
}

// ensureIncrementalVacuum switches the database to incremental vacuum,
// which lets pruning give space back. A new database just takes the
// setting; an existing one must be rewritten whole by VACUUM once (about
// as long as copying the file, and as much free disk as the file), at the
// first start of this version.
func (db *DB) ensureIncrementalVacuum(ctx context.Context) error {
	var mode, objects int
	if err := db.write.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == 2 {
		return nil
	}
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&objects); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	start := time.Now()
	file, _, _ := db.FileSize()
	if objects > 0 {
		db.logger().Info("rewriting the database once for incremental vacuum (VACUUM)", "bytes", file)
	}
	if err := db.vacuumOnDisk(ctx); err != nil {
		return err
	}
	if objects > 0 {
		db.logger().Info("database rewritten", "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// vacuumOnDisk runs VACUUM with its temporary copy of the database in a
// file: the write pool keeps temporary files in memory (OpenWith), which
// for VACUUM would mean holding the whole database in memory.
func (db *DB) vacuumOnDisk(ctx context.Context) error {
	c, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return fmt.Errorf("vacuum: temp_store: %w", err)
	}
	if _, err := c.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum to switch to incremental vacuum: %w", err)
	}
	if _, err := c.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return fmt.Errorf("vacuum: temp_store: %w", err)
	}
	return nil
}

// mainTables are the tables whose rows StorageStats counts.
var mainTables = []string{"records", "property_history", "associations", "enrollments", "execution_steps", "execution_counts", "execution_actions", "flows", "flow_revisions"}

// StorageStats implements spoke.StorageReporter. It reads every page of
// the database (dbstat) and counts the rows of the main tables: a scan of
// the file, so callers cache it.
func (db *DB) StorageStats(ctx context.Context) (*spoke.StorageStats, error) {
	st := &spoke.StorageStats{Pruned: map[string]int64{}}
	var err error
	if st.FileBytes, st.WALBytes, err = db.FileSize(); err != nil {
		return nil, err
	}
	var free, size int64
	if err := db.read.QueryRowContext(ctx, `SELECT freelist_count, page_size FROM pragma_freelist_count(), pragma_page_size()`).Scan(&free, &size); err != nil {
		return nil, fmt.Errorf("read free pages: %w", err)
	}
	st.FreeBytes = free * size
	space, err := db.SpaceUsed(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range mainTables {
		ts := spoke.TableStats{Name: t}
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&ts.Rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		if sp := space[t]; sp != nil {
			ts.Bytes, ts.IndexBytes = sp.Bytes, sp.IndexBytes
		}
		st.Tables = append(st.Tables, ts)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT name, rows FROM prune_totals`)
	if err != nil {
		return nil, fmt.Errorf("read rows pruned: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		st.Pruned[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var oldest sql.NullInt64
	// The oldest rows are the first by id, give or take the failed and
	// held rows pruning keeps longer, which gather there too.
	if err := db.read.QueryRowContext(ctx, `SELECT min(started_at) FROM (SELECT started_at FROM execution_steps ORDER BY id LIMIT 1000)`).Scan(&oldest); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read the oldest execution: %w", err)
	}
	if oldest.Valid {
		st.OldestExecution = time.UnixMilli(oldest.Int64).UTC()
	}
	return st, nil
}
