package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sqlite"
)

// memFlows is an in-memory FlowService for unit tests of the engine.
type memFlows struct {
	mu    sync.Mutex
	flows map[string]*spoke.Flow
}

func (m *memFlows) put(f *spoke.Flow) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.flows == nil {
		m.flows = map[string]*spoke.Flow{}
	}
	m.flows[f.ID] = f
}

func (m *memFlows) get(id string) (*spoke.Flow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.flows[id]
	if !ok {
		return nil, spoke.NotFoundf("no flow %s", id)
	}
	return f, nil
}

func (m *memFlows) ListFlows(context.Context, int64, string, int) ([]*spoke.Flow, bool, error) {
	return nil, false, nil
}
func (m *memFlows) GetFlow(_ context.Context, _ int64, id string) (*spoke.Flow, error) {
	return m.get(id)
}
func (m *memFlows) GetFlowRevision(_ context.Context, _ int64, id, _ string) (*spoke.Flow, error) {
	return m.get(id)
}
func (m *memFlows) CreateFlow(context.Context, int64, *spoke.Flow) (*spoke.Flow, error) {
	return nil, nil
}
func (m *memFlows) UpdateFlow(context.Context, int64, *spoke.Flow) (*spoke.Flow, error) {
	return nil, nil
}
func (m *memFlows) DeleteFlow(context.Context, int64, string) error { return nil }
func (m *memFlows) ListFlowRevisions(context.Context, int64, string, int64, int) ([]*spoke.FlowRevision, bool, error) {
	return nil, false, nil
}
func (m *memFlows) EnabledFlows(_ context.Context, _ int64, typ string) ([]*spoke.Flow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*spoke.Flow
	for _, f := range m.flows {
		if t, _ := spoke.LookupObjectType(f.ObjectTypeID); f.IsEnabled && t.Name == typ {
			out = append(out, f)
		}
	}
	return out, nil
}

// fakeCode stands in for the sandbox in unit tests: it returns a score of
// twice the "n" input, or the queued results.
type fakeCode struct {
	calls   atomic.Int64
	mu      sync.Mutex
	results []sandbox.Result
	// fail, when set, may fail an invocation in place of the sandbox.
	fail func(ctx context.Context) error
}

