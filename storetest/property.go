package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"PropertyValueValidation", testPropertyValueValidation},
		test{"PropertyCRUD", testPropertyCRUD},
		test{"PropertyGroups", testPropertyGroups},
	)
}

// AddProperty creates a custom property or fails the test.
func AddProperty(t *testing.T, db spoke.PropertyService, acct int64, p spoke.Property) *spoke.Property {
	t.Helper()
	if p.GroupName == "" {
		t.Fatal("no group")
	}
	got, err := db.CreateProperty(context.Background(), acct, &p)
	if err != nil {
		t.Fatalf("CreateProperty(%s): %v", p.Name, err)
	}
	return got
}

func opts(values ...string) []spoke.Option {
	var out []spoke.Option
	for i, v := range values {
		out = append(out, spoke.Option{Label: strings.ToUpper(v), Value: v, DisplayOrder: i})
	}
	return out
}

// TypedProperties creates custom contact properties of every type (score,
// vip, birthday, seen_at, tier, tags, pager, nickname), which the search
// tests filter on.
func TypedProperties(t *testing.T, db spoke.PropertyService, acct int64) {
	t.Helper()
	g := "contactinformation"
	for _, p := range []spoke.Property{
		{ObjectType: "contacts", Name: "score", Label: "Score", Type: spoke.TypeNumber, GroupName: g},
		{ObjectType: "contacts", Name: "vip", Label: "VIP", Type: spoke.TypeBool, FieldType: "booleancheckbox", GroupName: g},
		{ObjectType: "contacts", Name: "birthday", Label: "Birthday", Type: spoke.TypeDate, GroupName: g},
		{ObjectType: "contacts", Name: "seen_at", Label: "Seen", Type: spoke.TypeDateTime, GroupName: g},
		{ObjectType: "contacts", Name: "tier", Label: "Tier", Type: spoke.TypeEnumeration, FieldType: "select", GroupName: g, Options: opts("gold", "silver", "bronze")},
		{ObjectType: "contacts", Name: "tags", Label: "Tags", Type: spoke.TypeEnumeration, FieldType: "checkbox", GroupName: g, Options: opts("a", "b", "c")},
		{ObjectType: "contacts", Name: "pager", Label: "Pager", Type: spoke.TypePhoneNumber, GroupName: g},
		{ObjectType: "contacts", Name: "nickname", Label: "Nickname", Type: spoke.TypeString, GroupName: g},
	} {
		AddProperty(t, db, acct, p)
	}
}

