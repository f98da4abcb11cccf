package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of /proc/*/stat times; it is
// 100 on every Linux architecture Go supports.
const clockTick = 100

// procStat is what the benchmarks read of one process in /proc/PID/stat.
type procStat struct {
	ppid int
	// ticks is the CPU time (user and system) the process has used, and
	// reaped the CPU time of its children that exited and were waited for.
	ticks, reaped int64
}

// readProcs reads every process's parent and CPU times from /proc.
func readProcs() map[int]procStat {
	out := map[int]procStat{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process exited
		}
		// The command name may hold spaces; the fields after it are fixed.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		cutime, _ := strconv.ParseInt(f[13], 10, 64)
		cstime, _ := strconv.ParseInt(f[14], 10, 64)
		out[pid] = procStat{ppid: ppid, ticks: utime + stime, reaped: cutime + cstime}
	}
	return out
}

func ticksDuration(t int64) time.Duration { return time.Duration(t) * time.Second / clockTick }

// descends reports whether pid is a descendant of root.
func descends(procs map[int]procStat, pid, root int) bool {
	for p, seen := procs[pid].ppid, 0; p != 0 && seen < 1000; p, seen = procs[p].ppid, seen+1 {
		if p == root {
			return true
		}
	}
	return false
}

// treeCPU returns the CPU time root has used itself, and what its
// descendants have used: the live ones and the exited ones that root or a
// live descendant has reaped.
func treeCPU(procs map[int]procStat, root int) (self, descendants time.Duration) {
	r, ok := procs[root]
	if !ok {
		return 0, 0
	}
	var d int64 = r.reaped
	for pid, p := range procs {
		if descends(procs, pid, root) {
			d += p.ticks + p.reaped
		}
	}
	return ticksDuration(r.ticks), ticksDuration(d)
}

// cpuTimes returns the CPU time (user and system) this process has used,
// and the CPU time its live descendants (the sandbox workers) have used.
func cpuTimes() (self, descendants time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	procs := readProcs()
	me := os.Getpid()
	for pid, p := range procs {
		if descends(procs, pid, me) {
			descendants += ticksDuration(p.ticks)
		}
	}
	return self, descendants
}
