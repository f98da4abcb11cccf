package storetest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"SearchOperators", testSearchOperators},
		test{"SearchOrAndQuery", testSearchOrAndQuery},
		test{"SearchSorts", testSearchSorts},
		test{"SearchCreateDateAndPaging", testSearchCreateDateAndPaging},
		test{"SearchErrors", testSearchErrors},
		test{"ContainsToken", testContainsToken},
	)
}

// searchFixture creates contacts whose custom properties make every
// operator's answer distinct. It returns the ids by first name.
func searchFixture(t *testing.T, open Opener) (*DB, int64, map[string]int64) {
	t.Helper()
	db, acct := setup(t, open)
	TypedProperties(t, db, acct)
	rows := []map[string]string{
		props("firstname", "Ada", "lastname", "Lovelace", "email", "ada@hubspot.com", "score", "9", "nickname", "9", "vip", "true", "birthday", "1815-12-10", "seen_at", "2024-01-01T00:00:00Z", "tier", "gold", "tags", "a;b", "jobtitle", "Chief Analyst"),
		props("firstname", "Bob", "lastname", "Byte", "email", "bob@example.com", "score", "10", "nickname", "10", "vip", "false", "birthday", "1990-01-01", "seen_at", "2024-06-01T12:00:00Z", "tier", "silver", "tags", "b"),
		props("firstname", "Cy", "lastname", "Cipher", "email", "cy@Example.com", "score", "100", "nickname", "100", "tier", "bronze", "jobtitle", "analyst-in-chief"),
		props("firstname", "Di", "lastname", "Data", "score", "-1.5", "nickname", "x", "jobtitle", "Chief"),
	}
	ids := map[string]int64{}
	for _, p := range rows {
		r := create(t, db, acct, "contacts", p)
		ids[p["firstname"]] = r.ID
	}
	return db, acct, ids
}

// names returns the first names of a result, in order.
func names(res *spoke.SearchResult) string {
	var out []string
	for _, r := range res.Records {
		out = append(out, r.Properties["firstname"])
	}
	return strings.Join(out, ",")
}

