package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// benchContacts is the size of the counting-search benchmark's fixture.
const benchContacts = 100000

var countFixture struct {
	once sync.Once
	db   *DB
	acct int64
	err  error
	// firstMs is how long the first indexed search took, creating the
	// indexes.
	firstMs float64
}

// countSearchFixture opens, once per test binary, a store of
// benchContacts contacts written in batches of 1,000: every fifth lives
// in city "x" (the batch a user imported and enrolled), and every third
// has a job title (the property the flow sets as it progresses).
func countSearchFixture(b *testing.B) (*DB, int64) {
	b.Helper()
	countFixture.once.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "spoke-search-bench-")
		if err != nil {
			countFixture.err = err
			return
		}
		db, err := Open(ctx, dir)
		if err != nil {
			countFixture.err = err
			return
		}
		acct, _, err := db.DefaultAccount(ctx)
		if err != nil {
			countFixture.err = err
			return
		}
		src := spoke.WriteSource{Type: spoke.SourceImport, ID: "bench"}
		for from := 0; from < benchContacts; from += 1000 {
			inputs := make([]spoke.RecordInput, 0, 1000)
			for i := from; i < from+1000; i++ {
				p := map[string]string{"email": fmt.Sprintf("c%d@bench.example", i), "firstname": "F" + strconv.Itoa(i%97),
					"lastname": "Bench", "city": "city" + strconv.Itoa(i%50), "lifecyclestage": "lead"}
				if i%5 == 0 {
					p["city"] = "x"
				}
				if i%3 == 0 {
					p["jobtitle"] = "Engineer"
				}
				inputs = append(inputs, spoke.RecordInput{Properties: p})
			}
			if _, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, inputs, src); err != nil {
				countFixture.err = err
				return
			}
		}
		countFixture.db, countFixture.acct = db, acct
	})
	if countFixture.err != nil {
		b.Fatalf("fixture: %v", countFixture.err)
	}
	return countFixture.db, countFixture.acct
}

// BenchmarkSearchCount measures the search a user polls to watch a bulk
// run, EQ on one property AND HAS_PROPERTY on another, with its total and
// first page: scanning rows (as every such search did before on-demand
// indexes) and from the indexes.
//
//	go test ./sqlite -run '^$' -bench SearchCount -benchtime 50x
func BenchmarkSearchCount(b *testing.B) {
	db, acct := countSearchFixture(b)
	ctx := context.Background()
	req := spoke.SearchRequest{FilterGroups: []spoke.FilterGroup{{Filters: []spoke.Filter{
		{PropertyName: "city", Operator: "EQ", Value: "X"},
		{PropertyName: "jobtitle", Operator: "HAS_PROPERTY"},
	}}}}
	want := 0
	for i := 0; i < benchContacts; i++ {
		if i%5 == 0 && i%3 == 0 {
			want++
		}
	}
	search := func(b *testing.B) {
		res, err := db.SearchRecords(ctx, acct, "contacts", req)
		if err != nil {
			b.Fatal(err)
		}
		if res.Total != want || len(res.Records) != DefaultPageLimit {
			b.Fatalf("total %d with %d records, want %d with %d", res.Total, len(res.Records), want, DefaultPageLimit)
		}
	}
	b.Run("scan", func(b *testing.B) {
		db.searchScan = true
		defer func() { db.searchScan = false }()
		for i := 0; i < b.N; i++ {
			search(b)
		}
	})
	b.Run("indexed", func(b *testing.B) {
		// The first search creates the indexes (once per fixture).
		if countFixture.firstMs == 0 {
			start := time.Now()
			search(b)
			countFixture.firstMs = float64(time.Since(start).Microseconds()) / 1000
			b.ResetTimer()
		}
		for i := 0; i < b.N; i++ {
			search(b)
		}
		b.ReportMetric(countFixture.firstMs, "first-ms")
	})
}

// TestMain removes the benchmark fixture's database.
func TestMain(m *testing.M) {
	code := m.Run()
	if db := countFixture.db; db != nil {
		db.Close()
		os.RemoveAll(filepath.Dir(db.Path()))
	}
	os.Exit(code)
}
