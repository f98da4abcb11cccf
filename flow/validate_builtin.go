package flow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// builtin checks the fields of the built-in actions besides delay and set
// property: those Spoke runs, and those that need a HubSpot-only product
// (checked for the fields they cannot do without, then saved with a
// warning).
func (v *validator) builtin(a *spoke.Action) error {
	id := a.ActionID
	b, ok := LookupBuiltin(a.ActionTypeID)
	if !ok {
		v.p.add(id, "actionTypeId %s is not supported (Spoke runs %s)", strconv.Quote(a.ActionTypeID), runnableIDs())
		return nil
	}
	switch a.ActionTypeID {
	case spoke.ActionTypeCreateTask:
		if field(a, "subject") == "" {
			v.p.add(id, "create task needs fields.subject")
		}
		if t := field(a, "task_type"); t != "" && !contains([]string{"TODO", "CALL", "EMAIL", "LINKED_IN", "LINKED_IN_CONNECT", "LINKED_IN_MESSAGE"}, t) {
			v.p.add(id, "create task fields.task_type %s is not one of TODO, CALL, EMAIL, LINKED_IN_CONNECT, LINKED_IN_MESSAGE", strconv.Quote(t))
		}
		if p := field(a, "priority"); p != "" && !contains([]string{"NONE", "LOW", "MEDIUM", "HIGH"}, p) {
			v.p.add(id, "create task fields.priority %s is not one of NONE, LOW, MEDIUM, HIGH", strconv.Quote(p))
		}
		if _, err := Due(a); err != nil {
			v.p.add(id, "create task %v", err)
		}
		owner, err := OwnerAssignment(a)
		if err != nil {
			v.p.add(id, "create task %v", err)
		} else if owner != nil {
			if err := v.value(a, "fields.owner_assignment.value", owner); err != nil {
				return err
			}
		}
		return v.associations(a)
	case spoke.ActionTypeCreateNote:
		if field(a, "note_body") == "" {
			v.p.add(id, "create note needs fields.note_body")
		}
		return v.associations(a)
	case spoke.ActionTypeCreateRecord:
		return v.createRecord(a)
	case spoke.ActionTypeRotateOwner:
		if len(idList(a, "user_ids")) == 0 && len(idList(a, "owner_ids")) == 0 && len(idList(a, "team_ids")) == 0 {
			v.p.add(id, "rotate to owner needs fields.user_ids, fields.owner_ids or fields.team_ids (the owners to rotate among)")
		}
		if p := field(a, "target_property"); p != "" {
			return v.checkProperty(id, "fields.target_property", p)
		}
	case spoke.ActionTypeDelayUntil:
		date, err := ObjectValue(a, "date")
		if err != nil {
			v.p.add(id, "delay until a date %v", err)
		} else if err := v.value(a, "fields.date", date); err != nil {
			return err
		}
		if _, ok := a.Fields["delta"]; ok {
			if _, err := strconv.ParseFloat(field(a, "delta"), 64); err != nil {
				v.p.add(id, "delay until a date fields.delta must be a number")
			}
		}
		if u := field(a, "time_unit"); u != "" && !contains(TimeUnits, u) {
			v.p.add(id, "delay until a date fields.time_unit must be one of %s", strings.Join(TimeUnits, ", "))
		}
	case spoke.ActionTypeAddToList, spoke.ActionTypeRemoveList, spoke.ActionTypeListLegacy:
		list, _ := ListOperation(a)
		if list == "" {
			v.p.add(id, "%s needs fields.listId (or list_id), the id of a static list", b.Name)
		}
		if op := field(a, "operation"); a.ActionTypeID == spoke.ActionTypeListLegacy && op != "" && op != "ADD" && op != "REMOVE" {
			v.p.add(id, "static list fields.operation must be ADD or REMOVE")
		}
	case spoke.ActionTypeNotification, spoke.ActionTypeEmailNotification:
		if field(a, "subject") == "" && field(a, "body") == "" {
			v.p.add(id, "%s needs fields.subject or fields.body", b.Name)
		}
	case spoke.ActionTypeMarketingEmail:
		if field(a, "content_id") == "" {
			v.p.add(id, "send marketing email needs fields.content_id, the email's id")
		}
	case "0-46510720":
		if field(a, "sequenceId", "sequence_id") == "" {
			v.p.add(id, "enroll in a sequence needs fields.sequenceId")
		}
	}
	return nil
}

