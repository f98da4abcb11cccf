package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"RevertStore", testRevertStore})
}

// A revert job finds the records a flow wrote in its window, plans (dry
// run) and applies putting back the values from before the flow's writes,
// leaves a value someone changed since as a conflict, and keeps its
// progress; a finished job is no longer running.
func testRevertStore(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "contacts", props("email", "a@example.com", "jobtitle", "Engineer", "city", "Cork"))
	b := create(t, db, acct, "contacts", props("email", "b@example.com", "jobtitle", "Analyst"))
	untouched := create(t, db, acct, "contacts", props("email", "c@example.com", "jobtitle", "Chef"))
	since := db.Now()
	flowSrc := spoke.WriteSource{Type: spoke.SourceAutomation, ID: "5", EnrollmentID: "1"}
	for _, r := range []*spoke.Record{a, b} {
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(r.ID, 10), Properties: props("jobtitle", "CEO", "city", "Dublin")}}, flowSrc)
		if err != nil || res[0].Err != nil {
			t.Fatalf("flow write: %v %v", res, err)
		}
	}
	// Someone changes b's city after the flow did: a conflict.
	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(b.ID, 10), Properties: props("city", "Paris")})
	until := db.Now().Add(time.Minute)

	j := &spoke.RevertJob{AccountID: acct, FlowID: "5", Request: spoke.RevertRequest{Since: since, Until: until, ObjectType: "contacts"}}
	if err := db.CreateRevertJob(ctx, j); err != nil || j.ID == 0 || j.Status != spoke.RevertRunning {
		t.Fatalf("CreateRevertJob: %+v %v", j, err)
	}
	ids, err := db.RevertTargets(ctx, j)
	if err != nil || len(ids) != 2 || ids[0] != a.ID || ids[1] != b.ID {
		t.Fatalf("targets = %v, %v; want %d and %d, not %d", ids, err, a.ID, b.ID, untouched.ID)
	}
	if err := db.SetRevertTotal(ctx, j, int64(len(ids))); err != nil {
		t.Fatal(err)
	}
	plan, err := db.RevertRecords(ctx, j, ids, false)
	if err != nil || len(plan.Changes) != 3 || len(plan.Conflicts) != 1 || plan.Records != 2 {
		t.Fatalf("dry run = %+v, %v", plan, err)
	}
	if c := plan.Conflicts[0]; c.ObjectID != b.ID || c.Property != "city" || c.FlowValue != "Dublin" || c.Current != "Paris" {
		t.Errorf("conflict = %+v", c)
	}
	if got := get(t, db, acct, "contacts", strconv.FormatInt(a.ID, 10), spoke.ReadOptions{}); got.Properties["jobtitle"] != "CEO" {
		t.Errorf("a dry run wrote: %v", got.Properties)
	}
	done, err := db.RevertRecords(ctx, j, ids, true)
	if err != nil || len(done.Changes) != 3 || len(done.Conflicts) != 1 {
		t.Fatalf("apply = %+v, %v", done, err)
	}
	gotA := get(t, db, acct, "contacts", strconv.FormatInt(a.ID, 10), spoke.ReadOptions{})
	gotB := get(t, db, acct, "contacts", strconv.FormatInt(b.ID, 10), spoke.ReadOptions{})
	if gotA.Properties["jobtitle"] != "Engineer" || gotA.Properties["city"] != "Cork" || gotB.Properties["jobtitle"] != "Analyst" || gotB.Properties["city"] != "Paris" {
		t.Errorf("after the revert: a %v, b %v", gotA.Properties, gotB.Properties)
	}
	stored, err := db.GetRevertJob(ctx, acct, "5", j.ID)
	if err != nil || stored.Cursor != b.ID || stored.Processed != 2 || stored.Total != 2 || stored.Records != 2 || stored.Reverted != 3 || stored.Conflicts != 1 {
		t.Errorf("stored job = %+v, %v", stored, err)
	}
	if running, err := db.RunningRevertJobs(ctx); err != nil || len(running) != 1 || running[0].ID != j.ID {
		t.Errorf("running = %v, %v", running, err)
	}
	if err := db.FinishRevertJob(ctx, j, spoke.RevertComplete, ""); err != nil {
		t.Fatal(err)
	}
	if running, err := db.RunningRevertJobs(ctx); err != nil || len(running) != 0 {
		t.Errorf("running after finishing = %v, %v", running, err)
	}
	if _, err := db.GetRevertJob(ctx, acct, "6", j.ID); code(err) != spoke.ENOTFOUND {
		t.Errorf("another flow's revert: %v", err)
	}
}
