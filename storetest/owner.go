package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"Owners", testOwners},
		test{"OwnerProperties", testOwnerProperties},
	)
}

func str(s string) *string { return &s }

// Owners: create with teams (the first primary), list by page and email,
// get by id and by user id, update, archive; duplicate emails are 409s
// while the first owner is live.
func testOwners(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	teams := []string{"West Coast Sales", "California Sales"}
	jane, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("jane@example.com"), FirstName: str("Jane"), LastName: str("Doe"), Teams: &teams})
	if err != nil {
		t.Fatal(err)
	}
	if jane.ID == jane.UserID || jane.Name() != "Jane Doe" || len(jane.Teams) != 2 || !jane.Teams[0].Primary || jane.Teams[1].Primary || jane.Teams[0].Name != "West Coast Sales" {
		t.Fatalf("created %+v", jane)
	}
	bob, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("bob@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if bob.Name() != "bob@example.com" || len(bob.Teams) != 0 {
		t.Errorf("owner without names: %+v", bob)
	}
	_, err = db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("JANE@example.com")})
	if e := asErr(t, err); e.Code != spoke.ECONFLICT || !strings.Contains(e.Message, strconv.FormatInt(jane.ID, 10)) {
		t.Errorf("duplicate email: %v", err)
	}
	if _, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("not an email")}); code(err) != spoke.EINVALID {
		t.Errorf("bad email: %v", err)
	}

	page, more, err := db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 1})
	if err != nil || len(page) != 1 || !more || page[0].ID != jane.ID {
		t.Fatalf("page 1: %v %v %v", page, more, err)
	}
	page, more, err = db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 1, After: page[0].ID})
	if err != nil || len(page) != 1 || more || page[0].ID != bob.ID {
		t.Fatalf("page 2: %v %v %v", page, more, err)
	}
	byEmail, _, err := db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 10, Email: "Bob@Example.com"})
	if err != nil || len(byEmail) != 1 || byEmail[0].ID != bob.ID {
		t.Errorf("by email: %v %v", byEmail, err)
	}
	got, err := db.GetOwner(ctx, acct, jane.UserID, true, false)
	if err != nil || got.ID != jane.ID {
		t.Errorf("by user id: %+v %v", got, err)
	}
	if _, err := db.GetOwner(ctx, acct, jane.UserID, false, false); code(err) != spoke.ENOTFOUND {
		t.Errorf("a user id is not an owner id: %v", err)
	}

	one := []string{"California Sales"}
	up, err := db.UpdateOwner(ctx, acct, jane.ID, spoke.OwnerInput{LastName: str("Smith"), Teams: &one})
	if err != nil || up.LastName != "Smith" || up.FirstName != "Jane" || len(up.Teams) != 1 || !up.Teams[0].Primary || up.Teams[0].ID != jane.Teams[1].ID {
		t.Fatalf("update: %+v %v", up, err)
	}
	all, err := db.ListTeams(ctx, acct)
	if err != nil || len(all) != 2 {
		t.Errorf("teams: %v %v", all, err)
	}

	if err := db.ArchiveOwner(ctx, acct, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.ArchiveOwner(ctx, acct, bob.ID); code(err) != spoke.ENOTFOUND {
		t.Errorf("archive twice: %v", err)
	}
	if _, err := db.GetOwner(ctx, acct, bob.ID, false, false); code(err) != spoke.ENOTFOUND {
		t.Errorf("archived owner read as live: %v", err)
	}
	if a, err := db.GetOwner(ctx, acct, bob.ID, false, true); err != nil || !a.Archived || a.ArchivedAt.IsZero() {
		t.Errorf("archived read: %+v %v", a, err)
	}
	// The email is free again once its owner is archived.
	if _, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("bob@example.com")}); err != nil {
		t.Errorf("reuse an archived owner's email: %v", err)
	}
}

