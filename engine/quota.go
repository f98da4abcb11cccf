package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// quota is the monthly custom code quota as the engine takes it. Each unit
// moves through three states, and the code that takes a unit owns it until
// it hands it on:
//
//   - reserve, before custom code is invoked;
//   - release, when the code did not run after all (a missing secret, no
//     sandbox worker, a round dropped or lost to another runner);
//   - commit, after the store committed the step that ran it, which also
//     counted it in code_usage.
//
// quotaCache keeps it in memory, for a store used by one process (SQLite);
// sharedQuota keeps reservations in a store that several processes share
// (spoke.QuotaReserver, PostgreSQL), so their sum stays within the limit.
type quota interface {
	// reserve takes one unit for the account and returns 0, or returns
	// how long to wait without taking one. A unit reserved must be
	// released or committed.
	reserve(ctx context.Context, account int64, now time.Time) (time.Duration, error)
	// release gives back n reserved units whose code did not run or was
	// not committed.
	release(account int64, n int)
	// commit turns n reserved units into used ones, after the store
	// counted them.
	commit(account int64, n int)
	// forget makes the next reserve of the account ask the store again,
	// after its limit changed.
	forget(ctx context.Context, account int64, now time.Time)
	// inFlight returns the units reserved and not settled, for tests.
	inFlight(account int64) int64
}

// quotaReload is how often an account's usage and limit are re-read.
const quotaReload = 5 * time.Second

// nextPeriod is the start of the month after t's.
func nextPeriod(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
}

// quotaWait is how long an enrollment waits when the quota is used up:
// until the month turns, re-checking every minute in case the limit is
// raised or units come back.
func quotaWait(now time.Time) time.Duration {
	return min(nextPeriod(now).Sub(now), time.Minute)
}

