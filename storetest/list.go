package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

func init() {
	register(test{"Lists", testLists}, test{"MembershipTrigger", testMembershipTrigger})
}

func listBranch(t *testing.T, raw string) (*spoke.FilterBranch, json.RawMessage) {
	t.Helper()
	var b spoke.FilterBranch
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatal(err)
	}
	return &b, json.RawMessage(raw)
}

// Lists: a manual list's members are added and removed (missing ids
// reported), a dynamic list's are the records meeting its filters now, a
// snapshot keeps the records that met them at creation; IN_LIST filters
// read all three, and a dynamic list may name another list.
func testLists(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "contacts", props("email", "a@x.com", "city", "Dublin"))
	b := create(t, db, acct, "contacts", props("email", "b@x.com", "city", "Paris"))
	deal := create(t, db, acct, "deals", props("dealname", "D"))

	manual, err := db.CreateList(ctx, acct, &spoke.List{Name: "VIP", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil || manual.ID == "" || manual.Version != 1 || manual.Size != 0 || manual.ObjectTypeID != "0-1" {
		t.Fatalf("create manual: %+v %v", manual, err)
	}
	if _, err := db.CreateList(ctx, acct, &spoke.List{Name: "vip", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual}); code(err) != spoke.ECONFLICT {
		t.Errorf("duplicate name: %v", err)
	}
	ch, err := db.AddListMembers(ctx, acct, manual.ID, []int64{a.ID, deal.ID, 999999})
	if err != nil || !slices.Equal(ch.Added, []int64{a.ID}) || !slices.Equal(ch.Missing, []int64{deal.ID, 999999}) {
		t.Fatalf("add: %+v %v", ch, err)
	}
	if ch, _ := db.AddListMembers(ctx, acct, manual.ID, []int64{a.ID}); len(ch.Added) != 0 {
		t.Errorf("adding a member again added it: %+v", ch)
	}
	members, more, err := db.ListMembers(ctx, acct, manual.ID, 0, 10)
	if err != nil || more || len(members) != 1 || members[0].RecordID != a.ID || members[0].AddedAt.IsZero() {
		t.Fatalf("members: %+v %v %v", members, more, err)
	}

	cityIs := `{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"city","operation":{"operationType":"MULTISTRING","operator":"IS_EQUAL_TO","values":["Dublin"]}}]}]}`
	fb, raw := listBranch(t, cityIs)
	dyn, err := db.CreateList(ctx, acct, &spoke.List{Name: "Dubliners", ObjectTypeID: "0-1", ProcessingType: spoke.ListDynamic, FilterBranch: fb, FilterRaw: raw})
	if err != nil || dyn.Size != 1 {
		t.Fatalf("create dynamic: %+v %v", dyn, err)
	}
	snap, err := db.CreateList(ctx, acct, &spoke.List{Name: "Dubliners then", ObjectTypeID: "contacts", ProcessingType: spoke.ListSnapshot, FilterBranch: fb, FilterRaw: raw})
	if err != nil || snap.Size != 1 {
		t.Fatalf("create snapshot: %+v %v", snap, err)
	}
	if _, err := db.AddListMembers(ctx, acct, dyn.ID, []int64{b.ID}); code(err) != spoke.EINVALID {
		t.Errorf("adding to a dynamic list: %v", err)
	}
	// b moves to Dublin: the dynamic list gains it, the snapshot does not.
	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(b.ID, 10), Properties: props("city", "Dublin")})
	if l, _ := db.GetList(ctx, acct, dyn.ID, false); l.Size != 2 {
		t.Errorf("dynamic size after write = %d", l.Size)
	}
	if l, _ := db.GetList(ctx, acct, snap.ID, false); l.Size != 1 {
		t.Errorf("snapshot size after write = %d", l.Size)
	}
	bRec := get(t, db, acct, "contacts", strconv.FormatInt(b.ID, 10), spoke.ReadOptions{})
	for _, c := range []struct {
		list string
		want bool
	}{{manual.ID, false}, {dyn.ID, true}, {snap.ID, false}, {"424242", false}} {
		if in, err := db.InList(ctx, acct, c.list, bRec, flow.Env{}, 0); err != nil || in != c.want {
			t.Errorf("InList(%s) = %v, %v; want %v", c.list, in, err, c.want)
		}
	}
	// A dynamic list of the manual list's members who live in Dublin.
	fb2, raw2 := listBranch(t, `{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"IN_LIST","listId":"`+manual.ID+`","operator":"IN_LIST"},{"filterType":"PROPERTY","property":"city","operation":{"operationType":"MULTISTRING","operator":"IS_EQUAL_TO","values":["Dublin"]}}]}`)
	nested, err := db.CreateList(ctx, acct, &spoke.List{Name: "VIP Dubliners", ObjectTypeID: "0-1", ProcessingType: spoke.ListDynamic, FilterBranch: fb2, FilterRaw: raw2})
	if err != nil || nested.Size != 1 {
		t.Fatalf("nested: %+v %v", nested, err)
	}
	lists, err := db.RecordLists(ctx, acct, "contacts", a.ID)
	if err != nil || len(lists) != 4 {
		t.Errorf("lists of a: %+v %v", lists, err)
	}

	if ch, err := db.RemoveListMembers(ctx, acct, manual.ID, []int64{a.ID, b.ID}); err != nil || !slices.Equal(ch.Removed, []int64{a.ID}) {
		t.Errorf("remove: %+v %v", ch, err)
	}
	if l, _ := db.GetList(ctx, acct, nested.ID, false); l.Size != 0 {
		t.Errorf("nested after remove = %d", l.Size)
	}
	renamed, err := db.RenameList(ctx, acct, manual.ID, "Very Important")
	if err != nil || renamed.Name != "Very Important" || renamed.Version != 2 {
		t.Errorf("rename: %+v %v", renamed, err)
	}
	if err := db.DeleteList(ctx, acct, manual.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetList(ctx, acct, manual.ID, false); code(err) != spoke.ENOTFOUND {
		t.Errorf("deleted list read: %v", err)
	}
	if err := db.RestoreList(ctx, acct, manual.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetListByName(ctx, acct, "0-1", "very important"); err != nil || got.ID != manual.ID {
		t.Errorf("by name: %+v %v", got, err)
	}
	bad, _ := listBranch(t, `{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"city","operation":{"operationType":"STRING","operator":"SOUNDS_LIKE","value":"x"}}]}`)
	if _, err := db.CreateList(ctx, acct, &spoke.List{Name: "bad", ObjectTypeID: "0-1", ProcessingType: spoke.ListDynamic, FilterBranch: bad}); code(err) != spoke.EINVALID {
		t.Errorf("bad filter: %v", err)
	}
}

// A membership change asks the trigger once whether any flow tests list
// membership, and reads and evaluates the touched records only when one
// does; each change passes the list, the direction and the record's
// values, and the triggers it returns enroll the record.
func testMembershipTrigger(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "contacts", props("email", "a@x.com"))
	b := create(t, db, acct, "contacts", props("email", "b@x.com"))
	l, err := db.CreateList(ctx, acct, &spoke.List{Name: "L", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	var probes int
	var seen []spoke.RecordChange
	interested := false
	db.back.SetTrigger(func(ch spoke.RecordChange) []spoke.EnrollmentTrigger {
		if ch.List == nil {
			return nil
		}
		if ch.After == nil {
			probes++
			if interested {
				return []spoke.EnrollmentTrigger{{FlowID: "9"}}
			}
			return nil
		}
		seen = append(seen, ch)
		if ch.List.Added {
			return []spoke.EnrollmentTrigger{{FlowID: "9", RevisionID: "1"}}
		}
		return nil
	})
	if _, err := db.AddListMembers(ctx, acct, l.ID, []int64{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	if probes != 1 || len(seen) != 0 {
		t.Fatalf("no flow interested: %d probes, %d records evaluated; want 1, 0", probes, len(seen))
	}
	if _, err := db.RemoveListMembers(ctx, acct, l.ID, []int64{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	interested, probes = true, 0
	if _, err := db.AddListMembers(ctx, acct, l.ID, []int64{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	if probes != 1 || len(seen) != 2 {
		t.Fatalf("a flow interested: %d probes, %d records evaluated; want 1, 2", probes, len(seen))
	}
	for _, ch := range seen {
		if ch.List.ListID != l.ID || !ch.List.Added || ch.After["email"] == "" || ch.Before["email"] != ch.After["email"] {
			t.Errorf("change %+v", ch)
		}
	}
	ens, _, err := db.ListEnrollments(ctx, acct, "9", 0, 10)
	if err != nil || len(ens) != 2 {
		t.Fatalf("enrollments %d %v, want 2", len(ens), err)
	}
	seen = nil
	if _, err := db.RemoveListMembers(ctx, acct, l.ID, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].List.Added || seen[0].RecordID != a.ID {
		t.Errorf("removal changes %+v", seen)
	}
}
