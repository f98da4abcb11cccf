package api

import (
	"strings"
	"testing"
)

func TestRevisionsAuthorsDiffAndRestore(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(false, ""))
	changed := strings.Replace(scoreFlowJSON(false, ""), "2 * e.inputFields.n", "3 * e.inputFields.n", 1)
	changed = strings.Replace(changed, `{"type":"SINGLE_CONNECTION","actionId":"3"`, `{"type":"SINGLE_CONNECTION","actionId":"4"`, 1)
	changed = strings.Replace(changed, `"nextActionId":"3"`, `"nextActionId":"4"`, 1)
	changed = strings.Replace(changed, `{"name":"score",`, `{"revisionId":"1","name":"score",`, 1)
	r := e.doAs(e.automationOnly, "PUT", "/automation/v4/flows/"+id+"?message=triple+the+score", changed)
	expect(t, r, 200, "", `"revisionId":"2"`)

	list, after := results(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions?limit=1", ""))
	if len(list) != 1 || list[0]["revisionId"] != "1" || list[0]["author"] != "admin" || after != "1" {
		t.Fatalf("first page %v after %q", list, after)
	}
	list, _ = results(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions?after=1", ""))
	if len(list) != 1 || list[0]["author"] != "auto" || list[0]["message"] != "triple the score" {
		t.Fatalf("second page %v", list)
	}

	d := e.do("GET", "/automation/v4/flows/"+id+"/revisions/diff?from=1&to=2", "")
	expect(t, d, 200, "", `"actionsAdded":["4"]`, `"actionsRemoved":["3"]`)
	m := d.json(t)
	ch := m["actionsChanged"].([]any)
	if len(ch) != 2 {
		t.Fatalf("changed %v", ch)
	}
	code := ch[0].(map[string]any)
	src, _ := code["sourceDiff"].(string)
	if code["actionId"] != "1" || !strings.Contains(src, "-exports.main = async (e, cb) => cb({outputFields: {score: 2 * e.inputFields.n}});") ||
		!strings.Contains(src, "+exports.main = async (e, cb) => cb({outputFields: {score: 3 * e.inputFields.n}});") || !strings.Contains(src, "@@ -1 +1 @@") {
		t.Errorf("code change %v", code)
	}
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions/diff?from=1", ""), 400, "VALIDATION_ERROR")
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions/diff?from=1&to=9", ""), 404, "OBJECT_NOT_FOUND")

	r = e.do("POST", "/automation/v4/flows/"+id+"/revisions/1/restore", "")
	expect(t, r, 200, "", `"revisionId":"3"`, "2 * e.inputFields.n")
	list, _ = results(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions", ""))
	if len(list) != 3 || list[2]["message"] != "Restored revision 1." {
		t.Errorf("revisions %v", list)
	}
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revisions/diff?from=1&to=3", ""), 200, "", `"actionsChanged":[]`, `"fieldsChanged":[]`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/revisions/7/restore", ""), 404, "OBJECT_NOT_FOUND")
}

