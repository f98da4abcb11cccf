package sandbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// leftoverCode starts, when asked to "spawn", processes that outlive the
// invocation: a detached child, a child in a session of its own, a
// double-forked grandchild (orphaned, adopted by the sandbox's init), all
// ignoring SIGTERM and named by the token; asked to "check", it lists the
// processes its sandbox can see running (zombies are not: the killed
// children of the interpreter wait for it to reap them).
var leftoverCode = map[string]string{
	"NODE20X": `const { spawn } = require('child_process');
const fs = require('fs');
exports.main = async (event) => {
  const tok = event.inputFields.token;
  if (event.inputFields.mode === 'check') {
    const state = (p) => { try { return fs.readFileSync('/proc/' + p + '/stat', 'utf8').replace(/^.*\) /s, '')[0]; } catch (e) { return 'X'; } };
    const procs = fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p) && state(p) !== 'Z' && state(p) !== 'X');
    return { outputFields: { procs: procs.length } };
  }
  const loop = 'trap "" TERM; while :; do sleep 0.05; done';
  spawn('/bin/sh', ['-c', loop, tok], { detached: true, stdio: 'ignore' }).unref();
  spawn('/bin/sh', ['-c', loop, tok], { stdio: 'ignore' }).unref();
  spawn('/bin/sh', ['-c', '(' + loop + ') & exit 0', tok], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100));
  return { outputFields: {} };
};`,
	"PYTHON39": `import os, subprocess, time
def main(event):
    tok = event["inputFields"]["token"]
    if event["inputFields"]["mode"] == "check":
        def running(p):
            try:
                with open("/proc/%s/stat" % p) as f:
                    return f.read().rsplit(") ", 1)[1][0] not in "ZX"
            except OSError:
                return False
        return {"outputFields": {"procs": len([p for p in os.listdir("/proc") if p.isdigit() and running(p)])}}
    loop = 'trap "" TERM; while :; do sleep 0.05; done'
    subprocess.Popen(["/bin/sh", "-c", loop, tok])
    subprocess.Popen(["/bin/sh", "-c", loop, tok], start_new_session=True)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", loop, tok])
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(0.1)
    return {"outputFields": {}}
`,
}

// threadCode leaves a thread running, named (its comm) by the token.
var threadCode = map[string]string{
	"daemon thread": `import ctypes, threading, time
def main(event):
    tok = event["inputFields"]["token"].encode()
    def spin():
        ctypes.CDLL(None).prctl(15, tok, 0, 0, 0)
        while True:
            time.sleep(0.05)
    threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.1)
    return {"outputFields": {}}
`,
	"raw thread": `import _thread, ctypes, time
def main(event):
    tok = event["inputFields"]["token"].encode()
    def spin():
        ctypes.CDLL(None).prctl(15, tok, 0, 0, 0)
        while True:
            time.sleep(0.05)
    _thread.start_new_thread(spin, ())
    time.sleep(0.1)
    return {"outputFields": {}}
`,
}

func token(t *testing.T) string {
	b := make([]byte, 5)
	rand.Read(b)
	return "spk" + hex.EncodeToString(b)
}

