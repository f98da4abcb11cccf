package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// The tests share one pool: starting interpreters is the expensive part, and
// sharing also exercises binding, eviction and replacement under load.
var (
	shared     *sandbox.Pool
	sharedErr  error
	sharedOnce sync.Once
	versionSeq atomic.Int64

	// echo is a tiny HTTP server standing in for the outside world. The
	// pool's operator allowlist lets sandboxes reach it.
	echo *httptest.Server
	// echoTLS is the same over HTTPS, with a certificate nobody trusts.
	echoTLS *httptest.Server
)

func TestMain(m *testing.M) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/404":
			w.WriteHeader(http.StatusNotFound)
		default:
			fmt.Fprintf(w, "hello %s %s", r.Method, r.URL.Path)
		}
	})
	echo = httptest.NewServer(handler)
	echoTLS = httptest.NewTLSServer(handler)
	code := m.Run()
	echoTLS.Close()
	if shared != nil {
		shared.Close()
	}
	echo.Close()
	os.Exit(code)
}

// pool returns the shared pool, skipping the test where bubblewrap is
// missing (run scripts/setup-sandbox.sh).
func pool(t testing.TB) *sandbox.Pool {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = sandbox.NewPool(sandbox.Config{
			APIURL:      "http://127.0.0.1:9", // unused by these tests
			AllowHosts:  []string{strings.TrimPrefix(echo.URL, "http://"), strings.TrimPrefix(echoTLS.URL, "https://")},
			MaxWorkers:  8,
			IdleTimeout: time.Minute,
		})
	})
	if sharedErr != nil {
		t.Fatalf("NewPool: %v (run scripts/setup-sandbox.sh)", sharedErr)
	}
	return shared
}

// version returns a version key no other test uses.
func version(t testing.TB) string {
	return fmt.Sprintf("%s#%d", t.Name(), versionSeq.Add(1))
}

func event() sandbox.Event {
	return sandbox.Event{
		PortalID: 123, ActionDefinitionID: 456, ObjectType: "CONTACT", ObjectID: 789,
		InputFields: map[string]any{"email": "ada@example.com", "n": 2},
		CallbackID:  "ap-123-456-7-8",
	}
}

