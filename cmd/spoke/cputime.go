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

// cpuTimes returns the CPU time (user and system) this process has used,
// and the CPU time its live descendants (the sandbox workers) have used.
func cpuTimes() (self, descendants time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
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
		if len(f) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		parent[pid], ticks[pid] = ppid, utime+stime
	}
	me := os.Getpid()
	for pid, t := range ticks {
		for p := parent[pid]; p != 0; p = parent[p] {
			if p == me {
				descendants += time.Duration(t) * time.Second / clockTick
				break
			}
		}
	}
	return self, descendants
}
