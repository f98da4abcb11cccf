package postgres

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// The pruning rule, the rollouts and the storage figures' shape are
// tested for both drivers in storetest; what is PostgreSQL's own (one
// process pruning at a time, the figures' sources, a role without
// monitoring rights) is tested here.

// dueRows adds n executions and n finished enrollments of a new account
// that a 30-day retention makes due, and returns the time to prune at.
func dueRows(t *testing.T, db *DB, n int) time.Time {
	t.Helper()
	ctx := context.Background()
	var acct int64
	if err := db.pool.QueryRow(ctx, `INSERT INTO accounts (name, created_at) VALUES ('pruned', 0) RETURNING id`).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old := now.AddDate(0, 0, -40).UnixMilli()
	if _, err := db.pool.Exec(ctx, `INSERT INTO executions (enrollment_id, account_id, flow_id, object_id, action_id, action_type, attempt, status, started_at, duration_ms)
		SELECT g, $1, '1', g, '1', 'CUSTOM_CODE', 1, 'SUCCESS', $2, 1 FROM generate_series(1, $3) g`, acct, old, n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, run_at, created_at, updated_at, completed_at)
		SELECT $1, '1', '1', 'contacts', g, 'COMPLETED', 0, $2, $2, $2 FROM generate_series(1, $3) g`, acct, old, n); err != nil {
		t.Fatal(err)
	}
	return now
}

func countOf(t *testing.T, db *DB, q string) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPruneOneProcessAtATime: while another session holds the pruning
// lock (another process prunes), a cycle prunes nothing; once it is free
// the cycle prunes; and stores in several "processes" pruning at once
// delete every due row once between them, without errors.
func TestPruneOneProcessAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := databaseForTest(t)
	var dbs []*DB
	for i := 0; i < 3; i++ {
		db, err := Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	now := dueRows(t, dbs[0], 200)
	for _, db := range dbs {
		db.Now = func() time.Time { return now }
	}
	other, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var got bool
	if err := other.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(pruneLock)).Scan(&got); err != nil || !got {
		t.Fatalf("take the pruning lock: %v, %v", got, err)
	}
	if n, err := dbs[0].PruneCycle(ctx, spoke.PruneConfig{Batch: 50, Duty: 1}); err != nil || n != 0 {
		t.Fatalf("PruneCycle while another session prunes = %d, %v; want 0", n, err)
	}
	if left := countOf(t, dbs[0], `SELECT count(*) FROM executions`); left != 200 {
		t.Fatalf("%d executions left, want 200", left)
	}
	if _, err := other.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(pruneLock)); err != nil {
		t.Fatal(err)
	}
	if n, err := dbs[0].PruneCycle(ctx, spoke.PruneConfig{Batch: 50, Duty: 1}); err != nil || n < 400 {
		t.Fatalf("PruneCycle = %d, %v; want at least 400", n, err)
	}
	// The lock is free again after the cycle.
	if err := other.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(pruneLock)).Scan(&got); err != nil || !got {
		t.Fatalf("the pruning lock after a cycle: %v, %v", got, err)
	}
	other.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(pruneLock))

	dueRows(t, dbs[0], 300)
	var total atomic.Int64
	var wg sync.WaitGroup
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				n, err := db.PruneCycle(ctx, spoke.PruneConfig{Batch: 20, Duty: 1})
				if err != nil {
					t.Error(err)
					return
				}
				total.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	for total.Load() < 600 {
		// A cycle that found the lock taken pruned nothing; the last one
		// to run may have started before the others' rows were gone.
		n, err := dbs[1].PruneCycle(ctx, spoke.PruneConfig{Batch: 20, Duty: 1})
		if err != nil || n == 0 {
			break
		}
		total.Add(int64(n))
	}
	var prunedE, prunedX int64
	if err := dbs[0].pool.QueryRow(ctx, `SELECT (SELECT rows FROM prune_totals WHERE name = 'enrollments'), (SELECT rows FROM prune_totals WHERE name = 'executions')`).Scan(&prunedE, &prunedX); err != nil {
		t.Fatal(err)
	}
	if left := countOf(t, dbs[0], `SELECT count(*) FROM executions`) + countOf(t, dbs[0], `SELECT count(*) FROM enrollments`); left != 0 || prunedE != 500 || prunedX != 500 {
		t.Errorf("after concurrent cycles: %d rows left, pruned %d enrollments and %d executions (want 500 each)", left, prunedE, prunedX)
	}
	// Every pruned execution is counted once in the per-minute counts.
	if n := countOf(t, dbs[0], `SELECT sum(executions)::int FROM pruned_execution_counts`); n != 500 {
		t.Errorf("pruned execution counts sum to %d, want 500", n)
	}
}

// TestStorageStatsFigures compares the storage figures with what
// PostgreSQL reports, and checks that a role without monitoring rights
// (which may not read the write-ahead log's size) still gets them.
func TestStorageStatsFigures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := databaseForTest(t)
	db, err := Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dueRows(t, db, 1000)
	var size int64
	if err := db.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	// The live row estimates come from the statistics, which backends
	// report when idle: wait for them.
	var st *spoke.StorageStats
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err = db.StorageStats(ctx); err != nil {
			t.Fatal(err)
		}
		if rows := tableRows(st, "executions"); rows == 1000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.FileBytes < size/2 || st.FileBytes > size*2 || st.WALBytes <= 0 {
		t.Errorf("database %d bytes (PostgreSQL says %d), WAL %d", st.FileBytes, size, st.WALBytes)
	}
	var x spoke.TableStats
	for _, ts := range st.Tables {
		if ts.Name == "executions" {
			x = ts
		}
	}
	if x.Rows != 1000 || x.Bytes < 8192 || x.IndexBytes < 8192 {
		t.Errorf("executions figures: %+v", x)
	}

	// A role that owns its tables but has no monitoring rights.
	role := fmt.Sprintf("spoke_app_%d", time.Now().UnixNano()%1e9)
	if _, err := db.pool.Exec(ctx, `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	appURL, err := url.Parse(databaseForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, appURL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `GRANT CREATE ON SCHEMA public TO `+role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, appURL.String())
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, `DROP OWNED BY `+role)
		admin.Exec(ctx, `DROP ROLE `+role)
	})
	appURL.User = url.User(role)
	app, err := Open(ctx, appURL.String())
	if err != nil {
		t.Fatalf("Open as %s: %v", role, err)
	}
	defer app.Close()
	st, err = app.StorageStats(ctx)
	if err != nil {
		t.Fatalf("StorageStats as a role without pg_monitor: %v", err)
	}
	if st.WALBytes != 0 || st.FileBytes <= 0 {
		t.Errorf("figures as %s: %+v", role, st)
	}
}

func tableRows(st *spoke.StorageStats, name string) int64 {
	for _, t := range st.Tables {
		if t.Name == name {
			return t.Rows
		}
	}
	return -1
}
