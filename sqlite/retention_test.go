package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

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

// TestPruneRule writes enrollments of every status and executions of every
// age, prunes, and checks that exactly the due rows went: finished
// enrollments past their retention (FAILED ones past the longer one),
// never ACTIVE or HELD ones, nothing of a flow whose staged rollout is in
// progress, that a revert runs on or that is held, nor property history; then, across a restart, a shorter retention set through the
// store prunes the rest that became due.
func TestPruneRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := create(t, db, acct, "contacts", props("email", "kept@example.com"))
	days := func(n int) int64 { return now.AddDate(0, 0, -n).UnixMilli() }
	type en struct {
		id      int64
		flow    string
		status  string
		age     int // days since completion
		pruned  bool
		pruned2 bool // after the retention drops to 5/20 days
	}
	ens := []en{
		{1, "1", "ACTIVE", 400, false, false},
		{2, "1", "HELD", 400, false, false},
		{3, "1", "COMPLETED", 31, true, true},
		{4, "1", "COMPLETED", 29, false, true},
		{5, "1", "CANCELLED", 31, true, true},
		{6, "1", "UNENROLLED", 31, true, true},
		{7, "1", "FAILED", 31, false, true},
		{8, "1", "FAILED", 91, true, true},
		{9, "1", "COMPLETED", 3, false, false},
		{10, "1", "FAILED", 10, false, false},
		{11, "2", "COMPLETED", 400, false, false}, // flow 2 is held
		{12, "3", "COMPLETED", 400, false, false}, // flow 3's staged rollout runs
		{13, "4", "FAILED", 400, false, false},    // a revert runs on flow 4
		{14, "3", "HELD", 400, false, false},
	}
	for _, e := range ens {
		completed := days(e.age)
		if e.status == "ACTIVE" || e.status == "HELD" {
			completed = 0
		}
		if _, err := db.write.ExecContext(ctx, `INSERT INTO enrollments (id, account_id, flow_id, revision_id, object_type, object_id, status, run_at, created_at, updated_at, completed_at)
			VALUES (?, ?, ?, '1', 'contacts', ?, ?, 0, ?, ?, ?)`, e.id, acct, e.flow, rec.ID, e.status, days(e.age+1), days(e.age), completed); err != nil {
			t.Fatal(err)
		}
	}
	type ex struct {
		flow    string
		status  string
		age     int
		pruned  bool
		pruned2 bool
	}
	exs := []ex{
		{"1", "SUCCESS", 100, true, true},
		{"1", "ERROR", 100, true, true},
		{"1", "ERROR", 60, false, true},
		{"1", "SUCCESS", 31, true, true},
		{"2", "SUCCESS", 100, false, false}, // held flow
		{"3", "ERROR", 100, false, false},   // rollout in progress
		{"4", "SUCCESS", 100, false, false}, // revert running
		{"1", "SUCCESS", 29, false, true},
		{"1", "ERROR", 10, false, false},
		{"1", "SUCCESS", 1, false, false},
	}
	var xids []int64
	for _, x := range exs {
		id := logExecution(t, db, &spoke.Enrollment{ID: 1, AccountID: acct, FlowID: x.flow, ObjectID: rec.ID},
			&spoke.Execution{ActionID: "1", ActionType: "CUSTOM_CODE", Attempt: 1, Status: x.status, StartedAt: time.UnixMilli(days(x.age))})
		xids = append(xids, id/stepSlots)
	}
	var history int
	db.read.QueryRow(`SELECT count(*) FROM property_history`).Scan(&history)
	if err := db.HoldRetention(ctx, "2", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO rollouts (account_id, flow_id, revision_id, config, state, started_at, stage_started_at, updated_at)
		VALUES (?, '3', '2', '{}', 'RUNNING', 0, 0, 0)`, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO revert_jobs (account_id, flow_id, request, status, created_at, updated_at)
		VALUES (?, '4', '{}', 'RUNNING', 0, 0)`, acct); err != nil {
		t.Fatal(err)
	}
	want := func(after2 bool) (enrollments, executions []int64) {
		for _, e := range ens {
			if !(e.pruned || after2 && e.pruned2) {
				enrollments = append(enrollments, e.id)
			}
		}
		for i, x := range exs {
			if !(x.pruned || after2 && x.pruned2) {
				executions = append(executions, xids[i])
			}
		}
		return
	}
	check := func(db *DB, after2 bool) {
		t.Helper()
		wantE, wantX := want(after2)
		if got := remaining(t, db, `SELECT id FROM enrollments`); !same(got, wantE) {
			t.Errorf("enrollments left = %v, want %v", got, wantE)
		}
		if got := remaining(t, db, `SELECT id FROM execution_steps`); !same(got, wantX) {
			t.Errorf("execution rows left = %v, want %v", got, wantX)
		}
		var h int
		db.read.QueryRow(`SELECT count(*) FROM property_history`).Scan(&h)
		if h != history {
			t.Errorf("property history rows %d, want %d", h, history)
		}
	}
	n, err := db.PruneCycle(ctx, fastPrune)
	if err != nil {
		t.Fatal(err)
	}
	check(db, false)
	if n != 4+3+4 { // enrollments, execution rows, minutes of counts older than 90 days
		t.Errorf("pruned %d rows, want 11", n)
	}
	// Nothing more is due: a second cycle deletes nothing.
	if n, err := db.PruneCycle(ctx, fastPrune); err != nil || n != 0 {
		t.Errorf("second cycle pruned %d, %v", n, err)
	}
	st, err := db.StorageStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pruned["enrollments"] != 4 || st.Pruned["execution_steps"] != 3 || st.Pruned["execution_counts"] != 4 || !st.OldestExecution.Equal(now.AddDate(0, 0, -100)) {
		t.Errorf("storage stats after pruning: %+v", st)
	}
	db.Close()

	// Across a restart: a shorter retention, set for the account.
	db, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Now = func() time.Time { return now }
	if _, err := db.SetRetention(ctx, acct, spoke.Retention{Days: 5, FailedDays: 20}); err != nil {
		t.Fatal(err)
	}
	if r, err := db.Retention(ctx, acct); err != nil || r.Days != 5 || r.FailedDays != 20 {
		t.Fatalf("Retention = %+v, %v", r, err)
	}
	if _, err := db.PruneCycle(ctx, fastPrune); err != nil {
		t.Fatal(err)
	}
	check(db, true)
	// The hold ends: the held flow's old rows go too.
	if err := db.ReleaseRetention(ctx, "2", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PruneCycle(ctx, fastPrune); err != nil {
		t.Fatal(err)
	}
	if got := remaining(t, db, `SELECT id FROM enrollments WHERE flow_id = '2'`); len(got) != 0 {
		t.Errorf("held flow's enrollment left after the hold: %v", got)
	}
	if got := remaining(t, db, `SELECT id FROM execution_steps WHERE flow_id = 2`); len(got) != 0 {
		t.Errorf("held flow's executions left after the hold: %v", got)
	}
	st, _ = db.StorageStats(ctx)
	if st.Pruned["enrollments"] != 7 || st.Pruned["execution_steps"] != 6 {
		t.Errorf("pruned totals after the restart: %v", st.Pruned)
	}
}

