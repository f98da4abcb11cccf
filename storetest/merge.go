package storetest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"MergeRecords", testMergeRecords},
		test{"PurgeRecord", testPurgeRecord},
	)
}

func testMergeRecords(t *testing.T, open Opener) {
	ctx := context.Background()
	db, acct := setup(t, open)
	primary := create(t, db, acct, "contacts", props("firstname", "Ada"))
	other := create(t, db, acct, "contacts", props("email", "Augusta@Example.com", "firstname", "Augusta", "lastname", "King"))
	company := create(t, db, acct, "companies", props("name", "Analytical"))
	if _, err := db.Associate(ctx, acct, "contacts", other.ID, "companies", company.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Associate(ctx, acct, "contacts", other.ID, "contacts", primary.ID, []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 449}}); err != nil {
		t.Fatal(err)
	}

	got, err := db.MergeRecords(ctx, acct, "contacts", primary.ID, other.ID, apiSrc)
	if err != nil {
		t.Fatalf("MergeRecords: %v", err)
	}
	if got.ID != primary.ID || got.Properties["firstname"] != "Ada" || got.Properties["lastname"] != "King" || got.Properties["email"] != "Augusta@Example.com" {
		t.Errorf("merged = %d %v; want the primary with its firstname, and the other's lastname and email", got.ID, got.Properties)
	}
	if r := get(t, db, acct, "contacts", strconv.FormatInt(other.ID, 10), spoke.ReadOptions{Archived: true}); r == nil || !r.Archived || r.ID != other.ID {
		t.Errorf("the merged record is not archived: %+v", r)
	}
	// Its id now answers the primary, which lists it as merged.
	if r := get(t, db, acct, "contacts", strconv.FormatInt(other.ID, 10), spoke.ReadOptions{}); r == nil || r.ID != primary.ID ||
		r.Properties[spoke.PropMergedObjectIDs] != strconv.FormatInt(other.ID, 10) {
		t.Errorf("reading the merged id: %+v, want the primary with hs_merged_object_ids %d", r, other.ID)
	}
	if got.Properties[spoke.PropMergedObjectIDs] != strconv.FormatInt(other.ID, 10) {
		t.Errorf("merge result's hs_merged_object_ids = %q", got.Properties[spoke.PropMergedObjectIDs])
	}
	// And it writes to the primary.
	res := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(other.ID, 10), Properties: props("city", "London")})
	if res[0].Record.ID != primary.ID || get(t, db, acct, "contacts", strconv.FormatInt(primary.ID, 10), spoke.ReadOptions{}).Properties["city"] != "London" {
		t.Errorf("update by the merged id wrote %d, want the primary %d", res[0].Record.ID, primary.ID)
	}
	// The email moved with the merge: an upsert by it finds the primary.
	res = mustWrite(t, db, acct, "contacts", spoke.WriteUpsert, spoke.RecordInput{ID: "augusta@example.com", IDProperty: "email", Properties: props("jobtitle", "Countess")})
	if res[0].Record.ID != primary.ID {
		t.Errorf("upsert by the merged email found %d, want the primary %d", res[0].Record.ID, primary.ID)
	}
	links, _, err := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 10)
	if err != nil || len(links) != 1 || links[0].ToID != primary.ID {
		t.Errorf("company's contacts = %+v, %v; want the primary only", links, err)
	}
	if self, _, err := db.ListAssociations(ctx, acct, "contacts", primary.ID, "contacts", 0, 10); err != nil || len(self) != 0 {
		t.Errorf("the primary is associated with itself: %+v, %v", self, err)
	}

	// A second merge keeps the list, and the first merged id follows along.
	third := create(t, db, acct, "contacts", props("firstname", "Third"))
	if _, err := db.MergeRecords(ctx, acct, "contacts", third.ID, primary.ID, apiSrc); err != nil {
		t.Fatal(err)
	}
	recs, err := db.GetRecords(ctx, acct, "contacts", []string{strconv.FormatInt(other.ID, 10), strconv.FormatInt(primary.ID, 10)}, spoke.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range recs {
		if r.ID != third.ID || r.Properties[spoke.PropMergedObjectIDs] != fmt.Sprintf("%d;%d", primary.ID, other.ID) {
			t.Errorf("id %s reads %d %v, want %d merged from %d and %d", id, r.ID, r.Properties, third.ID, primary.ID, other.ID)
		}
	}
	if len(recs) != 2 {
		t.Errorf("batch read of merged ids found %d of 2", len(recs))
	}
	// Writers cannot set it.
	if res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(third.ID, 10), Properties: props(spoke.PropMergedObjectIDs, "1")}}, apiSrc); err != nil || res[0].Err == nil {
		t.Errorf("writing hs_merged_object_ids: %v %+v, want a refusal", err, res)
	}
	for _, tc := range []struct {
		name           string
		primary, other int64
		code           string
	}{
		{"itself", primary.ID, primary.ID, spoke.EINVALID},
		{"merged already", primary.ID, other.ID, spoke.ENOTFOUND},
		{"missing", 999999, primary.ID, spoke.ENOTFOUND},
	} {
		if _, err := db.MergeRecords(ctx, acct, "contacts", tc.primary, tc.other, apiSrc); code(err) != tc.code {
			t.Errorf("%s: MergeRecords error %v, want %s", tc.name, err, tc.code)
		}
	}
}

