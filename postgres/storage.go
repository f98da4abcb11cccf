package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/spokehq/spoke"
)

// mainTables are the tables whose figures StorageStats reports: SQLite's
// list, with PostgreSQL's execution log (executions, one row each) and the
// counts of pruned executions in place of SQLite's compact log tables.
var mainTables = []string{"records", "property_history", "associations", "enrollments", "executions", "pruned_execution_counts", "flows", "flow_revisions"}

// StorageStats implements spoke.StorageReporter with PostgreSQL's own
// figures, which cost no scan of the tables:
//
//   - FileBytes is the database's size on disk (pg_database_size);
//   - WALBytes is the server's write-ahead log (pg_ls_waldir, shared by
//     every database of the server), 0 when the role may not read it (it
//     needs pg_monitor or superuser);
//   - FreeBytes estimates the space of deleted rows that autovacuum has
//     not yet made reusable: per table, its size times its share of dead
//     rows (pg_stat_user_tables). PostgreSQL reuses the space vacuum
//     frees for new rows of the same table rather than giving it back;
//   - a table's Rows is the statistics' live row estimate (n_live_tup),
//     Bytes its heap with TOAST (pg_table_size), IndexBytes its indexes
//     (pg_indexes_size).
func (db *DB) StorageStats(ctx context.Context) (*spoke.StorageStats, error) {
	st := &spoke.StorageStats{Pruned: map[string]int64{}}
	if err := db.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&st.FileBytes); err != nil {
		return nil, fmt.Errorf("read the database size: %w", err)
	}
	var wal int64
	err := db.pool.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint FROM pg_ls_waldir()`).Scan(&wal)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		st.WALBytes = wal
	case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
	default:
		return nil, fmt.Errorf("read the write-ahead log size: %w", err)
	}
	byName := map[string]*spoke.TableStats{}
	rows, err := db.pool.Query(ctx, `SELECT c.relname, coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0),
		pg_table_size(c.oid), pg_indexes_size(c.oid), pg_relation_size(c.oid)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE c.relkind = 'r' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	for rows.Next() {
		var t spoke.TableStats
		var dead, heap int64
		if err := rows.Scan(&t.Name, &t.Rows, &dead, &t.Bytes, &t.IndexBytes, &heap); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read table sizes: %w", err)
		}
		if t.Rows+dead > 0 {
			st.FreeBytes += heap * dead / (t.Rows + dead)
		}
		byName[t.Name] = &t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	for _, name := range mainTables {
		t := spoke.TableStats{Name: name}
		if got := byName[name]; got != nil {
			t = *got
		}
		st.Tables = append(st.Tables, t)
	}
	rows, err = db.pool.Query(ctx, `SELECT name, rows FROM prune_totals`)
	if err != nil {
		return nil, fmt.Errorf("read rows pruned: %w", err)
	}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read rows pruned: %w", err)
		}
		st.Pruned[name] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rows pruned: %w", err)
	}
	// The oldest rows are the first by id, give or take the failed and
	// held rows pruning keeps longer, which gather there too (as on
	// SQLite).
	var oldest *int64
	if err := db.pool.QueryRow(ctx, `SELECT min(started_at) FROM (SELECT started_at FROM executions ORDER BY id LIMIT 1000) x`).Scan(&oldest); err != nil {
		return nil, fmt.Errorf("read the oldest execution: %w", err)
	}
	if oldest != nil {
		st.OldestExecution = time.UnixMilli(*oldest).UTC()
	}
	return st, nil
}
