package engine_test

import (
	"fmt"
	"strings"
)

// A flow on deals with pipelines, end to end: a branch on dealstage, custom
// code that reads the stage's hs_deal_stage_probability and picks the next
// stage, and a set-property that moves the deal there, which computes
// hs_is_closed, hs_is_closed_won and closedate as any write of the stage.
func testDealPipelineFlow(e *itEnv) {
	t := e.t
	code := `exports.main = async (event) => {
  const p = Number(event.inputFields.probability);
  return { outputFields: { probability: p, next: p >= 0.9 ? "closedwon" : "closedlost" } };
};`
	actions := `[` +
		`{"type":"LIST_BRANCH","actionId":"1","listBranches":[{"branchName":"contract","filterBranch":{"filterBranchType":"AND","filterBranches":[],
		   "filters":[{"filterType":"PROPERTY","property":"dealstage","operation":{"operationType":"ENUMERATION","operator":"IS_ANY_OF","values":["contractsent"]}}]},
		   "connection":{"edgeType":"STANDARD","nextActionId":"2"}}],"defaultBranchName":"early","defaultBranch":{"edgeType":"STANDARD","nextActionId":"4"}},` +
		codeAction("2", "3", "NODE20X", code, `[]`, `[{"name":"probability","value":{"type":"OBJECT_PROPERTY","propertyName":"hs_deal_stage_probability"}}]`,
			`[{"name":"probability","type":"NUMBER"},{"name":"next","type":"STRING"}]`) + `,` +
		setProp("3", "", "dealstage", fieldData("2", "next")) + `,` +
		setProp("4", "", "description", `{"type":"STATIC_VALUE","staticValue":"not yet"}`) + `]`
	body := `{"name":"deals","type":"PLATFORM_FLOW","objectTypeId":"0-3","flowType":"WORKFLOW","isEnabled":true,` +
		`"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},"actions":` + actions + `}`
	flowID := e.must(201, "POST", "/automation/v4/flows", body)["id"].(string)
	deal := func(stage string) string {
		return e.must(201, "POST", "/crm/v3/objects/deals", map[string]any{"properties": map[string]string{"dealname": "D " + stage, "pipeline": "default", "dealstage": stage}})["id"].(string)
	}
	late, early := deal("contractsent"), deal("appointmentscheduled")
	e.enroll(flowID, late, early)
	names := "dealstage,hs_deal_stage_probability,hs_is_closed,hs_is_closed_won,closedate,description"
	get := func(id string) map[string]any {
		return e.must(200, "GET", "/crm/v3/objects/deals/"+id+"?properties="+names+"&propertiesWithHistory=dealstage", nil)
	}
	for _, id := range []string{late, early} {
		if en := e.waitEnrollment(flowID, id, finished); en["status"] != "COMPLETED" {
			t.Fatalf("deal %s: enrollment %v", id, en)
		}
	}
	won := get(late)
	p := won["properties"].(map[string]any)
	if p["dealstage"] != "closedwon" || p["hs_is_closed"] != "true" || p["hs_is_closed_won"] != "true" || p["closedate"] == nil || p["closedate"] == "" ||
		!strings.HasPrefix(fmt.Sprint(p["hs_deal_stage_probability"]), "1") {
		t.Errorf("the contract-sent deal after the flow: %v", p)
	}
	// The stage change is the flow's write.
	if h := won["propertiesWithHistory"].(map[string]any)["dealstage"].([]any); len(h) != 2 || h[0].(map[string]any)["sourceType"] != "AUTOMATION_PLATFORM" || h[0].(map[string]any)["sourceId"] != flowID {
		t.Errorf("dealstage history %v", h)
	}
	x := e.executions(flowID, "actionId=2&objectId="+late)
	if len(x) != 1 || fmt.Sprint(x[0]["outputs"].(map[string]any)["probability"]) != "0.9" {
		t.Errorf("custom code read the probability as %v", x)
	}
	p = get(early)["properties"].(map[string]any)
	if p["dealstage"] != "appointmentscheduled" || p["hs_is_closed"] != "false" || p["description"] != "not yet" {
		t.Errorf("the early deal after the flow: %v", p)
	}
	if x := e.executions(flowID, "actionId=2&objectId="+early); len(x) != 0 {
		t.Errorf("the early deal ran the code: %v", x)
	}
}
