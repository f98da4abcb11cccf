package engine

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/spokehq/spoke"
)

// listFlow is an enabled LIST_BASED contact flow whose criteria are one
// IN_LIST filter (operator IN_LIST or NOT_IN_LIST) and whose one action
// sets jobtitle.
func listFlow(listID, operator string, reEnroll bool, jobtitle string) string {
	re := "false"
	if reEnroll {
		re = "true"
	}
	return `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
	 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":` + re + `,"listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
	   "filters":[{"filterType":"IN_LIST","listId":"` + listID + `","operator":"` + operator + `"}]}]}},
	 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"staticValue":"` + jobtitle + `"}}}]}`
}

func (b *bundle) manualList(t *testing.T, name string) *spoke.List {
	t.Helper()
	l, err := b.db.CreateList(context.Background(), b.account, &spoke.List{Name: name, ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Adding a record to a manual list through the store enrolls it in a
// LIST_BASED flow whose criteria test membership of that list (directly,
// or through a dynamic list whose filters name it); removing it enrolls it
// in a NOT_IN_LIST flow and not again in the IN_LIST one. Records the
// change does not touch enroll nowhere.
func TestManualListMembershipEnrolls(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	l := b.manualList(t, "Members")
	fb := `{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"IN_LIST","listId":"` + l.ID + `","operator":"IN_LIST"}]}`
	var branch spoke.FilterBranch
	if err := json.Unmarshal([]byte(fb), &branch); err != nil {
		t.Fatal(err)
	}
	dyn, err := b.db.CreateList(ctx, b.account, &spoke.List{Name: "Members again", ObjectTypeID: "0-1", ProcessingType: spoke.ListDynamic, FilterBranch: &branch, FilterRaw: json.RawMessage(fb)})
	if err != nil {
		t.Fatal(err)
	}
	c := b.contact(t, map[string]string{"firstname": "Ann"})
	other := b.contact(t, map[string]string{"firstname": "Bo"})
	// The flows come after the contacts, so creating them enrolled none.
	b.put(t, "80", listFlow(l.ID, "IN_LIST", true, "listed"))
	b.put(t, "81", listFlow(l.ID, "NOT_IN_LIST", true, "unlisted"))
	b.put(t, "82", listFlow(dyn.ID, "IN_LIST", false, "listed twice"))

	ch, err := b.db.AddListMembers(ctx, b.account, l.ID, []int64{c, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Added) != 1 || len(ch.Missing) != 1 {
		t.Fatalf("membership change %+v", ch)
	}
	if n := len(b.enrollments(t, "80")); n != 1 {
		t.Fatalf("adding to the list enrolled %d times in the IN_LIST flow, want 1", n)
	}
	if n := len(b.enrollments(t, "82")); n != 1 {
		t.Errorf("adding to the list enrolled %d times in the flow on a dynamic list naming it, want 1", n)
	}
	if n := len(b.enrollments(t, "81")); n != 0 {
		t.Errorf("adding to the list enrolled in the NOT_IN_LIST flow %d times", n)
	}
	b.drain(t)
	if got := b.record(t, c).Properties["jobtitle"]; got != "listed twice" && got != "listed" {
		t.Errorf("jobtitle %q after the flows ran", got)
	}
	if got := b.only(t, "80").ObjectID; got != c {
		t.Errorf("enrolled record %d, want %d", got, c)
	}

	// Adding again changes nothing, so it enrolls nothing.
	if _, err := b.db.AddListMembers(ctx, b.account, l.ID, []int64{c}); err != nil {
		t.Fatal(err)
	}
	if n := len(b.enrollments(t, "80")); n != 1 {
		t.Errorf("adding a member again enrolled it again: %d enrollments", n)
	}

	if _, err := b.db.RemoveListMembers(ctx, b.account, l.ID, []int64{c}); err != nil {
		t.Fatal(err)
	}
	if n := len(b.enrollments(t, "80")); n != 1 {
		t.Errorf("removing from the list enrolled in the IN_LIST flow: %d enrollments", n)
	}
	if n := len(b.enrollments(t, "81")); n != 1 {
		t.Errorf("removing from the list enrolled %d times in the NOT_IN_LIST flow, want 1", n)
	}
	b.drain(t)
	if got := b.record(t, c).Properties["jobtitle"]; got != "unlisted" {
		t.Errorf("jobtitle %q after removal", got)
	}
	for _, id := range []string{"80", "81", "82"} {
		for _, en := range b.enrollments(t, id) {
			if en.ObjectID == other {
				t.Errorf("contact %d, never in the list, enrolled in flow %s", other, id)
			}
		}
	}
}

// A static-list action's add enrolls the record in another flow whose
// criteria test the list, in the step's commit; the adding flow does not
// enroll the record in itself.
func TestStaticListActionEnrollsInAnotherFlow(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	l := b.manualList(t, "Flow adds")
	b.put(t, "83", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-63809083","actionTypeVersion":5,"fields":{"targetObject":"{{ enrolled_object }}","listId":"`+l.ID+`"}}`))
	b.put(t, "84", listFlow(l.ID, "IN_LIST", false, "added by a flow"))
	c := b.contact(t, nil)
	if n := len(b.enrollments(t, "84")); n != 0 {
		t.Fatalf("enrolled before joining the list: %d", n)
	}
	if _, err := b.eng.Enroll(ctx, b.account, "83", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if en := b.only(t, "83"); en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("adding flow: %s %+v", en.Status, en.Error)
	}
	if en := b.only(t, "84"); en.ObjectID != c || en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("list flow enrollment %d %s", en.ObjectID, en.Status)
	}
	if got := b.record(t, c).Properties["jobtitle"]; got != "added by a flow" {
		t.Errorf("jobtitle %q", got)
	}
}
