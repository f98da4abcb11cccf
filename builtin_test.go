package spoke

import (
	"strings"
	"testing"
	"testing/fstest"
)

// The compiled-in catalogue loads (catalogs would have panicked
// otherwise), has a file for every object type, and holds what flows and
// custom code rely on.
func TestCatalogCoversEveryObjectType(t *testing.T) {
	want := map[string][]string{
		"contacts": {"email", "firstname", "industry", "numemployees", "annualrevenue", "hs_lead_status", "hs_analytics_source",
			"hs_analytics_source_data_1", "hs_analytics_source_data_2", "lifecyclestage", "associatedcompanyid", "num_associated_deals",
			"notes_last_updated", "jobtitle", "phone", "mobilephone", "address", "city", "state", "zip", "country", "website", "company"},
		"companies": {"name", "domain", "type", "address", "city", "state", "zip", "country", "timezone", "industry", "phone",
			"numberofemployees", "annualrevenue", "num_associated_contacts", "num_associated_deals", "lifecyclestage"},
		"deals": {"dealname", "amount", "dealstage", "pipeline", "closedate", "closed_won_reason", "closed_lost_reason",
			"deal_currency_code", "hs_deal_stage_probability", "dealtype", "description", "num_associated_contacts"},
		"tickets": {"subject", "content", "hs_pipeline", "hs_pipeline_stage", "source_type", "closed_date", "time_to_close",
			"hs_ticket_priority", "hs_ticket_category"},
		"notes":      {"hs_timestamp", "hs_note_body", "hs_attachment_ids", "hs_createdate"},
		"tasks":      {"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_task_type", "hs_task_reminders"},
		"calls":      {"hs_timestamp", "hs_call_body", "hs_call_direction", "hs_call_disposition", "hs_call_duration", "hs_call_status", "hs_call_title", "hs_call_from_number", "hs_call_to_number", "hs_call_recording_url"},
		"meetings":   {"hs_timestamp", "hs_meeting_title", "hs_meeting_body", "hs_meeting_start_time", "hs_meeting_end_time", "hs_meeting_outcome", "hs_meeting_location", "hs_internal_meeting_notes"},
		"emails":     {"hs_timestamp", "hs_email_subject", "hs_email_text", "hs_email_html", "hs_email_direction", "hs_email_status", "hs_email_headers"},
		"line_items": {"name", "hs_product_id", "quantity", "price", "amount", "discount", "hs_discount_percentage", "hs_total_discount", "hs_sku", "description", "recurringbillingfrequency"},
		"products":   {"name", "price", "hs_sku", "description", "hs_cost_of_goods_sold", "recurringbillingfrequency"},
		"quotes":     {"hs_title", "hs_expiration_date", "hs_status", "hs_quote_amount"},
		"leads":      {"hs_lead_name", "hs_lead_type", "hs_lead_label", "hs_pipeline", "hs_pipeline_stage"},
	}
	// The original four types carry HubSpot's full catalogue; the others
	// their documented main properties.
	minimum := map[string]int{"contacts": 30, "companies": 30, "deals": 30, "tickets": 30}
	for _, ot := range ObjectTypes {
		props := BuiltinProperties(ot)
		if len(props) < max(minimum[ot.Name], len(want[ot.Name])+4) {
			t.Errorf("%s: %d default properties, want several dozen", ot.Name, len(props))
		}
		byName := map[string]*Property{}
		for _, p := range props {
			byName[p.Name] = p
			if !p.HubspotDefined || p.ObjectType != ot.Name {
				t.Errorf("%s.%s: hubspotDefined %v objectType %q", ot.Name, p.Name, p.HubspotDefined, p.ObjectType)
			}
			// Every definition passes the checks custom ones pass, and its
			// options are usable values.
			cp := *p
			if err := cp.Validate(); err != nil {
				t.Errorf("%s.%s: %v", ot.Name, p.Name, err)
			}
			if cp.FieldType != p.FieldType {
				t.Errorf("%s.%s: fieldType %q was left to a default", ot.Name, p.Name, p.FieldType)
			}
			for _, o := range p.Options {
				if v, verr := p.NormalizeValue(o.Value); verr != nil || v != o.Value {
					t.Errorf("%s.%s: option %q normalizes to %q, %v", ot.Name, p.Name, o.Value, v, verr)
				}
			}
			if !IsBuiltinGroup(ot, p.GroupName) {
				t.Errorf("%s.%s: group %q is not a built-in group", ot.Name, p.Name, p.GroupName)
			}
		}
		for _, n := range want[ot.Name] {
			if byName[n] == nil {
				t.Errorf("%s: no default property %s", ot.Name, n)
			}
		}
		for _, n := range []string{PropObjectID, PropCreateDate, ot.LastModifiedProperty, PropMergedObjectIDs} {
			if p := byName[n]; p == nil || !p.ReadOnlyValue {
				t.Errorf("%s.%s must be read-only", ot.Name, n)
			}
		}
		for _, n := range ot.RequiredProperties {
			if p := byName[n]; p == nil || p.ReadOnlyValue {
				t.Errorf("%s: required property %s must be defined and writable", ot.Name, n)
			}
		}
		for _, n := range ot.DefaultProperties {
			if byName[n] == nil {
				t.Errorf("%s: default property %s is not in the catalogue", ot.Name, n)
			}
		}
		if groups := BuiltinGroups(ot); groups[0].Name != BuiltinGroupName(ot) {
			t.Errorf("%s: first group %q", ot.Name, groups[0].Name)
		}
	}
	c := map[string]*Property{}
	for _, p := range BuiltinProperties(ObjectTypes[0]) {
		c[p.Name] = p
	}
	if got := optionValues(c["lifecyclestage"]); got != "subscriber,lead,marketingqualifiedlead,salesqualifiedlead,opportunity,customer,evangelist,other" {
		t.Errorf("lifecycle stages %s", got)
	}
	for _, stage := range c["lifecyclestage"].Options {
		if d := c[LifecycleStageDateProperty(stage.Value)]; d == nil || !d.ReadOnlyValue || d.Type != TypeDateTime {
			t.Errorf("stage %s has no read-only date property", stage.Value)
		}
	}
	if c["hs_analytics_source"].GroupName != "analyticsinformation" || c["hs_email_optout"].GroupName != "emailinformation" {
		t.Errorf("groups: hs_analytics_source %q, hs_email_optout %q", c["hs_analytics_source"].GroupName, c["hs_email_optout"].GroupName)
	}
	if !c["email"].HasUniqueValue || c["firstname"].HasUniqueValue {
		t.Error("email alone has a unique value")
	}
	if !c["hs_object_id"].Calculated || c["hs_lifecyclestage_lead_date"].Calculated {
		t.Error("hs_object_id is calculated, hs_lifecyclestage_lead_date read-only")
	}
}

