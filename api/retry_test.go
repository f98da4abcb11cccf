package api

import (
	"testing"
)

// TestRetryFailedEnrollment fails an enrollment at its custom code action,
// retries it after the code is fixed, and finds it completed from that
// action on with a second execution of it; retrying a completed, unknown
// or other flow's enrollment is refused.
func TestRetryFailedEnrollment(t *testing.T) {
	t.Parallel()
	e := setupEngine(t)
	id := e.createFlow(scoreFlowJSON(true, ""))
	other := e.createFlow(scoreFlowJSON(true, ""))
	a := e.contactWith(`{"email":"a@example.com","n":"4"}`)

	e.code.fail.Store(true)
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments", `{"objectIds":["`+a+`"]}`), 202, "")
	e.drain()
	list, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if len(list) != 1 || list[0]["status"] != "FAILED" || list[0]["currentActionId"] != "1" {
		t.Fatalf("enrollment after a failing action: %v", list)
	}
	enr := list[0]["id"].(string)
	retry := "/automation/v4/flows/" + id + "/enrollments/" + enr + "/retry"

	// Without the automation scope: 403. Another flow's id: 404.
	r := e.doAs(e.readOnly, "POST", retry, "")
	expect(t, r, 403, "")
	expect(t, e.do("POST", "/automation/v4/flows/"+other+"/enrollments/"+enr+"/retry", ""), 404, "")
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments/99999/retry", ""), 404, "")
	expect(t, e.do("POST", "/automation/v4/flows/"+id+"/enrollments/x/retry", ""), 404, "")

	e.code.fail.Store(false)
	r = e.do("POST", retry, "")
	expect(t, r, 202, "")
	got := r.json(t)
	if got["status"] != "ACTIVE" || got["currentActionId"] != "1" || got["error"] != nil || got["attempt"] != float64(1) {
		t.Fatalf("retry answer %s", r.body)
	}
	e.drain()
	if e.property(a, "score") != "8" {
		t.Fatalf("score after retry = %q", e.property(a, "score"))
	}
	list, _ = results(t, e.do("GET", "/automation/v4/flows/"+id+"/enrollments", ""))
	if list[0]["status"] != "COMPLETED" {
		t.Fatalf("enrollment after retry: %v", list[0])
	}
	execs, _ := results(t, e.do("GET", "/automation/v4/flows/"+id+"/executions?actionId=1", ""))
	if len(execs) != 2 || execs[0]["status"] != "ERROR" || execs[1]["status"] != "SUCCESS" {
		t.Fatalf("executions of the code action: %v", execs)
	}

	// A completed enrollment cannot be retried.
	r = e.do("POST", retry, "")
	expect(t, r, 409, "")
}
