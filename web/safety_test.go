package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// apiDo calls the API with a token and decodes its JSON answer.
func apiDo(t *testing.T, base, token, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, b, want)
	}
	out := map[string]any{}
	json.Unmarshal(b, &out)
	return out
}

// postForm posts a form with the session's CSRF token and returns the
// answer without following redirects.
func postForm(t *testing.T, c *http.Client, u, csrf string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", csrf)
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// codeFlow is a flow with one custom code action that sets jobtitle.
func codeFlow(name string) map[string]any {
	return map[string]any{"name": name, "type": "CONTACT_FLOW", "objectTypeId": "0-1", "flowType": "WORKFLOW", "isEnabled": false,
		"enrollmentCriteria": map[string]any{"type": "MANUAL", "shouldReEnroll": false}, "startActionId": "1", "nextAvailableActionId": "2",
		"actions": []any{map[string]any{"actionId": "1", "type": "CUSTOM_CODE", "runtime": "NODE20X",
			"sourceCode": "exports.main = async (event, callback) => { callback({ outputFields: {} }); };\n"}}}
}

func TestRevisionsDiffAndRestore(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)
	csrf := signIn(t, c, ts.URL, admin)

	f := apiDo(t, ts.URL, admin, "POST", "/automation/v4/flows", codeFlow("Revised"), 201)
	id := f["id"].(string)
	f["name"] = "Revised twice"
	f["actions"].([]any)[0].(map[string]any)["sourceCode"] = "exports.main = async (event, callback) => {\n  callback({ outputFields: { n: 1 } });\n};\n"
	delete(f, "createdAt")
	delete(f, "updatedAt")
	delete(f, "warnings")
	apiDo(t, ts.URL, admin, "PUT", "/automation/v4/flows/"+id+"?message="+url.QueryEscape("count the things"), f, 200)

	// The flow page and the revisions page show author, message and time.
	for _, page := range []string{"/ui/flows/" + id, "/ui/flows/" + id + "/revisions"} {
		body := get(t, c, ts.URL+page, 200)
		for _, want := range []string{"count the things", "admin", "<time datetime="} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", page, want)
			}
		}
	}
	// The diff names the changed field and colours the code's lines.
	diff := get(t, c, ts.URL+"/ui/flows/"+id+"/diff?from=1&to=2", 200)
	for _, want := range []string{"<code>name</code>", "Action 1", `<span class="add">&#43;  callback({ outputFields: { n: 1 } });</span>`, `<span class="del">-`} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	get(t, c, ts.URL+"/ui/flows/"+id+"/diff?from=1&to=9", 404)

	// Restore revision 1: it becomes revision 3 with revision 1's name.
	resp, body := postForm(t, c, ts.URL+"/ui/flows/"+id+"/revisions/1/restore", csrf, url.Values{})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "restored=") {
		t.Fatalf("restore: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	got := apiDo(t, ts.URL, admin, "GET", "/automation/v4/flows/"+id, nil, 200)
	if got["revisionId"] != "3" || got["name"] != "Revised" {
		t.Fatalf("after restore: revision %v name %v", got["revisionId"], got["name"])
	}
	if page := get(t, c, ts.URL+resp.Header.Get("Location"), 200); !strings.Contains(page, "Restored revision 1 as revision 3") {
		t.Errorf("the revisions page does not say what was restored")
	}
	// Without the CSRF token, nothing is restored.
	resp, _ = c.PostForm(ts.URL+"/ui/flows/"+id+"/revisions/1/restore", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("restore without CSRF: %d", resp.StatusCode)
	}
}

func TestRolloutAndRevertPanels(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)
	csrf := signIn(t, c, ts.URL, admin)

	doc := codeFlow("Staged")
	doc["rollout"] = map[string]any{"stages": []int{1, 10}, "maxFailureRate": 0.05, "approval": "manual"}
	doc["isEnabled"] = true
	f := apiDo(t, ts.URL, admin, "POST", "/automation/v4/flows", doc, 201)
	id := f["id"].(string)

	page := get(t, c, ts.URL+"/ui/flows/"+id, 200)
	for _, want := range []string{`id="rollout"`, "RUNNING", "Stage <b id=\"rollout-stage\">1</b> of 3", "each next stage waits for Advance", `id="rollout-abort"`} {
		if !strings.Contains(page, want) {
			t.Errorf("flow page lacks %q", want)
		}
	}
	// Abort: the held enrollments are cancelled and the flow is off.
	resp, body := postForm(t, c, ts.URL+"/ui/flows/"+id+"/rollout/abort", csrf, url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("abort: %d %s", resp.StatusCode, body)
	}
	page = get(t, c, ts.URL+resp.Header.Get("Location"), 200)
	if !strings.Contains(page, "ABORTED") || !strings.Contains(page, "rollout was aborted") || strings.Contains(page, `id="rollout-abort"`) {
		t.Errorf("after abort the page shows:\n%s", page)
	}
	if got := apiDo(t, ts.URL, admin, "GET", "/automation/v4/flows/"+id, nil, 200); got["isEnabled"] != false {
		t.Errorf("the flow is still on after abort")
	}

	// Revert: a dry run shows counts and changes nothing; a bad time is
	// refused in words.
	get(t, c, ts.URL+"/ui/flows/"+id+"/revert", 200)
	resp, body = postForm(t, c, ts.URL+"/ui/flows/"+id+"/revert", csrf, url.Values{"since_local": {"2020-01-01T00:00"}, "real": {"0"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Dry run: nothing was changed") || !strings.Contains(body, `id="revert-records">0</b>`) {
		t.Fatalf("dry run: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `id="revert-real"`) {
		t.Errorf("a dry run that would change nothing offers a real run")
	}
	resp, body = postForm(t, c, ts.URL+"/ui/flows/"+id+"/revert", csrf, url.Values{"since": {"yesterday"}, "real": {"0"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "is not a time") {
		t.Errorf("bad since: %d\n%s", resp.StatusCode, body)
	}
}

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	ts, admin, contactsOnly := setup(t)
	c := browser(t)
	csrf := signIn(t, c, ts.URL, admin)

	page := get(t, c, ts.URL+"/ui/settings", 200)
	if !strings.Contains(page, `id="alerts"`) || !strings.Contains(page, `id="retention"`) {
		t.Fatalf("settings page lacks a form:\n%s", page)
	}
	resp, body := postForm(t, c, ts.URL+"/ui/settings/alerts", csrf, url.Values{"url": {"https://hooks.example.com/x"}, "failurePct": {"25"}, "lastExecutions": {"40"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save alerts: %d %s", resp.StatusCode, body)
	}
	a := apiDo(t, ts.URL, admin, "GET", "/automation/v4/settings/alerts", nil, 200)
	if a["url"] != "https://hooks.example.com/x" || a["failureRate"] != 0.25 || a["lastExecutions"] != float64(40) {
		t.Errorf("alerts saved as %v", a)
	}
	page = get(t, c, ts.URL+"/ui/settings", 200)
	if !strings.Contains(page, `value="25"`) || !strings.Contains(page, `value="https://hooks.example.com/x"`) {
		t.Errorf("the settings page does not show the saved alerts")
	}
	// The API's validation comes back beside the form, with what was typed.
	resp, body = postForm(t, c, ts.URL+"/ui/settings/alerts", csrf, url.Values{"url": {"ftp://x"}, "failurePct": {"25"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "http(s) URL") || !strings.Contains(body, `value="ftp://x"`) {
		t.Errorf("bad alert url: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(t, c, ts.URL+"/ui/settings/retention", csrf, url.Values{"days": {"7"}, "failedDays": {"30"}, "maxExecutionsPerFlow": {"0"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save retention: %d %s", resp.StatusCode, body)
	}
	if r := apiDo(t, ts.URL, admin, "GET", "/automation/v4/settings/retention", nil, 200); r["days"] != float64(7) || r["failedDays"] != float64(30) {
		t.Errorf("retention saved as %v", r)
	}
	if !strings.Contains(get(t, c, ts.URL+"/ui/usage", 200), `href="/ui/settings#retention"`) {
		t.Errorf("the usage page does not link to the retention setting")
	}
	resp, body = postForm(t, c, ts.URL+"/ui/settings/retention", csrf, url.Values{"days": {"soon"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not a whole number") {
		t.Errorf("bad retention: %d\n%s", resp.StatusCode, body)
	}

	// A token without the automation scope may not see settings.
	r := browser(t)
	signIn2(t, r, ts.URL, contactsOnly)
	get(t, r, ts.URL+"/ui/settings", 403)
}

// signIn2 signs in a token that may not see the secrets page signIn
// reads the CSRF token from.
func signIn2(t *testing.T, c *http.Client, base, token string) {
	t.Helper()
	resp, err := c.PostForm(base+"/ui/signin", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
}

func TestRecordTypesOwnersAndStages(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)
	signIn(t, c, ts.URL, admin)

	schema := apiDo(t, ts.URL, admin, "POST", "/crm/v3/schemas", map[string]any{"name": "cars", "labels": map[string]string{"singular": "Car", "plural": "Cars"},
		"primaryDisplayProperty": "model", "requiredProperties": []string{"model"},
		"properties": []any{map[string]any{"name": "model", "label": "Model", "type": "string", "fieldType": "text"}}}, 201)
	carType := schema["objectTypeId"].(string)
	apiDo(t, ts.URL, admin, "POST", "/crm/v3/objects/"+carType, map[string]any{"properties": map[string]string{"model": "Roadster"}}, 201)
	owner := apiDo(t, ts.URL, admin, "POST", "/spoke/v1/owners", map[string]any{"email": "olga@example.com", "firstName": "Olga", "lastName": "Owner"}, 201)
	apiDo(t, ts.URL, admin, "POST", "/crm/v3/objects/deals", map[string]any{"properties": map[string]string{"dealname": "Big one",
		"pipeline": "default", "dealstage": "appointmentscheduled", "hubspot_owner_id": owner["id"].(string)}}, 201)

	types := get(t, c, ts.URL+"/ui/records", 200)
	for _, want := range []string{`href="/ui/records/notes"`, `href="/ui/records/line_items"`, `href="/ui/records/leads"`, `href="/ui/records/` + carType + `">Cars</a>`} {
		if !strings.Contains(types, want) {
			t.Errorf("the record types page lacks %q", want)
		}
	}
	cars := get(t, c, ts.URL+"/ui/records/"+carType, 200)
	if !strings.Contains(cars, "Roadster") || !strings.Contains(cars, "<h1>Cars</h1>") {
		t.Errorf("the custom object's records:\n%s", cars)
	}
	deals := get(t, c, ts.URL+"/ui/records/deals", 200)
	if !strings.Contains(deals, "Olga Owner") || !strings.Contains(deals, "Appointment Scheduled") {
		t.Errorf("the deals table does not name the owner and the stage:\n%s", deals)
	}
	get(t, c, ts.URL+"/ui/records/notes", 200)
	get(t, c, ts.URL+"/ui/records/2-999", 404)
}

func TestRunsStatusFilters(t *testing.T) {
	t.Parallel()
	ts, admin, _ := setup(t)
	c := browser(t)
	signIn(t, c, ts.URL, admin)
	f := apiDo(t, ts.URL, admin, "POST", "/automation/v4/flows", codeFlow("Filtered"), 201)
	page := get(t, c, ts.URL+"/ui/flows/"+f["id"].(string)+"/runs?status=HELD", 200)
	for _, st := range []string{"HELD", "CANCELLED", "UNENROLLED"} {
		if !strings.Contains(page, "<option>"+st+"</option>") && !strings.Contains(page, "<option selected>"+st+"</option>") {
			t.Errorf("the status filter lacks %s", st)
		}
	}
	if !strings.Contains(page, "<option selected>HELD</option>") || !strings.Contains(page, "match these filters") {
		t.Errorf("the HELD filter is not applied:\n%s", page)
	}
}
