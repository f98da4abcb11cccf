package sqlite

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// TestRunQueries writes enrollments and executions of two flows and reads
// them back through the web UI's queries: counts, recent rates, newest
// first paging with filters, a record's enrollments and daily counts.
func TestRunQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	now := time.Now().UTC()
	day := 24 * time.Hour
	ins := func(q string, args ...any) {
		t.Helper()
		if _, err := db.WriteDB().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Flow 1: records 10, 11, 12 (active, completed, failed); flow 2: record 10 completed.
	for i, e := range []struct {
		flow   string
		object int64
		status string
	}{{"1", 10, "ACTIVE"}, {"1", 11, "COMPLETED"}, {"1", 12, "FAILED"}, {"2", 10, "COMPLETED"}} {
		ins(`INSERT INTO enrollments (id, account_id, flow_id, revision_id, object_type, object_id, status, run_at, created_at, updated_at)
			VALUES (?, ?, ?, '1', 'contacts', ?, ?, 0, 0, 0)`, i+1, acct, e.flow, e.object, e.status)
	}
	// Flow 1 executions: two days ago one success; today two successes and one error.
	var ids []int64
	for _, x := range []struct {
		at     time.Time
		status string
		action string
	}{{now.Add(-2 * day), "SUCCESS", "1"}, {now.Add(-time.Hour), "SUCCESS", "1"}, {now.Add(-time.Minute), "SUCCESS", "2"}, {now, "ERROR", "2"}} {
		ids = append(ids, logExecution(t, db, &spoke.Enrollment{ID: 1, AccountID: acct, FlowID: "1", ObjectID: 10},
			&spoke.Execution{ActionID: x.action, ActionType: "CUSTOM_CODE", Attempt: 1, Status: x.status, StartedAt: x.at, DurationMs: 1.5, Logs: "INFO hi"}))
	}

	stats, err := db.FlowStats(ctx, acct, []string{"1", "2", "3"}, now.Add(-day))
	if err != nil {
		t.Fatal(err)
	}
	s1 := stats["1"]
	if s1.Enrolled != 3 || s1.Active != 1 || s1.Completed != 1 || s1.Failed != 1 || s1.RecentRuns != 3 || s1.RecentFailures != 1 ||
		s1.LastRun.UnixMilli() != now.UnixMilli() {
		t.Errorf("flow 1 stats = %+v", s1)
	}
	if r := s1.FailureRate(); r < 0.33 || r > 0.34 {
		t.Errorf("failure rate = %v", r)
	}
	if s3 := stats["3"]; s3.Enrolled != 0 || !s3.LastRun.IsZero() || s3.FailureRate() != 0 {
		t.Errorf("flow 3 stats = %+v", s3)
	}

	ens, more, err := db.RecentEnrollments(ctx, acct, "1", spoke.RunQuery{Limit: 2})
	if err != nil || !more || len(ens) != 2 || ens[0].ID != 3 || ens[1].ID != 2 {
		t.Fatalf("first page of enrollments = %v, %v, %v", ens, more, err)
	}
	ens, more, err = db.RecentEnrollments(ctx, acct, "1", spoke.RunQuery{Limit: 2, Before: 2})
	if err != nil || more || len(ens) != 1 || ens[0].ID != 1 {
		t.Fatalf("second page of enrollments = %v, %v, %v", ens, more, err)
	}
	ens, _, _ = db.RecentEnrollments(ctx, acct, "1", spoke.RunQuery{Limit: 10, Status: "FAILED"})
	if len(ens) != 1 || ens[0].ObjectID != 12 {
		t.Fatalf("failed enrollments = %v", ens)
	}

	xs, more, err := db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 10, ActionID: "2"})
	if err != nil || more || len(xs) != 2 || xs[0].ID != ids[3] || xs[0].Status != "ERROR" || xs[1].ID != ids[2] {
		t.Fatalf("executions of action 2 = %v, %v, %v", xs, more, err)
	}
	if xs, _, _ := db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 10, Status: "SUCCESS", ObjectID: 11}); len(xs) != 0 {
		t.Fatalf("executions of record 11 = %v", xs)
	}
	x, err := db.GetExecution(ctx, acct, ids[1])
	if err != nil || x.Logs != "INFO hi" || x.DurationMs != 1.5 {
		t.Fatalf("GetExecution = %+v, %v", x, err)
	}
	if _, err := db.GetExecution(ctx, acct+1, ids[1]); code(err) != spoke.ENOTFOUND {
		t.Fatalf("another account's execution: %v", err)
	}

	recs, err := db.RecordEnrollments(ctx, acct, "contacts", 10, 10)
	if err != nil || len(recs) != 2 || recs[0].FlowID != "2" || recs[1].FlowID != "1" {
		t.Fatalf("record 10's enrollments = %v, %v", recs, err)
	}

	days, err := db.DailyRuns(ctx, acct, now.Add(-29*day))
	if err != nil {
		t.Fatal(err)
	}
	var total, failures int64
	for _, d := range days {
		total += d.Executions
		failures += d.Failures
		if d.Day.Hour() != 0 || d.Day.After(now) {
			t.Errorf("day %v is not a UTC midnight up to today", d.Day)
		}
	}
	if total != 4 || failures != 1 || len(days) < 2 {
		t.Fatalf("daily runs = %+v", days)
	}
}

// logExecution writes one execution as the engine's commit logs it and
// returns its id.
func logExecution(t *testing.T, db *DB, e *spoke.Enrollment, x *spoke.Execution) int64 {
	t.Helper()
	ctx := context.Background()
	steps := []*spoke.Step{{Enrollment: e, Executions: []*spoke.Execution{x}}}
	if err := db.ensureRefs(ctx, steps); err != nil {
		t.Fatal(err)
	}
	rows, err := db.encodeSteps(nil, e, steps[0].Executions)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		s := db.txSession(tx)
		if err := s.QueryRowContext(ctx, stepInsert(1)+` RETURNING id`, rows...).Scan(&id); err != nil {
			return err
		}
		c := map[countKey]*countVal{}
		addCounts(c, e, steps[0].Executions)
		return writeCounts(ctx, s, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id * stepSlots
}
