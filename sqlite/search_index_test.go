package sqlite

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/storetest"
)

// TestIndexedSearchMatchesScan runs searches twice over the same records:
// by scanning rows, before any on-demand index exists, and from the
// indexes the second run creates. Totals and every page must agree, across
// accounts, archived records and other object types.
func TestIndexedSearchMatchesScan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, acct := setup(t)
	if _, err := db.write.ExecContext(ctx, `INSERT INTO accounts (id, name, created_at) VALUES (2, 'other', 0)`); err != nil {
		t.Fatal(err)
	}
	storetest.TypedProperties(t, db, acct)
	storetest.TypedProperties(t, db, 2)
	contact := func(i int) map[string]string {
		p := props("firstname", "C"+strconv.Itoa(i), "lastname", []string{"Lee", "Kim", "Ng"}[i%3])
		if c := []string{"X", "x", "Y", ""}[i%4]; c != "" {
			p["city"] = c
		}
		if i%3 == 0 {
			p["jobtitle"] = "Engineer"
		}
		if i%5 != 0 {
			p["score"] = strconv.Itoa(i % 7)
		}
		if i%2 == 0 {
			p["birthday"] = fmt.Sprintf("%d-03-04", 1950+i)
			p["vip"] = strconv.FormatBool(i%4 == 0)
		}
		if i%6 == 1 {
			p["tier"] = "gold"
			p["seen_at"] = "2024-01-01T00:00:00Z"
		}
		return p
	}
	var inputs, others []spoke.RecordInput
	for i := 0; i < 120; i++ {
		inputs = append(inputs, spoke.RecordInput{Properties: contact(i)})
		if i < 30 {
			others = append(others, spoke.RecordInput{Properties: contact(i)})
		}
	}
	res := mustWrite(t, db, acct, "contacts", spoke.WriteCreate, inputs...)
	mustWrite(t, db, 2, "contacts", spoke.WriteCreate, others...)
	mustWrite(t, db, acct, "companies", spoke.WriteCreate, spoke.RecordInput{Properties: props("name", "Acme", "city", "X")})
	var archived []string
	for i := 0; i < 120; i += 11 {
		archived = append(archived, strconv.FormatInt(res[i].Record.ID, 10))
	}
	if err := db.ArchiveRecords(ctx, acct, "contacts", archived); err != nil {
		t.Fatal(err)
	}

	group := func(fs ...spoke.Filter) spoke.FilterGroup { return spoke.FilterGroup{Filters: fs} }
	in := func(name string, vs ...string) spoke.Filter {
		return spoke.Filter{PropertyName: name, Operator: "IN", Values: vs}
	}
	tests := []struct {
		name    string
		groups  []spoke.FilterGroup
		sorts   []spoke.Sort
		indexed bool // answered from indexes once they exist
	}{
		{"EQ and HAS_PROPERTY", []spoke.FilterGroup{group(f("city", "EQ", "x"), f("jobtitle", "HAS_PROPERTY", ""))}, nil, true},
		{"EQ", []spoke.FilterGroup{group(f("city", "EQ", "X"))}, nil, true},
		{"HAS_PROPERTY", []spoke.FilterGroup{group(f("jobtitle", "HAS_PROPERTY", ""))}, nil, true},
		{"HAS_PROPERTY number and IN", []spoke.FilterGroup{group(f("score", "HAS_PROPERTY", ""), in("city", "x", "Y"))}, nil, true},
		{"number range and EQ", []spoke.FilterGroup{group(f("score", "GTE", "3"), f("city", "EQ", "x"))}, nil, true},
		{"number range alone", []spoke.FilterGroup{group(spoke.Filter{PropertyName: "score", Operator: "BETWEEN", Value: "2", HighValue: "4"})}, nil, true},
		{"date and bool", []spoke.FilterGroup{group(f("birthday", "LT", "2000-01-01"), f("vip", "EQ", "true"))}, nil, true},
		{"enumeration and datetime", []spoke.FilterGroup{group(f("tier", "EQ", "GOLD"), f("seen_at", "HAS_PROPERTY", ""))}, nil, true},
		{"two groups", []spoke.FilterGroup{group(f("city", "EQ", "y")), group(f("score", "EQ", "5"), f("jobtitle", "HAS_PROPERTY", ""))}, nil, true},
		{"sorted", []spoke.FilterGroup{group(f("city", "EQ", "x"), f("jobtitle", "HAS_PROPERTY", ""))}, []spoke.Sort{{PropertyName: "score", Descending: true}}, true},
		{"a filter without an index", []spoke.FilterGroup{group(f("city", "EQ", "x"), f("lastname", "NEQ", "Kim"))}, nil, false},
		{"number without a value index", []spoke.FilterGroup{group(f("associatedcompanyid", "GT", "0"), f("city", "EQ", "x"))}, nil, false},
		{"unique property", []spoke.FilterGroup{group(f("email", "EQ", "nobody@example.com"), f("jobtitle", "HAS_PROPERTY", ""))}, nil, false},
	}
	// pages returns the total and the ids of every page, 7 at a time.
	pages := func(t *testing.T, tc spoke.SearchRequest) (int, []int64) {
		t.Helper()
		var ids []int64
		total := -1
		for after := 0; ; {
			tc.Limit, tc.After = 7, after
			res, err := db.SearchRecords(ctx, acct, "contacts", tc)
			if err != nil {
				t.Fatal(err)
			}
			if total >= 0 && res.Total != total {
				t.Fatalf("total changed from %d to %d between pages", total, res.Total)
			}
			total = res.Total
			for _, r := range res.Records {
				ids = append(ids, r.ID)
			}
			if res.Next == 0 {
				return total, ids
			}
			if len(res.Records) == 0 || len(ids) > total {
				t.Fatalf("page after %d is empty or past the total %d", after, total)
			}
			after = res.Next
		}
	}
	type answer struct {
		total int
		ids   []int64
	}
	scanned := map[string]answer{}
	db.searchScan = true
	for _, tc := range tests {
		total, ids := pages(t, spoke.SearchRequest{FilterGroups: tc.groups, Sorts: tc.sorts})
		if total == 0 && tc.name != "unique property" && tc.name != "number without a value index" {
			t.Fatalf("%s: the fixture matches nothing", tc.name)
		}
		scanned[tc.name] = answer{total, ids}
	}
	if len(db.searchIdx) != 0 {
		t.Fatalf("searches that scan created indexes: %v", db.searchIdx)
	}

	// Below the threshold, searches create no index.
	db.searchScan, db.searchIndexMin = false, math.MaxInt
	for _, tc := range tests {
		if total, _ := pages(t, spoke.SearchRequest{FilterGroups: tc.groups, Sorts: tc.sorts}); total != scanned[tc.name].total {
			t.Errorf("%s: total %d below the threshold, %d scanning", tc.name, total, scanned[tc.name].total)
		}
	}
	if len(db.searchIdx) != 0 {
		t.Fatalf("searches below the threshold created indexes: %v", db.searchIdx)
	}

	db.searchIndexMin = 0
	typ, _ := spoke.ObjectTypeFor("contacts")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := spoke.SearchRequest{FilterGroups: tc.groups, Sorts: tc.sorts}
			total, ids := pages(t, req)
			want := scanned[tc.name]
			if total != want.total || fmt.Sprint(ids) != fmt.Sprint(want.ids) {
				t.Errorf("from indexes: total %d, ids %v\nscanning rows: total %d, ids %v", total, ids, want.total, want.ids)
			}
			defs, err := db.definitions(ctx, acct, "contacts")
			if err != nil {
				t.Fatal(err)
			}
			q, _, err := db.indexedIDs(ctx, typ, defs, acct, req)
			if err != nil || (q != "") != tc.indexed {
				t.Errorf("indexedIDs = %q, %v; want a query: %v", q, err, tc.indexed)
			}
		})
	}
	for _, name := range []string{eqIndexName("contacts", "city"), hasIndexName("contacts", "jobtitle"), hasIndexName("contacts", "score")} {
		if !db.searchIdx[name] {
			t.Errorf("index %s was not created: %v", name, db.searchIdx)
		}
	}

	// A store opened again knows the indexes that exist.
	again, err := Open(ctx, db.path[:len(db.path)-len(FileName)])
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if len(again.searchIdx) != len(db.searchIdx) {
		t.Errorf("reopened store knows %d search indexes, want %d", len(again.searchIdx), len(db.searchIdx))
	}
}
