package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"CreateReadUpdate", testCreateReadUpdate},
		test{"WriteErrors", testWriteErrors},
		test{"ValidationErrorNamesEveryField", testValidationErrorNamesEveryField},
		test{"BatchNeverHalfWrites", testBatchNeverHalfWrites},
		test{"UniqueEmail", testUniqueEmail},
		test{"Upsert", testUpsert},
		test{"Archive", testArchive},
		test{"ListPaging", testListPaging},
		test{"ListOnly", testListOnly},
		test{"History", testHistory},
		test{"StringifiedNumbersAndCanonicalValues", testStringifiedNumbersAndCanonicalValues},
		test{"CustomUniqueProperty", testCustomUniqueProperty},
		test{"BatchCreateInsertsTogether", testBatchCreateInsertsTogether},
		test{"BatchFlushesBeforeUpdate", testBatchFlushesBeforeUpdate},
	)
}

func testCreateReadUpdate(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	r := create(t, db, acct, "contacts", props("email", "Ada@Example.com", "firstname", "Ada", "lastname", ""))
	if r.ID <= 0 || r.ObjectType != "contacts" {
		t.Fatalf("created %+v", r)
	}
	if _, ok := r.Properties["lastname"]; ok {
		t.Errorf("empty value was stored on create: %v", r.Properties)
	}
	id := strconv.FormatInt(r.ID, 10)
	got := get(t, db, acct, "0-1", id, spoke.ReadOptions{})
	if got == nil || got.Properties["email"] != "Ada@Example.com" || got.Properties["firstname"] != "Ada" {
		t.Fatalf("read back %+v", got)
	}
	if !got.CreatedAt.Equal(r.CreatedAt) || got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("timestamps created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	if v, _ := got.Value(spoke.ObjectTypes[0], "hs_object_id"); v != id {
		t.Errorf("hs_object_id = %q, want %q", v, id)
	}

	// By email, case-insensitively.
	if byEmail := get(t, db, acct, "contacts", "ada@EXAMPLE.com", spoke.ReadOptions{IDProperty: "email"}); byEmail == nil || byEmail.ID != r.ID {
		t.Fatalf("get by email = %+v", byEmail)
	}

	res := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("lastname", "Lovelace", "firstname", "")})
	up := res[0].Record
	if up.Properties["lastname"] != "Lovelace" {
		t.Errorf("update result %v", up.Properties)
	}
	if _, ok := up.Properties["firstname"]; ok {
		t.Errorf("clearing with \"\" kept firstname: %v", up.Properties)
	}
	if !up.UpdatedAt.After(r.UpdatedAt) {
		t.Errorf("updatedAt %v not after %v", up.UpdatedAt, r.UpdatedAt)
	}
	got = get(t, db, acct, "contacts", id, spoke.ReadOptions{})
	if _, ok := got.Properties["firstname"]; ok || got.Properties["lastname"] != "Lovelace" || got.Properties["email"] != "Ada@Example.com" {
		t.Fatalf("after update %v", got.Properties)
	}

	// Update by email.
	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: "ADA@example.com", IDProperty: "email", Properties: props("jobtitle", "Analyst")})
	if got = get(t, db, acct, "contacts", id, spoke.ReadOptions{}); got.Properties["jobtitle"] != "Analyst" {
		t.Fatalf("update by email: %v", got.Properties)
	}

	// Unknown ids are absent, not errors.
	recs, err := db.GetRecords(ctx, acct, "contacts", []string{id, "999999", "abc", "-1", ""}, spoke.ReadOptions{})
	if err != nil || len(recs) != 1 || recs[id] == nil {
		t.Fatalf("GetRecords with unknown ids = %v, %v", recs, err)
	}
}

