package postgres

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// TestGuaranteedTokens checks which words of a wildcard pattern are
// required whole.
func TestGuaranteedTokens(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string][]string{
		"*@hubspot.com":   {"hubspot", "com"},
		"anal*":           nil,
		"*orld":           nil,
		"h*d":             nil,
		"b*example.com":   {"com"},
		"*":               nil,
		"a*a*a*a":         nil,
		"*@d7.example":    {"d7", "example"},
		"jo-hn*smith.x*":  {"jo"},
		"*.caf\u00e9.com": {"com"},
		"*caf\u00e9x.com": {"com"},
		"x.\u00e9a.b*":    {"x"},
		"100% *":          {"100"},
		"*@a.b.a":         {"a", "b"},
	} {
		if got := guaranteedTokens(pattern); !reflect.DeepEqual(got, want) {
			t.Errorf("guaranteedTokens(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestTokenSQLEquivalence checks, in PostgreSQL itself, that the token
// conditions select exactly the values the plain definitions do:
// spoke_tokens(v) @> {token} against the value, its alphanumeric runs and
// its whitespace words; and, for wildcard patterns, the required tokens
// never exclude a value the regular expression matches.
func TestTokenSQLEquivalence(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	values := []string{"Hello World", "a@hubspot.com", "B@HubSpot.Com", "x.a@hubspot.com.evil", "user5@d7.example", "xd7.example",
		"it's 100% (sure)", "under_score", "Jo-hn Smith.x", "tab\tsep\nnew line", "  padded  ", "caf\u00e9.com", "a.caf\u00e9.com",
		"na\u00efve caf\u00e9", "a;b;c", "", "aaa", "a.b.a", "@a.b.a", "100%", "x.\u00e9a.b", "jo-hn-smith.x.y"}
	patterns := []string{"world", "hubspot", "com", "100%", "100", "under", "score", "under_score", "sure", "caf\u00e9", "b", "a",
		"*@hubspot.com", "*hubspot.com", "*@d7.example", "*d7.example", "b*example.com", "*.caf\u00e9.com", "*caf\u00e9.com", "caf*",
		"jo-hn*smith.x*", "x.\u00e9a.b*", "100% *", "*@a.b.a", "*.b.a", "a.*.a", "*", "h*d", "a*a*a*a", "*sep", "new*", "*line"}
	for _, v := range values {
		for _, pattern := range patterns {
			x := strings.ToLower(strings.TrimSpace(pattern))
			p := &params{}
			p.add(v)
			var plain string
			if strings.Contains(x, "*") {
				re := p.add(tokenRegexp(x))
				plain = `(lower($1) ~ ` + re + ` OR EXISTS (SELECT 1 FROM regexp_split_to_table(lower($1), '\s+') w WHERE w ~ ` + re + `))`
			} else {
				y := p.add(x)
				plain = `(lower($1) = ` + y + ` OR ` + y + ` = ANY(regexp_split_to_array(lower($1), '[^[:alnum:]]+')) OR ` + y + ` = ANY(regexp_split_to_array(lower($1), '\s+')))`
			}
			cond := tokenSQL("$1::text", pattern, p)
			var a, b bool
			if err := db.pool.QueryRow(ctx, `SELECT coalesce(`+plain+`, false), coalesce(`+cond+`, false)`, p.args...).Scan(&a, &b); err != nil {
				t.Fatalf("%q CONTAINS_TOKEN %q: %v", v, pattern, err)
			}
			if a != b {
				t.Errorf("%q CONTAINS_TOKEN %q: by definition %v, by token condition %v", v, pattern, a, b)
			}
		}
	}
}

// TestTokenIndex checks that a CONTAINS_TOKEN search over enough records
// builds the property's token index in the background, that the index is
// valid and serves the search's condition, and that results are the same
// with it.
func TestTokenIndex(t *testing.T) {
	t.Parallel()
	url := databaseForTest(t)
	ctx := context.Background()
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SearchIndexMin = 50
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []spoke.RecordInput
	for i := 0; i < 60; i++ {
		inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("u%d@d%d.example", i, i%3),
			"jobtitle": fmt.Sprintf("Chief Officer %d", i%10)}})
	}
	if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, spoke.WriteSource{Type: spoke.SourceImport}); err != nil {
		t.Fatal(err)
	}
	search := func(prop, pattern string) int {
		t.Helper()
		res, err := db.SearchRecords(ctx, acct, "contacts", spoke.SearchRequest{Limit: 100,
			FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: prop, Operator: "CONTAINS_TOKEN", Value: pattern}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != len(res.Records) {
			t.Fatalf("total %d, %d records", res.Total, len(res.Records))
		}
		return res.Total
	}
	if got := search("jobtitle", "7"); got != 6 {
		t.Fatalf("jobtitle CONTAINS_TOKEN 7 before the index: %d, want 6", got)
	}
	if got := search("email", "*@d1.example"); got != 20 {
		t.Fatalf("email CONTAINS_TOKEN *@d1.example before the index: %d, want 20", got)
	}
	for _, name := range []string{tokenIndexName("contacts", "jobtitle"), tokenIndexName("contacts", "email")} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			conn, err := db.pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			valid, _, err := indexState(ctx, conn.Conn(), name)
			conn.Release()
			if err != nil {
				t.Fatal(err)
			}
			if valid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("index %s not valid after 60 s", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := search("jobtitle", "7"); got != 6 {
		t.Errorf("jobtitle CONTAINS_TOKEN 7 with the index: %d, want 6", got)
	}
	if got := search("email", "*@d1.example"); got != 20 {
		t.Errorf("email CONTAINS_TOKEN *@d1.example with the index: %d, want 20", got)
	}
	// The search's own conditions are what the index serves (the planner
	// would rather read 60 rows, so other plans are switched off to see it,
	// and the type's index is left out by leaving out the account).
	if _, err := db.pool.Exec(ctx, `ANALYZE records`); err != nil {
		t.Fatal(err)
	}
	for prop, pattern := range map[string]string{"jobtitle": "chief", "email": "*@d1.example"} {
		p := &params{}
		cond := tokenSQL(valueExpr(prop), pattern, p)
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off`); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, `EXPLAIN SELECT count(*) FROM records WHERE object_type = 'contacts' AND NOT archived AND `+cond, p.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		tx.Rollback(ctx)
		if name := tokenIndexName("contacts", prop); !strings.Contains(plan.String(), name) {
			t.Errorf("%s CONTAINS_TOKEN %q does not use %s:\n%s", prop, pattern, name, plan.String())
		}
	}
	// A second store on the database finds the indexes and builds nothing.
	db2, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	db2.SearchIndexMin = 50
	db2.wantTokenIndex(acct, "contacts", "jobtitle")
	db2.stopSearchIndexes()
	db2.Close()
}

// TestTokenIndexNames checks that index names fit PostgreSQL's 63 bytes.
func TestTokenIndexNames(t *testing.T) {
	t.Parallel()
	short := tokenIndexName("contacts", "email")
	if short != "records_tok_contacts_email" {
		t.Errorf("short name %q", short)
	}
	long := tokenIndexName("p_a_rather_long_custom_object_type_name", strings.Repeat("property", 8))
	if len(long) > 63 || !strings.HasPrefix(long, tokenIndexPrefix) {
		t.Errorf("long name %q (%d bytes)", long, len(long))
	}
	if long == tokenIndexName("p_a_rather_long_custom_object_type_name", strings.Repeat("property", 9)) {
		t.Errorf("two long names collide")
	}
}

// TestEqIndex checks that EQ and IN searches on a text property over
// enough records build its equality index in the background, that the
// plans of EQ, IN and a sort on the property use it, and that results
// (and their order) are the same with it.
func TestEqIndex(t *testing.T) {
	t.Parallel()
	url := databaseForTest(t)
	ctx := context.Background()
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SearchIndexMin = 50
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []spoke.RecordInput
	for i := 0; i < 60; i++ {
		props := map[string]string{"email": fmt.Sprintf("u%d@example.com", i)}
		if i%5 != 0 {
			// Mixed case: EQ compares without case, as before the index.
			city := fmt.Sprintf("City %d", i%12)
			if i%2 == 0 {
				city = strings.ToUpper(city)
			}
			props["city"] = city
		}
		inputs = append(inputs, spoke.RecordInput{Properties: props})
	}
	if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, spoke.WriteSource{Type: spoke.SourceImport}); err != nil {
		t.Fatal(err)
	}
	requests := map[string]spoke.SearchRequest{
		"eq":   {Limit: 100, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "city", Operator: "EQ", Value: "city 3"}}}}},
		"in":   {Limit: 100, FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "city", Operator: "IN", Values: []string{"CITY 1", "City 7", "nowhere"}}}}}},
		"sort": {Limit: 100, Sorts: []spoke.Sort{{PropertyName: "city"}}},
		"desc": {Limit: 100, Sorts: []spoke.Sort{{PropertyName: "city", Descending: true}}},
	}
	search := func() map[string][]int64 {
		t.Helper()
		out := map[string][]int64{}
		for name, req := range requests {
			res, err := db.SearchRecords(ctx, acct, "contacts", req)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				out[name] = append(out[name], r.ID)
			}
		}
		return out
	}
	before := search()
	if n := len(before["eq"]); n != 4 {
		t.Fatalf("city EQ 'city 3': %d records, want 4", n)
	}
	if n := len(before["in"]); n != 8 {
		t.Fatalf("city IN: %d records, want 8", n)
	}
	name := eqIndexName("contacts", "city")
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		valid, _, err := indexState(ctx, conn.Conn(), name)
		conn.Release()
		if err != nil {
			t.Fatal(err)
		}
		if valid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index %s not valid after 60 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := search(); !reflect.DeepEqual(before, after) {
		t.Errorf("results differ with the index:\nbefore %v\nafter  %v", before, after)
	}
	// The search's own conditions and order are what the index serves
	// (the planner would rather read 60 rows, so other plans are switched
	// off to see it).
	if _, err := db.pool.Exec(ctx, `ANALYZE records`); err != nil {
		t.Fatal(err)
	}
	defs, err := db.definitions(ctx, acct, spoke.ObjectType{Name: "contacts", UniqueProperty: "email"})
	if err != nil {
		t.Fatal(err)
	}
	ct := spoke.ObjectType{Name: "contacts", UniqueProperty: "email"}
	for _, f := range []spoke.Filter{requests["eq"].FilterGroups[0].Filters[0], requests["in"].FilterGroups[0].Filters[0]} {
		p := &params{}
		p.add(acct)
		cond, err := db.filterSQL(ct, defs, f, p)
		if err != nil {
			t.Fatal(err)
		}
		plan := explain(t, db, `SELECT count(*) FROM records WHERE account_id = $1 AND object_type = 'contacts' AND NOT archived AND `+cond, p.args...)
		if !strings.Contains(plan, name) {
			t.Errorf("city %s does not use %s:\n%s", f.Operator, name, plan)
		}
	}
	for _, dir := range []string{"ASC NULLS FIRST", "DESC NULLS LAST"} {
		plan := explain(t, db, `SELECT id FROM records WHERE account_id = $1 AND object_type = 'contacts' AND NOT archived ORDER BY `+eqExpr("city")+` `+dir+` LIMIT 10`, acct)
		if !strings.Contains(plan, name) || strings.Contains(plan, "Sort Key") {
			t.Errorf("sort on city %s does not walk %s:\n%s", dir, name, plan)
		}
	}
}

// waitIndex waits until index name is valid.
func waitIndex(t *testing.T, db *DB, name string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		valid, _, err := indexState(ctx, conn.Conn(), name)
		conn.Release()
		if err != nil {
			t.Fatal(err)
		}
		if valid {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index %s not valid after 60 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestValueIndexBackground checks that a custom number property's value
// index is built after the property's transaction, CONCURRENTLY, that
// searches give the same results without it, and that a search on the
// property has a missing one built again (a process stopped before
// building it).
func TestValueIndexBackground(t *testing.T) {
	t.Parallel()
	url := databaseForTest(t)
	ctx := context.Background()
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "points", Label: "Points",
		Type: spoke.TypeNumber, FieldType: "number", GroupName: "contactinformation"}); err != nil {
		t.Fatal(err)
	}
	name, _, _ := valueIndex("contacts", &spoke.Property{Name: "points", Type: spoke.TypeNumber})
	waitIndex(t, db, name)
	var inputs []spoke.RecordInput
	for i := 0; i < 40; i++ {
		inputs = append(inputs, spoke.RecordInput{Properties: map[string]string{"email": fmt.Sprintf("p%d@example.com", i), "points": fmt.Sprint(i % 10)}})
	}
	if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, spoke.WriteSource{Type: spoke.SourceImport}); err != nil {
		t.Fatal(err)
	}
	req := spoke.SearchRequest{Limit: 100, Sorts: []spoke.Sort{{PropertyName: "points", Descending: true}},
		FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{{PropertyName: "points", Operator: "GTE", Value: "7"}}}}}
	ids := func(db *DB) []int64 {
		t.Helper()
		res, err := db.SearchRecords(ctx, acct, "contacts", req)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range res.Records {
			out = append(out, r.ID)
		}
		return out
	}
	with := ids(db)
	if len(with) != 12 {
		t.Fatalf("points GTE 7: %d records, want 12", len(with))
	}
	plan := explain(t, db, `SELECT count(*) FROM records WHERE object_type = 'contacts' AND NOT archived AND `+numberExpr("points")+` >= 7`)
	if !strings.Contains(plan, name) {
		t.Errorf("points GTE does not use %s:\n%s", name, plan)
	}
	// Without the index (as before it is built), the same records; the
	// search asks for it, and another store (which has not seen it) builds
	// it again.
	if _, err := db.pool.Exec(ctx, `DROP INDEX "`+name+`"`); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if without := ids(db2); !reflect.DeepEqual(with, without) {
		t.Errorf("without the index %v, with it %v", without, with)
	}
	waitIndex(t, db2, name)
}

// explain returns the plan of query with sequential scans, bitmap scans
// and sorts switched off where another plan exists.
func explain(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `EXPLAIN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	return plan.String()
}
