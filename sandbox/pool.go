package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spokehq/spoke/sandbox/egress"
)

// ErrClosed is returned by [Pool.Invoke] after [Pool.Close].
var ErrClosed = errors.New("sandbox: pool closed")

// ErrUnavailable is wrapped by Invoke's error when no worker could be
// started for the invocation: the server's trouble, not the code's, and
// worth trying again later.
var ErrUnavailable = errors.New("sandbox: no worker could start")

// Stats is a snapshot of a pool's workers.
type Stats struct {
	// Workers is the number of worker processes (busy, warm and spare).
	Workers int
	// Idle is the number of warm workers bound to a version and not busy.
	Idle int
	// Spares is the number of started, unbound workers.
	Spares int
	// Started counts workers started since the pool was created.
	Started int64
	// Retired counts warm workers retired because a process or thread the
	// code started outlived its invocation (after the pool killed every
	// process but the interpreter, something was still running). serve
	// exports it as spoke_sandbox_workers_retired_total.
	Retired int64
	// Reaped counts the processes the pool killed after invocations
	// because the code left them running (detached children, daemons).
	Reaped int64
	// SandboxUID is the first host user ID of the range sandboxed code
	// runs under, one ID per worker (0: root, without capabilities; see
	// Config.SandboxUIDBase), and SandboxUIDCount the range's size.
	SandboxUID      int
	SandboxUIDCount int
}

// Pool runs invocations in sandboxed, warm worker processes. It is safe for
// concurrent use.
//
// Locking. mu is the pool's only mutex. It guards closed, total, memUsed,
// idle, busy, spares, starting, changed, waiters and versions; stop is closed
// under it, once, by Close. The fields above mu are set by NewPool and only
// read afterwards (workerSeq, retired and reaped are atomic). Methods named ...Locked expect mu to
// be held. inflight.Add and bg.Add are called under mu after checking closed
// (or in NewPool, before the pool is shared), so that Close, which sets
// closed under mu before it waits, never waits while one is being added.
//
// total and memUsed count every worker from the moment its start is decided
// (under mu, before startWorker) until it is stopped: starting, spare, idle
// and held alike. A worker in idle or spares belongs to the pool and is
// touched only under mu. Any other worker is held by one goroutine (its
// starter, the Invoke using it, or whoever took it out to stop it), which
// alone uses it without a lock: its binding (key, bound, secrets), nextID,
// and lastUsed, which release sets before it puts the worker back in idle
// under mu, where janitor and evictLocked read it. An Invoke's worker is
// also listed in busy, only so that Close can kill it. A handoff channel
// stays in waiters until release takes it out to hand it a worker, or its
// waiter takes it out on leaving, both under mu; so it receives at most one
// worker and the send (made after unlocking) never blocks.
//
// Lock order: no other lock is taken while mu is held, and mu is not taken
// while another is held (the workers' denyMu and tail locks, the user ID
// allocator's, and egress's, are leaves). Under mu the pool only does bookkeeping: maps and counters,
// notifyLocked, WaitGroup.Add, starting goroutines. It never starts, kills,
// cleans up or waits for a worker, sends to or waits on a channel, or writes
// a file or the log while holding mu: those happen after unlocking, or in a
// goroutine started under it.
type Pool struct {
	cfg         Config
	log         *slog.Logger
	dir         string
	bwrap       string
	nodeModules string
	setpriv     string        // setpriv, which drops to a worker's user; "" for root
	uids        *uidAllocator // the workers' user IDs; nil for root
	proxy       *egress.Proxy
	cgroups     *cgroups
	workerSeq   atomic.Int64
	retired     atomic.Int64
	reaped      atomic.Int64

	mu       sync.Mutex
	closed   bool
	total    int // workers counted against MaxWorkers
	memUsed  int // MiB counted against MaxMemoryMB
	idle     map[string][]*worker
	busy     map[*worker]struct{}
	inflight sync.WaitGroup // Invoke calls; Close waits for them
	spares   map[*runtimeSpec][]*worker
	starting map[*runtimeSpec]int
	changed  chan struct{} // closed and replaced whenever capacity frees up
	// waiters are the invocations waiting for a worker, in line by
	// binding key; release hands a worker to the first of its line.
	waiters  map[string][]chan *worker
	bg       sync.WaitGroup
	stop     chan struct{}
	versions map[*runtimeSpec]string
}

