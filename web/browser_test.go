package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser test drives Debian's Chromium (make setup installs it) with
// chromedp against a real `spoke serve` built by the test, through what a
// person does: sign in, build a workflow with a custom code action in the
// editor, test it, turn it on, enroll, watch, read the logs and history.
// SPOKE_SCREENSHOTS=DIR saves a screenshot of each main page there
// (make screenshots writes docs/screenshots).

const (
	token      = "browser-test-token"
	secretVal  = "s3cr3t-value-42"
	nodeSource = `exports.main = async (event, callback) => {
  const key = process.env.API_KEY;
  console.log('greeting', event.inputFields.first, 'with key', key);
  callback({ outputFields: { greeting: 'Hello ' + event.inputFields.first } });
};
`
)

// server is a running `spoke serve`.
type server struct {
	url string
	t   *testing.T
}

func startServer(t *testing.T) *server {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "spoke")
	build := exec.Command("go", "build", "-o", bin, "./cmd/spoke")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/spoke: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(tmp, "spoke.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", filepath.Join(tmp, "data"))
	cmd.Env = append(os.Environ(), "SPOKE_ADMIN_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("spoke serve log:\n%s", b)
		}
	})
	s := &server{url: "http://" + addr, t: t}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("spoke serve did not start on %s", addr)
		}
	}
	return s
}

// api calls the HTTP API with the admin token and decodes the answer.
func (s *server) api(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, b, want)
	}
	out := map[string]any{}
	json.Unmarshal(b, &out)
	return out
}

// browser starts headless Chromium with a fresh profile and no network
// services of its own.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("Chromium is not installed: run `make setup` (it runs apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// b wraps a browser tab with helpers that fail the test in words.
type b struct {
	t   *testing.T
	ctx context.Context
	url string
	// shots is where screenshots go ("" keeps none).
	shots string
}

func (x *b) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(x.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		x.t.Fatalf("%s: %v\npage: %s", what, err, x.text("body"))
	}
}

func (x *b) js(expr string) any {
	x.t.Helper()
	v, err := chromedp.Run(x.ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		x.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it is true; it asks again
// after a navigation that interrupts a question.
func (x *b) wait(what, cond string, timeout time.Duration) {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("waiting for %s (%s): %v\nnotice: %s\npage: %.3000s", what, cond, last, x.text("#notice"), x.text("main"))
}

func (x *b) text(sel string) string {
	v, err := chromedp.Run(x.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel)))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return v
}

// set gives a form control a value and fires its input and change events,
// as a person typing or choosing does.
func (x *b) set(sel, value string) {
	x.t.Helper()
	x.js(fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) throw new Error('no element %s');
		el.focus(); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true })()`, sel, sel, value))
}

func (x *b) click(sel string) {
	x.t.Helper()
	x.js(fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) throw new Error('no element %s'); el.click(); return true })()`, sel, sel))
}

func (x *b) open(path string) {
	x.t.Helper()
	x.do("open "+path, chromedp.Navigate(x.url+path))
	x.wait("the page to load", `document.readyState === 'complete'`, 10*time.Second)
}

