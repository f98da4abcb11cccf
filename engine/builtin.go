package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// runBuiltin runs the built-in SINGLE_CONNECTION actions besides delay and
// set property, and reports whether it knew the action type. Every one
// gives hs_execution_state (SUCCESS or SKIPPED) to later actions.
//
// With dryRun (a test run), notifications are not sent.
func (e *Engine) runBuiltin(ctx context.Context, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome, dryRun bool) bool {
	b, ok := flow.LookupBuiltin(act.ActionTypeID)
	if !ok {
		return false
	}
	o.outputs = map[string]string{flow.ExecutionState: "SUCCESS"}
	if b.Product != "" {
		// HubSpot-only products: recorded, skipped, and the enrollment
		// goes on.
		o.outputs[flow.ExecutionState] = "SKIPPED"
		o.exec.Status = "SKIPPED"
		o.exec.Logs = fmt.Sprintf("Skipped: %s needs %s, which Spoke does not have. The enrollment goes on.\n", b.Name, b.Product)
		o.exec.Outputs = map[string]any{flow.ExecutionState: "SKIPPED"}
		return true
	}
	switch act.ActionTypeID {
	case spoke.ActionTypeCreateTask, spoke.ActionTypeCreateNote, spoke.ActionTypeCreateRecord:
		e.createRecord(ctx, act, en, rec, t, o)
	case spoke.ActionTypeAddToList, spoke.ActionTypeRemoveList, spoke.ActionTypeListLegacy:
		list, add := flow.ListOperation(act)
		o.effects = append(o.effects, spoke.StepEffect{ActionID: act.ActionID, ListID: list, ListAdd: add})
		op := "REMOVE"
		if add {
			op = "ADD"
		}
		o.exec.Inputs = map[string]any{"listId": list, "operation": op}
		o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS"}
	case spoke.ActionTypeNotification, spoke.ActionTypeEmailNotification:
		e.notify(ctx, act, en, rec, t, o, dryRun)
	case spoke.ActionTypeRotateOwner:
		e.rotateOwner(ctx, act, en, rec, t, o)
	case spoke.ActionTypeDelayUntil:
		e.delayUntil(act, en, rec, t, o)
	default:
		return false
	}
	return true
}

// personalize replaces HubSpot's personalization tokens
// {{ enrolled_object.property }} with the enrolled record's values.
var personalizeRe = regexp.MustCompile(`\{\{\s*enrolled_object\.([A-Za-z0-9_]+)\s*\}\}`)

func personalize(s string, rec *spoke.Record, t spoke.ObjectType) string {
	return personalizeRe.ReplaceAllStringFunc(s, func(m string) string {
		v, _ := rec.Value(t, personalizeRe.FindStringSubmatch(m)[1])
		return v
	})
}

// createRecord builds the record a create task, create note or create
// record action makes, with its associations to the enrolled record; the
// store creates it in the step's commit and gives its id to later
// actions as hs_object_id.
func (e *Engine) createRecord(ctx context.Context, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	now := e.Now()
	create := &spoke.RecordCreate{Properties: map[string]string{}}
	text := func(name string) string { return personalize(flow.Field(act, name), rec, t) }
	switch act.ActionTypeID {
	case spoke.ActionTypeCreateTask:
		create.ObjectType = "tasks"
		p := create.Properties
		p["hs_task_subject"], p["hs_task_status"] = text("subject"), "NOT_STARTED"
		p["hs_task_type"] = strings.ToUpper(flow.Field(act, "task_type"))
		if p["hs_task_type"] == "" {
			p["hs_task_type"] = "TODO"
		}
		if body := text("body"); body != "" {
			p["hs_task_body"] = body
		}
		if pr := flow.Field(act, "priority"); pr != "" {
			p["hs_task_priority"] = pr
		}
		due, err := flow.Due(act)
		if err != nil {
			o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
			return
		}
		p["hs_timestamp"] = strconv.FormatInt(dueAt(now, due).UnixMilli(), 10)
		owner, err := flow.OwnerAssignment(act)
		if err != nil {
			o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
			return
		}
		if owner != nil {
			id, aerr := e.resolve(owner, en, rec, t)
			if aerr != nil {
				o.err = aerr
				return
			}
			if id != "" {
				p["hubspot_owner_id"] = id
			}
		}
	case spoke.ActionTypeCreateNote:
		create.ObjectType = "notes"
		create.Properties["hs_note_body"] = text("note_body")
		create.Properties["hs_timestamp"] = strconv.FormatInt(now.UnixMilli(), 10)
	case spoke.ActionTypeCreateRecord:
		typ := flow.Field(act, "object_type_id")
		nt, err := e.objectType(ctx, en.AccountID, typ)
		if missingType(err) {
			o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: fmt.Sprintf("Object type %s does not exist.", typ)}
			return
		}
		if err != nil {
			e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The object type could not be read: %v", err))
			return
		}
		create.ObjectType = nt.Name
		props, err := flow.RecordProperties(act)
		if err != nil {
			o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
			return
		}
		for i := range props {
			v, aerr := e.resolve(&props[i].Value, en, rec, t)
			if aerr != nil {
				o.err = aerr
				return
			}
			if props[i].Value.Type == spoke.ValueStatic {
				v = personalize(v, rec, t)
			}
			create.Properties[props[i].TargetProperty] = v
		}
	}
	specs, err := flow.Associations(act)
	if err != nil {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
		return
	}
	to := strconv.FormatInt(rec.ID, 10)
	for i := range specs {
		id, err := specs[i].TypeID()
		if err != nil {
			o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
			return
		}
		cat := specs[i].Target.AssociationCategory
		if cat == "" {
			cat = spoke.CategoryHubSpot
		}
		create.Associations = append(create.Associations, spoke.AssociationInput{ToID: to, Types: []spoke.AssociationType{{Category: cat, TypeID: id}}})
	}
	if len(specs) == 0 && flow.Field(act, "use_explicit_associations") != "true" {
		// Without explicit associations, HubSpot associates the new
		// record with the enrolled one.
		if id, ok := spoke.DefaultAssociationTypeID(create.ObjectType, rec.ObjectType); ok {
			create.Associations = append(create.Associations, spoke.AssociationInput{ToID: to, Types: []spoke.AssociationType{{Category: spoke.CategoryHubSpot, TypeID: id}}})
		}
	}
	o.effects = append(o.effects, spoke.StepEffect{ActionID: act.ActionID, Create: create})
	inputs := map[string]any{"objectType": create.ObjectType, "properties": create.Properties}
	if len(create.Associations) > 0 {
		inputs["associations"] = create.Associations
	}
	o.exec.Inputs = inputs
	o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS"}
}

