package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// Config configures a [Pool]. Zero fields take the documented defaults.
type Config struct {
	// APIURL is Spoke's own API as the sandbox should reach it, for example
	// "http://127.0.0.1:8080". Inside the sandbox, @hubspot/api-client
	// uses it as its default basePath, Python code finds it in
	// SPOKE_API_URL, and the egress proxy always allows its host:port.
	APIURL string
	// ReadOnlyAPIURL serves Spoke's API refusing writes; dry-run
	// invocations reach it in place of APIURL. It must be a loopback
	// host:port URL such as "http://127.0.0.1:39211".
	ReadOnlyAPIURL string
	// AllowHosts lists host:port pairs the egress proxy allows even though
	// they resolve to loopback, private or other refused addresses.
	AllowHosts []string
	// Resolver resolves names for the egress proxy; nil means the system
	// resolver.
	Resolver *net.Resolver
	// MaxWorkers bounds the number of sandboxed processes, warm, spare and
	// busy together. Default: 4 per CPU, at least 4.
	MaxWorkers int
	// MaxMemoryMB bounds the sum of the memory limits of all workers.
	// Default: 4096.
	MaxMemoryMB int
	// SpareWorkers is how many unbound workers per runtime are kept started,
	// so that the first invocation of a new version does not pay for an
	// interpreter start. Default: 1; negative means none.
	SpareWorkers int
	// SpareRuntimes lists the runtimes spares are kept for. Default: both.
	SpareRuntimes []string
	// IdleTimeout is how long a warm worker may sit unused before it is
	// stopped. Default: 5 minutes.
	IdleTimeout time.Duration
	// DefaultTimeout is the wall-clock limit of an invocation that sets
	// none. Default: 20 seconds.
	DefaultTimeout time.Duration
	// DefaultMemoryMB is the memory limit of an invocation that sets none.
	// Default: 128.
	DefaultMemoryMB int
	// PidsLimit bounds the processes and threads of one sandbox.
	// Default: 128.
	PidsLimit int
	// TmpSizeMB is the size of each sandbox's private /tmp. Default: 32.
	TmpSizeMB int
	// StartTimeout bounds a worker's start. Default: 10 seconds.
	StartTimeout time.Duration
	// NodeModules is the directory of the Node libraries HubSpot
	// preinstalls (sandbox/node/node_modules after scripts/setup-sandbox.sh).
	// Default: $SPOKE_SANDBOX_NODE_MODULES, else sandbox/node/node_modules
	// found from the working directory or the executable upwards.
	NodeModules string
	// NodePreload lists libraries spare Node workers load before they are
	// bound, so that code using them starts fast. Default:
	// @hubspot/api-client and axios. Use []string{} for none.
	NodePreload []string
	// PythonPreload is the same for Python. Default: requests.
	PythonPreload []string
	// Bwrap is the bubblewrap binary. Default: bwrap on PATH.
	Bwrap string
	// SandboxUID is the host user ID the sandboxed code runs as. Default
	// (zero): 65534 (nobody), when setpriv is installed and the Node
	// libraries' directory is reachable by other users; otherwise, and when
	// negative, the code runs as the host's root user inside its user
	// namespace (still with no capabilities, a seccomp filter and /proc/sys
	// hidden). A warning is logged when the default cannot be honoured.
	SandboxUID int
	// NoCgroups turns off the per-worker cgroup v1 memory and pids limits
	// even where they are available; memory is then limited by RSS polling,
	// Node's heap limit and Python's address-space limit, and the number of
	// processes only by the memory limit. It exists to test that fallback.
	NoCgroups bool
	// Logger receives worker and egress events. Default: slog.Default().
	Logger *slog.Logger
}

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
	// SandboxUID is the host user ID sandboxed code runs as (0: root,
	// without capabilities; see Config.SandboxUID).
	SandboxUID int
}

