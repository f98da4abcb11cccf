// Package engine runs workflows: it enrolls records in flows (by hand, in
// bulk, or when a record starts to meet a flow's criteria) and executes
// each enrollment action by action, checkpointing after every action in the
// same transaction as the action's record writes, so a crash re-runs at
// most the actions that were in flight.
//
// The enrollments table is the queue: runners claim due enrollments with a
// lease, run one action of each, commit all the steps of a round in one
// transaction, and go on with those that can run at once.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
)

// Invoker runs custom code; *sandbox.Pool implements it.
type Invoker interface {
	Invoke(ctx context.Context, inv sandbox.Invocation) (sandbox.Result, error)
}

// Engine executes flows. Set the exported fields, then call Run.
type Engine struct {
	Store      spoke.EngineStore
	Flows      spoke.FlowService
	Records    spoke.RecordService
	Properties spoke.PropertyService
	Secrets    spoke.SecretService
	Code       Invoker
	// HTTP sends webhooks; it should dial through the egress proxy.
	HTTP   *http.Client
	Logger *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Runners is how many claim-and-run loops work in parallel.
	Runners int
	// BatchSize is how many enrollments a runner claims at once.
	BatchSize int
	// CodeConcurrency bounds concurrent custom code invocations per runner.
	CodeConcurrency int
	// Poll is how often idle runners look for due enrollments (they are
	// also woken when records enroll).
	Poll time.Duration
	// Metrics, when set, records executions and queue depth.
	Metrics *Metrics

	wake    chan struct{}
	limiter limiter
	quota   quotaCache
	cache   flowCache
	once    sync.Once
	running atomic.Bool
}

// Defaults of the Engine's tuning fields. On a 2-core machine, more
// runners than two keep both cores busy while one runner holds the
// database's writer (see BENCHMARKS.md).
const (
	DefaultRunners         = 4
	DefaultBatchSize       = 512
	DefaultCodeConcurrency = 32
)

// lease is how long a claimed enrollment stays with its runner.
const lease = 5 * time.Minute

func (e *Engine) init() {
	e.once.Do(func() {
		if e.Logger == nil {
			e.Logger = slog.Default()
		}
		if e.Now == nil {
			e.Now = time.Now
		}
		if e.Runners <= 0 {
			e.Runners = DefaultRunners
		}
		if e.BatchSize <= 0 {
			e.BatchSize = DefaultBatchSize
		}
		if e.CodeConcurrency <= 0 {
			e.CodeConcurrency = DefaultCodeConcurrency
		}
		if e.Poll <= 0 {
			e.Poll = 100 * time.Millisecond
		}
		if e.HTTP == nil {
			e.HTTP = &http.Client{Timeout: 20 * time.Second}
		}
		e.wake = make(chan struct{}, 1)
		e.cache.engine = e
		e.limiter.buckets = map[string]*bucket{}
	})
}

