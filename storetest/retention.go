package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"PruneRule", testPruneRule},
		test{"RetentionSettings", testRetentionSettings},
		test{"PruneCap", testPruneCap},
		test{"PruneWhileRunning", testPruneWhileRunning},
		test{"StorageStats", testStorageStats},
	)
}

// fastPrune prunes in small batches without pauses.
var fastPrune = spoke.PruneConfig{Batch: 7, Duty: 1}

func prune(t *testing.T, db *DB) int {
	t.Helper()
	n, err := db.PruneCycle(context.Background(), fastPrune)
	if err != nil {
		t.Fatalf("PruneCycle: %v", err)
	}
	return n
}

// runner enrolls one new contact in each flow and claims the enrollments,
// to commit executions through: they stay ACTIVE.
func runners(t *testing.T, db *DB, acct int64, flows ...*spoke.Flow) map[string]*spoke.Enrollment {
	t.Helper()
	ctx := context.Background()
	for i, f := range flows {
		rec := create(t, db, acct, "contacts", props("email", fmt.Sprintf("runner%d-%s@example.com", i, f.ID)))
		if res, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil || len(res.Enrolled) != 1 {
			t.Fatalf("Enroll = %+v, %v", res, err)
		}
	}
	got, err := db.Claim(ctx, db.Now().Add(time.Minute), 100, testLease)
	if err != nil || len(got) != len(flows) {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	out := map[string]*spoke.Enrollment{}
	for _, e := range got {
		out[e.FlowID] = e
	}
	return out
}

// logExecution commits one execution of e's flow, started at at.
func logExecution(t *testing.T, db *DB, e *spoke.Enrollment, status string, at time.Time) {
	t.Helper()
	e.Attempt = 1
	x := &spoke.Execution{ActionID: "1", ActionType: "CUSTOM_CODE", Attempt: 1, Status: status, StartedAt: at, Logs: "INFO ran"}
	if _, err := db.Commit(context.Background(), testLease, []*spoke.Step{{Enrollment: e, Executions: []*spoke.Execution{x}}}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// executionIDs returns the ids of a flow's executions in order.
func executionIDs(t *testing.T, db *DB, acct int64, flowID string) []int64 {
	t.Helper()
	xs, _, err := db.ListExecutions(context.Background(), acct, flowID, spoke.ExecutionQuery{Limit: 1000})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	var ids []int64
	for _, x := range xs {
		ids = append(ids, x.ID)
	}
	return ids
}

// insertEnrollment adds an enrollment row as the engine would leave it.
func insertEnrollment(t *testing.T, db *DB, acct int64, flowID, status string, objectID int64, created, completed int64) int64 {
	t.Helper()
	db.exec(t, `INSERT INTO enrollments (account_id, flow_id, revision_id, object_type, object_id, status, run_at, created_at, updated_at, completed_at)
		VALUES (?, ?, '1', 'contacts', ?, ?, 0, ?, ?, ?)`, acct, flowID, objectID, status, created, completed, completed)
	return int64(db.count(t, `SELECT max(id) FROM enrollments`))
}

func sortedIDs(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// testPruneRule writes enrollments of every status and executions of
// every age, prunes, and checks that exactly the due rows went: finished
// enrollments past their retention (FAILED ones past the longer one),
// never ACTIVE or HELD ones, nothing of a flow whose staged rollout holds,
// that a revert runs on or that is held, nor property history; that the
// runs views still count the pruned executions; then that a shorter
// retention prunes what it makes due, and that the flows whose hold,
// rollout and revert ended are pruned too.
func testPruneRule(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	db.SetNow(func() time.Time { return now })
	days := func(n int) int64 { return now.AddDate(0, 0, -n).UnixMilli() }
	var flows []*spoke.Flow
	for i := 0; i < 4; i++ {
		f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody(fmt.Sprint("flow", i+1), "0-1", true)))
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	f1, f2, f3, f4 := flows[0].ID, flows[1].ID, flows[2].ID, flows[3].ID
	run := runners(t, db, acct, flows...)
	type ex struct {
		flow          string
		status        string
		age           int
		pruned, later bool // after the first cycle; after the retention drops to 5/20 days
		id            int64
		freed         int // held: the phase that ends its rollout or revert (3) or hold (4)
	}
	exs := []*ex{
		{flow: f1, status: "SUCCESS", age: 100, pruned: true, later: true},
		{flow: f1, status: "ERROR", age: 100, pruned: true, later: true},
		{flow: f1, status: "ERROR", age: 60, later: true},
		{flow: f1, status: "SUCCESS", age: 31, pruned: true, later: true},
		{flow: f2, status: "SUCCESS", age: 100, freed: 4}, // held flow
		{flow: f3, status: "ERROR", age: 100, freed: 3},   // rollout in progress
		{flow: f4, status: "SUCCESS", age: 100, freed: 3}, // revert running
		{flow: f1, status: "SUCCESS", age: 29, later: true},
		{flow: f1, status: "ERROR", age: 10},
		{flow: f1, status: "SUCCESS", age: 1},
	}
	for _, x := range exs {
		before := executionIDs(t, db, acct, x.flow)
		logExecution(t, db, run[x.flow], x.status, time.UnixMilli(days(x.age)))
		after := executionIDs(t, db, acct, x.flow)
		x.id = after[len(after)-1]
		if len(after) != len(before)+1 {
			t.Fatalf("executions of flow %s: %v then %v", x.flow, before, after)
		}
	}
	rec := create(t, db, acct, "contacts", props("email", "kept@example.com"))
	type en struct {
		flow          string
		status        string
		age           int // days since completion
		pruned, later bool
		id            int64
		freed         int
	}
	ens := []*en{
		{flow: f1, status: "ACTIVE", age: 400},
		{flow: f1, status: "HELD", age: 400},
		{flow: f1, status: "COMPLETED", age: 31, pruned: true, later: true},
		{flow: f1, status: "COMPLETED", age: 29, later: true},
		{flow: f1, status: "CANCELLED", age: 31, pruned: true, later: true},
		{flow: f1, status: "UNENROLLED", age: 31, pruned: true, later: true},
		{flow: f1, status: "FAILED", age: 31, later: true},
		{flow: f1, status: "FAILED", age: 91, pruned: true, later: true},
		{flow: f1, status: "COMPLETED", age: 3},
		{flow: f1, status: "FAILED", age: 10},
		{flow: f2, status: "COMPLETED", age: 400, freed: 4},
		{flow: f3, status: "COMPLETED", age: 400, freed: 3},
		{flow: f4, status: "FAILED", age: 400, freed: 3},
		{flow: f3, status: "HELD", age: 400},
	}
	for _, e := range ens {
		completed := days(e.age)
		if e.status == "ACTIVE" || e.status == "HELD" {
			completed = 0
		}
		e.id = insertEnrollment(t, db, acct, e.flow, e.status, rec.ID, days(e.age+1), completed)
	}
	history := countRows(t, db, "property_history")

	// Flow 2 is held, flow 3's staged rollout runs, a revert runs on
	// flow 4.
	if err := db.HoldRetention(ctx, f2, "test"); err != nil {
		t.Fatal(err)
	}
	staged, err := db.UpdateFlow(ctx, acct, withRevision(parseFlow(t, stagedBody("flow3", `{"stages": [1]}`, true)), f3, flows[2].RevisionID))
	if err != nil {
		t.Fatal(err)
	}
	if r := currentRollout(t, db, acct, staged.ID); r.State != spoke.RolloutRunning {
		t.Fatalf("rollout of flow 3: %+v", r)
	}
	db.exec(t, `INSERT INTO revert_jobs (account_id, flow_id, request, status, created_at, updated_at) VALUES (?, ?, '{}', 'RUNNING', 0, 0)`, acct, f4)

	check := func(phase int) {
		t.Helper()
		var wantE []int64
		for _, e := range ens {
			if !(phase >= 1 && e.pruned || phase >= 2 && e.later || e.freed > 0 && phase >= e.freed) {
				wantE = append(wantE, e.id)
			}
		}
		for _, r := range run {
			wantE = append(wantE, r.ID)
		}
		var gotE []int64
		for _, f := range flows {
			for _, e := range enrollmentsOf(t, db, acct, f.ID) {
				gotE = append(gotE, e.ID)
			}
		}
		if fmt.Sprint(sortedIDs(gotE)) != fmt.Sprint(sortedIDs(wantE)) {
			t.Errorf("phase %d: enrollments left %v, want %v", phase, sortedIDs(gotE), sortedIDs(wantE))
		}
		var wantX, gotX []int64
		for _, x := range exs {
			if !(phase >= 1 && x.pruned || phase >= 2 && x.later || x.freed > 0 && phase >= x.freed) {
				wantX = append(wantX, x.id)
			}
		}
		for _, f := range flows {
			gotX = append(gotX, executionIDs(t, db, acct, f.ID)...)
		}
		if fmt.Sprint(sortedIDs(gotX)) != fmt.Sprint(sortedIDs(wantX)) {
			t.Errorf("phase %d: executions left %v, want %v", phase, sortedIDs(gotX), sortedIDs(wantX))
		}
		if h := countRows(t, db, "property_history"); h != history {
			t.Errorf("phase %d: property history rows %d, want %d", phase, h, history)
		}
	}
	if n := prune(t, db); n < 4+3 {
		t.Errorf("pruned %d rows, want at least 7 (4 enrollments, 3 executions)", n)
	}
	check(1)
	if n := prune(t, db); n != 0 {
		t.Errorf("a second cycle pruned %d rows, want 0", n)
	}
	st, err := db.StorageStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pruned["enrollments"] != 4 || !st.OldestExecution.Equal(now.AddDate(0, 0, -100)) {
		t.Errorf("storage stats after pruning: pruned %v, oldest execution %v", st.Pruned, st.OldestExecution)
	}
	// The runs views still count the executions pruned (within the 90
	// days their counts are kept).
	stats, err := db.FlowStats(ctx, acct, []string{f1}, now.AddDate(0, 0, -40))
	if err != nil {
		t.Fatal(err)
	}
	if s := stats[f1]; s.RecentRuns != 4 || s.RecentFailures != 1 || !s.LastRun.Equal(now.AddDate(0, 0, -1)) {
		t.Errorf("flow stats after pruning: %+v", s)
	}
	daily, err := db.DailyRuns(ctx, acct, now.AddDate(0, 0, -60))
	if err != nil {
		t.Fatal(err)
	}
	var runs, fails int64
	for _, d := range daily {
		runs, fails = runs+d.Executions, fails+d.Failures
	}
	if runs != 5 || fails != 2 {
		t.Errorf("daily runs after pruning: %d executions, %d failures (%+v), want 5 and 2", runs, fails, daily)
	}

	// A shorter retention, set for the account.
	if _, err := db.SetRetention(ctx, acct, spoke.Retention{Days: 5, FailedDays: 20}); err != nil {
		t.Fatal(err)
	}
	if r, err := db.Retention(ctx, acct); err != nil || r.Days != 5 || r.FailedDays != 20 || r.MaxExecutionsPerFlow != 0 {
		t.Fatalf("Retention = %+v, %v", r, err)
	}
	prune(t, db)
	check(2)

	// The rollout completes and the revert finishes: their flows' old
	// rows go too, without anything telling the pruner but the rollout
	// and the revert job.
	r := currentRollout(t, db, acct, f3)
	if err := db.SetRolloutState(ctx, r, spoke.RolloutRunning, 1, spoke.RolloutComplete, now); err != nil {
		t.Fatal(err)
	}
	db.exec(t, `UPDATE revert_jobs SET status = 'COMPLETE' WHERE flow_id = ?`, f4)
	prune(t, db)
	// Completing the rollout released flow 3's held enrollment: it is
	// ACTIVE now, and kept.
	check(3)
	// The hold ends.
	if err := db.ReleaseRetention(ctx, f2, "test"); err != nil {
		t.Fatal(err)
	}
	prune(t, db)
	check(4)
	st, _ = db.StorageStats(ctx)
	if st.Pruned["enrollments"] != 9 {
		t.Errorf("enrollments pruned in all: %v", st.Pruned)
	}
}

// testRetentionSettings checks validation, the server's defaults and an
// account's own settings.
func testRetentionSettings(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	for _, r := range []spoke.Retention{{Days: 0, FailedDays: 90}, {Days: 30, FailedDays: 0}, {Days: 30, FailedDays: 90, MaxExecutionsPerFlow: -1}, {Days: 36501, FailedDays: 1}} {
		if _, err := db.SetRetention(ctx, acct, r); code(err) != spoke.EINVALID {
			t.Errorf("SetRetention(%+v) = %v, want EINVALID", r, err)
		}
	}
	if err := db.SetRetentionDefaults(spoke.Retention{Days: 0}); code(err) != spoke.EINVALID {
		t.Errorf("SetRetentionDefaults of 0 days: %v, want EINVALID", err)
	}
	if r, err := db.Retention(ctx, acct); err != nil || r != spoke.DefaultRetention {
		t.Errorf("default retention = %+v, %v", r, err)
	}
	if err := db.SetRetentionDefaults(spoke.Retention{Days: 7, FailedDays: 14}); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.Retention(ctx, acct); r.Days != 7 || r.FailedDays != 14 {
		t.Errorf("retention with server defaults = %+v", r)
	}
	want := spoke.Retention{Days: 3, FailedDays: 4, MaxExecutionsPerFlow: 50}
	if got, err := db.SetRetention(ctx, acct, want); err != nil || got != want {
		t.Fatalf("SetRetention = %+v, %v", got, err)
	}
	if r, _ := db.Retention(ctx, acct); r != want {
		t.Errorf("account retention = %+v, want %+v", r, want)
	}
}

// testPruneCap keeps the newest executions of each flow up to the cap.
func testPruneCap(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	var flows []*spoke.Flow
	for i := 0; i < 2; i++ {
		f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody(fmt.Sprint("capped", i), "0-1", true)))
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, f)
	}
	run := runners(t, db, acct, flows...)
	for i := 0; i < 10; i++ {
		for _, f := range flows {
			logExecution(t, db, run[f.ID], "SUCCESS", db.Now())
		}
	}
	want := executionIDs(t, db, acct, flows[0].ID)[3:]
	if _, err := db.SetRetention(ctx, acct, spoke.Retention{Days: 30, FailedDays: 90, MaxExecutionsPerFlow: 7}); err != nil {
		t.Fatal(err)
	}
	prune(t, db)
	if got := executionIDs(t, db, acct, flows[0].ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flow 1 keeps %v, want %v", got, want)
	}
	if got := executionIDs(t, db, acct, flows[1].ID); len(got) != 7 {
		t.Errorf("flow 2 keeps %v", got)
	}
}

