package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox"
)

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPoolLifecycle checks spares, warm reuse, the worker bound, idle
// eviction and Close on a pool of its own.
func TestPoolLifecycle(t *testing.T) {
	t.Parallel()
	p, err := sandbox.NewPool(sandbox.Config{
		MaxWorkers:    2,
		SpareWorkers:  1,
		SpareRuntimes: []string{sandbox.RuntimeNode},
		IdleTimeout:   time.Second,
		NodePreload:   []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, "a spare worker", func() bool { return p.Stats().Spares == 1 })

	code := `exports.main = async () => ({ outputFields: { pid: process.pid, t: Date.now() } });`
	inv := func(v string) sandbox.Result {
		res, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: code, Version: v})
		if err != nil {
			t.Fatal(err)
		}
		wantSuccess(t, res)
		return res
	}
	started := p.Stats().Started
	inv("v1") // takes the spare, and a replacement spare starts
	if s := p.Stats(); s.Started > started+1 || s.Idle != 1 {
		t.Fatalf("after first invocation: %+v (started before: %d)", s, started)
	}
	waitFor(t, "the spare to be replaced", func() bool { return p.Stats().Spares == 1 })
	inv("v1") // warm
	if s := p.Stats(); s.Workers != 2 || s.Idle != 1 {
		t.Fatalf("after warm invocation: %+v", s)
	}
	// A third binding in a pool of two evicts the least recently used.
	inv("v2")
	inv("v3")
	if s := p.Stats(); s.Workers > 2 {
		t.Fatalf("pool of 2 has %d workers", s.Workers)
	}
	waitFor(t, "idle workers to be evicted", func() bool { return p.Stats().Idle == 0 })

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: code}); !errors.Is(err, sandbox.ErrClosed) {
		t.Fatalf("Invoke after Close: %v", err)
	}
}

// TestInvokeContextCancelled checks that cancelling ctx stops the code.
func TestInvokeContextCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := pool(t).Invoke(ctx, sandbox.Invocation{Runtime: "PYTHON39", Code: "def main(event):\n    while True: pass\n", Version: version(t)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

// TestMemoryLimitWithoutCgroups checks the fallback used where cgroup v1
// controllers are not writable: Node's heap limit, Python's address-space
// limit and RSS polling.
func TestMemoryLimitWithoutCgroups(t *testing.T) {
	t.Parallel()
	p, err := sandbox.NewPool(sandbox.Config{NoCgroups: true, SpareWorkers: -1, MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tests := []struct{ name, runtime, code string }{
		{"node heap", "NODE20X", `exports.main = async () => { const a = []; for (;;) a.push({ x: Math.random(), s: 'p'.repeat(32) + Math.random() }); };`},
		{"node buffer", "NODE20X", `exports.main = async () => { const b = Buffer.alloc(1 << 30, 1); return { outputFields: { n: b.length } }; };`},
		{"python", "PYTHON39", "def main(event):\n    b = bytearray(1 << 30)\n    return {'outputFields': {'n': len(b)}}\n"},
		{"python list", "PYTHON39", "def main(event):\n    a = []\n    while True:\n        a.append('x' * 1000 + str(len(a)))\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: tt.runtime, Code: tt.code, Version: version(t), Timeout: 15 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, res, sandbox.ErrMemoryLimit, "")
		})
	}
	// The pool still works afterwards.
	res, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: `exports.main = async () => ({ outputFields: { ok: true } });`, Version: version(t)})
	if err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, res)
}

// TestCloseStopsInvocationsInFlight checks that Close ends running code.
func TestCloseStopsInvocationsInFlight(t *testing.T) {
	t.Parallel()
	p, err := sandbox.NewPool(sandbox.Config{SpareWorkers: -1, MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: `exports.main = async () => { for (;;) {} };`, Timeout: time.Minute})
		errc <- err
	}()
	waitFor(t, "the worker to start", func() bool { return p.Stats().Workers == 1 })
	time.Sleep(300 * time.Millisecond)
	p.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, sandbox.ErrClosed) {
			t.Fatalf("Invoke returned %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Invoke still running 10 s after Close")
	}
}

