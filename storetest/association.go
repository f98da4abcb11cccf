package storetest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"Associations", testAssociations},
		test{"AssociationCreatedWithRecord", testAssociationCreatedWithRecord},
		test{"AssociationPaging", testAssociationPaging},
	)
}

func hubspotType(id int) []spoke.AssociationType {
	return []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}
}

func typeIDs(a spoke.Association) string {
	var out []string
	for _, t := range a.Types {
		out = append(out, fmt.Sprintf("%s/%d", t.Category, t.TypeID))
	}
	return fmt.Sprint(out)
}

func testAssociations(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	contact := create(t, db, acct, "contacts", props("email", "c@example.com"))
	company := create(t, db, acct, "companies", props("name", "Acme"))
	deal := create(t, db, acct, "deals", props("dealname", "Big"))

	// Explicit type, both directions with paired ids.
	if _, err := db.Associate(ctx, acct, "contacts", contact.ID, "companies", company.ID, hubspotType(279)); err != nil {
		t.Fatal(err)
	}
	fwd, more, err := db.ListAssociations(ctx, acct, "contacts", contact.ID, "companies", 0, 10)
	if err != nil || more || len(fwd) != 1 || fwd[0].ToID != company.ID || typeIDs(fwd[0]) != "[HUBSPOT_DEFINED/279]" {
		t.Fatalf("contact->companies = %+v %v %v", fwd, more, err)
	}
	rev, _, err := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 10)
	if err != nil || len(rev) != 1 || rev[0].ToID != contact.ID || typeIDs(rev[0]) != "[HUBSPOT_DEFINED/280]" {
		t.Fatalf("company->contacts = %+v %v", rev, err)
	}
	// Primary (1) added to the same pair: two types on one association; repeating is idempotent.
	for i := 0; i < 2; i++ {
		if _, err := db.Associate(ctx, acct, "0-1", contact.ID, "0-2", company.ID, hubspotType(1)); err != nil {
			t.Fatal(err)
		}
	}
	fwd, _, _ = db.ListAssociations(ctx, acct, "contacts", contact.ID, "companies", 0, 10)
	if len(fwd) != 1 || typeIDs(fwd[0]) != "[HUBSPOT_DEFINED/1 HUBSPOT_DEFINED/279]" {
		t.Fatalf("after primary = %+v", fwd)
	}
	rev, _, _ = db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 10)
	if len(rev) != 1 || typeIDs(rev[0]) != "[HUBSPOT_DEFINED/2 HUBSPOT_DEFINED/280]" {
		t.Fatalf("reverse after primary = %+v", rev)
	}

	// The from record must be of the from type.
	if wrong, _, err := db.ListAssociations(ctx, acct, "deals", contact.ID, "companies", 0, 10); err != nil || len(wrong) != 0 {
		t.Fatalf("a contact's companies listed as a deal's: %+v %v", wrong, err)
	}

	// Default type.
	types, err := db.Associate(ctx, acct, "deals", deal.ID, "contacts", contact.ID, nil)
	if err != nil || len(types) != 1 || types[0].TypeID != 3 || types[0].Category != spoke.CategoryHubSpot {
		t.Fatalf("default deal->contact = %+v %v", types, err)
	}
	rev, _, _ = db.ListAssociations(ctx, acct, "contacts", contact.ID, "deals", 0, 10)
	if len(rev) != 1 || rev[0].ToID != deal.ID || typeIDs(rev[0]) != "[HUBSPOT_DEFINED/4]" {
		t.Fatalf("contact->deals = %+v", rev)
	}
	for pair, want := range map[[2]string]int{{"contacts", "companies"}: 279, {"companies", "contacts"}: 280, {"deals", "companies"}: 341, {"tickets", "contacts"}: 16} {
		if got, ok := spoke.DefaultAssociationTypeID(pair[0], pair[1]); !ok || got != want {
			t.Errorf("default %v = %d, want %d", pair, got, want)
		}
	}

	// A user-defined label must be defined first; it keeps its id in both
	// directions, with the inverse label in the reverse one.
	undefined := []spoke.AssociationType{{Category: spoke.CategoryUser, TypeID: 77}}
	if _, err := db.Associate(ctx, acct, "deals", deal.ID, "companies", company.ID, undefined); code(err) != spoke.EINVALID {
		t.Fatalf("associating with an undefined label: %v, want EINVALID", err)
	}
	reseller, err := db.CreateAssociationLabel(ctx, acct, "deals", "companies", "reseller", "Reseller", "Resold by")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Associate(ctx, acct, "deals", deal.ID, "companies", company.ID, []spoke.AssociationType{reseller}); err != nil {
		t.Fatal(err)
	}
	rev, _, _ = db.ListAssociations(ctx, acct, "companies", company.ID, "deals", 0, 10)
	if want := fmt.Sprintf("[USER_DEFINED/%d]", reseller.TypeID); len(rev) != 1 || typeIDs(rev[0]) != want || rev[0].Types[0].Label != "Resold by" {
		t.Fatalf("company->deals = %+v, want %s labelled Resold by", rev, want)
	}
	dealCos, _, _ := db.ListAssociations(ctx, acct, "deals", deal.ID, "companies", 0, 10)
	if len(dealCos) != 1 || dealCos[0].Types[len(dealCos[0].Types)-1].Label != "Reseller" {
		t.Fatalf("deal->companies = %+v, want the Reseller label", dealCos)
	}

	// Errors.
	for _, tc := range []struct {
		name         string
		from, to     string
		fromID, toID int64
		types        []spoke.AssociationType
		code         string
	}{
		{"invalid type id", "contacts", "companies", contact.ID, company.ID, hubspotType(3), spoke.EINVALID},
		{"type id of another pair", "deals", "contacts", deal.ID, contact.ID, hubspotType(279), spoke.EINVALID},
		{"missing from", "contacts", "companies", 999999, company.ID, hubspotType(279), spoke.ENOTFOUND},
		{"missing to", "contacts", "companies", contact.ID, 999999, hubspotType(279), spoke.ENOTFOUND},
		{"wrong record type", "contacts", "companies", contact.ID, deal.ID, hubspotType(279), spoke.ENOTFOUND},
		{"unknown object type", "contacts", "widgets", contact.ID, company.ID, nil, spoke.EINVALID},
	} {
		if _, err := db.Associate(ctx, acct, tc.from, tc.fromID, tc.to, tc.toID, tc.types); code(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}

	// Removing with the wrong from type removes nothing (not one direction).
	if err := db.RemoveAssociations(ctx, acct, "contacts", deal.ID, "companies", company.ID); err != nil {
		t.Fatal(err)
	}
	if fwd, _, _ := db.ListAssociations(ctx, acct, "deals", deal.ID, "companies", 0, 10); len(fwd) != 1 {
		t.Fatalf("deal->companies after a mistyped remove = %+v", fwd)
	}
	if rev, _, _ := db.ListAssociations(ctx, acct, "companies", company.ID, "deals", 0, 10); len(rev) != 1 {
		t.Fatalf("company->deals after a mistyped remove = %+v", rev)
	}

	// Remove deletes both directions.
	if err := db.RemoveAssociations(ctx, acct, "companies", company.ID, "contacts", contact.ID); err != nil {
		t.Fatal(err)
	}
	if fwd, _, _ := db.ListAssociations(ctx, acct, "contacts", contact.ID, "companies", 0, 10); len(fwd) != 0 {
		t.Fatalf("after remove contact->companies = %+v", fwd)
	}
	if rev, _, _ := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 10); len(rev) != 0 {
		t.Fatalf("after remove company->contacts = %+v", rev)
	}
	// The deal's associations are untouched.
	if rev, _, _ := db.ListAssociations(ctx, acct, "contacts", contact.ID, "deals", 0, 10); len(rev) != 1 {
		t.Fatalf("unrelated association removed")
	}
}

