package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

// setupBuiltins is setup with the owners and lists the built-in actions
// use.
func setupBuiltins(t *testing.T) *bundle {
	t.Helper()
	b := setup(t)
	b.eng = New(Config{Store: b.db, Flows: b.flows, Records: b.db, Properties: b.db, Secrets: b.db, Owners: b.db, Lists: b.db, Code: b.code, Now: b.clock.Now})
	b.db.SetTrigger(b.eng.Trigger, b.eng.Wake)
	return b
}

func (b *bundle) put(t *testing.T, id, body string) {
	t.Helper()
	b.flows.put(parseFlow(t, id, body))
	b.eng.FlowsChanged()
}

func (b *bundle) executions(t *testing.T, flowID string) []*spoke.Execution {
	t.Helper()
	xs, _, err := b.db.ListExecutions(context.Background(), b.account, flowID, spoke.ExecutionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

func (b *bundle) only(t *testing.T, flowID string) *spoke.Enrollment {
	t.Helper()
	ens := b.enrollments(t, flowID)
	if len(ens) != 1 {
		t.Fatalf("flow %s has %d enrollments, want 1", flowID, len(ens))
	}
	return ens[0]
}

func (b *bundle) associated(t *testing.T, fromType string, fromID int64, toType string) []int64 {
	t.Helper()
	as, _, err := b.db.ListAssociations(context.Background(), b.account, fromType, fromID, toType, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, a := range as {
		ids = append(ids, a.ToID)
	}
	return ids
}

func (b *bundle) owner(t *testing.T, email string) *spoke.Owner {
	t.Helper()
	o, err := b.db.CreateOwner(context.Background(), b.account, spoke.OwnerInput{Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func manualFlow(actions string) string {
	return `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":true},"actions":[` + actions + `]}`
}

// Create task (0-3) with owner, due date and association, then create a
// deal (0-14) associated with the contact; a STATIC_BRANCH on the create
// action's hs_execution_state and a set property copying its
// hs_object_id read the created deal's id.
func TestCreateTaskAndRecordActions(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	ann := b.owner(t, "ann@example.com")
	b.put(t, "50", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-3","actionTypeVersion":0,"fields":{"task_type":"CALL","subject":"Call {{ enrolled_object.firstname }}",
	    "body":"<p>Follow up</p>","priority":"HIGH","associations":[{"target":{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":204},"value":{"type":"ENROLLED_OBJECT"}}],
	    "use_explicit_associations":"true","owner_assignment":{"type":"CUSTOM","value":{"type":"OBJECT_PROPERTY","propertyName":"hubspot_owner_id"}},
	    "due_time":{"delta":1,"timeUnit":"DAYS","timeOfDay":{"hour":9,"minute":0},"daysOfWeek":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
	   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-14","actionTypeVersion":0,"fields":{"object_type_id":"0-3",
	    "properties":[{"targetProperty":"dealname","value":{"staticValue":"Deal for {{ enrolled_object.firstname }}"}},{"targetProperty":"amount","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}],
	    "associations":[{"target":{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":3},"value":{"type":"ENROLLED_OBJECT"}}],"use_explicit_associations":"true"},
	   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
	  {"type":"STATIC_BRANCH","actionId":"3","inputValue":{"type":"FIELD_DATA","actionId":"2","dataKey":"hs_execution_state"},
	   "staticBranches":[{"branchValue":"SUCCESS","connection":{"edgeType":"STANDARD","nextActionId":"4"}}],"defaultBranchName":"other"},
	  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"type":"FIELD_DATA","actionId":"2","dataKey":"hs_object_id"}}}`))
	c := b.contact(t, map[string]string{"firstname": "Ada", "n": "250", "hubspot_owner_id": strconv.FormatInt(ann.ID, 10)})
	if _, err := b.eng.Enroll(ctx, b.account, "50", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if en := b.only(t, "50"); en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("enrollment %s %+v", en.Status, en.Error)
	}
	tasks := b.associated(t, "contacts", c, "tasks")
	if len(tasks) != 1 {
		t.Fatalf("tasks of the contact: %v", tasks)
	}
	recs, err := b.db.GetRecords(ctx, b.account, "tasks", []string{strconv.FormatInt(tasks[0], 10)}, spoke.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	task := recs[strconv.FormatInt(tasks[0], 10)].Properties
	// Created on Tuesday 2026-03-10 at noon: due the next day at 09:00 UTC.
	due := strconv.FormatInt(time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC).UnixMilli(), 10)
	for k, want := range map[string]string{"hs_task_subject": "Call Ada", "hs_task_type": "CALL", "hs_task_priority": "HIGH", "hs_task_status": "NOT_STARTED",
		"hubspot_owner_id": strconv.FormatInt(ann.ID, 10), "hs_task_body": "<p>Follow up</p>"} {
		if task[k] != want {
			t.Errorf("task %s = %q, want %q", k, task[k], want)
		}
	}
	if ts := task["hs_timestamp"]; !strings.HasPrefix(ts, "2026-03-11T09:00:00") && ts != due {
		t.Errorf("task due %q, want 2026-03-11T09:00Z", ts)
	}
	deals := b.associated(t, "contacts", c, "deals")
	if len(deals) != 1 {
		t.Fatalf("deals of the contact: %v", deals)
	}
	drecs, _ := b.db.GetRecords(ctx, b.account, "deals", []string{strconv.FormatInt(deals[0], 10)}, spoke.ReadOptions{})
	if d := drecs[strconv.FormatInt(deals[0], 10)].Properties; d["dealname"] != "Deal for Ada" || d["amount"] != "250" {
		t.Errorf("deal %v", d)
	}
	if got := b.record(t, c).Properties["jobtitle"]; got != strconv.FormatInt(deals[0], 10) {
		t.Errorf("jobtitle = %q, want the created deal's id %d", got, deals[0])
	}
	for _, x := range b.executions(t, "50") {
		if x.ActionID == "2" && fmt.Sprint(x.Outputs["hs_object_id"]) != strconv.FormatInt(deals[0], 10) {
			t.Errorf("create record execution outputs %v", x.Outputs)
		}
	}
}

// A create record whose properties the store refuses fails the enrollment
// at that action, naming the problem.
func TestCreateRecordFailureFailsTheAction(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	b.put(t, "51", manualFlow(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-14","actionTypeVersion":0,"fields":{"object_type_id":"0-3",
	    "properties":[{"targetProperty":"amount","value":{"staticValue":"lots"}}]}}`))
	c := b.contact(t, nil)
	if _, err := b.eng.Enroll(context.Background(), b.account, "51", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	en := b.only(t, "51")
	if en.Status != spoke.EnrollmentFailed || en.Error == nil || en.Error.Type != "CREATE_FAILED" || !strings.Contains(en.Error.Message, "amount") {
		t.Fatalf("enrollment %s %+v", en.Status, en.Error)
	}
	if n := len(b.associated(t, "contacts", c, "deals")); n != 0 {
		t.Errorf("%d deals created", n)
	}
}

// Static list actions (0-63809083 add, 0-63863438 remove, 0-13 legacy)
// write memberships, and a LIST_BRANCH reads them with IN_LIST.
func TestStaticListActionsAndInListBranch(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	l, err := b.db.CreateList(ctx, b.account, &spoke.List{Name: "Flow list", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := b.db.CreateList(ctx, b.account, &spoke.List{Name: "Legacy", ObjectTypeID: "0-1", ProcessingType: spoke.ListManual})
	if err != nil {
		t.Fatal(err)
	}
	inList := func(id string) string {
		return `{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"IN_LIST","listId":"` + id + `","operator":"IN_LIST"}]}`
	}
	b.put(t, "52", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-63809083","actionTypeVersion":5,"fields":{"targetObject":"{{ enrolled_object }}","listId":"`+l.ID+`"},"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"LIST_BRANCH","actionId":"2","listBranches":[{"branchName":"in","filterBranch":`+inList(l.ID)+`,"connection":{"edgeType":"STANDARD","nextActionId":"3"}}],"defaultBranchName":"out"},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"staticValue":"was in"}},"connection":{"edgeType":"STANDARD","nextActionId":"4"}},
	  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-63863438","actionTypeVersion":0,"fields":{"listId":"`+l.ID+`"},"connection":{"edgeType":"STANDARD","nextActionId":"5"}},
	  {"type":"SINGLE_CONNECTION","actionId":"5","actionTypeId":"0-13","actionTypeVersion":0,"fields":{"operation":"ADD","list_id":"`+legacy.ID+`"}}`))
	c := b.contact(t, nil)
	if _, err := b.eng.Enroll(ctx, b.account, "52", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if en := b.only(t, "52"); en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("enrollment %s %+v", en.Status, en.Error)
	}
	if got := b.record(t, c).Properties["lastname"]; got != "was in" {
		t.Errorf("the branch did not see the membership: lastname %q", got)
	}
	if l, _ := b.db.GetList(ctx, b.account, l.ID, false); l.Size != 0 {
		t.Errorf("list size after remove = %d", l.Size)
	}
	if l, _ := b.db.GetList(ctx, b.account, legacy.ID, false); l.Size != 1 {
		t.Errorf("legacy list size = %d", l.Size)
	}
}

// An action that needs a HubSpot-only product is recorded as SKIPPED and
// the enrollment goes on; a branch can read hs_execution_state.
func TestHubSpotOnlyActionIsSkipped(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	b.put(t, "53", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-4","actionTypeVersion":0,"fields":{"content_id":"178784073234"},"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"STATIC_BRANCH","actionId":"2","inputValue":{"type":"FIELD_DATA","actionId":"1","dataKey":"hs_execution_state"},
	   "staticBranches":[{"branchValue":"SKIPPED","connection":{"edgeType":"STANDARD","nextActionId":"3"}}],"defaultBranchName":"other"},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"staticValue":"not emailed"}}}`))
	c := b.contact(t, nil)
	if _, err := b.eng.Enroll(context.Background(), b.account, "53", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if en := b.only(t, "53"); en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("enrollment %s %+v", en.Status, en.Error)
	}
	if got := b.record(t, c).Properties["lastname"]; got != "not emailed" {
		t.Errorf("lastname %q", got)
	}
	x := b.executions(t, "53")
	var skipped *spoke.Execution
	for _, e := range x {
		if e.ActionID == "1" {
			skipped = e
		}
	}
	if skipped == nil || skipped.Status != "SKIPPED" || !strings.Contains(skipped.Logs, "Marketing Hub") {
		t.Fatalf("execution of the marketing email: %+v", skipped)
	}
}

// Rotate to owner (0-11) assigns the listed users' owners in turn;
// internal notifications (0-9) are recorded on the execution and sent to
// the account's alert webhook.
func TestRotateOwnerAndNotification(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	ann, bob := b.owner(t, "ann@example.com"), b.owner(t, "bob@example.com")
	alerts := make(chan Alert, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("alert body: %v", err)
		}
		alerts <- a
	}))
	defer hook.Close()
	b.eng.Alerts = b.db
	if err := b.db.PutAlertSettings(ctx, &spoke.AlertSettings{AccountID: b.account, URL: hook.URL, FailureRate: 0.2, FailureWindow: 50}); err != nil {
		t.Fatal(err)
	}
	b.put(t, "54", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-11","actionTypeVersion":0,"fields":{"user_ids":["`+strconv.FormatInt(ann.UserID, 10)+`",`+strconv.FormatInt(bob.UserID, 10)+`],"overwrite_current_owner":true},
	   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-9","actionTypeVersion":0,"fields":{"user_ids":["1"],"delivery_method":"APP","subject":"New owner for {{ enrolled_object.email }}","body":"Check it"}}`))
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, b.contact(t, map[string]string{"email": fmt.Sprintf("c%d@example.com", i)}))
		if _, err := b.eng.Enroll(ctx, b.account, "54", ids[i:]); err != nil {
			t.Fatal(err)
		}
		b.drain(t)
	}
	want := []int64{ann.ID, bob.ID, ann.ID}
	for i, id := range ids {
		if got := b.record(t, id).Properties["hubspot_owner_id"]; got != strconv.FormatInt(want[i], 10) {
			t.Errorf("contact %d owner %q, want %d", i, got, want[i])
		}
	}
	found := 0
	for _, x := range b.executions(t, "54") {
		if x.ActionID != "2" {
			continue
		}
		n, _ := x.Outputs["notification"].(map[string]any)
		if x.Status != "SUCCESS" || !strings.HasPrefix(fmt.Sprint(n["subject"]), "New owner for c") {
			t.Errorf("notification execution %+v", x)
		}
		found++
	}
	if found != 3 {
		t.Errorf("%d notifications recorded, want 3", found)
	}
	b.eng.WaitAlerts()
	close(alerts)
	sent := 0
	for a := range alerts {
		if a.Type != AlertNotification || a.FlowID != "54" || !strings.HasPrefix(a.Message, "New owner for c") || a.Details["body"] != "Check it" || a.Details["actionId"] != "2" {
			t.Errorf("alert %+v", a)
		}
		sent++
	}
	if sent != 3 {
		t.Errorf("%d notifications sent to the alert webhook, want 3", sent)
	}
}

// Delay until a date property (0-35) waits until that date at the time
// of day; set property (0-5) copies, increases, decreases and clears.
func TestDelayUntilDateAndPropertyEdits(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	if _, err := b.db.CreateProperty(ctx, b.account, &spoke.Property{ObjectType: "contacts", Name: "renewal", Label: "Renewal", Type: "date", FieldType: "date", GroupName: "contactinformation"}); err != nil {
		t.Fatal(err)
	}
	b.put(t, "55", manualFlow(`
	  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-35","actionTypeVersion":0,"fields":{"date":{"type":"OBJECT_PROPERTY","propertyName":"renewal"},"delta":"-1","time_unit":"DAYS","time_of_day":{"hour":8,"minute":30}},
	   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"type":"OBJECT_PROPERTY","propertyName":"firstname"}},"connection":{"edgeType":"STANDARD","nextActionId":"3"}},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"n","value":{"type":"INCREMENT","incrementAmount":5}},"connection":{"edgeType":"STANDARD","nextActionId":"4"}},
	  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"score","value":{"incrementAmount":-2}},"connection":{"edgeType":"STANDARD","nextActionId":"5"}},
	  {"type":"SINGLE_CONNECTION","actionId":"5","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"type":"STATIC_VALUE","staticValue":""}}}`))
	c := b.contact(t, map[string]string{"renewal": "2026-03-20", "firstname": "Grace", "n": "1", "score": "10", "lastname": "Hopper"})
	if _, err := b.eng.Enroll(ctx, b.account, "55", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	en := b.only(t, "55")
	if want := time.Date(2026, 3, 19, 8, 30, 0, 0, time.UTC); en.Status != spoke.EnrollmentActive || !en.RunAt.Equal(want) || en.WaitReason != spoke.WaitDelay {
		t.Fatalf("waiting enrollment %s until %v (%s), want %v", en.Status, en.RunAt, en.WaitReason, want)
	}
	b.clock.Add(9 * 24 * time.Hour)
	b.drain(t)
	got := b.record(t, c).Properties
	if got["jobtitle"] != "Grace" || got["n"] != "6" || got["score"] != "8" || got["lastname"] != "" {
		t.Errorf("after the delay: %v", got)
	}
}

// EVENT_BASED enrollment: record created, property value changed (old and
// new value in the filter), association added and webhook received (its
// body read with ENROLLMENT_EVENT_PROPERTY); a form submission branch is
// saved but never fires.
func TestEventBasedEnrollment(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	event := func(id, branch, actions string) {
		b.put(t, id, `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
		 "enrollmentCriteria":{"type":"EVENT_BASED","shouldReEnroll":true,"eventFilterBranches":[`+branch+`]},"actions":[`+actions+`]}`)
	}
	setLast := func(v string) string {
		return `{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":` + v + `}}`
	}
	event("60", `{"eventTypeId":"4-1463224","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"lifecyclestage","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["lead"]}}]}`, setLast(`{"staticValue":"created lead"}`))
	event("61", `{"eventTypeId":"4-655002","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"hs_name","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"lifecyclestage"}},
	              {"filterType":"PROPERTY","property":"hs_previous_value","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"lead"}},
	              {"filterType":"PROPERTY","property":"hs_value","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"customer"}}]}`,
		`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lastname","value":{"type":"ENROLLMENT_EVENT_PROPERTY","enrollmentEventPropertyToken":"hs_previous_value"}}}`)
	event("62", `{"eventTypeId":"spoke-association-added","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"toObjectTypeId","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"0-2"}}]}`,
		`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"company","value":{"type":"ENROLLMENT_EVENT_PROPERTY","enrollmentEventPropertyToken":"toObjectId"}}}`)
	event("63", `{"eventTypeId":"spoke-webhook-received","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filterBranches":[],
	   "filters":[{"filterType":"PROPERTY","property":"status","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"paid"}}]}`,
		`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"city","value":{"type":"ENROLLMENT_EVENT_PROPERTY","enrollmentEventPropertyToken":"order.city"}}}`)
	event("64", `{"eventTypeId":"4-1639801","operator":"HAS_COMPLETED","filterBranchType":"UNIFIED_EVENTS","filterBranches":[],"filters":[]}`, setLast(`{"staticValue":"form"}`))

	lead := b.contact(t, map[string]string{"lifecyclestage": "lead"})
	other := b.contact(t, map[string]string{"lifecyclestage": "subscriber"})
	b.drain(t)
	if got := b.record(t, lead).Properties["jobtitle"]; got != "created lead" {
		t.Errorf("record created: jobtitle %q", got)
	}
	if n := len(b.enrollments(t, "60")); n != 1 {
		t.Errorf("record created enrolled %d records, want 1", n)
	}
	// lead → customer raises the change with the old value; subscriber →
	// customer does not match hs_previous_value.
	for _, id := range []int64{lead, other} {
		if _, err := b.db.WriteRecords(ctx, b.account, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(id, 10), Properties: map[string]string{"lifecyclestage": "customer"}}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
			t.Fatal(err)
		}
	}
	b.drain(t)
	if got := b.record(t, lead).Properties["lastname"]; got != "lead" {
		t.Errorf("property changed: lastname %q, want the previous value", got)
	}
	if ens := b.enrollments(t, "61"); len(ens) != 1 || ens[0].ObjectID != lead {
		t.Errorf("property changed enrollments %+v", ens)
	}
	company, err := b.db.WriteRecords(ctx, b.account, "companies", spoke.WriteCreate, []spoke.RecordInput{{Properties: map[string]string{"name": "Acme"}}}, spoke.WriteSource{Type: spoke.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Associate(ctx, b.account, "contacts", other, "companies", company[0].Record.ID, nil); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if got := b.record(t, other).Properties["company"]; got != strconv.FormatInt(company[0].Record.ID, 10) {
		t.Errorf("association added: company %q", got)
	}
	for _, status := range []string{"pending", "paid"} {
		if _, err := b.db.WebhookReceived(ctx, b.account, "63", lead, json.RawMessage(`{"status":"`+status+`","order":{"city":"Cork"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	b.drain(t)
	if got := b.record(t, lead).Properties["city"]; got != "Cork" {
		t.Errorf("webhook: city %q", got)
	}
	if n := len(b.enrollments(t, "63")); n != 1 {
		t.Errorf("webhook enrolled %d times, want 1 (the paid one)", n)
	}
	if n := len(b.enrollments(t, "64")); n != 0 {
		t.Errorf("a form submission event enrolled %d records", n)
	}
}

// LIST_BASED enrollment by membership of a dynamic list: a write that
// makes the record meet the list's filters enrolls it.
func TestEnrollmentByDynamicListMembership(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	ctx := context.Background()
	fb := `{"filterBranchType":"AND","filterBranches":[],"filters":[{"filterType":"PROPERTY","property":"city","operation":{"operationType":"MULTISTRING","operator":"IS_EQUAL_TO","values":["Dublin"]}}]}`
	var branch spoke.FilterBranch
	if err := json.Unmarshal([]byte(fb), &branch); err != nil {
		t.Fatal(err)
	}
	l, err := b.db.CreateList(ctx, b.account, &spoke.List{Name: "Dublin", ObjectTypeID: "0-1", ProcessingType: spoke.ListDynamic, FilterBranch: &branch, FilterRaw: json.RawMessage(fb)})
	if err != nil {
		t.Fatal(err)
	}
	b.put(t, "65", `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
	 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
	   "filters":[{"filterType":"IN_LIST","listId":"`+l.ID+`","operator":"IN_LIST"}]}]}},
	 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"staticValue":"Dubliner"}}}]}`)
	c := b.contact(t, map[string]string{"city": "Cork"})
	b.drain(t)
	if n := len(b.enrollments(t, "65")); n != 0 {
		t.Fatalf("enrolled before joining the list: %d", n)
	}
	if _, err := b.db.WriteRecords(ctx, b.account, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(c, 10), Properties: map[string]string{"city": "Dublin"}}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if got := b.record(t, c).Properties["jobtitle"]; got != "Dubliner" {
		t.Errorf("jobtitle %q after joining the list", got)
	}
}

// flakyTypes answers custom object types with a store error while busy is
// set, and as missing otherwise.
type flakyTypes struct{ busy atomic.Bool }

func (f *flakyTypes) ObjectType(ctx context.Context, account int64, name string) (spoke.ObjectType, error) {
	if f.busy.Load() {
		return spoke.ObjectType{}, errBusy
	}
	return spoke.ObjectType{}, spoke.Invalidf("Object type %s does not exist.", name)
}

// A create record action whose custom object type cannot be read waits on
// the retry schedule instead of failing for good; once the store answers
// that the type does not exist, it fails with INVALID_ACTION.
func TestCreateRecordWaitsOutAnUnreadableType(t *testing.T) {
	t.Parallel()
	b := setupBuiltins(t)
	types := &flakyTypes{}
	types.busy.Store(true)
	b.eng.ObjectTypes = types
	b.put(t, "53", manualFlow(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-14","actionTypeVersion":0,"fields":{"object_type_id":"2-999",
	    "properties":[{"targetProperty":"name","value":{"staticValue":"x"}}]}}`))
	c := b.contact(t, nil)
	if _, err := b.eng.Enroll(context.Background(), b.account, "53", []int64{c}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	en := b.only(t, "53")
	if en.Status != spoke.EnrollmentActive || en.WaitReason != spoke.WaitRetry {
		t.Fatalf("while the type is unreadable: %s waiting %q %+v, want ACTIVE waiting RETRY", en.Status, en.WaitReason, en.Error)
	}
	types.busy.Store(false)
	b.clock.Add(time.Hour)
	b.drain(t)
	if en := b.only(t, "53"); en.Status != spoke.EnrollmentFailed || en.Error == nil || en.Error.Type != "INVALID_ACTION" {
		t.Fatalf("once the type is known missing: %s %+v, want FAILED INVALID_ACTION", en.Status, en.Error)
	}
}
