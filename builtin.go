package spoke

// PropMergedObjectIDs lists, separated by semicolons, the ids of the records
// merged into a record.
const PropMergedObjectIDs = "hs_merged_object_ids"

// builtinProperty is a compact form of a HubSpot-defined property.
type builtinProperty struct {
	name, label, typ, fieldType string
	options                     []string
}

var lifecycleStages = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}

var builtinProperties = map[string][]builtinProperty{
	"contacts": {
		{"email", "Email", TypeString, "text", nil},
		{"firstname", "First Name", TypeString, "text", nil},
		{"lastname", "Last Name", TypeString, "text", nil},
		{"phone", "Phone Number", TypePhoneNumber, "phonenumber", nil},
		{"mobilephone", "Mobile Phone Number", TypePhoneNumber, "phonenumber", nil},
		{"company", "Company Name", TypeString, "text", nil},
		{"website", "Website URL", TypeString, "text", nil},
		{"jobtitle", "Job Title", TypeString, "text", nil},
		{"lifecyclestage", "Lifecycle Stage", TypeEnumeration, "radio", lifecycleStages},
		{"hs_lead_status", "Lead Status", TypeEnumeration, "radio", []string{"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"}},
		{"country", "Country/Region", TypeString, "text", nil},
		{"state", "State/Region", TypeString, "text", nil},
		{"city", "City", TypeString, "text", nil},
		{"address", "Street Address", TypeString, "text", nil},
		{"zip", "Postal Code", TypeString, "text", nil},
		{"hs_email_optout", "Unsubscribed from all email", TypeBool, "booleancheckbox", nil},
	},
	"companies": {
		{"name", "Company name", TypeString, "text", nil},
		{"domain", "Company Domain Name", TypeString, "text", nil},
		{"website", "Website URL", TypeString, "text", nil},
		{"industry", "Industry", TypeString, "text", nil},
		{"numberofemployees", "Number of Employees", TypeNumber, "number", nil},
		{"annualrevenue", "Annual Revenue", TypeNumber, "number", nil},
		{"phone", "Phone Number", TypePhoneNumber, "phonenumber", nil},
		{"city", "City", TypeString, "text", nil},
		{"country", "Country/Region", TypeString, "text", nil},
		{"description", "Description", TypeString, "textarea", nil},
		{"lifecyclestage", "Lifecycle Stage", TypeEnumeration, "radio", lifecycleStages},
	},
	"deals": {
		{"dealname", "Deal Name", TypeString, "text", nil},
		{"amount", "Amount", TypeNumber, "number", nil},
		{"dealstage", "Deal Stage", TypeEnumeration, "radio", []string{"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"}},
		{"pipeline", "Pipeline", TypeEnumeration, "select", []string{"default"}},
		{"closedate", "Close Date", TypeDateTime, "date", nil},
		{"dealtype", "Deal Type", TypeEnumeration, "radio", []string{"newbusiness", "existingbusiness"}},
		{"description", "Deal Description", TypeString, "textarea", nil},
	},
	"tickets": {
		{"subject", "Ticket name", TypeString, "text", nil},
		{"content", "Ticket description", TypeString, "textarea", nil},
		{"hs_pipeline", "Pipeline", TypeEnumeration, "select", []string{"0"}},
		{"hs_pipeline_stage", "Ticket status", TypeEnumeration, "select", []string{"1", "2", "3", "4"}},
		{"hs_ticket_priority", "Priority", TypeEnumeration, "select", []string{"LOW", "MEDIUM", "HIGH", "URGENT"}},
		{"hs_ticket_category", "Category", TypeEnumeration, "checkbox", []string{"PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"}},
	},
}

// BuiltinGroupName is the property group of an object type's
// HubSpot-defined properties ("contactinformation" and so on).
func BuiltinGroupName(t ObjectType) string { return t.Singular + "information" }

// BuiltinProperties returns the HubSpot-defined properties of t, including
// the computed hs_object_id, createdate and last-modified date.
func BuiltinProperties(t ObjectType) []*Property {
	group := BuiltinGroupName(t)
	var out []*Property
	for i, b := range builtinProperties[t.Name] {
		p := &Property{ObjectType: t.Name, Name: b.name, Label: b.label, Type: b.typ, FieldType: b.fieldType,
			GroupName: group, DisplayOrder: i, HubspotDefined: true, FormField: true,
			HasUniqueValue: b.name == t.UniqueProperty}
		for j, o := range b.options {
			p.Options = append(p.Options, Option{Label: o, Value: o, DisplayOrder: j})
		}
		if b.typ == TypeBool {
			p.Options = []Option{{Label: "Yes", Value: "true"}, {Label: "No", Value: "false", DisplayOrder: 1}}
		}
		out = append(out, p)
	}
	// Set by merges only.
	out = append(out, &Property{ObjectType: t.Name, Name: PropMergedObjectIDs, Label: "Merged record IDs", Type: TypeString, FieldType: "text",
		GroupName: group, DisplayOrder: len(out), HubspotDefined: true, ReadOnlyValue: true})
	for _, c := range []struct{ name, label, typ, fieldType string }{
		{PropObjectID, "Record ID", TypeNumber, "number"},
		{PropCreateDate, "Create Date", TypeDateTime, "date"},
		{t.LastModifiedProperty, "Last Modified Date", TypeDateTime, "date"},
	} {
		out = append(out, &Property{ObjectType: t.Name, Name: c.name, Label: c.label, Type: c.typ, FieldType: c.fieldType,
			GroupName: group, DisplayOrder: -1, HubspotDefined: true, ReadOnlyValue: true})
	}
	return out
}