func sorted(s string) string {
	parts := strings.Split(s, ",")
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func f(name, op, value string) spoke.Filter {
	return spoke.Filter{PropertyName: name, Operator: op, Value: value}
}

func testSearchOperators(t *testing.T, open Opener) {
	db, acct, ids := searchFixture(t, open)
	ctx := context.Background()
	tests := []struct {
		name    string
		filters []spoke.Filter
		want    string
	}{
		{"EQ text case-insensitive", []spoke.Filter{f("lastname", "EQ", "lovelace")}, "Ada"},
		{"EQ email", []spoke.Filter{f("email", "EQ", "CY@example.COM")}, "Cy"},
		{"EQ number", []spoke.Filter{f("score", "EQ", "10.0")}, "Bob"},
		{"EQ bool", []spoke.Filter{f("vip", "EQ", "true")}, "Ada"},
		{"EQ bool yes", []spoke.Filter{f("vip", "EQ", "YES")}, "Ada"},
		{"EQ enum", []spoke.Filter{f("tier", "eq", "silver")}, "Bob"},
		{"EQ id", []spoke.Filter{f("hs_object_id", "EQ", strconv.FormatInt(ids["Di"], 10))}, "Di"},
		{"NEQ includes unset", []spoke.Filter{f("vip", "NEQ", "true")}, "Bob,Cy,Di"},
		{"NEQ number", []spoke.Filter{f("score", "NEQ", "9")}, "Bob,Cy,Di"},
		{"LT number", []spoke.Filter{f("score", "LT", "10")}, "Ada,Di"},
		{"LTE number", []spoke.Filter{f("score", "LTE", "10")}, "Ada,Bob,Di"},
		{"GT number", []spoke.Filter{f("score", "GT", "9")}, "Bob,Cy"},
		{"GTE number", []spoke.Filter{f("score", "GTE", "9")}, "Ada,Bob,Cy"},
		{"GT text is lexical", []spoke.Filter{f("nickname", "GT", "10")}, "Ada,Cy,Di"},
		{"LT date", []spoke.Filter{f("birthday", "LT", "1900-01-01")}, "Ada"},
		{"GT date epoch", []spoke.Filter{f("birthday", "GT", "0")}, "Bob"},
		{"GTE datetime epoch", []spoke.Filter{f("seen_at", "GTE", "1717243200000")}, "Bob"},
		{"LT datetime ISO", []spoke.Filter{f("seen_at", "LT", "2024-03-01T00:00:00Z")}, "Ada"},
		{"BETWEEN number", []spoke.Filter{{PropertyName: "score", Operator: "BETWEEN", Value: "9", HighValue: "10"}}, "Ada,Bob"},
		{"BETWEEN text", []spoke.Filter{{PropertyName: "lastname", Operator: "BETWEEN", Value: "b", HighValue: "czz"}}, "Bob,Cy"},
		{"IN", []spoke.Filter{{PropertyName: "tier", Operator: "IN", Values: []string{"gold", "bronze"}}}, "Ada,Cy"},
		{"IN number", []spoke.Filter{{PropertyName: "score", Operator: "IN", Values: []string{"100", "-1.5"}}}, "Cy,Di"},
		{"IN email", []spoke.Filter{{PropertyName: "email", Operator: "IN", Values: []string{"ADA@hubspot.com", "cy@example.com"}}}, "Ada,Cy"},
		{"NOT_IN includes unset", []spoke.Filter{{PropertyName: "tier", Operator: "NOT_IN", Values: []string{"gold", "bronze"}}}, "Bob,Di"},
		{"HAS_PROPERTY", []spoke.Filter{{PropertyName: "vip", Operator: "HAS_PROPERTY"}}, "Ada,Bob"},
		{"NOT_HAS_PROPERTY", []spoke.Filter{{PropertyName: "email", Operator: "NOT_HAS_PROPERTY"}}, "Di"},
		{"HAS_PROPERTY createdate", []spoke.Filter{{PropertyName: "createdate", Operator: "HAS_PROPERTY"}}, "Ada,Bob,Cy,Di"},
		{"CONTAINS_TOKEN word", []spoke.Filter{f("jobtitle", "CONTAINS_TOKEN", "chief")}, "Ada,Cy,Di"},
		{"CONTAINS_TOKEN no partial word", []spoke.Filter{f("jobtitle", "CONTAINS_TOKEN", "anal")}, ""},
		{"CONTAINS_TOKEN wildcard suffix", []spoke.Filter{f("email", "CONTAINS_TOKEN", "*@hubspot.com")}, "Ada"},
		{"CONTAINS_TOKEN wildcard prefix", []spoke.Filter{f("jobtitle", "CONTAINS_TOKEN", "anal*")}, "Ada,Cy"},
		{"CONTAINS_TOKEN wildcard middle", []spoke.Filter{f("email", "CONTAINS_TOKEN", "b*example.com")}, "Bob"},
		{"CONTAINS_TOKEN email part", []spoke.Filter{f("email", "CONTAINS_TOKEN", "example")}, "Bob,Cy"},
		{"NOT_CONTAINS_TOKEN includes unset", []spoke.Filter{f("jobtitle", "NOT_CONTAINS_TOKEN", "analyst")}, "Bob,Di"},
		{"NOT_CONTAINS_TOKEN wildcard", []spoke.Filter{f("email", "NOT_CONTAINS_TOKEN", "*example.com")}, "Ada,Di"},
		{"multi-select CONTAINS_TOKEN", []spoke.Filter{f("tags", "CONTAINS_TOKEN", "b")}, "Ada,Bob"},
		{"AND within group", []spoke.Filter{f("score", "GT", "0"), f("tier", "NEQ", "gold")}, "Bob,Cy"},
		{"operator lower case", []spoke.Filter{f("score", "gte", "100")}, "Cy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: tc.filters}}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := names(res)
			if got != "" {
				got = sorted(got)
			}
			if got != tc.want || res.Total != len(res.Records) {
				t.Fatalf("got %q (total %d), want %q", got, res.Total, tc.want)
			}
		})
	}
}

func testSearchOrAndQuery(t *testing.T, open Opener) {
	db, acct, _ := searchFixture(t, open)
	ctx := context.Background()
	res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{
		{Filters: []spoke.Filter{f("tier", "EQ", "gold")}},
		{Filters: []spoke.Filter{f("score", "LT", "0")}},
		{Filters: []spoke.Filter{f("tier", "EQ", "gold"), f("score", "EQ", "9")}}, // overlaps: no duplicate
	}})
	if err != nil || sorted(names(res)) != "Ada,Di" || res.Total != 2 {
		t.Fatalf("OR of groups = %q %d %v", names(res), res.Total, err)
	}
	for q, want := range map[string]string{"LOVE": "Ada", "example.com": "Bob,Cy", "BYTE": "Bob", "nobody": ""} {
		res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); (got != "" && sorted(got) != want) || (got == "" && want != "") {
			t.Errorf("query %q = %q, want %q", q, got, want)
		}
	}
	// Query and filters AND together.
	res, err = db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Query: "example", FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f("tier", "EQ", "silver")}}}})
	if err != nil || names(res) != "Bob" {
		t.Errorf("query+filter = %q %v", names(res), err)
	}
	// An empty request returns everything.
	res, err = db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{})
	if err != nil || res.Total != 4 || len(res.Records) != 4 {
		t.Errorf("empty search = %+v %v", res, err)
	}
}

