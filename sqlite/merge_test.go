package sqlite

import (
	"context"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

func TestMergeRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
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
	if r := get(t, db, acct, "contacts", strconv.FormatInt(other.ID, 10), spoke.ReadOptions{Archived: true}); r == nil || !r.Archived {
		t.Errorf("the merged record is not archived: %+v", r)
	}
	// The email moved with the merge: an upsert by it finds the primary.
	res := mustWrite(t, db, acct, "contacts", spoke.WriteUpsert, spoke.RecordInput{ID: "augusta@example.com", IDProperty: "email", Properties: props("jobtitle", "Countess")})
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

func TestPurgeRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
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
		if err := db.Commit(ctx, []*spoke.Step{st}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.read.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if err := db.PurgeRecord(ctx, acct, "contacts", "ERASE@example.com", "email"); err != nil {
		t.Fatalf("PurgeRecord: %v", err)
	}
	for what, n := range map[string]int{
		"record":       count(`SELECT count(*) FROM records WHERE id = ?`, rec.ID),
		"history":      count(`SELECT count(*) FROM property_history WHERE record_id = ?`, rec.ID),
		"associations": count(`SELECT count(*) FROM associations WHERE from_id = ? OR to_id = ?`, rec.ID, rec.ID),
		"enrollments":  count(`SELECT count(*) FROM enrollments WHERE object_id = ?`, rec.ID),
		"executions":   count(`SELECT count(*) FROM executions WHERE object_id = ?`, rec.ID),
	} {
		if n != 0 {
			t.Errorf("%d %s rows of the erased contact remain", n, what)
		}
	}
	if count(`SELECT count(*) FROM executions WHERE object_id = ?`, keep.ID) != 1 || count(`SELECT count(*) FROM records WHERE id = ?`, company.ID) != 1 {
		t.Error("the erasure took other records' rows with it")
	}
	if err := db.PurgeRecord(ctx, acct, "contacts", strconv.FormatInt(rec.ID, 10), ""); code(err) != spoke.ENOTFOUND {
		t.Errorf("purging it again: %v, want ENOTFOUND", err)
	}
}