// run invokes code once with a fresh version.
func run(t testing.TB, runtime, code string, mod func(*sandbox.Invocation)) sandbox.Result {
	t.Helper()
	inv := sandbox.Invocation{Runtime: runtime, Code: code, Version: version(t), Event: event(), Timeout: 10 * time.Second}
	if mod != nil {
		mod(&inv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := pool(t).Invoke(ctx, inv)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func wantSuccess(t testing.TB, res sandbox.Result) {
	t.Helper()
	if res.Status != sandbox.StatusSuccess {
		t.Fatalf("status %s, error %+v\nlogs:\n%s", res.Status, res.Error, res.Logs)
	}
}

func wantError(t testing.TB, res sandbox.Result, typ sandbox.ErrorType, msgPart string) {
	t.Helper()
	if res.Status != sandbox.StatusError || res.Error == nil {
		t.Fatalf("status %s, outputs %v, want ERROR %s\nlogs:\n%s", res.Status, res.OutputFields, typ, res.Logs)
	}
	if res.Error.Type != typ {
		t.Fatalf("error type %s (%s), want %s\nlogs:\n%s", res.Error.Type, res.Error.Message, typ, res.Logs)
	}
	if !strings.Contains(res.Error.Message, msgPart) {
		t.Fatalf("error message %q does not contain %q", res.Error.Message, msgPart)
	}
	if len(res.OutputFields) != 0 {
		t.Fatalf("outputs %v on error", res.OutputFields)
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runtime, code string
	}{
		{"node callback", "NODE20X", `
exports.main = async (event, callback) => {
  const email = event.inputFields['email'];
  console.log('email is', email);
  callback({ outputFields: { email, portal: event.origin.portalId, action: event.origin.actionDefinitionId,
    type: event.object.objectType, id: event.object.objectId, cb: event.callbackId, n: event.inputFields.n,
    secret: process.env.API_KEY, other: process.env.OTHER === undefined ? 'unset' : 'set',
    env: Object.keys(process.env).sort().join(',') } });
};`},
		{"node return (Node 24 style)", "NODE24X", `
exports.main = async (event) => {
  console.log('email is', event.inputFields.email);
  return { outputFields: { email: event.inputFields.email, portal: event.origin.portalId, action: event.origin.actionDefinitionId,
    type: event.object.objectType, id: event.object.objectId, cb: event.callbackId, n: event.inputFields.n,
    secret: process.env.API_KEY, other: process.env.OTHER === undefined ? 'unset' : 'set',
    env: Object.keys(process.env).sort().join(',') } };
};`},
		{"node16 alias, non-async callback", "NODE16X", `
exports.main = (event, callback) => {
  console.log('email is', event.inputFields.email);
  setTimeout(() => callback({ outputFields: { email: event.inputFields.email, portal: event.origin.portalId,
    action: event.origin.actionDefinitionId, type: event.object.objectType, id: event.object.objectId,
    cb: event.callbackId, n: event.inputFields.n, secret: process.env.API_KEY,
    other: process.env.OTHER === undefined ? 'unset' : 'set', env: Object.keys(process.env).sort().join(',') } }), 10);
};`},
		{"python", "PYTHON39", `
import os

def main(event):
    email = event.get('inputFields').get('email')
    print('email is', email)
    return {"outputFields": {"email": email, "portal": event["origin"]["portalId"],
        "action": event["origin"]["actionDefinitionId"], "type": event.get('object').get('objectType'),
        "id": event["object"]["objectId"], "cb": event["callbackId"], "n": event["inputFields"]["n"],
        "secret": os.getenv("API_KEY"), "other": "unset" if os.getenv("OTHER") is None else "set",
        "env": ",".join(sorted(k for k in os.environ if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "SPOKE_API_URL", "HOME", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")))}}
`},
	}
	os.Setenv("OTHER", "host-value") // must not leak into the sandbox
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tt.runtime, tt.code, func(inv *sandbox.Invocation) {
				inv.Secrets = map[string]string{"API_KEY": "key-123"}
			})
			wantSuccess(t, res)
			want := map[string]any{
				"email": "ada@example.com", "portal": float64(123), "action": float64(456), "type": "CONTACT",
				"id": float64(789), "cb": "ap-123-456-7-8", "n": float64(2), "secret": "key-123", "other": "unset",
				"env": "API_KEY",
			}
			for k, v := range want {
				if res.OutputFields[k] != v {
					t.Errorf("output %s = %#v, want %#v", k, res.OutputFields[k], v)
				}
			}
			if !strings.Contains(res.Logs, "email is ada@example.com") {
				t.Errorf("logs %q lack the console line", res.Logs)
			}
			wantName := sandbox.RuntimeNode
			if tt.runtime == "PYTHON39" {
				wantName = sandbox.RuntimePython
			}
			if res.Runtime.Name != wantName || res.Runtime.Version == "" {
				t.Errorf("runtime %+v", res.Runtime)
			}
			if res.DurationMs <= 0 || res.MemoryBytes <= 0 {
				t.Errorf("duration %v ms, memory %d bytes", res.DurationMs, res.MemoryBytes)
			}
		})
	}
}

// TestEventLoopDrains checks HubSpot's rule that the result is delivered
// only once the event loop is empty.
func TestEventLoopDrains(t *testing.T) {
	t.Parallel()
	res := run(t, "NODE20X", `
exports.main = async (event, callback) => {
  callback({ outputFields: { a: 1 } });
  setTimeout(() => console.log('after callback'), 200);
};`, nil)
	wantSuccess(t, res)
	if !strings.Contains(res.Logs, "after callback") || res.DurationMs < 200 {
		t.Fatalf("result delivered before the loop drained: %v ms, logs %q", res.DurationMs, res.Logs)
	}
}

