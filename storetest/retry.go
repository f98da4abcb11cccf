package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"RetryEnrollment", testRetryEnrollment})
}

// A FAILED enrollment is made ACTIVE again at the action it failed at, on
// the flow's revision, due now, with a fresh attempt count and no error;
// other enrollments are refused (ENOTFOUND for another flow's or an unknown
// id, ECONFLICT for one that has not failed, EINVALID when the flow no
// longer has the action).
func testRetryEnrollment(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	rec := create(t, db, acct, "contacts", props("email", "retry@example.com"))
	en := claimOne(t, db, acct, rec)
	f := &spoke.Flow{ID: "77", RevisionID: "2", Actions: []spoke.Action{{ActionID: "1", ActionTypeID: "0-1"}}}
	if _, err := db.RetryEnrollment(ctx, acct, f, en.ID, db.Now()); code(err) != spoke.ECONFLICT {
		t.Errorf("retry of an active enrollment: %v, want ECONFLICT", err)
	}
	en.Status, en.CurrentAction, en.Attempt = spoke.EnrollmentFailed, "1", 3
	en.Error = &spoke.ActionError{Type: "CODE_ERROR", Message: "boom"}
	en.CompletedAt = db.Now()
	st := &spoke.Step{Enrollment: en, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "0-1", Status: "ERROR", StartedAt: db.Now()}}}
	if _, err := db.Commit(ctx, testLease, []*spoke.Step{st}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RetryEnrollment(ctx, acct, &spoke.Flow{ID: "78", RevisionID: "1"}, en.ID, db.Now()); code(err) != spoke.ENOTFOUND {
		t.Errorf("retry through another flow: %v, want ENOTFOUND", err)
	}
	if _, err := db.RetryEnrollment(ctx, acct, &spoke.Flow{ID: "77", RevisionID: "3"}, en.ID, db.Now()); code(err) != spoke.EINVALID {
		t.Errorf("retry on a revision without the action: %v, want EINVALID", err)
	}
	now := db.Now()
	got, err := db.RetryEnrollment(ctx, acct, f, en.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetEnrollment(ctx, en.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*spoke.Enrollment{got, stored} {
		if e.Status != spoke.EnrollmentActive || e.RevisionID != "2" || e.CurrentAction != "1" || e.Attempt != 1 || e.Error != nil ||
			!e.CompletedAt.IsZero() || !e.FirstFailureAt.IsZero() || e.RunAt.UnixMilli() != now.UnixMilli() {
			t.Errorf("retried enrollment = %+v", e)
		}
	}
	// It is due again: a claim takes it.
	claimed, err := db.Claim(ctx, now.Add(time.Hour), 10, testLease)
	if err != nil || len(claimed) != 1 || claimed[0].ID != en.ID {
		t.Errorf("claim after retry = %v, %v", claimed, err)
	}
}
