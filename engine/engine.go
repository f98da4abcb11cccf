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
	"crypto/rand"
	"encoding/binary"
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

// Config is what an Engine is built from. Store, Flows, Records,
// Properties, Secrets and Code are required; New gives every other field
// left zero its default.
type Config struct {
	Store      spoke.EngineStore
	Flows      spoke.FlowService
	Records    spoke.RecordService
	Properties spoke.PropertyService
	Secrets    spoke.SecretService
	// ObjectTypes resolves custom object types (flows on "2-…" types);
	// nil runs flows on the standard types only.
	ObjectTypes spoke.ObjectTypeService
	// Owners are the owners rotate-to-owner actions assign; nil rotates
	// among the owner_ids the actions name.
	Owners spoke.OwnerService
	// Lists answers list membership for IN_LIST filters and the static
	// list actions' lists; nil makes every record a member of no list.
	Lists ListMembership
	Code  Invoker
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
	// Lease is how long claimed enrollments stay with their runner without
	// being renewed, and RenewEvery how often a runner renews the leases of
	// the batch it runs (well under Lease, so a slow round keeps them).
	Lease      time.Duration
	RenewEvery time.Duration
	// FlushEvery is how long a finished external action (custom code, a
	// webhook) may wait for the rest of its round before it is committed
	// on its own, so a crash repeats only the external calls of the last
	// FlushEvery plus those in flight, not a whole round's. Rounds that
	// finish sooner commit once, as before. Negative turns it off.
	FlushEvery time.Duration
	// Metrics, when set, records executions and queue depth.
	Metrics *Metrics
	// Rollouts, when set, keeps staged rollouts; the controller moves
	// them on every RolloutPoll.
	Rollouts    spoke.RolloutStore
	RolloutPoll time.Duration
	// Alerts, when set, keeps the accounts' alert webhooks.
	Alerts spoke.AlertStore
	// Reverts, when set, finds and reverts flows' writes, RevertChunk
	// records per transaction.
	Reverts     spoke.RevertStore
	RevertChunk int
	// SharedStore says several processes run engines on the store (a
	// PostgreSQL database): Run then leaves the leases it finds alone, since
	// they may belong to live workers elsewhere, and relies on leases ending
	// (Lease) for those a dead process left.
	SharedStore bool
}

// Engine executes flows. Build it with New, then call Run. Its Config
// fields must not change after New.
type Engine struct {
	Config

	wake    chan struct{}
	limiter limiter
	// rates is the store's rate limiter when it keeps the windows
	// (a store shared by several processes), else nil.
	rates spoke.RateLimiter
	quota quota
	// limitChanges counts CodeLimitChanged calls, so a round that decided
	// on the quota before a limit change wakes what it made wait (see
	// committer.commit).
	limitChanges atomic.Uint64
	// holder names this engine to a store that keeps its quota
	// reservations (spoke.QuotaReserver; Lease.Holder).
	holder   int64
	cache    flowCache
	rotation rotation
	// rotations is the store's turn counter for rotate-to-owner actions
	// when it keeps them (a store shared by several processes), else nil.
	rotations spoke.OwnerRotator
	running   atomic.Bool
	alerts    alertState
	// revertWake wakes the reverter when this process stored a job.
	revertWake chan struct{}
}

// Defaults of the Engine's tuning fields. On a 2-core machine, more
// runners than two keep both cores busy while one runner holds the
// database's writer (see BENCHMARKS.md).
const (
	DefaultRunners         = 4
	DefaultBatchSize       = 512
	DefaultCodeConcurrency = 32
	// DefaultLease outlasts any one action (custom code is cut at 20 s,
	// webhooks at 20 s), and renewal every DefaultRenewEvery keeps it for
	// rounds that wait long for sandbox workers.
	DefaultLease      = 5 * time.Minute
	DefaultRenewEvery = DefaultLease / 5
	// DefaultFlushEvery adds at most one commit a second per runner, and
	// only while a round's external actions outlast it.
	DefaultFlushEvery = time.Second
)

