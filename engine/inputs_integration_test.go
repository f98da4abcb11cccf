package engine_test

import (
	"encoding/json"
	"strconv"
	"time"
)

// testInputFormats runs every property type through a flow with the real
// sandbox: property → input → code → output → set property. The code
// checks each input the way HubSpot's published snippets read it
// (int(event["inputFields"]["createdate"]), Number(...), the event.fields
// alias) and returns what it saw; the outputs are written back to
// properties of the same types.
func testInputFormats(e *itEnv, runtime string) {
	t := e.t
	var code string
	if runtime == "NODE20X" {
		code = `
exports.main = async (event, callback) => {
  const f = event.inputFields;
  const seen = {};
  for (const k of Object.keys(f)) seen[k] = f[k] === null ? 'null' : typeof f[k] + ':' + f[k];
  callback({ outputFields: {
    echo: JSON.stringify({ seen, sameFields: event.fields === event.inputFields, origin: event.origin, context: event.context, object: event.object }),
    n: Number(f.n) * 2,
    vip: f.vip !== 'true',
    tier: f.tier === 'gold' ? 'silver' : 'gold',
    seen_at: Number(f.seen_at) + 3600000,
    renewal: Number(f.renewal) + 86400000,
    created_day: new Date(Number(f.createdate)).setUTCHours(0, 0, 0, 0),
    hotline: f.hotline + ' x1',
  } });
};`
	} else {
		code = `
import json
def main(event):
    f = event["inputFields"]
    seen = {k: ("null" if v is None else type(v).__name__ + ":" + str(v)) for k, v in f.items()}
    created = int(event["inputFields"]["createdate"])
    return {"outputFields": {
        "echo": json.dumps({"seen": seen, "sameFields": event["fields"] is f, "origin": event["origin"], "context": event["context"], "object": event["object"]}),
        "n": float(f["n"]) * 2,
        "vip": f["vip"] != "true",
        "tier": "silver" if f["tier"] == "gold" else "gold",
        "seen_at": int(f["seen_at"]) + 3600000,
        "renewal": int(f["renewal"]) + 86400000,
        "created_day": created - created % 86400000,
        "hotline": f["hotline"] + " x1",
    }}`
	}
	in := func(name string) string {
		return `{"name":"` + name + `","value":{"type":"OBJECT_PROPERTY","propertyName":"` + name + `"}}`
	}
	inputs := `[` + in("firstname") + `,` + in("n") + `,` + in("vip") + `,` + in("tier") + `,` + in("colors") + `,` + in("seen_at") + `,` +
		in("renewal") + `,` + in("hotline") + `,` + in("createdate") + `,` + in("hs_object_id") + `,` + in("jobtitle") + `]`
	outputs := `[{"name":"echo","type":"STRING"},{"name":"n","type":"NUMBER"},{"name":"vip","type":"BOOL"},{"name":"tier","type":"ENUMERATION","options":["gold","silver"]},` +
		`{"name":"seen_at","type":"DATETIME"},{"name":"renewal","type":"DATE"},{"name":"created_day","type":"DATE"},{"name":"hotline","type":"PHONE_NUMBER"}]`
	set := func(id, next, prop, key string) string { return setProp(id, next, prop, fieldData("1", key)) + "," }
	actions := `[` + codeAction("1", "2", runtime, code, `[]`, inputs, outputs) + `,` +
		set("2", "3", "echo", "echo") + set("3", "4", "n", "n") + set("4", "5", "vip", "vip") + set("5", "6", "tier", "tier") +
		set("6", "7", "seen_at", "seen_at") + set("7", "8", "renewal", "renewal") + set("8", "9", "hotline", "hotline") +
		// A later custom code action receives the DATE output as epoch ms too.
		codeAction("9", "", runtime, map[string]string{
			"NODE20X":  `exports.main = async (event) => ({ outputFields: { d: event.fields.d } });`,
			"PYTHON39": "def main(event):\n    return {\"outputFields\": {\"d\": event[\"fields\"][\"d\"]}}",
		}[runtime], `[]`, `[{"name":"d","value":`+fieldData("1", "created_day")+`}]`, `[{"name":"d","type":"STRING"}]`) + `]`
	flowID := e.createFlow(actions, "")
	id := e.contact(map[string]string{"firstname": "Ada", "n": "21.5", "vip": "true", "tier": "gold", "colors": "red;blue",
		"seen_at": "2026-03-10T12:30:00.000Z", "renewal": "2026-12-31", "hotline": "+1 555 0100"})
	e.enroll(flowID, id)
	if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" {
		t.Fatalf("enrollment %v (executions %v)", en, e.executions(flowID, ""))
	}
	p := e.properties(id, "echo", "n", "vip", "tier", "seen_at", "renewal", "hotline", "createdate")["properties"].(map[string]any)
	var echo struct {
		Seen       map[string]string
		SameFields bool
		Origin     map[string]any
		Context    map[string]any
		Object     map[string]any
	}
	if err := json.Unmarshal([]byte(p["echo"].(string)), &echo); err != nil {
		t.Fatalf("echo %v: %v", p["echo"], err)
	}
	created, _ := time.Parse(time.RFC3339, p["createdate"].(string))
	str := map[string]string{"NODE20X": "string:", "PYTHON39": "str:"}[runtime]
	want := map[string]string{
		"firstname":    str + "Ada",
		"n":            str + "21.5",
		"vip":          str + "true",
		"tier":         str + "gold",
		"colors":       str + "red;blue",
		"seen_at":      str + "1773145800000", // 2026-03-10T12:30:00Z
		"renewal":      str + "1798675200000", // 2026-12-31T00:00:00Z
		"hotline":      str + "+1 555 0100",
		"createdate":   str + strconv.FormatInt(created.UnixMilli(), 10),
		"hs_object_id": str + id,
		"jobtitle":     "null",
	}
	for k, v := range want {
		if echo.Seen[k] != v {
			t.Errorf("%s: input %s = %q, want %q", runtime, k, echo.Seen[k], v)
		}
	}
	if !echo.SameFields {
		t.Errorf("%s: event.fields is not event.inputFields", runtime)
	}
	if echo.Context["source"] != "WORKFLOWS" || echo.Context["workflowId"] != json.Number(flowID) && echo.Context["workflowId"] != mustFloat(flowID) {
		t.Errorf("%s: context %v", runtime, echo.Context)
	}
	for _, k := range []string{"portalId", "actionDefinitionId", "actionDefinitionVersion", "extensionDefinitionId", "extensionDefinitionVersionId", "actionExecutionIndexIdentifier"} {
		if _, ok := echo.Origin[k]; !ok {
			t.Errorf("%s: origin has no %s: %v", runtime, k, echo.Origin)
		}
	}
	if echo.Object["objectType"] != "CONTACT" || echo.Object["objectId"] != mustFloat(id) {
		t.Errorf("%s: object %v", runtime, echo.Object)
	}
	// The outputs, typed and written back.
	if p["n"] != "43" || p["vip"] != "false" || p["tier"] != "silver" || p["renewal"] != "2027-01-01" || p["hotline"] != "+1 555 0100 x1" ||
		(p["seen_at"] != "2026-03-10T13:30:00.000Z" && p["seen_at"] != "2026-03-10T13:30:00Z") {
		t.Errorf("%s: written back %v", runtime, p)
	}
	day := strconv.FormatInt(created.UTC().Truncate(24*time.Hour).UnixMilli(), 10)
	if out := e.executions(flowID, "actionId=9")[0]["outputs"].(map[string]any); out["d"] != day {
		t.Errorf("%s: a DATE output read by later code = %v, want %s", runtime, out["d"], day)
	}
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
