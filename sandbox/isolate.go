package sandbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside the sandbox. The list covers what an
// unprivileged process has no business calling: namespace and mount
// manipulation, tracing, kernel keyrings and modules, BPF, perf, io_uring and
// userfaultfd (frequent kernel exploit vectors), and clock/host changes.
var deniedSyscalls = []string{
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd", "lookup_dcookie",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"open_by_handle_at", "name_to_handle_at",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname", "syslog", "vhangup",
	"iopl", "ioperm", "personality", "fanotify_init",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"mknod", "mknodat",
}

var (
	seccompOnce sync.Once
	seccompProg []byte
	seccompErr  error
)

// seccompProgram returns the sandbox's seccomp filter as the raw BPF
// program bwrap's --seccomp expects: an array of struct sock_filter.
func seccompProgram() ([]byte, error) {
	seccompOnce.Do(func() {
		pol := seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionErrno, Names: deniedSyscalls},
				{
					// clone3 hides its flags in a struct the filter cannot
					// read; ENOSYS makes libc fall back to clone(2).
					Action: seccomp.Action(uint32(seccomp.ActionErrno) | uint32(syscall.ENOSYS)),
					Names:  []string{"clone3"},
				},
				{
					Action: seccomp.ActionErrno,
					NamesWithCondtions: []seccomp.NameWithConditions{{
						Name: "clone",
						Conditions: []seccomp.Condition{{
							Argument:  0,
							Operation: seccomp.BitsSet,
							Value:     syscall.CLONE_NEWUSER,
						}},
					}},
				},
			},
		}
		insts, err := pol.Assemble()
		if err != nil {
			seccompErr = fmt.Errorf("sandbox: assemble seccomp filter: %w", err)
			return
		}
		raw, err := bpf.Assemble(insts)
		if err != nil {
			seccompErr = fmt.Errorf("sandbox: assemble seccomp filter: %w", err)
			return
		}
		var buf bytes.Buffer
		for _, r := range raw {
			binary.Write(&buf, binary.LittleEndian, r.Op)
			buf.WriteByte(r.Jt)
			buf.WriteByte(r.Jf)
			binary.Write(&buf, binary.LittleEndian, r.K)
		}
		seccompProg = buf.Bytes()
	})
	return seccompProg, seccompErr
}

// cgroupSeq tells apart the cgroups of several pools in one process.
var cgroupSeq atomic.Int64

// cgroups creates per-worker cgroups under the v1 memory, pids and cpu
// hierarchies, below the cgroups the current process is in. Spoke works
// without them (falling back to RSS polling and interpreter limits); the
// cpu controller is optional on its own (no CPU quota without it).
type cgroups struct {
	memRoot  string // e.g. /sys/fs/cgroup/memory/<ours>/spoke-<pid>
	pidsRoot string
	cpuRoot  string // "" when the cpu controller is not available
}

// newCgroups prepares the parent cgroups, or returns nil when cgroup v1
// memory and pids controllers are not writable.
func newCgroups() *cgroups {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	mp, ok1 := paths["memory"]
	pp, ok2 := paths["pids"]
	if !ok1 || !ok2 {
		return nil
	}
	name := "spoke-sandbox-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(cgroupSeq.Add(1), 10)
	cg := &cgroups{
		memRoot:  filepath.Join("/sys/fs/cgroup/memory", mp, name),
		pidsRoot: filepath.Join("/sys/fs/cgroup/pids", pp, name),
	}
	removeStale(filepath.Dir(cg.memRoot))
	removeStale(filepath.Dir(cg.pidsRoot))
	if err := os.MkdirAll(cg.memRoot, 0o755); err != nil {
		return nil
	}
	if err := os.MkdirAll(cg.pidsRoot, 0o755); err != nil {
		os.Remove(cg.memRoot)
		return nil
	}
	if _, err := os.Stat(filepath.Join(cg.memRoot, "memory.limit_in_bytes")); err != nil {
		cg.close()
		return nil
	}
	if cp, ok := paths["cpu"]; ok {
		root := filepath.Join("/sys/fs/cgroup/cpu", cp, name)
		removeStale(filepath.Dir(root))
		if os.MkdirAll(root, 0o755) == nil {
			if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err == nil {
				cg.cpuRoot = root
			} else {
				os.Remove(root)
			}
		}
	}
	return cg
}