func (c *fakeCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	c.calls.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		if err := c.fail(ctx); err != nil {
			return sandbox.Result{}, err
		}
	}
	if len(c.results) > 0 {
		r := c.results[0]
		c.results = c.results[1:]
		return r, nil
	}
	n, _ := strconv.Atoi(fmt.Sprint(inv.Event.InputFields["n"]))
	return sandbox.Result{Status: sandbox.StatusSuccess, OutputFields: map[string]any{"score": float64(2 * n), "extra": "x"}}, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	db      *sqlite.DB
	eng     *Engine
	flows   *memFlows
	code    *fakeCode
	clock   *clock
	account int64
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SetSecretKey(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	acct, _, err := db.DefaultAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	db.Now = ck.Now
	b := &bundle{db: db, flows: &memFlows{}, code: &fakeCode{}, clock: ck, account: acct}
	b.eng = New(Config{Store: db, Flows: b.flows, Records: db, Properties: db, Secrets: db, Code: b.code, Now: ck.Now})
	db.SetTrigger(b.eng.Trigger, b.eng.Wake)
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "n", Label: "N", Type: "number", GroupName: "contactinformation"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateProperty(ctx, acct, &spoke.Property{ObjectType: "contacts", Name: "score", Label: "Score", Type: "number", GroupName: "contactinformation"}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) contact(t *testing.T, props map[string]string) int64 {
	t.Helper()
	res, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteCreate, []spoke.RecordInput{{Properties: props}}, spoke.WriteSource{Type: spoke.SourceAPI, ID: "1"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create contact: %v %v", err, res[0].Err)
	}
	return res[0].Record.ID
}

func (b *bundle) drain(t *testing.T) {
	t.Helper()
	for i := 0; i < 100; i++ {
		n, err := b.eng.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("engine did not drain")
}

func (b *bundle) record(t *testing.T, id int64) *spoke.Record {
	t.Helper()
	recs, err := b.db.GetRecords(context.Background(), b.account, "contacts", []string{strconv.FormatInt(id, 10)}, spoke.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return recs[strconv.FormatInt(id, 10)]
}

func (b *bundle) enrollments(t *testing.T, flowID string) []*spoke.Enrollment {
	t.Helper()
	list, _, err := b.db.ListEnrollments(context.Background(), b.account, flowID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func parseFlow(t *testing.T, id, body string) *spoke.Flow {
	t.Helper()
	f, err := flow.Parse([]byte(body))
	if err != nil {
		t.Fatalf("parse flow: %v", err)
	}
	f.ID, f.RevisionID = id, "1"
	return f
}

// scoreFlow: custom code computes a score from n, set property score from
// it, branch on it, then set lifecyclestage on the high branch.
const scoreFlow = `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"startActionId":"1",
 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":false,"listFilterBranch":{"filterBranchType":"OR","filterBranches":[{"filterBranchType":"AND","filterBranches":[],
   "filters":[{"filterType":"PROPERTY","property":"n","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":0}}]}],"filters":[]}},
 "actions":[
  {"type":"CUSTOM_CODE","actionId":"1","runtime":"NODE20X","sourceCode":"exports.main=async(e,cb)=>cb({outputFields:{score:2*e.inputFields.n}})","secretNames":[],
   "inputFields":[{"name":"n","value":{"type":"OBJECT_PROPERTY","propertyName":"n"}}],"outputFields":[{"name":"score","type":"NUMBER"}],
   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"score","value":{"type":"FIELD_DATA","actionId":"1","dataKey":"score"}},
   "connection":{"edgeType":"STANDARD","nextActionId":"3"}},
  {"type":"LIST_BRANCH","actionId":"3","listBranches":[{"branchName":"high","filterBranch":{"filterBranchType":"AND","filterBranches":[],
     "filters":[{"filterType":"PROPERTY","property":"score","operation":{"operationType":"NUMBER","operator":"IS_GREATER_THAN","value":10}}]},
     "connection":{"edgeType":"STANDARD","nextActionId":"4"}}],"defaultBranchName":"low"},
  {"type":"SINGLE_CONNECTION","actionId":"4","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"lifecyclestage","value":{"type":"STATIC_VALUE","staticValue":"customer"}}}
 ]}`

func TestListBasedFlowRunsToCompletion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	high := b.contact(t, map[string]string{"email": "high@example.com", "n": "8"})
	low := b.contact(t, map[string]string{"email": "low@example.com", "n": "3"})
	none := b.contact(t, map[string]string{"email": "none@example.com"})
	b.drain(t)

	if got := b.record(t, high); got.Properties["score"] != "16" || got.Properties["lifecyclestage"] != "customer" {
		t.Errorf("high record = %v", got.Properties)
	}
	if got := b.record(t, low); got.Properties["score"] != "6" || got.Properties["lifecyclestage"] != "" {
		t.Errorf("low record = %v", got.Properties)
	}
	if got := b.record(t, none); got.Properties["score"] != "" {
		t.Errorf("unmatched record was enrolled: %v", got.Properties)
	}
	list := b.enrollments(t, "7")
	if len(list) != 2 {
		t.Fatalf("enrollments = %d, want 2", len(list))
	}
	for _, e := range list {
		if e.Status != spoke.EnrollmentCompleted {
			t.Errorf("enrollment %d status %s error %+v", e.ID, e.Status, e.Error)
		}
	}
	// The write made by the flow is in history with its source.
	hist, err := b.db.History(context.Background(), high)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, h := range hist {
		if h.Name == "score" {
			found = true
			if h.SourceType != spoke.SourceAutomation || h.SourceID != "7" || h.EnrollmentID == "" {
				t.Errorf("history of score = %+v", h)
			}
		}
	}
	if !found {
		t.Error("no history entry for score")
	}
	// The undeclared output was dropped with a warning in the log.
	execs, _, err := b.db.ListExecutions(context.Background(), b.account, "7", spoke.ExecutionQuery{ActionID: "1", Limit: 10})
	if err != nil || len(execs) != 2 {
		t.Fatalf("executions: %v %d", err, len(execs))
	}
	if execs[0].Outputs["extra"] != nil || !strings.Contains(execs[0].Logs, "not declared") {
		t.Errorf("undeclared output not dropped with a warning: %+v", execs[0])
	}
	// Re-meeting the criteria does not re-enroll (shouldReEnroll false), and
	// the flow's own writes did not enroll anything again.
	if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: strconv.FormatInt(low, 10), Properties: map[string]string{"n": ""}}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
		[]spoke.RecordInput{{ID: strconv.FormatInt(low, 10), Properties: map[string]string{"n": "4"}}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if n := len(b.enrollments(t, "7")); n != 2 {
		t.Errorf("enrollments after re-meeting criteria = %d, want 2", n)
	}
}

func TestReEnrollment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var doc map[string]any
	json.Unmarshal([]byte(scoreFlow), &doc)
	doc["enrollmentCriteria"].(map[string]any)["shouldReEnroll"] = true
	body, _ := json.Marshal(doc)
	b.flows.put(parseFlow(t, "8", string(body)))
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	for _, n := range []string{"", "2"} { // stops meeting, then meets again
		if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
			[]spoke.RecordInput{{ID: strconv.FormatInt(id, 10), Properties: map[string]string{"n": n}}}, spoke.WriteSource{Type: spoke.SourceAPI}); err != nil {
			t.Fatal(err)
		}
	}
	b.drain(t)
	if n := len(b.enrollments(t, "8")); n != 2 {
		t.Errorf("enrollments = %d, want 2 (re-enrolled once)", n)
	}
}

func TestRetryDelaySchedule(t *testing.T) {
	t.Parallel()
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	for i, w := range want {
		if got := RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := RetryDelay(20); got != 8*time.Hour {
		t.Errorf("RetryDelay(20) = %v, want the 8h cap", got)
	}
	// Tries over three days: first after 1 minute, each gap at most 8h.
	var total time.Duration
	n := 0
	for total < RetryWindow {
		n++
		total += RetryDelay(n)
	}
	if n < 10 || n > 20 {
		t.Errorf("%d retries in three days; expected a dozen or so", n)
	}
}

func TestRateLimitedRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := parseFlow(t, "9", scoreFlow)
	f.EnrollmentCriteria = &spoke.EnrollmentCriteria{Type: spoke.EnrollManual}
	b.flows.put(f)
	rl := sandbox.Result{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrRateLimited, Message: "429 from api"}}
	b.code.results = []sandbox.Result{rl, rl}
	id := b.contact(t, map[string]string{"n": "9"})
	if _, err := b.eng.Enroll(context.Background(), b.account, "9", []int64{id}); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	e := b.enrollments(t, "9")[0]
	if e.Status != spoke.EnrollmentActive || e.WaitReason != spoke.WaitRetry || e.Attempt != 2 || !e.RunAt.Equal(b.clock.Now().Add(time.Minute)) {
		t.Fatalf("after first failure: %+v", e)
	}
	b.clock.Add(time.Minute)
	b.drain(t)
	e = b.enrollments(t, "9")[0]
	if e.Attempt != 3 || !e.RunAt.Equal(b.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("after second failure: attempt %d run at %v", e.Attempt, e.RunAt)
	}
	b.clock.Add(2 * time.Minute)
	b.drain(t)
	e = b.enrollments(t, "9")[0]
	if e.Status != spoke.EnrollmentCompleted {
		t.Fatalf("after success: %+v", e)
	}
	if b.record(t, id).Properties["score"] != "18" {
		t.Error("score not written after retries")
	}
	execs, _, _ := b.db.ListExecutions(context.Background(), b.account, "9", spoke.ExecutionQuery{ActionID: "1", Limit: 10})
	if len(execs) != 3 || execs[0].Attempt != 1 || execs[2].Attempt != 3 || execs[0].Error.Type != "RATE_LIMITED" {
		t.Errorf("executions of the code action: %d", len(execs))
	}
}

func TestRetriesStopAfterThreeDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := parseFlow(t, "10", scoreFlow)
	f.EnrollmentCriteria = &spoke.EnrollmentCriteria{Type: spoke.EnrollManual}
	b.flows.put(f)
	rl := sandbox.Result{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrRateLimited, Message: "429"}}
	for i := 0; i < 100; i++ {
		b.code.results = append(b.code.results, rl)
	}
	id := b.contact(t, map[string]string{"n": "1"})
	b.eng.Enroll(context.Background(), b.account, "10", []int64{id})
	for i := 0; i < 50; i++ {
		b.drain(t)
		e := b.enrollments(t, "10")[0]
		if e.Status == spoke.EnrollmentFailed {
			if elapsed := b.clock.Now().Sub(e.FirstFailureAt); elapsed < RetryWindow || elapsed > RetryWindow+MaxRetryGap {
				t.Errorf("gave up after %v", elapsed)
			}
			return
		}
		b.clock.Add(e.RunAt.Sub(b.clock.Now()))
	}
	t.Fatal("retries never stopped")
}

func TestNonRetryableFailureStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := parseFlow(t, "11", scoreFlow)
	b.flows.put(f)
	b.code.results = []sandbox.Result{{Status: sandbox.StatusError, Logs: "boom\n", Error: &sandbox.Error{Type: sandbox.ErrUncaught, Message: "TypeError: x is undefined"}}}
	id := b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	e := b.enrollments(t, "11")[0]
	if e.Status != spoke.EnrollmentFailed || e.Error == nil || e.Error.Type != "UNCAUGHT_ERROR" || e.CurrentAction != "1" {
		t.Fatalf("enrollment = %+v", e)
	}
	if b.record(t, id).Properties["score"] != "" {
		t.Error("a failed enrollment went on to set the score")
	}
	execs, _, _ := b.db.ListExecutions(context.Background(), b.account, "11", spoke.ExecutionQuery{Status: "ERROR", Limit: 10})
	if len(execs) != 1 || execs[0].Logs != "boom\n" {
		t.Errorf("failed execution log = %+v", execs)
	}
}

func TestWrongOutputTypeFailsNamingTheField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "12", scoreFlow))
	b.code.results = []sandbox.Result{{Status: sandbox.StatusSuccess, OutputFields: map[string]any{"score": "lots"}}}
	b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	e := b.enrollments(t, "12")[0]
	if e.Status != spoke.EnrollmentFailed || e.Error.Type != "INVALID_OUTPUT" || !strings.Contains(e.Error.Message, "score") {
		t.Fatalf("enrollment = %+v", e.Error)
	}
}

