package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

func init() {
	register(
		test{"FlowCRUD", testFlowCRUD},
		test{"FlowListAndEnabled", testFlowListAndEnabled},
		test{"FlowDocumentFromTypedFields", testFlowDocumentFromTypedFields},
		test{"PropertyExists", testPropertyExists},
		test{"FlowConcurrentUpdates", testFlowConcurrentUpdates},
	)
}

func parseFlow(t *testing.T, body string) *spoke.Flow {
	t.Helper()
	f, err := flow.Parse([]byte(body))
	if err != nil {
		t.Fatalf("flow.Parse: %v", err)
	}
	return f
}

func flowBody(name, objectTypeID string, enabled bool) string {
	typ := "PLATFORM_FLOW"
	if objectTypeID == "0-1" {
		typ = "CONTACT_FLOW"
	}
	en := "false"
	if enabled {
		en = "true"
	}
	return `{"name":"` + name + `","type":"` + typ + `","objectTypeId":"` + objectTypeID + `","flowType":"WORKFLOW","isEnabled":` + en + `,
		"custom":{"keep":[1,"two"]},
		"actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","actionTypeVersion":0,"fields":{"delta":"5","time_unit":"MINUTES"}}]}`
}

func testFlowCRUD(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()

	created, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("one", "0-1", false)))
	if err != nil {
		t.Fatalf("CreateFlow: %v", err)
	}
	if created.ID == "" || created.RevisionID != "1" || created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("created: id %q rev %q at %v/%v", created.ID, created.RevisionID, created.CreatedAt, created.UpdatedAt)
	}
	if !strings.Contains(string(created.Raw), `"custom":{"keep":[1,"two"]}`) || created.Name != "one" || len(created.Actions) != 1 {
		t.Fatalf("created flow lost fields: %+v %s", created, created.Raw)
	}
	got, err := db.GetFlow(ctx, acct, created.ID)
	if err != nil || string(got.Raw) != string(created.Raw) || got.RevisionID != "1" {
		t.Fatalf("GetFlow = %+v, %v", got, err)
	}

	// Update with the current revision.
	upd := parseFlow(t, strings.Replace(flowBody("two", "0-1", true), `"name"`, `"revisionId":"1","name"`, 1))
	upd.ID = created.ID
	v2, err := db.UpdateFlow(ctx, acct, upd)
	if err != nil {
		t.Fatalf("UpdateFlow: %v", err)
	}
	if v2.RevisionID != "2" || v2.Name != "two" || !v2.IsEnabled || !v2.CreatedAt.Equal(created.CreatedAt) || !v2.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("v2 = %+v", v2)
	}
	// Stale and missing revisions conflict and name the current one.
	for _, rev := range []string{"1", "", "7", "x"} {
		upd.RevisionID = rev
		_, err := db.UpdateFlow(ctx, acct, upd)
		if spoke.ErrorCode(err) != spoke.ECONFLICT || !strings.Contains(spoke.ErrorMessage(err), "revision 2") {
			t.Errorf("UpdateFlow(rev %q) = %v, want ECONFLICT naming revision 2", rev, err)
		}
	}
	// Every revision is kept.
	r1, err := db.GetFlowRevision(ctx, acct, created.ID, "1")
	if err != nil || r1.Name != "one" || r1.RevisionID != "1" {
		t.Fatalf("GetFlowRevision 1 = %+v, %v", r1, err)
	}
	r2, err := db.GetFlowRevision(ctx, acct, created.ID, "2")
	if err != nil || r2.Name != "two" {
		t.Fatalf("GetFlowRevision 2 = %+v, %v", r2, err)
	}
	for _, rev := range []string{"3", "0", "abc"} {
		if _, err := db.GetFlowRevision(ctx, acct, created.ID, rev); spoke.ErrorCode(err) != spoke.ENOTFOUND {
			t.Errorf("GetFlowRevision(%q) = %v, want ENOTFOUND", rev, err)
		}
	}

	// Delete.
	if err := db.DeleteFlow(ctx, acct, created.ID); err != nil {
		t.Fatalf("DeleteFlow: %v", err)
	}
	if _, err := db.GetFlow(ctx, acct, created.ID); spoke.ErrorCode(err) != spoke.ENOTFOUND {
		t.Errorf("GetFlow after delete = %v", err)
	}
	if err := db.DeleteFlow(ctx, acct, created.ID); spoke.ErrorCode(err) != spoke.ENOTFOUND {
		t.Errorf("second DeleteFlow = %v", err)
	}
	upd.RevisionID = "2"
	if _, err := db.UpdateFlow(ctx, acct, upd); spoke.ErrorCode(err) != spoke.ENOTFOUND {
		t.Errorf("UpdateFlow after delete = %v", err)
	}
	if r, err := db.GetFlowRevision(ctx, acct, created.ID, "2"); err != nil || r.Name != "two" {
		t.Errorf("revision of a deleted flow = %v, %v", r, err)
	}

	// Unknown ids and other accounts.
	for _, id := range []string{"999", "abc", "", "-1"} {
		if _, err := db.GetFlow(ctx, acct, id); spoke.ErrorCode(err) != spoke.ENOTFOUND {
			t.Errorf("GetFlow(%q) = %v", id, err)
		}
	}
	other, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("three", "0-2", true)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetFlow(ctx, acct+1, other.ID); spoke.ErrorCode(err) != spoke.ENOTFOUND {
		t.Errorf("GetFlow from another account = %v", err)
	}
}

