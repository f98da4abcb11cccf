package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sqlite"
)

// errBusy stands in for a transient store failure.
var errBusy = errors.New("database is locked (5) (SQLITE_BUSY)")

// flakyStore is the real store with failures injected on demand.
type flakyStore struct {
	*sqlite.DB
	renewals   atomic.Int64
	failRenew  atomic.Bool
	failCommit atomic.Bool
}

func (s *flakyStore) RenewLease(ctx context.Context, lease spoke.Lease, ids []int64) error {
	s.renewals.Add(1)
	if s.failRenew.Load() {
		return errBusy
	}
	return s.DB.RenewLease(ctx, lease, ids)
}

func (s *flakyStore) Commit(ctx context.Context, lease spoke.Lease, steps []*spoke.Step) ([]int64, error) {
	if s.failCommit.CompareAndSwap(true, false) {
		return nil, errBusy
	}
	return s.DB.Commit(ctx, lease, steps)
}

// flakyReads fails the next read of records, flows or secrets when told.
type flakyReads struct {
	spoke.RecordService
	spoke.FlowService
	spoke.SecretService
	failRecords, failRevision, failSecrets atomic.Bool
}

func (f *flakyReads) GetRecords(ctx context.Context, account int64, typ string, ids []string, opts spoke.ReadOptions) (map[string]*spoke.Record, error) {
	if f.failRecords.CompareAndSwap(true, false) {
		return nil, errBusy
	}
	return f.RecordService.GetRecords(ctx, account, typ, ids, opts)
}

func (f *flakyReads) GetFlowRevision(ctx context.Context, account int64, id, revision string) (*spoke.Flow, error) {
	if f.failRevision.CompareAndSwap(true, false) {
		return nil, errBusy
	}
	return f.FlowService.GetFlowRevision(ctx, account, id, revision)
}

func (f *flakyReads) SecretValues(ctx context.Context, account int64, names []string) (map[string]string, error) {
	if f.failSecrets.CompareAndSwap(true, false) {
		return nil, errBusy
	}
	return f.SecretService.SecretValues(ctx, account, names)
}

// blockingCode holds every invocation until release is closed, then
// answers as fakeCode does.
type blockingCode struct {
	started chan struct{}
	release chan struct{}
	calls   atomic.Int64
	inner   fakeCode
}

func newBlockingCode() *blockingCode {
	return &blockingCode{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (c *blockingCode) Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error) {
	c.calls.Add(1)
	c.started <- struct{}{}
	select {
	case <-c.release:
	case <-ctx.Done():
		return sandbox.Result{}, fmt.Errorf("sandbox: invocation cancelled: %w", ctx.Err())
	}
	return c.inner.Invoke(ctx, inv)
}

// engineWith builds a second engine (a second runner, as another process
// would have) over the bundle's store, changed by edit.
func (b *bundle) engineWith(edit func(*Config)) *Engine {
	cfg := Config{Store: b.db, Flows: b.flows, Records: b.db, Properties: b.db, Secrets: b.db, Code: b.code, Now: b.clock.Now}
	edit(&cfg)
	return New(cfg)
}

// executionsByAction counts a flow's execution rows per action.
func (b *bundle) executionsByAction(t *testing.T, flowID string) map[string]int {
	t.Helper()
	list, _, err := b.db.ListExecutions(context.Background(), b.account, flowID, spoke.ExecutionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, x := range list {
		out[x.ActionID]++
	}
	return out
}

func (b *bundle) usage(t *testing.T) int64 {
	t.Helper()
	u, err := b.db.Usage(context.Background(), b.account, spoke.Period(b.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return u.Executions
}

// runAsync runs one RunOnce of eng in the background.
func runAsync(eng *Engine) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := eng.RunOnce(context.Background())
		done <- err
	}()
	return done
}

// onceEach checks that every action of scoreFlow ran exactly once.
func onceEach(t *testing.T, got map[string]int) {
	t.Helper()
	want := map[string]int{"1": 1, "2": 1, "3": 1, "4": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("executions per action = %v, want %v", got, want)
	}
}

// TestLostLeaseIsNotCommitted lets a runner's lease end while its custom
// code is still running and another runner claim the enrollment: the
// second runner's results are committed, the first's are dropped, so each
// action has one execution.
func TestLostLeaseIsNotCommitted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	id := b.contact(t, map[string]string{"email": "slow@example.com", "n": "8"})
	slow := newBlockingCode()
	// RenewEvery is far longer than the test: the lease is never renewed.
	first := b.engineWith(func(c *Config) { c.Code, c.Lease, c.RenewEvery = slow, time.Minute, 59*time.Second })
	done := runAsync(first)
	<-slow.started

	b.clock.Add(2 * time.Minute) // the first runner's lease has ended
	if n, err := b.eng.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("second runner claimed %d, %v; want the enrollment whose lease ended", n, err)
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("first runner: %v", err)
	}

	onceEach(t, b.executionsByAction(t, "7"))
	if en := b.enrollments(t, "7")[0]; en.Status != spoke.EnrollmentCompleted {
		t.Errorf("enrollment %s %+v", en.Status, en.Error)
	}
	if got := b.record(t, id).Properties["score"]; got != "16" {
		t.Errorf("score = %q", got)
	}
	if got := b.usage(t); got != 1 {
		t.Errorf("usage = %d, want the 1 committed run", got)
	}
	if got := first.quota.inFlight(b.account); got != 0 {
		t.Errorf("the first runner still reserves %d quota units", got)
	}
}