// hostSees lists the host's processes and threads whose command line (or
// thread name) carries tok.
func hostSees(tok string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if b, err := os.ReadFile(d + "/cmdline"); err == nil && strings.Contains(string(b), tok) {
			found = append(found, d+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
		tasks, _ := filepath.Glob(d + "/task/[0-9]*")
		for _, task := range tasks {
			if b, err := os.ReadFile(task + "/comm"); err == nil && strings.TrimSpace(string(b)) == tok {
				found = append(found, task+": thread "+tok)
			}
		}
	}
	return found
}

// TestNothingOutlivesAnInvocation checks that processes and threads the code
// leaves behind are gone once Invoke returns: processes are killed and the
// warm worker kept (its sandbox then sees only bubblewrap's init and the
// interpreter), threads retire the worker; with and without cgroups.
func TestNothingOutlivesAnInvocation(t *testing.T) {
	t.Parallel()
	for _, noCgroups := range []bool{false, true} {
		p, err := sandbox.NewPool(sandbox.Config{APIURL: "http://127.0.0.1:9", MaxWorkers: 3, SpareWorkers: -1, NoCgroups: noCgroups})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		name := "cgroups"
		if noCgroups {
			name = "no cgroups"
		}
		invoke := func(t *testing.T, rt, code, version string, inputs map[string]any) sandbox.Result {
			t.Helper()
			ev := event()
			ev.InputFields = inputs
			res, err := p.Invoke(ctx, sandbox.Invocation{Runtime: rt, Code: code, Version: version, Event: ev, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			wantSuccess(t, res)
			return res
		}
		for _, rt := range []string{"NODE20X", "PYTHON39"} {
			t.Run(name+"/"+rt+" processes", func(t *testing.T) {
				tok, v := token(t), version(t)
				before := p.Stats()
				invoke(t, rt, leftoverCode[rt], v, map[string]any{"token": tok, "mode": "spawn"})
				if found := hostSees(tok); len(found) > 0 {
					t.Fatalf("still running after the invocation:\n%s", strings.Join(found, "\n"))
				}
				after := p.Stats()
				if after.Reaped-before.Reaped < 3 {
					t.Errorf("reaped %d processes, want at least 3", after.Reaped-before.Reaped)
				}
				if after.Retired != before.Retired {
					t.Errorf("retired %d workers, want none (every process could be killed)", after.Retired-before.Retired)
				}
				res := invoke(t, rt, leftoverCode[rt], v, map[string]any{"token": tok, "mode": "check"})
				if n := res.OutputFields["procs"]; n != float64(2) {
					t.Errorf("the warm sandbox sees %v processes, want 2 (init and the interpreter)", n)
				}
				if p.Stats().Started != after.Started {
					t.Errorf("the second invocation started a worker; want the warm one")
				}
			})
		}
		for what, code := range threadCode {
			t.Run(name+"/python "+what, func(t *testing.T) {
				tok, v := token(t), version(t)
				before := p.Stats()
				invoke(t, "PYTHON39", code, v, map[string]any{"token": tok})
				if got := p.Stats().Retired - before.Retired; got != 1 {
					t.Errorf("retired %d workers, want 1", got)
				}
				// The retired worker is killed as Invoke returns; its
				// threads die with it.
				deadline := time.Now().Add(5 * time.Second)
				for len(hostSees(tok)) > 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if found := hostSees(tok); len(found) > 0 {
					t.Fatalf("still running after the invocation:\n%s", strings.Join(found, "\n"))
				}
			})
		}
	}
}

// TestCPUQuota runs two busy processes for a second of wall time in a
// worker limited to a quarter of a core: together they get about 0.25 s of
// CPU, not the two seconds two free cores would give them.
func TestCPUQuota(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err != nil {
		t.Skip("no cgroup v1 cpu controller")
	}
	p, err := sandbox.NewPool(sandbox.Config{APIURL: "http://127.0.0.1:9", MaxWorkers: 1, SpareWorkers: -1, CPUQuota: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	code := `import os, resource, time
def main(event):
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"outputFields": {"cpu": ru.ru_utime + ru.ru_stime}}
`
	res, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: "PYTHON39", Code: code, Version: version(t), Event: event(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, res)
	cpu, _ := res.OutputFields["cpu"].(float64)
	t.Logf("two busy processes for 1 s under a 0.25-core quota used %.2f s of CPU", cpu)
	if cpu > 0.6 {
		t.Errorf("used %.2f s of CPU in 1 s of wall time; the quota allows about 0.25 s", cpu)
	}
}

// TestTmpKeptPerVersion checks what docs/sandbox.md promises of /tmp: like
// a warm Lambda container's, it is kept between invocations of one
// version on a warm worker, and never seen by another version.
func TestTmpKeptPerVersion(t *testing.T) {
	t.Parallel()
	code := `import os
def main(event):
    seen = os.path.exists("/tmp/state")
    open("/tmp/state", "w").write("x")
    return {"outputFields": {"seen": seen}}
`
	a, b := version(t), version(t)
	inv := func(v string) any {
		res := run(t, "PYTHON39", code, func(inv *sandbox.Invocation) { inv.Version = v })
		wantSuccess(t, res)
		return res.OutputFields["seen"]
	}
	if inv(a) != false || inv(a) != true {
		t.Fatal("a warm worker does not keep /tmp between invocations of its version")
	}
	if inv(b) != false {
		t.Fatal("another version sees the first one's /tmp")
	}
}