func testFlowListAndEnabled(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	var ids []string
	for i, ot := range []string{"0-1", "0-2", "0-1", "0-3", "0-1"} {
		f, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("f", ot, i%2 == 0)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if err := db.DeleteFlow(ctx, acct, ids[4]); err != nil {
		t.Fatal(err)
	}
	var seen []string
	after := ""
	for pages := 0; pages < 10; pages++ {
		page, more, err := db.ListFlows(ctx, acct, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page {
			seen = append(seen, f.ID)
		}
		if !more {
			break
		}
		after = page[len(page)-1].ID
	}
	if strings.Join(seen, ",") != strings.Join(ids[:4], ",") {
		t.Errorf("listed %v, want %v", seen, ids[:4])
	}
	if _, _, err := db.ListFlows(ctx, acct, "zz", 2); spoke.ErrorCode(err) != spoke.EINVALID {
		t.Errorf("ListFlows(after zz) = %v", err)
	}
	en, err := db.EnabledFlows(ctx, acct, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if len(en) != 2 || en[0].ID != ids[0] || en[1].ID != ids[2] {
		t.Errorf("EnabledFlows(contacts) = %d flows", len(en))
	}
	if en, err := db.EnabledFlows(ctx, acct, "0-2"); err != nil || len(en) != 0 {
		t.Errorf("EnabledFlows(0-2) = %d, %v", len(en), err)
	}
	if _, err := db.EnabledFlows(ctx, acct, "widgets"); spoke.ErrorCode(err) != spoke.EINVALID {
		t.Errorf("EnabledFlows(widgets) = %v", err)
	}
}

func testFlowDocumentFromTypedFields(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	f := &spoke.Flow{Name: "typed", Type: "CONTACT_FLOW", ObjectTypeID: "0-1", FlowType: "WORKFLOW", Actions: []spoke.Action{}}
	got, err := db.CreateFlow(context.Background(), acct, f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got.Raw, &m); err != nil || m["name"] != "typed" {
		t.Fatalf("document %s, %v", got.Raw, err)
	}
	if _, ok := m["id"]; ok {
		t.Errorf("document stores id: %s", got.Raw)
	}
}

func testPropertyExists(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	AddProperty(t, db, acct, spoke.Property{ObjectType: "contacts", Name: "ct_score", Label: "Score", Type: "number", GroupName: "contactinformation"})
	for _, tc := range []struct {
		objectType, name string
		want             bool
	}{
		{"0-1", "email", true},
		{"contacts", "ct_score", true},
		{"0-1", "ct_score", true},
		{"0-2", "ct_score", false},
		{"0-1", "nope", false},
		{"0-9", "email", false},
	} {
		got, err := db.PropertyExists(ctx, acct, tc.objectType, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("PropertyExists(%s, %s) = %v, %v; want %v", tc.objectType, tc.name, got, err, tc.want)
		}
	}
}

// TestFlowConcurrentUpdates races PUTs of the same revision: exactly one
// wins, the others conflict, and no revision is lost or doubled.
func testFlowConcurrentUpdates(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	ctx := context.Background()
	created, err := db.CreateFlow(ctx, acct, parseFlow(t, flowBody("race", "0-1", false)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		f := parseFlow(t, flowBody("racer", "0-1", true))
		f.ID, f.RevisionID = created.ID, "1"
		go func() {
			_, err := db.UpdateFlow(ctx, acct, f)
			errs <- err
		}()
	}
	wins := 0
	for i := 0; i < n; i++ {
		switch err := <-errs; spoke.ErrorCode(err) {
		case "":
			wins++
		case spoke.ECONFLICT:
		default:
			t.Errorf("UpdateFlow: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d updates won, want 1", wins)
	}
	cur, err := db.GetFlow(ctx, acct, created.ID)
	if err != nil || cur.RevisionID != "2" {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if _, err := db.GetFlowRevision(ctx, acct, created.ID, "3"); spoke.ErrorCode(err) != spoke.ENOTFOUND {
		t.Errorf("revision 3 exists: %v", err)
	}
}