// New builds an Engine from cfg, filling in defaults.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Runners <= 0 {
		cfg.Runners = DefaultRunners
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.CodeConcurrency <= 0 {
		cfg.CodeConcurrency = DefaultCodeConcurrency
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.RenewEvery <= 0 || cfg.RenewEvery >= cfg.Lease {
		cfg.RenewEvery = cfg.Lease / 5
	}
	if cfg.RevertChunk <= 0 {
		cfg.RevertChunk = DefaultRevertChunk
	}
	if cfg.RolloutPoll <= 0 {
		cfg.RolloutPoll = time.Second
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	e := &Engine{Config: cfg, wake: make(chan struct{}, 1), revertWake: make(chan struct{}, 1), holder: newToken()}
	e.cache.engine = e
	e.limiter.buckets = map[string]*bucket{}
	// A store several processes share keeps the quota's reservations and
	// the rate-limit windows; with one process, memory is enough and
	// faster.
	if r, ok := cfg.Store.(spoke.QuotaReserver); ok {
		e.quota = newSharedQuota(r, e.holder, cfg.Lease, cfg.Logger)
	} else {
		e.quota = &quotaCache{store: cfg.Store}
	}
	e.rates, _ = cfg.Store.(spoke.RateLimiter)
	e.rotations, _ = cfg.Store.(spoke.OwnerRotator)
	return e
}

// Wake tells idle runners that enrollments may be due.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run runs the runners until ctx ends. In a single-process deployment it
// first releases the leases a previous process left, since they belong to
// no live runner; on a shared store it does not (Config.SharedStore).
func (e *Engine) Run(ctx context.Context) error {
	if !e.SharedStore {
		if err := e.Store.ReleaseLeases(ctx); err != nil {
			return err
		}
	}
	e.running.Store(true)
	defer e.running.Store(false)
	var wg sync.WaitGroup
	if e.Reverts != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.reverter(ctx)
		}()
	}
	if q, ok := e.quota.(*sharedQuota); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.keepQuota(ctx, q)
		}()
		defer func() {
			// After the runners stopped: what they released goes back too.
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			q.keep(stop, e.Now(), true)
		}()
	}
	if e.Rollouts != nil || e.Alerts != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.controller(ctx)
		}()
	}
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

// maxBackoff is the longest a runner waits after failed rounds in a row
// (a database that is down or restarting) before it tries again.
const maxBackoff = 5 * time.Second

func (e *Engine) runner(ctx context.Context) {
	timer := time.NewTimer(e.Poll)
	defer timer.Stop()
	wait := e.Poll
	for ctx.Err() == nil {
		n, err := e.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			// Store errors are transient: the round is dropped and runs
			// again. Failures in a row back off, so a database that is
			// down is not hammered nor the log flooded; a wake-up (the
			// notification listener reconnected) ends the wait early.
			e.Logger.Error("engine round failed", "err", err, "retryIn", wait)
			n = 0
		} else {
			wait = e.Poll
		}
		if n >= e.BatchSize {
			e.Wake() // a full batch: there may be more for an idle runner
		}
		if n > 0 {
			continue
		}
		timer.Reset(wait)
		if err != nil {
			wait = min(2*wait, max(maxBackoff, e.Poll))
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
	}
}

// newToken returns a random lease token.
func newToken() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// RunOnce claims one batch of due enrollments and runs each as far as it
// can go now. It returns how many enrollments it claimed.
//
// The batch is held by one lease: it is renewed every RenewEvery while the
// rounds run, and a commit writes only the enrollments that still carry
// its token. If the lease cannot be renewed before it ends, the rounds in
// flight are cut short and dropped, as on shutdown, since another runner
// may claim the enrollments.
func (e *Engine) RunOnce(ctx context.Context) (int, error) {
	lease := spoke.Lease{Token: newToken(), Until: e.Now().Add(e.Lease), Holder: e.holder}
	batch, err := e.Store.Claim(ctx, e.Now(), e.BatchSize, lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	h := &holder{lease: lease, ids: ids(batch)}
	roundCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		e.renew(roundCtx, h, stop, cancel)
	}()
	defer func() { close(stop); <-renewed }()

	active := batch
	for len(active) > 0 {
		c := &committer{e: e, ctx: ctx, h: h, limits: e.limitChanges.Load()}
		steps, err := e.round(roundCtx, active, c)
		if err == nil && roundCtx.Err() != nil {
			err = roundCtx.Err()
		}
		if err != nil {
			// Nothing more of the round is committed: a transient failure
			// (a busy store, a lease that could not be renewed, a
			// shutdown) must not be recorded as the actions' failure. The
			// enrollments run again once released or their lease ends.
			e.dropRound(ctx, h.current(), active, c.pending(steps))
			if ctx.Err() != nil {
				return len(batch), nil // stopping
			}
			return len(batch), err
		}
		if err := c.commit(c.pending(steps)); err != nil {
			e.dropRound(ctx, h.current(), active, c.pending(steps))
			return len(batch), err
		}
		next := active[:0]
		now := e.Now()
		for _, st := range steps {
			en := st.Enrollment
			if en.Status == spoke.EnrollmentActive && !en.RunAt.After(now) && !c.lost[en.ID] {
				next = append(next, en)
			}
		}
		active = next
		h.set(ids(active))
	}
	return len(batch), nil
}

