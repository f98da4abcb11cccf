package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spokehq/spoke/internal/redact"
	"github.com/spokehq/spoke/sandbox/egress"
)

// tailBuffer keeps the last bytes written to it; it collects a worker's
// stray stdout and stderr (interpreter crash messages).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// worker is one sandboxed interpreter process.
type worker struct {
	id      int
	spec    *runtimeSpec
	memMB   int
	version string // interpreter version reported by the bootstrap

	cmd     *exec.Cmd
	in      *os.File // host writes requests
	out     *bufio.Reader
	outFile *os.File
	tail    *tailBuffer
	cg      *workerCgroup
	dir     string
	egress  *egress.Listener
	msgs    chan workerMsg
	exited  chan struct{}
	dead    chan struct{} // closed by kill; stops readLoop from blocking
	nextID  uint64

	// keep are the processes a ready worker consists of (bubblewrap's
	// two and the interpreter), and pidNS is the sandbox's PID namespace;
	// reap kills every other process in it after each invocation.
	keep   map[int]bool
	pidNS  string
	interp int // the interpreter's host PID
	// leftover is set from a result whose bootstrap saw one of the code's
	// threads still running after the invocation.
	leftover bool

	uid  int           // the host user the sandbox runs as, or -1 for root
	uids *uidAllocator // where uid goes back once the worker is gone

	// Set when the worker is bound to an action version.
	key      string
	bound    bool
	secrets  redact.Secrets
	lastUsed time.Time

	denyMu  sync.Mutex
	denials []egress.Denial

	killOnce sync.Once
}