func TestRetentionValidation(t *testing.T) {
	t.Parallel()
	db, acct := setup(t)
	for _, r := range []spoke.Retention{{Days: 0, FailedDays: 90}, {Days: 30, FailedDays: 0}, {Days: 30, FailedDays: 90, MaxExecutionsPerFlow: -1}} {
		if _, err := db.SetRetention(context.Background(), acct, r); code(err) != spoke.EINVALID {
			t.Errorf("SetRetention(%+v) = %v, want EINVALID", r, err)
		}
	}
	if r, _ := db.Retention(context.Background(), acct); r != spoke.DefaultRetention {
		t.Errorf("default retention = %+v", r)
	}
	if err := db.SetRetentionDefaults(spoke.Retention{Days: 7, FailedDays: 14}); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Retention(context.Background(), acct); r.Days != 7 || r.FailedDays != 14 {
		t.Errorf("retention with server defaults = %+v", r)
	}
}

// TestPruneCap keeps the newest executions of each flow up to the cap.
func TestPruneCap(t *testing.T) {
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

// TestPruneWhileRunning commits steps of new enrollments while the pruner
// deletes old ones: every old row goes, no new one does.
func TestPruneWhileRunning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	now := time.Now()
	db.Now = func() time.Time { return now }
	old := now.AddDate(0, 0, -40)
	for i := 0; i < 300; i++ {
		logExecution(t, db, &spoke.Enrollment{ID: int64(i), AccountID: acct, FlowID: "1", ObjectID: 1},
			&spoke.Execution{ActionID: "1", ActionType: "CUSTOM_CODE", Attempt: 1, Status: "SUCCESS", StartedAt: old})
		if _, err := db.write.ExecContext(ctx, `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, run_at, created_at, updated_at, completed_at)
			VALUES (?, '1', '1', 'contacts', ?, 'COMPLETED', 0, ?, ?, ?)`, acct, 1000+i, old.UnixMilli(), old.UnixMilli(), old.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var committed int
	go func() {
		defer wg.Done()
		f := &spoke.Flow{ID: "1", RevisionID: "1"}
		for i := 0; i < 40; i++ {
			rec := create(t, db, acct, "contacts", props("email", fmt.Sprintf("run%d@example.com", i)))
			if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
				t.Error(err)
				return
			}
			lease := spoke.Lease{Token: int64(100 + i), Until: now.Add(time.Hour)}
			got, err := db.Claim(ctx, now.Add(time.Minute), 10, lease)
			if err != nil || len(got) != 1 {
				t.Errorf("Claim = %v, %v", got, err)
				return
			}
			e := got[0]
			e.Status, e.CompletedAt = spoke.EnrollmentCompleted, now
			st := &spoke.Step{Enrollment: e, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Status: "SUCCESS", Attempt: 1, StartedAt: now}}}
			if _, err := db.Commit(ctx, lease, []*spoke.Step{st}); err != nil {
				t.Error(err)
				return
			}
			committed++
		}
	}()
	for i := 0; i < 5; i++ {
		if _, err := db.PruneCycle(ctx, fastPrune); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := db.PruneCycle(ctx, fastPrune); err != nil {
		t.Fatal(err)
	}
	var oldX, newX, oldE, newE int
	db.read.QueryRow(`SELECT count(*) FROM execution_steps WHERE started_at < ?`, now.AddDate(0, 0, -30).UnixMilli()).Scan(&oldX)
	db.read.QueryRow(`SELECT count(*) FROM execution_steps WHERE started_at >= ?`, now.AddDate(0, 0, -30).UnixMilli()).Scan(&newX)
	db.read.QueryRow(`SELECT count(*) FROM enrollments WHERE created_at < ?`, now.AddDate(0, 0, -30).UnixMilli()).Scan(&oldE)
	db.read.QueryRow(`SELECT count(*) FROM enrollments WHERE created_at >= ?`, now.AddDate(0, 0, -30).UnixMilli()).Scan(&newE)
	if oldX != 0 || oldE != 0 || newX != committed || newE != committed || committed != 40 {
		t.Errorf("old executions %d, enrollments %d; new %d, %d of %d committed", oldX, oldE, newX, newE, committed)
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
