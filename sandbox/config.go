package sandbox

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spokehq/spoke/sandbox/egress"
)

// Config configures a [Pool]. Zero fields take the documented defaults.
type Config struct {
	// APIURL is Spoke's own API as the sandbox should reach it, for example
	// "http://127.0.0.1:8080". The egress proxy sends HTTPS for
	// api.hubapi.com and api.hubspot.com there (so @hubspot/api-client and
	// the Python hubspot module reach it by default), always allows its
	// host:port, and Python code finds it in SPOKE_API_URL. Empty: those
	// names are ordinary hosts.
	APIURL string
	// ReadOnlyAPIURL serves Spoke's API refusing writes; dry-run
	// invocations reach it in place of APIURL. It must be a loopback
	// host:port URL such as "http://127.0.0.1:39211".
	ReadOnlyAPIURL string
	// CA signs the certificates the egress proxy presents for
	// api.hubapi.com and api.hubspot.com, whose HTTPS it sends to APIURL
	// (egress.HubSpotHosts); the sandbox's runtimes trust it on top of the
	// system roots. spoke serve keeps one per data directory
	// (egress.LoadOrCreateCA). Default: a new CA for the pool's lifetime.
	CA *egress.CA
	// EgressRedirect, when set, is the host:port of a server that receives
	// every egress connection to a host other than Spoke's API in place of
	// that host (see egress.Config.Redirect); `spoke test` serves declared
	// responses of external services there.
	EgressRedirect string
	// AllowHosts lists host:port pairs the egress proxy allows even though
	// they resolve to loopback, private or other refused addresses.
	AllowHosts []string
	// DenyHosts lists host:port pairs the egress proxy refuses whatever
	// else allows them: addresses Spoke serves to the host only, such as
	// its metrics (see egress.Config.Deny).
	DenyHosts []string
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
	// CPUQuota is the CPU time each worker may use, in cores (0.5: half
	// of one core), enforced with the cgroup v1 cpu controller's CFS
	// quota (cpu.cfs_quota_us per 100 ms period). It bounds what a worker
	// can take of the machine, busy or not. Default: 1. Negative: no
	// quota. Without the cpu controller (or with NoCgroups) there is no
	// quota: a worker may use as many cores as its threads can keep busy,
	// and only the wall-clock timeout bounds an invocation.
	CPUQuota float64
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
	// SandboxUIDBase and SandboxUIDCount are the range of host user IDs
	// the sandboxed code runs as: each live worker gets one of its own
	// (its group ID is the same number), so that no other host process,
	// and no other worker, shares it. Default (zero base): the range
	// reserved for "spoke-sandbox" in /etc/subuid (scripts/setup-sandbox.sh
	// adds it), else DefaultSandboxUIDBase and DefaultSandboxUIDCount with a
	// warning that the range is not reserved. IDs /etc/passwd or /etc/group
	// give to a user or group are skipped. It needs setpriv and the Node
	// libraries' directory readable by other users; otherwise, and when
	// the base is negative, the code runs as the host's root user inside
	// its user namespace (still with no capabilities, a seccomp filter and
	// /proc/sys hidden), and a warning is logged.
	SandboxUIDBase  int
	SandboxUIDCount int
	// NoCgroups turns off the per-worker cgroup v1 memory and pids limits
	// even where they are available; memory is then limited by RSS polling,
	// Node's heap limit and Python's address-space limit, and the number of
	// processes only by the memory limit. It exists to test that fallback.
	NoCgroups bool
	// Logger receives worker and egress events. Default: slog.Default().
	Logger *slog.Logger
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
	if cfg.CPUQuota == 0 {
		cfg.CPUQuota = 1
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
	if cfg.SandboxUIDBase >= 0 {
		base, count := cfg.SandboxUIDBase, cfg.SandboxUIDCount
		if base == 0 {
			var ok bool
			if base, count, ok = reservedUIDs("/etc/subuid"); !ok {
				base, count = DefaultSandboxUIDBase, DefaultSandboxUIDCount
				p.log.Warn("sandbox: no user ID range is reserved for the sandbox (run scripts/setup-sandbox.sh); using the default one", "first", base, "count", count)
			}
		}
		if count <= 0 {
			count = DefaultSandboxUIDCount
		}
		setpriv, err := exec.LookPath("setpriv")
		switch {
		case err != nil:
			p.log.Warn("sandbox: setpriv not found; sandboxed code runs as root without capabilities")
		case p.nodeModules != "" && !reachableByOthers(p.nodeModules):
			p.log.Warn("sandbox: the Node libraries are not readable by other users; sandboxed code runs as root without capabilities", "dir", p.nodeModules)
		default:
			p.setpriv = setpriv
			p.uids = newUIDAllocator(base, count)
		}
	}
	dir, err := os.MkdirTemp("", "spoke-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: runtime dir: %w", err)
	}
	// Others may traverse (bwrap runs as a sandbox user) but not list the
	// directory; each worker's own directory and socket are owned by its
	// user, mode 0700.
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
	if cfg.CA == nil {
		ca, err := egress.NewCA()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		cfg.CA = ca
		p.cfg.CA = ca
	}
	if err := writeTrust(dir, cfg.CA); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	apiHost, apiTLS := "", false
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || u.Host == "" {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: bad APIURL %q", cfg.APIURL)
		}
		apiHost = u.Host
		apiTLS = u.Scheme == "https"
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
	p.proxy = egress.New(egress.Config{SpokeAPI: apiHost, SpokeAPITLS: apiTLS, ReadOnlySpokeAPI: readOnly, Allow: cfg.AllowHosts,
		Deny: cfg.DenyHosts, Resolver: cfg.Resolver, Logger: p.log, CA: cfg.CA, Redirect: cfg.EgressRedirect})
	if !cfg.NoCgroups {
		p.cgroups = newCgroups()
	}
	if p.cgroups == nil && !cfg.NoCgroups {
		p.log.Warn("sandbox: cgroup v1 memory/pids controllers unavailable; using interpreter limits and RSS polling")
	}
	if p.cgroups != nil && p.cgroups.cpuRoot == "" && cfg.CPUQuota > 0 {
		p.log.Warn("sandbox: cgroup v1 cpu controller unavailable; workers have no CPU quota")
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
