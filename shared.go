package spoke

import (
	"context"
	"time"
)

// The interfaces below are implemented by stores that several processes
// share (PostgreSQL): the engine keeps the custom code quota and actions'
// rate limits in the store when it implements them, and in memory when it
// does not (SQLite, one process).

// QuotaReserver keeps the custom code quota's reservations in the store,
// so that engines in different processes together never run more custom
// code in a month than the account's limit.
//
// An engine (a holder, named by Lease.Holder) reserves units in blocks
// before it runs custom code. A block is granted only while the period's
// count plus every unexpired reservation of the account, the new one
// included, stays within the limit. Commit, in the transaction that counts
// a step's code runs in the period's usage, takes the same number of units
// off the committing lease's holder's reservation, so the sum never counts
// a run twice. A reservation its holder no longer keeps (the process died)
// stops counting when it expires.
type QuotaReserver interface {
	// ReserveCode reserves up to n more units of the account's quota for
	// holder, valid until now+ttl, and returns how many it reserved: fewer
	// than n, down to 0, when the limit leaves fewer. An account without a
	// limit gets all n.
	ReserveCode(ctx context.Context, holder, account int64, n int64, now time.Time, ttl time.Duration) (int64, error)
	// KeepCode sets holder's reservation of the account to units (what it
	// still holds: units not handed out plus runs not committed; 0 ends
	// it), valid until now+ttl, and reports true; or reports false, and
	// changes nothing, when the reservation had expired before now, so its
	// units may have gone to another holder since.
	KeepCode(ctx context.Context, holder, account int64, units int64, now time.Time, ttl time.Duration) (bool, error)
}

// RateLimiter keeps actions' rate-limit windows in the store, so that an
// action's limit holds across every process that runs it.
type RateLimiter interface {
	// TakeRate uses one of the limit executions an action may run in the
	// fixed window of length window that holds now, and returns 0; or, when
	// the window's executions are used up, returns how long until the next
	// window, without using one.
	TakeRate(ctx context.Context, account int64, flowID, actionID string, limit int, window time.Duration, now time.Time) (time.Duration, error)
}

// OwnerRotator keeps rotate-to-owner actions' turns in the store, so that
// engines in different processes go round an action's owners together,
// each owner in turn, instead of each engine going round on its own.
type OwnerRotator interface {
	// TakeTurn counts one turn of the flow's action and returns its number:
	// 0 for the first turn, then 1, 2, and so on.
	TakeTurn(ctx context.Context, account int64, flowID, actionID string) (int64, error)
}