func testPropertyValueValidation(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	TypedProperties(t, db, acct)
	ctx := context.Background()
	tests := []struct {
		prop, value string
		want        string // stored value when valid
		errCode     string // HubSpot error code when invalid
		msg         string
	}{
		{"score", "42", "42", "", ""},
		{"score", "-3.5", "-3.5", "", ""},
		{"score", " 7 ", "7", "", ""},
		{"score", "1e3", "1e3", "", ""},
		{"score", "abc", "", "INVALID_DOUBLE", "was not a valid number"},
		{"score", "NaN", "", "INVALID_DOUBLE", ""},
		{"score", "Inf", "", "INVALID_DOUBLE", ""},
		{"score", "1e999", "", "INVALID_DOUBLE", ""},
		{"score", "0x1p4", "", "INVALID_DOUBLE", ""},
		{"score", "1_000", "", "INVALID_DOUBLE", ""},
		{"vip", "true", "true", "", ""},
		{"vip", "FALSE", "false", "", ""},
		{"vip", "yes", "true", "", ""},
		{"vip", "0", "false", "", ""},
		{"vip", "maybe", "", "INVALID_BOOLEAN", ""},
		{"birthday", "2024-02-29", "2024-02-29", "", ""},
		{"birthday", "1704153600000", "2024-01-02", "", ""},
		{"birthday", "2024-01-02T00:00:00Z", "2024-01-02", "", ""},
		{"birthday", "1521225089103", "", "INVALID_DATE", "1521225089103 is at 18:31:29.103 UTC, not midnight!"},
		{"birthday", "2024-01-02T10:00:00Z", "", "INVALID_DATE", "not midnight"},
		{"birthday", "2023-02-29", "", "INVALID_DATE", ""},
		{"birthday", "yesterday", "", "INVALID_DATE", ""},
		{"seen_at", "2024-01-02T03:04:05.678Z", "2024-01-02T03:04:05.678Z", "", ""},
		{"seen_at", "2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05.000Z", "", ""},
		{"seen_at", "1704164645678", "2024-01-02T03:04:05.678Z", "", ""},
		{"seen_at", "2024-01-02", "2024-01-02T00:00:00.000Z", "", ""},
		{"seen_at", "soon", "", "INVALID_DATETIME", ""},
		{"seen_at", "99999999999999999", "", "INVALID_DATETIME", "out of range"},
		{"seen_at", "-99999999999999", "", "INVALID_DATETIME", "out of range"},
		{"seen_at", "253402300799999", "9999-12-31T23:59:59.999Z", "", ""},
		{"birthday", "8640000000000000", "", "INVALID_DATE", "out of range"},
		{"tier", "gold", "gold", "", ""},
		{"tier", "GOLD", "", "INVALID_OPTION", "allowed options"},
		{"tier", "gold;silver", "", "INVALID_OPTION", "takes only one"},
		{"tier", "platinum", "", "INVALID_OPTION", ""},
		{"tags", "a;c", "a;c", "", ""},
		{"tags", "b", "b", "", ""},
		{"tags", "a;d", "", "INVALID_OPTION", `"d"`},
		{"tags", "a;", "", "INVALID_OPTION", ""},
		{"lifecyclestage", "lead", "lead", "", ""},
		{"lifecyclestage", "prospect", "", "INVALID_OPTION", ""},
		{"pager", "+1 (555) 010-9999 ext 12", "+1 (555) 010-9999 ext 12", "", ""},
		{"pager", "call me", "", "INVALID_PHONE_NUMBER", ""},
		{"phone", "555-0100", "555-0100", "", ""},
		{"phone", "<script>", "", "INVALID_PHONE_NUMBER", ""},
		{"email", "x@example.com", "x@example.com", "", ""},
		{"email", "example.lcom", "", "INVALID_EMAIL", "Email address example.lcom is invalid"},
		{"email", "a@b", "", "INVALID_EMAIL", ""},
		{"email", "Ada <ada@example.com>", "", "INVALID_EMAIL", ""},
		{"email", "a b@example.com", "", "INVALID_EMAIL", ""},
		{"nickname", strings.Repeat("x", 65537), "", "INVALID_LENGTH", ""},
		{"nickname", "anything at all ✓", "anything at all ✓", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.prop+"="+truncateForName(tc.value), func(t *testing.T) {
			res, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: props(tc.prop, tc.value)}}, apiSrc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.errCode == "" {
				if res[0].Err != nil {
					t.Fatalf("rejected: %v", res[0].Err)
				}
				if got := res[0].Record.Properties[tc.prop]; got != tc.want {
					t.Fatalf("stored %q, want %q", got, tc.want)
				}
				return
			}
			e := res[0].Err
			if e == nil {
				t.Fatalf("accepted as %q", res[0].Record.Properties[tc.prop])
			}
			if e.Code != spoke.EINVALID || !strings.Contains(e.Message, `"error":"`+tc.errCode+`"`) || !strings.Contains(e.Message, `"name":"`+tc.prop+`"`) {
				t.Fatalf("error %q, want %s naming %s", e.Message, tc.errCode, tc.prop)
			}
			if tc.msg != "" && !strings.Contains(e.Message, jsonEscape(tc.msg)) {
				t.Fatalf("error %q lacks %q", e.Message, tc.msg)
			}
		})
	}
}

