package api

import "testing"

// The membership endpoints run enrollment triggers: a record added to a
// manual list enrolls in a LIST_BASED flow whose criteria test the list,
// and one removed enrolls in a flow that tests it is not in the list.
func TestListMembershipEndpointsTriggerEnrollment(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	r := e.do("POST", "/crm/v3/lists", `{"name":"VIP","objectTypeId":"0-1","processingType":"MANUAL"}`)
	expect(t, r, 200, "")
	listID := r.json(t)["list"].(map[string]any)["listId"].(string)
	a := e.contactWith(`{"firstname":"Ann"}`)
	b := e.contactWith(`{"firstname":"Bo"}`)
	flow := func(operator, jobtitle string) string {
		return `{"name":"` + jobtitle + `","type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,
		 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":true,"listFilterBranch":{"filterBranchType":"OR","filters":[],"filterBranches":[{"filterBranchType":"AND","filterBranches":[],
		   "filters":[{"filterType":"IN_LIST","listId":"` + listID + `","operator":"` + operator + `"}]}]}},
		 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"staticValue":"` + jobtitle + `"}}}]}`
	}
	e.createFlow(flow("IN_LIST", "vip"))
	e.createFlow(flow("NOT_IN_LIST", "not vip"))

	r = e.do("PUT", "/crm/v3/lists/"+listID+"/memberships/add", `["`+a+`"]`)
	expect(t, r, 200, "")
	e.drain()
	if got := e.property(a, "jobtitle"); got != "vip" {
		t.Errorf("after add: jobtitle %q, want vip", got)
	}
	if got := e.property(b, "jobtitle"); got != "" {
		t.Errorf("a record not added enrolled: jobtitle %q", got)
	}

	// add-and-remove: a leaves (and enrolls in the NOT_IN_LIST flow), b joins.
	r = e.do("PUT", "/crm/v3/lists/"+listID+"/memberships/add-and-remove", `{"recordIdsToAdd":["`+b+`"],"recordIdsToRemove":["`+a+`"]}`)
	expect(t, r, 200, "")
	e.drain()
	if got := e.property(a, "jobtitle"); got != "not vip" {
		t.Errorf("after remove: jobtitle %q, want not vip", got)
	}
	if got := e.property(b, "jobtitle"); got != "vip" {
		t.Errorf("after add-and-remove: jobtitle %q, want vip", got)
	}

	r = e.do("PUT", "/crm/v3/lists/"+listID+"/memberships/remove", `["`+b+`"]`)
	expect(t, r, 200, "")
	e.drain()
	if got := e.property(b, "jobtitle"); got != "not vip" {
		t.Errorf("after remove: jobtitle %q, want not vip", got)
	}
}