// TestWarmState checks that module state persists between invocations of
// one version (like a warm Lambda container) and never crosses versions or
// accounts.
func TestWarmState(t *testing.T) {
	t.Parallel()
	codes := map[string]string{
		"NODE20X": `let n = 0; exports.main = async () => ({ outputFields: { n: ++n } });`,
		"PYTHON39": `
n = 0
def main(event):
    global n
    n += 1
    return {"outputFields": {"n": n}}
`,
	}
	for rt, code := range codes {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			v := version(t)
			call := func(v, account string) float64 {
				res, err := pool(t).Invoke(context.Background(), sandbox.Invocation{Runtime: rt, Code: code, Version: v, AccountID: account, Event: event()})
				if err != nil {
					t.Fatal(err)
				}
				wantSuccess(t, res)
				return res.OutputFields["n"].(float64)
			}
			if a, b := call(v, "acct-1"), call(v, "acct-1"); a != 1 || b != 2 {
				t.Fatalf("same version: n = %v then %v, want 1 then 2", a, b)
			}
			if c := call(v, "acct-2"); c != 1 {
				t.Fatalf("other account: n = %v, want 1", c)
			}
			if d := call(version(t), "acct-1"); d != 1 {
				t.Fatalf("other version: n = %v, want 1", d)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runtime, code string
		typ                 sandbox.ErrorType
		msg                 string
		timeout             time.Duration
	}{
		{"node timeout", "NODE20X", `exports.main = async () => { while (true) {} };`, sandbox.ErrTimeout, "timed out after 1.00 seconds", time.Second},
		{"python timeout", "PYTHON39", "def main(event):\n    while True:\n        pass\n", sandbox.ErrTimeout, "timed out", time.Second},
		{"node js heap 1GB", "NODE20X", `exports.main = async (e, cb) => { const a = []; for (let i = 0; i < 1024; i++) a.push(new Array(131072).fill(i + 0.5)); cb({ outputFields: { n: a.length } }); };`, sandbox.ErrMemoryLimit, "128 MB", 0},
		{"node buffer 1GB", "NODE20X", `exports.main = async (e, cb) => { const b = Buffer.alloc(1 << 30, 1); cb({ outputFields: { n: b.length } }); };`, sandbox.ErrMemoryLimit, "", 0},
		{"python 1GB", "PYTHON39", "def main(event):\n    b = bytearray(1 << 30)\n    return {'outputFields': {'n': len(b)}}\n", sandbox.ErrMemoryLimit, "", 0},
		{"node throw", "NODE20X", `exports.main = async () => { throw new Error('boom 42'); };`, sandbox.ErrUncaught, "boom 42", 0},
		{"node throw non-error", "NODE20X", `exports.main = async () => { throw 'plain string'; };`, sandbox.ErrUncaught, "plain string", 0},
		{"python raise", "PYTHON39", "def main(event):\n    raise ValueError('boom 42')\n", sandbox.ErrUncaught, "ValueError: boom 42", 0},
		{"node output too large", "NODE20X", `exports.main = async () => ({ outputFields: { big: 'x'.repeat(65001) } });`, sandbox.ErrOutputTooLarge, `"big"`, 0},
		{"python output too large", "PYTHON39", "def main(event):\n    return {'outputFields': {'big': 'x' * 65001}}\n", sandbox.ErrOutputTooLarge, "65000", 0},
		{"node callback string", "NODE20X", `exports.main = async (e, cb) => cb('done');`, sandbox.ErrInvalidOutput, "must be an object", 0},
		{"node outputFields array", "NODE20X", `exports.main = async () => ({ outputFields: [1, 2] });`, sandbox.ErrInvalidOutput, "outputFields must be an object", 0},
		{"node circular", "NODE20X", `exports.main = async (e, cb) => { const o = {}; o.o = o; cb({ outputFields: { o } }); };`, sandbox.ErrInvalidOutput, "serialisable", 0},
		{"node never-called callback", "NODE20X", `exports.main = (event, callback) => { console.log('forgot'); };`, sandbox.ErrInvalidOutput, "without calling callback", 0},
		{"node never-settling promise", "NODE20X", `exports.main = (event, callback) => new Promise(() => {});`, sandbox.ErrInvalidOutput, "without calling callback", 0},
		{"python returns list", "PYTHON39", "def main(event):\n    return [1, 2]\n", sandbox.ErrInvalidOutput, "dict", 0},
		{"python unserialisable", "PYTHON39", "def main(event):\n    return {'outputFields': {'s': {1, 2}}}\n", sandbox.ErrInvalidOutput, "serialisable", 0},
		{"node explicit rate limit", "NODE20X", `class RateLimitError extends Error { constructor(m) { super(m); this.name = 'RateLimitError'; } }
exports.main = async () => { throw new RateLimitError('slow down'); };`, sandbox.ErrRateLimited, "slow down", 0},
		{"node axios 429 rethrown", "NODE20X", `const axios = require('axios');
exports.main = async () => { try { await axios.get(process.env.ECHO + '/429'); } catch (err) { throw err; } };`, sandbox.ErrRateLimited, "429", 0},
		{"node axios 503 rethrown", "NODE20X", `const axios = require('axios');
exports.main = async () => { await axios.post(process.env.ECHO + '/503', { a: 1 }); };`, sandbox.ErrRateLimited, "503", 0},
		{"node wrapped 503 (cause)", "NODE20X", `const axios = require('axios');
exports.main = async () => { try { await axios.get(process.env.ECHO + '/503'); } catch (err) { throw new Error('sync failed', { cause: err }); } };`, sandbox.ErrRateLimited, "sync failed", 0},
		{"python raise from 503", "PYTHON39", "import os, requests\ndef main(event):\n    try:\n        requests.get(os.environ['ECHO'] + '/503').raise_for_status()\n    except requests.HTTPError as e:\n        raise RuntimeError('sync failed') from e\n", sandbox.ErrRateLimited, "sync failed", 0},
		{"node 404 is not retried", "NODE20X", `const axios = require('axios');
exports.main = async () => { await axios.get(process.env.ECHO + '/404'); };`, sandbox.ErrUncaught, "", 0},
		{"python requests 429", "PYTHON39", "import os, requests\ndef main(event):\n    r = requests.get(os.environ['ECHO'] + '/429')\n    r.raise_for_status()\n", sandbox.ErrRateLimited, "429", 0},
		{"node egress denied", "NODE20X", `exports.main = async () => { await fetch('http://10.0.0.1/'); };`, sandbox.ErrEgressDenied, "10.0.0.1", 0},
		{"python egress denied", "PYTHON39", "import requests\ndef main(event):\n    requests.get('http://169.254.169.254/latest/meta-data/')\n", sandbox.ErrEgressDenied, "EGRESS_DENIED", 0},
		{"node syntax", "NODE20X", `exports.main = async (event, callback) => { callback({ outputFields: { } ; };`, sandbox.ErrSyntax, "Unexpected token", 0},
		{"python syntax", "PYTHON39", "def main(event)\n    return {}\n", sandbox.ErrSyntax, "SyntaxError", 0},
		{"node process.exit", "NODE20X", `exports.main = async () => { process.exit(3); };`, sandbox.ErrRuntimeCrash, "status 3", 0},
		{"python os._exit", "PYTHON39", "import os\ndef main(event):\n    os._exit(4)\n", sandbox.ErrRuntimeCrash, "status 4", 0},
		{"python sys.exit", "PYTHON39", "import sys\ndef main(event):\n    sys.exit(0)\n", sandbox.ErrRuntimeCrash, "exit", 0},
		{"node unhandled rejection", "NODE20X", `exports.main = async (e, cb) => { Promise.reject(new Error('nobody catches me')); setTimeout(() => cb({ outputFields: {} }), 20); };`, sandbox.ErrUncaught, "nobody catches me", 0},
		{"node async throw", "NODE20X", `exports.main = (e, cb) => { setTimeout(() => { throw new TypeError('late'); }, 5); };`, sandbox.ErrUncaught, "late", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tt.runtime, tt.code, func(inv *sandbox.Invocation) {
				inv.Secrets = map[string]string{"ECHO": echo.URL}
				if tt.timeout > 0 {
					inv.Timeout = tt.timeout
				}
			})
			wantError(t, res, tt.typ, tt.msg)
			if tt.typ == sandbox.ErrUncaught && tt.runtime == "NODE20X" && !strings.Contains(tt.name, "non-error") && res.Error.Stack == "" {
				t.Errorf("no stack for %s", tt.name)
			}
		})
	}
}

