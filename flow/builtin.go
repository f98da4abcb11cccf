package flow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
)

// Builtin describes a built-in SINGLE_CONNECTION action type.
type Builtin struct {
	Name string
	// Product names the HubSpot-only product the action needs; Spoke
	// saves the action with a warning and records it as SKIPPED when it
	// runs. Empty for the actions Spoke runs.
	Product string
	// Outputs are the data keys later actions may read with FIELD_DATA.
	Outputs []string
}

// ExecutionState is the output every built-in action gives: SUCCESS, or
// SKIPPED for an action that needs a HubSpot-only product.
const ExecutionState = "hs_execution_state"

// Builtins are the built-in actionTypeIds Spoke accepts, by id.
var Builtins = map[string]Builtin{
	spoke.ActionTypeDelay:             {Name: "delay"},
	spoke.ActionTypeSetProperty:       {Name: "set property value"},
	spoke.ActionTypeCreateTask:        {Name: "create task", Outputs: []string{spoke.PropObjectID}},
	spoke.ActionTypeCreateRecord:      {Name: "create record", Outputs: []string{spoke.PropObjectID}},
	spoke.ActionTypeCreateNote:        {Name: "create note", Outputs: []string{spoke.PropObjectID}},
	spoke.ActionTypeRotateOwner:       {Name: "rotate record to owner", Outputs: []string{"hubspot_owner_id"}},
	spoke.ActionTypeDelayUntil:        {Name: "delay until a date", Outputs: []string{"resumeAt"}},
	spoke.ActionTypeAddToList:         {Name: "add to static list"},
	spoke.ActionTypeRemoveList:        {Name: "remove from static list"},
	spoke.ActionTypeListLegacy:        {Name: "add to or remove from static list"},
	spoke.ActionTypeNotification:      {Name: "send in-app notification"},
	spoke.ActionTypeEmailNotification: {Name: "send internal email notification"},
	spoke.ActionTypeMarketingEmail:    {Name: "send marketing email", Product: "HubSpot Marketing Hub (marketing email)"},
	"0-30":                            {Name: "add to or remove from ads audience", Product: "HubSpot Ads (ads audiences)"},
	"0-46510720":                      {Name: "enroll in a sequence", Product: "HubSpot Sales Hub (sequences)"},
	"0-4702372":                       {Name: "unenroll from sequences", Product: "HubSpot Sales Hub (sequences)"},
	"0-40900952":                      {Name: "send SMS", Product: "HubSpot SMS"},
	"0-25085031":                      {Name: "send WhatsApp message", Product: "HubSpot WhatsApp"},
	"0-31":                            {Name: "set marketing contact status", Product: "HubSpot Marketing Hub (marketing contacts)"},
	"0-43347357":                      {Name: "manage communication subscriptions", Product: "HubSpot subscription types"},
}

// LookupBuiltin returns the description of an actionTypeId. Integration
// actions ("1-…", apps installed in a HubSpot portal) are accepted as
// needing that app.
func LookupBuiltin(id string) (Builtin, bool) {
	if b, ok := Builtins[id]; ok {
		return b, true
	}
	if strings.HasPrefix(id, "1-") {
		return Builtin{Name: "integration action " + id, Product: "the HubSpot marketplace app of action type " + id}, true
	}
	return Builtin{}, false
}

// actionOutputs returns the data keys an action gives later actions:
// custom code's declared outputs, or a built-in action's.
func actionOutputs(a *spoke.Action) []string {
	if a.Type == spoke.ActionCustomCode {
		names := make([]string, 0, len(a.OutputFields))
		for _, o := range a.OutputFields {
			names = append(names, o.Name)
		}
		return names
	}
	if a.Type != spoke.ActionSingleConnection {
		return nil
	}
	b, ok := LookupBuiltin(a.ActionTypeID)
	if !ok {
		return nil
	}
	return append([]string{ExecutionState}, b.Outputs...)
}

