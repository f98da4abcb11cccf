package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// Small helpers of the SQLite-only tests; the conformance suite
// (storetest) has its own for the driver-independent ones.

// testLease is the lease claimOne claims with.
var testLease = spoke.Lease{Token: 1, Until: time.Now().Add(24 * time.Hour)}

// claimOne enrolls rec in a flow and claims its enrollment.
func claimOne(t *testing.T, db *DB, acct int64, rec *spoke.Record) *spoke.Enrollment {
	t.Helper()
	ctx := context.Background()
	f := &spoke.Flow{ID: "77", RevisionID: "1"}
	if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	got, err := db.Claim(ctx, db.Now().Add(time.Hour), 10, testLease)
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	return got[0]
}

func str(s string) *string { return &s }