// Pool runs invocations in sandboxed, warm worker processes. It is safe for
// concurrent use.
type Pool struct {
	cfg         Config
	log         *slog.Logger
	dir         string
	bwrap       string
	nodeModules string
	setpriv     []string // command prefix dropping to the sandbox user, or nil
	uid         int      // the sandbox user, or -1 for root
	proxy       *egress.Proxy
	cgroups     *cgroups
	workerSeq   atomic.Int64

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

// NewPool checks that bubblewrap is available, prepares the runtime
// directory, egress proxy and cgroups, and starts the spare workers in the
// background. It returns an error when bubblewrap is missing or the runtime
// directory cannot be created.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = max(4, 4*runtime.NumCPU())
	}
	if cfg.MaxMemoryMB <= 0 {
		cfg.MaxMemoryMB = 4096
	}
	if cfg.SpareWorkers == 0 {
		cfg.SpareWorkers = 1
	}
	if cfg.SpareRuntimes == nil {
		cfg.SpareRuntimes = []string{RuntimeNode, RuntimePython}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = DefaultTimeout
	}
	if cfg.DefaultMemoryMB <= 0 {
		cfg.DefaultMemoryMB = DefaultMemoryMB
	}
	if cfg.PidsLimit <= 0 {
		cfg.PidsLimit = 128
	}
	if cfg.TmpSizeMB <= 0 {
		cfg.TmpSizeMB = 32
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	if cfg.NodePreload == nil {
		cfg.NodePreload = []string{"@hubspot/api-client", "axios"}
	}
	if cfg.PythonPreload == nil {
		cfg.PythonPreload = []string{"requests"}
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	p := &Pool{
		cfg:      cfg,
		log:      cfg.Logger,
		idle:     map[string][]*worker{},
		busy:     map[*worker]struct{}{},
		spares:   map[*runtimeSpec][]*worker{},
		starting: map[*runtimeSpec]int{},
		changed:  make(chan struct{}),
		waiters:  map[string][]chan *worker{},
		stop:     make(chan struct{}),
		versions: map[*runtimeSpec]string{},
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.bwrap = cfg.Bwrap
	if p.bwrap == "" {
		path, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, fmt.Errorf("sandbox: bubblewrap not found (run scripts/setup-sandbox.sh): %w", err)
		}
		p.bwrap = path
	}
	p.nodeModules = cfg.NodeModules
	if p.nodeModules == "" {
		p.nodeModules = findNodeModules()
	}
	p.uid = -1
	if cfg.SandboxUID >= 0 {
		uid := cfg.SandboxUID
		if uid == 0 {
			uid = 65534
		}
		setpriv, err := exec.LookPath("setpriv")
		switch {
		case err != nil:
			p.log.Warn("sandbox: setpriv not found; sandboxed code runs as root without capabilities")
		case p.nodeModules != "" && !reachableByOthers(p.nodeModules):
			p.log.Warn("sandbox: the Node libraries are not readable by other users; sandboxed code runs as root without capabilities", "dir", p.nodeModules)
		default:
			p.uid = uid
			id := strconv.Itoa(uid)
			p.setpriv = []string{setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"}
		}
	}
	dir, err := os.MkdirTemp("", "spoke-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: runtime dir: %w", err)
	}
	// Others may traverse (bwrap runs as the sandbox user) but not list the
	// directory; each worker's socket is owned by the sandbox user.
	os.Chmod(dir, 0o711)
	p.dir = dir
	if err := os.WriteFile(filepath.Join(dir, nodeSpec.bootstrap), nodeBootstrap, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: write bootstrap: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, pythonSpec.bootstrap), pythonBootstrap, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: write bootstrap: %w", err)
	}
	apiHost := ""
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || u.Host == "" {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: bad APIURL %q", cfg.APIURL)
		}
		apiHost = u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			apiHost = net.JoinHostPort(u.Hostname(), port)
		}
	}
	readOnly := ""
	if cfg.ReadOnlyAPIURL != "" {
		u, err := url.Parse(cfg.ReadOnlyAPIURL)
		if err != nil || u.Port() == "" {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: bad ReadOnlyAPIURL %q: want http://host:port", cfg.ReadOnlyAPIURL)
		}
		readOnly = u.Host
	}
	p.proxy = egress.New(egress.Config{SpokeAPI: apiHost, ReadOnlySpokeAPI: readOnly, Allow: cfg.AllowHosts, Resolver: cfg.Resolver, Logger: p.log})
	if !cfg.NoCgroups {
		p.cgroups = newCgroups()
	}
	if p.cgroups == nil && !cfg.NoCgroups {
		p.log.Warn("sandbox: cgroup v1 memory/pids controllers unavailable; using interpreter limits and RSS polling")
	}
	for _, name := range cfg.SpareRuntimes {
		spec, err := specFor(name)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.mu.Lock()
		p.refillLocked(spec)
		p.mu.Unlock()
	}
	p.bg.Add(1)
	go p.janitor()
	return p, nil
}