// Warning is something a person saving a flow should know although the
// flow is valid. ActionID is "" for the enrollment criteria.
type Warning struct {
	ActionID string
	// Rule is "hubspot-only-action" or "event-not-raised".
	Rule    string
	Message string
}

// Warnings returns the flow's actions that need a HubSpot-only product
// (recorded as SKIPPED when they run) and the enrollment events Spoke
// never raises.
func Warnings(f *spoke.Flow) []Warning {
	var out []Warning
	for i := range f.Actions {
		a := &f.Actions[i]
		if a.Type != spoke.ActionSingleConnection {
			continue
		}
		if b, ok := LookupBuiltin(a.ActionTypeID); ok && b.Product != "" {
			out = append(out, Warning{ActionID: a.ActionID, Rule: "hubspot-only-action",
				Message: fmt.Sprintf("action %s (%s, actionTypeId %s) needs %s; Spoke records it as SKIPPED and the enrollment goes on",
					strconv.Quote(a.ActionID), b.Name, a.ActionTypeID, b.Product)})
		}
	}
	if ec := f.EnrollmentCriteria; ec != nil && ec.Type == spoke.EnrollEvent {
		for i, b := range ec.EventFilterBranches {
			if !RaisedEvent(b.EventTypeID) {
				out = append(out, Warning{Rule: "event-not-raised", Message: fmt.Sprintf("enrollmentCriteria.eventFilterBranches[%d]: event type %s is not raised by Spoke (it raises record created %s, property value changed %s, %s and %s); this branch never enrolls",
					i, strconv.Quote(b.EventTypeID), spoke.EventRecordCreated, spoke.EventPropertyChanged, spoke.EventAssociationAdded, spoke.EventWebhookReceived)})
			}
		}
	}
	return out
}

// RaisedEvent reports whether Spoke raises events of a type.
func RaisedEvent(id string) bool {
	switch id {
	case spoke.EventRecordCreated, spoke.EventPropertyChanged, spoke.EventAssociationAdded, spoke.EventWebhookReceived:
		return true
	}
	return false
}

// field decodes a string field that HubSpot writes as a string or a
// number ("list_id": "178" or 178).
func field(a *spoke.Action, names ...string) string {
	for _, n := range names {
		raw, ok := a.Fields[n]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		var num json.Number
		if json.Unmarshal(raw, &num) == nil {
			return num.String()
		}
	}
	return ""
}

// Field is field for the engine: a string or number field's text.
func Field(a *spoke.Action, names ...string) string { return field(a, names...) }

// ListOperation returns the static list and the operation (true to add)
// of a static-list action.
func ListOperation(a *spoke.Action) (listID string, add bool) {
	listID = field(a, "listId", "list_id")
	switch a.ActionTypeID {
	case spoke.ActionTypeAddToList:
		return listID, true
	case spoke.ActionTypeRemoveList:
		return listID, false
	}
	return listID, !strings.EqualFold(field(a, "operation"), "REMOVE")
}

// AssociationSpec is one entry of a create action's fields.associations:
// the association type from the new record, and the record it goes to
// (value type ENROLLED_OBJECT: the enrolled record).
type AssociationSpec struct {
	Target struct {
		AssociationCategory string          `json:"associationCategory"`
		AssociationTypeID   json.RawMessage `json:"associationTypeId"`
	} `json:"target"`
	Value spoke.Value `json:"value"`
}

// TypeID returns the association type id.
func (s *AssociationSpec) TypeID() (int, error) {
	var n json.Number
	if err := json.Unmarshal(s.Target.AssociationTypeID, &n); err != nil {
		var str string
		if json.Unmarshal(s.Target.AssociationTypeID, &str) != nil {
			return 0, fmt.Errorf("associationTypeId must be a number")
		}
		n = json.Number(str)
	}
	id, err := strconv.Atoi(n.String())
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("associationTypeId must be a positive integer")
	}
	return id, nil
}