func TestQuotaWaitsAndResumes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "13", scoreFlow))
	ctx := context.Background()
	if err := b.db.SetCodeLimit(ctx, b.account, 2); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		b.contact(t, map[string]string{"n": strconv.Itoa(i)})
	}
	b.drain(t)
	var done, waiting int
	for _, e := range b.enrollments(t, "13") {
		switch {
		case e.Status == spoke.EnrollmentCompleted:
			done++
		case e.WaitReason == spoke.WaitQuota:
			waiting++
		}
	}
	if done != 2 || waiting != 3 {
		t.Fatalf("done %d waiting %d, want 2 and 3", done, waiting)
	}
	if u, _ := b.db.Usage(ctx, b.account, "2026-03"); u.Executions != 2 {
		t.Errorf("usage = %d", u.Executions)
	}
	// Raising the limit resumes them at once.
	if err := b.db.SetCodeLimit(ctx, b.account, -1); err != nil {
		t.Fatal(err)
	}
	b.eng.CodeLimitChanged(b.account)
	b.drain(t)
	for _, e := range b.enrollments(t, "13") {
		if e.Status != spoke.EnrollmentCompleted {
			t.Errorf("enrollment %d still %s %s", e.ID, e.Status, e.WaitReason)
		}
	}
}

func TestQuotaResumesWhenMonthTurns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "14", scoreFlow))
	ctx := context.Background()
	b.clock.now = time.Date(2026, 3, 31, 23, 59, 30, 0, time.UTC)
	b.db.SetCodeLimit(ctx, b.account, 0)
	b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	if e := b.enrollments(t, "14")[0]; e.WaitReason != spoke.WaitQuota {
		t.Fatalf("not waiting on quota: %+v", e)
	}
	b.db.SetCodeLimit(ctx, b.account, 1) // new month's allowance; the wait re-checks
	b.clock.Add(time.Minute)
	b.drain(t)
	if e := b.enrollments(t, "14")[0]; e.Status != spoke.EnrollmentCompleted {
		t.Fatalf("after the month turned: %+v", e)
	}
}

func TestDelayAndActionRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
	 "actions":[{"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-1","actionTypeVersion":0,"fields":{"delta":"30","time_unit":"MINUTES"},"connection":{"edgeType":"STANDARD","nextActionId":"2"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"rateLimit":{"executions":2,"per":"HOURS"},
	   "fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"delayed"}}}]}`
	b.flows.put(parseFlow(t, "15", body))
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, b.contact(t, map[string]string{"n": "1"}))
	}
	if _, err := b.eng.Enroll(context.Background(), b.account, "15", ids); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if got := b.record(t, ids[0]).Properties["jobtitle"]; got != "" {
		t.Fatalf("delay did not wait: %q", got)
	}
	b.clock.Add(30 * time.Minute)
	b.drain(t)
	var set, throttled int
	for _, e := range b.enrollments(t, "15") {
		if e.Status == spoke.EnrollmentCompleted {
			set++
		} else if e.WaitReason == spoke.WaitRateLimit {
			throttled++
		}
	}
	if set != 2 || throttled != 1 {
		t.Fatalf("completed %d throttled %d, want 2 and 1", set, throttled)
	}
	b.clock.Add(time.Hour)
	b.drain(t)
	for _, e := range b.enrollments(t, "15") {
		if e.Status != spoke.EnrollmentCompleted {
			t.Errorf("enrollment %d: %s %s", e.ID, e.Status, e.WaitReason)
		}
	}
}

