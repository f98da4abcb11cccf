package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// demoFlow is the sample flow of --demo: custom code reads the contact's
// email and returns its domain, a set property writes it to website, and
// a built-in create task asks the contact's owner to follow up. It is
// enabled with MANUAL enrollment, so a new user enrolls a contact and
// watches it run.
const demoFlow = `{
  "name": "Demo: enrich a contact and create a follow-up task",
  "description": "Added by spoke serve --demo. Enroll a contact (POST /automation/v4/flows/{id}/enrollments) to run it.",
  "type": "CONTACT_FLOW", "objectTypeId": "0-1", "flowType": "WORKFLOW", "isEnabled": true,
  "enrollmentCriteria": {"type": "MANUAL", "shouldReEnroll": true},
  "actions": [
    {"type": "CUSTOM_CODE", "actionId": "1", "runtime": "NODE20X", "secretNames": [],
     "sourceCode": "exports.main = async (event, callback) => {\n  const email = event.inputFields.email || '';\n  const domain = email.includes('@') ? email.split('@')[1].toLowerCase() : '';\n  console.log('domain of', email, 'is', domain);\n  callback({ outputFields: { domain } });\n};\n",
     "inputFields": [{"name": "email", "value": {"type": "OBJECT_PROPERTY", "propertyName": "email"}}],
     "outputFields": [{"name": "domain", "type": "STRING"}],
     "connection": {"edgeType": "STANDARD", "nextActionId": "2"}},
    {"type": "SINGLE_CONNECTION", "actionId": "2", "actionTypeId": "0-5", "actionTypeVersion": 0,
     "fields": {"property_name": "website", "value": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "domain"}},
     "connection": {"edgeType": "STANDARD", "nextActionId": "3"}},
    {"type": "SINGLE_CONNECTION", "actionId": "3", "actionTypeId": "0-3", "actionTypeVersion": 0,
     "fields": {"task_type": "TODO", "subject": "Follow up with {{ enrolled_object.firstname }}", "priority": "MEDIUM",
       "owner_assignment": {"type": "CUSTOM", "value": {"type": "OBJECT_PROPERTY", "propertyName": "hubspot_owner_id"}},
       "due_time": {"delta": 2, "timeUnit": "DAYS", "timeOfDay": {"hour": 9, "minute": 0}}}}
  ]
}`

// seedDemoWork adds to the demo records: deals across the default
// pipeline's stages, open tasks for the contacts' owners, and the sample
// flow.
func seedDemoWork(ctx context.Context, db store, acct int64, contacts, companies []spoke.WriteResult, owners []string) error {
	src := spoke.WriteSource{Type: spoke.SourceImport, ID: "demo"}
	deals := []spoke.RecordInput{
		{Properties: map[string]string{"dealname": "Analytical Engine pilot", "amount": "40000", "dealstage": "appointmentscheduled", "pipeline": "default", spoke.PropOwnerID: owners[0]}},
		{Properties: map[string]string{"dealname": "Polonium assays", "amount": "95000", "dealstage": "qualifiedtobuy", "pipeline": "default", spoke.PropOwnerID: owners[1]}},
		{Properties: map[string]string{"dealname": "Radium lab fit-out", "amount": "180000", "dealstage": "closedwon", "pipeline": "default", spoke.PropOwnerID: owners[1]}},
	}
	for i := range deals {
		co := companies[min(i, 1)].Record.ID
		if i > 0 {
			co = companies[1].Record.ID
		}
		if id, ok := spoke.DefaultAssociationTypeID("deals", "companies"); ok {
			deals[i].Associations = []spoke.AssociationInput{{ToID: fmt.Sprint(co), Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}}}
		}
	}
	if err := writeAll(ctx, db, acct, "deals", deals, src); err != nil {
		return err
	}
	due := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour)
	var tasks []spoke.RecordInput
	for i, c := range contacts {
		t := spoke.RecordInput{Properties: map[string]string{"hs_task_subject": "Call " + c.Record.Properties["firstname"], "hs_task_status": "NOT_STARTED",
			"hs_task_type": "CALL", "hs_task_priority": "MEDIUM", "hs_timestamp": strconv.FormatInt(due.Add(time.Duration(i)*time.Hour).UnixMilli(), 10),
			spoke.PropOwnerID: c.Record.Properties[spoke.PropOwnerID]}}
		if id, ok := spoke.DefaultAssociationTypeID("tasks", "contacts"); ok {
			t.Associations = []spoke.AssociationInput{{ToID: fmt.Sprint(c.Record.ID), Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}}}
		}
		tasks = append(tasks, t)
	}
	if err := writeAll(ctx, db, acct, "tasks", tasks, src); err != nil {
		return err
	}
	f, err := flow.Parse([]byte(demoFlow))
	if err != nil {
		return fmt.Errorf("demo flow: %w", err)
	}
	if err := flow.Validate(ctx, acct, f, db); err != nil {
		return fmt.Errorf("demo flow: %w", err)
	}
	_, err = db.CreateFlow(ctx, acct, f)
	return err
}

// writeAll creates records and returns the first error of any.
func writeAll(ctx context.Context, db store, acct int64, objectType string, inputs []spoke.RecordInput, src spoke.WriteSource) error {
	res, err := db.WriteRecords(ctx, acct, objectType, spoke.WriteCreate, inputs, src)
	if err != nil {
		return fmt.Errorf("demo %s: %w", objectType, err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("demo %s: %w", objectType, r.Err)
		}
	}
	return nil
}
