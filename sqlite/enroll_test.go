package sqlite

import (
	"context"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

// TestEnrollChecksRecords checks that Enroll enrolls only live records of
// the flow's object type in the account, and says why it skipped the
// others, across more ids than one lookup asks for.
func TestEnrollChecksRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	if _, err := db.write.ExecContext(ctx, `INSERT INTO accounts (id, name, created_at) VALUES (2, 'other', 0)`); err != nil {
		t.Fatal(err)
	}
	var inputs []spoke.RecordInput
	for i := 0; i < 1200; i++ {
		inputs = append(inputs, spoke.RecordInput{Properties: props("firstname", "C"+strconv.Itoa(i))})
	}
	var contacts []int64
	for _, r := range mustWrite(t, db, acct, "contacts", spoke.WriteCreate, inputs...) {
		contacts = append(contacts, r.Record.ID)
	}
	company := create(t, db, acct, "companies", props("name", "Acme")).ID
	elsewhere := mustWrite(t, db, 2, "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("firstname", "Other")})[0].Record.ID
	archived := contacts[700]
	if err := db.ArchiveRecords(ctx, acct, "contacts", []string{strconv.FormatInt(archived, 10)}); err != nil {
		t.Fatal(err)
	}
	f := &spoke.Flow{ID: "5", RevisionID: "1"}
	if res, err := db.Enroll(ctx, acct, f, "contacts", contacts[:3], false); err != nil || len(res.Enrolled) != 3 {
		t.Fatalf("first Enroll = %+v, %v", res, err)
	}

	ids := append([]int64{company, elsewhere, 999999}, contacts...)
	res, err := db.Enroll(ctx, acct, f, "contacts", ids, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{company: SkipNotFound, elsewhere: SkipNotFound, 999999: SkipNotFound, archived: SkipNotFound,
		contacts[0]: SkipActive, contacts[1]: SkipActive, contacts[2]: SkipActive}
	if len(res.Skipped) != len(want) {
		t.Errorf("skipped %d ids, want %d: %v", len(res.Skipped), len(want), res.Skipped)
	}
	for id, why := range want {
		if res.Skipped[id] != why {
			t.Errorf("skipped[%d] = %q, want %q", id, res.Skipped[id], why)
		}
	}
	if len(res.Enrolled) != len(contacts)-4 || res.Enrolled[0] != contacts[3] || res.Enrolled[len(res.Enrolled)-1] != contacts[len(contacts)-1] {
		t.Errorf("enrolled %d ids (%d ... %d), want %d in order", len(res.Enrolled), res.Enrolled[0], res.Enrolled[len(res.Enrolled)-1], len(contacts)-4)
	}
	if n := countRows(t, db, "enrollments"); n != len(contacts)-1 {
		t.Errorf("%d enrollments, want %d", n, len(contacts)-1)
	}

	// Completed enrollments block a flow without re-enrollment, not one with.
	if _, err := db.write.ExecContext(ctx, `UPDATE enrollments SET status = 'COMPLETED' WHERE object_id = ?`, contacts[5]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reEnroll bool
		want     string
	}{{false, SkipNoReEnroll}, {true, ""}} {
		res, err := db.Enroll(ctx, acct, f, "contacts", []int64{contacts[5]}, tc.reEnroll)
		if err != nil || res.Skipped[contacts[5]] != tc.want || len(res.Enrolled) != map[bool]int{false: 1, true: 0}[tc.want != ""] {
			t.Errorf("re-enroll %v: %+v, %v; want skip %q", tc.reEnroll, res, err, tc.want)
		}
	}
}
