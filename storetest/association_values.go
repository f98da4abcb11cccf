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
		test{"AssociatedValues", testAssociatedValues},
		test{"WriteAssociatedCompanyID", testWriteAssociatedCompanyID},
	)
}

// testAssociatedValues checks that the association counts and a contact's
// primary company follow every way associations change.
func testAssociatedValues(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	id := func(r *spoke.Record) string { return strconv.FormatInt(r.ID, 10) }
	value := func(typ string, r *spoke.Record, name string) string {
		t.Helper()
		got := get(t, db, acct, typ, id(r), spoke.ReadOptions{})
		if got == nil {
			t.Fatalf("%s %d is gone", typ, r.ID)
		}
		return got.Properties[name]
	}
	expect := func(typ string, r *spoke.Record, name, want string) {
		t.Helper()
		if got := value(typ, r, name); got != want {
			t.Errorf("%s %d %s = %q, want %q", typ, r.ID, name, got, want)
		}
	}
	associate := func(from string, f *spoke.Record, to string, tr *spoke.Record, types []spoke.AssociationType) {
		t.Helper()
		if _, err := db.Associate(ctx, acct, from, f.ID, to, tr.ID, types); err != nil {
			t.Fatal(err)
		}
	}
	acme := create(t, db, acct, "companies", props("name", "Acme"))
	globex := create(t, db, acct, "companies", props("name", "Globex"))
	ann := create(t, db, acct, "contacts", props("email", "ann@example.com"))
	deal := create(t, db, acct, "deals", props("dealname", "Big"))
	expect("companies", acme, "num_associated_contacts", "") // never associated: no value

	// A default association counts, but is not a primary company.
	associate("contacts", ann, "companies", acme, nil)
	expect("companies", acme, "num_associated_contacts", "1")
	expect("contacts", ann, spoke.PropAssociatedCompanyID, "")
	// Primary (type 1) makes it the contact's company; from the company's
	// side (type 2) it is the same link.
	associate("contacts", ann, "companies", acme, hubspotType(1))
	expect("contacts", ann, spoke.PropAssociatedCompanyID, id(acme))
	expect("companies", acme, "num_associated_contacts", "1") // one contact, two types
	associate("companies", globex, "contacts", ann, nil)
	associate("companies", globex, "contacts", ann, hubspotType(2))
	expect("contacts", ann, spoke.PropAssociatedCompanyID, id(globex))
	// One primary per contact: Acme stays associated, without the label.
	links, _, err := db.ListAssociations(ctx, acct, "contacts", ann.ID, "companies", 0, 10)
	if err != nil || len(links) != 2 || links[0].ToID != acme.ID || typeIDs(links[0]) != "[HUBSPOT_DEFINED/279]" ||
		typeIDs(links[1]) != "[HUBSPOT_DEFINED/1 HUBSPOT_DEFINED/279]" {
		t.Fatalf("ann's companies = %+v %v", links, err)
	}
	rev, _, err := db.ListAssociations(ctx, acct, "companies", acme.ID, "contacts", 0, 10)
	if err != nil || len(rev) != 1 || typeIDs(rev[0]) != "[HUBSPOT_DEFINED/280]" {
		t.Fatalf("acme's contacts = %+v %v", rev, err)
	}
	// Removing the primary label keeps the link and clears the company.
	if err := db.RemoveAssociationTypes(ctx, acct, "contacts", ann.ID, "companies", globex.ID, hubspotType(1)); err != nil {
		t.Fatal(err)
	}
	expect("contacts", ann, spoke.PropAssociatedCompanyID, "")
	expect("companies", globex, "num_associated_contacts", "1")
	if err := db.RemoveAssociations(ctx, acct, "contacts", ann.ID, "companies", globex.ID); err != nil {
		t.Fatal(err)
	}
	expect("companies", globex, "num_associated_contacts", "0")

	// A create with associations counts on both sides.
	res := mustWrite(t, db, acct, "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("email", "bob@example.com"),
		Associations: []spoke.AssociationInput{
			{ToID: id(acme), Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 1}, {Category: spoke.CategoryHubSpot, TypeID: 279}}},
			{ToID: id(deal), Types: hubspotType(4)}}})
	bob := res[0].Record
	if bob.Properties[spoke.PropAssociatedCompanyID] != id(acme) || bob.Properties["num_associated_deals"] != "1" {
		t.Errorf("created contact = %v; want its company and deal count in the result", bob.Properties)
	}
	expect("companies", acme, "num_associated_contacts", "2")
	expect("deals", deal, "num_associated_contacts", "1")
	associate("deals", deal, "contacts", ann, nil)
	expect("deals", deal, "num_associated_contacts", "2")
	expect("contacts", ann, "num_associated_deals", "1")
	associate("deals", deal, "companies", acme, nil)
	expect("companies", acme, "num_associated_deals", "1")

	// History: source CALCULATED, one entry per change.
	got := get(t, db, acct, "companies", id(acme), spoke.ReadOptions{WithHistory: []string{"num_associated_contacts"}})
	var hist []string
	for _, h := range got.History["num_associated_contacts"] {
		if h.SourceType != spoke.SourceCalculated {
			t.Errorf("history source %q, want CALCULATED", h.SourceType)
		}
		hist = append(hist, h.Value)
	}
	if strconv.Quote(join(hist)) != strconv.Quote("2,1") {
		t.Errorf("num_associated_contacts history = %v, want 2,1", hist)
	}

	// Merging bob into ann: the deal and Acme count one contact fewer,
	// and ann takes bob's links.
	if _, err := db.MergeRecords(ctx, acct, "contacts", ann.ID, bob.ID, apiSrc); err != nil {
		t.Fatal(err)
	}
	expect("deals", deal, "num_associated_contacts", "1")
	expect("companies", acme, "num_associated_contacts", "1")
	expect("contacts", ann, spoke.PropAssociatedCompanyID, id(acme)) // bob's primary moved to ann

	// Merging a contact with another primary company keeps the primary
	// record's own, and the other company stays associated.
	eve := create(t, db, acct, "contacts", props("email", "eve@example.com"))
	associate("contacts", eve, "companies", globex, []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 1}, {Category: spoke.CategoryHubSpot, TypeID: 279}})
	if _, err := db.MergeRecords(ctx, acct, "contacts", ann.ID, eve.ID, apiSrc); err != nil {
		t.Fatal(err)
	}
	expect("contacts", ann, spoke.PropAssociatedCompanyID, id(acme))
	links, _, err = db.ListAssociations(ctx, acct, "contacts", ann.ID, "companies", 0, 10)
	if err != nil || len(links) != 2 || typeIDs(links[1]) != "[HUBSPOT_DEFINED/279]" {
		t.Fatalf("ann's companies after merging eve = %+v %v", links, err)
	}
	expect("companies", globex, "num_associated_contacts", "1")
	if err := db.RemoveAssociations(ctx, acct, "contacts", ann.ID, "companies", globex.ID); err != nil {
		t.Fatal(err)
	}

	// A label's deletion removes its links from the counts.
	label, err := db.CreateAssociationLabel(ctx, acct, "contacts", "companies", "former", "Former employee", "")
	if err != nil {
		t.Fatal(err)
	}
	cat := create(t, db, acct, "contacts", props("email", "cat@example.com"))
	associate("contacts", cat, "companies", globex, []spoke.AssociationType{label})
	expect("companies", globex, "num_associated_contacts", "1")
	if err := db.DeleteAssociationLabel(ctx, acct, "contacts", "companies", label.TypeID); err != nil {
		t.Fatal(err)
	}
	expect("companies", globex, "num_associated_contacts", "0")

	// Archiving a record and erasing one (GDPR) take them out of the
	// counts of what they were linked to.
	dan := create(t, db, acct, "contacts", props("email", "dan@example.com"))
	associate("contacts", dan, "companies", acme, nil)
	expect("companies", acme, "num_associated_contacts", "2")
	if err := db.ArchiveRecords(ctx, acct, "contacts", []string{id(dan)}); err != nil {
		t.Fatal(err)
	}
	expect("companies", acme, "num_associated_contacts", "1")
	if err := db.PurgeRecord(ctx, acct, "contacts", id(ann), ""); err != nil {
		t.Fatal(err)
	}
	expect("companies", acme, "num_associated_contacts", "0")
	expect("companies", acme, "num_associated_deals", "1")
	expect("deals", deal, "num_associated_contacts", "0")

	// Tickets count their companies.
	ticket := create(t, db, acct, "tickets", props("subject", "Help", "hs_pipeline_stage", "1"))
	associate("tickets", ticket, "companies", acme, nil)
	expect("tickets", ticket, "hs_num_associated_companies", "1")

	// The values stay read-only to writers.
	out, err := db.WriteRecords(ctx, acct, "companies", spoke.WriteUpdate, []spoke.RecordInput{{ID: id(acme), Properties: props("num_associated_contacts", "9")}}, apiSrc)
	if err != nil || out[0].Err == nil {
		t.Errorf("writing a count: %v %v", out, err)
	}
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// testWriteAssociatedCompanyID checks that writing a contact's
// associatedcompanyid sets its primary company, as on HubSpot.
func testWriteAssociatedCompanyID(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	acme := create(t, db, acct, "companies", props("name", "Acme"))
	globex := create(t, db, acct, "companies", props("name", "Globex"))
	aid, gid := strconv.FormatInt(acme.ID, 10), strconv.FormatInt(globex.ID, 10)
	c := create(t, db, acct, "contacts", props("email", "p@example.com", spoke.PropAssociatedCompanyID, aid))
	links := func() string {
		t.Helper()
		l, _, err := db.ListAssociations(ctx, acct, "contacts", c.ID, "companies", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, a := range l {
			out += strconv.FormatInt(a.ToID, 10) + typeIDs(a)
		}
		return out
	}
	if got, want := links(), aid+"[HUBSPOT_DEFINED/1 HUBSPOT_DEFINED/279]"; got != want {
		t.Errorf("after create: %s, want %s", got, want)
	}
	if n := get(t, db, acct, "companies", aid, spoke.ReadOptions{}).Properties["num_associated_contacts"]; n != "1" {
		t.Errorf("acme counts %q contacts", n)
	}
	update := func(v string) *spoke.Error {
		t.Helper()
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(c.ID, 10), Properties: props(spoke.PropAssociatedCompanyID, v)}}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Err
	}
	if err := update(gid); err != nil {
		t.Fatal(err)
	}
	if got, want := links(), aid+"[HUBSPOT_DEFINED/279]"+gid+"[HUBSPOT_DEFINED/1 HUBSPOT_DEFINED/279]"; got != want {
		t.Errorf("after moving the primary: %s, want %s", got, want)
	}
	if err := update(""); err != nil {
		t.Fatal(err)
	}
	if got, want := links(), aid+"[HUBSPOT_DEFINED/279]"+gid+"[HUBSPOT_DEFINED/279]"; got != want {
		t.Errorf("after clearing: %s, want %s", got, want)
	}
	if v := get(t, db, acct, "contacts", strconv.FormatInt(c.ID, 10), spoke.ReadOptions{}).Properties[spoke.PropAssociatedCompanyID]; v != "" {
		t.Errorf("associatedcompanyid after clearing = %q", v)
	}
	if err := update(strconv.FormatInt(c.ID, 10)); err == nil || !strings.Contains(err.Message, "INVALID_OBJECT_ID") {
		t.Errorf("a contact's id as its company: %v", err)
	}
}
