package sandbox_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// TestAttacks runs hostile code and checks that each attack is contained:
// either the code sees a failure it reports in its outputs (probe), or the
// invocation ends with the expected error class.
func TestAttacks(t *testing.T) {
	t.Parallel()
	// A stand-in for Spoke's data directory and another action's files.
	secretDir := t.TempDir()
	secretFile := filepath.Join(secretDir, "spoke.db")
	if err := os.WriteFile(secretFile, []byte("host-secret-data"), 0o644); err != nil {
		t.Fatal(err)
	}

	st := pool(t).Stats()
	uidFirst, uidEnd := st.SandboxUID, st.SandboxUID+st.SandboxUIDCount
	bwrapPath, _ := exec.LookPath("bwrap")
	if uidFirst == 0 {
		t.Logf("sandboxed code runs as root without capabilities (setpriv missing or node_modules not readable by others)")
	}
	tests := []struct {
		name, runtime, code string
		// Either the outputs must equal want...
		want map[string]any
		// ...or the invocation must fail with typ.
		typ     sandbox.ErrorType
		timeout time.Duration
	}{
		{name: "node reads host files", runtime: "NODE20X", code: `const fs = require('fs');
exports.main = async (event) => {
  const probe = (p) => { try { fs.readFileSync(p); return 'READ'; } catch (e) { return e.code; } };
  return { outputFields: { shadow: probe('/etc/shadow'), root: probe('/root/.bashrc'), home: probe('/home'),
    data: probe(event.inputFields.path), passwd: probe('/etc/passwd'), environ: probe('/proc/1/environ').replace('READ', 'OK') } };
};`, want: map[string]any{"shadow": "ENOENT", "root": "ENOENT", "home": "ENOENT", "data": "ENOENT", "passwd": "ENOENT", "environ": "OK"}},
		{name: "python reads host files", runtime: "PYTHON39", code: `
def main(event):
    def probe(p):
        try:
            open(p).read()
            return "READ"
        except OSError as e:
            return type(e).__name__
    return {"outputFields": {"shadow": probe("/etc/shadow"), "root": probe("/root/.bashrc"), "data": probe(event["inputFields"]["path"])}}
`, want: map[string]any{"shadow": "FileNotFoundError", "root": "FileNotFoundError", "data": "FileNotFoundError"}},
		{name: "node writes outside /tmp", runtime: "NODE20X", code: `const fs = require('fs');
exports.main = async () => {
  const probe = (p) => { try { fs.writeFileSync(p, 'x'); return 'WROTE'; } catch (e) { return e.code; } };
  return { outputFields: { usr: probe('/usr/evil'), root: probe('/evil'), opt: probe('/opt/spoke/node_modules/evil'), dev: probe('/dev/evil'),
    sock: probe('/run/spoke/evil'), tmp: probe('/tmp/ok') } };
};`, want: map[string]any{"usr": "EROFS", "root": "EROFS", "opt": "EROFS", "dev": "EROFS", "sock": "EROFS", "tmp": "WROTE"}},
		{name: "node identity", runtime: "NODE20X", code: strings.NewReplacer("FIRST", strconv.Itoa(uidFirst), "END", strconv.Itoa(uidEnd)).Replace(`const fs = require('fs');
exports.main = async () => {
  const st = fs.readFileSync('/proc/self/status', 'utf8');
  const uid = process.getuid(), gid = process.getgid();
  // bwrap's command line, which names no host path but its own.
  const pid1 = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
  const inRange = (id) => (FIRST === 0 ? id === 0 : id >= FIRST && id < END);
  return { outputFields: { uid: inRange(uid), gid: gid === uid, capEff: /CapEff:\s*(\w+)/.exec(st)[1], noNewPrivs: /NoNewPrivs:\s*(\d)/.exec(st)[1], seccomp: /Seccomp:\s*(\d)/.exec(st)[1],
    pid1: pid1.slice(0, pid1.indexOf('--', 1)).join(' '),
    pid1HostPaths: pid1.filter((a) => a.startsWith('/') && !a.startsWith('/usr/') && !a.startsWith('/opt/spoke/')).join(' ') } };
};`), want: map[string]any{"uid": true, "gid": true, "capEff": "0000000000000000", "noNewPrivs": "1", "seccomp": "2", "pid1": bwrapPath + " --args 6", "pid1HostPaths": ""}},
		{name: "node host sysctls", runtime: "NODE20X", code: `const fs = require('fs');
exports.main = async () => {
  // access(2) only: nothing is written even if the check were to fail.
  const w = (p) => { try { fs.accessSync(p, fs.constants.W_OK); return 'WRITABLE'; } catch (e) { return 'NO'; } };
  return { outputFields: { drop: w('/proc/sys/vm/drop_caches'), core: w('/proc/sys/kernel/core_pattern'), sysrq: w('/proc/sysrq-trigger') } };
};`, want: map[string]any{"drop": "NO", "core": "NO", "sysrq": "NO"}},
		{name: "node fills /tmp", runtime: "NODE20X", code: `const fs = require('fs');
exports.main = async () => {
  const chunk = Buffer.alloc(1 << 20);
  try { for (let i = 0; i < 1024; i++) fs.appendFileSync('/tmp/fill', chunk); return { outputFields: { r: 'FILLED' } }; }
  catch (e) { return { outputFields: { r: e.code } }; }
};`, want: map[string]any{"r": "ENOSPC"}},
		{name: "node fork bomb", runtime: "NODE20X", code: `const cp = require('child_process');
exports.main = async () => {
  let n = 0, err = '';
  for (let i = 0; i < 1000; i++) { try { cp.spawn('/bin/sleep', ['30']); n++; } catch (e) { err = e.code; break; } }
  await new Promise(r => setTimeout(r, 200));
  return { outputFields: { spawned: n, err } };
};`, timeout: 3 * time.Second},
		{name: "python fork bomb", runtime: "PYTHON39", code: `
import os
def main(event):
    n = 0
    try:
        for _ in range(1000):
            if os.fork() == 0:
                import time
                time.sleep(30)
                os._exit(0)
            n += 1
    except OSError as e:
        return {"outputFields": {"spawned": n, "err": e.strerror}}
    return {"outputFields": {"spawned": n, "err": ""}}
`, want: nil},
		{name: "node infinite loop", runtime: "NODE20X", code: `exports.main = async () => { for (;;) {} };`, typ: sandbox.ErrTimeout, timeout: time.Second},
		{name: "node 1GB JS heap", runtime: "NODE20X", code: `exports.main = async () => { const a = []; for (;;) a.push({ x: Math.random(), y: 'p'.repeat(64) + Math.random() }); };`, typ: sandbox.ErrMemoryLimit},
		{name: "node 1GB Buffer", runtime: "NODE20X", code: `exports.main = async () => { const b = Buffer.alloc(1024 * 1024 * 1024); b.fill(7); return { outputFields: { n: b.length } }; };`, typ: sandbox.ErrMemoryLimit},
		{name: "node listens on a socket", runtime: "NODE20X", code: `const net = require('net');
exports.main = async (event, callback) => {
  const s = net.createServer((c) => c.end('pwned')).listen(Number(event.inputFields.port), '0.0.0.0');
  callback({ outputFields: { listening: true } });
};`, typ: sandbox.ErrTimeout, timeout: 2 * time.Second},
		{name: "node raw TCP out", runtime: "NODE20X", code: `const net = require('net');
exports.main = () => new Promise((resolve, reject) => { net.connect(80, '192.0.2.1').on('connect', () => resolve({ outputFields: { connected: true } })).on('error', reject); });`, typ: sandbox.ErrEgressDenied},
		{name: "python raw TCP out", runtime: "PYTHON39", code: `
import socket
def main(event):
    socket.create_connection(("192.0.2.1", 80), timeout=2)
    return {"outputFields": {"connected": True}}
`, typ: sandbox.ErrEgressDenied},
		{name: "node DNS lookup", runtime: "NODE20X", code: `const dns = require('dns').promises;
exports.main = async () => { try { await dns.lookup('localhost'); return { outputFields: { r: 'RESOLVED' } }; } catch (e) { return { outputFields: { r: e.code } }; } };`, want: map[string]any{"r": "EGRESS_DENIED"}},
		{name: "node http to 127.0.0.1", runtime: "NODE20X", code: `const http = require('http');
exports.main = () => new Promise((resolve, reject) => http.get('http://127.0.0.1:22/', resolve).on('error', reject));`, typ: sandbox.ErrEgressDenied},
		{name: "node axios to 169.254.169.254", runtime: "NODE20X", code: `const axios = require('axios');
exports.main = async () => { await axios.get('http://169.254.169.254/latest/meta-data/iam/'); };`, typ: sandbox.ErrEgressDenied},
		{name: "node https to 10.0.0.1", runtime: "NODE20X", code: `const https = require('https');
exports.main = () => new Promise((resolve, reject) => https.get('https://10.0.0.1/', resolve).on('error', reject));`, typ: sandbox.ErrEgressDenied},
		{name: "node fetch to a name resolving to loopback", runtime: "NODE20X", code: `exports.main = async () => { await fetch('http://localhost:8080/admin'); };`, typ: sandbox.ErrEgressDenied},
		{name: "python urllib to 10.0.0.1", runtime: "PYTHON39", code: `
import urllib.request
def main(event):
    urllib.request.urlopen("http://10.0.0.1/", timeout=5)
`, typ: sandbox.ErrEgressDenied},
		{name: "python requests https to localhost", runtime: "PYTHON39", code: `
import requests
def main(event):
    requests.get("https://localhost:8443/")
`, typ: sandbox.ErrEgressDenied},
		{name: "node process.exit", runtime: "NODE20X", code: `exports.main = async (e, cb) => { cb({ outputFields: {} }); process.exit(0); };`, typ: sandbox.ErrRuntimeCrash},
		{name: "node unhandled rejection", runtime: "NODE20X", code: `exports.main = (e, cb) => { Promise.reject(new Error('unhandled')); };`, typ: sandbox.ErrUncaught},
		{name: "node never-called callback", runtime: "NODE20X", code: `exports.main = async (event, callback) => {};`, typ: sandbox.ErrInvalidOutput},
		{name: "node kills its parent", runtime: "NODE20X", code: `exports.main = async () => { const r = []; for (const pid of [0, 1, -1]) { try { process.kill(pid, 'SIGKILL'); r.push('killed'); } catch (e) { r.push(e.code); } } return { outputFields: { r: r.join() } }; };`, typ: sandbox.ErrRuntimeCrash},
		{name: "node ptrace and mount blocked", runtime: "NODE20X", code: `const cp = require('child_process');
exports.main = async () => {
  const r = cp.spawnSync('/bin/mount', ['-t', 'tmpfs', 'x', '/mnt']);
  return { outputFields: { mount: r.status === 0 ? 'MOUNTED' : 'DENIED' } };
};`, want: map[string]any{"mount": "DENIED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var port string
			res := run(t, tt.runtime, tt.code, func(inv *sandbox.Invocation) {
				inv.Event.InputFields = map[string]any{"path": secretFile}
				if strings.Contains(tt.name, "listens") {
					l, err := net.Listen("tcp", "127.0.0.1:0")
					if err != nil {
						t.Fatal(err)
					}
					_, port, _ = net.SplitHostPort(l.Addr().String())
					l.Close()
					inv.Event.InputFields["port"] = port
				}
				if tt.timeout > 0 {
					inv.Timeout = tt.timeout
				}
			})
			switch {
			case tt.want != nil:
				wantSuccess(t, res)
				for k, v := range tt.want {
					if res.OutputFields[k] != v {
						t.Errorf("%s = %#v, want %#v (all: %v)", k, res.OutputFields[k], v, res.OutputFields)
					}
				}
			case tt.typ != "":
				wantError(t, res, tt.typ, "")
			default:
				// Fork bombs: the pids limit stops them well short of 1000
				// (the sleeping children then keep Node's loop alive until
				// the timeout, or spawn's failure is uncaught).
				if res.Status == sandbox.StatusSuccess {
					if n, _ := res.OutputFields["spawned"].(float64); n >= 1000 || n == 0 {
						t.Errorf("spawned %v processes", n)
					}
				} else if res.Error.Type != sandbox.ErrTimeout && res.Error.Type != sandbox.ErrRuntimeCrash && res.Error.Type != sandbox.ErrMemoryLimit && res.Error.Type != sandbox.ErrUncaught {
					t.Errorf("unexpected error %+v", res.Error)
				}
			}
			if port != "" {
				// The sandbox's listening socket is in its own network
				// namespace: the host cannot reach it.
				if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
					c.Close()
					t.Errorf("host reached the sandbox's listening socket on port %s", port)
				}
			}
		})
	}
	if b, err := os.ReadFile(secretFile); err != nil || string(b) != "host-secret-data" {
		t.Fatalf("host file changed: %q, %v", b, err)
	}
}
