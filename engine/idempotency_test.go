package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
)

// keyCode records the idempotency key of every invocation and answers as
// fakeCode does.
type keyCode struct {
	mu    sync.Mutex
	keys  []string
	inner fakeCode
}

func (c *keyCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	c.mu.Lock()
	c.keys = append(c.keys, inv.Event.IdempotencyKey)
	c.mu.Unlock()
	return c.inner.Invoke(ctx, inv)
}

// TestIdempotencyKeyRepeatsAfterCrash checks that custom code run again
// because its round was never committed (as after a crash) gets the key
// of the run it repeats, and that a retry after a rate limit, a new
// attempt, gets a new one.
func TestIdempotencyKeyRepeatsAfterCrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code := &keyCode{}
	store := &flakyStore{DB: b.db}
	eng := b.engineWith(func(c *Config) { c.Code, c.Store = code, store })
	f := parseFlow(t, "31", scoreFlow)
	f.EnrollmentCriteria = &spoke.EnrollmentCriteria{Type: spoke.EnrollManual}
	b.flows.put(f)
	id := b.contact(t, map[string]string{"n": "4"})
	if _, err := eng.Enroll(context.Background(), b.account, "31", []int64{id}); err != nil {
		t.Fatal(err)
	}
	store.failCommit.Store(true) // the round's results are lost, as in a crash
	if _, err := eng.RunOnce(context.Background()); err == nil {
		t.Fatal("RunOnce with a failing commit succeeded")
	}
	code.inner.results = []sandbox.Result{{Status: sandbox.StatusError, Error: &sandbox.Error{Type: sandbox.ErrRateLimited, Message: "429"}}}
	if _, err := eng.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Minute)
	if _, err := eng.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(code.keys) != 3 {
		t.Fatalf("%d invocations, want 3: %v", len(code.keys), code.keys)
	}
	if code.keys[0] == "" || code.keys[0] != code.keys[1] {
		t.Errorf("the repeated run got key %q, the first %q; want the same", code.keys[1], code.keys[0])
	}
	if code.keys[2] == code.keys[1] || !strings.HasSuffix(code.keys[2], "-2") {
		t.Errorf("the retry got key %q, want a new one for attempt 2", code.keys[2])
	}
	if e := b.enrollments(t, "31")[0]; e.Status != spoke.EnrollmentCompleted {
		t.Errorf("enrollment = %s %+v", e.Status, e.Error)
	}
}

// TestWebhookIdempotencyKey checks that webhooks carry the execution's key
// in an Idempotency-Key header, the same when a crash repeats a delivery.
func TestWebhookIdempotencyKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
	}))
	defer srv.Close()
	b := setup(t)
	store := &flakyStore{DB: b.db}
	eng := b.engineWith(func(c *Config) { c.Store = store })
	f := parseFlow(t, "32", `{"type":"CONTACT_FLOW","objectTypeId":"0-1","flowType":"WORKFLOW","isEnabled":true,"startActionId":"1",
 "enrollmentCriteria":{"type":"MANUAL"},
 "actions":[{"type":"WEBHOOK","actionId":"1","webhookUrl":"`+srv.URL+`/hook","method":"POST"}]}`)
	b.flows.put(f)
	id := b.contact(t, map[string]string{"n": "1"})
	if _, err := eng.Enroll(context.Background(), b.account, "32", []int64{id}); err != nil {
		t.Fatal(err)
	}
	store.failCommit.Store(true)
	eng.RunOnce(context.Background())
	if _, err := eng.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("Idempotency-Key headers = %q, want two equal keys", keys)
	}
}

// splitCode answers at once for n=1 and holds n=2 until release closes.
type splitCode struct {
	release chan struct{}
	slow    atomic.Bool
	inner   fakeCode
}

func (c *splitCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	if fmt.Sprint(inv.Event.InputFields["n"]) == "2" {
		c.slow.Store(true)
		select {
		case <-c.release:
		case <-ctx.Done():
			return sandbox.Result{}, ctx.Err()
		}
	}
	return c.inner.Invoke(ctx, inv)
}

// TestFinishedExternalActionsCommitEarly checks that custom code that
// finished is committed while a slow run of the same round goes on, so a
// crash then would not repeat it.
func TestFinishedExternalActionsCommitEarly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code := &splitCode{release: make(chan struct{})}
	eng := b.engineWith(func(c *Config) { c.Code, c.FlushEvery = code, 10*time.Millisecond })
	f := parseFlow(t, "33", scoreFlow)
	f.EnrollmentCriteria = &spoke.EnrollmentCriteria{Type: spoke.EnrollManual}
	b.flows.put(f)
	fast := b.contact(t, map[string]string{"n": "1"})
	slow := b.contact(t, map[string]string{"n": "2"})
	if _, err := eng.Enroll(context.Background(), b.account, "33", []int64{fast, slow}); err != nil {
		t.Fatal(err)
	}
	done := runAsync(eng)
	deadline := time.Now().Add(10 * time.Second)
	for b.executionsByAction(t, "33")["1"] < 1 {
		if time.Now().After(deadline) {
			close(code.release)
			t.Fatal("the finished code run was not committed while the slow one ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !code.slow.Load() {
		t.Fatal("the slow run had not started")
	}
	close(code.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.drain(t)
	// Both take the low branch: each action once per enrollment.
	if got := b.executionsByAction(t, "33"); got["1"] != 2 || got["2"] != 2 || got["3"] != 2 || len(got) != 3 {
		t.Errorf("executions per action = %v, want 2 each of 1, 2 and 3", got)
	}
	for _, e := range b.enrollments(t, "33") {
		if e.Status != spoke.EnrollmentCompleted {
			t.Errorf("enrollment %d = %s %+v", e.ID, e.Status, e.Error)
		}
	}
}
