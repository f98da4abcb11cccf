package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"RunQueries", testRunQueries})
}

// The web UI's run queries (spoke.RunStore) over enrollments and
// executions the engine committed: counts, recent rates, newest-first
// paging with filters, one execution, a record's enrollments and daily
// counts.
func testRunQueries(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	day := 24 * time.Hour
	r10 := create(t, db, acct, "contacts", props("email", "r10@example.com"))
	r11 := create(t, db, acct, "contacts", props("email", "r11@example.com"))
	r12 := create(t, db, acct, "contacts", props("email", "r12@example.com"))
	// Flow 1 enrolls the three, flow 2 the first.
	for _, e := range []struct {
		flow string
		ids  []int64
	}{{"1", []int64{r10.ID, r11.ID, r12.ID}}, {"2", []int64{r10.ID}}} {
		if _, err := db.Enroll(ctx, acct, &spoke.Flow{ID: e.flow, RevisionID: "1"}, "contacts", e.ids, false); err != nil {
			t.Fatal(err)
		}
	}
	now := db.Now().Add(time.Hour).Truncate(time.Millisecond)
	claimed, err := db.Claim(ctx, now, 10, testLease)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	en := map[string]*spoke.Enrollment{}
	for _, e := range claimed {
		en[e.FlowID+"/"+map[int64]string{r10.ID: "10", r11.ID: "11", r12.ID: "12"}[e.ObjectID]] = e
	}
	// Flow 1: record 10 stays active after four executions (two days ago
	// one success, today two successes and one error), 11 completes, 12
	// fails; flow 2: record 10 completes.
	var steps []*spoke.Step
	for key, status := range map[string]string{"1/11": spoke.EnrollmentCompleted, "1/12": spoke.EnrollmentFailed, "2/10": spoke.EnrollmentCompleted} {
		e := en[key]
		e.Status, e.CompletedAt, e.CurrentAction = status, now, ""
		if status == spoke.EnrollmentFailed {
			e.Error = &spoke.ActionError{Type: "CODE_ERROR", Message: "boom"}
		}
		steps = append(steps, &spoke.Step{Enrollment: e})
	}
	active := en["1/10"]
	active.CurrentAction, active.RunAt = "2", now.Add(day)
	for _, x := range []struct {
		at     time.Time
		status string
		action string
	}{{now.Add(-2 * day), "SUCCESS", "1"}, {now.Add(-time.Hour), "SUCCESS", "1"}, {now.Add(-time.Minute), "SUCCESS", "2"}, {now, "ERROR", "2"}} {
		active.Attempt = 1
		steps = append(steps, &spoke.Step{Enrollment: active, Executions: []*spoke.Execution{{ActionID: x.action, ActionType: "CUSTOM_CODE",
			Attempt: 1, Status: x.status, StartedAt: x.at, DurationMs: 1.5, Logs: "INFO hi"}}})
	}
	for _, st := range steps {
		if _, err := db.Commit(ctx, testLease, []*spoke.Step{st}); err != nil {
			t.Fatal(err)
		}
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
	if err != nil || !more || len(ens) != 2 || ens[0].ID != en["1/12"].ID || ens[1].ID != en["1/11"].ID {
		t.Fatalf("first page of enrollments = %v, %v, %v", ens, more, err)
	}
	ens, more, err = db.RecentEnrollments(ctx, acct, "1", spoke.RunQuery{Limit: 2, Before: ens[1].ID})
	if err != nil || more || len(ens) != 1 || ens[0].ID != active.ID {
		t.Fatalf("second page of enrollments = %v, %v, %v", ens, more, err)
	}
	ens, _, _ = db.RecentEnrollments(ctx, acct, "1", spoke.RunQuery{Limit: 10, Status: "FAILED"})
	if len(ens) != 1 || ens[0].ObjectID != r12.ID {
		t.Fatalf("failed enrollments = %v", ens)
	}

	all, more, err := db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 10})
	if err != nil || more || len(all) != 4 || !all[0].StartedAt.Equal(now) || !all[3].StartedAt.Equal(now.Add(-2*day)) {
		t.Fatalf("executions of flow 1 = %v, %v, %v", all, more, err)
	}
	xs, more, err := db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 10, ActionID: "2"})
	if err != nil || more || len(xs) != 2 || xs[0].ID != all[0].ID || xs[0].Status != "ERROR" || xs[1].ID != all[1].ID {
		t.Fatalf("executions of action 2 = %v, %v, %v", xs, more, err)
	}
	xs, more, err = db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 1, Before: all[1].ID})
	if err != nil || !more || len(xs) != 1 || xs[0].ID != all[2].ID {
		t.Fatalf("executions before the second = %v, %v, %v", xs, more, err)
	}
	if xs, _, _ := db.RecentExecutions(ctx, acct, "1", spoke.RunQuery{Limit: 10, Status: "SUCCESS", ObjectID: r11.ID}); len(xs) != 0 {
		t.Fatalf("executions of record 11 = %v", xs)
	}
	x, err := db.GetExecution(ctx, acct, all[2].ID)
	if err != nil || x.Logs != "INFO hi" || x.DurationMs != 1.5 || x.ActionID != "1" || x.ObjectID != r10.ID {
		t.Fatalf("GetExecution = %+v, %v", x, err)
	}
	if _, err := db.GetExecution(ctx, acct+1, all[2].ID); code(err) != spoke.ENOTFOUND {
		t.Fatalf("another account's execution: %v", err)
	}

	recs, err := db.RecordEnrollments(ctx, acct, "contacts", r10.ID, 10)
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
