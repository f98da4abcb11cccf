package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The sandbox's user IDs. Workers run under host user IDs that no other
// host process uses, one per live worker, from a range Spoke reserves in
// /etc/subuid and /etc/subgid under the name SandboxUIDOwner
// (scripts/setup-sandbox.sh, run by make setup, adds it). A process of
// another user, even one sharing a uid with many daemons such as nobody,
// can then neither read a worker's memory, trace it, signal it, nor
// connect to its egress socket; nor can two workers reach each other.
const (
	// SandboxUIDOwner is the name Spoke's range is reserved under in
	// /etc/subuid and /etc/subgid.
	SandboxUIDOwner = "spoke-sandbox"
	// DefaultSandboxUIDBase and DefaultSandboxUIDCount are the range used
	// when none is configured or reserved: above the subordinate ranges
	// useradd hands out (SUB_UID_MAX defaults to 600,100,000) and below
	// 2^31, which some tools mishandle.
	DefaultSandboxUIDBase  = 2_000_000_000
	DefaultSandboxUIDCount = 65536
)

// reservedUIDs returns the range reserved for SandboxUIDOwner in
// /etc/subuid, or ok false.
func reservedUIDs(path string) (base, count int, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || parts[0] != SandboxUIDOwner {
			continue
		}
		b, err1 := strconv.Atoi(parts[1])
		c, err2 := strconv.Atoi(parts[2])
		if err1 == nil && err2 == nil && b > 0 && c > 0 {
			return b, c, true
		}
	}
	return 0, 0, false
}

// takenIDs returns the numeric IDs (third field) listed in an
// /etc/passwd- or /etc/group-style file.
func takenIDs(path string, into map[int]bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				into[id] = true
			}
		}
	}
}

// uidAllocator hands out the range's IDs, one per live worker. Its mutex
// is a leaf lock (see Pool): nothing else is taken while it is held.
type uidAllocator struct {
	base, count int
	mu          sync.Mutex
	used        map[int]bool // in use by a worker, or taken by a host user or group
	next        int          // offset to try first: freed IDs are reused last
}

// newUIDAllocator returns an allocator for [base, base+count), skipping
// IDs /etc/passwd or /etc/group already give to a user or group.
func newUIDAllocator(base, count int) *uidAllocator {
	a := &uidAllocator{base: base, count: count, used: map[int]bool{}}
	taken := map[int]bool{}
	takenIDs("/etc/passwd", taken)
	takenIDs("/etc/group", taken)
	for id := range taken {
		if id >= base && id < base+count {
			a.used[id] = true
		}
	}
	return a
}

// get returns a free ID.
func (a *uidAllocator) get() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < a.count; i++ {
		id := a.base + (a.next+i)%a.count
		if !a.used[id] {
			a.used[id] = true
			a.next = (a.next + i + 1) % a.count
			return id, nil
		}
	}
	return 0, fmt.Errorf("sandbox: all %d sandbox user IDs from %d are in use", a.count, a.base)
}

// put frees an ID once its worker's processes are gone.
func (a *uidAllocator) put(id int) {
	a.mu.Lock()
	delete(a.used, id)
	a.mu.Unlock()
}
