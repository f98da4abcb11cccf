package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/spokehq/spoke"
)

// The pruning rule, retention settings and pruning beside running
// enrollments are tested for both drivers in storetest (PruneRule,
// RetentionSettings, PruneCap, PruneWhileRunning); what is SQLite's own
// (step rows, incremental vacuum) is tested here.

var fastPrune = PruneConfig{Batch: 7, Duty: 1} // small batches, no pauses

// remaining returns the ids left in table.
func remaining(t *testing.T, db *DB, q string, args ...any) []int64 {
	t.Helper()
	ids, err := db.ids(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func same(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestPruneCapWholeSteps keeps the newest executions of each flow up to
// the cap in whole step rows (several executions each), SQLite's log
// layout; storetest's PruneCap checks the cap itself on both drivers.
func TestPruneCapWholeSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	for i := 0; i < 2; i++ {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO flows (account_id, revision, object_type_id, created_at, updated_at) VALUES (?, 1, '0-1', 0, 0)`, acct); err != nil {
			t.Fatal(err)
		}
	}
	var last []int64
	for i := 0; i < 10; i++ {
		for _, f := range []string{"1", "2"} {
			// Steps of two executions each.
			e := &spoke.Enrollment{ID: int64(i), AccountID: acct, FlowID: f, ObjectID: 1}
			x := func() *spoke.Execution {
				return &spoke.Execution{ActionID: "1", ActionType: "SINGLE_CONNECTION", Attempt: 1, Status: "SUCCESS", StartedAt: db.Now()}
			}
			steps := []*spoke.Step{{Enrollment: e, Executions: []*spoke.Execution{x(), x()}}}
			if err := db.ensureRefs(ctx, steps); err != nil {
				t.Fatal(err)
			}
			rows, err := db.encodeSteps(nil, e, steps[0].Executions)
			if err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := db.write.QueryRowContext(ctx, stepInsert(1)+` RETURNING id`, rows...).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if f == "1" && i >= 7 {
				last = append(last, id)
			}
		}
	}
	if _, err := db.SetRetention(ctx, acct, spoke.Retention{Days: 30, FailedDays: 90, MaxExecutionsPerFlow: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PruneCycle(ctx, fastPrune); err != nil {
		t.Fatal(err)
	}
	// 7 executions fit three whole steps of two.
	if got := remaining(t, db, `SELECT id FROM execution_steps WHERE flow_id = 1`); !same(got, last) {
		t.Errorf("flow 1 keeps %v, want %v", got, last)
	}
	if got := remaining(t, db, `SELECT id FROM execution_steps WHERE flow_id = 2`); len(got) != 3 {
		t.Errorf("flow 2 keeps %v", got)
	}
}

// TestIncrementalVacuum: a new database starts with incremental vacuum; an
// existing one is switched by a VACUUM at open; pruning gives space back.
func TestIncrementalVacuum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	var mode int
	db.read.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode)
	if mode != 2 {
		t.Fatalf("new database auto_vacuum = %d, want 2 (incremental)", mode)
	}

	dir := t.TempDir()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	old, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	old.read.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode)
	// The VACUUM ran with its copy on disk; the writer then keeps its
	// temporary files (statement journals) in memory again.
	var temp int
	if err := old.write.QueryRow(`PRAGMA temp_store`).Scan(&temp); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if mode != 2 {
		t.Fatalf("existing database auto_vacuum = %d after open, want 2", mode)
	}
	if temp != 2 {
		t.Fatalf("writer temp_store = %d after the VACUUM at open, want 2 (memory)", temp)
	}
	if err := db.write.QueryRow(`PRAGMA temp_store`).Scan(&temp); err != nil || temp != 2 {
		t.Fatalf("new database writer temp_store = %d, %v; want 2 (memory)", temp, err)
	}

	// 20,000 old executions with logs, all due: pruning frees their pages
	// and gives back all but the reserve.
	e := &spoke.Enrollment{ID: 1, AccountID: acct, FlowID: "1", ObjectID: 1}
	old2 := db.Now().AddDate(0, 0, -40)
	var rows []any
	steps := []*spoke.Step{{Enrollment: e, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Status: "SUCCESS", Attempt: 1, StartedAt: old2}}}}
	if err := db.ensureRefs(ctx, steps); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20000; i++ {
		x := *steps[0].Executions[0]
		x.Logs = fmt.Sprintf("line %d of a log that does not compress away %x %x %x %x %x", i, i*7919, i*7907, i*7901, i*7883, i*7877)
		if rows, err = db.encodeSteps(rows, e, []*spoke.Execution{&x}); err != nil {
			t.Fatal(err)
		}
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error { return insertRows(ctx, db.txSession(tx), stepInsert, stepCols, rows) })
	if err != nil {
		t.Fatal(err)
	}
	db.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	before, _, _ := db.FileSize()
	if _, err := db.PruneCycle(ctx, PruneConfig{Batch: 5000, Duty: 1}); err != nil {
		t.Fatal(err)
	}
	db.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	after, _, _ := db.FileSize()
	var free int64
	db.read.QueryRow(`PRAGMA freelist_count`).Scan(&free)
	if after >= before/2 || free > max(minReserve, after/4096/10) {
		t.Errorf("file %d -> %d bytes, %d free pages", before, after, free)
	}
}
