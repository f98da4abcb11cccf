package spoke

import "strings"

// ObjectType describes one of the CRM object types Spoke stores.
type ObjectType struct {
	// ID is HubSpot's object type id, for example "0-1" for contacts.
	ID string
	// Name is the plural API name, for example "contacts".
	Name string
	// Singular is the singular name, for example "contact"; association
	// paths and workflow events use it.
	Singular string
	// DefaultProperties are returned when a request names no properties.
	DefaultProperties []string
	// UniqueProperty is a property whose value identifies one record
	// (case-insensitively), or "" if the type has none.
	UniqueProperty string
	// LastModifiedProperty is the name HubSpot gives the last-modified date
	// of this type ("lastmodifieddate" for contacts, "hs_lastmodifieddate"
	// for the others).
	LastModifiedProperty string
}

// ObjectTypes lists the object types Spoke supports, in id order.
var ObjectTypes = []ObjectType{
	{ID: "0-1", Name: "contacts", Singular: "contact", UniqueProperty: "email", LastModifiedProperty: "lastmodifieddate",
		DefaultProperties: []string{"firstname", "lastname", "email", "lastmodifieddate", "hs_object_id", "createdate"}},
	{ID: "0-2", Name: "companies", Singular: "company", LastModifiedProperty: "hs_lastmodifieddate",
		DefaultProperties: []string{"name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{ID: "0-3", Name: "deals", Singular: "deal", LastModifiedProperty: "hs_lastmodifieddate",
		DefaultProperties: []string{"dealname", "amount", "closedate", "pipeline", "dealstage", "createdate", "hs_lastmodifieddate", "hs_object_id"}},
	{ID: "0-5", Name: "tickets", Singular: "ticket", LastModifiedProperty: "hs_lastmodifieddate",
		DefaultProperties: []string{"content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_priority", "subject", "createdate", "hs_lastmodifieddate", "hs_object_id"}},
}

// LookupObjectType finds an object type by its plural name, singular name or
// id ("contacts", "contact", "CONTACT", "0-1"), case-insensitively.
func LookupObjectType(s string) (ObjectType, bool) {
	for _, t := range ObjectTypes {
		if strings.EqualFold(s, t.Name) || strings.EqualFold(s, t.Singular) || s == t.ID {
			return t, true
		}
	}
	return ObjectType{}, false
}

// ObjectTypeFor is like LookupObjectType but returns an EINVALID error naming
// the type when it is unknown.
func ObjectTypeFor(s string) (ObjectType, error) {
	t, ok := LookupObjectType(s)
	if !ok {
		return ObjectType{}, &Error{Code: EINVALID, Category: "VALIDATION_ERROR",
			Message: "Unable to infer object type from: " + s + ". Use one of contacts (0-1), companies (0-2), deals (0-3), tickets (0-5)."}
	}
	return t, nil
}

// Reserved property names that every record has and that Spoke computes:
// they cannot be written.
const (
	PropObjectID   = "hs_object_id"
	PropCreateDate = "createdate"
)

// IsComputedProperty reports whether name is maintained by Spoke for t and
// so cannot be written by a client.
func (t ObjectType) IsComputedProperty(name string) bool {
	return name == PropObjectID || name == PropCreateDate || name == t.LastModifiedProperty ||
		name == "lastmodifieddate" || name == "hs_lastmodifieddate"
}
