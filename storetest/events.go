package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"EventEnrollment", testEventEnrollment},
		test{"FlowWebhookTokens", testFlowWebhookTokens},
	)
}

// Events enroll records through the trigger, and the enrolling event is
// kept with the enrollment: an association added (on both records, with
// the other record's type and id), a webhook received (its body), and a
// write (the event the trigger saw).
func testEventEnrollment(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	db.back.SetTrigger(func(ch spoke.RecordChange) []spoke.EnrollmentTrigger {
		switch {
		case ch.Event != nil && ch.Event.Type == spoke.EventAssociationAdded:
			ev, _ := json.Marshal(ch.Event.Properties)
			return []spoke.EnrollmentTrigger{{FlowID: "90", RevisionID: "1", ReEnroll: true, Event: ev}}
		case ch.Event != nil && ch.Event.Type == spoke.EventWebhookReceived:
			return []spoke.EnrollmentTrigger{{FlowID: ch.Event.FlowID, RevisionID: "1", ReEnroll: true, Event: ch.Event.Body}}
		case ch.Event == nil && ch.After["jobtitle"] == "CEO" && ch.Before["jobtitle"] != "CEO":
			return []spoke.EnrollmentTrigger{{FlowID: "92", RevisionID: "1", Event: json.RawMessage(`{"hs_value":"CEO"}`)}}
		}
		return nil
	})
	contact := create(t, db, acct, "contacts", props("email", "ev@example.com"))
	company := create(t, db, acct, "companies", props("name", "Acme"))
	event := func(flowID string, id int64) string {
		t.Helper()
		ens, _, err := db.RecentEnrollments(ctx, acct, flowID, spoke.RunQuery{ObjectID: id, Limit: 10})
		if err != nil || len(ens) != 1 {
			t.Fatalf("enrollments of %d in flow %s = %v, %v", id, flowID, ens, err)
		}
		ev, err := db.EnrollmentEvent(ctx, ens[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return string(ev)
	}

	if _, err := db.Associate(ctx, acct, "contacts", contact.ID, "companies", company.ID, nil); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(event("90", contact.ID)), &got); err != nil || got["toObjectTypeId"] != "0-2" || got["toObjectId"] != strconv.FormatInt(company.ID, 10) ||
		got["associationTypeId"] != "279" || got["associationCategory"] != spoke.CategoryHubSpot {
		t.Errorf("the contact's association event = %v, %v", got, err)
	}
	if err := json.Unmarshal([]byte(event("90", company.ID)), &got); err != nil || got["toObjectTypeId"] != "0-1" || got["toObjectId"] != strconv.FormatInt(contact.ID, 10) ||
		got["associationTypeId"] != "280" {
		t.Errorf("the company's association event = %v, %v", got, err)
	}

	ok, err := db.WebhookReceived(ctx, acct, "91", contact.ID, json.RawMessage(`{"order":{"city":"Cork"}}`))
	if err != nil || !ok {
		t.Fatalf("WebhookReceived = %v, %v", ok, err)
	}
	if ev := event("91", contact.ID); ev != `{"order":{"city":"Cork"}}` {
		t.Errorf("webhook event = %s", ev)
	}
	if ok, err := db.WebhookReceived(ctx, acct, "91", company.ID+contact.ID+1000, json.RawMessage(`{}`)); err != nil || ok {
		t.Errorf("a webhook for no record enrolled: %v, %v", ok, err)
	}

	mustWrite(t, db, acct, "contacts", spoke.WriteUpdate, spoke.RecordInput{ID: strconv.FormatInt(contact.ID, 10), Properties: props("jobtitle", "CEO")})
	if ev := event("92", contact.ID); ev != `{"hs_value":"CEO"}` {
		t.Errorf("write event = %s", ev)
	}
}

// A flow's webhook token is made once, kept, replaced by a rotation, and
// leads to the flow's account; an unknown flow or token is ENOTFOUND.
func testFlowWebhookTokens(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("hooked", "0-1", false)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.FlowWebhookToken(ctx, acct, f.ID, false)
	if err != nil || len(tok) < 32 {
		t.Fatalf("token = %q, %v", tok, err)
	}
	if again, err := db.FlowWebhookToken(ctx, acct, f.ID, false); err != nil || again != tok {
		t.Errorf("token again = %q, %v; want the same", again, err)
	}
	if a, err := db.FlowWebhookAccount(ctx, f.ID, tok); err != nil || a != acct {
		t.Errorf("account of the token = %d, %v", a, err)
	}
	rotated, err := db.FlowWebhookToken(ctx, acct, f.ID, true)
	if err != nil || rotated == tok {
		t.Fatalf("rotated = %q, %v", rotated, err)
	}
	if _, err := db.FlowWebhookAccount(ctx, f.ID, tok); code(err) != spoke.ENOTFOUND {
		t.Errorf("the old token after rotation: %v", err)
	}
	if _, err := db.FlowWebhookToken(ctx, acct, "424242", false); code(err) != spoke.ENOTFOUND {
		t.Errorf("token of no flow: %v", err)
	}
}