// TestWarmWorkersPerSecretSet checks that a warm worker never serves an
// invocation with other secrets or another allowlist.
func TestWarmWorkersPerSecretSet(t *testing.T) {
	t.Parallel()
	code := `let n = 0; exports.main = async () => ({ outputFields: { n: ++n, s: process.env.S || '' } });`
	v := version(t)
	call := func(secrets map[string]string, allow []string) (float64, string) {
		res, err := pool(t).Invoke(context.Background(), sandbox.Invocation{Runtime: "NODE20X", Code: code, Version: v, Secrets: secrets, EgressAllowlist: allow})
		if err != nil {
			t.Fatal(err)
		}
		wantSuccess(t, res)
		return res.OutputFields["n"].(float64), res.OutputFields["s"].(string)
	}
	steps := []struct {
		secrets map[string]string
		allow   []string
		n       float64
		s       string
	}{
		{map[string]string{"S": "alpha"}, nil, 1, "alpha"},
		{map[string]string{"S": "alpha"}, nil, 2, "alpha"},
		{map[string]string{"S": "beta"}, nil, 1, "beta"},
		{nil, nil, 1, ""},
		{nil, []string{"S", "alpha"}, 1, ""},
	}
	for i, st := range steps {
		if n, s := call(st.secrets, st.allow); n != st.n || s != st.s {
			t.Fatalf("step %d: n=%v s=%q, want n=%v s=%q", i, n, s, st.n, st.s)
		}
	}
}

// TestHandlerStyles checks the less common handler shapes.
func TestHandlerStyles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, runtime, code string
		want                map[string]any
	}{
		{"node sync return", "NODE20X", `exports.main = (event) => ({ outputFields: { id: event.object.objectId } });`, map[string]any{"id": float64(789)}},
		{"node async return, no outputs", "NODE20X", `exports.main = async (event) => { await new Promise(r => setTimeout(r, 5)); };`, map[string]any{}},
		{"node callback without outputFields", "NODE20X", `exports.main = async (event, callback) => callback({});`, map[string]any{}},
		{"node module.exports", "NODE20X", `module.exports = { main: async () => ({ outputFields: { ok: true } }) };`, map[string]any{"ok": true}},
		{"python async main", "PYTHON39", "import asyncio\nasync def main(event):\n    await asyncio.sleep(0.01)\n    return {'outputFields': {'id': event['object']['objectId']}}\n", map[string]any{"id": float64(789)}},
		{"python returns None", "PYTHON39", "def main(event):\n    print('side effect only')\n", map[string]any{}},
		{"python numpy outputs", "PYTHON39", "import numpy as np\ndef main(event):\n    return {'outputFields': {'n': np.int64(3), 'x': np.float64(1.5)}}\n", map[string]any{"n": float64(3), "x": 1.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, tt.runtime, tt.code, nil)
			wantSuccess(t, res)
			if len(res.OutputFields) != len(tt.want) {
				t.Fatalf("outputs %v, want %v", res.OutputFields, tt.want)
			}
			for k, v := range tt.want {
				if res.OutputFields[k] != v {
					t.Errorf("%s = %#v, want %#v", k, res.OutputFields[k], v)
				}
			}
		})
	}
}

// TestWaitersInLine checks a full pool under many concurrent invocations of
// one binding: each finished invocation hands its worker to the next in
// line, waiters that give up leave the line without taking a worker with
// them, and the pool serves everyone else.
func TestWaitersInLine(t *testing.T) {
	t.Parallel()
	p, err := sandbox.NewPool(sandbox.Config{MaxWorkers: 2, SpareWorkers: -1, NodePreload: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	inv := sandbox.Invocation{Runtime: "NODE20X", Version: "line",
		Code: `exports.main = async (e) => { await new Promise((r) => setTimeout(r, 5)); return { outputFields: { n: e.inputFields.n } }; };`}
	const n = 60
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			ctx := context.Background()
			if i%5 == 4 {
				// Gives up while waiting in line.
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
				defer cancel()
			}
			in := inv
			in.Event.InputFields = map[string]any{"n": float64(i)}
			res, err := p.Invoke(ctx, in)
			switch {
			case err != nil && i%5 == 4 && errors.Is(err, context.DeadlineExceeded):
				errs <- nil
			case err != nil:
				errs <- err
			case res.Status != sandbox.StatusSuccess || res.OutputFields["n"] != float64(i):
				errs <- errors.New("wrong result")
			default:
				errs <- nil
			}
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if s := p.Stats(); s.Workers > 2 || s.Idle != s.Workers {
		t.Fatalf("after the rush: %+v; want at most 2 workers, all idle", s)
	}
	// Both workers are still there to serve.
	if res, err := p.Invoke(context.Background(), inv); err != nil || res.Status != sandbox.StatusSuccess {
		t.Fatalf("after the rush: %v %+v", err, res)
	}
}
