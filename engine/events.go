package engine

import (
	"encoding/json"
	"sort"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// eventTrigger decides whether a record change raises one of an
// EVENT_BASED flow's events: record created, property value changed
// (once per changed property, its name, new and old value readable as
// hs_name, hs_value and hs_previous_value), association added, or the
// flow's webhook received. Each event branch's filters must hold, read
// over the event's properties and then the record's values after the
// change; a listFilterBranch on the criteria must hold too. It returns
// the event's properties as JSON for ENROLLMENT_EVENT_PROPERTY values.
func eventTrigger(f *spoke.Flow, ch spoke.RecordChange, after flow.Env) (json.RawMessage, bool) {
	ec := f.EnrollmentCriteria
	if ec.ListFilterBranch != nil {
		if ok, err := after.Evaluate(ec.ListFilterBranch); err != nil || !ok {
			return nil, false
		}
	}
	for i := range ec.EventFilterBranches {
		b := &ec.EventFilterBranches[i]
		for _, ev := range events(b.EventTypeID, f.ID, ch) {
			if matches(b, ev, after) {
				raw, err := json.Marshal(ev.payload)
				if err != nil {
					return nil, false
				}
				return raw, true
			}
		}
	}
	return nil, false
}

// event is one event a change raised: the properties its filters read
// (props) and what ENROLLMENT_EVENT_PROPERTY reads (payload).
type event struct {
	props   map[string]string
	changed string // the property a property-changed event is about
	payload any
}

// events lists the events of a type that a change raised.
func events(typ, flowID string, ch spoke.RecordChange) []event {
	switch typ {
	case spoke.EventRecordCreated:
		if ch.Before == nil && ch.Event == nil {
			p := map[string]string{"hs_object_id": formatID(ch.RecordID)}
			return []event{{props: p, payload: p}}
		}
	case spoke.EventPropertyChanged:
		if ch.Event != nil {
			return nil
		}
		names := make([]string, 0, len(ch.After))
		for k, v := range ch.After {
			if old := ch.Before[k]; old != v {
				names = append(names, k)
			}
		}
		for k, old := range ch.Before {
			if _, still := ch.After[k]; !still && old != "" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		out := make([]event, 0, len(names))
		for _, n := range names {
			p := map[string]string{spoke.EventPropName: n, spoke.EventPropValue: ch.After[n], spoke.EventPropPreviousValue: ch.Before[n]}
			out = append(out, event{props: p, changed: n, payload: p})
		}
		return out
	case spoke.EventAssociationAdded:
		if ch.Event != nil && ch.Event.Type == spoke.EventAssociationAdded {
			return []event{{props: ch.Event.Properties, payload: ch.Event.Properties}}
		}
	case spoke.EventWebhookReceived:
		if ch.Event != nil && ch.Event.Type == spoke.EventWebhookReceived && ch.Event.FlowID == flowID {
			var body any
			if json.Unmarshal(ch.Event.Body, &body) != nil {
				body = map[string]any{}
			}
			return []event{{props: scalars(body), payload: body}}
		}
	}
	return nil
}

// scalars flattens a JSON body's top-level strings, numbers and booleans
// for filters.
func scalars(body any) map[string]string {
	out := map[string]string{}
	m, _ := body.(map[string]any)
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64, bool:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

// matches evaluates an event branch's filters for one event. A
// property-changed branch that names no hs_name filter is about the
// properties its filters name: the change must be to one of them.
func matches(b *spoke.FilterBranch, ev event, after flow.Env) bool {
	if ev.changed != "" {
		props := b.Properties()
		named := false
		var about []string
		for _, p := range props {
			switch p {
			case spoke.EventPropName:
				named = true
			case spoke.EventPropValue, spoke.EventPropPreviousValue:
			default:
				about = append(about, p)
			}
		}
		if !named && len(about) > 0 && !contains(about, ev.changed) {
			return false
		}
	}
	env := after
	get := after.Get
	env.Get = func(name string) (string, bool) {
		if v, ok := ev.props[name]; ok {
			return v, v != ""
		}
		return get(name)
	}
	ok, err := env.Evaluate(&spoke.FilterBranch{FilterBranchType: "AND", Filters: b.Filters, FilterBranches: b.FilterBranches})
	return err == nil && ok
}

func formatID(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}