// removeStale removes the (empty) cgroups left by Spoke processes that no
// longer exist, for example after a crash.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "spoke-sandbox-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + f[2]); err == nil {
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(d, "w*"))
		for _, sub := range subs {
			if st, err := os.Stat(sub); err == nil && st.IsDir() {
				os.Remove(sub)
			}
		}
		os.Remove(d)
	}
}

func (c *cgroups) close() {
	os.Remove(c.memRoot)
	os.Remove(c.pidsRoot)
	if c.cpuRoot != "" {
		os.Remove(c.cpuRoot)
	}
}

// cpuPeriod is the CFS period of a worker's CPU quota, in microseconds.
const cpuPeriod = 100000

// workerCgroup is one worker's memory, pids and (when available) cpu
// cgroup.
type workerCgroup struct {
	mem, pids string
	cpu       string // "" without a cpu controller

	// peak is memory.max_usage_in_bytes, kept open: it is read and reset
	// around every invocation, and opening it each time cost more than the
	// invocation itself.
	peakOnce sync.Once
	peak     *os.File

	// current is pids.current, kept open for the same reason.
	currentOnce sync.Once
	current     *os.File
}

// create makes a worker's cgroups. cpus is its CPU quota in cores (for
// example 0.5); zero or less means none.
func (c *cgroups) create(id int, memBytes int64, pidsMax int, cpus float64) (*workerCgroup, error) {
	name := "w" + strconv.Itoa(id)
	w := &workerCgroup{mem: filepath.Join(c.memRoot, name), pids: filepath.Join(c.pidsRoot, name)}
	if c.cpuRoot != "" && cpus > 0 {
		w.cpu = filepath.Join(c.cpuRoot, name)
		if err := os.Mkdir(w.cpu, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("sandbox: create cpu cgroup: %w", err)
		}
	}
	if err := os.Mkdir(w.mem, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("sandbox: create memory cgroup: %w", err)
	}
	if err := os.Mkdir(w.pids, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		os.Remove(w.mem)
		return nil, fmt.Errorf("sandbox: create pids cgroup: %w", err)
	}
	var errs []error
	errs = append(errs, os.WriteFile(filepath.Join(w.mem, "memory.limit_in_bytes"), []byte(strconv.FormatInt(memBytes, 10)), 0))
	// Without swap accounting this file does not exist; that is fine.
	os.WriteFile(filepath.Join(w.mem, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(memBytes, 10)), 0)
	os.WriteFile(filepath.Join(w.mem, "memory.swappiness"), []byte("0"), 0)
	errs = append(errs, os.WriteFile(filepath.Join(w.pids, "pids.max"), []byte(strconv.Itoa(pidsMax)), 0))
	if w.cpu != "" {
		quota := max(int64(cpus*cpuPeriod), 1000) // the kernel's minimum is 1 ms
		errs = append(errs, os.WriteFile(filepath.Join(w.cpu, "cpu.cfs_period_us"), []byte(strconv.Itoa(cpuPeriod)), 0))
		errs = append(errs, os.WriteFile(filepath.Join(w.cpu, "cpu.cfs_quota_us"), []byte(strconv.FormatInt(quota, 10)), 0))
	}
	if err := errors.Join(errs...); err != nil {
		w.remove()
		return nil, fmt.Errorf("sandbox: configure worker cgroup: %w", err)
	}
	return w, nil
}

