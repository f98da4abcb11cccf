package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(test{"RevertStore", testRevertStore}, test{"RevertJobLeases", testRevertJobLeases})
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
	// Only the engine that claimed a job writes to it.
	if err := db.SetRevertTotal(ctx, j, 2); code(err) != spoke.ECONFLICT {
		t.Fatalf("a write to a job not claimed = %v, want ECONFLICT", err)
	}
	lease := spoke.Lease{Token: 7, Until: db.Now().Add(time.Hour)}
	claimed, err := db.ClaimRevertJob(ctx, lease, db.Now())
	if err != nil || claimed == nil || claimed.ID != j.ID || claimed.Lease != lease || claimed.Request.ObjectType != "contacts" {
		t.Fatalf("ClaimRevertJob = %+v, %v", claimed, err)
	}
	j = claimed
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
	if err := db.FinishRevertJob(ctx, j, spoke.RevertComplete, ""); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseLeases(ctx); err != nil {
		t.Fatal(err)
	}
	if again, err := db.ClaimRevertJob(ctx, spoke.Lease{Token: 8, Until: db.Now().Add(time.Hour)}, db.Now()); err != nil || again != nil {
		t.Errorf("claim after finishing = %+v, %v", again, err)
	}
	if _, err := db.GetRevertJob(ctx, acct, "6", j.ID); code(err) != spoke.ENOTFOUND {
		t.Errorf("another flow's revert: %v", err)
	}
}

// Revert jobs are claimed one engine at a time: a leased job is not
// claimed again until its lease ends (or ReleaseLeases, or its holder
// gives it up); a renewed lease holds; once another engine took the job,
// the first one's writes (records, progress, its end) are refused and make
// no change.
func testRevertJobLeases(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	rec := create(t, db, acct, "contacts", props("email", "lease@example.com", "jobtitle", "Engineer"))
	since := db.Now()
	res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(rec.ID, 10), Properties: props("jobtitle", "CEO")}},
		spoke.WriteSource{Type: spoke.SourceAutomation, ID: "5", EnrollmentID: "1"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("flow write: %v %v", res, err)
	}
	req := spoke.RevertRequest{Since: since, Until: db.Now().Add(time.Minute), ObjectType: "contacts"}
	first, second := &spoke.RevertJob{AccountID: acct, FlowID: "5", Request: req}, &spoke.RevertJob{AccountID: acct, FlowID: "5", Request: req}
	for _, j := range []*spoke.RevertJob{first, second} {
		if err := db.CreateRevertJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claim := func(token int64, at time.Time) *spoke.RevertJob {
		t.Helper()
		j, err := db.ClaimRevertJob(ctx, spoke.Lease{Token: token, Until: at.Add(time.Minute)}, at)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	a := claim(1, now)
	b := claim(2, now)
	if a == nil || b == nil || a.ID != first.ID || b.ID != second.ID {
		t.Fatalf("two claims = %+v, %+v; want the two jobs, oldest first", a, b)
	}
	if c := claim(3, now.Add(30*time.Second)); c != nil {
		t.Fatalf("a third claim took leased job %d", c.ID)
	}
	// a's holder renews; b's holder gives b up at once.
	if err := db.RenewRevertLease(ctx, a.ID, spoke.Lease{Token: 1, Until: now.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := db.RenewRevertLease(ctx, b.ID, spoke.Lease{Token: 2, Until: time.Time{}}); err != nil {
		t.Fatal(err)
	}
	if c := claim(4, now.Add(2*time.Minute)); c == nil || c.ID != b.ID {
		t.Fatalf("claim after a renewal and a give-up = %+v, want job %d", c, b.ID)
	}
	// a's holder stops renewing; another engine takes a over.
	later := now.Add(6 * time.Minute)
	taken := claim(5, later)
	if taken == nil || taken.ID != a.ID {
		t.Fatalf("claim after a's lease ended = %+v", taken)
	}
	ids, err := db.RevertTargets(ctx, a)
	if err != nil || len(ids) != 1 {
		t.Fatalf("targets = %v %v", ids, err)
	}
	if _, err := db.RevertRecords(ctx, a, ids, true); code(err) != spoke.ECONFLICT {
		t.Fatalf("the old holder's chunk = %v, want ECONFLICT", err)
	}
	if got := get(t, db, acct, "contacts", strconv.FormatInt(rec.ID, 10), spoke.ReadOptions{}); got.Properties["jobtitle"] != "CEO" {
		t.Fatalf("the old holder's refused chunk wrote: %v", got.Properties)
	}
	if err := db.SetRevertTotal(ctx, a, 1); code(err) != spoke.ECONFLICT {
		t.Errorf("the old holder's total = %v", err)
	}
	if err := db.RenewRevertLease(ctx, a.ID, spoke.Lease{Token: 1, Until: later.Add(time.Hour)}); code(err) != spoke.ECONFLICT {
		t.Errorf("the old holder's renewal = %v", err)
	}
	if err := db.FinishRevertJob(ctx, a, spoke.RevertFailed, "stale"); code(err) != spoke.ECONFLICT {
		t.Errorf("the old holder's finish = %v", err)
	}
	// The new holder runs it.
	if _, err := db.RevertRecords(ctx, taken, ids, true); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRevertJob(ctx, taken, spoke.RevertComplete, ""); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, acct, "contacts", strconv.FormatInt(rec.ID, 10), spoke.ReadOptions{}); got.Properties["jobtitle"] != "Engineer" {
		t.Errorf("after the new holder's revert: %v", got.Properties)
	}
	if j, err := db.GetRevertJob(ctx, acct, "5", a.ID); err != nil || j.Status != spoke.RevertComplete || j.Error != "" {
		t.Errorf("job a = %+v, %v", j, err)
	}
	// A process alone on its store ends every lease at start.
	if err := db.ReleaseLeases(ctx); err != nil {
		t.Fatal(err)
	}
	if c := claim(6, later); c == nil || c.ID != b.ID {
		t.Fatalf("claim after ReleaseLeases = %+v, want job %d", c, b.ID)
	}
}
