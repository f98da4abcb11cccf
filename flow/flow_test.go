package flow

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

// fakeChecker knows a fixed set of properties and secrets.
type fakeChecker struct {
	props   map[string]bool
	secrets map[string]bool
	err     error
}

func (c fakeChecker) PropertyExists(_ context.Context, _ int64, _ string, name string) (bool, error) {
	return c.props[name], c.err
}

func (c fakeChecker) SecretSize(_ context.Context, _ int64, name string) (int, bool, error) {
	if name == "HUGE" {
		return 980, true, c.err
	}
	return 40, c.secrets[name], c.err
}

var checker = fakeChecker{
	props:   map[string]bool{"zip": true, "email": true, "amount": true, "lifecyclestage": true, "hs_lead_status": true},
	secrets: map[string]bool{"HUBSPOT_TOKEN": true},
}

const codeNode = `exports.main = async (event, callback) => callback({outputFields: {zip: (event.inputFields.zip || '').trim()}});`

// example is reference §5.5, with a custom field and unknown fields.
const example = `{
  "name": "Normalize zip",
  "type": "PLATFORM_FLOW",
  "objectTypeId": "0-3",
  "flowType": "WORKFLOW",
  "isEnabled": false,
  "startActionId": "1",
  "someFutureField": {"nested": [1, 2, {"x": null}]},
  "actions": [
    {"type": "CUSTOM_CODE", "actionId": "1", "runtime": "NODE20X", "secretNames": [],
     "sourceCode": "exports.main = async (event, callback) => callback({outputFields: {zip: (event.inputFields.zip || '').trim()}});",
     "inputFields": [{"name": "zip", "value": {"type": "OBJECT_PROPERTY", "propertyName": "zip"}}],
     "outputFields": [{"name": "zip", "type": "STRING"}],
     "connection": {"edgeType": "STANDARD", "nextActionId": "2"},
     "unknownActionField": 12345678901234567890},
    {"type": "SINGLE_CONNECTION", "actionId": "2", "actionTypeId": "0-5", "actionTypeVersion": 0,
     "fields": {"property_name": "zip", "value": {"type": "FIELD_DATA", "actionId": "1", "dataKey": "zip"}},
     "connection": {"edgeType": "GO-TO", "nextActionId": "3", "extra": "kept"}},
    {"type": "SINGLE_CONNECTION", "actionId": "3", "actionTypeId": "0-1", "actionTypeVersion": 0,
     "fields": {"delta": "60", "time_unit": "MINUTES"}}
  ],
  "enrollmentCriteria": {"type": "MANUAL", "shouldReEnroll": false},
  "timeWindows": [], "blockedDates": [], "customProperties": {}, "dataSources": []
}`

func mustParse(t *testing.T, body string) *spoke.Flow {
	t.Helper()
	f, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func doc(t *testing.T, f *spoke.Flow) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Raw, &m); err != nil {
		t.Fatalf("Raw is not a JSON object: %v: %s", err, f.Raw)
	}
	return m
}

