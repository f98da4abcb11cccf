package storetest

import (
	"context"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"StepEffects", testStepEffects})
}

// A step's effects commit with it: a record an action creates (with its
// associations; its id becomes the action's hs_object_id output) and the
// enrolled record joining a static list; an effect that cannot be applied
// fails the enrollment at its action.
func testStepEffects(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	rec := create(t, db, acct, "contacts", props("email", "fx@example.com"))
	l, err := db.CreateList(ctx, acct, &spoke.List{Name: "Followed up", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	en := claimOne(t, db, acct, rec)
	en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
	st := &spoke.Step{Enrollment: en,
		Executions: []*spoke.Execution{{ActionID: "1", ActionType: "0-3", Status: "SUCCESS", StartedAt: db.Now()}, {ActionID: "2", ActionType: "0-63809083", Status: "SUCCESS", StartedAt: db.Now()}},
		Effects: []spoke.StepEffect{
			{Execution: 0, ActionID: "1", Create: &spoke.RecordCreate{ObjectType: "tasks", Properties: props("hs_task_subject", "Call", "hs_timestamp", "1700000000000"),
				Associations: []spoke.AssociationInput{{ToID: strconv.FormatInt(rec.ID, 10), Types: hubspotType(204)}}}},
			{Execution: 1, ActionID: "2", ListID: l.ID, ListAdd: true},
		}}
	if _, err := db.Commit(ctx, testLease, []*spoke.Step{st}); err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetEnrollment(ctx, en.ID)
	if err != nil || stored.Status != spoke.EnrollmentCompleted {
		t.Fatalf("enrollment = %+v, %v", stored, err)
	}
	taskID := stored.Outputs["1"][spoke.PropObjectID]
	if taskID == "" {
		t.Fatalf("no hs_object_id output: %v", stored.Outputs)
	}
	if task := get(t, db, acct, "tasks", taskID, spoke.ReadOptions{}); task == nil || task.Properties["hs_task_subject"] != "Call" {
		t.Fatalf("created task = %+v", task)
	}
	links, _, err := db.ListAssociations(ctx, acct, "contacts", rec.ID, "tasks", 0, 10)
	if err != nil || len(links) != 1 || strconv.FormatInt(links[0].ToID, 10) != taskID {
		t.Errorf("the contact's tasks = %v, %v", links, err)
	}
	xs, _, err := db.RecentExecutions(ctx, acct, "77", spoke.RunQuery{ActionID: "1", Limit: 10})
	if err != nil || len(xs) != 1 || xs[0].Outputs[spoke.PropObjectID] != taskID {
		t.Errorf("the create action's execution = %v, %v", xs, err)
	}
	members, _, err := db.ListMembers(ctx, acct, l.ID, 0, 10)
	if err != nil || len(members) != 1 || members[0].RecordID != rec.ID {
		t.Errorf("list members = %v, %v", members, err)
	}

	// A list that does not exist fails the enrollment at its action.
	other := create(t, db, acct, "contacts", props("email", "fx2@example.com"))
	en2 := claimOne(t, db, acct, other)
	en2.Status, en2.CompletedAt = spoke.EnrollmentCompleted, db.Now()
	st2 := &spoke.Step{Enrollment: en2, Executions: []*spoke.Execution{{ActionID: "2", ActionType: "0-63809083", Status: "SUCCESS", StartedAt: db.Now()}},
		Effects: []spoke.StepEffect{{Execution: 0, ActionID: "2", ListID: "424242", ListAdd: true}}}
	if _, err := db.Commit(ctx, testLease, []*spoke.Step{st2}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetEnrollment(ctx, en2.ID); err != nil || got.Status != spoke.EnrollmentFailed || got.Error == nil || got.Error.Type != "LIST_NOT_FOUND" {
		t.Errorf("enrollment with a missing list = %+v, %v", got, err)
	}
	if xs, _, _ := db.RecentExecutions(ctx, acct, "77", spoke.RunQuery{ObjectID: other.ID, Limit: 10}); len(xs) != 1 || xs[0].Status != "ERROR" {
		t.Errorf("the failed list action's execution = %v", xs)
	}
}