func testAssociationCreatedWithRecord(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	company := create(t, db, acct, "companies", props("name", "Acme"))
	res := mustWrite(t, db, acct, "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("email", "w@example.com"),
		Associations: []spoke.AssociationInput{{ToID: strconv.FormatInt(company.ID, 10), Types: hubspotType(279)}}})
	rev, _, err := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 10)
	if err != nil || len(rev) != 1 || rev[0].ToID != res[0].Record.ID || typeIDs(rev[0]) != "[HUBSPOT_DEFINED/280]" {
		t.Fatalf("company->contacts = %+v %v", rev, err)
	}
}

func testAssociationPaging(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	company := create(t, db, acct, "companies", props("name", "Acme"))
	var contacts []int64
	for i := 0; i < 7; i++ {
		c := create(t, db, acct, "contacts", props("firstname", fmt.Sprint(i)))
		contacts = append(contacts, c.ID)
		if _, err := db.Associate(ctx, acct, "companies", company.ID, "contacts", c.ID, hubspotType(280)); err != nil {
			t.Fatal(err)
		}
		// Two types on some, so rows and associations differ in number.
		if i%2 == 0 {
			if _, err := db.Associate(ctx, acct, "companies", company.ID, "contacts", c.ID, hubspotType(2)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Archived targets are skipped, and paging still reaches the end.
	if err := db.ArchiveRecords(ctx, acct, "contacts", []string{strconv.FormatInt(contacts[0], 10), strconv.FormatInt(contacts[3], 10)}); err != nil {
		t.Fatal(err)
	}
	want := []int64{contacts[1], contacts[2], contacts[4], contacts[5], contacts[6]}
	var got []int64
	var after int64
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		assocs, more, err := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(assocs) > 2 {
			t.Fatalf("page of %d with limit 2", len(assocs))
		}
		for _, a := range assocs {
			got = append(got, a.ToID)
			if (a.ToID == contacts[2] || a.ToID == contacts[4]) && len(a.Types) != 2 {
				t.Errorf("association to %d has types %+v", a.ToID, a.Types)
			}
		}
		if !more {
			break
		}
		after = assocs[len(assocs)-1].ToID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}