// procsFiles are the cgroup.procs files a starting worker writes its PID to.
func (w *workerCgroup) procsFiles() []string {
	f := []string{filepath.Join(w.mem, "cgroup.procs"), filepath.Join(w.pids, "cgroup.procs")}
	if w.cpu != "" {
		f = append(f, filepath.Join(w.cpu, "cgroup.procs"))
	}
	return f
}

// procs lists the processes (thread group IDs) in the worker's pids
// cgroup.
func (w *workerCgroup) procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(w.pids, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, s := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(s); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// peakAndReset returns the peak memory since the last call and resets it.
func (w *workerCgroup) peakAndReset() int64 {
	w.peakOnce.Do(func() {
		w.peak, _ = os.OpenFile(filepath.Join(w.mem, "memory.max_usage_in_bytes"), os.O_RDWR, 0)
	})
	if w.peak == nil {
		return 0
	}
	var buf [32]byte
	n, err := w.peak.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	w.peak.WriteAt([]byte("0"), 0)
	return v
}

// tasks returns pids.current, the number of tasks (threads of every
// process, zombies included) in the worker's pids cgroup, or -1.
func (w *workerCgroup) tasks() int64 {
	w.currentOnce.Do(func() {
		w.current, _ = os.Open(filepath.Join(w.pids, "pids.current"))
	})
	if w.current == nil {
		return -1
	}
	var buf [32]byte
	n, err := w.current.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// threadCount returns the number of threads of process pid, from its task
// directory's link count (2 + the threads), or -1.
func threadCount(pid int) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/task", &st); err != nil || st.Nlink < 3 {
		return -1
	}
	return int64(st.Nlink) - 2
}

// oomKilled reports whether the kernel's OOM killer acted in this cgroup,
// or the cgroup hit its limit.
func (w *workerCgroup) oomKilled() bool {
	b, err := os.ReadFile(filepath.Join(w.mem, "memory.oom_control"))
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
				return true
			}
		}
	}
	return false
}

// killAll sends SIGKILL to every process left in the cgroup.
func (w *workerCgroup) killAll() {
	for _, f := range []string{filepath.Join(w.pids, "cgroup.procs"), filepath.Join(w.mem, "cgroup.procs")} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(s); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func (w *workerCgroup) remove() {
	if w.peak != nil {
		w.peak.Close()
	}
	if w.current != nil {
		w.current.Close()
	}
	os.Remove(w.mem)
	os.Remove(w.pids)
	if w.cpu != "" {
		os.Remove(w.cpu)
	}
}

// treePIDs lists pid and its descendants, at most 4096 of them.
func treePIDs(pid int) []int {
	var out []int
	stack := []int{pid}
	for len(stack) > 0 && len(out) < 4096 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, cur)
		dir := "/proc/" + strconv.Itoa(cur) + "/task/"
		tasks, _ := os.ReadDir(dir)
		for _, t := range tasks {
			b, err := os.ReadFile(dir + t.Name() + "/children")
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
	return out
}

// running reports whether pid is a process that has not exited (a zombie
// or dead process is not running) and is in the PID namespace ns (the
// target of a /proc/PID/ns/pid link), so that a PID reused by another
// host process is never taken for a sandbox's.
func running(pid int, ns string) bool {
	p := "/proc/" + strconv.Itoa(pid)
	if l, err := os.Readlink(p + "/ns/pid"); err != nil || l != ns {
		return false
	}
	b, err := os.ReadFile(p + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and
	// may contain anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st != 'Z' && st != 'X' && st != 'x'
}

// killPID sends SIGKILL to pid if it is still a process in the PID
// namespace ns, through a pidfd where the kernel has them, so that the
// signal never reaches a process that reused the PID meanwhile.
func killPID(pid int, ns string) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) && running(pid, ns) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return
	}
	defer unix.Close(fd)
	// The pidfd names one process for good; checked after opening it,
	// the namespace is that process's unless it has already exited (and
	// then the signal fails harmlessly).
	if l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid"); err == nil && l == ns {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
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