// createRecord checks create record: an object type Spoke knows, its
// properties, the values and the associations.
func (v *validator) createRecord(a *spoke.Action) error {
	id := a.ActionID
	typ := field(a, "object_type_id")
	if typ == "" {
		v.p.add(id, "create record needs fields.object_type_id (0-1 contacts, 0-2 companies, 0-3 deals, 0-5 tickets, 2-… a custom object, ...)")
		return nil
	}
	props, err := RecordProperties(a)
	if err != nil {
		v.p.add(id, "create record %v", err)
		return nil
	}
	for i := range props {
		p := &props[i]
		where := fmt.Sprintf("fields.properties[%d]", i)
		if p.TargetProperty == "" {
			v.p.add(id, "create record %s needs targetProperty", where)
			continue
		}
		if v.c != nil {
			ok, err := v.c.PropertyExists(v.ctx, v.account, typ, p.TargetProperty)
			if err != nil {
				return err
			}
			if !ok {
				v.p.add(id, "create record %s: property %s does not exist on object type %s", where, strconv.Quote(p.TargetProperty), typ)
			}
		}
		if err := v.value(a, where+".value", &p.Value); err != nil {
			return err
		}
	}
	return v.associations(a)
}

// associations checks fields.associations of a create action.
func (v *validator) associations(a *spoke.Action) error {
	specs, err := Associations(a)
	if err != nil {
		v.p.add(a.ActionID, "%v", err)
		return nil
	}
	for i := range specs {
		s := &specs[i]
		if _, err := s.TypeID(); err != nil {
			v.p.add(a.ActionID, "fields.associations[%d].target.%v", i, err)
		}
		switch s.Value.Type {
		case "ENROLLED_OBJECT", "":
		default:
			v.p.add(a.ActionID, "fields.associations[%d].value type %s is not supported (use ENROLLED_OBJECT)", i, strconv.Quote(s.Value.Type))
		}
	}
	return nil
}

// idList reads a field holding ids as strings or numbers.
func idList(a *spoke.Action, name string) []string {
	return IDList(a, name)
}

// IDList reads a field holding a list of ids, written as strings or
// numbers.
func IDList(a *spoke.Action, name string) []string {
	raw, ok := a.Fields[name]
	if !ok {
		return nil
	}
	var items []any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case string:
			out = append(out, x)
		case float64:
			out = append(out, strconv.FormatInt(int64(x), 10))
		}
	}
	return out
}

// runnableIDs lists the actionTypeIds Spoke runs, for messages.
func runnableIDs() string {
	return strings.Join([]string{"0-1 delay", "0-3 create task", "0-5 set property", "0-8/0-9 notifications", "0-11 rotate owner",
		"0-13/0-63809083/0-63863438 static lists", "0-14 create record", "0-35 delay until", "0-169425243 create note"}, ", ") +
		"; marketing email, sequences, SMS, ads audiences and 1-… integration actions are saved and skipped"
}

// events checks EVENT_BASED criteria: at least one event branch, each
// with an eventTypeId and filters Evaluate can run. Filters of the events
// Spoke raises test event properties (hs_name, hs_value, ...) or the
// record's, so they are not checked against the flow's properties.
func (v *validator) events(ec *spoke.EnrollmentCriteria) error {
	if len(ec.EventFilterBranches) == 0 {
		v.p.add("", "enrollmentCriteria of type EVENT_BASED needs eventFilterBranches, one per event that enrolls")
		return nil
	}
	for i := range ec.EventFilterBranches {
		b := &ec.EventFilterBranches[i]
		where := fmt.Sprintf("enrollmentCriteria.eventFilterBranches[%d]", i)
		if b.EventTypeID == "" {
			v.p.add("", "%s needs an eventTypeId (%s record created, %s property value changed, %s, %s, or a HubSpot event type)",
				where, spoke.EventRecordCreated, spoke.EventPropertyChanged, spoke.EventAssociationAdded, spoke.EventWebhookReceived)
		}
		if err := v.filterBranch("", where, &spoke.FilterBranch{FilterBranchType: "UNIFIED_EVENTS", Filters: b.Filters}); err != nil {
			return err
		}
		for j := range b.FilterBranches {
			if err := v.filterBranch("", fmt.Sprintf("%s.filterBranches[%d]", where, j), &b.FilterBranches[j]); err != nil {
				return err
			}
		}
	}
	return nil
}