// quotaCache enforces the quota per account in memory: used+reserved must
// stay under the limit.
//
// used is re-read from the store every few seconds, so a raised limit
// takes effect and the count converges to what the store counted (the
// store is the truth; reservations in flight are kept across re-reads).
// The mutex is never held across a store read.
type quotaCache struct {
	store    spoke.EngineStore
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

func (q *quotaCache) reserve(ctx context.Context, account int64, now time.Time) (time.Duration, error) {
	p := spoke.Period(now)
	q.mu.Lock()
	s := q.accounts[account]
	stale := s == nil || s.period != p || now.Sub(s.loaded) > quotaReload
	q.mu.Unlock()
	if stale {
		u, err := q.store.Usage(ctx, account, p)
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
	return quotaWait(now), nil
}

func (q *quotaCache) release(account int64, n int) { q.settle(account, n, false) }

func (q *quotaCache) commit(account int64, n int) { q.settle(account, n, true) }

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

func (q *quotaCache) inFlight(account int64) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s := q.accounts[account]; s != nil {
		return s.reserved
	}
	return 0
}

// forget drops the cached usage and limit of an account; units in flight
// stay reserved.
func (q *quotaCache) forget(_ context.Context, account int64, _ time.Time) {
	q.mu.Lock()
	if s := q.accounts[account]; s != nil {
		s.loaded = time.Time{}
	}
	q.mu.Unlock()
}

// sharedQuota hands out units from blocks it reserves in the store for
// this engine (holder). A block is reserved when the last one is used up,
// sized to the units in flight, so a busy engine asks the store once per
// many runs and an idle one holds few. Units a step releases go back to the
// block; units committed leave the reservation in the commit's own
// transaction (Lease.Holder).
//
// Every few seconds keep tells the store what the engine still holds per
// account (KeepCode): the block's units, unless nobody drew from it since
// the last keep (then they go back, so an idle engine holds none another
// needs), plus the runs in flight. That renews the reservation, which
// expires a lease's length after its engine stopped keeping it (it died),
// and corrects any drift between the store and the engine. A block not
// kept for half that long is not drawn from until a keep says it still
// stands.
type sharedQuota struct {
	store  spoke.QuotaReserver
	holder int64
	ttl    time.Duration
	logger *slog.Logger

	mu       sync.Mutex
	accounts map[int64]*reservation
}

// reservation is an account's block in this engine.
type reservation struct {
	avail    int64 // reserved in the store, not handed out
	inflight int64 // handed out, neither committed nor released
	drawn    bool  // units were handed out since the last keep
	stored   bool  // the store may hold a reservation
	// valid is when the block was last confirmed by the store plus half
	// the reservation's lifetime: after it the block is not drawn from.
	valid time.Time
	// refused is when the store last had nothing left to grant: until
	// quotaRetry after it, reserve answers at once without asking.
	refused time.Time
	// busy is closed when the store call about this account (a new block,
	// a keep) ends; nil when none runs. One runs at a time, so what keep
	// tells the store is never older than a block granted meanwhile.
	busy chan struct{}
}

// Block sizes: at least minBlock units, at most maxBlock.
const (
	minBlock   = 8
	maxBlock   = 256
	quotaRetry = time.Second
)

func newSharedQuota(store spoke.QuotaReserver, holder int64, ttl time.Duration, logger *slog.Logger) *sharedQuota {
	return &sharedQuota{store: store, holder: holder, ttl: ttl, logger: logger, accounts: map[int64]*reservation{}}
}

func (q *sharedQuota) get(account int64) *reservation {
	r := q.accounts[account]
	if r == nil {
		r = &reservation{}
		q.accounts[account] = r
	}
	return r
}

// begin marks a store call about r as running; q.mu must be held.
func (r *reservation) begin() chan struct{} {
	ch := make(chan struct{})
	r.busy = ch
	return ch
}

// end marks it done; q.mu must be held.
func (r *reservation) end(ch chan struct{}) {
	r.busy = nil
	close(ch)
}

func (q *sharedQuota) reserve(ctx context.Context, account int64, now time.Time) (time.Duration, error) {
	for {
		q.mu.Lock()
		r := q.get(account)
		if ch := r.busy; ch != nil {
			// Another step asks the store about this account: wait for
			// its answer rather than ask again.
			q.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if r.avail > 0 && now.Before(r.valid) {
			r.avail--
			r.inflight++
			r.drawn = true
			q.mu.Unlock()
			return 0, nil
		}
		if r.avail > 0 {
			// Not kept for a while: ask whether the block still stands.
			ch := r.begin()
			q.mu.Unlock()
			q.keepOne(ctx, account, r, ch, now, false)
			continue
		}
		if now.Sub(r.refused) < quotaRetry {
			q.mu.Unlock()
			return quotaWait(now), nil
		}
		ch := r.begin()
		want := min(max(minBlock, r.inflight), maxBlock)
		q.mu.Unlock()

		granted, err := q.store.ReserveCode(ctx, q.holder, account, want, now, q.ttl)

		q.mu.Lock()
		r.end(ch)
		if err != nil {
			q.mu.Unlock()
			return 0, err
		}
		if granted == 0 {
			r.refused = now
			q.mu.Unlock()
			return quotaWait(now), nil
		}
		r.avail += granted
		r.stored = true
		r.valid = now.Add(q.ttl / 2)
		q.mu.Unlock()
	}
}

// release puts units back in the block: they stay reserved in the store
// for the next step, or go back at a keep.
func (q *sharedQuota) release(account int64, n int) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	r := q.get(account)
	k := min(int64(n), r.inflight)
	r.inflight -= k
	r.avail += k
	q.mu.Unlock()
}

// commit forgets units the store's commit took off the reservation.
func (q *sharedQuota) commit(account int64, n int) {
	if n == 0 {
		return
	}
	q.mu.Lock()
	r := q.get(account)
	r.inflight = max(0, r.inflight-int64(n))
	q.mu.Unlock()
}

// forget lets the next reserve ask the store at once (a raised limit
// applies at once) and gives the account's block back to the store now,
// so a lowered limit applies at once in this process too (in the others,
// within a keep).
func (q *sharedQuota) forget(ctx context.Context, account int64, now time.Time) {
	for {
		q.mu.Lock()
		r := q.accounts[account]
		if r == nil {
			q.mu.Unlock()
			return
		}
		r.refused, r.drawn = time.Time{}, false
		if ch := r.busy; ch != nil {
			// A store call about the account runs: give back what it
			// leaves.
			q.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return
			}
		}
		ch := r.begin()
		q.mu.Unlock()
		q.keepOne(ctx, account, r, ch, now, true)
		return
	}
}

