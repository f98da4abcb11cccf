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
		test{"EngagementsRequireTimestamp", testEngagementsRequireTimestamp},
		test{"NoteCreatedWithAssociation", testNoteCreatedWithAssociation},
		test{"LineItemAmount", testLineItemAmount},
		test{"LeadNeedsNameAndContact", testLeadNeedsNameAndContact},
		test{"CustomObjectSchema", testCustomObjectSchema},
		test{"SchemaValidation", testSchemaValidation},
	)
}

// Every standard type stores records under its plural name and answers
// to its id; engagements refuse a create without hs_timestamp with
// HubSpot's VALIDATION_ERROR, and accept it with one.
func testEngagementsRequireTimestamp(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	for _, typ := range []string{"notes", "tasks", "calls", "emails", "meetings"} {
		res, err := db.WriteRecords(ctx, acct, typ, spoke.WriteCreate, []spoke.RecordInput{{Properties: props()}}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		e := res[0].Err
		if e == nil || e.Code != spoke.EINVALID || e.Category != "VALIDATION_ERROR" || !strings.Contains(e.Message, `"name":"hs_timestamp"`) ||
			!strings.Contains(e.Message, "REQUIRED_FIELD") || e.Context["properties"][0] != "hs_timestamp" {
			t.Errorf("%s without hs_timestamp: %+v", typ, e)
		}
		r := create(t, db, acct, typ, props("hs_timestamp", "1700000000000"))
		ot, _ := spoke.LookupObjectType(typ)
		if got := get(t, db, acct, ot.ID, strconv.FormatInt(r.ID, 10), spoke.ReadOptions{}); got == nil || got.ObjectType != typ ||
			got.Properties["hs_timestamp"] != "2023-11-14T22:13:20.000Z" {
			t.Errorf("%s by id %s: %+v", typ, ot.ID, got)
		}
		if v, _ := r.Value(ot, spoke.PropHSCreateDate); v == "" {
			t.Errorf("%s: no hs_createdate", typ)
		}
	}
	// Updates need no hs_timestamp; enumerations are checked.
	task := create(t, db, acct, "tasks", props("hs_timestamp", "2024-05-01T10:00:00Z", "hs_task_subject", "Call back", "hs_task_status", "NOT_STARTED", "hs_task_priority", "HIGH", "hs_task_type", "CALL"))
	id := strconv.FormatInt(task.ID, 10)
	mustWrite(t, db, acct, "tasks", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("hs_task_status", "COMPLETED")})
	res, _ := db.WriteRecords(ctx, acct, "tasks", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: props("hs_task_status", "DONE")}}, apiSrc)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Message, "INVALID_OPTION") {
		t.Errorf("bad status: %+v", res[0].Err)
	}
}

// A note created with associations is linked to the contact in both
// directions with HubSpot's ids (202 note to contact, 201 back); a type
// id of another pair is refused and leaves no note behind.
func testNoteCreatedWithAssociation(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	c := create(t, db, acct, "contacts", props("email", "n@example.com"))
	cid := strconv.FormatInt(c.ID, 10)
	res := mustWrite(t, db, acct, "notes", spoke.WriteCreate, spoke.RecordInput{Properties: props("hs_timestamp", "1700000000000", "hs_note_body", "Met at the fair"),
		Associations: []spoke.AssociationInput{{ToID: cid, Types: hubspotType(202)}}})
	note := res[0].Record
	fwd, _, err := db.ListAssociations(ctx, acct, "notes", note.ID, "contacts", 0, 10)
	if err != nil || len(fwd) != 1 || fwd[0].ToID != c.ID || typeIDs(fwd[0]) != "[HUBSPOT_DEFINED/202]" {
		t.Fatalf("note to contact: %+v %v", fwd, err)
	}
	back, _, _ := db.ListAssociations(ctx, acct, "contacts", c.ID, "notes", 0, 10)
	if len(back) != 1 || back[0].ToID != note.ID || typeIDs(back[0]) != "[HUBSPOT_DEFINED/201]" {
		t.Fatalf("contact to note: %+v", back)
	}
	before := countRecords(t, db, "notes")
	res, err = db.WriteRecords(ctx, acct, "notes", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("hs_timestamp", "1700000000000"),
		Associations: []spoke.AssociationInput{{ToID: cid, Types: hubspotType(204)}}}}, apiSrc)
	if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.EINVALID {
		t.Fatalf("task type on a note: %+v %v", res, err)
	}
	if countRecords(t, db, "notes") != before {
		t.Error("a refused note was stored")
	}
	// The default association between a task and a deal is 216.
	d := create(t, db, acct, "deals", props("dealname", "D"))
	task := create(t, db, acct, "tasks", props("hs_timestamp", "1700000000000"))
	got, err := db.Associate(ctx, acct, "tasks", task.ID, "deals", d.ID, nil)
	if err != nil || len(got) != 1 || got[0].TypeID != 216 {
		t.Fatalf("default task to deal: %+v %v", got, err)
	}
}

