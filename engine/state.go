package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// flowCache keeps flow revisions (immutable, so cached forever) and, per
// account and object type, the enabled flows with LIST_BASED criteria that
// triggers evaluate.
type flowCache struct {
	engine *Engine

	mu        sync.RWMutex
	revisions map[string]*spoke.Flow
	triggers  map[triggerKey][]*spoke.Flow
	// deleted says, per account/flow, whether the flow was deleted. gen
	// counts FlowsChanged calls, so a load (of triggers or deleted) that
	// raced with one is not kept.
	deleted map[string]bool
	gen     uint64
}

type triggerKey struct {
	account int64
	typ     string
}

func (c *flowCache) revision(ctx context.Context, account int64, flowID, revision string) (*spoke.Flow, error) {
	key := fmt.Sprintf("%d/%s/%s", account, flowID, revision)
	c.mu.RLock()
	f, ok := c.revisions[key]
	c.mu.RUnlock()
	if ok {
		return f, nil
	}
	f, err := c.engine.Flows.GetFlowRevision(ctx, account, flowID, revision)
	if err != nil {
		return nil, fmt.Errorf("load flow %s revision %s: %w", flowID, revision, err)
	}
	c.mu.Lock()
	if c.revisions == nil {
		c.revisions = map[string]*spoke.Flow{}
	}
	c.revisions[key] = f
	c.mu.Unlock()
	return f, nil
}

// isDeleted reports whether a flow was deleted (its revisions can still be
// read, but its enrollments must stop).
func (c *flowCache) isDeleted(ctx context.Context, account int64, flowID string) (bool, error) {
	key := fmt.Sprintf("%d/%s", account, flowID)
	c.mu.RLock()
	gone, ok := c.deleted[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return gone, nil
	}
	_, err := c.engine.Flows.GetFlow(ctx, account, flowID)
	switch {
	case err == nil:
	case spoke.ErrorCode(err) == spoke.ENOTFOUND:
		gone = true
	default:
		return false, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.deleted == nil {
			c.deleted = map[string]bool{}
		}
		c.deleted[key] = gone
	}
	c.mu.Unlock()
	return gone, nil
}

// listBased returns the enabled LIST_BASED flows of an object type, and
// the EVENT_BASED ones with an event Spoke raises.
func (c *flowCache) listBased(ctx context.Context, account int64, objectType string) ([]*spoke.Flow, error) {
	k := triggerKey{account, objectType}
	c.mu.RLock()
	flows, ok := c.triggers[k]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return flows, nil
	}
	all, err := c.engine.Flows.EnabledFlows(ctx, account, objectType)
	if err != nil {
		return nil, err
	}
	flows = flows[:0]
	for _, f := range all {
		if f.EnrollmentCriteria != nil && f.EnrollmentCriteria.Type == spoke.EnrollListBased && f.EnrollmentCriteria.ListFilterBranch != nil {
			flows = append(flows, f)
		}
		if f.EnrollmentCriteria != nil && f.EnrollmentCriteria.Type == spoke.EnrollEvent && raisesEvents(f.EnrollmentCriteria) {
			flows = append(flows, f)
		}
	}
	c.mu.Lock()
	if c.gen == gen { // no flow changed while loading: the list is current
		if c.triggers == nil {
			c.triggers = map[triggerKey][]*spoke.Flow{}
		}
		c.triggers[k] = flows
	}
	c.mu.Unlock()
	return flows, nil
}

// FlowsChanged drops the cached trigger lists; call it after a flow is
// created, replaced or deleted.
func (e *Engine) FlowsChanged() {
	e.cache.mu.Lock()
	e.cache.triggers, e.cache.deleted = nil, nil
	e.cache.gen++
	e.cache.mu.Unlock()
}

// limiter applies actions' configured rate limits: a fixed window of
// Executions per unit, in memory.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	start time.Time
	used  int
}

// take uses one execution of the limit at now, or returns how long to wait
// for the next window.
func (l *limiter) take(key string, rl spoke.RateLimit, now time.Time) time.Duration {
	units := map[string]time.Duration{"SECOND": time.Second, "SECONDS": time.Second, "MINUTE": time.Minute, "MINUTES": time.Minute, "HOUR": time.Hour, "HOURS": time.Hour}
	window, ok := units[rl.Per]
	if !ok || rl.Executions <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || now.Sub(b.start) >= window {
		b = &bucket{start: now.Truncate(window)}
		l.buckets[key] = b
	}
	if b.used < rl.Executions {
		b.used++
		return 0
	}
	return b.start.Add(window).Sub(now)
}