func (q *sharedQuota) inFlight(account int64) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r := q.accounts[account]; r != nil {
		return r.inflight
	}
	return 0
}

// keep keeps every account's reservation (keepOne), giving back the blocks
// not drawn from since the last keep, or all of them when all is set (the
// engine stops). An account whose store call is running is kept next time.
func (q *sharedQuota) keep(ctx context.Context, now time.Time, all bool) {
	type todo struct {
		account int64
		r       *reservation
		ch      chan struct{}
		back    bool
	}
	var list []todo
	q.mu.Lock()
	for account, r := range q.accounts {
		if r.busy != nil || (!r.stored && r.avail+r.inflight == 0) {
			continue
		}
		list = append(list, todo{account, r, r.begin(), all || !r.drawn})
		r.drawn = false
	}
	q.mu.Unlock()
	for _, t := range list {
		q.keepOne(ctx, t.account, t.r, t.ch, now, t.back)
	}
}

// keepOne tells the store what the engine holds of an account, giving
// the block back first if back is set, and ends the store call ch. If the
// store says the reservation expired, the block is dropped: its units may
// be another engine's by now.
func (q *sharedQuota) keepOne(ctx context.Context, account int64, r *reservation, ch chan struct{}, now time.Time, back bool) {
	q.mu.Lock()
	if back {
		r.avail = 0
	}
	units := r.avail + r.inflight
	q.mu.Unlock()
	ok, err := q.store.KeepCode(ctx, q.holder, account, units, now, q.ttl)
	q.mu.Lock()
	defer q.mu.Unlock()
	defer r.end(ch)
	switch {
	case err != nil:
		// What the store holds is set right at the next keep.
		q.logger.Error("keep the custom code quota's reservation", "accountId", account, "err", err)
	case ok:
		r.valid, r.stored = now.Add(q.ttl/2), units > 0
	default:
		q.logger.Warn("a custom code reservation expired before it was kept; its unused units are dropped", "accountId", account)
		r.avail, r.stored = 0, false
	}
}

// keepQuota runs the shared quota's keep every few seconds (well within
// the reservations' lifetime) until ctx ends; Run gives back every block
// once the runners stopped.
func (e *Engine) keepQuota(ctx context.Context, q *sharedQuota) {
	t := time.NewTicker(min(quotaReload, e.Lease/4))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			q.keep(ctx, e.Now(), false)
		}
	}
}

// CodeLimitChanged makes the engine re-read an account's quota and wakes
// the runners. The store woke the account's quota waiters when it saved
// the limit, but a runner may have made one wait again on the old limit
// since: the waiters are woken once more after the forget, and rounds
// still running then wake theirs after their commit (committer.commit).
func (e *Engine) CodeLimitChanged(account int64) {
	e.quota.forget(context.Background(), account, e.Now())
	e.limitChanges.Add(1)
	if err := e.Store.WakeQuotaWaiters(context.Background(), account, e.Now()); err != nil {
		e.Logger.Error("wake the enrollments waiting on the quota", "accountId", account, "err", err)
	}
	e.Wake()
}

// wakeQuotaWaiters wakes the quota waiters of the accounts of the steps
// that committed a wait on the quota.
func (e *Engine) wakeQuotaWaiters(ctx context.Context, steps []*spoke.Step) {
	done := map[int64]bool{}
	for _, st := range steps {
		en := st.Enrollment
		if en.Status != spoke.EnrollmentActive || en.WaitReason != spoke.WaitQuota || done[en.AccountID] {
			continue
		}
		done[en.AccountID] = true
		if err := e.Store.WakeQuotaWaiters(context.WithoutCancel(ctx), en.AccountID, e.Now()); err != nil {
			e.Logger.Error("wake the enrollments waiting on the quota", "accountId", en.AccountID, "err", err)
		}
	}
}