// A line item's amount and total discount are computed as HubSpot computes
// them, on create and on every change of what they depend on, and cannot
// be written.
func testLineItemAmount(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	li := create(t, db, acct, "line_items", props("name", "Widget", "quantity", "3", "price", "10.1"))
	if li.Properties["amount"] != "30.3" || li.Properties["hs_total_discount"] != "0" {
		t.Fatalf("created: %v", li.Properties)
	}
	id := strconv.FormatInt(li.ID, 10)
	for _, c := range []struct {
		set               map[string]string
		amount, totalDisc string
	}{
		{props("hs_discount_percentage", "10"), "27.27", "3.03"},
		{props("discount", "1"), "27.3", "3"}, // a unit discount wins over the percentage
		{props("quantity", "5"), "45.5", "5"},
		{props("discount", "", "hs_discount_percentage", ""), "50.5", "0"},
		{props("price", ""), "", ""},
	} {
		up := mustWrite(t, db, acct, "line_items", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: c.set})[0].Record
		if up.Properties["amount"] != c.amount || up.Properties["hs_total_discount"] != c.totalDisc {
			t.Errorf("after %v: amount %q total discount %q, want %q %q", c.set, up.Properties["amount"], up.Properties["hs_total_discount"], c.amount, c.totalDisc)
		}
	}
	res, _ := db.WriteRecords(ctx, acct, "line_items", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: props("amount", "1")}}, apiSrc)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Message, "READ_ONLY_VALUE") {
		t.Errorf("writing amount: %+v", res[0].Err)
	}
	// A line item belongs to a deal with 20 (and 19 back).
	d := create(t, db, acct, "deals", props("dealname", "D"))
	if got, err := db.Associate(ctx, acct, "line_items", li.ID, "deals", d.ID, nil); err != nil || got[0].TypeID != 20 {
		t.Fatalf("line item to deal: %+v %v", got, err)
	}
	back, _, _ := db.ListAssociations(ctx, acct, "deals", d.ID, "line_items", 0, 10)
	if len(back) != 1 || typeIDs(back[0]) != "[HUBSPOT_DEFINED/19]" {
		t.Fatalf("deal to line item: %+v", back)
	}
}

// A lead needs hs_lead_name and an association to a contact.
func testLeadNeedsNameAndContact(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	c := create(t, db, acct, "contacts", props("email", "lead@example.com"))
	for _, in := range []spoke.RecordInput{
		{Properties: props("hs_lead_name", "Ada")},
		{Properties: props(), Associations: []spoke.AssociationInput{{ToID: strconv.FormatInt(c.ID, 10), Types: hubspotType(578)}}},
	} {
		res, err := db.WriteRecords(ctx, acct, "leads", spoke.WriteCreate, []spoke.RecordInput{in}, apiSrc)
		if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.EINVALID {
			t.Errorf("%+v: %+v %v", in, res, err)
		}
	}
	lead := mustWrite(t, db, acct, "leads", spoke.WriteCreate, spoke.RecordInput{Properties: props("hs_lead_name", "Ada", "hs_pipeline_stage", "new-stage-id"),
		Associations: []spoke.AssociationInput{{ToID: strconv.FormatInt(c.ID, 10), Types: hubspotType(608)}}})[0].Record
	back, _, _ := db.ListAssociations(ctx, acct, "contacts", c.ID, "leads", 0, 10)
	if len(back) != 1 || back[0].ToID != lead.ID || typeIDs(back[0]) != "[HUBSPOT_DEFINED/609]" {
		t.Fatalf("contact to lead: %+v", back)
	}
}

