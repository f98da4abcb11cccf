package spoke_test

import (
	"reflect"
	"testing"

	"github.com/spokehq/spoke"
)

// TestObjectNotFound pins HubSpot's 404 for a missing record, which
// HubSpot's clients and users' scripts match on (reference: "Object id not
// found").
func TestObjectNotFound(t *testing.T) {
	t.Parallel()
	e := spoke.ObjectNotFound("101")
	want := &spoke.Error{Code: spoke.ENOTFOUND, Category: "OBJECT_NOT_FOUND",
		Message: "Object not found.  objectId are usually numeric.", Context: map[string][]string{"id": {"101"}}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("ObjectNotFound(101) = %+v, want %+v", e, want)
	}
	if a, b := spoke.ObjectNotFound("1"), spoke.ObjectNotFound("1"); a == b {
		t.Error("ObjectNotFound returns a shared error; callers that add detail would change it for all")
	}
}