func testWriteErrors(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	existing := create(t, db, acct, "contacts", props("email", "taken@example.com"))
	existingID := strconv.FormatInt(existing.ID, 10)
	tests := []struct {
		name     string
		typ      string
		mode     spoke.WriteMode
		in       spoke.RecordInput
		callCode string // error of the whole call
		code     string // error of the input
		contains []string
	}{
		{"unknown type", "widgets", spoke.WriteCreate, spoke.RecordInput{Properties: props("a", "b")}, spoke.EINVALID, "", []string{"widgets"}},
		{"unknown property", "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("nope", "x")}, "", spoke.EINVALID, []string{"PROPERTY_DOESNT_EXIST", "nope"}},
		{"read-only property", "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("hs_object_id", "5")}, "", spoke.EINVALID, []string{"READ_ONLY_VALUE"}},
		{"read-only createdate", "deals", spoke.WriteCreate, spoke.RecordInput{Properties: props("createdate", "5")}, "", spoke.EINVALID, []string{"READ_ONLY_VALUE"}},
		{"read-only lastmodified", "deals", spoke.WriteCreate, spoke.RecordInput{Properties: props("hs_lastmodifieddate", "5")}, "", spoke.EINVALID, []string{"READ_ONLY_VALUE"}},
		{"duplicate email", "contacts", spoke.WriteCreate, spoke.RecordInput{Properties: props("email", "TAKEN@example.com")}, spoke.ECONFLICT, "", []string{"Contact already exists. Existing ID: " + existingID}},
		{"update unknown id", "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: "424242", Properties: props("firstname", "x")}, "", spoke.ENOTFOUND, []string{"Object not found.  objectId are usually numeric."}},
		{"update no id", "contacts", spoke.WriteUpdate, spoke.RecordInput{Properties: props("firstname", "x")}, "", spoke.EINVALID, []string{"id is required"}},
		{"update non-unique idProperty", "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: "x", IDProperty: "firstname", Properties: props("firstname", "x")}, "", spoke.EINVALID, []string{"firstname"}},
		{"update unknown idProperty", "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: "x", IDProperty: "nope", Properties: props("firstname", "x")}, "", spoke.EINVALID, []string{"nope"}},
		{"upsert by id not found", "contacts", spoke.WriteUpsert, spoke.RecordInput{ID: "424242", Properties: props("firstname", "x")}, "", spoke.EINVALID, []string{"idProperty"}},
		{"upsert invalid email id", "contacts", spoke.WriteUpsert, spoke.RecordInput{ID: "not-an-email", IDProperty: "email", Properties: props("firstname", "x")}, "", spoke.EINVALID, []string{"INVALID_EMAIL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countRecords(t, db, tc.typ)
			res, err := db.WriteRecords(ctx, acct, tc.typ, tc.mode, []spoke.RecordInput{tc.in}, apiSrc)
			if code(err) != tc.callCode {
				t.Fatalf("call error = %v, want code %q", err, tc.callCode)
			}
			var e *spoke.Error
			if err != nil {
				e = asErr(t, err)
			} else {
				if len(res) != 1 {
					t.Fatalf("%d results", len(res))
				}
				if res[0].Err == nil || res[0].Err.Code != tc.code {
					t.Fatalf("input error = %v, want code %q", res[0].Err, tc.code)
				}
				e = res[0].Err
			}
			for _, s := range tc.contains {
				if !strings.Contains(e.Message, s) {
					t.Errorf("message %q does not contain %q", e.Message, s)
				}
			}
			if after := countRecords(t, db, tc.typ); after != before {
				t.Errorf("records %d -> %d after a failed write", before, after)
			}
		})
	}
}

func testValidationErrorNamesEveryField(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	res, err := db.WriteRecords(context.Background(), acct, "contacts", spoke.WriteCreate,
		[]spoke.RecordInput{{Properties: props("email", "bad", "hs_email_optout", "maybe", "firstname", "ok", "zzz", "1")}}, apiSrc)
	if err != nil {
		t.Fatal(err)
	}
	e := res[0].Err
	if e == nil || e.Category != "VALIDATION_ERROR" {
		t.Fatalf("err = %v", e)
	}
	if got := strings.Join(e.Context["properties"], ","); got != "email,hs_email_optout,zzz" {
		t.Errorf("context properties = %q", got)
	}
	for _, s := range []string{`"name":"email"`, `"error":"INVALID_EMAIL"`, `"name":"hs_email_optout"`, `"error":"INVALID_BOOLEAN"`, `"name":"zzz"`, `"isValid":false`, "Property values were not valid: ["} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q lacks %q", e.Message, s)
		}
	}
}

func testBatchNeverHalfWrites(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	company := create(t, db, acct, "companies", props("name", "Acme"))
	cid := strconv.FormatInt(company.ID, 10)

	t.Run("invalid input", func(t *testing.T) {
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{
			{Properties: props("email", "one@example.com")},
			{Properties: props("email", "two@example.com", "hs_email_optout", "maybe")},
			{Properties: props("email", "three@example.com")},
		}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || res[1].Err == nil || res[2].Err != nil {
			t.Fatalf("results %+v", res)
		}
		if r := get(t, db, acct, "contacts", "two@example.com", spoke.ReadOptions{IDProperty: "email"}); r != nil {
			t.Fatalf("invalid input was written: %+v", r)
		}
	})

	t.Run("bad association on create", func(t *testing.T) {
		before := countRecords(t, db, "contacts")
		// The company's count of contacts is written too (CALCULATED).
		const history = "property_history WHERE source_type != 'CALCULATED'"
		histBefore := countRows(t, db, history)
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{
			{Properties: props("email", "four@example.com"), Associations: []spoke.AssociationInput{{ToID: cid, Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 279}}}}},
			{Properties: props("email", "five@example.com"), Associations: []spoke.AssociationInput{{ToID: "987654", Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 279}}}}},
			{Properties: props("email", "six@example.com"), Associations: []spoke.AssociationInput{
				{ToID: cid, Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 279}}},
				{ToID: cid, Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 9999}}}}},
		}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || code(errOrNil(res[1].Err)) != spoke.ENOTFOUND || code(errOrNil(res[2].Err)) != spoke.EINVALID {
			t.Fatalf("results %v / %v / %v", res[0].Err, res[1].Err, res[2].Err)
		}
		if after := countRecords(t, db, "contacts"); after != before+1 {
			t.Errorf("contacts %d -> %d; only the valid input may be written", before, after)
		}
		for _, email := range []string{"five@example.com", "six@example.com"} {
			if r := get(t, db, acct, "contacts", email, spoke.ReadOptions{IDProperty: "email"}); r != nil {
				t.Errorf("%s was written although its association failed", email)
			}
		}
		// The failed input left no association and no history behind.
		assocs, _, err := db.ListAssociations(ctx, acct, "companies", company.ID, "contacts", 0, 100)
		if err != nil || len(assocs) != 1 || assocs[0].ToID != res[0].Record.ID {
			t.Errorf("company's contacts = %+v, %v; want only %d", assocs, err, res[0].Record.ID)
		}
		if got := countRows(t, db, history); got != histBefore+1 {
			t.Errorf("history rows %d -> %d; only the valid input may write history", histBefore, got)
		}
	})

	t.Run("duplicate fails whole batch", func(t *testing.T) {
		before := countRecords(t, db, "contacts")
		_, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{
			{Properties: props("email", "seven@example.com")},
			{Properties: props("email", "ONE@example.com")},
		}, apiSrc)
		if code(err) != spoke.ECONFLICT || !strings.Contains(spoke.ErrorMessage(err), "Existing ID: ") {
			t.Fatalf("err = %v", err)
		}
		if after := countRecords(t, db, "contacts"); after != before {
			t.Errorf("contacts %d -> %d after a conflicting batch", before, after)
		}
	})

	t.Run("duplicate within one batch", func(t *testing.T) {
		_, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{
			{Properties: props("email", "eight@example.com")},
			{Properties: props("email", "Eight@Example.com")},
		}, apiSrc)
		if code(err) != spoke.ECONFLICT {
			t.Fatalf("err = %v", err)
		}
	})
}