func optionValues(p *Property) string {
	var vals []string
	for _, o := range p.Options {
		vals = append(vals, o.Value)
	}
	return strings.Join(vals, ",")
}

// Copies are returned: a caller changing one does not change the
// catalogue.
func TestBuiltinPropertiesAreCopies(t *testing.T) {
	a := BuiltinProperties(ObjectTypes[0])
	a[0].Label = "changed"
	if BuiltinProperties(ObjectTypes[0])[0].Label == "changed" {
		t.Fatal("BuiltinProperties shares its definitions")
	}
}

func TestLoadCatalogsRefusesBrokenFiles(t *testing.T) {
	base := func(props string) string {
		return `{"objectType":"tickets","groups":[{"name":"ticketinformation","label":"Ticket information"}],"properties":[` +
			`{"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number","groupName":"ticketinformation","calculated":true},` +
			`{"name":"createdate","label":"Create date","type":"datetime","fieldType":"date","groupName":"ticketinformation","modificationMetadata":{"readOnlyValue":true}},` +
			`{"name":"hs_lastmodifieddate","label":"Last modified","type":"datetime","fieldType":"date","groupName":"ticketinformation","modificationMetadata":{"readOnlyValue":true}},` +
			`{"name":"hs_merged_object_ids","label":"Merged","type":"string","fieldType":"text","groupName":"ticketinformation","modificationMetadata":{"readOnlyValue":true}}` + props + `]}`
	}
	if _, err := LoadCatalogs(fstest.MapFS{"tickets.json": {Data: []byte(base(""))}}); err != nil {
		t.Fatalf("minimal file: %v", err)
	}
	for name, tc := range map[string]struct{ file, data, want string }{
		"unknown key":        {"tickets.json", base(`,{"name":"x","label":"X","type":"string","fieldType":"text","groupName":"ticketinformation","readOnly":true}`), "unknown field"},
		"bad field type":     {"tickets.json", base(`,{"name":"x","label":"X","type":"number","fieldType":"select","groupName":"ticketinformation"}`), "fieldType"},
		"no field type":      {"tickets.json", base(`,{"name":"x","label":"X","type":"number","groupName":"ticketinformation"}`), "no fieldType"},
		"no options":         {"tickets.json", base(`,{"name":"x","label":"X","type":"enumeration","fieldType":"select","groupName":"ticketinformation"}`), "option"},
		"unlisted group":     {"tickets.json", base(`,{"name":"x","label":"X","type":"string","fieldType":"text","groupName":"nowhere"}`), "does not list"},
		"twice":              {"tickets.json", base(`,{"name":"createdate","label":"X","type":"string","fieldType":"text","groupName":"ticketinformation"}`), "twice"},
		"stray unique":       {"tickets.json", base(`,{"name":"x","label":"X","type":"string","fieldType":"text","groupName":"ticketinformation","hasUniqueValue":true}`), "hasUniqueValue"},
		"index on text":      {"tickets.json", base(`,{"name":"x","label":"X","type":"string","fieldType":"text","groupName":"ticketinformation","spokeValueIndex":true}`), "spokeValueIndex"},
		"stage without date": {"tickets.json", base(`,{"name":"lifecyclestage","label":"X","type":"enumeration","fieldType":"radio","groupName":"ticketinformation","options":[{"label":"Lead","value":"lead"}]}`), "hs_lifecyclestage_lead_date"},
		"wrong file name":    {"deals.json", base(""), "want \"deals\""},
		"unknown type":       {"widgets.json", strings.Replace(base(""), `"tickets"`, `"widgets"`, 1), "unknown object type"},
		"computed missing":   {"tickets.json", strings.Replace(base(""), `"createdate"`, `"created"`, 1), "createdate must be defined"},
	} {
		_, err := LoadCatalogs(fstest.MapFS{tc.file: {Data: []byte(tc.data)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func TestReadOnlyValueError(t *testing.T) {
	ro := ReadOnlyValueError(&Property{Name: "hs_lifecyclestage_lead_date", ReadOnlyValue: true})
	calc := ReadOnlyValueError(&Property{Name: "hs_object_id", ReadOnlyValue: true, Calculated: true})
	if ro.Error != "READ_ONLY_VALUE" || ro.Message != `"hs_lifecyclestage_lead_date" is a read only property; its value cannot be set.` {
		t.Errorf("read-only: %+v", ro)
	}
	if calc.Message != `"hs_object_id" is a calculated property; its value cannot be set.` {
		t.Errorf("calculated: %+v", calc)
	}
}

// A custom object type has the properties Spoke computes, read-only, in
// its own group.
func TestCustomObjectBuiltinProperties(t *testing.T) {
	s := &ObjectSchema{ID: 7, AccountID: 3, Name: "cars", PrimaryDisplayProperty: "model", RequiredProperties: []string{"model"}}
	ot := s.ObjectType()
	if ot.ID != "2-7" || ot.Name != "2-7" || ot.FullyQualifiedName != "p3_cars" || ot.EventName != "2-7" || !ot.Custom {
		t.Fatalf("object type %+v", ot)
	}
	props := BuiltinProperties(ot)
	names := map[string]bool{}
	for _, p := range props {
		names[p.Name] = true
		if !p.ReadOnlyValue || !p.HubspotDefined || p.GroupName != "carsinformation" || p.ObjectType != "2-7" {
			t.Errorf("%s: %+v", p.Name, p)
		}
	}
	for _, n := range []string{PropObjectID, PropCreateDate, PropHSCreateDate, "hs_lastmodifieddate", PropMergedObjectIDs} {
		if !names[n] {
			t.Errorf("no %s", n)
		}
	}
	for _, name := range []string{"2-7", "p3_cars", "P3_CARS", "p_cars"} {
		if !s.Matches(name) {
			t.Errorf("%s does not match", name)
		}
	}
	for _, name := range []string{"cars", "2-70", "p4_cars", "car"} {
		if s.Matches(name) {
			t.Errorf("%s matches", name)
		}
	}
}
