package sqlite

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/storetest"
)

// TestIDLookupRunsWithItsContext checks that the lookups idLookup returns
// run with the context they are given, not the one idLookup was given: a
// canceled one stops them, a live one finds the record.
func TestIDLookupRunsWithItsContext(t *testing.T) {
	t.Parallel()
	db, acct := setup(t)
	storetest.AddProperty(t, db, acct, spoke.Property{ObjectType: "contacts", Name: "ext_id", Label: "External id", Type: spoke.TypeString, GroupName: "contactinformation", HasUniqueValue: true})
	r := create(t, db, acct, "contacts", props("email", "ctx@example.com", "ext_id", "E1"))
	contacts, err := spoke.ObjectTypeFor("contacts")
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for idProperty, id := range map[string]string{"": strconv.FormatInt(r.ID, 10), "email": "ctx@example.com", "ext_id": "E1"} {
		lookup, err := db.idLookup(context.Background(), acct, contacts, idProperty)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := lookup(canceled, db.reader(), id, false); !errors.Is(err, context.Canceled) {
			t.Errorf("by %q with a canceled context: %+v, %v; want context.Canceled", idProperty, got, err)
		}
		if got, err := lookup(context.Background(), db.reader(), id, false); err != nil || got == nil || got.ID != r.ID {
			t.Errorf("by %q: %+v, %v; want record %d", idProperty, got, err, r.ID)
		}
	}
}