func carSchema() spoke.SchemaInput {
	return spoke.SchemaInput{Name: "cars", SingularLabel: "Car", PluralLabel: "Cars", PrimaryDisplayProperty: "model",
		SecondaryDisplayProperties: []string{"make"}, RequiredProperties: []string{"model", "year"}, SearchableProperties: []string{"model", "vin"},
		AssociatedObjects: []string{"CONTACT"},
		Properties: []*spoke.Property{
			{Name: "model", Label: "Model"},
			{Name: "make", Label: "Make", Type: "string", FieldType: "text"},
			{Name: "year", Label: "Year", Type: "number", FieldType: "number"},
			{Name: "vin", Label: "VIN", HasUniqueValue: true},
			{Name: "condition", Label: "Condition", Type: "enumeration", FieldType: "select", Options: []spoke.Option{{Label: "New", Value: "new"}, {Label: "Used", Value: "used"}}},
		}}
}

// A custom object schema makes a "2-N" object type of its account only,
// addressed by id, fully qualified name or p_{name} but not by its base
// name; its records take the record, search and association paths of the
// standard types, with its required and unique properties enforced.
func testCustomObjectSchema(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	s, err := db.CreateSchema(ctx, acct, carSchema())
	if err != nil {
		t.Fatal(err)
	}
	typeID := s.ObjectTypeID()
	if !spoke.IsCustomObjectTypeID(typeID) || s.FullyQualifiedName() != "p"+strconv.FormatInt(acct, 10)+"_cars" {
		t.Fatalf("schema %+v", s)
	}
	if _, err := db.CreateSchema(ctx, acct, carSchema()); code(err) != spoke.ECONFLICT {
		t.Errorf("same name twice: %v", err)
	}
	for _, name := range []string{typeID, s.FullyQualifiedName(), "p_cars"} {
		ot, err := db.ObjectType(ctx, acct, name)
		if err != nil || ot.Name != typeID || !ot.Custom {
			t.Errorf("%s: %+v %v", name, ot, err)
		}
	}
	if _, err := db.ObjectType(ctx, acct, "cars"); err == nil || !strings.Contains(err.Error(), "Unable to infer object type from: cars") {
		t.Errorf("base name: %v", err)
	}
	if _, err := db.ObjectType(ctx, acct+1, typeID); code(err) != spoke.EINVALID {
		t.Errorf("another account resolves %s: %v", typeID, err)
	}
	// Association definitions: with contacts, as asked, and the
	// engagements, as HubSpot does.
	var toContact int
	names := map[string]bool{}
	for _, a := range s.Associations {
		names[a.ToObjectTypeID] = true
		if a.ToObjectTypeID == "0-1" {
			toContact = a.ID
		}
	}
	for _, want := range []string{"0-1", "0-46", "0-27", "0-48", "0-49", "0-47"} {
		if !names[want] {
			t.Errorf("no association definition to %s: %+v", want, s.Associations)
		}
	}

	// Required properties on create.
	res, err := db.WriteRecords(ctx, acct, "p_cars", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("model", "Frontier")}}, apiSrc)
	if err != nil || res[0].Err == nil || !strings.Contains(res[0].Err.Message, `"name":"year"`) {
		t.Fatalf("missing year: %+v %v", res, err)
	}
	contact := create(t, db, acct, "contacts", props("email", "owner@example.com"))
	car := mustWrite(t, db, acct, typeID, spoke.WriteCreate, spoke.RecordInput{Properties: props("model", "Frontier", "year", "2014", "vin", "4Y1SL65848Z411439", "condition", "used"),
		Associations: []spoke.AssociationInput{{ToID: strconv.FormatInt(contact.ID, 10), Types: []spoke.AssociationType{{Category: spoke.CategoryUser, TypeID: toContact}}}}})[0].Record
	if car.ObjectType != typeID {
		t.Fatalf("car %+v", car)
	}
	// Its records enroll in a flow by id, as the API's enrollment does.
	if res, err := db.Enroll(ctx, acct, &spoke.Flow{ID: "7", RevisionID: "1", ObjectTypeID: typeID}, typeID, []int64{car.ID}, false); err != nil || len(res.Enrolled) != 1 {
		t.Errorf("enroll a car: %+v %v", res, err)
	}
	back, _, _ := db.ListAssociations(ctx, acct, "contacts", contact.ID, typeID, 0, 10)
	if len(back) != 1 || back[0].ToID != car.ID {
		t.Fatalf("contact to car: %+v", back)
	}
	// The pair's default is the definition.
	other := create(t, db, acct, "contacts", props("email", "other@example.com"))
	if got, err := db.Associate(ctx, acct, "contacts", other.ID, "p_cars", car.ID, nil); err != nil || got[0].TypeID != toContact || got[0].Category != spoke.CategoryUser {
		t.Fatalf("default contact to car: %+v %v", got, err)
	}
	// A duplicate unique value fails the call, as HubSpot does.
	if _, err := db.WriteRecords(ctx, acct, typeID, spoke.WriteCreate, []spoke.RecordInput{{Properties: props("model", "X", "year", "2020", "vin", "4Y1SL65848Z411439")}}, apiSrc); code(err) != spoke.ECONFLICT {
		t.Errorf("duplicate vin: %v", err)
	}
	// Search, with the number property's value index.
	sr, err := db.SearchRecords(ctx, acct, typeID, spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "year", Operator: "GTE", Value: "2010"}}}}})
	if err != nil || sr.Total != 1 || sr.Records[0].ID != car.ID {
		t.Fatalf("search: %+v %v", sr, err)
	}
	// Custom properties of the type come and go like any other.
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "p_cars", Name: "mileage", Label: "Mileage", Type: "number", FieldType: "number", GroupName: "carsinformation"}); err != nil {
		t.Fatal(err)
	}
	upd := mustWrite(t, db, acct, "p_cars", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(car.ID, 10), Properties: props("mileage", "80000")})[0].Record
	if upd.Properties["mileage"] != "80000" {
		t.Fatalf("update %v", upd.Properties)
	}

	// A schema with records cannot be deleted; archived records do not
	// hold it.
	if err := db.DeleteSchema(ctx, acct, typeID, false); code(err) != spoke.EINVALID {
		t.Fatalf("delete with records: %v", err)
	}
	if err := db.ArchiveRecords(ctx, acct, typeID, []string{strconv.FormatInt(car.ID, 10)}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSchema(ctx, acct, typeID, true); code(err) != spoke.ENOTFOUND {
		t.Fatalf("purge of a live schema: %v", err)
	}
	if err := db.DeleteSchema(ctx, acct, typeID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ObjectType(ctx, acct, typeID); code(err) != spoke.EINVALID {
		t.Errorf("archived schema still resolves: %v", err)
	}
	if _, err := db.CreateSchema(ctx, acct, carSchema()); code(err) != spoke.ECONFLICT {
		t.Errorf("an archived schema's name is taken until purged: %v", err)
	}
	if list, _ := db.ListSchemas(ctx, acct, true); len(list) != 1 || !list[0].Archived {
		t.Errorf("archived list %+v", list)
	}
	if err := db.DeleteSchema(ctx, acct, typeID, true); err != nil {
		t.Fatal(err)
	}
	if n := countRecords(t, db, typeID); n != 0 {
		t.Errorf("%d records left after the purge", n)
	}
	s2, err := db.CreateSchema(ctx, acct, carSchema())
	if err != nil || s2.ObjectTypeID() == typeID {
		t.Fatalf("recreated: %+v %v (ids are never reused)", s2, err)
	}
	if props, err := db.ListProperties(ctx, acct, s2.ObjectTypeID(), false); err != nil || len(props) != 5+5 {
		t.Errorf("recreated schema's properties: %d %v", len(props), err)
	}
}

// Schema validation and updates refuse properties the schema does not
// have.
func testSchemaValidation(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	bad := carSchema()
	bad.Name, bad.RequiredProperties = "1cars", []string{"nope"}
	_, err := db.CreateSchema(ctx, acct, bad)
	if e := asErr(t, err); e.Code != spoke.EINVALID || !strings.Contains(e.Message, `name "1cars"`) || !strings.Contains(e.Message, `"nope"`) {
		t.Fatalf("bad schema: %v", err)
	}
	s, err := db.CreateSchema(ctx, acct, carSchema())
	if err != nil {
		t.Fatal(err)
	}
	none := []string{"nope"}
	if _, err := db.UpdateSchema(ctx, acct, s.FullyQualifiedName(), spoke.SchemaUpdate{SearchableProperties: &none}); code(err) != spoke.EINVALID {
		t.Errorf("searchable unknown: %v", err)
	}
	req := []string{"model"}
	label := "Automobile"
	up, err := db.UpdateSchema(ctx, acct, s.ObjectTypeID(), spoke.SchemaUpdate{RequiredProperties: &req, SingularLabel: &label})
	if err != nil || len(up.RequiredProperties) != 1 || up.SingularLabel != "Automobile" {
		t.Fatalf("update %+v %v", up, err)
	}
	// The new requirement applies at once (the cache was dropped).
	mustWrite(t, db, acct, s.ObjectTypeID(), spoke.WriteCreate, spoke.RecordInput{Properties: props("model", "T")})
}