func (x *b) screenshot(name string) {
	x.t.Helper()
	if x.shots == "" {
		return
	}
	png, err := chromedp.Run(x.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		x.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(x.shots, name+".png"), png, 0o644); err != nil {
		x.t.Fatal(err)
	}
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	srv := startServer(t)
	// Three leads (the trigger's filter) and a customer, and a secret the
	// code logs.
	ids := map[string]string{}
	for _, c := range []struct{ email, first, stage string }{
		{"ada@example.com", "Ada", "lead"}, {"grace@example.com", "Grace", "lead"}, {"alan@example.com", "Alan", "lead"}, {"kay@example.com", "Kay", "customer"},
	} {
		r := srv.api("POST", "/crm/v3/objects/contacts", map[string]any{"properties": map[string]string{"email": c.email, "firstname": c.first, "lifecyclestage": c.stage}}, 201)
		ids[c.first] = r["id"].(string)
	}
	srv.api("PUT", "/automation/v4/secrets/API_KEY", map[string]string{"value": secretVal}, 200)

	x := &b{t: t, ctx: browser(t), url: srv.url, shots: os.Getenv("SPOKE_SCREENSHOTS")}
	if x.shots != "" {
		if err := os.MkdirAll(x.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// Sign in: / sends a signed-out browser to the sign-in page.
	x.open("/")
	x.wait("the sign-in page", `location.pathname === '/ui/signin' && !!document.querySelector('#token')`, 5*time.Second)
	x.screenshot("signin")
	x.set("#token", "wrong")
	x.do("sign in with a wrong token", chromedp.Click("#signin"))
	x.wait("the refusal", `document.body.innerText.includes('not valid')`, 5*time.Second)
	x.set("#token", token)
	x.do("sign in", chromedp.Click("#signin"))
	x.wait("the workflow list", `location.pathname === '/ui/flows' && document.body.innerText.includes('No workflows yet')`, 5*time.Second)
	if cookie := x.js(`document.cookie`); cookie != "" {
		t.Errorf("the session cookie is readable by scripts: %q", cookie)
	}

	// Create a workflow.
	x.set("#new-flow-name", "Greet leads")
	x.set("#new-flow-type", "contacts")
	x.do("create", chromedp.Click("#create-flow"))
	x.wait("the flow page", `location.pathname.startsWith('/ui/flows/') && !!document.querySelector('#trigger-panel')`, 5*time.Second)
	flowID := strings.TrimPrefix(x.js(`location.pathname`).(string), "/ui/flows/")

	// The trigger: lifecycle stage is any of lead.
	x.set("#trigger-type", "LIST_BASED")
	x.wait("the filter editor", `!!document.querySelector('.add-filter')`, 2*time.Second)
	x.click(".add-filter")
	x.set(".filter-prop", "lifecyclestage")
	x.wait("the enumeration operators", `document.querySelector('.filter-op').value === 'IS_ANY_OF'`, 2*time.Second)
	x.set(".filter-value", "lead")

	// A Node custom code action at the start.
	x.click(`button.add[aria-label="Add an action at the start"]`)
	x.set(".add-menu", "code")
	x.wait("the code editor", `!!window.spokeEditor && !!document.querySelector('#code-runtime')`, 5*time.Second)
	x.js(fmt.Sprintf(`window.spokeEditor.setValue(%q); true`, nodeSource))
	x.click(".secret-pick")
	x.click("#add-inputFields")
	x.set("#inputFields-rows .input-name", "first")
	x.set("#inputFields-rows .value-prop", "firstname")
	x.click("#add-output")
	x.set("#outputFields-rows .output-name", "greeting")

	// A set-property action after it, from the code's output.
	x.click(`button.add[aria-label="Add an action after action 1"]`)
	x.set(".add-menu", "setprop")
	x.wait("the set property editor", `!!document.querySelector('#setprop-name')`, 2*time.Second)
	x.set("#setprop-name", "jobtitle")
	x.set("#action-panel .value-kind", "FIELD_DATA")
	x.set("#action-panel .value-output", "1/greeting")
	x.set("#save-message", "first version")
	x.click("#save")
	x.wait("the save", `document.querySelector('#notice').innerText.includes('Saved revision 2')`, 20*time.Second)
	if n := x.text("#notice"); !strings.Contains(n, "Lint: 1 error(s)") {
		t.Errorf("the save notice does not count the lint findings: %q", n)
	}
	if n := x.js(`document.querySelectorAll('#canvas .node').length`); n != float64(3) {
		t.Fatalf("the canvas shows %v boxes, want the trigger and two actions", n)
	}

	// Test the code action on Ada as a dry run.
	x.click(`#canvas .node[data-action="1"]`)
	x.wait("the test panel", `!!document.querySelector('#test-search')`, 2*time.Second)

	// The code logs a secret on purpose: lint lists it beside the editor
	// and marks its line (3) in the gutter and the line's background.
	x.wait("the lint findings", `!!document.querySelector('#lint-list li.error[data-rule="secret-in-log"][data-line="3"]')`, 5*time.Second)
	x.wait("the marked line", `window.spokeEditor.lineInfo(2).bgClass === 'lint-line-error' && !!window.spokeEditor.lineInfo(2).gutterMarkers['lint-gutter']`, 5*time.Second)
	if n := x.js(`document.querySelectorAll('.CodeMirror .lint-mark.error').length`); n != float64(1) {
		t.Errorf("%v error marks in the gutter, want 1", n)
	}
	if c := x.text(`#canvas .node[data-action="1"] .lint-count`); !strings.Contains(c, "lint finding") {
		t.Errorf("the action's box says %q about lint", c)
	}
	x.set("#test-search", "Ada")
	x.click("#test-find")
	x.wait("the search results", `document.querySelectorAll('#test-results button').length === 1`, 10*time.Second)
	x.click("#test-results button")
	x.click("#test-run")
	x.wait("the test result", `!!document.querySelector('#test-status')`, 30*time.Second)
	if st := x.text("#test-status"); st != "SUCCESS" {
		t.Fatalf("test status %q: %s", st, x.text("#test-output"))
	}
	if out := x.text("#test-outputs"); !strings.Contains(out, "Hello Ada") {
		t.Errorf("test outputs %q lack the greeting", out)
	}
	logs := x.text("#test-logs")
	if !strings.Contains(logs, "greeting Ada") || strings.Contains(logs, secretVal) {
		t.Errorf("test logs %q: want the greeting and no secret value", logs)
	}
	if !strings.Contains(x.text("#test-output"), "Dry run") {
		t.Errorf("the test was not a dry run: %s", x.text("#test-output"))
	}
	x.screenshot("flow-editor")
	got := srv.api("GET", "/crm/v3/objects/contacts/"+ids["Ada"]+"?properties=jobtitle", nil, 200)
	if jt := got["properties"].(map[string]any)["jobtitle"]; jt != nil {
		t.Fatalf("a dry run wrote jobtitle = %v", jt)
	}

	// Turn it on: its code logs a secret on purpose (to see it redacted),
	// which lint refuses until the person turns it on anyway. Then enroll
	// all matching records and watch them complete.
	x.click("#toggle")
	x.wait("the lint refusal", `document.querySelector('#ack-lint') !== null`, 20*time.Second)
	if n := x.text("#notice"); !strings.Contains(n, "secret-in-log") {
		t.Errorf("the lint refusal does not name the rule: %q", n)
	}
	x.click("#ack-lint")
	x.wait("the flow to be on", `document.querySelector('#flow-state').innerText === 'On'`, 20*time.Second)
	x.click("#enroll-card summary")
	x.click("#enroll-all")
	// The pre-flight cost comes first: three leads, one custom code run
	// each, and the month's quota left.
	x.wait("the pre-flight cost", `!!document.querySelector('#preflight-facts')`, 20*time.Second)
	if n := x.text(`#preflight-facts [data-k="wouldEnroll"]`); n != "3" {
		t.Errorf("pre-flight would enroll %q, want 3", n)
	}
	if n := x.text(`#preflight-facts [data-k="customCodeExecutions"]`); !strings.HasPrefix(n, "3 (1 per record)") {
		t.Errorf("pre-flight executions %q", n)
	}
	x.screenshot("preflight")
	x.click("#enroll-confirm")
	x.wait("the enrollments to finish", `document.querySelector('#progress-text').dataset.done === '1'`, 60*time.Second)
	if p := x.text("#progress-text"); !strings.Contains(p, "3 enrolled, 3 completed, 0 failed") {
		t.Fatalf("progress says %q", p)
	}
	got = srv.api("GET", "/crm/v3/objects/contacts/"+ids["Grace"]+"?properties=jobtitle", nil, 200)
	if jt := got["properties"].(map[string]any)["jobtitle"]; jt != "Hello Grace" {
		t.Fatalf("Grace's jobtitle = %v after the run", jt)
	}

	// The list shows the counts.
	x.open("/ui/flows")
	if row := x.text("#live tbody tr"); !strings.Contains(row, "Greet leads") || !strings.Contains(row, "On") {
		t.Errorf("workflow row %q", row)
	}
	x.screenshot("workflows")

	// The runs: enrollments, then the code action's executions, then one.
	x.open("/ui/flows/" + flowID + "/runs")
	if n := x.js(`document.querySelectorAll('#live tbody tr').length`); n != float64(3) {
		t.Errorf("%v enrollments listed, want 3", n)
	}
	x.open("/ui/flows/" + flowID + "/runs?view=executions&action=1&record=" + ids["Ada"])
	x.screenshot("runs")
	x.click("#live tbody tr a")
	x.wait("the execution page", `!!document.querySelector('#logs')`, 5*time.Second)
	logs = x.text("#logs")
	if !strings.Contains(logs, "with key [REDACTED]") || strings.Contains(logs, secretVal) {
		t.Fatalf("execution logs %q: want the secret as [REDACTED]", logs)
	}
	x.screenshot("execution")

	// The record's history shows the workflow's write with a link to it.
	x.open("/ui/records/contacts/" + ids["Ada"])
	x.click("#prop-jobtitle summary")
	link := x.js(`(document.querySelector('#prop-jobtitle a.flow-link') || {}).getAttribute ? document.querySelector('#prop-jobtitle a.flow-link').getAttribute('href') : ''`)
	if link != "/ui/flows/"+flowID || !strings.Contains(x.text("#prop-jobtitle"), "Hello Ada") {
		t.Fatalf("jobtitle history %q links to %v", x.text("#prop-jobtitle"), link)
	}
	x.screenshot("record")

	// A save over a revision someone else replaced shows the conflict.
	x.open("/ui/flows/" + flowID)
	x.wait("the editor", `!!document.querySelector('#flow-name-input')`, 5*time.Second)
	if rev := x.js(`document.querySelector('#revisions-card').textContent`).(string); !strings.Contains(rev, "first version") {
		t.Errorf("the revisions list lacks the save message: %q", rev)
	}
	doc := srv.api("GET", "/automation/v4/flows/"+flowID, nil, 200)
	doc["name"] = "Greet leads (changed elsewhere)"
	delete(doc, "createdAt")
	delete(doc, "updatedAt")
	doc["acknowledgeLint"] = true // the flow is on, and its code logs a secret on purpose
	srv.api("PUT", "/automation/v4/flows/"+flowID, doc, 200)
	x.set("#flow-name-input", "Greet leads again")
	x.click("#save")
	x.wait("the conflict", `!!document.querySelector('#conflict')`, 10*time.Second)
	if !strings.Contains(x.text("#conflict"), "Someone else changed this workflow") {
		t.Errorf("conflict notice %q", x.text("#conflict"))
	}
	x.screenshot("conflict")

	// A validation error is shown on the action it names.
	x.click("#reload")
	x.wait("the reloaded editor", `!!document.querySelector('#flow-name-input') && document.querySelector('#flow-name').innerText.includes('elsewhere')`, 10*time.Second)
	x.click(`#canvas .node[data-action="2"]`)
	x.set("#setprop-name", "")
	x.click("#save")
	x.wait("the validation error", `!!document.querySelector('#action-error') && document.querySelector('#canvas .node.invalid[data-action="2"]')`, 10*time.Second)

	// The other main pages draw.
	for _, p := range []struct{ path, shot, want string }{
		{"/ui/records/contacts", "records", "ada@example.com"},
		{"/ui/properties/contacts", "properties", "Lifecycle Stage"},
		{"/ui/secrets", "secrets", "API_KEY"},
		{"/ui/usage", "usage", "executions"},
	} {
		x.open(p.path)
		if !strings.Contains(x.text("main"), p.want) {
			t.Errorf("%s lacks %q:\n%s", p.path, p.want, x.text("main"))
		}
		x.screenshot(p.shot)
	}

	// The revisions page compares two revisions; restore asks first.
	x.open("/ui/flows/" + flowID + "/diff?from=3&to=4")
	if d := x.text("#diff"); !strings.Contains(d, "name") {
		t.Errorf("diff of revisions 3 and 4: %q", d)
	}
	x.screenshot("diff")

	// Settings: the alert webhook is saved through the API.
	x.open("/ui/settings")
	x.set("#alerts-url", "https://hooks.example.com/spoke")
	x.do("save alerts", chromedp.Click("#alerts-save"))
	x.wait("the saved alerts", `!!document.querySelector('#done')`, 5*time.Second)
	if a := srv.api("GET", "/automation/v4/settings/alerts", nil, 200); a["url"] != "https://hooks.example.com/spoke" {
		t.Errorf("alerts saved as %v", a)
	}
	x.screenshot("settings")

	narrowAndKeyboard(x, flowID)

	// Sign out ends the session.
	x.click(".signout button")
	x.wait("the sign-in page", `location.pathname === '/ui/signin'`, 5*time.Second)
	x.open("/ui/flows")
	x.wait("a redirect to sign in", `location.pathname === '/ui/signin'`, 5*time.Second)
}

// narrowAndKeyboard checks the main pages at a phone's width (no
// horizontal scroll, the navigation reachable) and that Tab reaches the
// main controls with a visible focus ring.
func narrowAndKeyboard(x *b, flowID string) {
	t := x.t
	t.Helper()
	x.do("narrow window", chromedp.EmulateViewport(480, 800))
	for _, p := range []string{"/ui/flows", "/ui/flows/" + flowID, "/ui/flows/" + flowID + "/runs", "/ui/flows/" + flowID + "/revisions",
		"/ui/records", "/ui/records/contacts", "/ui/properties/contacts", "/ui/secrets", "/ui/usage", "/ui/settings"} {
		x.open(p)
		if over := x.js(`document.documentElement.scrollWidth - window.innerWidth`); over.(float64) > 0 {
			wide := x.js(`[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap, .canvas, pre, .CodeMirror')).slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className).join(', ')`)
			t.Errorf("%s scrolls sideways by %vpx at 480 wide: %v", p, over, wide)
		}
		// Every menu link is on screen (the menu wraps instead of hiding).
		if off := x.js(`[...document.querySelectorAll('nav[aria-label="Main"] a')].filter((a) => { const r = a.getBoundingClientRect(); return r.width === 0 || r.right > window.innerWidth || r.left < 0 }).map((a) => a.textContent).join(', ')`); off != "" {
			t.Errorf("%s: menu links off screen at 480 wide: %v", p, off)
		}
	}
	x.open("/ui/flows")
	x.screenshot("narrow")
	x.do("wide window", chromedp.EmulateViewport(1280, 800))

	// Keyboard: from the top of the workflow list, Tab reaches the skip
	// link, the menu and the new-workflow form; each focused control has a
	// visible outline.
	x.open("/ui/flows")
	reached := map[string]bool{}
	for i := 0; i < 40; i++ {
		x.do("press Tab", chromedp.KeyEvent("\t"))
		id := x.js(`(() => { const e = document.activeElement; return e.id || e.getAttribute('href') || e.className || e.tagName })()`).(string)
		reached[id] = true
		if style := x.js(`getComputedStyle(document.activeElement).outlineStyle`); style == "none" && id != "BODY" {
			t.Errorf("focused %s has no visible outline", id)
		}
	}
	for _, want := range []string{"#main", "/ui/flows", "/ui/records/contacts", "/ui/settings", "SUMMARY", "/ui/flows/" + flowID} {
		if !reached[want] {
			t.Errorf("Tab never reaches %s (reached %v)", want, reached)
		}
	}
	// The new-workflow form opens from the keyboard and its fields follow.
	x.js(`document.querySelector('details.new-flow summary').focus(); true`)
	x.do("open the form", chromedp.KeyEvent("\r"))
	x.do("tab into it", chromedp.KeyEvent("\t"))
	if id := x.js(`document.activeElement.id`); id != "new-flow-name" {
		t.Errorf("after opening the new-workflow form, Tab focuses %v", id)
	}
	// Enter on the skip link moves focus into the page.
	x.open("/ui/flows")
	x.do("tab to skip link", chromedp.KeyEvent("\t"))
	x.do("follow it", chromedp.KeyEvent("\r"))
	x.wait("focus in main", `document.activeElement && document.activeElement.id === 'main'`, 2*time.Second)
}
