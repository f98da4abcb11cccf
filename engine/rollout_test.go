package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/sandbox"
)

// failingCode fails every invocation while fail is set, and otherwise
// answers as fakeCode does.
type failingCode struct {
	fakeCode
	fail atomic.Bool
}

func (c *failingCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	if c.fail.Load() {
		c.calls.Add(1)
		return sandbox.Result{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrUncaught, Message: "TypeError: bad"}}, nil
	}
	return c.fakeCode.Invoke(ctx, inv)
}

// stagedFlow is scoreFlow with a rollout.
func stagedFlow(t *testing.T, rollout string) *spoke.Flow {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(scoreFlow), &doc); err != nil {
		t.Fatal(err)
	}
	doc["rollout"] = json.RawMessage(rollout)
	body, _ := json.Marshal(doc)
	f, err := flow.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if f.Rollout == nil {
		t.Fatal("rollout not parsed")
	}
	return f
}

// setupRollout is setup with the store as the flow service and rollout
// store, and code that can be made to fail.
func setupRollout(t *testing.T, rollout string) (*bundle, *failingCode, *spoke.Flow) {
	t.Helper()
	b := setup(t)
	code := &failingCode{}
	b.eng.Flows, b.eng.Rollouts, b.eng.Code = b.db, b.db, code
	f, err := b.db.CreateFlow(context.Background(), b.account, stagedFlow(t, rollout))
	if err != nil {
		t.Fatal(err)
	}
	b.eng.FlowsChanged()
	return b, code, f
}

func (b *bundle) tick(t *testing.T) {
	t.Helper()
	if err := b.eng.TickRollouts(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) statuses(t *testing.T, flowID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range b.enrollments(t, flowID) {
		out[e.Status]++
	}
	return out
}

func (b *bundle) rolloutState(t *testing.T, flowID string) *spoke.RolloutReport {
	t.Helper()
	rep, err := b.eng.RolloutStatus(context.Background(), b.account, flowID)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRolloutRunsStageByStage(t *testing.T) {
	t.Parallel()
	b, code, f := setupRollout(t, `{"stages": [1, 2], "maxFailureRate": 0, "approval": "auto"}`)
	for i := 1; i <= 6; i++ {
		b.contact(t, map[string]string{"n": strconv.Itoa(i)})
	}
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentHeld] != 6 {
		t.Fatalf("before the first stage: %v, want 6 HELD", got)
	}
	b.drain(t)
	if n := code.calls.Load(); n != 0 {
		t.Fatalf("held enrollments ran: %d code calls", n)
	}
	// Stage 1 runs one enrollment.
	b.tick(t)
	b.drain(t)
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentCompleted] != 1 || got[spoke.EnrollmentHeld] != 5 {
		t.Fatalf("after stage 1: %v", got)
	}
	// It passed: stage 2 opens with two more.
	b.clock.Add(time.Minute)
	b.tick(t)
	rep := b.rolloutState(t, f.ID)
	if rep.Rollout.Stage != 1 || rep.Rollout.State != spoke.RolloutRunning || rep.Counts.Total != 2 || !rep.Rollout.StageStartedAt.Equal(b.clock.Now()) {
		t.Fatalf("stage 2: %+v %+v", rep.Rollout, rep.Counts)
	}
	b.drain(t)
	// Past the last listed stage every enrollment runs, and new ones run
	// at once.
	b.tick(t)
	if rep := b.rolloutState(t, f.ID); rep.Rollout.State != spoke.RolloutComplete {
		t.Fatalf("after the last stage: %+v", rep.Rollout)
	}
	b.contact(t, map[string]string{"n": "7"})
	b.drain(t)
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentCompleted] != 7 {
		t.Fatalf("at the end: %v", got)
	}
	if n := code.calls.Load(); n != 7 {
		t.Errorf("code calls = %d, want 7", n)
	}
}

func TestRolloutHaltsAdvancesAndAwaitsApproval(t *testing.T) {
	t.Parallel()
	b, code, f := setupRollout(t, `{"stages": [1, 2], "maxFailureRate": 0.5, "approval": "manual"}`)
	alerts := make(chan Alert, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("alert body %s: %v", body, err)
		}
		alerts <- a
	}))
	defer hook.Close()
	b.eng.Alerts = b.db
	if err := b.db.PutAlertSettings(context.Background(), &spoke.AlertSettings{AccountID: b.account, URL: hook.URL, FailureRate: 0.2, FailureWindow: 50}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		b.contact(t, map[string]string{"n": strconv.Itoa(i)})
	}
	code.fail.Store(true)
	b.tick(t)
	b.drain(t)
	b.tick(t)
	rep := b.rolloutState(t, f.ID)
	if rep.Rollout.State != spoke.RolloutHalted || rep.Counts.Failed != 1 || rep.Counts.Held != 4 || len(rep.Failures) != 1 {
		t.Fatalf("after a failing stage: %+v %+v failures %d", rep.Rollout, rep.Counts, len(rep.Failures))
	}
	// Held enrollments stay held while halted.
	b.tick(t)
	b.drain(t)
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentHeld] != 4 {
		t.Fatalf("halted: %v", got)
	}
	select {
	case a := <-alerts:
		if a.Type != AlertRolloutHalted || a.FlowID != f.ID || a.AccountID != b.account {
			t.Errorf("alert %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert for the halted rollout")
	}
	// Advancing opens stage 2 anyway; with the code fixed it passes, then
	// waits for approval (manual).
	code.fail.Store(false)
	if _, err := b.eng.AdvanceRollout(context.Background(), b.account, f.ID); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	b.tick(t)
	if rep := b.rolloutState(t, f.ID); rep.Rollout.State != spoke.RolloutAwaitingApproval || rep.Rollout.Stage != 1 || rep.Counts.Completed != 2 {
		t.Fatalf("stage 2 passed: %+v %+v", rep.Rollout, rep.Counts)
	}
	if _, err := b.eng.AdvanceRollout(context.Background(), b.account, f.ID); err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentCompleted] != 4 || got[spoke.EnrollmentFailed] != 1 {
		t.Fatalf("approved: %v", got)
	}
	if _, err := b.eng.AdvanceRollout(context.Background(), b.account, f.ID); spoke.ErrorCode(err) != spoke.ECONFLICT {
		t.Errorf("advancing a complete rollout: %v, want ECONFLICT", err)
	}
}