func errOrNil(e *spoke.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func testUniqueEmail(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "contacts", props("email", "a@example.com"))
	b := create(t, db, acct, "contacts", props("email", "b@example.com"))
	// Changing b's email to a's (other case) conflicts.
	res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(b.ID, 10), Properties: props("email", "A@EXAMPLE.COM")}}, apiSrc)
	if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.ECONFLICT || !strings.Contains(res[0].Err.Message, fmt.Sprintf("Existing ID: %d", a.ID)) {
		t.Fatalf("update to taken email: %v %+v", err, res)
	}
	// Changing a's own email's case is fine.
	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(a.ID, 10), Properties: props("email", "A@Example.com")})
	// Companies have no unique property.
	create(t, db, acct, "companies", props("name", "x"))
	create(t, db, acct, "companies", props("name", "x"))
	// Archiving frees the email.
	if err := db.ArchiveRecords(ctx, acct, "contacts", []string{strconv.FormatInt(a.ID, 10)}); err != nil {
		t.Fatal(err)
	}
	c := create(t, db, acct, "contacts", props("email", "a@example.com"))
	if c.ID == a.ID {
		t.Fatal("id reused")
	}
	// Clearing an email frees it too, and contacts without email are allowed.
	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(b.ID, 10), Properties: props("email", "")})
	create(t, db, acct, "contacts", props("email", "b@example.com"))
	create(t, db, acct, "contacts", props("firstname", "no email"))
	create(t, db, acct, "contacts", props("firstname", "no email either"))
}