func TestStaticBranchAndEnrollSkips(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"enrollmentCriteria":{"type":"MANUAL","shouldReEnroll":false},
	 "actions":[{"type":"STATIC_BRANCH","actionId":"1","inputValue":{"type":"OBJECT_PROPERTY","propertyName":"firstname"},
	   "staticBranches":[{"branchValue":"Ada","connection":{"edgeType":"STANDARD","nextActionId":"2"}}],"defaultBranch":{"edgeType":"STANDARD","nextActionId":"3"}},
	  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"type":"STATIC_VALUE","staticValue":"countess"}}},
	  {"type":"SINGLE_CONNECTION","actionId":"3","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"jobtitle","value":{"type":"OBJECT_PROPERTY","propertyName":"lastname"}}}]}`
	b.flows.put(parseFlow(t, "16", body))
	ada := b.contact(t, map[string]string{"firstname": "Ada"})
	bob := b.contact(t, map[string]string{"firstname": "Bob", "lastname": "Builder"})
	res, err := b.eng.Enroll(context.Background(), b.account, "16", []int64{ada, bob, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Enrolled) != 2 || res.Skipped[999999] == "" {
		t.Fatalf("enroll result = %+v", res)
	}
	res, _ = b.eng.Enroll(context.Background(), b.account, "16", []int64{ada})
	if len(res.Enrolled) != 0 || res.Skipped[ada] == "" {
		t.Fatalf("second enroll = %+v", res)
	}
	b.drain(t)
	if got := b.record(t, ada).Properties["jobtitle"]; got != "countess" {
		t.Errorf("ada jobtitle = %q", got)
	}
	if got := b.record(t, bob).Properties["jobtitle"]; got != "Builder" {
		t.Errorf("bob jobtitle = %q", got)
	}
}

func TestDisabledFlowDoesNotEnroll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := parseFlow(t, "17", scoreFlow)
	f.IsEnabled = false
	b.flows.put(f)
	id := b.contact(t, map[string]string{"n": "5"})
	b.drain(t)
	if n := len(b.enrollments(t, "17")); n != 0 {
		t.Fatalf("disabled flow enrolled %d", n)
	}
	if _, err := b.eng.Enroll(context.Background(), b.account, "17", []int64{id}); spoke.ErrorCode(err) != spoke.EINVALID {
		t.Fatalf("manual enroll in disabled flow: %v", err)
	}
}

func TestTestActionDryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "18", scoreFlow))
	b.eng.FlowsChanged()
	id := b.contact(t, map[string]string{"email": "t@example.com"})
	b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate, []spoke.RecordInput{{ID: strconv.FormatInt(id, 10), Properties: map[string]string{"firstname": "T"}}}, spoke.WriteSource{Type: spoke.SourceAPI})
	res, err := b.eng.TestAction(context.Background(), b.account, "18", "4", id, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCESS" || res.Writes["lifecyclestage"] != "customer" {
		t.Fatalf("test result = %+v", res)
	}
	if got := b.record(t, id).Properties["lifecyclestage"]; got != "" {
		t.Fatalf("dry run wrote %q", got)
	}
	if _, err := b.eng.TestAction(context.Background(), b.account, "18", "4", id, false); err != nil {
		t.Fatal(err)
	}
	if got := b.record(t, id).Properties["lifecyclestage"]; got != "customer" {
		t.Fatalf("test without dryRun did not write: %q", got)
	}
}

// TestSandboxUnavailableIsRetried checks that a worker that cannot start
// delays the enrollment on the retry schedule instead of failing it.
func TestSandboxUnavailableIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	var failures atomic.Int64
	b.code.fail = func(context.Context) error {
		if failures.Add(1) == 1 {
			return fmt.Errorf("%w: bwrap: out of memory", sandbox.ErrUnavailable)
		}
		return nil
	}
	id := b.contact(t, map[string]string{"email": "u@example.com", "n": "8"})
	b.drain(t)
	en := b.enrollments(t, "7")[0]
	if en.Status != spoke.EnrollmentActive || en.WaitReason != spoke.WaitRetry || en.Error == nil || en.Error.Type != "SANDBOX_UNAVAILABLE" {
		t.Fatalf("after the failed start: %s, wait %q, error %+v; want ACTIVE waiting to retry SANDBOX_UNAVAILABLE", en.Status, en.WaitReason, en.Error)
	}
	b.clock.Add(RetryDelay(1))
	b.drain(t)
	if en := b.enrollments(t, "7")[0]; en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("after the retry: %s %+v", en.Status, en.Error)
	}
	if got := b.record(t, id).Properties["score"]; got != "16" {
		t.Errorf("score = %q, want 16", got)
	}
}

