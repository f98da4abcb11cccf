package engine

import (
	"context"
	"sync"
	"time"

	"github.com/spokehq/spoke"
)

// rateWindow returns the window of an action's rate limit, and false for a
// limit that limits nothing (an unknown unit, no executions).
func rateWindow(rl spoke.RateLimit) (time.Duration, bool) {
	var window time.Duration
	switch rl.Per {
	case "SECOND", "SECONDS":
		window = time.Second
	case "MINUTE", "MINUTES":
		window = time.Minute
	case "HOUR", "HOURS":
		window = time.Hour
	default:
		return 0, false
	}
	return window, rl.Executions > 0
}

// takeRate uses one execution of an action's rate limit at now, or returns
// how long to wait for the next window. A store shared by several
// processes keeps the windows (spoke.RateLimiter); otherwise the engine
// counts them in memory.
func (e *Engine) takeRate(ctx context.Context, f *spoke.Flow, act *spoke.Action, account int64, now time.Time) (time.Duration, error) {
	window, ok := rateWindow(*act.RateLimit)
	if !ok {
		return 0, nil
	}
	if e.rates != nil {
		return e.rates.TakeRate(ctx, account, f.ID, act.ActionID, act.RateLimit.Executions, window, now)
	}
	return e.limiter.take(f.ID+"/"+act.ActionID, act.RateLimit.Executions, window, now), nil
}

// limiter applies actions' configured rate limits in memory: a fixed
// window of Executions per unit.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	start time.Time
	used  int
}

// take uses one of limit executions in the window holding now, or returns
// how long to wait for the next window.
func (l *limiter) take(key string, limit int, window time.Duration, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || now.Sub(b.start) >= window {
		b = &bucket{start: now.Truncate(window)}
		l.buckets[key] = b
	}
	if b.used < limit {
		b.used++
		return 0
	}
	return b.start.Add(window).Sub(now)
}
