package sandbox

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// probeScript tries, from a host process, to reach a worker: read its
// memory, trace it, signal it and connect to its egress socket. It prints
// what each attempt got: ALLOWED or the errno's name.
const probeScript = `import ctypes, errno, json, os, socket, sys
pid, sock, trace = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ALLOWED"
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
def mem():
    with open("/proc/%d/mem" % pid, "rb"):
        pass
def environ():
    with open("/proc/%d/environ" % pid, "rb") as f:
        f.read()
def ptrace():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(0x4206, pid, 0, 0) != 0:  # PTRACE_SEIZE: does not stop it
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.close()
attempt("mem", mem)
attempt("environ", environ)
attempt("signal", lambda: os.kill(pid, 0))
attempt("connect", connect)
if trace:
    attempt("ptrace", ptrace)
print(json.dumps(out))
`

// probe runs probeScript as uid:uid against w.
func probe(t *testing.T, w *worker, uid int, trace bool) map[string]string {
	t.Helper()
	tr := "0"
	if trace {
		tr = "1"
	}
	cmd := exec.Command("/usr/bin/python3", "-I", "-c", probeScript, strconv.Itoa(w.interp), filepath.Join(w.dir, "egress.sock"), tr)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe as %d: %v\n%s", uid, err, out)
	}
	var res map[string]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("probe as %d: %v\n%s", uid, err, out)
	}
	return res
}

// TestOtherUsersCannotReachAWorker runs a host process as nobody, the user
// many daemons share (and that workers used to run as), against a warm
// worker: it can neither read the worker's memory or environment, nor
// trace it, signal it or connect to its egress socket. The worker's own
// user can, which shows the probe works.
func TestOtherUsersCannotReachAWorker(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	p, err := NewPool(Config{APIURL: "http://127.0.0.1:9", MaxWorkers: 2, SpareWorkers: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.uids == nil {
		t.Skip("the sandbox runs as root here (setpriv missing or the Node libraries not readable by others)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, rt := range []string{RuntimeNode, RuntimePython} {
		code := `exports.main = async () => ({ outputFields: {} });`
		if rt == RuntimePython {
			code = "def main(event):\n    return {}\n"
		}
		res, err := p.Invoke(ctx, Invocation{Runtime: rt, Code: code, Version: t.Name() + rt, Event: Event{PortalID: 1}})
		if err != nil || res.Status != StatusSuccess {
			t.Fatalf("%s: %v %+v", rt, err, res.Error)
		}
	}
	p.mu.Lock()
	var ws []*worker
	for _, idle := range p.idle {
		ws = append(ws, idle...)
	}
	p.mu.Unlock()
	if len(ws) != 2 {
		t.Fatalf("%d warm workers, want 2", len(ws))
	}
	if ws[0].uid == ws[1].uid {
		t.Errorf("two workers share uid %d", ws[0].uid)
	}
	for _, w := range ws {
		if w.uid == 65534 || w.uid < p.uids.base || w.uid >= p.uids.base+p.uids.count {
			t.Errorf("worker runs as %d, outside the range %d+%d", w.uid, p.uids.base, p.uids.count)
		}
		for _, f := range []string{w.dir, filepath.Join(w.dir, "egress.sock")} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != w.uid {
				t.Errorf("%s: mode %v owner %d, want 0700 owned by %d", f, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, w.uid)
			}
		}
		got := probe(t, w, 65534, true)
		for _, what := range []string{"mem", "environ", "signal", "connect", "ptrace"} {
			if got[what] == "ALLOWED" || got[what] == "" {
				t.Errorf("%s worker: nobody's %s: %q, want refused", w.spec.name, what, got[what])
			}
		}
		t.Logf("%s worker (uid %d), as nobody: %v", w.spec.name, w.uid, got)
		own := probe(t, w, w.uid, false)
		for _, what := range []string{"mem", "environ", "signal", "connect"} {
			if own[what] != "ALLOWED" {
				t.Errorf("%s worker: its own user's %s: %q, want ALLOWED (the probe cannot tell)", w.spec.name, what, own[what])
			}
		}
	}
}

// TestUIDRange checks reading the reservation and handing out IDs: one per
// worker, never one a host user or group has, freed IDs last.
func TestUIDRange(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "subuid")
	os.WriteFile(f, []byte("alice:100000:65536\nspoke-sandbox:3000000:16\n"), 0o644)
	base, count, ok := reservedUIDs(f)
	if !ok || base != 3000000 || count != 16 {
		t.Fatalf("reservedUIDs = %d, %d, %v", base, count, ok)
	}
	if _, _, ok := reservedUIDs(filepath.Join(t.TempDir(), "none")); ok {
		t.Fatal("a missing file reserves a range")
	}
	a := newUIDAllocator(0, 3) // root, daemon and bin are in every /etc/passwd
	if _, err := a.get(); err == nil {
		t.Fatal("handed out an ID /etc/passwd gives to a user")
	}
	a = newUIDAllocator(DefaultSandboxUIDBase, 3)
	seen := map[int]bool{}
	var ids []int
	for range 3 {
		id, err := a.get()
		if err != nil || seen[id] {
			t.Fatalf("get: %d, %v (seen %v)", id, err, seen)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if _, err := a.get(); err == nil {
		t.Fatal("handed out more IDs than the range has")
	}
	a.put(ids[0])
	if id, err := a.get(); err != nil || id != ids[0] {
		t.Fatalf("after put: %d, %v", id, err)
	}
}