// TestWorkerReplacedAfterFailure checks that a failure that may leave a
// worker unhealthy does not affect the next invocation of the same version.
func TestWorkerReplacedAfterFailure(t *testing.T) {
	t.Parallel()
	code := `
let calls = 0;
exports.main = async (event) => {
  calls++;
  if (event.inputFields.mode === 'exit') process.exit(1);
  if (event.inputFields.mode === 'hang') { while (true) {} }
  return { outputFields: { calls } };
};`
	v := version(t)
	call := func(mode string) sandbox.Result {
		ev := event()
		ev.InputFields = map[string]any{"mode": mode}
		res, err := pool(t).Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: code, Version: v, Event: ev, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	wantSuccess(t, call("ok"))
	wantError(t, call("exit"), sandbox.ErrRuntimeCrash, "")
	wantSuccess(t, call("ok"))
	wantError(t, call("hang"), sandbox.ErrTimeout, "")
	res := call("ok")
	wantSuccess(t, res)
	if res.OutputFields["calls"] != float64(1) {
		t.Fatalf("calls = %v after a timeout, want a fresh worker (1)", res.OutputFields["calls"])
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	t.Run("redacted", func(t *testing.T) {
		t.Parallel()
		for _, rt := range []string{"NODE20X", "PYTHON39"} {
			code := `exports.main = async () => { console.log('token=' + process.env.TOKEN); console.error(process.env.TOKEN); throw new Error('bad ' + process.env.TOKEN); };`
			if rt == "PYTHON39" {
				code = "import os, sys\ndef main(event):\n    print('token=' + os.environ['TOKEN'])\n    print(os.environ['TOKEN'], file=sys.stderr)\n    raise RuntimeError('bad ' + os.environ['TOKEN'])\n"
			}
			res := run(t, rt, code, func(inv *sandbox.Invocation) {
				inv.Secrets = map[string]string{"TOKEN": "pat-na1-0123456789abcdef"}
			})
			wantError(t, res, sandbox.ErrUncaught, "bad [REDACTED]")
			all := res.Logs + res.Error.Message + res.Error.Stack
			if strings.Contains(all, "0123456789abcdef") || !strings.Contains(res.Logs, "token=[REDACTED]") {
				t.Fatalf("%s: secret not redacted: logs %q, error %+v", rt, res.Logs, res.Error)
			}
		}
	})
	t.Run("capped", func(t *testing.T) {
		t.Parallel()
		res := run(t, "NODE20X", `exports.main = async () => { for (let i = 0; i < 5000; i++) console.log('line %d %s', i, 'x'.repeat(100)); return { outputFields: {} }; };`, nil)
		wantSuccess(t, res)
		if len(res.Logs) > sandbox.LogCap+100 || !strings.Contains(res.Logs, "[log truncated at 64 KB]") {
			t.Fatalf("logs are %d bytes, marker present %v", len(res.Logs), strings.Contains(res.Logs, "truncated"))
		}
	})
	t.Run("timestamps and levels", func(t *testing.T) {
		t.Parallel()
		res := run(t, "NODE20X", `exports.main = async () => { console.warn('careful'); process.stdout.write('raw\n'); return {}; };`, nil)
		wantSuccess(t, res)
		lines := strings.Split(strings.TrimSpace(res.Logs), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "\tWARN\tcareful") || !strings.HasPrefix(lines[0], time.Now().UTC().Format("2006-01-02T")) {
			t.Fatalf("logs %q", res.Logs)
		}
	})
}

func TestConcurrentInvocationsUseSeveralWorkers(t *testing.T) {
	t.Parallel()
	code := `const id = Math.random().toString(36); exports.main = async () => { await new Promise(r => setTimeout(r, 300)); return { outputFields: { id } }; };`
	v := version(t)
	var wg sync.WaitGroup
	ids := make(chan string, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := pool(t).Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: code, Version: v, Event: event()})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Status != sandbox.StatusSuccess {
				t.Errorf("%+v", res.Error)
				return
			}
			ids <- res.OutputFields["id"].(string)
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) < 2 {
		t.Fatalf("3 concurrent invocations ran in %d worker(s)", len(seen))
	}
}

func TestInvalidInvocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		inv  sandbox.Invocation
	}{
		{"unknown runtime", sandbox.Invocation{Runtime: "RUBY", Code: "x"}},
		{"secrets too long", sandbox.Invocation{Runtime: "NODE20X", Code: "x", Secrets: map[string]string{"A": strings.Repeat("a", 1001)}}},
		{"bad secret name", sandbox.Invocation{Runtime: "NODE20X", Code: "x", Secrets: map[string]string{"A=B": "x"}}},
	}
	for _, tt := range tests {
		if _, err := pool(t).Invoke(context.Background(), tt.inv); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestParseRuntime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"NODE20X": "NODE20X", "node16x": "NODE20X", "NODE24X": "NODE20X", "PYTHON39": "PYTHON39"} {
		if got, err := sandbox.ParseRuntime(in); err != nil || got != want {
			t.Errorf("ParseRuntime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := sandbox.ParseRuntime("JAVA"); err == nil {
		t.Error("ParseRuntime(JAVA) succeeded")
	}
	for in, want := range map[string]string{"a.js": "NODE20X", "b.py": "PYTHON39", "c.rb": ""} {
		if got := sandbox.RuntimeForFile(in); got != want {
			t.Errorf("RuntimeForFile(%q) = %q, want %q", in, got, want)
		}
	}
}