// reachableByOthers reports whether users other than the owner can reach
// and read dir: every ancestor must be searchable by others.
func reachableByOthers(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	st, err := os.Stat(abs)
	if err != nil || st.Mode().Perm()&0o005 != 0o005 {
		return false
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if filepath.Dir(d) == d {
			return true
		}
	}
}

// findNodeModules looks for sandbox/node/node_modules.
func findNodeModules() string {
	if d := os.Getenv("SPOKE_SANDBOX_NODE_MODULES"); d != "" {
		return d
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			for _, c := range []string{filepath.Join(d, "sandbox", "node", "node_modules"), filepath.Join(d, "node", "node_modules")} {
				if st, err := os.Stat(filepath.Join(c, "@hubspot")); err == nil && st.IsDir() {
					return c
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return ""
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
	s := Stats{Workers: p.total, Started: p.workerSeq.Load(), SandboxUID: max(p.uid, 0)}
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
			defer p.mu.Unlock()
			p.starting[spec]--
			if err != nil {
				p.total--
				p.memUsed -= mem
				p.notifyLocked()
				p.log.Error("sandbox: start spare worker", "runtime", spec.name, "err", err)
				return
			}
			p.versions[spec] = w.version
			if p.closed {
				p.total--
				p.memUsed -= mem
				go func() { w.kill(); w.cleanup() }()
				return
			}
			p.spares[spec] = append(p.spares[spec], w)
			p.notifyLocked()
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
	p.release(w, healthy && err == nil)
	p.mu.Lock()
	p.refillLocked(spec)
	p.mu.Unlock()
	return res, err
}

// run performs one invocation on w.
func (p *Pool) run(ctx context.Context, w *worker, spec *runtimeSpec, key string, inv *Invocation, timeout time.Duration, start time.Time) (Result, bool, error) {
	res := Result{
		OutputFields: map[string]any{},
		Runtime:      RuntimeInfo{Name: spec.name, Version: w.version},
	}
	w.nextID++
	msg := &invokeMsg{Op: "invoke", ID: w.nextID, Event: inv.Event}
	if !w.bound {
		w.bound = true
		w.key = key
		msg.Code = inv.Code
		msg.Env = inv.Secrets
		for _, v := range inv.Secrets {
			if len(v) >= 3 {
				w.secrets = append(w.secrets, v)
			}
		}
		sort.Slice(w.secrets, func(i, j int) bool { return len(w.secrets[i]) > len(w.secrets[j]) })
		w.egress.SetPolicy(egress.Policy{AccountAllow: inv.EgressAllowlist, OnDeny: w.onDeny, ReadOnlyAPI: inv.DryRun})
	}
	if w.cg != nil && w.nextID == 1 {
		// Forget the start-up's peak; later invocations start from the
		// reset the previous one's finish made.
		w.cg.peakAndReset()
	}
	w.takeDenials()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	finish := func(healthy bool) (Result, bool, error) {
		res.DurationMs = float64(time.Since(start).Microseconds()) / 1000
		if w.cg != nil {
			if peak := w.cg.peakAndReset(); peak > res.MemoryBytes {
				res.MemoryBytes = peak
			}
		}
		p.finishResult(w, &res)
		return res, healthy, nil
	}
	if err := w.send(msg); err != nil {
		if !w.alive() {
			res.Status, res.Error = StatusError, w.crashError()
			return finish(false)
		}
		return res, false, err
	}
	var stop <-chan time.Time
	var polling *time.Ticker
	if w.cg == nil {
		polling = time.NewTicker(50 * time.Millisecond)
		defer polling.Stop()
		stop = polling.C
	}
	var logs strings.Builder
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				<-w.exited
				res.Logs = logs.String()
				res.Status, res.Error = StatusError, w.crashError()
				return finish(false)
			}
			if m.Op == "log" {
				if logs.Len() < LogCap+1024 {
					logs.WriteString(m.Text)
				}
				continue
			}
			if m.Op != "result" || m.ID != msg.ID {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unexpected message"}
				return finish(false)
			}
			res.Status = m.Status
			res.Logs = logs.String() + m.Logs
			res.MemoryBytes = m.MemoryBytes
			res.Error = m.Error
			if m.OutputFields != nil {
				res.OutputFields = m.OutputFields
			}
			if res.Status != StatusSuccess && res.Status != StatusError {
				res.Status, res.Error = StatusError, &Error{Type: ErrRuntimeCrash, Message: "the runtime sent an unknown status"}
			}
			if res.Status == StatusError && res.Error == nil {
				res.Error = &Error{Type: ErrUncaught, Message: "unknown error"}
			}
			return finish(!m.Unhealthy)
		case <-w.exited:
			// Drain what the worker wrote before it died.
			for m := range w.msgs {
				switch {
				case m.Op == "log" && logs.Len() < LogCap+1024:
					logs.WriteString(m.Text)
				case m.Op == "result" && m.ID == msg.ID:
					res.Logs = logs.String() + m.Logs
					res.Status, res.Error = m.Status, m.Error
					if m.OutputFields != nil {
						res.OutputFields = m.OutputFields
					}
					return finish(false)
				}
			}
			res.Logs = logs.String()
			res.Status, res.Error = StatusError, w.crashError()
			return finish(false)
		case <-timer.C:
			w.kill()
			res.Logs = logs.String()
			res.Status = StatusError
			res.Error = &Error{Type: ErrTimeout, Message: fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())}
			return finish(false)
		case <-stop:
			if rss := treeRSS(w.cmd.Process.Pid); rss > int64(w.memMB)<<20 {
				w.kill()
				res.Logs = logs.String()
				res.Status = StatusError
				res.Error = &Error{Type: ErrMemoryLimit, Message: fmt.Sprintf("the code used more than %d MB of memory and was stopped", w.memMB)}
				res.MemoryBytes = rss
				return finish(false)
			}
		case <-ctx.Done():
			w.kill()
			return res, false, fmt.Errorf("sandbox: invocation cancelled: %w", ctx.Err())
		}
	}
}