func testUpsert(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	res := mustWrite(t, db, acct, "contacts", spoke.WriteUpsert,
		spoke.RecordInput{ID: "up@example.com", IDProperty: "email", Properties: props("firstname", "One")})
	if !res[0].New || res[0].Record.Properties["email"] != "up@example.com" || res[0].Record.Properties["firstname"] != "One" {
		t.Fatalf("first upsert = %+v", res[0])
	}
	id := res[0].Record.ID
	res = mustWrite(t, db, acct, "contacts", spoke.WriteUpsert,
		spoke.RecordInput{ID: "UP@example.com", IDProperty: "email", Properties: props("firstname", "Two")},
		spoke.RecordInput{ID: "other@example.com", IDProperty: "email", Properties: props("firstname", "Three")},
		spoke.RecordInput{ID: strconv.FormatInt(id, 10), Properties: props("lastname", "ById")})
	if res[0].New || res[0].Record.ID != id || res[0].Record.Properties["firstname"] != "Two" {
		t.Fatalf("second upsert = %+v", res[0])
	}
	// Matching by email does not rewrite the email (its case) or its history.
	if got := res[0].Record.Properties["email"]; got != "up@example.com" {
		t.Errorf("upsert matched by UP@example.com changed the email to %q", got)
	}
	if h := get(t, db, acct, "contacts", strconv.FormatInt(id, 10), spoke.ReadOptions{WithHistory: []string{"email"}}).History["email"]; len(h) != 1 {
		t.Errorf("email history after upserts = %+v", h)
	}
	if !res[1].New || res[1].Record.ID == id {
		t.Fatalf("upsert of another email = %+v", res[1])
	}
	if res[2].New || res[2].Record.ID != id || res[2].Record.Properties["lastname"] != "ById" {
		t.Fatalf("upsert by id = %+v", res[2])
	}
	// The same email twice in one batch: created once, then updated.
	res = mustWrite(t, db, acct, "contacts", spoke.WriteUpsert,
		spoke.RecordInput{ID: "twice@example.com", IDProperty: "email", Properties: props("firstname", "A")},
		spoke.RecordInput{ID: "twice@example.com", IDProperty: "email", Properties: props("firstname", "B")})
	if !res[0].New || res[1].New || res[0].Record.ID != res[1].Record.ID || res[1].Record.Properties["firstname"] != "B" {
		t.Fatalf("twice = %+v / %+v", res[0], res[1])
	}
}