// quotaCache enforces the monthly custom code quota per account in memory.
// Each unit moves through three states, and the code that takes a unit
// owns it until it hands it on:
//
//   - reserve, before custom code is invoked: used+reserved must stay
//     under the limit;
//   - release, when the code did not run after all (a missing secret, no
//     sandbox worker, a round dropped or lost to another runner);
//   - commit, after the store committed the step that ran it, which also
//     counted it in code_usage.
//
// used is re-read from the store every few seconds, so a raised limit
// takes effect and the count converges to what the store counted (the
// store is the truth; reservations in flight are kept across re-reads).
// The mutex is never held across a store read.
type quotaCache struct {
	mu       sync.Mutex
	accounts map[int64]*quotaState
}

type quotaState struct {
	period   string
	used     int64 // committed this period, as the store counts them
	reserved int64 // reserved by steps in flight
	limit    int64
	loaded   time.Time
}

// quotaReload is how often an account's usage and limit are re-read.
const quotaReload = 5 * time.Second

// nextPeriod is the start of the month after t's.
func nextPeriod(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
}

// reserve takes one unit for the account and returns 0, or returns how
// long to wait without taking one: until the month turns, re-checking
// every minute in case the limit is raised. A unit reserved must be
// released or committed.
func (q *quotaCache) reserve(ctx context.Context, store spoke.EngineStore, account int64, now time.Time) (time.Duration, error) {
	p := spoke.Period(now)
	q.mu.Lock()
	s := q.accounts[account]
	stale := s == nil || s.period != p || now.Sub(s.loaded) > quotaReload
	q.mu.Unlock()
	if stale {
		u, err := store.Usage(ctx, account, p)
		if err != nil {
			return 0, err
		}
		q.mu.Lock()
		if q.accounts == nil {
			q.accounts = map[int64]*quotaState{}
		}
		s = q.accounts[account]
		if s == nil {
			s = &quotaState{}
			q.accounts[account] = s
		}
		// Units in flight stay reserved when the month turns: their
		// commit counts them in the month it happens in.
		s.period, s.used, s.limit, s.loaded = p, u.Executions, u.Limit, now
		q.mu.Unlock()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s = q.accounts[account]
	if s == nil || s.period != p {
		return time.Second, nil // a later month's reload won the race: check again soon
	}
	if s.limit < 0 || s.used+s.reserved < s.limit {
		s.reserved++
		return 0, nil
	}
	wait := nextPeriod(now).Sub(now)
	if wait > time.Minute {
		wait = time.Minute
	}
	return wait, nil
}

// release gives back n reserved units whose code did not run or was not
// committed.
func (q *quotaCache) release(account int64, n int) {
	q.settle(account, n, false)
}

// commit turns n reserved units into used ones, after the store counted
// them.
func (q *quotaCache) commit(account int64, n int) {
	q.settle(account, n, true)
}

func (q *quotaCache) settle(account int64, n int, used bool) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.accounts[account]
	if s == nil {
		return
	}
	s.reserved = max(0, s.reserved-int64(n))
	if used {
		s.used += int64(n)
	}
}

// inFlight returns the units reserved for an account, for tests.
func (q *quotaCache) inFlight(account int64) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s := q.accounts[account]; s != nil {
		return s.reserved
	}
	return 0
}

// forget drops the cached usage and limit of an account, after its limit
// changed; units in flight stay reserved.
func (q *quotaCache) forget(account int64) {
	q.mu.Lock()
	if s := q.accounts[account]; s != nil {
		s.loaded = time.Time{}
	}
	q.mu.Unlock()
}

// CodeLimitChanged makes the engine re-read an account's quota and wakes
// the runners.
func (e *Engine) CodeLimitChanged(account int64) {
	e.quota.forget(account)
	e.Wake()
}

// raisesEvents reports whether EVENT_BASED criteria have a branch of an
// event Spoke raises.
func raisesEvents(ec *spoke.EnrollmentCriteria) bool {
	for _, b := range ec.EventFilterBranches {
		if flow.RaisedEvent(b.EventTypeID) {
			return true
		}
	}
	return false
}