// Close stops every worker and the egress proxy and removes the runtime
// directory. Invocations in flight return [ErrClosed]. It is safe to call
// more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	var all []*worker
	for _, ws := range p.idle {
		all = append(all, ws...)
	}
	for _, ws := range p.spares {
		all = append(all, ws...)
	}
	p.idle = map[string][]*worker{}
	p.spares = map[*runtimeSpec][]*worker{}
	var busy []*worker
	for w := range p.busy {
		busy = append(busy, w)
	}
	p.notifyLocked()
	p.mu.Unlock()
	for _, w := range busy {
		w.kill() // its Invoke returns ErrClosed and discards it
	}
	for _, w := range all {
		w.kill()
	}
	for _, w := range all {
		w.cleanup()
	}
	p.inflight.Wait()
	p.bg.Wait()
	if p.cgroups != nil {
		p.cgroups.close()
	}
	return os.RemoveAll(p.dir)
}

// Stats returns a snapshot of the pool's workers.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Workers: p.total, Started: p.workerSeq.Load(), Retired: p.retired.Load(), Reaped: p.reaped.Load()}
	if p.uids != nil {
		s.SandboxUID, s.SandboxUIDCount = p.uids.base, p.uids.count
	}
	for _, ws := range p.idle {
		s.Idle += len(ws)
	}
	for _, ws := range p.spares {
		s.Spares += len(ws)
	}
	return s
}

func (p *Pool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// refillLocked starts spare workers for spec in the background until there
// are SpareWorkers of them.
func (p *Pool) refillLocked(spec *runtimeSpec) {
	if p.closed || p.cfg.SpareWorkers < 0 || !p.keepsSpares(spec) {
		return
	}
	mem := p.cfg.DefaultMemoryMB
	for len(p.spares[spec])+p.starting[spec] < p.cfg.SpareWorkers {
		if p.total >= p.cfg.MaxWorkers || p.memUsed+mem > p.cfg.MaxMemoryMB {
			return
		}
		p.total++
		p.memUsed += mem
		p.starting[spec]++
		p.bg.Add(1)
		go func() {
			defer p.bg.Done()
			w, err := p.startWorker(spec, mem, true)
			p.mu.Lock()
			p.starting[spec]--
			if err != nil {
				p.total--
				p.memUsed -= mem
				p.notifyLocked()
				p.mu.Unlock()
				// Logged after unlocking: the log is I/O (see Pool).
				p.log.Error("sandbox: start spare worker", "runtime", spec.name, "err", err)
				return
			}
			p.versions[spec] = w.version
			if p.closed {
				p.total--
				p.memUsed -= mem
				p.mu.Unlock()
				go func() { w.kill(); w.cleanup() }()
				return
			}
			p.spares[spec] = append(p.spares[spec], w)
			p.notifyLocked()
			p.mu.Unlock()
		}()
	}
}

func (p *Pool) keepsSpares(spec *runtimeSpec) bool {
	for _, n := range p.cfg.SpareRuntimes {
		if s, err := specFor(n); err == nil && s == spec {
			return true
		}
	}
	return false
}

// janitor stops workers that have been idle longer than IdleTimeout.
func (p *Pool) janitor() {
	defer p.bg.Done()
	every := min(max(p.cfg.IdleTimeout/4, time.Second), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			var old []*worker
			p.mu.Lock()
			for k, ws := range p.idle {
				keep := ws[:0]
				for _, w := range ws {
					if now.Sub(w.lastUsed) > p.cfg.IdleTimeout {
						old = append(old, w)
						p.total--
						p.memUsed -= w.memMB
					} else {
						keep = append(keep, w)
					}
				}
				if len(keep) == 0 {
					delete(p.idle, k)
				} else {
					p.idle[k] = keep
				}
			}
			if len(old) > 0 {
				p.notifyLocked()
			}
			p.mu.Unlock()
			for _, w := range old {
				w.kill()
				w.cleanup()
			}
		}
	}
}

