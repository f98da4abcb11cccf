package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/spokehq/spoke"
)

// A flow sets hubspot_owner_id (validated against the account's owners)
// and branches on it with an ENUMERATION filter; an owner id that is no
// owner fails the enrollment visibly instead of writing it.
func TestFlowSetsOwnerAndBranchesOnIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	mk := func(email string) string {
		t.Helper()
		o, err := b.db.CreateOwner(ctx, b.account, spoke.OwnerInput{Email: &email})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(o.ID)
	}
	alice, bob := mk("alice@example.com"), mk("bob@example.com")
	body := `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
	 "actions":[
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"hubspot_owner_id","value":{"type":"OBJECT_PROPERTY","propertyName":"jobtitle"}},
	   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"LIST_BRANCH","actionId":"2","listBranches":[{"branchName":"alice","filterBranch":{"filterBranchType":"AND","filterBranches":[],
	     "filters":[{"filterType":"PROPERTY","property":"hubspot_owner_id","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["` + alice + `"]}}]},
	     "connection":{"edgeType":"STANDARD","nextActionId":"3"}}],"defaultBranchName":"others","defaultBranch":{"edgeType":"STANDARD","nextActionId":"4"}},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"type":"STATIC_VALUE","staticValue":"alice's"}}},
	  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"type":"STATIC_VALUE","staticValue":"someone else's"}}}
	 ]}`
	b.flows.put(parseFlow(t, "40", body))
	a := b.contact(t, map[string]string{"jobtitle": alice})
	o := b.contact(t, map[string]string{"jobtitle": bob})
	bad := b.contact(t, map[string]string{"jobtitle": "424242"})
	if _, err := b.eng.Enroll(ctx, b.account, "40", []int64{a, o, bad}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)

	if got := b.record(t, a).Properties; got["hubspot_owner_id"] != alice || got["lastname"] != "alice's" {
		t.Errorf("alice's contact: %v", got)
	}
	if got := b.record(t, o).Properties; got["hubspot_owner_id"] != bob || got["lastname"] != "someone else's" {
		t.Errorf("bob's contact: %v", got)
	}
	if got := b.record(t, bad).Properties; got["hubspot_owner_id"] != "" || got["lastname"] != "" {
		t.Errorf("invalid owner written: %v", got)
	}
	for _, e := range b.enrollments(t, "40") {
		if want := map[bool]string{true: spoke.EnrollmentFailed, false: spoke.EnrollmentCompleted}[e.ObjectID == bad]; e.Status != want {
			t.Errorf("enrollment of %d: %s %+v, want %s", e.ObjectID, e.Status, e.Error, want)
		}
	}
	hist, err := b.db.History(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range hist {
		if h.Name == "hubspot_owner_id" {
			found = h.Value == alice && h.SourceType == spoke.SourceAutomation && h.SourceID == "40"
		}
	}
	if !found {
		t.Errorf("no automation history for hubspot_owner_id: %+v", hist)
	}
}