// TestRenewedLeaseIsNotClaimed holds custom code for longer than the lease
// while the runner renews it: no other runner can claim the enrollment.
func TestRenewedLeaseIsNotClaimed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	b.contact(t, map[string]string{"email": "slow@example.com", "n": "8"})
	store := &flakyStore{DB: b.db}
	slow := newBlockingCode()
	first := b.engineWith(func(c *Config) { c.Store, c.Code, c.Lease, c.RenewEvery = store, slow, time.Minute, 2*time.Millisecond })
	done := runAsync(first)
	<-slow.started

	for range 4 { // 160 s in all: well past the one-minute lease
		b.clock.Add(40 * time.Second)
		waitFor(t, func() bool {
			r := store.renewals.Load()
			time.Sleep(5 * time.Millisecond)
			return store.renewals.Load() >= r+2
		})
		if n, err := b.eng.RunOnce(context.Background()); err != nil || n != 0 {
			t.Fatalf("another runner claimed %d, %v of a renewed lease", n, err)
		}
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	onceEach(t, b.executionsByAction(t, "7"))
	if slow.calls.Load() != 1 || b.code.calls.Load() != 0 {
		t.Errorf("code ran %d times in the holder, %d in the other runner; want 1 and 0", slow.calls.Load(), b.code.calls.Load())
	}
}

// TestUnrenewableLeaseDropsRound: when the lease cannot be renewed before
// it ends, the runner cuts its round short and commits nothing, so the
// runner that claims the enrollment next runs each action once.
func TestUnrenewableLeaseDropsRound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.flows.put(parseFlow(t, "7", scoreFlow))
	b.contact(t, map[string]string{"email": "slow@example.com", "n": "8"})
	store := &flakyStore{DB: b.db}
	store.failRenew.Store(true)
	slow := newBlockingCode()
	first := b.engineWith(func(c *Config) { c.Store, c.Code, c.Lease, c.RenewEvery = store, slow, time.Minute, 2*time.Millisecond })
	done := runAsync(first)
	<-slow.started
	b.clock.Add(2 * time.Minute)
	if err := <-done; err == nil {
		t.Fatal("a round whose lease ended returned no error")
	}
	en := b.enrollments(t, "7")[0]
	if en.Status != spoke.EnrollmentActive || en.Error != nil {
		t.Fatalf("after the dropped round: %s %+v, want ACTIVE with no error", en.Status, en.Error)
	}
	if got := b.executionsByAction(t, "7"); len(got) != 0 {
		t.Fatalf("a dropped round logged executions %v", got)
	}
	if got := first.quota.inFlight(b.account); got != 0 {
		t.Errorf("the dropped round still reserves %d quota units", got)
	}
	b.drain(t)
	onceEach(t, b.executionsByAction(t, "7"))
	if got := b.usage(t); got != 1 {
		t.Errorf("usage = %d, want 1", got)
	}
}