func TestRolloutAbortCancelsHeldAndTurnsFlowOff(t *testing.T) {
	t.Parallel()
	b, code, f := setupRollout(t, `{"stages": [1, 10], "maxFailureRate": 0}`)
	for i := 1; i <= 3; i++ {
		b.contact(t, map[string]string{"n": strconv.Itoa(i)})
	}
	code.fail.Store(true)
	b.tick(t)
	b.drain(t)
	b.tick(t)
	if _, err := b.eng.AbortRollout(context.Background(), b.account, f.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if got := b.statuses(t, f.ID); got[spoke.EnrollmentCancelled] != 2 || got[spoke.EnrollmentHeld] != 0 {
		t.Fatalf("aborted: %v", got)
	}
	cur, err := b.db.GetFlow(context.Background(), b.account, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.IsEnabled || cur.RevisionID != "2" {
		t.Errorf("flow after abort: enabled %v revision %s", cur.IsEnabled, cur.RevisionID)
	}
	rev, err := b.db.GetFlowRevision(context.Background(), b.account, f.ID, "2")
	if err != nil || rev.Saved.Author != "ops" {
		t.Errorf("revision 2 author %+v %v", rev.Saved, err)
	}
	if rep := b.rolloutState(t, f.ID); rep.Rollout.State != spoke.RolloutAborted {
		t.Errorf("state %s", rep.Rollout.State)
	}
}

func TestRolloutRestartsOnRestoredRevision(t *testing.T) {
	t.Parallel()
	b, code, f := setupRollout(t, `{"stages": [1, 10], "maxFailureRate": 0}`)
	for i := 1; i <= 3; i++ {
		b.contact(t, map[string]string{"n": strconv.Itoa(i)})
	}
	code.fail.Store(true)
	b.tick(t)
	b.drain(t)
	b.tick(t)
	// Restoring revision 1 (as the API's restore does) saves revision 2
	// while on: a new rollout starts, and the held enrollments run on it.
	code.fail.Store(false)
	old, err := b.db.GetFlowRevision(context.Background(), b.account, f.ID, "1")
	if err != nil {
		t.Fatal(err)
	}
	restored, err := flow.Parse(old.Raw)
	if err != nil {
		t.Fatal(err)
	}
	restored.ID, restored.RevisionID = f.ID, "1"
	if _, err := b.db.UpdateFlow(context.Background(), b.account, restored); err != nil {
		t.Fatal(err)
	}
	b.eng.FlowsChanged()
	b.tick(t)
	rep := b.rolloutState(t, f.ID)
	if rep.Rollout.RevisionID != "2" || rep.Rollout.Stage != 0 || rep.Rollout.State != spoke.RolloutRunning || rep.Counts.Total != 1 {
		t.Fatalf("new rollout: %+v %+v", rep.Rollout, rep.Counts)
	}
	b.drain(t)
	b.tick(t)
	b.drain(t)
	var onRev2 int
	for _, e := range b.enrollments(t, f.ID) {
		if e.Status == spoke.EnrollmentCompleted && e.RevisionID == "2" {
			onRev2++
		}
	}
	if onRev2 != 2 {
		t.Errorf("held enrollments completed on revision 2: %d, want 2 (%v)", onRev2, b.statuses(t, f.ID))
	}
}

func TestQuotaAndFailureRateAlerts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got := make(chan Alert, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		json.NewDecoder(r.Body).Decode(&a)
		got <- a
	}))
	defer hook.Close()
	b.eng.Alerts = b.db
	if err := b.db.PutAlertSettings(context.Background(), &spoke.AlertSettings{AccountID: b.account, URL: hook.URL, FailureRate: 0.5, FailureWindow: 2}); err != nil {
		t.Fatal(err)
	}
	if err := b.db.SetCodeLimit(context.Background(), b.account, 2); err != nil {
		t.Fatal(err)
	}
	b.flows.put(parseFlow(t, "7", scoreFlow))
	failed := sandbox.Result{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrUncaught, Message: "x"}}
	b.code.results = []sandbox.Result{failed, failed}
	b.contact(t, map[string]string{"n": "1"})
	b.drain(t)
	if err := b.eng.CheckAlerts(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.eng.WaitAlerts()
	b.contact(t, map[string]string{"n": "2"})
	b.drain(t)
	if err := b.eng.CheckAlerts(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.eng.WaitAlerts()
	// Announced once: a second check sends nothing new.
	if err := b.eng.CheckAlerts(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.eng.WaitAlerts()
	close(got)
	types := map[string]int{}
	for a := range got {
		types[a.Type]++
	}
	if types[AlertQuota100] != 1 || types[AlertFailureRate] != 1 || types[AlertQuota80] != 0 {
		// The first run used 1 of 2 (50%) with one failure in a window
		// of 2; the second 2 of 2, both failed: the 100% level is reached
		// without a check at 80%, and the failure rate crosses 0.5 once.
		t.Errorf("alerts %v, want one QUOTA_EXHAUSTED and one FAILURE_RATE", types)
	}
}
