package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke"
)

func init() {
	register(
		test{"QuotaReserver", testQuotaReserver},
		test{"QuotaReserverConcurrent", testQuotaReserverConcurrent},
		test{"RateLimiter", testRateLimiter},
	)
}

// quotaReserver returns the store as a spoke.QuotaReserver, or skips the
// test for a store that leaves the quota to the engine's memory.
func quotaReserver(t *testing.T, db *DB) spoke.QuotaReserver {
	t.Helper()
	r, ok := db.Store.(spoke.QuotaReserver)
	if !ok {
		t.Skip("the store is used by one process: the engine keeps the custom code quota in memory")
	}
	return r
}

// The quota's reservations: a holder gets what the limit leaves after the
// period's count and every unexpired reservation; a commit under a holder's
// lease moves units from its reservation to the count; a keep sets a
// reservation to what its holder says it holds and renews it, unless it
// expired; units given back or expired count no more; an account without a
// limit gets what it asks.
func testQuotaReserver(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	q := quotaReserver(t, db)
	ctx := context.Background()
	const ttl = time.Minute
	now := db.Now()
	if err := db.SetCodeLimit(ctx, acct, 10); err != nil {
		t.Fatal(err)
	}
	reserve := func(holder, n int64, at time.Time, want int64) {
		t.Helper()
		got, err := q.ReserveCode(ctx, holder, acct, n, at, ttl)
		if err != nil || got != want {
			t.Fatalf("holder %d reserves %d: got %d, %v; want %d", holder, n, got, err, want)
		}
	}
	reserve(1, 8, now, 8)
	reserve(2, 8, now, 2)
	reserve(2, 8, now, 0)

	// Holder 1 runs three: the commit counts them and takes them off its
	// reservation, so the sum is still the limit.
	rec := create(t, db, acct, "contacts", props("email", "quota@example.com"))
	f := &spoke.Flow{ID: "77", RevisionID: "1"}
	if _, err := db.Enroll(ctx, acct, f, "contacts", []int64{rec.ID}, false); err != nil {
		t.Fatal(err)
	}
	lease := spoke.Lease{Token: 42, Until: now.Add(time.Hour), Holder: 1}
	got, err := db.Claim(ctx, now.Add(time.Hour), 1, lease)
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	en := got[0]
	en.Status, en.CompletedAt = spoke.EnrollmentCompleted, now
	if _, err := db.Commit(ctx, lease, []*spoke.Step{{Enrollment: en, Record: rec, CodeExecutions: 3}}); err != nil {
		t.Fatal(err)
	}
	if u, err := db.Usage(ctx, acct, spoke.Period(db.Now())); err != nil || u.Executions != 3 {
		t.Fatalf("usage after the commit = %+v, %v", u, err)
	}
	reserve(3, 1, now, 0)
	keep := func(holder, units int64, at time.Time, want bool) {
		t.Helper()
		if ok, err := q.KeepCode(ctx, holder, acct, units, at, ttl); err != nil || ok != want {
			t.Fatalf("holder %d keeps %d: %v, %v; want %v", holder, units, ok, err, want)
		}
	}
	// Holder 1 keeps one unit (a run in flight) and gives back four:
	// another holder gets them.
	keep(1, 1, now, true)
	reserve(3, 8, now, 4)
	// Kept reservations outlive their first expiry; the others end.
	later := now.Add(ttl / 2)
	keep(3, 4, later, true)
	past := now.Add(ttl + time.Second)
	keep(2, 2, past, false) // holder 2 learns its reservation expired
	reserve(4, 8, past, 3)  // holder 3's four still count
	keep(4, 1, past, true)  // holder 4 holds one after all
	reserve(5, 8, past, 2)
	end := later.Add(ttl + time.Second)
	reserve(6, 8, end, 4) // holder 3's ended too
	keep(6, 0, end, true) // and holder 6 gives its four back
	reserve(7, 8, end, 4)
	// Everything expired: the limit less the count is left.
	reserve(8, 100, now.Add(10*ttl), 7)

	if err := db.SetCodeLimit(ctx, acct, -1); err != nil {
		t.Fatal(err)
	}
	reserve(9, 1000, now, 1000)
}

// Holders reserving at once, one unit at a time, are granted exactly the
// limit between them: the check and the reservation are one step.
func testQuotaReserverConcurrent(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	q := quotaReserver(t, db)
	ctx := context.Background()
	const limit = 25
	if err := db.SetCodeLimit(ctx, acct, limit); err != nil {
		t.Fatal(err)
	}
	now := db.Now()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for h := range 4 {
		wg.Go(func() {
			for range 12 {
				n, err := q.ReserveCode(ctx, int64(h+1), acct, 1, now, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				granted.Add(n)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != limit {
		t.Fatalf("granted %d units in all, want the limit %d", got, limit)
	}
}

// An action's rate limit is a fixed window: limit takes in it, then the
// wait until the next window; takes at once never pass the limit.
func testRateLimiter(t *testing.T, open Opener) {
	db, acct := setup(t, open)
	r, ok := db.Store.(spoke.RateLimiter)
	if !ok {
		t.Skip("the store is used by one process: the engine keeps rate-limit windows in memory")
	}
	ctx := context.Background()
	start := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	take := func(action string, at time.Time, want time.Duration) {
		t.Helper()
		got, err := r.TakeRate(ctx, acct, "77", action, 2, time.Minute, at)
		if err != nil || got != want {
			t.Fatalf("take %s at %s = %v, %v; want %v", action, at.Format(time.TimeOnly), got, err, want)
		}
	}
	take("1", start.Add(10*time.Second), 0)
	take("1", start.Add(20*time.Second), 0)
	take("1", start.Add(45*time.Second), 15*time.Second)
	take("2", start.Add(45*time.Second), 0) // another action counts apart
	take("1", start.Add(time.Minute), 0)    // the next window
	take("1", start.Add(61*time.Second), 0)
	take("1", start.Add(62*time.Second), 58*time.Second)
	// A take stamped in the previous window (a process whose clock is
	// behind) is counted in the current one, not restarting it.
	take("1", start.Add(59*time.Second), time.Second)

	var taken atomic.Int64
	var wg sync.WaitGroup
	at := start.Add(time.Hour)
	for range 20 {
		wg.Go(func() {
			wait, err := r.TakeRate(ctx, acct, "77", "3", 5, time.Minute, at)
			if err != nil {
				t.Error(err)
			}
			if wait == 0 {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if taken.Load() != 5 {
		t.Fatalf("concurrent takes: %d got through, want 5", taken.Load())
	}
}