func testPurgeRecord(t *testing.T, open Opener) {
	ctx := context.Background()
	db, acct := setup(t, open)
	rec := create(t, db, acct, "contacts", props("email", "erase@example.com", "firstname", "Eve"))
	keep := create(t, db, acct, "contacts", props("email", "keep@example.com"))
	company := create(t, db, acct, "companies", props("name", "Acme"))
	if _, err := db.Associate(ctx, acct, "contacts", rec.ID, "companies", company.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*spoke.Record{rec, keep} {
		en := claimOne(t, db, acct, r)
		en.Status, en.CompletedAt = spoke.EnrollmentCompleted, db.Now()
		st := &spoke.Step{Enrollment: en, Executions: []*spoke.Execution{{ActionID: "1", ActionType: "CUSTOM_CODE", Status: "SUCCESS",
			StartedAt: db.Now(), Inputs: map[string]any{"firstname": r.Properties["firstname"]}}}}
		if _, err := db.Commit(ctx, testLease, []*spoke.Step{st}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string, args ...any) int {
		t.Helper()
		return db.count(t, q, args...)
	}
	// Execution logs are stored differently by each driver: count them
	// through the run queries.
	executions := func(id int64) int {
		t.Helper()
		xs, _, err := db.RecentExecutions(ctx, acct, "77", spoke.RunQuery{ObjectID: id, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(xs)
	}
	if executions(rec.ID) != 1 || executions(keep.ID) != 1 {
		t.Fatalf("executions before the erasure: %d and %d, want 1 each", executions(rec.ID), executions(keep.ID))
	}

	l, err := db.CreateList(ctx, acct, &spoke.List{Name: "erasure", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddListMembers(ctx, acct, l.ID, []int64{rec.ID, keep.ID}); err != nil {
		t.Fatal(err)
	}
	db.exec(t, `INSERT INTO enrollment_events (enrollment_id, event) SELECT id, '{"email":"erase@example.com"}' FROM enrollments WHERE object_id = ?`, rec.ID)
	if err := db.PurgeRecord(ctx, acct, "contacts", "ERASE@example.com", "email"); err != nil {
		t.Fatalf("PurgeRecord: %v", err)
	}
	for what, n := range map[string]int{
		"record":       count(`SELECT count(*) FROM records WHERE id = ?`, rec.ID),
		"history":      count(`SELECT count(*) FROM property_history WHERE record_id = ?`, rec.ID),
		"associations": count(`SELECT count(*) FROM associations WHERE from_id = ? OR to_id = ?`, rec.ID, rec.ID),
		"enrollments":  count(`SELECT count(*) FROM enrollments WHERE object_id = ?`, rec.ID),
		"executions":   executions(rec.ID),
		"memberships":  count(`SELECT count(*) FROM list_memberships WHERE object_id = ?`, rec.ID),
		"events":       count(`SELECT count(*) FROM enrollment_events`),
	} {
		if n != 0 {
			t.Errorf("%d %s rows of the erased contact remain", n, what)
		}
	}
	if executions(keep.ID) != 1 || count(`SELECT count(*) FROM records WHERE id = ?`, company.ID) != 1 ||
		count(`SELECT count(*) FROM list_memberships WHERE object_id = ?`, keep.ID) != 1 {
		t.Error("the erasure took other records' rows with it")
	}
	if err := db.PurgeRecord(ctx, acct, "contacts", strconv.FormatInt(rec.ID, 10), ""); code(err) != spoke.ENOTFOUND {
		t.Errorf("purging it again: %v, want ENOTFOUND", err)
	}
}