// pipePair returns a pipe whose host end is non-blocking (served by Go's
// poller) and whose worker end is blocking (the bootstraps read
// synchronously).
func pipePair(hostReads bool) (host, child *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	hostFD, childFD := fds[1], fds[0]
	if hostReads {
		hostFD, childFD = fds[0], fds[1]
	}
	if err := unix.SetNonblock(hostFD, true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	return os.NewFile(uintptr(hostFD), "sandbox-host"), os.NewFile(uintptr(childFD), "sandbox-child"), nil
}

// startWorker starts a sandboxed interpreter and waits until its bootstrap
// is ready.
//
// Spare workers preload the configured libraries; a worker started for a
// waiting invocation does not, since its code loads what it needs.
func (p *Pool) startWorker(spec *runtimeSpec, memMB int, spare bool) (_ *worker, err error) {
	id := int(p.workerSeq.Add(1))
	w := &worker{
		id: id, spec: spec, memMB: memMB,
		tail:   &tailBuffer{max: 16 << 10},
		msgs:   make(chan workerMsg, 1),
		exited: make(chan struct{}),
		dead:   make(chan struct{}),
		dir:    filepath.Join(p.dir, "w"+strconv.Itoa(id)),
	}
	defer func() {
		if err != nil {
			w.kill()
			w.cleanup()
		}
	}()
	w.uid = -1
	if p.uids != nil {
		if w.uid, err = p.uids.get(); err != nil {
			return nil, err
		}
		w.uids = p.uids
	}
	// The directory and the socket in it are the worker's user's alone
	// (root's without one) from the start: no other user may connect to
	// the egress socket, which speaks for this worker.
	if err := os.Mkdir(w.dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: worker dir: %w", err)
	}
	sock := filepath.Join(w.dir, "egress.sock")
	w.egress, err = p.proxy.Listen(sock, egress.Policy{OnDeny: w.onDeny})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(sock, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: egress socket: %w", err)
	}
	if w.uid >= 0 {
		for _, f := range []string{sock, w.dir} {
			if err := os.Chown(f, w.uid, w.uid); err != nil {
				return nil, fmt.Errorf("sandbox: worker dir: %w", err)
			}
		}
	}

	if p.cgroups != nil {
		w.cg, err = p.cgroups.create(id, int64(memMB)<<20, p.cfg.PidsLimit, p.cfg.CPUQuota)
		if err != nil {
			return nil, err
		}
	}

	prog, err := seccompProgram()
	if err != nil {
		return nil, err
	}
	inHost, inChild, err := pipePair(false)
	if err != nil {
		return nil, err
	}
	outHost, outChild, err := pipePair(true)
	if err != nil {
		inHost.Close()
		inChild.Close()
		return nil, err
	}
	secR, secW, err := os.Pipe()
	if err != nil {
		inHost.Close()
		inChild.Close()
		outHost.Close()
		outChild.Close()
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	w.in, w.outFile = inHost, outHost
	w.out = bufio.NewReaderSize(outHost, 64<<10)

	// bwrap reads its options from fd 6, so that its command line, which
	// the sandbox sees as /proc/1/cmdline, names no host path: only the
	// interpreter's command, which names sandbox paths, follows "--".
	opts, command := p.bwrapArgs(w, spec, memMB, sock, spare)
	argsFile, err := argsMemfd(opts)
	if err != nil {
		inHost.Close()
		inChild.Close()
		outHost.Close()
		outChild.Close()
		secR.Close()
		secW.Close()
		return nil, err
	}
	defer argsFile.Close()
	cmdline := append([]string{p.bwrap, "--args", "6", "--"}, command...)
	if w.uid >= 0 {
		id := strconv.Itoa(w.uid)
		cmdline = append([]string{p.setpriv, "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"}, cmdline...)
	}
	if w.cg != nil {
		// Join the cgroups before bwrap starts, so that every process of
		// the sandbox is accounted from its first instruction.
		files := w.cg.procsFiles()
		const join = `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 1; shift; n=$((n-1)); done; exec "$@"`
		cmdline = append(append([]string{"/bin/sh", "-c", join, "sh", strconv.Itoa(len(files))}, files...), cmdline...)
	}
	cmd := exec.Command(cmdline[0], cmdline[1:]...)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdout = w.tail
	cmd.Stderr = w.tail
	cmd.ExtraFiles = []*os.File{inChild, outChild, secR, argsFile}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w.cmd = cmd
	if err := cmd.Start(); err != nil {
		inChild.Close()
		outChild.Close()
		secR.Close()
		secW.Close()
		return nil, fmt.Errorf("sandbox: start %s: %w", p.bwrap, err)
	}
	inChild.Close()
	outChild.Close()
	secR.Close()
	_, werr := secW.Write(prog)
	secW.Close()
	go func() {
		cmd.Wait()
		close(w.exited)
	}()
	go w.readLoop()
	if werr != nil {
		return nil, fmt.Errorf("sandbox: pass seccomp filter: %w", werr)
	}

	timer := time.NewTimer(p.cfg.StartTimeout)
	defer timer.Stop()
	var early strings.Builder // what the bootstrap logged before it was ready
	for {
		select {
		case m, ok := <-w.msgs:
			if ok && m.Op == "log" {
				early.WriteString(m.Text)
				continue
			}
			if !ok || m.Op != "ready" {
				<-w.exited
				return nil, fmt.Errorf("sandbox: %s worker did not start: %s", spec.name, strings.TrimSpace(early.String()+w.tail.String()))
			}
			w.version = m.Version
			if err := w.recordProcesses(); err != nil {
				return nil, err
			}
			return w, nil
		case <-timer.C:
			return nil, fmt.Errorf("sandbox: %s worker did not start within %s: %s", spec.name, p.cfg.StartTimeout, strings.TrimSpace(early.String()+w.tail.String()))
		}
	}
}

// argsMemfd returns an in-memory file holding args for bwrap's --args:
// each argument followed by a NUL byte.
func argsMemfd(args []string) (*os.File, error) {
	fd, err := unix.MemfdCreate("bwrap-args", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sandbox: bwrap arguments: %w", err)
	}
	f := os.NewFile(uintptr(fd), "bwrap-args")
	var b []byte
	for _, a := range args {
		b = append(append(b, a...), 0)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: bwrap arguments: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: bwrap arguments: %w", err)
	}
	return f, nil
}

// bwrapArgs builds the bubblewrap options for a worker and the
// interpreter's command line.
func (p *Pool) bwrapArgs(w *worker, spec *runtimeSpec, memMB int, sock string, spare bool) (opts, command []string) {
	nodePreload, pythonPreload := p.cfg.NodePreload, p.cfg.PythonPreload
	if !spare {
		nodePreload, pythonPreload = nil, nil
	}
	a := []string{
		"--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--cap-drop", "ALL",
		"--hostname", "sandbox",
		"--ro-bind", "/usr", "/usr",
		"--symlink", "usr/bin", "/bin",
		"--symlink", "usr/lib", "/lib",
		"--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/sbin", "/sbin",
		"--ro-bind-try", "/etc/ssl/certs", "/etc/ssl/certs",
		"--ro-bind-try", "/etc/ssl/openssl.cnf", "/etc/ssl/openssl.cnf",
		"--ro-bind-try", "/etc/localtime", "/etc/localtime",
		"--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
		"--proc", "/proc",
		// The sandbox's root maps to the host's root (without capabilities),
		// and sysctl writes are checked against that uid alone: hide them.
		"--tmpfs", "/proc/sys",
		"--dev", "/dev",
		"--size", strconv.Itoa(p.cfg.TmpSizeMB << 20), "--tmpfs", "/dev/shm",
		"--size", strconv.Itoa(p.cfg.TmpSizeMB << 20), "--tmpfs", "/tmp",
		"--dir", "/run/spoke",
		"--bind", sock, "/run/spoke/egress.sock",
		"--ro-bind", filepath.Join(p.dir, spec.bootstrap), "/opt/spoke/" + spec.bootstrap,
		"--ro-bind", filepath.Join(p.dir, caFile), "/opt/spoke/" + caFile,
		"--ro-bind", filepath.Join(p.dir, certDir), "/opt/spoke/" + certDir,
	}
	if spec.lang == langNode && p.nodeModules != "" {
		a = append(a, "--ro-bind", p.nodeModules, "/opt/spoke/node_modules")
	}
	a = append(a,
		"--chdir", "/tmp",
		"--setenv", "HOME", "/tmp",
		"--setenv", "TMPDIR", "/tmp",
		"--setenv", "PATH", "/usr/bin:/bin",
		"--setenv", "LANG", "C.UTF-8",
		// Node reads it once at start-up, before the bootstrap clears the
		// environment for the code; Python's trust settings come from
		// the bootstrap (REQUESTS_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR).
		"--setenv", "NODE_EXTRA_CA_CERTS", "/opt/spoke/"+caFile,
		"--seccomp", "5",
		"--remount-ro", "/dev",
		"--remount-ro", "/proc/sys",
		"--remount-ro", "/",
	)
	switch spec.lang {
	case langNode:
		// With a memory cgroup the pool reads each invocation's peak from
		// it, and the worker need not measure its own memory (a read of
		// /proc per invocation).
		o, _ := json.Marshal(map[string]any{"apiURL": p.cfg.APIURL, "preload": nodePreload, "cgroupMemory": p.cgroups != nil})
		command = []string{spec.binary,
			"--max-old-space-size=" + strconv.Itoa(memMB),
			"/opt/spoke/" + spec.bootstrap, string(o)}
	case langPython:
		o := map[string]any{"apiURL": p.cfg.APIURL, "preload": pythonPreload, "cgroupMemory": p.cgroups != nil, "caFile": "/opt/spoke/" + caFile, "caDir": "/opt/spoke/" + certDir}
		if p.cgroups == nil {
			// Without a memory cgroup, cap the address space instead. It
			// counts reservations, not use, so allow some headroom.
			o["rlimitAS"] = int64(memMB+256) << 20
		}
		js, _ := json.Marshal(o)
		command = []string{spec.binary, "-I", "-B", "-u", "/opt/spoke/" + spec.bootstrap, string(js)}
	}
	return a, command
}

func (w *worker) onDeny(d egress.Denial) {
	w.denyMu.Lock()
	w.denials = append(w.denials, d)
	w.denyMu.Unlock()
}

func (w *worker) takeDenials() []egress.Denial {
	w.denyMu.Lock()
	defer w.denyMu.Unlock()
	d := w.denials
	w.denials = nil
	return d
}

// recordProcesses notes the processes of a worker that has just become
// ready (bubblewrap's two and the interpreter: the code has not run yet)
// and its PID namespace, for reap.
func (w *worker) recordProcesses() error {
	pids := treePIDs(w.cmd.Process.Pid)
	if len(pids) < 2 {
		return fmt.Errorf("sandbox: %s worker: cannot list its processes", w.spec.name)
	}
	w.keep = map[int]bool{}
	for _, pid := range pids {
		w.keep[pid] = true
	}
	// The last one listed is the deepest: the interpreter, inside the
	// sandbox's PID namespace (the outer bubblewrap is in the host's).
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pids[len(pids)-1]) + "/ns/pid")
	if err != nil {
		return fmt.Errorf("sandbox: %s worker: read its PID namespace: %w", w.spec.name, err)
	}
	w.pidNS = ns
	w.interp = pids[len(pids)-1]
	return nil
}

