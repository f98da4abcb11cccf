package sqlite

import (
	"context"
	"testing"

	"github.com/spokehq/spoke"
)

// TestUsersBackfilled checks that owners created before the users object
// get their users when the store opens.
func TestUsersBackfilled(t *testing.T) {
	t.Parallel()
	db, acct := setup(t)
	ctx := context.Background()
	if _, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("old@example.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`DELETE FROM records WHERE object_type = 'users'`); err != nil {
		t.Fatal(err)
	}
	if err := db.backfillUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRecords(t, db, "users"); n != 1 {
		t.Errorf("users after the backfill = %d, want 1", n)
	}
	if err := db.backfillUsers(ctx); err != nil || countRecords(t, db, "users") != 1 {
		t.Errorf("a second backfill added users: %v", err)
	}
}
