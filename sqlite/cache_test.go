package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/storetest"
)

// TestDefinitionsCacheRace creates properties while other goroutines keep
// loading the definitions cache: a property must be writable as soon as
// CreateProperty returns, never hidden by a stale cache entry.
func TestDefinitionsCacheRace(t *testing.T) {
	t.Parallel()
	db, acct := setup(t)
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				db.ListProperties(ctx, acct, "companies", false)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for i := 0; i < 60; i++ {
		name := fmt.Sprintf("race_%d", i)
		storetest.AddProperty(t, db, acct, spoke.Property{ObjectType: "companies", Name: name, Label: name, Type: spoke.TypeString, GroupName: "companyinformation"})
		res, err := db.WriteRecords(ctx, acct, "companies", spoke.WriteCreate, []spoke.RecordInput{{Properties: props(name, "x")}}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil {
			t.Fatalf("property %s created but not writable: %v", name, res[0].Err)
		}
	}
}
