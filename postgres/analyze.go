package postgres

import (
	"context"
	"sync"
)

// Statistics after bulk growth.
//
// PostgreSQL plans from the statistics ANALYZE last gathered, and a
// prepared statement (pgx prepares every query it runs) keeps a generic
// plan made with them until they change. The engine's queue shows what
// goes wrong: its statements are prepared while the queue is empty or
// small, a bulk enrollment then adds 100,000 rows, and the claim keeps
// planning for a handful, with sequential scans, a sort of every due row,
// and nested loops that compare every row with every claimed one (claims
// took 50-500 ms each in `spoke bench engine --database`, and held the
// rows that other runners' commits then waited for). Autovacuum's own
// ANALYZE comes a minute or more later, after such a run is over.
//
// So a process that adds many rows to a table (a bulk enrollment, a
// batch import) checks, every analyzeEvery rows, whether the table's
// statistics still describe it, and runs ANALYZE when the rows changed
// since outnumber those the statistics know of: the table at least
// doubled. That is a handful of ANALYZE runs as a table grows from empty
// to millions (each samples at most 30,000 rows), and it replaces the
// stale plans of every process, since ANALYZE invalidates them.

// analyzeEvery is how many rows this process adds to a table between two
// checks of its statistics.
const analyzeEvery = 1000

// growth counts the rows this process added to tables since their last
// check.
type growth struct {
	mu    sync.Mutex
	added map[string]int
}

// grew records that n rows were added to table (one of the store's own,
// named by a constant) and, every analyzeEvery rows, analyzes the table if
// its statistics no longer describe it. Errors are logged: statistics are
// an optimisation.
func (db *DB) grew(ctx context.Context, table string, n int) {
	db.growth.mu.Lock()
	if db.growth.added == nil {
		db.growth.added = map[string]int{}
	}
	db.growth.added[table] += n
	added := db.growth.added[table]
	if added < analyzeEvery {
		db.growth.mu.Unlock()
		return
	}
	db.growth.added[table] = 0
	db.growth.mu.Unlock()

	ctx = context.WithoutCancel(ctx)
	// reltuples is -1 before the first ANALYZE; n_mod_since_analyze counts
	// every process's changes, but only those already reported (backends
	// report their counts about once a second), hence the max with ours.
	var tuples float64
	var changed int64
	err := db.pool.QueryRow(ctx, `SELECT c.reltuples, coalesce(s.n_mod_since_analyze, 0) FROM pg_class c
		LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1::regclass`, table).Scan(&tuples, &changed)
	if err != nil {
		db.logger().Warn("read table statistics", "table", table, "err", err)
		return
	}
	if float64(max(changed, int64(added))) <= tuples {
		return
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE `+table); err != nil {
		db.logger().Warn("analyze after bulk growth", "table", table, "err", err)
	}
}