func testArchive(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "deals", props("dealname", "A"))
	b := create(t, db, acct, "deals", props("dealname", "B"))
	ida, idb := strconv.FormatInt(a.ID, 10), strconv.FormatInt(b.ID, 10)
	if err := db.ArchiveRecords(ctx, acct, "deals", []string{ida, "nope", "999999"}); err != nil {
		t.Fatal(err)
	}
	if r := get(t, db, acct, "deals", ida, spoke.ReadOptions{}); r != nil {
		t.Fatalf("archived deal still live: %+v", r)
	}
	r := get(t, db, acct, "deals", ida, spoke.ReadOptions{Archived: true})
	if r == nil || !r.Archived || r.ArchivedAt.IsZero() {
		t.Fatalf("archived read = %+v", r)
	}
	// Archiving a deal through another type does nothing.
	if err := db.ArchiveRecords(ctx, acct, "contacts", []string{idb}); err != nil {
		t.Fatal(err)
	}
	if get(t, db, acct, "deals", idb, spoke.ReadOptions{}) == nil {
		t.Fatal("archive through the wrong type archived the deal")
	}
	// A deal is not a contact.
	if get(t, db, acct, "contacts", idb, spoke.ReadOptions{}) != nil {
		t.Fatal("deal read as a contact")
	}
	// Updating an archived record is not found.
	res, err := db.WriteRecords(ctx, acct, "deals", spoke.WriteUpdate, []spoke.RecordInput{{ID: ida, Properties: props("dealname", "x")}}, apiSrc)
	if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.ENOTFOUND {
		t.Fatalf("update archived = %v %+v", err, res)
	}
	// Lists.
	live, more, err := db.ListRecords(ctx, acct, "deals", spoke.ListOptions{Limit: 10})
	if err != nil || more || len(live) != 1 || live[0].ID != b.ID {
		t.Fatalf("live list = %v %v %v", live, more, err)
	}
	arch, _, err := db.ListRecords(ctx, acct, "deals", spoke.ListOptions{Limit: 10, Archived: true})
	if err != nil || len(arch) != 1 || arch[0].ID != a.ID {
		t.Fatalf("archived list = %v %v", arch, err)
	}
	// Archived records are not searchable.
	sr, err := db.SearchRecords(ctx, acct, "deals", spoke.SearchRequest{})
	if err != nil || sr.Total != 1 {
		t.Fatalf("search after archive = %+v %v", sr, err)
	}
}

func testListPaging(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	var inputs []spoke.RecordInput
	for i := 0; i < 25; i++ {
		inputs = append(inputs, spoke.RecordInput{Properties: props("subject", fmt.Sprint("t", i))})
	}
	mustWrite(t, db, acct, "tickets", spoke.WriteCreate, inputs...)
	var all []int64
	var after int64
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		recs, more, err := db.ListRecords(ctx, acct, "tickets", spoke.ListOptions{Limit: 10, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			all = append(all, r.ID)
		}
		if !more {
			break
		}
		after = recs[len(recs)-1].ID
	}
	if len(all) != 25 {
		t.Fatalf("paged %d records, want 25", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("ids not increasing: %v", all)
		}
	}
}

func testListOnly(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	a := create(t, db, acct, "contacts", props("email", "o1@example.com", "firstname", "Ada", "lastname", "it's \"quoted\""))
	create(t, db, acct, "contacts", props("email", "o2@example.com"))
	recs, more, err := db.ListRecords(ctx, acct, "contacts", spoke.ListOptions{Limit: 10, Only: []string{"firstname", "lastname", "hs_object_id", "no'such"}})
	if err != nil || more || len(recs) != 2 {
		t.Fatalf("ListRecords = %d records, more %v, %v", len(recs), more, err)
	}
	if got := recs[0].Properties; len(got) != 2 || got["firstname"] != "Ada" || got["lastname"] != `it's "quoted"` {
		t.Errorf("first record's properties = %v, want firstname and lastname only", got)
	}
	if len(recs[1].Properties) != 0 {
		t.Errorf("second record's properties = %v, want none", recs[1].Properties)
	}
	ct, _ := spoke.LookupObjectType("contacts")
	if v, _ := recs[0].Value(ct, "hs_object_id"); v != fmt.Sprint(a.ID) || !recs[0].CreatedAt.Equal(a.CreatedAt) || recs[0].Version != a.Version {
		t.Errorf("computed and column values = %q %v %d, want %d %v %d", v, recs[0].CreatedAt, recs[0].Version, a.ID, a.CreatedAt, a.Version)
	}
}

