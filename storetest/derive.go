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
		test{"LifecycleStageDates", testLifecycleStageDates},
		test{"ReadOnlyDefaultsRefused", testReadOnlyDefaultsRefused},
	)
}

// Entering a lifecycle stage sets hs_lifecyclestage_<stage>_date to the
// write's time, with history, on create (one at a time or batched) and on
// update; writing the same stage again leaves the date alone.
func testLifecycleStageDates(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	stamp := func(r *spoke.Record) string { return spoke.FormatTime(r.UpdatedAt) }

	r := create(t, db, acct, "contacts", props("email", "lc@example.com", "lifecyclestage", "lead"))
	if got := r.Properties["hs_lifecyclestage_lead_date"]; got == "" || got != stamp(r) {
		t.Fatalf("created as lead: date %q, record written at %s", got, stamp(r))
	}
	leadDate := r.Properties["hs_lifecyclestage_lead_date"]
	id := strconv.FormatInt(r.ID, 10)

	up := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("lifecyclestage", "customer")})[0].Record
	if got := up.Properties["hs_lifecyclestage_customer_date"]; got != stamp(up) || got == leadDate {
		t.Errorf("customer date %q, want %s", got, stamp(up))
	}
	if up.Properties["hs_lifecyclestage_lead_date"] != leadDate {
		t.Errorf("lead date changed: %q", up.Properties["hs_lifecyclestage_lead_date"])
	}
	customerDate := up.Properties["hs_lifecyclestage_customer_date"]
	// The same stage again is no change: no new date, no history.
	again := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("lifecyclestage", "customer", "firstname", "X")})[0].Record
	if again.Properties["hs_lifecyclestage_customer_date"] != customerDate {
		t.Errorf("unchanged stage moved its date: %q → %q", customerDate, again.Properties["hs_lifecyclestage_customer_date"])
	}
	// Clearing the stage sets nothing.
	cleared := mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: id, Properties: props("lifecyclestage", "")})[0].Record
	if _, ok := cleared.Properties["lifecyclestage"]; ok || cleared.Properties["hs_lifecyclestage_customer_date"] != customerDate {
		t.Errorf("after clearing: %v", cleared.Properties)
	}

	got := get(t, db, acct, "contacts", id, spoke.ReadOptions{WithHistory: []string{"hs_lifecyclestage_customer_date", "hs_lifecyclestage_lead_date"}})
	if h := got.History["hs_lifecyclestage_customer_date"]; len(h) != 1 || h[0].Value != customerDate || h[0].SourceType != spoke.SourceAPI {
		t.Errorf("customer date history %+v", h)
	}
	if h := got.History["hs_lifecyclestage_lead_date"]; len(h) != 1 || h[0].Value != leadDate {
		t.Errorf("lead date history %+v", h)
	}

	// Batched creates (inserted several per statement) and companies too.
	res := mustWrite(t, db, acct, "companies", spoke.WriteCreate,
		spoke.RecordInput{Properties: props("name", "A", "lifecyclestage", "opportunity")},
		spoke.RecordInput{Properties: props("name", "B")})
	if d := res[0].Record.Properties["hs_lifecyclestage_opportunity_date"]; d == "" {
		t.Errorf("batched company create: %v", res[0].Record.Properties)
	}
	if len(res[1].Record.Properties) != 1 {
		t.Errorf("company without a stage got %v", res[1].Record.Properties)
	}
	stored := get(t, db, acct, "companies", strconv.FormatInt(res[0].Record.ID, 10), spoke.ReadOptions{})
	if stored.Properties["hs_lifecyclestage_opportunity_date"] != res[0].Record.Properties["hs_lifecyclestage_opportunity_date"] {
		t.Errorf("stored %v", stored.Properties)
	}
}

// Writing a read-only default property is refused with HubSpot's
// READ_ONLY_VALUE, worded as HubSpot words it, and nothing is written.
func testReadOnlyDefaultsRefused(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	for _, tc := range []struct{ objectType, name, word string }{
		{"contacts", "hs_lifecyclestage_lead_date", "read only"},
		{"contacts", "num_associated_deals", "read only"},
		{"contacts", "notes_last_updated", "read only"},
		{"contacts", "hs_object_id", "calculated"},
		{"companies", "num_associated_contacts", "read only"},
		{"deals", "hs_deal_stage_probability", "read only"},
		{"tickets", "time_to_close", "calculated"},
	} {
		res, err := db.WriteRecords(ctx, acct, tc.objectType, spoke.WriteCreate, []spoke.RecordInput{{Properties: props(tc.name, "1")}}, apiSrc)
		if err != nil {
			t.Fatal(err)
		}
		e := res[0].Err
		want := `\"` + tc.name + `\" is a ` + tc.word + ` property; its value cannot be set.`
		if e == nil || e.Code != spoke.EINVALID || !strings.Contains(e.Message, `"error":"READ_ONLY_VALUE"`) || !strings.Contains(e.Message, want) {
			t.Errorf("%s.%s: %v, want READ_ONLY_VALUE %s", tc.objectType, tc.name, e, want)
		}
	}
	if n := countRecords(t, db, "contacts") + countRecords(t, db, "deals"); n != 0 {
		t.Errorf("%d records written", n)
	}
	// Writable defaults are accepted, enumerations against HubSpot's options.
	mustWrite(t, db, acct, "tickets", spoke.WriteCreate, spoke.RecordInput{Properties: props("subject", "s", "hs_ticket_priority", "URGENT", "source_type", "EMAIL")})
	res, err := db.WriteRecords(ctx, acct, "tickets", spoke.WriteCreate, []spoke.RecordInput{{Properties: props("hs_ticket_priority", "CRITICAL")}}, apiSrc)
	if err != nil || res[0].Err == nil || !strings.Contains(res[0].Err.Message, "INVALID_OPTION") {
		t.Errorf("bad priority: %v %v", err, res[0].Err)
	}
}