// TestTransientReadErrorDelaysRound: a round whose records or flow cannot
// be read fails nothing; its enrollments are released and run once the
// store answers again.
func TestTransientReadErrorDelaysRound(t *testing.T) {
	t.Parallel()
	for _, which := range []string{"records", "flow revision"} {
		t.Run(which, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.flows.put(parseFlow(t, "7", scoreFlow))
			id := b.contact(t, map[string]string{"email": "busy@example.com", "n": "8"})
			reads := &flakyReads{RecordService: b.db, FlowService: b.flows, SecretService: b.db}
			if which == "records" {
				reads.failRecords.Store(true)
			} else {
				reads.failRevision.Store(true)
			}
			eng := b.engineWith(func(c *Config) { c.Records, c.Flows = reads, reads })
			n, err := eng.RunOnce(context.Background())
			if n != 1 || !errors.Is(err, errBusy) {
				t.Fatalf("RunOnce = %d, %v; want the claimed enrollment and the read error", n, err)
			}
			en := b.enrollments(t, "7")[0]
			if en.Status != spoke.EnrollmentActive || en.Error != nil || en.CurrentAction != "" {
				t.Fatalf("after the read error: %s at %q %+v, want ACTIVE at the start with no error", en.Status, en.CurrentAction, en.Error)
			}
			// Released, not left leased: the next round, at the same
			// time, takes it.
			for range 10 {
				if n, err := eng.RunOnce(context.Background()); err != nil || n == 0 {
					break
				}
			}
			if en := b.enrollments(t, "7")[0]; en.Status != spoke.EnrollmentCompleted {
				t.Fatalf("after the store recovered: %s %+v", en.Status, en.Error)
			}
			if got := b.record(t, id).Properties["score"]; got != "16" {
				t.Errorf("score = %q", got)
			}
			onceEach(t, b.executionsByAction(t, "7"))
		})
	}
}