func TestRolloutRoutes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	body := strings.Replace(scoreFlowJSON(true, ""), `{"name":"score",`, `{"rollout":{"stages":[1,10],"maxFailureRate":0.05,"approval":"manual"},"name":"score",`, 1)
	id := e.createFlow(body)
	// The extension is kept as sent.
	expect(t, e.do("GET", "/automation/v4/flows/"+id, ""), 200, "", `"rollout":{"stages":[1,10],"maxFailureRate":0.05,"approval":"manual"}`)
	a, b := e.contactWith(`{"n":"1"}`), e.contactWith(`{"n":"2"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":["`+a+`","`+b+`"]}`), 202, "")
	r := e.do("GET", "/automation/v4/flows/"+id+"/rollout", "")
	expect(t, r, 200, "", `"state":"RUNNING"`, `"stage":1`, `"stageSize":1`, `"held":2`)
	e.drain()
	if e.code.calls.Load() != 0 {
		t.Fatal("held enrollments ran")
	}
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/rollout/advance", ""), 409, "CONFLICT")
	e.code.fail.Store(true)
	if err := e.eng.TickRollouts(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if err := e.eng.TickRollouts(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/automation/v4/flows/"+id+"/rollout", "")
	expect(t, r, 200, "", `"state":"HALTED"`, `"failed":1`, `"held":1`, `"status":"ERROR"`)
	r = e.do("POST", "/automation/v4/flows/"+id+"/rollout/abort", "")
	expect(t, r, 200, "", `"state":"ABORTED"`, `"held":0`)
	expect(t, e.do("GET", "/automation/v4/flows/"+id, ""), 200, "", `"isEnabled":false`, `"revisionId":"2"`)
	expect(t, e.do("GET", "/automation/v4/flows/1234/rollout", ""), 404, "OBJECT_NOT_FOUND")
	// Validation of the extension.
	bad := strings.Replace(scoreFlowJSON(true, ""), `{"name":"score",`, `{"rollout":{"stages":[0],"maxFailureRate":2,"approval":"later"},"name":"score",`, 1)
	expect(t, e.do("POST", "/automation/v4/flows", bad), 400, "VALIDATION_ERROR", "rollout.stages[0]", "maxFailureRate", "approval")
}

func TestEnrollDryRunAndQuotaRefusal(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	a, b, c := e.contactWith(`{"n":"1"}`), e.contactWith(`{"n":"2"}`), e.contactWith(`{"n":"3"}`)
	expect(t, e.do("PUT", "/automation/v4/usage/limit", `{"limit":2}`), 200, "")
	ids := `["` + a + `","` + b + `","` + c + `"]`
	r := e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":`+ids+`,"dryRun":true}`)
	expect(t, r, 200, "", `"wouldEnroll":3`, `"customCodeExecutionsPerRecord":1`, `"customCodeExecutions":3`, `"quotaRemaining":2`,
		`"quotaWouldRunOut":true`, `"quotaRunsOutAfterRecords":2`)
	r = e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"allMatching":true,"dryRun":true}`)
	expect(t, r, 200, "", `"wouldEnroll":3`)
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 0 {
		t.Fatalf("a dry run enrolled %d", len(list))
	}
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":`+ids+`}`), 409, "QUOTA_EXCEEDED", "allowQueueing")
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":`+ids+`,"allowQueueing":true}`), 202, "")
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":["`+a+`"],"dryRun":true}`), 200, "", `"wouldEnroll":0`, "ALREADY_ENROLLED")
}

func TestAlertSettingsAndRevertRoutes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	expect(t, e.do("GET", "/automation/v4/settings/alerts", ""), 404, "OBJECT_NOT_FOUND")
	expect(t, e.do("PUT", "/automation/v4/settings/alerts", `{"url":"ftp://x"}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("PUT", "/automation/v4/settings/alerts", `{"url":"https://hooks.example.com/a","failureRate":1.5}`), 400, "VALIDATION_ERROR")
	expect(t, e.do("PUT", "/automation/v4/settings/alerts", `{"url":"https://hooks.example.com/a","lastExecutions":20}`), 200, "")
	expect(t, e.do("GET", "/automation/v4/settings/alerts", ""), 200, "", `"url":"https://hooks.example.com/a"`, `"failureRate":0.2`, `"lastExecutions":20`)

	id := e.createFlow(scoreFlowJSON(true, ""))
	a := e.contactWith(`{"n":"4","jobtitle":"engineer"}`)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":["`+a+`"]}`), 202, "")
	e.drain()
	if e.property(a, "jobtitle") != "scored" {
		t.Fatal("the flow did not run")
	}
	r := e.do("POST", "/automation/v4/flows/"+id+"/revert", `{"since":"2000-01-01T00:00:00Z"}`)
	expect(t, r, 200, "", `"dryRun":true`, `"valuesReverted":2`, `"conflicts":0`, `"restored":"engineer"`)
	if e.property(a, "jobtitle") != "scored" {
		t.Fatal("a dry run wrote")
	}
	r = e.do("POST", "/automation/v4/flows/"+id+"/revert", `{"since":"2000-01-01T00:00:00Z","dryRun":false,"properties":["jobtitle"]}`)
	expect(t, r, 202, "", `"status":"RUNNING"`)
	job := r.json(t)["id"].(string)
	if err := e.eng.RunReverts(t.Context()); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revert/"+job, ""), 200, "", `"status":"COMPLETE"`, `"valuesReverted":1`, `"progress":100`)
	if e.property(a, "jobtitle") != "engineer" || e.property(a, "score") != "8" {
		t.Errorf("after the revert: jobtitle %q score %q", e.property(a, "jobtitle"), e.property(a, "score"))
	}
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/revert", `{}`), 400, "VALIDATION_ERROR", "since")
	expect(t, e.do("GET", "/automation/v4/flows/"+id+"/revert/99", ""), 404, "OBJECT_NOT_FOUND")
}