func TestParseExample(t *testing.T) {
	t.Parallel()
	f := mustParse(t, example)
	if f.Type != "PLATFORM_FLOW" || f.ObjectTypeID != "0-3" || len(f.Actions) != 3 || f.StartActionID != "1" || f.NextAvailableActionID != "4" {
		t.Fatalf("typed flow: %+v", f)
	}
	if c := f.Actions[1].Connection; c.EdgeType != "GOTO" {
		t.Errorf("GO-TO not normalized: %+v", c)
	}
	m := doc(t, f)
	if m["crmObjectCreationStatus"] != "COMPLETE" || m["nextAvailableActionId"] != "4" {
		t.Errorf("read-only fields: %s", f.Raw)
	}
	if _, ok := m["suppressionListIds"]; ok {
		t.Errorf("PLATFORM_FLOW got suppressionListIds: %s", f.Raw)
	}
	raw := string(f.Raw)
	for _, want := range []string{`"someFutureField":{"nested":[1,2,{"x":null}]}`, `"unknownActionField":12345678901234567890`, `"extra":"kept"`, `"edgeType":"GOTO"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("Raw lacks %s: %s", want, raw)
		}
	}
	if strings.Contains(raw, "GO-TO") {
		t.Errorf("Raw still has GO-TO: %s", raw)
	}
	if err := Validate(context.Background(), 1, f, checker); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// Parsing the stored document again gives the same document.
	g := mustParse(t, string(f.Raw))
	if string(g.Raw) != string(f.Raw) {
		t.Errorf("second parse changed the document:\n%s\n%s", f.Raw, g.Raw)
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `{"name":"My flow","type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1","actions":[],
		"id":"99","revisionId":"3","createdAt":"2020-01-01T00:00:00Z"}`)
	m := doc(t, f)
	want := map[string]string{"timeWindows": "[]", "blockedDates": "[]", "customProperties": "{}", "dataSources": "[]",
		"suppressionListIds": "[]", "canEnrollFromSalesforce": "false", "crmObjectCreationStatus": `"COMPLETE"`, "nextAvailableActionId": `"1"`}
	for k, v := range want {
		b, _ := json.Marshal(m[k])
		if string(b) != v {
			t.Errorf("%s = %s, want %s", k, b, v)
		}
	}
	for _, k := range []string{"id", "revisionId", "createdAt", "startActionId"} {
		if _, ok := m[k]; ok {
			t.Errorf("document keeps %s: %s", k, f.Raw)
		}
	}
	if f.RevisionID != "3" {
		t.Errorf("RevisionID = %q", f.RevisionID)
	}
	// Values sent are kept, not replaced by defaults.
	f = mustParse(t, `{"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":true,"objectTypeId":"0-1","suppressionListIds":[5],
		"actions":[{"type":"SINGLE_CONNECTION","actionId":"7","actionTypeId":"0-1","fields":{"delta":1,"time_unit":"DAYS"}},{"type":"SINGLE_CONNECTION","actionId":"x12","actionTypeId":"0-1"}]}`)
	m = doc(t, f)
	if b, _ := json.Marshal(m["suppressionListIds"]); string(b) != "[5]" {
		t.Errorf("suppressionListIds = %s", b)
	}
	if f.StartActionID != "7" || f.NextAvailableActionID != "8" || m["startActionId"] != "7" {
		t.Errorf("start %q next %q: %s", f.StartActionID, f.NextAvailableActionID, f.Raw)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	base := func(extra string) string {
		return `{"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1"` + extra + `}`
	}
	cases := []struct {
		name, body string
		want       []string
	}{
		{"empty", ``, []string{"empty"}},
		{"syntax", `{"type":`, []string{"end of JSON"}},
		{"garbage", `{"type": x}`, []string{"Invalid JSON", "line 1"}},
		{"array", `[]`, []string{"must be"}},
		{"null", `null`, []string{"JSON object"}},
		{"missing actions", base(``), []string{"actions"}},
		{"null actions", base(`,"actions":null`), []string{"actions"}},
		{"missing all", `{}`, []string{"type", "objectTypeId", "flowType", "isEnabled", "actions"}},
		{"bad type", `{"type":"X","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1","actions":[]}`, []string{`"X"`, "CONTACT_FLOW"}},
		{"contact flow on deals", `{"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-3","actions":[]}`, []string{`"0-3"`}},
		{"platform flow on 0-9", `{"type":"PLATFORM_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-9","actions":[]}`, []string{`"0-9"`}},
		{"bad flowType", `{"type":"PLATFORM_FLOW","flowType":"W","isEnabled":false,"objectTypeId":"0-2","actions":[]}`, []string{"flowType"}},
		{"isEnabled string", base(`,"isEnabled":"yes","actions":[]`), []string{"isEnabled", "boolean"}},
		{"actions object", base(`,"actions":{}`), []string{"actions", "array"}},
		{"action not object", base(`,"actions":[1]`), []string{"actions[0]", "object"}},
		{"action wrong type", base(`,"actions":[{"actionId":"4","type":"CUSTOM_CODE","runtime":7}]`), []string{`actions[0] (actionId "4")`, "runtime", "string"}},
		{"nested wrong type", base(`,"actions":[{"actionId":"4","type":"CUSTOM_CODE","inputFields":[{"name":"a","value":{"type":"STATIC_VALUE","staticValue":{}}}]}]`), []string{`actionId "4"`, "staticValue"}},
		{"timeWindows object", base(`,"actions":[],"timeWindows":{}`), []string{"timeWindows", "array"}},
		{"customProperties array", base(`,"actions":[],"customProperties":[]`), []string{"customProperties", "object"}},
		{"customProperties values", base(`,"actions":[],"customProperties":{"a":1}`), []string{"customProperties", "strings"}},
		{"suppressionListIds strings", base(`,"actions":[],"suppressionListIds":["a"]`), []string{"suppressionListIds"}},
		{"canEnrollFromSalesforce string", base(`,"actions":[],"canEnrollFromSalesforce":"no"`), []string{"canEnrollFromSalesforce", "boolean"}},
		{"criteria wrong type", base(`,"actions":[],"enrollmentCriteria":[]`), []string{"enrollmentCriteria"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if spoke.ErrorCode(err) != spoke.EINVALID {
				t.Fatalf("Parse(%s) = %v, want EINVALID", tc.body, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(spoke.ErrorMessage(err), w) {
					t.Errorf("message %q lacks %q", spoke.ErrorMessage(err), w)
				}
			}
		})
	}
}

func TestParseNumericIDs(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `{"id":12,"revisionId":3,"startActionId":1,"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1",
		"actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":1,"time_unit":"DAYS"}}]}`)
	if f.ID != "12" || f.RevisionID != "3" || f.StartActionID != "1" || !strings.Contains(string(f.Raw), `"startActionId":"1"`) {
		t.Fatalf("numeric ids: %+v %s", f, f.Raw)
	}
}

func TestParseBounds(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `{"type":"PLATFORM_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-3","actions":[],
	  "enrollmentCriteria":{"type":"LIST_BASED","listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
	    "filters":[{"filterType":"PROPERTY","property":"amount","operation":{"operationType":"NUMBER","operator":"IS_BETWEEN","lowerBound":10,"upperBound":20}}]}]}}}`)
	op := f.EnrollmentCriteria.ListFilterBranch.FilterBranches[0].Filters[0].Operation
	if lo, hi, err := numberBounds(&op); err != nil || lo != 10 || hi != 20 {
		t.Fatalf("bounds %v %v %v: %+v", lo, hi, err, op)
	}
	if strings.Contains(string(f.Raw), `"values"`) || !strings.Contains(string(f.Raw), `"lowerBound":10`) {
		t.Errorf("document changed: %s", f.Raw)
	}
}

// flowWith builds a CONTACT_FLOW body around the given actions JSON.
func flowWith(actions string, extra ...string) string {
	return `{"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":true,"objectTypeId":"0-1","actions":[` + actions + `]` + strings.Join(extra, "") + `}`
}

func codeAction(id, next string, outputs string) string {
	conn := ""
	if next != "" {
		conn = `,"connection":{"edgeType":"STANDARD","nextActionId":"` + next + `"}`
	}
	src, _ := json.Marshal(codeNode)
	return `{"type":"CUSTOM_CODE","actionId":"` + id + `","runtime":"NODE20X","secretNames":[],"sourceCode":` + string(src) +
		`,"inputFields":[],"outputFields":[` + outputs + `]` + conn + `}`
}

func delay(id, next string) string {
	conn := ""
	if next != "" {
		conn = `,"connection":{"edgeType":"STANDARD","nextActionId":"` + next + `"}`
	}
	return `{"type":"SINGLE_CONNECTION","actionId":"` + id + `","actionTypeId":"0-1","actionTypeVersion":0,"fields":{"delta":"5","time_unit":"MINUTES"}` + conn + `}`
}

func TestValidate(t *testing.T) {
	t.Parallel()
	listBranch := func(filter string) string {
		return `{"type":"LIST_BRANCH","actionId":"2","listBranches":[{"branchName":"A","filterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],"filters":[` +
			filter + `]}]},"connection":{"edgeType":"STANDARD","nextActionId":"3"}}],"defaultBranch":{"edgeType":"STANDARD","nextActionId":"3"}}`
	}
	setProp := func(fields string) string {
		return `{"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":` + fields + `}`
	}
	code := func(fields string) string {
		return `{"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","secretNames":[],"inputFields":[],"outputFields":[]` + fields + `}`
	}
	cases := []struct {
		name, body string
		ids        []string // actions named in Context; nil for valid
		want       []string
	}{
		{"valid chain", flowWith(codeAction("1", "2", `{"name":"zip","type":"STRING"}`) + "," + delay("2", "")), nil, nil},
		{"valid empty", flowWith(``), nil, nil},
		{"valid goto loop", flowWith(delay("1", "2") + `,{"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-1","fields":{"delta":1,"time_unit":"HOURS"},"connection":{"edgeType":"GOTO","nextActionId":"1"}}`), nil, nil},
		{"valid list branch", flowWith(delay("1", "2") + "," + listBranch(`{"filterType":"PROPERTY","property":"amount","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":5}}`) + "," + delay("3", "")), nil, nil},
		{"valid set from output", flowWith(codeAction("1", "2", `{"name":"zip","type":"STRING"}`) + "," + setProp(`{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}}`)), nil, nil},
		{"valid webhook", flowWith(`{"type":"WEBHOOK","actionId":"1","webhookUrl":"https://example.com/x","method":"POST","queryParams":[{"name":"e","value":{"type":"OBJECT_PROPERTY","propertyName":"email"}}]}`), nil, nil},
		{"valid python", flowWith(`{"type":"CUSTOM_CODE","actionId":"1","runtime":"PYTHON39","secretNames":["HUBSPOT_TOKEN"],"sourceCode":"def main(event):\n    return {'outputFields': {}}\n","inputFields":[],"outputFields":[{"name":"t","type":"ENUMERATION","options":["a"]}]}`), nil, nil},
		{"valid rate limit", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"SECONDS"},"rateLimit":{"executions":10,"per":"MINUTES"}}`), nil, nil},
		{"valid list based", flowWith(``, `,"enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filters":[{"filterType":"PROPERTY","property":"email","operation":{"operationType":"ALL_PROPERTY","operator":"IS_KNOWN"}}],"filterBranches":[]}}`), nil, nil},

		{"duplicate id", flowWith(delay("1", "") + "," + delay("1", "")), []string{"1"}, []string{"more than one"}},
		{"unknown next", flowWith(delay("1", "9")), []string{"1"}, []string{`nextActionId "9" does not exist`}},
		{"unknown default branch", flowWith(`{"type":"STATIC_BRANCH","actionId":"1","inputValue":{"type":"STATIC_VALUE","staticValue":"a"},"staticBranches":[],"defaultBranch":{"edgeType":"STANDARD","nextActionId":"8"}}`), []string{"1"}, []string{`"8"`}},
		{"unknown start", flowWith(delay("1", ""), `,"startActionId":"5"`), nil, []string{`startActionId "5"`}},
		{"unreachable", flowWith(delay("1", "") + "," + delay("2", "")), []string{"2"}, []string{"unreachable"}},
		{"cycle", flowWith(delay("1", "2") + "," + delay("2", "1")), []string{"2"}, []string{"cycle", "GOTO"}},
		{"bad edge type", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"DAYS"},"connection":{"edgeType":"JUMP","nextActionId":"2"}},` + delay("2", "")), []string{"1"}, []string{"edgeType"}},
		{"unknown input property", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","inputFields":[{"name":"a","value":{"type":"OBJECT_PROPERTY","propertyName":"nope"}}]`)), []string{"1"}, []string{`property "nope"`}},
		{"unknown set property", flowWith(delay("1", "2") + "," + setProp(`{"property_name":"nope","value":{"type":"STATIC_VALUE","staticValue":"x"}}`)), []string{"2"}, []string{`"nope"`}},
		{"unknown filter property", flowWith(delay("1", "2") + "," + listBranch(`{"filterType":"PROPERTY","property":"nope","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"a"}}`) + "," + delay("3", "")), []string{"2"}, []string{`"nope"`}},
		{"bad operator", flowWith(delay("1", "2") + "," + listBranch(`{"filterType":"PROPERTY","property":"email","operation":{"operationType":"STRING","operator":"IS_SIMILAR","value":"a"}}`) + "," + delay("3", "")), []string{"2"}, []string{"IS_SIMILAR"}},
		{"bad filter type", flowWith(delay("1", "2") + "," + listBranch(`{"filterType":"HOROSCOPE"}`) + "," + delay("3", "")), []string{"2"}, []string{"HOROSCOPE"}},
		{"number filter with string", flowWith(delay("1", "2") + "," + listBranch(`{"filterType":"PROPERTY","property":"amount","operation":{"operationType":"NUMBER","operator":"IS_LESS_THAN","value":"abc"}}`) + "," + delay("3", "")), []string{"2"}, []string{"numeric"}},
		{"field data not code", flowWith(delay("1", "2") + "," + setProp(`{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}}`)), []string{"2"}, []string{`is not an output field of action "1"`, `"hs_execution_state"`}},
		{"field data later", flowWith(setProp(`{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}}`)[:0]+`{"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","fields":{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}},"connection":{"edgeType":"STANDARD","nextActionId":"1"}},`+codeAction("1", "", `{"name":"zip","type":"STRING"}`), `,"startActionId":"2"`), []string{"2"}, []string{"does not run before"}},
		{"field data undeclared", flowWith(codeAction("1", "2", `{"name":"zip","type":"STRING"}`) + "," + setProp(`{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"score"}}`)), []string{"2"}, []string{`dataKey "score"`, `"zip"`}},
		{"field data missing action", flowWith(codeAction("1", "2", ``) + "," + setProp(`{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"7","dataKey":"x"}}`)), []string{"2"}, []string{`action "7"`}},
		{"bad runtime", flowWith(code(`,"runtime":"NODE12X","sourceCode":"x"`)), []string{"1"}, []string{"NODE12X"}},
		{"empty source", flowWith(code(`,"sourceCode":"  "`)), []string{"1"}, []string{"sourceCode is empty"}},
		{"node syntax", flowWith(code(`,"sourceCode":"exports.main = async (event, callback) => {\n  callback({outputFields: {}}\n};"`)), []string{"1"}, []string{"SyntaxError", "line"}},
		{"python syntax", flowWith(code(`,"runtime":"PYTHON39","sourceCode":"def main(event)\n  return {}"`)), []string{"1"}, []string{"SyntaxError"}},
		{"bad output type", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","outputFields":[{"name":"a","type":"BOOLEAN"}]`)), []string{"1"}, []string{`"BOOLEAN"`}},
		{"enum without options", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","outputFields":[{"name":"a","type":"ENUMERATION"}]`)), []string{"1"}, []string{"without options"}},
		{"missing secret", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","secretNames":["NOPE"]`)), []string{"1"}, []string{`secret "NOPE"`}},
		{"secrets too long", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","secretNames":["HUGE","HUBSPOT_TOKEN"]`)), []string{"1"}, []string{`total 1020 characters`}},
		{"too many inputs", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","inputFields":[` + strings.TrimSuffix(strings.Repeat(`{"name":"a","value":{"type":"STATIC_VALUE","staticValue":"x"}},`, 51), ",") + `]`)), []string{"1"}, []string{"51 inputFields"}},
		{"unsupported input value", flowWith(code(`,"sourceCode":"exports.main=async()=>({})","inputFields":[{"name":"a","value":{"type":"GUESSWORK"}}]`)), []string{"1"}, []string{`"GUESSWORK"`}},
		{"delay no delta", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"time_unit":"DAYS"}}`), []string{"1"}, []string{"delta"}},
		{"delay negative", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":-3,"time_unit":"DAYS"}}`), []string{"1"}, []string{"positive integer"}},
		{"delay fraction", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1.5","time_unit":"DAYS"}}`), []string{"1"}, []string{"positive integer"}},
		{"delay unit", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"YEARS"}}`), []string{"1"}, []string{"time_unit"}},
		{"set no property", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"value":{"type":"STATIC_VALUE","staticValue":"x"}}}`), []string{"1"}, []string{"property_name"}},
		{"set no value", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"property_name":"zip"}}`), []string{"1"}, []string{"fields.value"}},
		{"set bad value type", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"property_name":"zip","value":{"type":"GUESSWORK"}}}`), []string{"1"}, []string{`"GUESSWORK"`}},
		{"webhook url", flowWith(`{"type":"WEBHOOK","actionId":"1","webhookUrl":"ftp://x","method":"POST"}`), []string{"1"}, []string{"webhookUrl"}},
		{"webhook method", flowWith(`{"type":"WEBHOOK","actionId":"1","webhookUrl":"http://x.example","method":"HEAD"}`), []string{"1"}, []string{`"HEAD"`}},
		{"unknown action type", flowWith(`{"type":"MIND_READER","actionId":"1"}`), []string{"1"}, []string{`"MIND_READER"`}},
		{"unsupported actionTypeId", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-99","fields":{}}`), []string{"1"}, []string{`"0-99"`}},
		{"static list without list id", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-63809083","fields":{}}`), []string{"1"}, []string{"fields.listId"}},
		{"create record bad property", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-14","fields":{"object_type_id":"0-3","properties":[{"targetProperty":"nope","value":{"staticValue":"x"}}]}}`), []string{"1"}, []string{`property "nope" does not exist on object type 0-3`}},
		{"create task bad priority", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-3","fields":{"subject":"s","priority":"URGENT"}}`), []string{"1"}, []string{`"URGENT"`}},
		{"marketing email without content", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-4","fields":{}}`), []string{"1"}, []string{"content_id"}},
		{"rate limit zero", flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","fields":{"delta":"1","time_unit":"DAYS"},"rateLimit":{"executions":0,"per":"DAYS"}}`), []string{"1"}, []string{"rateLimit.executions", "rateLimit.per"}},
		{"event based without branches", flowWith(``, `,"enrollmentCriteria":{"type":"EVENT_BASED","shouldReEnroll":false}`), nil, []string{"eventFilterBranches"}},
		{"event branch without event type", flowWith(``, `,"enrollmentCriteria":{"type":"EVENT_BASED","eventFilterBranches":[{"filterBranchType":"UNIFIED_EVENTS","operator":"HAS_COMPLETED","filters":[],"filterBranches":[]}]}`), nil, []string{"eventTypeId"}},
		{"list based without branch", flowWith(``, `,"enrollmentCriteria":{"type":"LIST_BASED"}`), nil, []string{"listFilterBranch"}},
		{"list based bad branch type", flowWith(``, `,"enrollmentCriteria":{"type":"LIST_BASED","listFilterBranch":{"filterBranchType":"SOMETIMES","filters":[],"filterBranches":[]}}`), nil, []string{"SOMETIMES"}},
		{"no action id", flowWith(`{"type":"SINGLE_CONNECTION","actionTypeId":"0-1"}`), nil, []string{"actions[0] has no actionId"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := mustParse(t, tc.body)
			err := Validate(context.Background(), 1, f, checker)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var e *spoke.Error
			if !errors.As(err, &e) || e.Code != spoke.EINVALID || e.Category != "VALIDATION_ERROR" {
				t.Fatalf("Validate = %v, want EINVALID VALIDATION_ERROR", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q lacks %q", e.Message, w)
				}
			}
			if tc.ids != nil {
				got := strings.Join(e.Context["actionId"], ",")
				if got != strings.Join(tc.ids, ",") {
					t.Errorf("context actionId = %q, want %q (%s)", got, tc.ids, e.Message)
				}
				if !strings.Contains(e.Message, `action "`+tc.ids[0]+`"`) {
					t.Errorf("message %q does not name action %s", e.Message, tc.ids[0])
				}
			}
		})
	}
}

func TestValidateCheckerError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	f := mustParse(t, flowWith(`{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","fields":{"property_name":"zip","value":{"type":"STATIC_VALUE","staticValue":"x"}}}`))
	if err := Validate(context.Background(), 1, f, fakeChecker{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Validate = %v, want the checker's error", err)
	}
}

func TestCheckSyntax(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct{ runtime, src, want string }{
		{"NODE20X", codeNode, ""},
		{"NODE20X", "const x = ;", "SyntaxError"},
		{"NODE24X", "exports.main = async (event) => { return {outputFields: {}} }", ""},
		{"PYTHON39", "def main(event):\n    return {}\n", ""},
		{"PYTHON39", "def main(event):\nreturn {}\n", "IndentationError"},
	} {
		got := CheckSyntax(ctx, tc.runtime, tc.src)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("CheckSyntax(%s, %q) = %q, want %q", tc.runtime, tc.src, got, tc.want)
		}
		if strings.Contains(got, "/tmp") {
			t.Errorf("message leaks the temp path: %q", got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte(flowWith(delay("1", "2") + "," + delay("2", "1"))))
	f.Add([]byte(`{"type":"CONTACT_FLOW","flowType":"WORKFLOW","isEnabled":false,"objectTypeId":"0-1","actions":[]}`))
	f.Add([]byte(`{"actions":[{"listBranches":[{"filterBranch":{"filters":[{"operation":{"lowerBound":1,"upperBound":2}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fl, err := Parse(body)
		if err != nil {
			if spoke.ErrorCode(err) != spoke.EINVALID {
				t.Fatalf("Parse error is not EINVALID: %v", err)
			}
			return
		}
		if !json.Valid(fl.Raw) {
			t.Fatalf("Raw is not JSON: %s", fl.Raw)
		}
		again, err := Parse(fl.Raw)
		if err != nil {
			t.Fatalf("Parse(Raw) failed: %v\n%s", err, fl.Raw)
		}
		if string(again.Raw) != string(fl.Raw) {
			t.Fatalf("Parse is not idempotent:\n%s\n%s", fl.Raw, again.Raw)
		}
		_ = Validate(context.Background(), 1, fl, checker)
	})
}

func TestParseDeepNesting(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"filterBranches":[`, 60) + strings.Repeat(`]}`, 60)
	_, err := Parse([]byte(flowWith(``, `,"x":`+deep)))
	if spoke.ErrorCode(err) != spoke.EINVALID || !strings.Contains(spoke.ErrorMessage(err), "nested") {
		t.Fatalf("Parse = %v, want a nesting error", err)
	}
	if d := depth([]byte(`{"a":"[[[{{\"","b":[1]}`)); d != 2 {
		t.Errorf("depth = %d, want 2", d)
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	// Unknown start: FIELD_DATA order is not judged, so only the start is
	// reported.
	f := mustParse(t, flowWith(codeAction("1", "2", `{"name":"zip","type":"STRING"}`)+`,{"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","fields":{"property_name":"zip","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"zip"}}}`, `,"startActionId":"9"`))
	err := Validate(context.Background(), 1, f, checker)
	if msg := spoke.ErrorMessage(err); !strings.Contains(msg, `startActionId "9"`) || strings.Contains(msg, "before") {
		t.Errorf("message %q", msg)
	}
	// A cycle names its path.
	f = mustParse(t, flowWith(delay("1", "2")+","+delay("2", "3")+","+delay("3", "2")))
	err = Validate(context.Background(), 1, f, checker)
	if msg := spoke.ErrorMessage(err); !strings.Contains(msg, `action "3": connects back to "2"`) || !strings.Contains(msg, "2 → 3 → 2") {
		t.Errorf("cycle message %q", msg)
	}
	// Many problems: capped.
	var actions []string
	for i := 1; i <= 30; i++ {
		actions = append(actions, `{"type":"NOPE","actionId":"`+strings.Repeat("a", i)+`"}`)
	}
	f = mustParse(t, flowWith(strings.Join(actions, ",")))
	err = Validate(context.Background(), 1, f, checker)
	if msg := spoke.ErrorMessage(err); !strings.Contains(msg, "more)") {
		t.Errorf("long message not capped: %d chars", len(msg))
	}
}