// strays lists the running processes of the worker's sandbox other than
// those recordProcesses noted: from its pids cgroup, or without one from
// the process tree (an orphan is adopted by the sandbox's init, bubblewrap,
// so it stays in the tree).
func (w *worker) strays() []int {
	if w.cg != nil && w.onlyKept() {
		return nil
	}
	var pids []int
	if w.cg != nil {
		var err error
		if pids, err = w.cg.procs(); err != nil {
			pids = treePIDs(w.cmd.Process.Pid)
		}
	} else {
		pids = treePIDs(w.cmd.Process.Pid)
	}
	var out []int
	for _, pid := range pids {
		if !w.keep[pid] && running(pid, w.pidNS) {
			out = append(out, pid)
		}
	}
	return out
}

// onlyKept reports whether the worker's pids cgroup holds exactly the
// threads of the processes recordProcesses noted: two small reads and a
// stat each, where listing cgroup.procs costs about 30 µs.
func (w *worker) onlyKept() bool {
	n := w.cg.tasks()
	if n < 0 {
		return false
	}
	var kept int64
	for pid := range w.keep {
		c := threadCount(pid)
		if c < 0 {
			return false
		}
		kept += c
	}
	return n == kept
}

// reap kills every process the code left behind in the worker's sandbox
// (detached children, double-forked grandchildren, processes ignoring
// SIGTERM: SIGKILL, repeatedly, since they may fork meanwhile). It returns
// how many it killed and whether any is still running after about 100 ms,
// in which case the worker must be retired.
func (w *worker) reap() (killed int, left bool) {
	if w.keep == nil {
		return 0, false
	}
	seen := map[int]bool{}
	for round := 0; round < 14; round++ {
		pids := w.strays()
		if len(pids) == 0 {
			return len(seen), false
		}
		for _, pid := range pids {
			killPID(pid, w.pidNS)
			seen[pid] = true
		}
		time.Sleep(time.Duration(round+1) * time.Millisecond)
	}
	return len(seen), len(w.strays()) > 0
}

