package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/pgtest"
	"github.com/spokehq/spoke/sqlite"
)

// TestSeedDemo seeds the demo data on SQLite and on PostgreSQL: owners,
// companies, contacts with their companies, deals in the default
// pipeline's stages, tasks and the sample flow; a second seed adds nothing.
func TestSeedDemo(t *testing.T) {
	for _, tc := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", pgtest.Database(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			opened, err := openStore(ctx, tc.url, t.TempDir(), slog.New(slog.DiscardHandler), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer opened.Close()
			db := opened.store
			acct, _, err := db.DefaultAccount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				if err := seedDemo(ctx, db, acct); err != nil {
					t.Fatalf("seed %d: %v", i+1, err)
				}
			}
			owners, _, err := db.ListOwners(ctx, acct, spoke.OwnerListOptions{Limit: 10})
			if err != nil || len(owners) != 3 {
				t.Errorf("owners = %d, %v", len(owners), err)
			}
			for typ, want := range map[string]int{"companies": 2, "contacts": 3, "deals": 4, "tasks": 3} {
				recs, _, err := db.ListRecords(ctx, acct, typ, spoke.ListOptions{Limit: 10})
				if err != nil || len(recs) != want {
					t.Errorf("%s = %d, %v; want %d", typ, len(recs), err, want)
				}
			}
			contacts, _, _ := db.ListRecords(ctx, acct, "contacts", spoke.ListOptions{Limit: 10})
			for _, c := range contacts {
				if c.Properties[spoke.PropTeamID] == "" {
					t.Errorf("contact %s has no team from its owner: %v", c.Properties["email"], c.Properties)
				}
			}
			companies, _, _ := db.ListRecords(ctx, acct, "companies", spoke.ListOptions{Limit: 10})
			if len(companies) != 2 || companies[0].Properties["num_associated_contacts"] != "2" || companies[1].Properties["num_associated_contacts"] != "1" {
				t.Errorf("companies' contact counts: %v", companies)
			}
			flows, _, err := db.ListFlows(ctx, acct, "", 10)
			if err != nil || len(flows) != 1 {
				t.Errorf("flows = %d, %v", len(flows), err)
			}
		})
	}
}
