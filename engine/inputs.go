package engine

import (
	"strconv"
	"time"

	"github.com/spokehq/spoke"
)

// codeInput formats a value for a custom code action's event.inputFields
// the way HubSpot passes it: every set value is a string; a datetime is
// its epoch milliseconds ("1767225600000"), a date the epoch milliseconds
// of its midnight UTC (HubSpot's custom code docs: "date property → UNIX
// milliseconds set to midnight UTC"), so `int(event["inputFields"]
// ["createdate"])` and `new Date(Number(...))` work as in HubSpot's samples;
// numbers are their decimal text, booleans "true"/"false", enumerations
// their internal value (several joined with ";"), phone numbers and strings
// as stored. An unset or empty value is nil (null in JavaScript, None in
// Python).
//
// typ is the value's property type (spoke.Type*), or "" when unknown, in
// which case the value is passed as stored.
func codeInput(typ, v string) any {
	if v == "" {
		return nil
	}
	switch typ {
	case spoke.TypeDateTime:
		if t, ok := spoke.ParseTime(v); ok {
			return strconv.FormatInt(t.UnixMilli(), 10)
		}
	case spoke.TypeDate:
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return strconv.FormatInt(t.UnixMilli(), 10)
		}
		if t, ok := spoke.ParseTime(v); ok {
			return strconv.FormatInt(t.UTC().Truncate(24*time.Hour).UnixMilli(), 10)
		}
	}
	return v
}

// outputPropertyType maps a custom code output type to the property type
// whose input format its value takes when a later action reads it.
func outputPropertyType(t string) string {
	switch t {
	case spoke.OutputDate:
		return spoke.TypeDate
	case spoke.OutputDateTime:
		return spoke.TypeDateTime
	case spoke.OutputNumber:
		return spoke.TypeNumber
	case spoke.OutputBool:
		return spoke.TypeBool
	case spoke.OutputEnumeration:
		return spoke.TypeEnumeration
	case spoke.OutputPhoneNumber:
		return spoke.TypePhoneNumber
	}
	return spoke.TypeString
}

// inputType returns the property type of an input's value source: the
// type of the property an OBJECT_PROPERTY names, the declared type of the
// output a FIELD_DATA names, "" otherwise.
func inputType(f *spoke.Flow, v *spoke.Value, defs map[string]*spoke.Property) string {
	switch v.Type {
	case spoke.ValueObjectProperty:
		if p := defs[v.PropertyName]; p != nil {
			return p.Type
		}
	case spoke.ValueFieldData:
		if a := f.ActionByID(v.ActionID); a != nil {
			for _, o := range a.OutputFields {
				if o.Name == v.DataKey {
					return outputPropertyType(o.Type)
				}
			}
		}
	}
	return ""
}