// Associations decodes fields.associations.
func Associations(a *spoke.Action) ([]AssociationSpec, error) {
	raw, ok := a.Fields["associations"]
	if !ok {
		return nil, nil
	}
	var out []AssociationSpec
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("fields.associations must be an array of {target: {associationCategory, associationTypeId}, value: {type: ENROLLED_OBJECT}}")
	}
	return out, nil
}

// PropertyValue is one entry of create record's fields.properties.
type PropertyValue struct {
	TargetProperty string      `json:"targetProperty"`
	Value          spoke.Value `json:"value"`
}

// RecordProperties decodes create record's fields.properties.
func RecordProperties(a *spoke.Action) ([]PropertyValue, error) {
	raw, ok := a.Fields["properties"]
	if !ok {
		return nil, nil
	}
	var out []PropertyValue
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("fields.properties must be an array of {targetProperty, value}")
	}
	return out, nil
}

// ObjectValue decodes an object field holding a value source
// (delay-until's fields.date).
func ObjectValue(a *spoke.Action, name string) (*spoke.Value, error) {
	raw, ok := a.Fields[name]
	if !ok || firstByte(raw) != '{' {
		return nil, fmt.Errorf("fields.%s must be a value object", name)
	}
	var v spoke.Value
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("fields.%s: %v", name, err)
	}
	return &v, nil
}

// OwnerAssignment decodes create task's fields.owner_assignment: the
// value to take the owner id from, or nil for none.
func OwnerAssignment(a *spoke.Action) (*spoke.Value, error) {
	raw, ok := a.Fields["owner_assignment"]
	if !ok {
		if id := field(a, "owner_id"); id != "" {
			return &spoke.Value{Type: spoke.ValueStatic, StaticValue: id}, nil
		}
		return nil, nil
	}
	var oa struct {
		Type  string       `json:"type"`
		Value *spoke.Value `json:"value"`
	}
	if err := json.Unmarshal(raw, &oa); err != nil {
		return nil, fmt.Errorf("fields.owner_assignment must be {type: CUSTOM, value: {...}}")
	}
	if oa.Value == nil {
		// HubSpot's default: the enrolled record's owner.
		return &spoke.Value{Type: spoke.ValueObjectProperty, PropertyName: "hubspot_owner_id"}, nil
	}
	return oa.Value, nil
}

// DueTime is create task's fields.due_time: delta time units from now,
// at a time of day (UTC), moved to the next of daysOfWeek.
type DueTime struct {
	Delta      json.Number `json:"delta"`
	TimeUnit   string      `json:"timeUnit"`
	TimeOfDay  *spoke.TimeOfDay
	DaysOfWeek []string `json:"daysOfWeek"`
}

// UnmarshalJSON reads delta as a number or a string.
func (d *DueTime) UnmarshalJSON(b []byte) error {
	var raw struct {
		Delta      json.RawMessage  `json:"delta"`
		TimeUnit   string           `json:"timeUnit"`
		TimeOfDay  *spoke.TimeOfDay `json:"timeOfDay"`
		DaysOfWeek []string         `json:"daysOfWeek"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.TimeUnit, d.TimeOfDay, d.DaysOfWeek = raw.TimeUnit, raw.TimeOfDay, raw.DaysOfWeek
	if len(raw.Delta) > 0 {
		s := strings.Trim(string(raw.Delta), `"`)
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("delta must be a number")
		}
		d.Delta = json.Number(s)
	}
	return nil
}

// Due decodes fields.due_time, nil when absent.
func Due(a *spoke.Action) (*DueTime, error) {
	raw, ok := a.Fields["due_time"]
	if !ok {
		return nil, nil
	}
	var d DueTime
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("fields.due_time must be {delta, timeUnit, timeOfDay: {hour, minute}, daysOfWeek}: %v", err)
	}
	if d.TimeUnit != "" && !contains(TimeUnits, d.TimeUnit) {
		return nil, fmt.Errorf("fields.due_time.timeUnit must be one of %s", strings.Join(TimeUnits, ", "))
	}
	return &d, nil
}