// finishResult applies the host-side checks to a result: egress denials,
// output size, redaction and the log cap.
func (p *Pool) finishResult(w *worker, res *Result) {
	denials := w.takeDenials()
	if len(denials) > 0 {
		var b strings.Builder
		for _, d := range denials {
			fmt.Fprintf(&b, "%s\tEGRESS_DENIED\thost=%s rule=%s: %s\n", d.Time.UTC().Format("2006-01-02T15:04:05.000Z"), d.Host, d.Rule, d.Detail)
		}
		res.Logs += b.String()
		if res.Error != nil && res.Error.Type == ErrUncaught {
			res.Error.Type = ErrEgressDenied
			if !strings.Contains(res.Error.Message, "EGRESS_DENIED") {
				res.Error.Message = denials[0].Error() + " (" + res.Error.Message + ")"
			}
		}
	}
	if res.Status == StatusSuccess {
		if name, n, ok := tooLong(res.OutputFields); ok {
			res.Status = StatusError
			res.Error = &Error{Type: ErrOutputTooLarge, Message: fmt.Sprintf("output %q is %d characters long; string outputs are limited to %d", name, n, MaxOutputStringLen)}
		}
	}
	if res.Status == StatusError {
		res.OutputFields = map[string]any{}
	}
	res.Logs = capLogs(redact(res.Logs, w.secrets))
	if res.Error != nil {
		res.Error.Message = redact(res.Error.Message, w.secrets)
		res.Error.Stack = redact(res.Error.Stack, w.secrets)
	}
}

// tooLong finds a string output over MaxOutputStringLen characters.
func tooLong(fields map[string]any) (string, int, bool) {
	for k, v := range fields {
		if s, ok := v.(string); ok {
			if n := utf8.RuneCountInString(s); n > MaxOutputStringLen {
				return k, n, true
			}
		}
	}
	return "", 0, false
}

// redact replaces every secret value in s with [REDACTED].
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

// capLogs truncates logs to LogCap bytes with a marker.
func capLogs(s string) string {
	const marker = "\n[log truncated at 64 KB]\n"
	if len(s) <= LogCap+len(marker) {
		return s
	}
	cut := LogCap
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// treeRSS sums the resident memory of pid and its descendants.
func treeRSS(pid int) int64 {
	var total int64
	stack := []int{pid}
	for seen := 0; len(stack) > 0 && seen < 4096; seen++ {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(cur) + "/statm"); err == nil {
			if f := strings.Fields(string(b)); len(f) > 1 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				total += n * int64(os.Getpagesize())
			}
		}
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(cur) + "/task")
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(cur) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, c := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(c); err == nil {
					stack = append(stack, n)
				}
			}
		}
	}
	return total
}