func testHistory(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	r := create(t, db, acct, "contacts", props("email", "h@example.com", "firstname", "A"))
	id := strconv.FormatInt(r.ID, 10)
	flow := spoke.WriteSource{Type: spoke.SourceAutomation, ID: "flow-9", EnrollmentID: "enr-3"}
	write := func(src spoke.WriteSource, p map[string]string) {
		t.Helper()
		res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: id, Properties: p}}, src)
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res[0].Err)
		}
	}
	write(flow, props("firstname", "B"))
	write(apiSrc, props("firstname", "B"))                    // unchanged: no entry
	write(apiSrc, props("lastname", ""))                      // clearing an unset property: no entry
	write(apiSrc, props("firstname", "", "lastname", "Last")) // clear and set
	write(flow, props("firstname", "C"))

	got := get(t, db, acct, "contacts", id, spoke.ReadOptions{WithHistory: []string{"firstname", "lastname", "jobtitle"}})
	type entry struct{ value, typ, src, enr string }
	var fh []entry
	for _, h := range got.History["firstname"] {
		fh = append(fh, entry{h.Value, h.SourceType, h.SourceID, h.EnrollmentID})
	}
	want := []entry{
		{"C", spoke.SourceAutomation, "flow-9", "enr-3"},
		{"", spoke.SourceAPI, "7", ""},
		{"B", spoke.SourceAutomation, "flow-9", "enr-3"},
		{"A", spoke.SourceAPI, "7", ""},
	}
	if fmt.Sprint(fh) != fmt.Sprint(want) {
		t.Errorf("firstname history =\n %v\nwant\n %v", fh, want)
	}
	hist := got.History["firstname"]
	for i := 1; i < len(hist); i++ {
		if hist[i].Timestamp.After(hist[i-1].Timestamp) {
			t.Errorf("history not newest first: %v", hist)
		}
	}
	if l := got.History["lastname"]; len(l) != 1 || l[0].Value != "Last" {
		t.Errorf("lastname history = %+v", l)
	}
	if j := got.History["jobtitle"]; len(j) != 0 {
		t.Errorf("jobtitle history = %+v", j)
	}
	if got.History["email"] != nil {
		t.Errorf("history of an unrequested property loaded")
	}
	// History is loaded by list too.
	recs, _, err := db.ListRecords(ctx, acct, "contacts", spoke.ListOptions{Limit: 5, WithHistory: []string{"firstname"}})
	if err != nil || len(recs) != 1 || len(recs[0].History["firstname"]) != 4 {
		t.Fatalf("list with history = %v %v", recs, err)
	}
	// The full log, oldest first.
	all, err := db.History(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].Timestamp.After(all[len(all)-1].Timestamp) {
		t.Fatalf("History = %+v", all)
	}
}

func testStringifiedNumbersAndCanonicalValues(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	r := create(t, db, acct, "deals", props("amount", " 100.5 ", "closedate", "1704153600000", "dealstage", "closedwon"))
	if r.Properties["amount"] != "100.5" || r.Properties["closedate"] != "2024-01-02T00:00:00.000Z" {
		t.Fatalf("stored %v", r.Properties)
	}
}

func testCustomUniqueProperty(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	AddProperty(t, db, acct, spoke.Property{ObjectType: "companies", Name: "ext_id", Label: "External id", Type: spoke.TypeString, GroupName: "companyinformation", HasUniqueValue: true})
	a := create(t, db, acct, "companies", props("ext_id", "A1", "name", "A"))
	b := create(t, db, acct, "companies", props("ext_id", "B2", "name", "B"))
	// Create with a taken value fails the call.
	_, err := db.WriteRecords(ctx, acct, "companies", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("ext_id", "A1")}}, apiSrc)
	if code(err) != spoke.ECONFLICT || !strings.Contains(spoke.ErrorMessage(err), fmt.Sprintf("Existing ID: %d", a.ID)) {
		t.Fatalf("duplicate create: %v", err)
	}
	// Update to a taken value fails the input.
	res, err := db.WriteRecords(ctx, acct, "companies", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(b.ID, 10), Properties: props("ext_id", "A1")}}, apiSrc)
	if err != nil || res[0].Err == nil || res[0].Err.Code != spoke.ECONFLICT {
		t.Fatalf("duplicate update: %v %+v", err, res)
	}
	// Rewriting one's own value is fine; upsert by the property finds the record.
	mustWrite(t, db, acct, "companies", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(a.ID, 10), Properties: props("ext_id", "A1", "name", "A2")})
	res = mustWrite(t, db, acct, "companies", spoke.WriteUpsert, spoke.RecordInput{ID: "B2", IDProperty: "ext_id", Properties: props("name", "B3")})
	if res[0].New || res[0].Record.ID != b.ID {
		t.Fatalf("upsert by ext_id = %+v", res[0])
	}
	res = mustWrite(t, db, acct, "companies", spoke.WriteUpsert, spoke.RecordInput{ID: "C3", IDProperty: "ext_id", Properties: props("name", "C")})
	if !res[0].New || res[0].Record.Properties["ext_id"] != "C3" {
		t.Fatalf("upsert new by ext_id = %+v", res[0])
	}
	// Archiving frees the value.
	if err := db.ArchiveRecords(ctx, acct, "companies", []string{strconv.FormatInt(a.ID, 10)}); err != nil {
		t.Fatal(err)
	}
	create(t, db, acct, "companies", props("ext_id", "A1"))
}