// TestQuotaCountsWhatRan goes through every way a custom code action can
// take a quota unit and not run (or not be committed). With a limit of
// one, the unit must be back afterwards: the store counts nothing, and the
// next code runs.
func TestQuotaCountsWhatRan(t *testing.T) {
	t.Parallel()
	secretFlow := strings.Replace(scoreFlow, `"secretNames":[]`, `"secretNames":["API_KEY"]`, 1)
	tests := []struct {
		name    string
		flow    string
		arrange func(b *bundle, store *flakyStore, reads *flakyReads)
		// wantStatus is the enrollment's status after the first drain.
		wantStatus string
	}{
		{name: "missing secret", flow: secretFlow, wantStatus: spoke.EnrollmentFailed},
		{name: "secrets unreadable", flow: secretFlow, wantStatus: spoke.EnrollmentActive, arrange: func(b *bundle, _ *flakyStore, reads *flakyReads) {
			if _, err := b.db.PutSecret(context.Background(), b.account, "API_KEY", "k"); err != nil {
				panic(err)
			}
			reads.failSecrets.Store(true)
		}},
		{name: "sandbox unavailable", flow: scoreFlow, wantStatus: spoke.EnrollmentActive, arrange: func(b *bundle, _ *flakyStore, _ *flakyReads) {
			var n atomic.Int64
			b.code.fail = func(context.Context) error {
				if n.Add(1) == 1 {
					return fmt.Errorf("%w: bwrap: out of memory", sandbox.ErrUnavailable)
				}
				return nil
			}
		}},
		{name: "malformed invocation", flow: scoreFlow, wantStatus: spoke.EnrollmentFailed, arrange: func(b *bundle, _ *flakyStore, _ *flakyReads) {
			var n atomic.Int64
			b.code.fail = func(context.Context) error {
				if n.Add(1) == 1 {
					return errors.New("sandbox: memory limit 999 MB is over the pool's 512 MB")
				}
				return nil
			}
		}},
		{name: "commit failed", flow: scoreFlow, wantStatus: spoke.EnrollmentActive, arrange: func(_ *bundle, store *flakyStore, _ *flakyReads) {
			store.failCommit.Store(true)
		}},
		{name: "engine stopping", flow: scoreFlow, wantStatus: spoke.EnrollmentActive, arrange: func(b *bundle, _ *flakyStore, _ *flakyReads) {
			var n atomic.Int64
			b.code.fail = func(context.Context) error {
				if n.Add(1) == 1 {
					return fmt.Errorf("sandbox: invocation cancelled: %w", context.Canceled)
				}
				return nil
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			if err := b.db.SetCodeLimit(ctx, b.account, 1); err != nil {
				t.Fatal(err)
			}
			store := &flakyStore{DB: b.db}
			reads := &flakyReads{RecordService: b.db, FlowService: b.flows, SecretService: b.db}
			if tc.arrange != nil {
				tc.arrange(b, store, reads)
			}
			eng := b.engineWith(func(c *Config) { c.Store, c.Records, c.Flows, c.Secrets = store, reads, reads, reads })
			b.flows.put(parseFlow(t, "7", tc.flow))
			b.contact(t, map[string]string{"email": "first@example.com", "n": "8"})
			runCtx := ctx
			if tc.name == "engine stopping" {
				c, stop := context.WithCancel(ctx)
				defer stop()
				b.code.mu.Lock()
				fail := b.code.fail
				b.code.fail = func(ctx context.Context) error { stop(); return fail(ctx) }
				b.code.mu.Unlock()
				runCtx = c
			}
			_, _ = eng.RunOnce(runCtx)
			en := b.enrollments(t, "7")[0]
			if en.Status != tc.wantStatus {
				t.Fatalf("enrollment %s %+v, want %s", en.Status, en.Error, tc.wantStatus)
			}
			if got := eng.quota.inFlight(b.account); got != 0 {
				t.Errorf("%d quota units still reserved", got)
			}
			if got := b.usage(t); got != 0 {
				t.Errorf("usage = %d, want 0: the code did not run or was not committed", got)
			}
			if got := b.executionsByAction(t, "7")["1"]; tc.wantStatus == spoke.EnrollmentActive && got != 0 {
				t.Errorf("%d executions logged for an action that did not run", got)
			}
			// The unit is still there: the code runs now, and counts once.
			b.code.mu.Lock()
			b.code.fail = nil
			b.code.mu.Unlock()
			if tc.wantStatus == spoke.EnrollmentFailed {
				off := parseFlow(t, "7", tc.flow)
				off.IsEnabled = false
				b.flows.put(off)
				b.eng.FlowsChanged()
				b.flows.put(parseFlow(t, "8", scoreFlow))
				b.contact(t, map[string]string{"email": "second@example.com", "n": "8"})
			}
			b.clock.Add(RetryDelay(1))
			for range 20 {
				if n, err := eng.RunOnce(ctx); err != nil || n == 0 {
					break
				}
			}
			flowID := "7"
			if tc.wantStatus == spoke.EnrollmentFailed {
				flowID = "8"
			}
			if en := b.enrollments(t, flowID)[0]; en.Status != spoke.EnrollmentCompleted {
				t.Fatalf("with the unit given back: %s %s %+v", en.Status, en.WaitReason, en.Error)
			}
			if got := b.usage(t); got != 1 {
				t.Errorf("usage = %d, want 1", got)
			}
			if got := eng.quota.inFlight(b.account); got != 0 {
				t.Errorf("%d quota units still reserved after the run", got)
			}
		})
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