// testPruneWhileRunning commits steps of new enrollments while the pruner
// deletes old ones: every old row goes, no new one does.
func testPruneWhileRunning(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	db.SetNow(func() time.Time { return now })
	old := now.AddDate(0, 0, -40)
	f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("busy", "0-1", true)))
	if err != nil {
		t.Fatal(err)
	}
	oldRun := runners(t, db, acct, f)[f.ID]
	rec := create(t, db, acct, "contacts", props("email", "old@example.com"))
	for i := 0; i < 100; i++ {
		logExecution(t, db, oldRun, "SUCCESS", old)
		insertEnrollment(t, db, acct, f.ID, "COMPLETED", rec.ID, old.UnixMilli(), old.UnixMilli())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	committed := 0
	go func() {
		defer wg.Done()
		lease := spoke.Lease{Token: 2, Until: now.Add(time.Hour)}
		for i := 0; i < 30; i++ {
			r := create(t, db, acct, "contacts", props("email", fmt.Sprintf("run%d@example.com", i)))
			if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{r.ID}, false); err != nil {
				t.Error(err)
				return
			}
			got, err := db.Claim(ctx, now.Add(time.Minute), 10, lease)
			if err != nil || len(got) != 1 {
				t.Errorf("Claim = %v, %v", got, err)
				return
			}
			e := got[0]
			e.Status, e.CompletedAt, e.Attempt = spoke.EnrollmentCompleted, now, 1
			st := &spoke.Step{Enrollment: e, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Status: "SUCCESS", Attempt: 1, StartedAt: now}}}
			if _, err := db.Commit(ctx, lease, []*spoke.Step{st}); err != nil {
				t.Error(err)
				return
			}
			committed++
		}
	}()
	for i := 0; i < 5; i++ {
		prune(t, db)
	}
	wg.Wait()
	prune(t, db)
	cut := now.AddDate(0, 0, -30).UnixMilli()
	var oldX, newX, oldE, newE int
	xs, _, err := db.ListExecutions(ctx, acct, f.ID, spoke.ExecutionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		if x.StartedAt.UnixMilli() < cut {
			oldX++
		} else {
			newX++
		}
	}
	for _, e := range enrollmentsOf(t, db, acct, f.ID) {
		switch {
		case e.ID == oldRun.ID:
		case e.CreatedAt.UnixMilli() < cut:
			oldE++
		default:
			newE++
		}
	}
	if oldX != 0 || oldE != 0 || newX != committed || newE != committed || committed != 30 {
		t.Errorf("old executions %d, enrollments %d; new %d, %d of %d committed", oldX, oldE, newX, newE, committed)
	}
}