// hubspot_owner_id and hubspot_team_id exist on every type with the
// account's owners and teams as options; an unknown owner is HubSpot's
// INVALID_OWNER_ID; assigning an owner sets the assigned date and the
// owner's primary team, with history; an archived owner is no option.
func testOwnerProperties(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	teams := []string{"EMEA"}
	o, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("own@example.com"), FirstName: str("Olga"), LastName: str("Owner"), Teams: &teams})
	if err != nil {
		t.Fatal(err)
	}
	oid := strconv.FormatInt(o.ID, 10)
	for _, typ := range spoke.ObjectTypes {
		p, err := db.GetProperty(ctx, acct, typ.Name, spoke.PropOwnerID)
		if err != nil {
			t.Fatalf("%s: %v", typ.Name, err)
		}
		if p.Type != spoke.TypeEnumeration || p.FieldType != "select" || len(p.Options) != 1 || p.Options[0].Value != oid || p.Options[0].Label != "Olga Owner" {
			t.Errorf("%s.hubspot_owner_id: %+v", typ.Name, p)
		}
		tp, err := db.GetProperty(ctx, acct, typ.Name, spoke.PropTeamID)
		if err != nil || len(tp.Options) != 1 || tp.Options[0].Label != "EMEA" {
			t.Errorf("%s.hubspot_team_id: %+v %v", typ.Name, tp, err)
		}
	}

	res, err := db.WriteRecords(ctx, acct, "deals", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("dealname", "x", spoke.PropOwnerID, "999")}}, apiSrc)
	if err != nil {
		t.Fatal(err)
	}
	if e := res[0].Err; e == nil || e.Code != spoke.EINVALID || !strings.Contains(e.Message, `"error":"INVALID_OWNER_ID"`) || !strings.Contains(e.Message, "999 is not a valid owner id") {
		t.Fatalf("unknown owner: %+v", e)
	}

	c := create(t, db, acct, "contacts", props("email", "owned@example.com", spoke.PropOwnerID, oid))
	if c.Properties[spoke.PropTeamID] != strconv.FormatInt(o.Teams[0].ID, 10) || c.Properties[spoke.PropOwnerAssignedDate] != spoke.FormatTime(c.UpdatedAt) {
		t.Errorf("derived on assign: %v", c.Properties)
	}
	// A write that sets the team keeps it.
	other := []string{"APAC", "LATAM"}
	o2, err := db.CreateOwner(ctx, acct, spoke.OwnerInput{Email: str("two@example.com"), Teams: &other})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(c.ID, 10)
	up := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props(spoke.PropOwnerID, strconv.FormatInt(o2.ID, 10), spoke.PropTeamID, strconv.FormatInt(o2.Teams[1].ID, 10))})[0].Record
	if up.Properties[spoke.PropTeamID] != strconv.FormatInt(o2.Teams[1].ID, 10) {
		t.Errorf("explicit team replaced: %v", up.Properties)
	}
	h := get(t, db, acct, "contacts", id, spoke.ReadOptions{WithHistory: []string{spoke.PropOwnerID}}).History[spoke.PropOwnerID]
	if len(h) != 2 || h[0].Value != strconv.FormatInt(o2.ID, 10) || h[1].Value != oid {
		t.Errorf("owner history: %+v", h)
	}
	// Searchable like any enumeration.
	sr, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Limit: 10, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: spoke.PropOwnerID, Operator: "EQ", Value: strconv.FormatInt(o2.ID, 10)}}}}})
	if err != nil || sr.Total != 1 || sr.Records[0].ID != c.ID {
		t.Errorf("search by owner: %+v %v", sr, err)
	}

	if err := db.ArchiveOwner(ctx, acct, o.ID); err != nil {
		t.Fatal(err)
	}
	res, err = db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: props(spoke.PropOwnerID, oid)}}, apiSrc)
	if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.EINVALID {
		t.Errorf("archived owner assigned: %+v %v", res, err)
	}
}
