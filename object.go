package spoke

import (
	"context"
	"strconv"
	"strings"
)

// ObjectType describes one of the CRM object types Spoke stores: a
// standard one (built in, the same for every account) or an account's
// custom object (see ObjectSchema).
type ObjectType struct {
	// ID is HubSpot's object type id, for example "0-1" for contacts or
	// "2-7" for a custom object.
	ID string
	// Name is the plural API name, for example "contacts". It is the key
	// records, properties and associations are stored under; a custom
	// object's Name is its ID.
	Name string
	// Singular is the singular name, for example "contact"; association
	// names and error messages use it.
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
	// ReadScopes and WriteScopes list the scopes that let a token read or
	// write records of the type: any one of them will do, as in HubSpot's
	// API descriptions (notes take crm.objects.contacts.read, line items
	// crm.objects.line_items.read or e-commerce).
	ReadScopes, WriteScopes []string
	// SchemaReadScopes and SchemaWriteScopes do the same for the type's
	// property definitions.
	SchemaReadScopes, SchemaWriteScopes []string
	// RequiredProperties must have a value when a record is created
	// (hs_timestamp on engagements, a custom object's requiredProperties).
	RequiredProperties []string
	// RequiredAssociation, when set, names the object type a new record
	// must be associated with on create (leads: contacts).
	RequiredAssociation string
	// Mergeable is set for the types HubSpot's API can merge (contacts,
	// companies, deals, tickets and custom objects; its descriptions of the
	// engagement, commerce and lead APIs have no merge).
	Mergeable bool
	// EventName is the type's name in custom code's event.object.objectType
	// and in webhook bodies: "CONTACT", "LINE_ITEM", or a custom object's
	// object type id.
	EventName string
	// Custom is set for an account's custom object types.
	Custom bool
	// FullyQualifiedName is a custom object's p{portalId}_{name}.
	FullyQualifiedName string
	// FromOwners is set for the users object: its records are the
	// account's owners' users, created, changed and archived with the
	// owners, so the object API only reads them and updates their
	// writable properties.
	FromOwners bool
}

// standardType builds a standard object type whose records need one of
// the crm.objects.<scope>.read/write scopes (plus alternatives) and whose
// properties need crm.schemas.<scope>.read/write.
func standardType(id, name, singular string, defaults ...string) ObjectType {
	return ObjectType{ID: id, Name: name, Singular: singular, LastModifiedProperty: "hs_lastmodifieddate",
		DefaultProperties: defaults, EventName: strings.ToUpper(singular),
		ReadScopes: []string{"crm.objects." + name + ".read"}, WriteScopes: []string{"crm.objects." + name + ".write"},
		SchemaReadScopes: []string{"crm.schemas." + name + ".read"}, SchemaWriteScopes: []string{"crm.schemas." + name + ".write"}}
}

// engagement builds an activity type (notes, tasks, calls, emails,
// meetings). HubSpot's API descriptions guard them with the contact
// scopes (crm.objects.contacts.read/write); newer read-only scopes such
// as crm.objects.notes.read also read them. hs_timestamp is required.
func engagement(id, name, singular string, defaults ...string) ObjectType {
	t := standardType(id, name, singular, append(defaults, "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hs_object_id")...)
	t.ReadScopes = []string{"crm.objects.contacts.read", "crm.objects." + name + ".read"}
	t.WriteScopes = []string{"crm.objects.contacts.write"}
	t.SchemaReadScopes = []string{"crm.schemas.contacts.read", "crm.schemas." + name + ".read"}
	t.SchemaWriteScopes = []string{"crm.schemas.contacts.write"}
	t.RequiredProperties = []string{"hs_timestamp"}
	return t
}

