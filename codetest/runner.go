package codetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
	"github.com/spokehq/spoke/sandbox/egress"
)

// Options configure a [Runner].
type Options struct {
	// Repeat runs each case this many times (at least once) and reports
	// cases whose result changes between runs as flaky.
	Repeat int
	// Update rewrites the snapshots of the cases run instead of comparing.
	Update bool
	// Runtimes lists the runtimes to keep a spare worker of; default both.
	Runtimes []string
	// Logger receives sandbox and API events; default: discarded.
	Logger *slog.Logger
	// OnStart is called before each case runs (for a progress line).
	OnStart func(c *Case)
}

// Runner runs cases in one warm sandbox pool, against one in-process CRM
// and one stub of external services. Cases run one at a time: the stub
// answers from the running case's declarations. A Runner is not safe for
// concurrent use.
type Runner struct {
	opts Options
	pool *sandbox.Pool
	crm  *crm
	stub *stub
	snap *snapshots
	code map[string]string
}

// NewRunner starts the CRM, the stub and the sandbox pool.
func NewRunner(ctx context.Context, opts Options) (*Runner, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Repeat < 1 {
		opts.Repeat = 1
	}
	r := &Runner{opts: opts, snap: &snapshots{files: map[string]*snapshotFile{}}}
	var err error
	if r.crm, err = startCRM(ctx, opts.Logger); err != nil {
		return nil, err
	}
	// One CA signs the stub's certificates and is the one the sandbox
	// trusts, so HTTPS to declared hosts works as in production; the same
	// CA serves the interception of api.hubapi.com, which reaches the
	// in-process CRM at APIURL. It may sign for any name, which is safe
	// only because every external connection goes to the stub.
	ca, err := egress.NewTestCA()
	if err != nil {
		r.crm.Close()
		return nil, fmt.Errorf("codetest: %w", err)
	}
	if r.stub, err = startStub(ca.Leaf); err != nil {
		r.crm.Close()
		return nil, err
	}
	cfg := sandbox.Config{
		CA:             ca,
		APIURL:         r.crm.url,
		EgressRedirect: r.stub.Addr(),
		SpareRuntimes:  opts.Runtimes,
		Logger:         opts.Logger,
	}
	if r.pool, err = sandbox.NewPool(cfg); err != nil {
		r.stub.Close()
		r.crm.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the pool, the stub and the CRM and removes the CRM's store.
func (r *Runner) Close() error {
	r.pool.Close()
	r.stub.Close()
	return r.crm.Close()
}

// APIURL is the in-process CRM's URL.
func (r *Runner) APIURL() string { return r.crm.url }

// Result is the outcome of one case (over every repeat).
type Result struct {
	Case *Case `json:"-"`
	// Passed is true when every run met every expectation.
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
	// Runs and PassedRuns count repeats; Flaky is set when runs differed.
	Runs       int  `json:"runs"`
	PassedRuns int  `json:"passedRuns"`
	Flaky      bool `json:"flaky,omitempty"`
	// Duration is the code's run time (the first run's).
	Duration time.Duration `json:"-"`
	// Outcome is the first run's outcome.
	Outcome *Outcome `json:"outcome"`
	// Snapshot is "", "matched", "mismatched", "written" or "unchanged".
	Snapshot string `json:"snapshot,omitempty"`
}

// Outcome is what one run of a case produced (secret values redacted).
type Outcome struct {
	Status       sandbox.Status      `json:"status"`
	OutputFields map[string]any      `json:"outputFields"`
	Error        *sandbox.Error      `json:"error,omitempty"`
	Logs         string              `json:"logs"`
	DurationMs   float64             `json:"durationMs"`
	MemoryBytes  int64               `json:"memoryBytes"`
	Writes       *Writes             `json:"crmWrites,omitempty"`
	Calls        []Call              `json:"httpCalls,omitempty"`
	Runtime      sandbox.RuntimeInfo `json:"runtime"`

	secretsRaw []Secret
}

// Run runs each case (Options.Repeat times) and returns one result per
// case, in order. An infrastructure failure (the sandbox could not start
// a worker, the store failed) fails the case with its message.
func (r *Runner) Run(ctx context.Context, cases []*Case) []*Result {
	var out []*Result
	for _, c := range cases {
		if ctx.Err() != nil {
			break
		}
		if r.opts.OnStart != nil {
			r.opts.OnStart(c)
		}
		out = append(out, r.runCase(ctx, c))
	}
	return out
}

// Flush writes the snapshot files --update changed.
func (r *Runner) Flush() error { return r.snap.flush(r.opts.Update) }

func (r *Runner) runCase(ctx context.Context, c *Case) *Result {
	res := &Result{Case: c, Runs: r.opts.Repeat}
	var sigs []string
	var failures [][]string
	for i := 0; i < r.opts.Repeat; i++ {
		oc, fails := r.runOnce(ctx, c)
		if i == 0 {
			res.Outcome = oc
			if oc != nil {
				res.Duration = time.Duration(oc.DurationMs * float64(time.Millisecond))
			}
		}
		if len(fails) == 0 {
			res.PassedRuns++
		}
		failures = append(failures, fails)
		sigs = append(sigs, signature(oc, fails))
	}
	for _, s := range sigs[1:] {
		if s != sigs[0] {
			res.Flaky = true
		}
	}
	// Report the first failing run's failures.
	for _, f := range failures {
		if len(f) > 0 {
			res.Failures = f
			break
		}
	}
	if res.Flaky {
		res.Failures = append([]string{fmt.Sprintf("flaky: the result changed between runs (%d of %d passed)", res.PassedRuns, res.Runs)}, res.Failures...)
	}
	if res.Outcome != nil && len(res.Failures) == 0 || res.Outcome != nil && r.opts.Update {
		status, diff := r.snap.check(c, res.Outcome, r.opts.Update)
		res.Snapshot = status
		if status == "mismatched" {
			res.Failures = append(res.Failures, "snapshot differs (run with --update to accept):\n"+diff)
		}
	}
	res.Passed = len(res.Failures) == 0
	return res
}

// signature sums up a run for flakiness: pass or fail, status, error type
// and outputs.
func signature(oc *Outcome, fails []string) string {
	if oc == nil {
		return "infrastructure: " + strings.Join(fails, "; ")
	}
	et := ""
	if oc.Error != nil {
		et = string(oc.Error.Type)
	}
	return fmt.Sprintf("%v|%s|%s|%s", len(fails) == 0, oc.Status, et, render(oc.OutputFields))
}

// source reads (once per runner) the code under test.
func (r *Runner) source(path string) (string, error) {
	if r.code == nil {
		r.code = map[string]string{}
	}
	if s, ok := r.code[path]; ok {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	r.code[path] = string(b)
	return string(b), nil
}

// Forget drops cached sources, so that a watch run reads changed files.
func (r *Runner) Forget() {
	r.code = nil
	r.snap = &snapshots{files: map[string]*snapshotFile{}}
}

// usesCRM reports whether a case needs an account of its own.
func usesCRM(c *Case) bool {
	if len(c.CRM.Records) > 0 || len(c.CRM.Properties) > 0 || c.Expect.CRM != nil {
		return true
	}
	return slices.ContainsFunc(c.Secrets, func(s Secret) bool { return s.CRMToken })
}

// runOnce runs a case once and checks it. A nil outcome means the case
// could not run; the failures say why.
func (r *Runner) runOnce(ctx context.Context, c *Case) (*Outcome, []string) {
	code, err := r.source(c.Code)
	if err != nil {
		return nil, []string{"cannot read the code: " + err.Error()}
	}
	secrets := map[string]string{}
	var acct *account
	if usesCRM(c) {
		if acct, err = r.crm.seed(ctx, c); err != nil {
			return nil, []string{"cannot seed the CRM: " + err.Error()}
		}
	}
	shown := slices.Clone(c.Secrets)
	for i, s := range shown {
		if s.CRMToken {
			shown[i].Value = r.crm.shared
		}
		secrets[s.Name] = shown[i].Value
	}
	if acct != nil {
		r.crm.use(acct.token)
	}
	ev := sandbox.Event{
		PortalID:           c.Event.PortalID,
		ActionDefinitionID: c.Event.ActionDefinitionID,
		ObjectType:         c.Event.ObjectType,
		ObjectID:           c.Event.ObjectID,
		InputFields:        c.Event.InputFields,
		CallbackID:         c.Event.CallbackID,
	}
	if ev.InputFields == nil {
		ev.InputFields = map[string]any{}
	}
	if ev.PortalID == 0 {
		ev.PortalID = 1
		if acct != nil {
			ev.PortalID = acct.id
		}
	}
	if ev.ActionDefinitionID == 0 {
		ev.ActionDefinitionID = 1
	}
	ref := c.Event.ObjectRef
	if ref == "" && ev.ObjectType == "" && len(c.CRM.Records) > 0 {
		ref = c.CRM.Records[0].Ref
	}
	if ref != "" && acct != nil {
		k := acct.refs[ref]
		t, _ := spoke.LookupObjectType(k.Type)
		ev.ObjectType, ev.ObjectID = strings.ToUpper(t.Singular), k.ID
	}
	if ev.ObjectType == "" {
		ev.ObjectType = "CONTACT"
	}
	if ev.ObjectID == 0 {
		ev.ObjectID = 1
	}
	if ev.CallbackID == "" {
		ev.CallbackID = "ap-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	sum := sha256.Sum256([]byte(code))
	r.stub.begin(c.HTTP)
	res, err := r.pool.Invoke(ctx, sandbox.Invocation{
		Runtime:  c.Runtime,
		Code:     code,
		Version:  "test:" + c.Code + ":" + hex.EncodeToString(sum[:8]),
		Event:    ev,
		Secrets:  secrets,
		Timeout:  c.Timeout,
		MemoryMB: c.MemoryMB,
	})
	calls := r.stub.end()
	if err != nil {
		return nil, []string{"the sandbox could not run the code: " + err.Error()}
	}
	oc := &Outcome{Status: res.Status, OutputFields: res.OutputFields, Error: res.Error, Logs: res.Logs,
		DurationMs: res.DurationMs, MemoryBytes: res.MemoryBytes, Calls: calls, Runtime: res.Runtime, secretsRaw: shown}
	if acct != nil {
		if oc.Writes, err = r.crm.writes(ctx, acct); err != nil {
			return nil, []string{"cannot read the CRM writes: " + err.Error()}
		}
	}
	fails := check(c, oc)
	// Checks see the real values; what is shown and stored never does.
	red := newRedactor(shown)
	for i := range fails {
		fails[i] = red.String(fails[i])
	}
	red.outcome(oc)
	return oc, fails
}

// redactor replaces secret values with [secret NAME].
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []Secret) *redactor {
	var pairs []string
	sorted := slices.Clone(secrets)
	// Longer values first, so that a value containing another is replaced
	// whole.
	slices.SortFunc(sorted, func(a, b Secret) int { return len(b.Value) - len(a.Value) })
	for _, s := range sorted {
		if s.Value != "" {
			pairs = append(pairs, s.Value, "[secret "+s.Name+"]")
		}
	}
	return &redactor{strings.NewReplacer(pairs...)}
}

func (r *redactor) String(s string) string { return r.r.Replace(s) }

// outcome redacts every string an outcome shows.
func (r *redactor) outcome(oc *Outcome) {
	oc.Logs = r.String(oc.Logs)
	if oc.Error != nil {
		e := *oc.Error
		e.Message, e.Stack = r.String(e.Message), r.String(e.Stack)
		oc.Error = &e
	}
	oc.OutputFields = r.value(oc.OutputFields).(map[string]any)
	if oc.Writes != nil {
		for _, list := range [][]WrittenRecord{oc.Writes.Created, oc.Writes.Updated} {
			for i := range list {
				for k, v := range list[i].Properties {
					list[i].Properties[k] = r.String(v)
				}
			}
		}
	}
	for i := range oc.Calls {
		oc.Calls[i].URL = r.String(oc.Calls[i].URL)
	}
}

func (r *redactor) value(v any) any {
	switch x := v.(type) {
	case string:
		return r.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e)
		}
		return out
	}
	return v
}

// snapshots caches snapshot files for one run.
type snapshots struct {
	mu    sync.Mutex
	files map[string]*snapshotFile
}