// TestBatchCreateInsertsTogether checks the multi-row insert of new
// records: every input gets its own record, ids follow the input order,
// what is stored is what each input said, history is written, and inputs
// with associations (inserted one at a time) keep their place.
func testBatchCreateInsertsTogether(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	company := create(t, db, acct, "companies", props("name", "Acme"))
	var inputs []spoke.RecordInput
	for i := 0; i < 45; i++ { // 32 + 8 + 1×5 rows per statement
		in := spoke.RecordInput{Properties: props("email", fmt.Sprintf("b%d@example.com", i), "firstname", fmt.Sprint("F", i), "lastname", "")}
		if i == 20 {
			in.Associations = []spoke.AssociationInput{{ToID: fmt.Sprint(company.ID), Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: 279}}}}
		}
		inputs = append(inputs, in)
	}
	res := mustWrite(t, db, acct, "contacts", spoke.WriteCreate, inputs...)
	seen := map[int64]bool{}
	for i, r := range res {
		if !r.New || r.Record == nil || seen[r.Record.ID] {
			t.Fatalf("input %d: %+v", i, r)
		}
		seen[r.Record.ID] = true
		got := get(t, db, acct, "contacts", fmt.Sprint(r.Record.ID), spoke.ReadOptions{})
		if got == nil || got.Properties["email"] != fmt.Sprintf("b%d@example.com", i) || got.Properties["firstname"] != fmt.Sprint("F", i) {
			t.Fatalf("input %d stored as %+v", i, got)
		}
		if _, set := got.Properties["lastname"]; set {
			t.Errorf("input %d stored an empty lastname", i)
		}
		if i > 0 && r.Record.ID <= res[i-1].Record.ID {
			t.Errorf("ids out of input order: %d then %d", res[i-1].Record.ID, r.Record.ID)
		}
		hist, err := db.History(ctx, r.Record.ID)
		if err != nil || len(hist) != 2 {
			t.Errorf("input %d history: %v %v", i, hist, err)
		}
	}
	links, _, err := db.ListAssociations(ctx, acct, "contacts", res[20].Record.ID, "companies", 0, 10)
	if err != nil || len(links) != 1 || links[0].ToID != company.ID {
		t.Errorf("input 20's association: %+v %v", links, err)
	}
}

// TestBatchFlushesBeforeUpdate checks that an update sees the new records
// queued before it in the same call: giving an existing record the email of
// a record the call just created fails that input as a duplicate, as it
// would if the new record had been inserted at its own input, and the rest
// of the call is written.
func testBatchFlushesBeforeUpdate(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	old := create(t, db, acct, "contacts", props("email", "old@example.com"))
	res, err := db.WriteRecords(context.Background(), acct, "contacts", spoke.WriteUpsert, []spoke.RecordInput{
		{ID: "new@example.com", IDProperty: "email", Properties: props("firstname", "New")},
		{ID: "old@example.com", IDProperty: "email", Properties: props("email", "NEW@example.com")},
		{ID: "later@example.com", IDProperty: "email", Properties: props("firstname", "Later")},
	}, apiSrc)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].New || res[0].Record == nil {
		t.Fatalf("input 0 = %+v", res[0])
	}
	if res[1].Err == nil || res[1].Err.Code != spoke.ECONFLICT || !strings.Contains(res[1].Err.Message, fmt.Sprintf("Existing ID: %d", res[0].Record.ID)) {
		t.Fatalf("input 1 = %+v", res[1])
	}
	if !res[2].New || res[2].Record == nil || res[2].Record.ID <= res[0].Record.ID {
		t.Fatalf("input 2 = %+v", res[2])
	}
	if r := get(t, db, acct, "contacts", strconv.FormatInt(old.ID, 10), spoke.ReadOptions{}); r.Properties["email"] != "old@example.com" {
		t.Errorf("the failed update changed the email to %q", r.Properties["email"])
	}
}