func testSearchSorts(t *testing.T, open Opener) {
	db, acct, _ := searchFixture(t, open)
	ctx := context.Background()
	tests := []struct {
		sorts []spoke.Sort
		want  string
	}{
		{[]spoke.Sort{{PropertyName: "score"}}, "Di,Ada,Bob,Cy"},
		{[]spoke.Sort{{PropertyName: "score", Descending: true}}, "Cy,Bob,Ada,Di"},
		{[]spoke.Sort{{PropertyName: "nickname"}}, "Bob,Cy,Ada,Di"}, // text: "10" < "100" < "9" < "x"
		{[]spoke.Sort{{PropertyName: "nickname", Descending: true}}, "Di,Ada,Cy,Bob"},
		{[]spoke.Sort{{PropertyName: "hs_object_id", Descending: true}}, "Di,Cy,Bob,Ada"},
		{[]spoke.Sort{{PropertyName: "createdate", Descending: true}}, "Di,Cy,Bob,Ada"},
		{[]spoke.Sort{{PropertyName: "lastmodifieddate"}}, "Ada,Bob,Cy,Di"},
		{[]spoke.Sort{{PropertyName: "lastname"}}, "Bob,Cy,Di,Ada"},
		{[]spoke.Sort{{PropertyName: "birthday", Descending: true}}, "Bob,Ada,Cy,Di"},
	}
	for _, tc := range tests {
		res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Sorts: tc.sorts})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); got != tc.want {
			t.Errorf("sort %+v = %q, want %q", tc.sorts, got, tc.want)
		}
	}
}

func testSearchCreateDateAndPaging(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var n int
	db.SetNow(func() time.Time { n++; return base.Add(time.Duration(n) * time.Hour) })
	for i := 1; i <= 25; i++ {
		create(t, db, acct, "companies", props("name", fmt.Sprintf("c%02d", i)))
	}
	ms := func(h int) string { return strconv.FormatInt(base.Add(time.Duration(h)*time.Hour).UnixMilli(), 10) }
	res, err := db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{Limit: 100, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{
		{PropertyName: "createdate", Operator: "BETWEEN", Value: ms(3), HighValue: ms(5)}}}}})
	if err != nil || names2(res) != "c03,c04,c05" {
		t.Fatalf("createdate BETWEEN = %q %v", names2(res), err)
	}
	res, err = db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{Limit: 100, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{
		f("createdate", "GT", ms(23)), f("hs_lastmodifieddate", "LTE", base.Add(25*time.Hour).Format(time.RFC3339))}}}})
	if err != nil || names2(res) != "c24,c25" {
		t.Fatalf("createdate GT = %q %v", names2(res), err)
	}
	res, err = db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{Limit: 100, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{
		f("createdate", "EQ", ms(7))}}}})
	if err != nil || names2(res) != "c07" {
		t.Fatalf("createdate EQ = %q %v", names2(res), err)
	}

	// Paging: 25 results, 10 a page, sorted descending by name.
	var got []string
	after := 0
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		res, err := db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{Limit: 10, After: after, Sorts: []spoke.Sort{{PropertyName: "name", Descending: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 25 {
			t.Fatalf("total = %d", res.Total)
		}
		for _, r := range res.Records {
			got = append(got, r.Properties["name"])
		}
		if res.Next == 0 {
			break
		}
		after = res.Next
	}
	if len(got) != 25 || got[0] != "c25" || got[24] != "c01" {
		t.Fatalf("paged %v", got)
	}
	// Past the end.
	res, err = db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{After: 30})
	if err != nil || len(res.Records) != 0 || res.Total != 25 || res.Next != 0 {
		t.Fatalf("after the end = %+v %v", res, err)
	}
	// Limits.
	if res, err := db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{Limit: 200}); err != nil || len(res.Records) != 25 {
		t.Fatalf("limit 200: %v", err)
	}
	if res, _ := db.SearchRecords(ctx, acct, "companies", spoke.SearchRequest{}); len(res.Records) != 10 {
		t.Fatalf("default limit gave %d", len(res.Records))
	}
}