// dueAt is when a task created at now is due: HubSpot's due_time (delta
// time units later, at timeOfDay UTC, on one of daysOfWeek), or now.
func dueAt(now time.Time, due *flow.DueTime) time.Time {
	if due == nil {
		return now
	}
	at := now
	if n, err := due.Delta.Float64(); err == nil && n != 0 {
		at = at.Add(time.Duration(n * float64(unitDuration(due.TimeUnit))))
	}
	if due.TimeOfDay != nil {
		y, m, d := at.UTC().Date()
		at = time.Date(y, m, d, due.TimeOfDay.Hour, due.TimeOfDay.Minute, 0, 0, time.UTC)
	}
	if len(due.DaysOfWeek) > 0 {
		for i := 0; i < 7; i++ {
			if containsFold(due.DaysOfWeek, at.Weekday().String()) {
				break
			}
			at = at.AddDate(0, 0, 1)
		}
	}
	return at
}

func unitDuration(unit string) time.Duration {
	switch strings.ToUpper(unit) {
	case "SECONDS":
		return time.Second
	case "MINUTES":
		return time.Minute
	case "HOURS":
		return time.Hour
	case "WEEKS":
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// notify records an internal notification (in-app 0-9 or email 0-8) on
// the execution and sends it as a WORKFLOW_NOTIFICATION alert to the
// account's alert webhook when one is set (Spoke has no users to notify).
// Like a webhook action, a round that is run again may send it again.
func (e *Engine) notify(ctx context.Context, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome, dryRun bool) {
	n := map[string]any{
		"subject": personalize(flow.Field(act, "subject"), rec, t),
		"body":    personalize(flow.Field(act, "body"), rec, t),
	}
	for _, k := range []string{"user_ids", "team_ids", "owner_properties"} {
		if ids := flow.IDList(act, k); len(ids) > 0 {
			n[k] = ids
		}
	}
	if m := flow.Field(act, "delivery_method"); m != "" {
		n["delivery_method"] = m
	}
	o.exec.Inputs = n
	o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS", "notification": n}
	o.exec.Logs = fmt.Sprintf("Notification for flow %s, record %d: %v\n", en.FlowID, rec.ID, n["subject"])
	if dryRun {
		return
	}
	details := map[string]any{"actionId": act.ActionID, "actionTypeId": act.ActionTypeID, "objectType": t.EventName,
		"objectId": strconv.FormatInt(rec.ID, 10), "enrollmentId": strconv.FormatInt(en.ID, 10)}
	for k, v := range n {
		details[k] = v
	}
	e.alert(ctx, Alert{Type: AlertNotification, AccountID: en.AccountID, FlowID: en.FlowID, Message: fmt.Sprint(n["subject"]), Details: details})
}

// rotation keeps, per flow action, the next owner to assign, so rotate to
// owner goes round the owners in turn. It is in memory, for a store that
// one process owns: after a restart the rotation starts again at the
// first owner. A shared store keeps the turns instead (spoke.OwnerRotator).
type rotation struct {
	mu   sync.Mutex
	next map[string]int
}

func (r *rotation) take(key string, n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == nil {
		r.next = map[string]int{}
	}
	i := r.next[key] % n
	r.next[key] = i + 1
	return i
}

// rotateOwner assigns the record to the next of the action's owners
// (fields.user_ids are users, owner_ids owners, team_ids the owners of
// those teams), in turn. With overwrite_current_owner false, a record
// that has an owner keeps it.
func (e *Engine) rotateOwner(ctx context.Context, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	prop := flow.Field(act, "target_property")
	if prop == "" {
		prop = spoke.PropOwnerID
	}
	if cur, _ := rec.Value(t, prop); cur != "" && flow.Field(act, "overwrite_current_owner") == "false" {
		o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS", prop: cur, "kept": true}
		o.outputs["hubspot_owner_id"] = cur
		return
	}
	owners, err := e.rotationOwners(ctx, en.AccountID, act)
	if err != nil {
		e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The owners could not be read: %v", err))
		return
	}
	if len(owners) == 0 {
		o.err = &spoke.ActionError{Type: "NO_OWNERS", Message: "None of the action's users, owners or teams is a live owner; there is nobody to rotate to."}
		return
	}
	var turn int
	if e.rotations == nil {
		turn = e.rotation.take(en.FlowID+"/"+act.ActionID, len(owners))
	} else {
		n, err := e.rotations.TakeTurn(ctx, en.AccountID, en.FlowID, act.ActionID)
		if err != nil {
			e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The owner rotation could not be read: %v", err))
			return
		}
		turn = int(n % int64(len(owners)))
	}
	owner := owners[turn]
	o.writes = map[string]string{prop: owner}
	o.outputs["hubspot_owner_id"] = owner
	o.exec.Inputs = map[string]any{"owners": owners}
	o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS", prop: owner}
}

// rotationOwners returns the owner ids a rotate action names, in order,
// each once.
func (e *Engine) rotationOwners(ctx context.Context, account int64, act *spoke.Action) ([]string, error) {
	if e.Owners == nil {
		return flow.IDList(act, "owner_ids"), nil
	}
	all, _, err := e.Owners.ListOwners(ctx, account, spoke.OwnerListOptions{Limit: -1})
	if err != nil {
		return nil, err
	}
	var out []string
	add := func(id int64) {
		s := strconv.FormatInt(id, 10)
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, uid := range flow.IDList(act, "user_ids") {
		for _, ow := range all {
			if strconv.FormatInt(ow.UserID, 10) == uid {
				add(ow.ID)
			}
		}
	}
	for _, oid := range flow.IDList(act, "owner_ids") {
		for _, ow := range all {
			if strconv.FormatInt(ow.ID, 10) == oid {
				add(ow.ID)
			}
		}
	}
	for _, tid := range flow.IDList(act, "team_ids") {
		for _, ow := range all {
			for _, tm := range ow.Teams {
				if strconv.FormatInt(tm.ID, 10) == tid {
					add(ow.ID)
				}
			}
		}
	}
	return out, nil
}

// delayUntil waits until a date (fields.date: a static date or a date
// property), moved by delta time_units and set to time_of_day (UTC). A
// date that has passed, or a property with no value, does not wait.
func (e *Engine) delayUntil(act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	now := e.Now()
	src, err := flow.ObjectValue(act, "date")
	if err != nil {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: err.Error()}
		return
	}
	v, aerr := e.resolve(src, en, rec, t)
	if aerr != nil {
		o.err = aerr
		return
	}
	o.exec.Inputs = map[string]any{"date": v}
	if v == "" {
		o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS", "resumeAt": spoke.FormatTime(now)}
		o.exec.Logs = "The date is not set; the enrollment goes on.\n"
		return
	}
	at, err := parseDate(v)
	if err != nil {
		o.err = &spoke.ActionError{Type: "INVALID_VALUE", Message: fmt.Sprintf("Delay until a date: %q is not a date.", v)}
		return
	}
	if n, err := strconv.ParseFloat(flow.Field(act, "delta"), 64); err == nil && n != 0 {
		at = at.Add(time.Duration(n * float64(unitDuration(flow.Field(act, "time_unit")))))
	}
	if raw, ok := act.Fields["time_of_day"]; ok {
		var tod spoke.TimeOfDay
		if json.Unmarshal(raw, &tod) == nil {
			y, m, d := at.UTC().Date()
			at = time.Date(y, m, d, tod.Hour, tod.Minute, 0, 0, time.UTC)
		}
	}
	wait := at.Sub(now)
	if wait < 0 {
		wait = 0
	}
	if wait > MaxDelay {
		wait = MaxDelay
	}
	o.wait, o.waitReason = wait, spoke.WaitDelay
	o.outputs["resumeAt"] = spoke.FormatTime(now.Add(wait))
	o.exec.Outputs = map[string]any{flow.ExecutionState: "SUCCESS", "resumeAt": spoke.FormatTime(now.Add(wait))}
}

// parseDate reads a date or datetime as Spoke stores them (YYYY-MM-DD,
// ISO 8601) or as epoch milliseconds.
func parseDate(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date")
}