// bindingKey identifies what a warm worker is bound to.
func bindingKey(spec *runtimeSpec, inv *Invocation, memMB int) string {
	h := sha256.New()
	w := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	w(spec.name)
	w(inv.Version)
	w(inv.Code)
	w(inv.AccountID)
	w(strconv.Itoa(memMB))
	w(strconv.Itoa(len(inv.Secrets)))
	names := make([]string, 0, len(inv.Secrets))
	for k := range inv.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		w(k)
		w(inv.Secrets[k])
	}
	w(strconv.FormatBool(inv.DryRun))
	w(strconv.Itoa(len(inv.EgressAllowlist)))
	allow := append([]string(nil), inv.EgressAllowlist...)
	sort.Strings(allow)
	for _, a := range allow {
		w(a)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// acquire returns a worker for key: a warm one bound to key, else a spare,
// else a newly started one, waiting for capacity when the pool is full.
func (p *Pool) acquire(ctx context.Context, spec *runtimeSpec, key string, memMB int) (*worker, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if ws := p.idle[key]; len(ws) > 0 {
			w := ws[len(ws)-1]
			if len(ws) == 1 {
				delete(p.idle, key)
			} else {
				p.idle[key] = ws[:len(ws)-1]
			}
			p.mu.Unlock()
			if w.alive() {
				return w, nil
			}
			p.discard(w)
			continue
		}
		if memMB == p.cfg.DefaultMemoryMB {
			if ws := p.spares[spec]; len(ws) > 0 {
				w := ws[len(ws)-1]
				p.spares[spec] = ws[:len(ws)-1]
				// The replacement starts once this invocation is done
				// (see Invoke), so that it does not compete for the CPU.
				p.mu.Unlock()
				if w.alive() {
					return w, nil
				}
				p.discard(w)
				continue
			}
		}
		if p.total < p.cfg.MaxWorkers && p.memUsed+memMB <= p.cfg.MaxMemoryMB {
			p.total++
			p.memUsed += memMB
			p.mu.Unlock()
			w, err := p.startWorker(spec, memMB, false)
			if err != nil {
				p.mu.Lock()
				p.total--
				p.memUsed -= memMB
				p.notifyLocked()
				p.mu.Unlock()
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			p.mu.Lock()
			p.versions[spec] = w.version
			p.mu.Unlock()
			return w, nil
		}
		// Full: evict the least recently used idle worker of another
		// binding, or a spare of another runtime, and try again.
		if victim := p.evictLocked(); victim != nil {
			p.bg.Add(1) // under the lock: Close cannot be waiting yet
			p.mu.Unlock()
			victim.kill()
			go func() {
				defer p.bg.Done()
				victim.cleanup()
			}()
			continue
		}
		// Wait in line for a worker of this binding, which release hands
		// over directly, or for capacity to change (a worker of another
		// binding idles and may be evicted, or one exits). Handing over
		// spares waking every waiter on every release.
		ch := p.changed
		handoff := make(chan *worker, 1)
		p.waiters[key] = append(p.waiters[key], handoff)
		p.mu.Unlock()
		var w *worker
		select {
		case w = <-handoff:
		case <-ch:
		case <-ctx.Done():
		}
		if w == nil {
			p.mu.Lock()
			p.removeWaiterLocked(key, handoff)
			p.mu.Unlock()
			select {
			case w = <-handoff: // handed over just before leaving the line
			default:
			}
		}
		if w != nil && ctx.Err() != nil {
			p.release(w, true)
			w = nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sandbox: waiting for a worker: %w", ctx.Err())
		}
		if w != nil {
			if w.alive() {
				return w, nil
			}
			p.discard(w)
		}
	}
}

// evictLocked removes and returns the least recently used idle worker, or
// a spare, or nil.
func (p *Pool) evictLocked() *worker {
	var victim *worker
	var vk string
	for k, ws := range p.idle {
		for _, w := range ws {
			if victim == nil || w.lastUsed.Before(victim.lastUsed) {
				victim, vk = w, k
			}
		}
	}
	if victim != nil {
		ws := p.idle[vk]
		for i, w := range ws {
			if w == victim {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(p.idle, vk)
		} else {
			p.idle[vk] = ws
		}
	} else {
		for spec, ws := range p.spares {
			if len(ws) > 0 {
				victim = ws[len(ws)-1]
				p.spares[spec] = ws[:len(ws)-1]
				break
			}
		}
	}
	if victim != nil {
		p.total--
		p.memUsed -= victim.memMB
	}
	return victim
}

// release hands a healthy worker to the first invocation waiting for its
// binding, or returns it to the warm set; it discards an unhealthy one.
func (p *Pool) release(w *worker, healthy bool) {
	if !healthy || !w.alive() {
		p.discard(w)
		return
	}
	w.lastUsed = time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.discard(w)
		return
	}
	if line := p.waiters[w.key]; len(line) > 0 {
		next := line[0]
		p.removeWaiterLocked(w.key, next)
		p.mu.Unlock()
		next <- w // never blocks: a waiter is handed at most one worker
		return
	}
	p.idle[w.key] = append(p.idle[w.key], w)
	p.notifyLocked()
	p.mu.Unlock()
}

// removeWaiterLocked takes a waiter out of its binding's line.
func (p *Pool) removeWaiterLocked(key string, handoff chan *worker) {
	line := p.waiters[key]
	for i, c := range line {
		if c == handoff {
			line = append(line[:i], line[i+1:]...)
			break
		}
	}
	if len(line) == 0 {
		delete(p.waiters, key)
	} else {
		p.waiters[key] = line
	}
}

// discard stops a worker that is no longer counted as busy or idle.
func (p *Pool) discard(w *worker) {
	w.kill()
	p.mu.Lock()
	p.total--
	p.memUsed -= w.memMB
	p.notifyLocked()
	closed := p.closed
	if !closed {
		p.bg.Add(1) // under the lock: Close cannot be waiting yet
	}
	p.mu.Unlock()
	if closed {
		w.cleanup()
		return
	}
	go func() {
		defer p.bg.Done()
		w.cleanup()
	}()
}

// Invoke runs inv in a sandboxed worker and returns its result. Failures of
// the code itself (errors, timeouts, limits, crashes) are reported in the
// Result with Status ERROR and a classified Error, never as a Go error. Invoke
// returns a Go error only when the invocation is malformed (unknown runtime,
// secrets over 1000 characters), when the pool is closed ([ErrClosed]), when
// ctx ends before a worker is available or while the code runs, or when a
// worker cannot be started (for example bubblewrap fails).
func (p *Pool) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	start := time.Now()
	spec, err := specFor(inv.Runtime)
	if err != nil {
		return Result{}, err
	}
	total := 0
	for k, v := range inv.Secrets {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return Result{}, fmt.Errorf("sandbox: bad secret name %q", k)
		}
		total += utf8.RuneCountInString(v)
	}
	if total > MaxSecretsLen {
		return Result{}, fmt.Errorf("sandbox: secret values total %d characters, more than %d", total, MaxSecretsLen)
	}
	timeout := inv.Timeout
	if timeout <= 0 {
		timeout = p.cfg.DefaultTimeout
	}
	memMB := inv.MemoryMB
	if memMB <= 0 {
		memMB = p.cfg.DefaultMemoryMB
	}
	if memMB > p.cfg.MaxMemoryMB {
		return Result{}, fmt.Errorf("sandbox: memory limit %d MB is over the pool's %d MB", memMB, p.cfg.MaxMemoryMB)
	}
	key := bindingKey(spec, &inv, memMB)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Result{}, ErrClosed
	}
	p.inflight.Add(1) // under the lock: Close cannot be waiting yet
	p.mu.Unlock()
	defer p.inflight.Done()
	w, err := p.acquire(ctx, spec, key, memMB)
	if err != nil {
		return Result{}, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.discard(w)
		return Result{}, ErrClosed
	}
	p.busy[w] = struct{}{}
	p.mu.Unlock()
	res, healthy, err := p.run(ctx, w, spec, key, &inv, timeout, start)
	p.mu.Lock()
	delete(p.busy, w)
	closed := p.closed
	p.mu.Unlock()
	if closed && err == nil && res.Status == StatusError && res.Error != nil && res.Error.Type == ErrRuntimeCrash {
		err = ErrClosed
	}
	if healthy && err == nil {
		// Nothing the code started may outlive its invocation: kill
		// what it left, and retire the worker if something survives or
		// the bootstrap saw a thread of the code's still running.
		killed, left := w.reap()
		p.reaped.Add(int64(killed))
		if left || w.leftover {
			p.retired.Add(1)
			healthy = false
			p.log.Warn("sandbox: worker retired: something the code started outlived its invocation", "runtime", spec.name, "processes", left, "threads", w.leftover)
		}
	}
	p.release(w, healthy && err == nil)
	p.mu.Lock()
	p.refillLocked(spec)
	p.mu.Unlock()
	return res, err
}