// TestStopDoesNotFailInFlightActions checks that code cut short because the
// engine is stopping leaves its enrollment active, to run again on the next
// start, instead of recording a failure.
func TestStopDoesNotFailInFlightActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	ctx, stop := context.WithCancel(context.Background())
	b.code.fail = func(ctx context.Context) error {
		stop()
		return fmt.Errorf("sandbox: invocation cancelled: %w", ctx.Err())
	}
	id := b.contact(t, map[string]string{"email": "s@example.com", "n": "8"})
	if _, err := b.eng.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	en := b.enrollments(t, "7")[0]
	if en.Status != spoke.EnrollmentActive || en.Error != nil {
		t.Fatalf("after the stop: %s %+v, want ACTIVE with no error", en.Status, en.Error)
	}
	// The next start releases the leases and runs the action again.
	b.code.mu.Lock()
	b.code.fail = nil
	b.code.mu.Unlock()
	if err := b.db.ReleaseLeases(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if en := b.enrollments(t, "7")[0]; en.Status != spoke.EnrollmentCompleted {
		t.Fatalf("after the restart: %s %+v", en.Status, en.Error)
	}
	if got := b.record(t, id).Properties["score"]; got != "16" {
		t.Errorf("score = %q, want 16", got)
	}
}

// pingPongFlow is LIST_BASED with re-enrollment on a string property's
// value, and hands over to the other flow by setting the other property.
func pingPongFlow(t *testing.T, id, watch, hand string) *spoke.Flow {
	return parseFlow(t, id, `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"startActionId":"1",
 "enrollmentCriteria":{"type":"LIST_BASED","shouldReEnroll":true,"listFilterBranch":{"filterBranchType":"OR","filterBranches":[{"filterBranchType":"AND","filterBranches":[],
   "filters":[{"filterType":"PROPERTY","property":"`+watch+`","operation":{"operationType":"STRING","operator":"IS_EQUAL_TO","value":"go"}}]}],"filters":[]}},
 "actions":[
  {"type":"SINGLE_CONNECTION","actionId":"1","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"`+watch+`","value":{"type":"STATIC_VALUE","staticValue":"idle"}},
   "connection":{"edgeType":"STANDARD","nextActionId":"2"}},
  {"type":"SINGLE_CONNECTION","actionId":"2","actionTypeId":"0-5","actionTypeVersion":0,"fields":{"property_name":"`+hand+`","value":{"type":"STATIC_VALUE","staticValue":"go"}}}
 ]}`)
}

// TestFlowsThatReEnrollEachOtherStop checks the loop guard: two flows whose
// writes keep re-enrolling the record in the other stop after LoopGuard
// rounds each, instead of running forever.
func TestFlowsThatReEnrollEachOtherStop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(pingPongFlow(t, "1", "jobtitle", "city"))
	b.flows.put(pingPongFlow(t, "2", "city", "jobtitle"))
	id := b.contact(t, map[string]string{"email": "loop@example.com", "jobtitle": "go"})
	b.drain(t)
	for _, f := range []string{"1", "2"} {
		list := b.enrollments(t, f)
		if len(list) < sqlite.LoopGuard || len(list) > sqlite.LoopGuard+1 {
			t.Errorf("flow %s has %d enrollments, want about %d", f, len(list), sqlite.LoopGuard)
		}
		for _, en := range list {
			if en.Status != spoke.EnrollmentCompleted {
				t.Errorf("flow %s enrollment %d is %s", f, en.ID, en.Status)
			}
		}
	}
	// An hour later the guard lets it in again.
	b.clock.Add(time.Hour + time.Minute)
	before := len(b.enrollments(t, "1"))
	for _, v := range []string{"idle", "go"} { // the loop stopped with jobtitle "go"
		if _, err := b.db.WriteRecords(context.Background(), b.account, "contacts", spoke.WriteUpdate,
			[]spoke.RecordInput{{ID: strconv.FormatInt(id, 10), Properties: map[string]string{"jobtitle": v}}}, spoke.WriteSource{Type: spoke.SourceAPI, ID: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	b.drain(t)
	if after := len(b.enrollments(t, "1")); after <= before {
		t.Errorf("flow 1 enrollments %d → %d after an hour and a new write", before, after)
	}
}