// testStorageStats checks the storage figures' shape: the database's
// size, every main table with its bytes, rows pruned per table and the
// oldest execution kept.
func testStorageStats(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	contacts(t, db, acct, "stats", 20)
	st, err := db.StorageStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.FileBytes <= 0 || st.WALBytes < 0 || st.FreeBytes < 0 || st.Pruned == nil || !st.OldestExecution.IsZero() {
		t.Errorf("storage stats: %+v", st)
	}
	seen := map[string]spoke.TableStats{}
	for _, ts := range st.Tables {
		seen[ts.Name] = ts
	}
	for _, name := range []string{"records", "property_history", "enrollments", "flows"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("no figures for table %s: %+v", name, st.Tables)
		}
	}
	if r := seen["records"]; r.Bytes+r.IndexBytes <= 0 {
		t.Errorf("records table figures: %+v", r)
	}
	f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("stats", "0-1", true)))
	if err != nil {
		t.Fatal(err)
	}
	at := db.Now().Add(-time.Hour).Truncate(time.Millisecond)
	logExecution(t, db, runners(t, db, acct, f)[f.ID], "SUCCESS", at)
	if st, err = db.StorageStats(ctx); err != nil || !st.OldestExecution.Equal(at) {
		t.Errorf("oldest execution %v, want %v (%v)", st.OldestExecution, at, err)
	}
}