// commerce builds a commerce type (line items, products, quotes), which
// HubSpot also opens to the legacy e-commerce scope.
func commerce(t ObjectType) ObjectType {
	t.ReadScopes = append(t.ReadScopes, "e-commerce")
	t.WriteScopes = append(t.WriteScopes, "e-commerce")
	t.SchemaReadScopes = append(t.SchemaReadScopes, t.ReadScopes...)
	t.SchemaWriteScopes = append(t.SchemaWriteScopes, "e-commerce")
	return t
}

// ObjectTypes lists the standard object types Spoke supports, in the order
// HubSpot numbers them. An account's custom objects come on top (see
// ObjectTypeService).
var ObjectTypes = func() []ObjectType {
	contacts := standardType("0-1", "contacts", "contact", "firstname", "lastname", "email", "lastmodifieddate", "hs_object_id", "createdate")
	contacts.UniqueProperty, contacts.LastModifiedProperty = "email", "lastmodifieddate"
	tickets := standardType("0-5", "tickets", "ticket", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_priority", "subject", "createdate", "hs_lastmodifieddate", "hs_object_id")
	// HubSpot's older "tickets" scope grants the ticket object scopes
	// (Token.HasScope).
	emails := engagement("0-49", "emails", "email", "hs_email_subject", "hs_email_text", "hs_email_direction", "hs_email_status")
	// The emails API also accepts the sales-email-read scope.
	emails.ReadScopes = append(emails.ReadScopes, "sales-email-read")
	emails.WriteScopes = append(emails.WriteScopes, "sales-email-read")
	lineItems := commerce(standardType("0-8", "line_items", "line_item", "name", "hs_product_id", "quantity", "price", "amount", "createdate", "hs_lastmodifieddate", "hs_object_id"))
	lineItems.SchemaWriteScopes = []string{"e-commerce"}
	products := commerce(standardType("0-7", "products", "product", "name", "description", "price", "hs_sku", "createdate", "hs_lastmodifieddate", "hs_object_id"))
	products.SchemaReadScopes, products.SchemaWriteScopes = append([]string{"crm.schemas.products.read"}, products.ReadScopes...), []string{"e-commerce"}
	leads := standardType("0-136", "leads", "lead", "hs_lead_name", "hs_pipeline", "hs_pipeline_stage", "createdate", "hs_lastmodifieddate", "hs_object_id")
	// HubSpot names no crm.schemas.leads scopes: the lead object scopes
	// read and change lead properties.
	leads.SchemaReadScopes, leads.SchemaWriteScopes = leads.ReadScopes, leads.WriteScopes
	// A lead "must have a lead name" and "must be associated with an
	// existing contact" (HubSpot's leads guide).
	leads.RequiredProperties, leads.RequiredAssociation = []string{"hs_lead_name"}, "contacts"
	// Creating a quote takes hs_title and hs_expiration_date (HubSpot's
	// quotes guide).
	quotes := commerce(standardType("0-14", "quotes", "quote", "hs_title", "hs_expiration_date", "hs_status", "createdate", "hs_lastmodifieddate", "hs_object_id"))
	quotes.RequiredProperties = []string{"hs_title", "hs_expiration_date"}
	companies := standardType("0-2", "companies", "company", "name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id")
	deals := standardType("0-3", "deals", "deal", "dealname", "amount", "closedate", "pipeline", "dealstage", "createdate", "hs_lastmodifieddate", "hs_object_id")
	contacts.Mergeable, companies.Mergeable, deals.Mergeable, tickets.Mergeable = true, true, true, true
	// The users object (HubSpot's users guide): one record per user, read
	// through the object, batch and search APIs; updates set the job
	// title, phone, time zone, working hours and availability.
	users := standardType("0-115", "users", "user", "hs_createdate", "hs_lastmodifieddate", "hs_object_id")
	users.FromOwners = true
	return []ObjectType{
		contacts,
		companies,
		deals,
		tickets,
		products,
		lineItems,
		quotes,
		engagement("0-27", "tasks", "task", "hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_task_type"),
		engagement("0-46", "notes", "note", "hs_note_body"),
		engagement("0-47", "meetings", "meeting", "hs_meeting_title", "hs_meeting_body", "hs_meeting_start_time", "hs_meeting_end_time", "hs_meeting_outcome"),
		engagement("0-48", "calls", "call", "hs_call_title", "hs_call_body", "hs_call_direction", "hs_call_disposition", "hs_call_duration", "hs_call_status"),
		emails,
		leads,
		users,
	}
}()

// standardByName finds a standard type by its exact plural name, id or
// singular name without allocating: the write path and the engine call
// LookupObjectType with a stored plural name on every record.
var standardByName = func() map[string]int {
	m := map[string]int{}
	for i, t := range ObjectTypes {
		m[t.Name], m[t.ID], m[t.Singular] = i, i, i
	}
	return m
}()

// LookupObjectType finds a standard object type by its plural name,
// singular name or id ("contacts", "contact", "CONTACT", "0-1",
// "line_items"), case-insensitively. Custom objects are an account's: see
// ObjectTypeService.
func LookupObjectType(s string) (ObjectType, bool) {
	if i, ok := standardByName[s]; ok {
		return ObjectTypes[i], true
	}
	for _, t := range ObjectTypes {
		if strings.EqualFold(s, t.Name) || strings.EqualFold(s, t.Singular) || s == t.ID {
			return t, true
		}
	}
	return ObjectType{}, false
}

// UnknownObjectType is HubSpot's 400 for an object type it cannot resolve
// (a custom object's base name included, since HubSpot stopped accepting
// those in 2025).
func UnknownObjectType(s string) *Error {
	names := make([]string, len(ObjectTypes))
	for i, t := range ObjectTypes {
		names[i] = t.Name + " (" + t.ID + ")"
	}
	return &Error{Code: EINVALID, Category: "VALIDATION_ERROR",
		Message: "Unable to infer object type from: " + s + ". Use one of " + strings.Join(names, ", ") +
			", or a custom object's objectTypeId (2-…), fullyQualifiedName (p{portalId}_{name}) or p_{name}."}
}

// ObjectTypeFor is like LookupObjectType but returns an EINVALID error naming
// the type when it is unknown. It knows the standard types only.
func ObjectTypeFor(s string) (ObjectType, error) {
	t, ok := LookupObjectType(s)
	if !ok {
		return ObjectType{}, UnknownObjectType(s)
	}
	return t, nil
}

// ObjectTypeService resolves object type names within an account: the
// standard types, then the account's custom objects.
type ObjectTypeService interface {
	// ObjectType resolves a standard type's plural or singular name or id,
	// or a custom object's object type id ("2-7"), fully qualified name
	// ("p1_cars") or short-hand name ("p_cars"). EINVALID
	// (UnknownObjectType) when nothing matches.
	ObjectType(ctx context.Context, account int64, s string) (ObjectType, error)
}

// IsCustomObjectTypeID reports whether s has the form of a custom object
// type id, "2-" followed by a positive number.
func IsCustomObjectTypeID(s string) bool {
	n, ok := strings.CutPrefix(s, "2-")
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(n, 10, 64)
	return err == nil && v > 0 && strconv.FormatInt(v, 10) == n
}

// Reserved property names that every record has and that Spoke computes:
// they cannot be written.
const (
	PropObjectID   = "hs_object_id"
	PropCreateDate = "createdate"
	// PropHSCreateDate is the creation date under the name engagements,
	// commerce objects and custom objects give it.
	PropHSCreateDate = "hs_createdate"
)

// IsComputedProperty reports whether name is maintained by Spoke for t and
// so cannot be written by a client.
func (t ObjectType) IsComputedProperty(name string) bool {
	return name == PropObjectID || name == PropCreateDate || name == PropHSCreateDate || name == t.LastModifiedProperty ||
		name == "lastmodifieddate" || name == "hs_lastmodifieddate"
}
