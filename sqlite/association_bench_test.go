package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/spokehq/spoke"
)

// BenchmarkAssociateCounted associates b.N contacts, one per call, with one
// company, whose num_associated_contacts grows to b.N: the cost of a link
// must not grow with the company's count (the counts move by deltas).
func BenchmarkAssociateCounted(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	acct, _, _ := db.DefaultAccount(ctx)
	src := spoke.WriteSource{Type: spoke.SourceAPI}
	res, _ := db.WriteRecords(ctx, acct, "companies", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{"name": "Acme"}}}, src)
	company := res[0].Record.ID
	ids := make([]int64, b.N)
	for i := range ids {
		r, err := db.WriteRecords(ctx, acct, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{"email": fmt.Sprintf("c%d@example.com", i)}}}, src)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r[0].Record.ID
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Associate(ctx, acct, "contacts", ids[i], "companies", company, nil); err != nil {
			b.Fatal(err)
		}
	}
}