// Wake tells idle runners that enrollments may be due.
func (e *Engine) Wake() {
	e.init()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run runs the runners until ctx ends. It first releases the leases a
// previous process left, since in a single-process deployment they belong
// to no live runner.
func (e *Engine) Run(ctx context.Context) error {
	e.init()
	if err := e.Store.ReleaseLeases(ctx); err != nil {
		return err
	}
	e.running.Store(true)
	defer e.running.Store(false)
	var wg sync.WaitGroup
	for i := 0; i < e.Runners; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runner(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (e *Engine) runner(ctx context.Context) {
	timer := time.NewTimer(e.Poll)
	defer timer.Stop()
	for ctx.Err() == nil {
		n, err := e.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			e.Logger.Error("engine round failed", "err", err)
		}
		if n >= e.BatchSize {
			e.Wake() // a full batch: there may be more for an idle runner
		}
		if n > 0 {
			continue
		}
		timer.Reset(e.Poll)
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// RunOnce claims one batch of due enrollments and runs each as far as it
// can go now. It returns how many enrollments it claimed.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	e.init()
	batch, err := e.Store.Claim(ctx, e.Now(), e.BatchSize, lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	active := batch
	for len(active) > 0 && ctx.Err() == nil {
		steps := e.round(ctx, active)
		if ctx.Err() != nil {
			// Stopping: actions the cancellation cut short must not be
			// recorded as failures. The round is dropped; its enrollments
			// stay leased to no one and run again on the next start.
			return len(batch), nil
		}
		if err := e.Store.Commit(ctx, steps); err != nil {
			return len(batch), err
		}
		e.afterCommit(steps)
		next := active[:0]
		now := e.Now()
		for _, st := range steps {
			en := st.Enrollment
			if en.Status == spoke.EnrollmentActive && !en.RunAt.After(now) {
				next = append(next, en)
			}
		}
		active = next
	}
	return len(batch), nil
}

// round runs the current action of every enrollment, custom code in
// parallel.
func (e *Engine) round(ctx context.Context, batch []*spoke.Enrollment) []*spoke.Step {
	// A short read need not watch ctx (the driver would start a goroutine
	// per query to do so); RunOnce checks ctx between rounds.
	records := e.loadRecords(context.WithoutCancel(ctx), batch)
	steps := make([]*spoke.Step, len(batch))
	// Steps with an external action (custom code, a webhook) run on
	// CodeConcurrency goroutines started for the round; reusing them spares
	// a goroutine, and its stack's growth, per step.
	type job struct {
		i   int
		f   *spoke.Flow
		rec *spoke.Record
	}
	var jobs chan job
	var wg sync.WaitGroup
	submit := func(j job) {
		if jobs == nil {
			jobs = make(chan job)
			for range e.CodeConcurrency {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range jobs {
						steps[j.i] = e.step(ctx, j.f, batch[j.i], j.rec, false)
					}
				}()
			}
		}
		jobs <- j
	}
	for i, en := range batch {
		f, err := e.cache.revision(ctx, en.AccountID, en.FlowID, en.RevisionID)
		if err != nil {
			steps[i] = e.failStep(&spoke.Step{Enrollment: en}, &spoke.ActionError{Type: "FLOW_UNAVAILABLE", Message: err.Error()}, e.Now())
			continue
		}
		if gone, err := e.cache.isDeleted(ctx, en.AccountID, en.FlowID); err != nil {
			e.Logger.Error("check whether a flow was deleted", "flowId", en.FlowID, "err", err)
		} else if gone {
			steps[i] = e.failStep(&spoke.Step{Enrollment: en}, &spoke.ActionError{Type: "FLOW_DELETED",
				Message: fmt.Sprintf("Flow %s was deleted; its enrollments stop.", en.FlowID)}, e.Now())
			continue
		}
		rec := records[en.ObjectID]
		if rec == nil {
			steps[i] = e.failStep(&spoke.Step{Enrollment: en}, &spoke.ActionError{Type: "OBJECT_NOT_FOUND", Message: "The enrolled record no longer exists or was archived."}, e.Now())
			continue
		}
		act := e.currentAction(f, en)
		if act != nil && external(act) {
			submit(job{i, f, rec})
			continue
		}
		steps[i] = e.step(ctx, f, en, rec, false)
	}
	if jobs != nil {
		close(jobs)
		wg.Wait()
	}
	return steps
}

func (e *Engine) currentAction(f *spoke.Flow, en *spoke.Enrollment) *spoke.Action {
	id := en.CurrentAction
	if id == "" {
		id = f.StartActionID
	}
	return f.ActionByID(id)
}

// loadRecords reads the enrolled records of a batch.
func (e *Engine) loadRecords(ctx context.Context, batch []*spoke.Enrollment) map[int64]*spoke.Record {
	type key struct {
		account int64
		typ     string
	}
	ids := map[key][]string{}
	for _, en := range batch {
		k := key{en.AccountID, en.ObjectType}
		ids[k] = append(ids[k], strconv.FormatInt(en.ObjectID, 10))
	}
	out := map[int64]*spoke.Record{}
	for k, list := range ids {
		recs, err := e.Records.GetRecords(ctx, k.account, k.typ, list, spoke.ReadOptions{})
		if err != nil {
			e.Logger.Error("load enrolled records", "err", err)
			continue
		}
		for _, r := range recs {
			out[r.ID] = r
		}
	}
	return out
}

func (e *Engine) afterCommit(steps []*spoke.Step) {
	for _, st := range steps {
		if e.Metrics != nil {
			for _, x := range st.Executions {
				e.Metrics.observe(x)
			}
		}
	}
}