// committer commits a round's steps, in one go at the round's end or in
// parts as external actions finish (FlushEvery), and remembers which it
// committed and which enrollments another runner took.
type committer struct {
	e    *Engine
	ctx  context.Context
	h    *holder
	done map[*spoke.Step]bool
	lost map[int64]bool
	// limits is Engine.limitChanges when the round started.
	limits uint64
}

// commit commits steps under the runner's current lease.
func (c *committer) commit(steps []*spoke.Step) error {
	if len(steps) == 0 {
		return nil
	}
	lost, err := c.e.Store.Commit(c.ctx, c.h.current(), steps)
	if err != nil {
		return fmt.Errorf("commit a round of %d enrollments: %w", len(steps), err)
	}
	if c.done == nil {
		c.done, c.lost = map[*spoke.Step]bool{}, map[int64]bool{}
	}
	for _, st := range steps {
		c.done[st] = true
	}
	for _, id := range lost {
		c.lost[id] = true
	}
	c.e.afterCommit(steps, lost)
	if c.e.limitChanges.Load() != c.limits {
		// A limit changed while the round ran: its quota waits may have
		// been decided on the old limit and committed after
		// CodeLimitChanged woke the waiters, so wake them again.
		c.e.wakeQuotaWaiters(c.ctx, steps)
	}
	if len(lost) > 0 {
		c.e.Logger.Warn("enrollments were claimed by another runner after this runner's lease ended; its results for them were dropped", "count", len(lost))
	}
	return nil
}

// pending returns the steps not committed yet.
func (c *committer) pending(steps []*spoke.Step) []*spoke.Step {
	out := make([]*spoke.Step, 0, len(steps))
	for _, st := range steps {
		if st != nil && !c.done[st] {
			out = append(out, st)
		}
	}
	return out
}

func ids(batch []*spoke.Enrollment) []int64 {
	out := make([]int64, len(batch))
	for i, en := range batch {
		out[i] = en.ID
	}
	return out
}

// holder is the lease a runner holds and the enrollments it still holds
// it for, shared between the runner and its renewer.
type holder struct {
	mu    sync.Mutex
	lease spoke.Lease
	ids   []int64
}

func (h *holder) current() spoke.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

func (h *holder) set(ids []int64) {
	h.mu.Lock()
	h.ids = ids
	h.mu.Unlock()
}

// renew extends the lease every RenewEvery until stop closes. When the
// lease ends without a renewal it calls cancel, so the round in flight is
// dropped rather than committed after another runner may have claimed it.
func (e *Engine) renew(ctx context.Context, h *holder, stop <-chan struct{}, cancel func()) {
	t := time.NewTicker(e.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := e.Now()
		h.mu.Lock()
		next := spoke.Lease{Token: h.lease.Token, Until: now.Add(e.Lease), Holder: h.lease.Holder}
		held := append([]int64(nil), h.ids...)
		expired := !h.lease.Until.After(now)
		h.mu.Unlock()
		if expired {
			e.Logger.Error("a runner's lease ended before it could be renewed; its round is dropped", "enrollments", len(held))
			cancel()
			return
		}
		if err := e.Store.RenewLease(ctx, next, held); err != nil {
			e.Logger.Error("renew lease", "err", err)
			continue
		}
		h.mu.Lock()
		h.lease = next
		h.mu.Unlock()
	}
}