func names2(res *spoke.SearchResult) string {
	var out []string
	for _, r := range res.Records {
		out = append(out, r.Properties["name"])
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func testSearchErrors(t *testing.T, open Opener) {
	db, acct, _ := searchFixture(t, open)
	ctx := context.Background()
	many := make([]spoke.FilterGroup, spoke.MaxFilterGroups+1)
	tests := []struct {
		name string
		typ  string
		req  spoke.SearchRequest
		want string // substring of the message
	}{
		{"unknown type", "things", spoke.SearchRequest{}, "things"},
		{"unknown property", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f("nope", "EQ", "1")}}}}, `"nope"`},
		{"unknown sort", "contacts", spoke.SearchRequest{Sorts: []spoke.Sort{{PropertyName: "nope"}}}, `"nope"`},
		{"unknown operator", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f("email", "LIKE", "1")}}}}, "LIKE"},
		{"bad number", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f("score", "GT", "ten")}}}}, "number"},
		{"bad date", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{f("createdate", "GT", "yesterday")}}}}, "date"},
		{"bad highValue", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "score", Operator: "BETWEEN", Value: "1", HighValue: "x"}}}}}, "number"},
		{"empty IN", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "tier", Operator: "IN"}}}}}, "values"},
		{"limit too big", "contacts", spoke.SearchRequest{Limit: 201}, "limit"},
		{"negative limit", "contacts", spoke.SearchRequest{Limit: -1}, "limit"},
		{"negative after", "contacts", spoke.SearchRequest{After: -1}, "after"},
		{"too many groups", "contacts", spoke.SearchRequest{FilterGroups: many}, "filterGroups"},
		{"too many IN values", "contacts", spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "tier", Operator: "IN", Values: make([]string, spoke.MaxFilterValues+1)}}}}}, "values"},
		{"too many values in all", "contacts", spoke.SearchRequest{FilterGroups: manyValueGroups()}, "values"},
		{"too many sorts", "contacts", spoke.SearchRequest{Sorts: make([]spoke.Sort, spoke.MaxSorts+1)}, "sorts"},
		{"query too long", "contacts", spoke.SearchRequest{Query: strings.Repeat("q", spoke.MaxSearchQuery+1)}, "query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.SearchRecords(ctx, acct, tc.typ, tc.req)
			if code(err) != spoke.EINVALID || !strings.Contains(spoke.ErrorMessage(err), tc.want) {
				t.Fatalf("err = %v, want EINVALID mentioning %q", err, tc.want)
			}
		})
	}
}

// testContainsToken checks CONTAINS_TOKEN's matching through search: a
// pattern matches a whole word of the value, case-insensitively, and *
// matches any run of characters.
func testContainsToken(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	for i, tc := range []struct {
		value, pattern string
		want           bool
	}{
		{"Hello World", "world", true},
		{"Hello World", "wor", false},
		{"Hello World", "wor*", true},
		{"Hello World", "*orld", true},
		{"Hello World", "h*d", true},
		{"a@hubspot.com", "*@hubspot.com", true},
		{"a@hubspot.com", "hubspot", true},
		{"a@hubspot.com", "*@example.com", false},
		{"aaa", "a*a*a*a", false},
		{"anything", "*", true},
		{"it's 100% (sure)", "100%", true},
		{"under_score", "under", true},
	} {
		key := fmt.Sprint("ct", i)
		create(t, db, acct, "contacts", props("lastname", key, "jobtitle", tc.value))
		res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Limit: 10, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{
			{PropertyName: "lastname", Operator: "EQ", Value: key}, {PropertyName: "jobtitle", Operator: "CONTAINS_TOKEN", Value: tc.pattern}}}}})
		if err != nil {
			t.Fatalf("%q CONTAINS_TOKEN %q: %v", tc.value, tc.pattern, err)
		}
		if got := res.Total == 1; got != tc.want {
			t.Errorf("%q CONTAINS_TOKEN %q matched %v, want %v", tc.value, tc.pattern, got, tc.want)
		}
	}
}

// manyValueGroups returns filter groups holding more than spoke.MaxFilterArgs
// values in all, each filter within spoke.MaxFilterValues.
func manyValueGroups() []spoke.FilterGroup {
	var groups []spoke.FilterGroup
	for n := 0; n <= spoke.MaxFilterArgs; n += spoke.MaxFilterValues {
		groups = append(groups, spoke.FilterGroup{Filters: []spoke.Filter{{PropertyName: "score", Operator: "NOT_IN", Values: strings.Split(strings.Repeat("1,", spoke.MaxFilterValues-1)+"1", ",")}}})
	}
	return groups
}