func jsonEscape(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }

func truncateForName(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func testPropertyCRUD(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()

	// Built-ins are listed and read-only.
	all, err := db.ListProperties(ctx, acct, "contacts", false)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*spoke.Property{}
	for _, p := range all {
		names[p.Name] = p
	}
	for _, n := range []string{"email", "firstname", "lastname", "phone", "company", "website", "jobtitle", "lifecyclestage", "hs_lead_status", "country", "city", "hs_object_id", "createdate", "lastmodifieddate"} {
		if names[n] == nil || !names[n].HubspotDefined {
			t.Errorf("built-in %s missing", n)
		}
	}
	if !names["email"].HasUniqueValue || !names["hs_object_id"].ReadOnlyValue {
		t.Errorf("email unique %v, hs_object_id read-only %v", names["email"].HasUniqueValue, names["hs_object_id"].ReadOnlyValue)
	}
	if _, err := db.UpdateProperty(ctx, acct, "contacts", "email", spoke.PropertyUpdate{Label: ptr("E")}); code(err) != spoke.EINVALID {
		t.Errorf("update built-in: %v", err)
	}
	if err := db.ArchiveProperty(ctx, acct, "contacts", "email"); code(err) != spoke.EINVALID {
		t.Errorf("archive built-in: %v", err)
	}
	if _, err := db.GetProperty(ctx, acct, "contacts", "nope"); code(err) != spoke.ENOTFOUND || !strings.Contains(spoke.ErrorMessage(err), "nope") {
		t.Errorf("get unknown: %v", err)
	}

	// Create, conflict, invalid definitions.
	p := AddProperty(t, db, acct, spoke.Property{ObjectType: "0-1", Name: "favorite_color", Label: "Color", Type: spoke.TypeEnumeration, FieldType: "select", GroupName: "contactinformation", Options: opts("red", "blue")})
	if p.ObjectType != "contacts" || p.HubspotDefined || p.CreatedAt.IsZero() {
		t.Errorf("created %+v", p)
	}
	bad := []spoke.Property{
		{Name: "favorite_color", Label: "x", Type: spoke.TypeString, GroupName: "contactinformation"},
		{Name: "email", Label: "x", Type: spoke.TypeString, GroupName: "contactinformation"},
		{Name: "Bad Name", Label: "x", Type: spoke.TypeString, GroupName: "contactinformation"},
		{Name: "1abc", Label: "x", Type: spoke.TypeString, GroupName: "contactinformation"},
		{Name: "nolabel", Type: spoke.TypeString, GroupName: "contactinformation"},
		{Name: "badtype", Label: "x", Type: "money", GroupName: "contactinformation"},
		{Name: "badfield", Label: "x", Type: spoke.TypeNumber, FieldType: "select", GroupName: "contactinformation"},
		{Name: "noopts", Label: "x", Type: spoke.TypeEnumeration, FieldType: "select", GroupName: "contactinformation"},
		{Name: "dupopts", Label: "x", Type: spoke.TypeEnumeration, FieldType: "select", GroupName: "contactinformation", Options: []spoke.Option{{Label: "a", Value: "a"}, {Label: "b", Value: "a"}}},
		{Name: "nogroup", Label: "x", Type: spoke.TypeString, GroupName: "no_such_group"},
		{Name: "emptygroup", Label: "x", Type: spoke.TypeString},
	}
	wantCodes := []string{spoke.ECONFLICT, spoke.ECONFLICT}
	for i, b := range bad {
		b.ObjectType = "contacts"
		_, err := db.CreateProperty(ctx, acct, &b)
		want := spoke.EINVALID
		if i < len(wantCodes) {
			want = wantCodes[i]
		}
		if code(err) != want {
			t.Errorf("create %s: %v, want %s", b.Name, err, want)
		}
	}
	// Computed names of the other types are reserved too: they could never be written.
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "hs_lastmodifieddate", Label: "x", Type: "string", GroupName: "contactinformation"}); code(err) != spoke.ECONFLICT {
		t.Errorf("create hs_lastmodifieddate on contacts: %v", err)
	}
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "deals", Name: "lastmodifieddate", Label: "x", Type: "string", GroupName: "dealinformation"}); code(err) != spoke.ECONFLICT {
		t.Errorf("create lastmodifieddate on deals: %v", err)
	}
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "widgets", Name: "x", Label: "x", Type: "string", GroupName: "g"}); code(err) != spoke.EINVALID {
		t.Errorf("create on unknown type: %v", err)
	}

	// The new property can be written and read.
	r := create(t, db, acct, "contacts", props("favorite_color", "red"))
	if r.Properties["favorite_color"] != "red" {
		t.Fatal(r.Properties)
	}

	// Update.
	up, err := db.UpdateProperty(ctx, acct, "contacts", "favorite_color", spoke.PropertyUpdate{Label: ptr("Favourite"), Options: &[]spoke.Option{{Label: "Red", Value: "red"}, {Label: "Green", Value: "green"}}})
	if err != nil || up.Label != "Favourite" || len(up.Options) != 2 {
		t.Fatalf("update: %+v %v", up, err)
	}
	got, err := db.GetProperty(ctx, acct, "contacts", "favorite_color")
	if err != nil || got.Label != "Favourite" {
		t.Fatalf("get after update: %+v %v", got, err)
	}
	res, _ := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("favorite_color", "blue")}}, apiSrc)
	if res[0].Err == nil {
		t.Error("removed option still accepted")
	}
	if _, err := db.UpdateProperty(ctx, acct, "contacts", "favorite_color", spoke.PropertyUpdate{Type: ptr("number")}); err != nil {
		t.Errorf("change type with default field type: %v", err)
	}
	if _, err := db.UpdateProperty(ctx, acct, "contacts", "favorite_color", spoke.PropertyUpdate{GroupName: ptr("missing")}); code(err) != spoke.EINVALID {
		t.Errorf("update to a missing group: %v", err)
	}
	if _, err := db.UpdateProperty(ctx, acct, "contacts", "nope", spoke.PropertyUpdate{}); code(err) != spoke.ENOTFOUND {
		t.Errorf("update unknown: %v", err)
	}

	// Archive.
	if err := db.ArchiveProperty(ctx, acct, "contacts", "favorite_color"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetProperty(ctx, acct, "contacts", "favorite_color"); code(err) != spoke.ENOTFOUND {
		t.Errorf("get archived: %v", err)
	}
	arch, err := db.ListProperties(ctx, acct, "contacts", true)
	if err != nil || len(arch) != 1 || arch[0].Name != "favorite_color" || !arch[0].Archived {
		t.Errorf("archived list = %+v %v", arch, err)
	}
	res, _ = db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("favorite_color", "1")}}, apiSrc)
	if res[0].Err == nil || !strings.Contains(res[0].Err.Message, "PROPERTY_DOESNT_EXIST") {
		t.Errorf("write to archived property: %+v", res[0])
	}
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "favorite_color", Label: "x", Type: "string", GroupName: "contactinformation"}); code(err) != spoke.ECONFLICT {
		t.Errorf("recreate archived name: %v", err)
	}
	if err := db.ArchiveProperty(ctx, acct, "contacts", "favorite_color"); code(err) != spoke.ENOTFOUND {
		t.Errorf("archive twice: %v", err)
	}
	// Properties are per object type.
	if _, err := db.GetProperty(ctx, acct, "companies", "favorite_color"); code(err) != spoke.ENOTFOUND {
		t.Errorf("contact property visible on companies: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func testPropertyGroups(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	groups, err := db.ListPropertyGroups(ctx, acct, "companies")
	if err != nil || len(groups) != len(spoke.BuiltinGroups(spoke.ObjectTypes[1])) || groups[0].Name != "companyinformation" {
		t.Fatalf("groups = %+v %v", groups, err)
	}
	if groups[0].Label != "Company information" {
		t.Errorf("built-in group label = %q", groups[0].Label)
	}
	g, err := db.CreatePropertyGroup(ctx, acct, &spoke.PropertyGroup{ObjectType: "0-2", Name: "finance", Label: "Finance", DisplayOrder: 3})
	if err != nil || g.ObjectType != "companies" {
		t.Fatalf("create group: %+v %v", g, err)
	}
	for _, bad := range []struct {
		g    spoke.PropertyGroup
		code string
	}{
		{spoke.PropertyGroup{ObjectType: "companies", Name: "finance", Label: "Again"}, spoke.ECONFLICT},
		{spoke.PropertyGroup{ObjectType: "companies", Name: "companyinformation", Label: "x"}, spoke.ECONFLICT},
		{spoke.PropertyGroup{ObjectType: "companies", Name: "analyticsinformation", Label: "x"}, spoke.ECONFLICT},
		{spoke.PropertyGroup{ObjectType: "companies", Name: "", Label: "x"}, spoke.EINVALID},
		{spoke.PropertyGroup{ObjectType: "companies", Name: "nolabel"}, spoke.EINVALID},
		{spoke.PropertyGroup{ObjectType: "things", Name: "x", Label: "x"}, spoke.EINVALID},
	} {
		if _, err := db.CreatePropertyGroup(ctx, acct, &bad.g); code(err) != bad.code {
			t.Errorf("create %+v: %v, want %s", bad.g, err, bad.code)
		}
	}
	// A property can go in the new group.
	AddProperty(t, db, acct, spoke.Property{ObjectType: "companies", Name: "budget", Label: "Budget", Type: spoke.TypeNumber, GroupName: "finance"})

	up, err := db.UpdatePropertyGroup(ctx, acct, "companies", "finance", spoke.PropertyGroupUpdate{Label: ptr("Money"), DisplayOrder: ptr(7)})
	if err != nil || up.Label != "Money" || up.DisplayOrder != 7 {
		t.Fatalf("update group: %+v %v", up, err)
	}
	got, err := db.GetPropertyGroup(ctx, acct, "companies", "finance")
	if err != nil || got.Label != "Money" || got.DisplayOrder != 7 {
		t.Fatalf("get group: %+v %v", got, err)
	}
	if _, err := db.UpdatePropertyGroup(ctx, acct, "companies", "companyinformation", spoke.PropertyGroupUpdate{Label: ptr("x")}); code(err) != spoke.EINVALID {
		t.Errorf("update built-in group: %v", err)
	}
	if _, err := db.UpdatePropertyGroup(ctx, acct, "companies", "nope", spoke.PropertyGroupUpdate{Label: ptr("x")}); code(err) != spoke.ENOTFOUND {
		t.Errorf("update missing group: %v", err)
	}
	if err := db.ArchivePropertyGroup(ctx, acct, "companies", "companyinformation"); code(err) != spoke.EINVALID {
		t.Errorf("archive built-in group: %v", err)
	}
	if err := db.ArchivePropertyGroup(ctx, acct, "companies", "finance"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetPropertyGroup(ctx, acct, "companies", "finance"); code(err) != spoke.ENOTFOUND {
		t.Errorf("get archived group: %v", err)
	}
	if err := db.ArchivePropertyGroup(ctx, acct, "companies", "finance"); code(err) != spoke.ENOTFOUND {
		t.Errorf("archive twice: %v", err)
	}
	// An archived group's name can be reused.
	if _, err := db.CreatePropertyGroup(ctx, acct, &spoke.PropertyGroup{ObjectType: "companies", Name: "finance", Label: "Finance 2"}); err != nil {
		t.Errorf("recreate archived group: %v", err)
	}
}