// alive reports whether the worker process is still running.
func (w *worker) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

// kill stops the worker's whole sandbox.
func (w *worker) kill() {
	w.killOnce.Do(func() {
		close(w.dead)
		if w.cmd != nil && w.cmd.Process != nil {
			syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			w.cmd.Process.Kill()
		}
		if w.cg != nil {
			w.cg.killAll()
		}
		if w.in != nil {
			w.in.Close()
		}
	})
}

// cleanup releases the worker's files, sockets and cgroups after it exited.
func (w *worker) cleanup() {
	if w.cmd != nil && w.cmd.Process != nil {
		select {
		case <-w.exited:
		case <-time.After(5 * time.Second):
		}
	}
	if w.outFile != nil {
		w.outFile.Close()
	}
	if w.egress != nil {
		w.egress.Close()
	}
	if w.cg != nil {
		// The files kept open for every invocation (the garbage
		// collector's finalizer would close them, later).
		if w.cg.peak != nil {
			w.cg.peak.Close()
		}
		if w.cg.current != nil {
			w.cg.current.Close()
		}
		for i := 0; i < 50; i++ {
			w.cg.killAll()
			if os.Remove(w.cg.mem) == nil || errors.Is(os.Remove(w.cg.mem), os.ErrNotExist) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		os.Remove(w.cg.pids)
		if w.cg.cpu != "" {
			os.Remove(w.cg.cpu)
		}
	}
	os.RemoveAll(w.dir)
	// The user ID goes back only once the sandbox is gone; one that does
	// not die is never handed to another worker.
	if w.uids != nil && (w.cmd == nil || w.cmd.Process == nil || !w.alive()) {
		w.uids.put(w.uid)
		w.uids = nil
	}
}

// crashError classifies a worker that exited without a result.
func (w *worker) crashError() *Error {
	tail := strings.TrimSpace(w.tail.String())
	if w.cg != nil && w.cg.oomKilled() {
		return &Error{Type: ErrMemoryLimit, Message: fmt.Sprintf("the code used more than %d MB of memory and was stopped", w.memMB)}
	}
	if strings.Contains(tail, "heap out of memory") || strings.Contains(tail, "Reached heap limit") ||
		strings.Contains(tail, "MemoryError") || strings.Contains(tail, "Cannot allocate memory") {
		return &Error{Type: ErrMemoryLimit, Message: fmt.Sprintf("the code used more than %d MB of memory and was stopped", w.memMB)}
	}
	status := "was killed"
	if w.cmd.ProcessState != nil {
		if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				status = "was killed by signal " + ws.Signal().String()
				if ws.Signal() == syscall.SIGKILL && w.cg != nil && w.cg.oomKilled() {
					return &Error{Type: ErrMemoryLimit, Message: fmt.Sprintf("the code used more than %d MB of memory and was stopped", w.memMB)}
				}
			case ws.Exited():
				status = "exited with status " + strconv.Itoa(ws.ExitStatus())
			}
		}
	}
	msg := "the runtime " + status + " before returning a result (did the code call process.exit or crash the interpreter?)"
	if tail != "" {
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		msg += ": " + tail
	}
	return &Error{Type: ErrRuntimeCrash, Message: msg}
}