// round runs the current action of every enrollment, custom code in
// parallel.
//
// It returns an error, and no steps, when what the round needs cannot be
// read (the records, a flow revision): such a failure is the store's, not
// the enrollments', and must delay them, not fail them.
//
// External actions that finish while others of the round still run are
// committed through c once they have waited FlushEvery, so that a crash
// does not repeat them; an error of such a commit is returned once the
// round's actions are done.
func (e *Engine) round(ctx context.Context, batch []*spoke.Enrollment, c *committer) ([]*spoke.Step, error) {
	// A short read need not watch ctx (the driver would start a goroutine
	// per query to do so); RunOnce checks ctx between rounds.
	records, err := e.loadRecords(context.WithoutCancel(ctx), batch)
	if err != nil {
		return nil, err
	}
	flows := make([]*spoke.Flow, len(batch))
	for i, en := range batch {
		f, err := e.cache.revision(ctx, en.AccountID, en.FlowID, en.RevisionID)
		if err != nil && spoke.ErrorCode(err) != spoke.ENOTFOUND {
			return nil, err
		}
		flows[i] = f
	}
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
	var finished chan int // indexes of external steps done
	var wg sync.WaitGroup
	submitted := 0
	submit := func(j job) {
		if jobs == nil {
			// Buffered for the whole batch, so submitting never waits
			// and this goroutine is free to commit finished steps.
			jobs, finished = make(chan job, len(batch)), make(chan int, len(batch))
			for range e.CodeConcurrency {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range jobs {
						steps[j.i] = e.step(ctx, j.f, batch[j.i], j.rec, false)
						finished <- j.i
					}
				}()
			}
		}
		submitted++
		jobs <- j
	}
	for i, en := range batch {
		f := flows[i]
		if f == nil {
			steps[i] = e.failStep(&spoke.Step{Enrollment: en}, &spoke.ActionError{Type: "FLOW_UNAVAILABLE",
				Message: fmt.Sprintf("Revision %s of flow %s does not exist.", en.RevisionID, en.FlowID)}, e.Now())
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
	if jobs == nil {
		return steps, nil
	}
	close(jobs)
	ferr := e.flushFinished(ctx, steps, finished, submitted, c)
	wg.Wait()
	return steps, ferr
}

// flushFinished waits for n external steps to finish and commits those
// that have waited FlushEvery for the rest. After a failed commit it only
// waits, and returns the error.
func (e *Engine) flushFinished(ctx context.Context, steps []*spoke.Step, finished <-chan int, n int, c *committer) error {
	var ready []*spoke.Step
	var flush <-chan time.Time
	var timer *time.Timer
	var ferr error
	for got := 0; got < n; {
		select {
		case i := <-finished:
			got++
			if e.FlushEvery < 0 || ferr != nil || got == n || ctx.Err() != nil {
				continue // the round's own commit takes the rest
			}
			ready = append(ready, steps[i])
			if flush == nil {
				timer = time.NewTimer(e.FlushEvery)
				flush = timer.C
			}
		case <-flush:
			flush = nil
			if ctx.Err() == nil { // a round cut short is dropped, not committed
				ferr = c.commit(ready)
			}
			ready = nil
		}
	}
	if timer != nil {
		timer.Stop()
	}
	return ferr
}

func (e *Engine) currentAction(f *spoke.Flow, en *spoke.Enrollment) *spoke.Action {
	id := en.CurrentAction
	if id == "" {
		id = f.StartActionID
	}
	return f.ActionByID(id)
}

// loadRecords reads the enrolled records of a batch. A record missing
// from the answer is gone (deleted, archived or erased); an error means
// none of the answer can be trusted to say so.
func (e *Engine) loadRecords(ctx context.Context, batch []*spoke.Enrollment) (map[int64]*spoke.Record, error) {
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
			return nil, fmt.Errorf("load enrolled %s: %w", k.typ, err)
		}
		for _, r := range recs {
			out[r.ID] = r
		}
	}
	return out, nil
}

// afterCommit counts the committed steps' code runs against the quota,
// gives back the reservations of the steps another runner took, and
// records metrics.
func (e *Engine) afterCommit(steps []*spoke.Step, lost []int64) {
	gone := make(map[int64]bool, len(lost))
	for _, id := range lost {
		gone[id] = true
	}
	for _, st := range steps {
		if gone[st.Enrollment.ID] {
			e.quota.release(st.Enrollment.AccountID, st.CodeExecutions)
			continue
		}
		e.quota.commit(st.Enrollment.AccountID, st.CodeExecutions)
		if e.Metrics != nil {
			for _, x := range st.Executions {
				e.Metrics.observe(x)
			}
		}
	}
}

// dropRound gives up a round that is not committed: it gives back the
// quota its steps reserved and releases the lease of its enrollments, so
// they run again at once (or, if the store cannot be reached, when the
// lease ends).
func (e *Engine) dropRound(ctx context.Context, lease spoke.Lease, active []*spoke.Enrollment, steps []*spoke.Step) {
	for _, st := range steps {
		if st != nil {
			e.quota.release(st.Enrollment.AccountID, st.CodeExecutions)
		}
	}
	if err := e.Store.ReleaseLease(context.WithoutCancel(ctx), lease, ids(active)); err != nil {
		e.Logger.Error("release the leases of a dropped round", "err", err)
	}
}
