package engine

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
	"github.com/spokehq/spoke/internal/redact"
	"github.com/spokehq/spoke/sandbox"
)

// Retry schedule of rate-limited failures, as HubSpot documents it: first
// after one minute, then at growing intervals at most eight hours apart,
// for up to three days.
const (
	FirstRetry  = time.Minute
	MaxRetryGap = 8 * time.Hour
	RetryWindow = 72 * time.Hour
)

// RetryDelay is the wait before retry number n (1 for the first retry):
// one minute, doubling, capped at eight hours.
func RetryDelay(n int) time.Duration {
	d := FirstRetry
	for i := 1; i < n; i++ {
		d *= 2
		if d >= MaxRetryGap {
			return MaxRetryGap
		}
	}
	return d
}

// outcome is what an action did, before it is turned into a step.
type outcome struct {
	next       string // the action to run next; "" ends the path
	wait       time.Duration
	waitReason string
	writes     map[string]string
	outputs    map[string]string // custom code outputs, for FIELD_DATA
	exec       *spoke.Execution
	err        *spoke.ActionError
	retryable  bool
	code       bool // ran custom code (counts against the quota)
	// effects are the action's writes besides the record's properties
	// (records to create, static list memberships).
	effects []spoke.StepEffect
	// rawOutputs are custom code's outputFields as the code returned them,
	// for test runs, which answer as `spoke run` does.
	rawOutputs map[string]any
}

// maxActionsPerStep bounds how many actions one enrollment runs before its
// checkpoint, so a GOTO loop cannot hold a runner.
const maxActionsPerStep = 32

// external reports whether an action reaches outside Spoke (custom code,
// webhooks). A step runs at most one, so its result is checkpointed before
// the next one starts.
func external(a *spoke.Action) bool {
	return a.Type == spoke.ActionCustomCode || a.Type == spoke.ActionWebhook
}

// step runs the current action of an enrollment and the actions after it
// until the enrollment waits, ends, or would start a second external
// action, and returns the step to commit. Later actions see the earlier
// actions' writes. With test set, quotas and rate limits do not apply.
func (e *Engine) step(ctx context.Context, f *spoke.Flow, en *spoke.Enrollment, rec *spoke.Record, test bool) *spoke.Step {
	st := &spoke.Step{Enrollment: en, Record: rec}
	rec = cloneRecord(rec) // the actions see their own writes; st.Record stays as read
	t, err := e.objectType(ctx, en.AccountID, rec.ObjectType)
	if err != nil && !missingType(err) {
		// The store could not say; as for the quota: wait, do not fail.
		e.Logger.Error("resolve object type", "objectType", rec.ObjectType, "err", err)
		return e.wait(st, quotaReload, spoke.WaitRetry, e.Now())
	}
	ran, externals := 0, 0
	for ran < maxActionsPerStep {
		now := e.Now()
		act := e.currentAction(f, en)
		if act == nil {
			if en.CurrentAction == "" && f.StartActionID == "" {
				return e.complete(st, now)
			}
			return e.failStep(st, &spoke.ActionError{Type: "ACTION_NOT_FOUND",
				Message: fmt.Sprintf("Action %q does not exist in revision %s of flow %s.", en.CurrentAction, f.RevisionID, f.ID)}, now)
		}
		en.CurrentAction = act.ActionID
		if external(act) && externals > 0 {
			return st
		}
		if !test {
			if reason, msg := e.unenrollReason(ctx, f, en, rec, t, now); reason != "" {
				return e.unenroll(st, reason, msg, now)
			}
			if scheduled(act) {
				if at := nextAllowed(f, now); at.After(now) {
					return e.wait(st, at.Sub(now), spoke.WaitTimeWindow, now)
				}
			}
			if act.RateLimit != nil {
				wait, err := e.takeRate(ctx, f, act, en.AccountID, now)
				if err != nil {
					// As for the quota: wait, do not fail.
					e.Logger.Error("take rate limit", "flowId", f.ID, "actionId", act.ActionID, "err", err)
					wait = quotaReload
				}
				if wait > 0 {
					return e.wait(st, wait, spoke.WaitRateLimit, now)
				}
			}
			if act.Type == spoke.ActionCustomCode {
				wait, err := e.quota.reserve(ctx, en.AccountID, now)
				if err != nil {
					// The store could not say: try again shortly rather
					// than fail the enrollment for it.
					e.Logger.Error("read custom code quota", "accountId", en.AccountID, "err", err)
					return e.wait(st, quotaReload, spoke.WaitQuota, now)
				}
				if wait > 0 {
					return e.wait(st, wait, spoke.WaitQuota, now)
				}
			}
		}
		o := e.run(ctx, f, act, en, rec, false)
		if !test && act.Type == spoke.ActionCustomCode && !o.code {
			e.quota.release(en.AccountID, 1) // reserved, but the code did not run
		}
		e.finish(st, act, o, now)
		ran++
		if external(act) {
			externals++
		}
		if o.err == nil {
			for k, v := range o.writes {
				rec.Properties[k] = v
			}
		}
		if en.Status != spoke.EnrollmentActive || en.RunAt.After(now) {
			return st
		}
		if len(o.effects) > 0 {
			// Records are created and list memberships change in the
			// step's commit; later actions run in the next round and see
			// them (a created record's id, a list's members).
			return st
		}
	}
	return st
}

func cloneRecord(r *spoke.Record) *spoke.Record {
	c := *r
	c.Properties = make(map[string]string, len(r.Properties)+2)
	for k, v := range r.Properties {
		c.Properties[k] = v
	}
	return &c
}

// finish applies an action's outcome to the step: its execution log, its
// writes, and the enrollment's next state.
func (e *Engine) finish(st *spoke.Step, act *spoke.Action, o *outcome, now time.Time) {
	en := st.Enrollment
	if o.code {
		st.CodeExecutions++
	}
	if x := o.exec; x != nil {
		x.EnrollmentID, x.AccountID, x.FlowID, x.ObjectID = en.ID, en.AccountID, en.FlowID, en.ObjectID
		x.ActionID, x.ActionType, x.Attempt = act.ActionID, actionKind(act), en.Attempt
		if o.err != nil {
			x.Status, x.Error = "ERROR", o.err
		}
		st.Executions = append(st.Executions, x)
	}
	switch {
	case o.err != nil && o.retryable:
		if en.FirstFailureAt.IsZero() {
			en.FirstFailureAt = now
		}
		if now.Sub(en.FirstFailureAt) >= RetryWindow {
			o.err.Message = fmt.Sprintf("%s (gave up after retrying for %s)", o.err.Message, RetryWindow)
			e.failStep(st, o.err, now)
			return
		}
		delay := RetryDelay(en.Attempt)
		en.Attempt++
		en.Error = o.err
		en.RunAt, en.WaitReason = now.Add(delay), spoke.WaitRetry
		return
	case o.err != nil:
		e.failStep(st, o.err, now)
		return
	}
	if len(o.writes) > 0 {
		if st.Writes == nil {
			st.Writes = map[string]string{}
		}
		for k, v := range o.writes {
			st.Writes[k] = v
		}
		if o.exec != nil {
			st.Writers = append(st.Writers, len(st.Executions)-1)
		}
	}
	for _, fx := range o.effects {
		fx.Execution = len(st.Executions) - 1
		st.Effects = append(st.Effects, fx)
	}
	if o.outputs != nil {
		if en.Outputs == nil {
			en.Outputs = map[string]map[string]string{}
		}
		en.Outputs[act.ActionID] = o.outputs
	}
	en.Attempt, en.FirstFailureAt, en.Error = 1, time.Time{}, nil
	if o.next == "" { // the path ends (after a final delay there is nothing to wait for)
		e.complete(st, now)
		return
	}
	en.CurrentAction, en.RunAt, en.WaitReason = o.next, now.Add(o.wait), o.waitReason
}

// failStep stops the enrollment at its current action. Writes of earlier
// actions of the step stand: those actions succeeded.
func (e *Engine) failStep(st *spoke.Step, err *spoke.ActionError, now time.Time) *spoke.Step {
	en := st.Enrollment
	en.Status, en.Error, en.WaitReason, en.CompletedAt = spoke.EnrollmentFailed, err, spoke.WaitNone, now
	return st
}

func (e *Engine) complete(st *spoke.Step, now time.Time) *spoke.Step {
	en := st.Enrollment
	en.Status, en.CurrentAction, en.WaitReason, en.CompletedAt, en.RunAt = spoke.EnrollmentCompleted, "", spoke.WaitNone, now, now
	return st
}

func (e *Engine) wait(st *spoke.Step, d time.Duration, reason string, now time.Time) *spoke.Step {
	st.Enrollment.RunAt, st.Enrollment.WaitReason = now.Add(d), reason
	return st
}

func actionKind(a *spoke.Action) string {
	if a.Type == spoke.ActionSingleConnection {
		switch a.ActionTypeID {
		case spoke.ActionTypeDelay:
			return "DELAY"
		case spoke.ActionTypeSetProperty:
			return "SET_PROPERTY"
		}
		return "SINGLE_CONNECTION:" + a.ActionTypeID
	}
	return a.Type
}

func next(c *spoke.Connection) string {
	if c == nil {
		return ""
	}
	return c.NextActionID
}

// run executes one action.
//
// With dryRun, custom code reaches a read-only Spoke API (see
// sandbox.Invocation.DryRun).
func (e *Engine) run(ctx context.Context, f *spoke.Flow, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, dryRun bool) *outcome {
	start := e.Now()
	began := time.Now() // durations are measured on the real clock, not e.Now
	o := &outcome{next: next(act.Connection)}
	o.exec = &spoke.Execution{StartedAt: start, Status: "SUCCESS"}
	defer func() {
		if o.exec != nil && o.exec.DurationMs == 0 {
			o.exec.DurationMs = float64(time.Since(began).Microseconds()) / 1000
		}
	}()
	t, err := e.objectType(ctx, en.AccountID, rec.ObjectType)
	if err != nil && !missingType(err) {
		e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The object type could not be read: %v", err))
		return o
	}
	switch act.Type {
	case spoke.ActionCustomCode:
		e.runCode(ctx, f, act, en, rec, t, o, dryRun)
	case spoke.ActionStaticBranch:
		v, err := e.resolve(act.InputValue, en, rec, t)
		if err != nil {
			o.err = err
			break
		}
		o.next = next(act.DefaultBranch)
		o.exec.Inputs = map[string]any{"value": v}
		for _, b := range act.StaticBranches {
			if b.BranchValue == v {
				o.next = next(b.Connection)
				break
			}
		}
		o.exec.Outputs = map[string]any{"nextActionId": o.next}
	case spoke.ActionListBranch:
		defs, err := e.definitions(ctx, en.AccountID, rec.ObjectType)
		if err != nil {
			o.err = &spoke.ActionError{Type: "INTERNAL", Message: err.Error()}
			break
		}
		o.next = next(act.DefaultBranch)
		branch := act.DefaultBranchName
		env := e.withLists(ctx, en.AccountID, rec, flow.Env{Get: func(name string) (string, bool) { return rec.Value(t, name) }, Defs: defs, Now: start})
		for _, b := range act.ListBranches {
			if b.FilterBranch == nil {
				continue
			}
			ok, err := env.Evaluate(b.FilterBranch)
			if err != nil {
				o.err = &spoke.ActionError{Type: "INVALID_FILTER", Message: err.Error()}
				return o
			}
			if ok {
				o.next, branch = next(b.Connection), b.BranchName
				break
			}
		}
		o.exec.Outputs = map[string]any{"branch": branch, "nextActionId": o.next}
	case spoke.ActionABTestBranch:
		o.next = e.abTest(act)
		o.exec.Outputs = map[string]any{"nextActionId": o.next}
	case spoke.ActionSingleConnection:
		switch act.ActionTypeID {
		case spoke.ActionTypeSetProperty:
			e.setProperty(ctx, act, en, rec, t, o)
		case spoke.ActionTypeDelay:
			d, err := delayOf(act)
			if err != nil {
				o.err = err
				break
			}
			o.wait, o.waitReason = d, spoke.WaitDelay
			o.exec.Outputs = map[string]any{"resumeAt": spoke.FormatTime(start.Add(d))}
		default:
			if !e.runBuiltin(ctx, act, en, rec, t, o, dryRun) {
				o.err = &spoke.ActionError{Type: "UNSUPPORTED_ACTION", Message: fmt.Sprintf("actionTypeId %s is not supported.", act.ActionTypeID)}
			}
		}
	case spoke.ActionWebhook:
		e.runWebhook(ctx, f, act, en, rec, t, o)
	default:
		o.err = &spoke.ActionError{Type: "UNSUPPORTED_ACTION", Message: fmt.Sprintf("Action type %s is not supported.", act.Type)}
	}
	return o
}

// resolve evaluates a value source to a string.
func (e *Engine) resolve(v *spoke.Value, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType) (string, *spoke.ActionError) {
	if v == nil {
		return "", &spoke.ActionError{Type: "INVALID_VALUE", Message: "The action has no value."}
	}
	switch v.Type {
	case spoke.ValueStatic:
		return v.StaticValue, nil
	case spoke.ValueObjectProperty:
		s, _ := rec.Value(t, v.PropertyName)
		return s, nil
	case spoke.ValueFieldData:
		out, ok := en.Outputs[v.ActionID]
		if !ok {
			return "", &spoke.ActionError{Type: "MISSING_FIELD_DATA", Message: fmt.Sprintf("Action %s has not produced outputs in this enrollment.", v.ActionID)}
		}
		return out[v.DataKey], nil
	case spoke.ValueTimestamp:
		return strconv.FormatInt(e.Now().UnixMilli(), 10), nil
	case spoke.ValueRelativeDateTime:
		d, err := flow.RelativeDelay(v.TimeDelay)
		if err != nil {
			return "", &spoke.ActionError{Type: "INVALID_VALUE", Message: "RELATIVE_DATETIME " + err.Error()}
		}
		return strconv.FormatInt(e.Now().Add(d).UnixMilli(), 10), nil
	case spoke.ValueIncrement:
		return strings.TrimSpace(string(bytesTrimQuotes(v.IncrementAmount))), nil
	case spoke.ValueAppendProperty:
		s, _ := rec.Value(t, v.AppendPropertyName)
		return s, nil
	case spoke.ValueStaticAppend:
		return v.StaticAppendValue, nil
	case spoke.ValueEnrollmentEvent:
		return e.eventProperty(en, v.EnrollmentEventPropertyToken)
	}
	return "", &spoke.ActionError{Type: "INVALID_VALUE", Message: fmt.Sprintf("Value type %s is not supported.", v.Type)}
}

func (e *Engine) definitions(ctx context.Context, account int64, objectType string) (map[string]*spoke.Property, error) {
	return e.Properties.Definitions(ctx, account, objectType)
}

func (e *Engine) setProperty(ctx context.Context, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	var name string
	if err := json.Unmarshal(act.Fields["property_name"], &name); err != nil || name == "" {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: "fields.property_name must name a property."}
		return
	}
	var src spoke.Value
	if err := json.Unmarshal(act.Fields["value"], &src); err != nil {
		o.err = &spoke.ActionError{Type: "INVALID_ACTION", Message: "fields.value must be a value object."}
		return
	}
	v, aerr := e.resolve(&src, en, rec, t)
	if aerr != nil {
		o.err = aerr
		return
	}
	p, err := e.Properties.GetProperty(ctx, en.AccountID, rec.ObjectType, name)
	if err != nil {
		if code := spoke.ErrorCode(err); code == spoke.EINTERNAL || code == spoke.EUNAVAILABLE {
			// A store that could not answer (a database restarting) is
			// not the flow's fault: retry rather than fail for good.
			e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The property definitions could not be read: %v", err))
			return
		}
		o.err = &spoke.ActionError{Type: "PROPERTY_NOT_FOUND", Message: spoke.ErrorMessage(err)}
		return
	}
	if p.ReadOnlyValue {
		o.err = &spoke.ActionError{Type: "READ_ONLY_VALUE", Message: fmt.Sprintf("Property %s is read-only.", name)}
		return
	}
	if src.Type == spoke.ValueIncrement || src.Type == spoke.ValueAppendProperty || src.Type == spoke.ValueStaticAppend {
		cur, _ := rec.Value(t, name)
		var aerr *spoke.ActionError
		if v, aerr = combine(p, src.Type, cur, v); aerr != nil {
			o.err = aerr
			return
		}
	}
	norm, verr := p.NormalizeValue(v)
	if verr != nil {
		o.err = &spoke.ActionError{Type: "INVALID_PROPERTY_VALUE", Message: fmt.Sprintf("Cannot set %s: %s", name, verr.Message)}
		return
	}
	o.writes = map[string]string{name: norm}
	o.exec.Inputs = map[string]any{"property": name, "value": v}
	o.exec.Outputs = map[string]any{name: norm}
}

// delayOf reads a delay action's delta and time_unit.
func delayOf(act *spoke.Action) (time.Duration, *spoke.ActionError) {
	var delta any
	var unit string
	_ = json.Unmarshal(act.Fields["delta"], &delta)
	_ = json.Unmarshal(act.Fields["time_unit"], &unit)
	var n float64
	switch d := delta.(type) {
	case float64:
		n = d
	case string:
		n, _ = strconv.ParseFloat(d, 64)
	}
	units := map[string]time.Duration{"SECONDS": time.Second, "MINUTES": time.Minute, "HOURS": time.Hour, "DAYS": 24 * time.Hour, "WEEKS": 7 * 24 * time.Hour}
	u, ok := units[strings.ToUpper(unit)]
	if !ok || n <= 0 {
		return 0, &spoke.ActionError{Type: "INVALID_ACTION", Message: "A delay needs fields.delta > 0 and fields.time_unit of SECONDS, MINUTES, HOURS, DAYS or WEEKS."}
	}
	if d := n * float64(u); d < float64(MaxDelay) {
		return time.Duration(d), nil
	}
	return MaxDelay, nil
}

// MaxDelay is the longest delay; longer ones (which would overflow
// time.Duration into a negative wait that runs at once) are cut to it.
const MaxDelay = 200 * 365 * 24 * time.Hour

// objectTypeName is the event's objectType: CONTACT, COMPANY, DEAL,
// TICKET, LINE_ITEM, ..., or a custom object's object type id.
func objectTypeName(t spoke.ObjectType) string { return t.EventName }

func (e *Engine) runCode(ctx context.Context, f *spoke.Flow, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome, dryRun bool) {
	inputs := map[string]any{}
	var defs map[string]*spoke.Property
	if len(act.InputFields) > 0 {
		var err error
		if defs, err = e.definitions(ctx, en.AccountID, rec.ObjectType); err != nil {
			e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The property definitions could not be read: %v", err))
			return
		}
	}
	for _, in := range act.InputFields {
		v, aerr := e.resolve(&in.Value, en, rec, t)
		if aerr != nil {
			o.err = aerr
			return
		}
		inputs[in.Name] = codeInput(inputType(f, &in.Value, defs), v)
	}
	secrets, err := e.Secrets.SecretValues(ctx, en.AccountID, act.SecretNames)
	if err != nil {
		if spoke.ErrorCode(err) != spoke.ENOTFOUND {
			e.spokeFailure(o, "STORE_UNAVAILABLE", fmt.Sprintf("The action's secrets could not be read: %v", err))
			return
		}
		o.err = &spoke.ActionError{Type: "SECRET_NOT_FOUND", Message: spoke.ErrorMessage(err)}
		return
	}
	o.exec.Inputs = redact.New(maps.Values(secrets)).Values(inputs)
	actionID, _ := strconv.ParseInt(act.ActionID, 10, 64)
	revision, _ := strconv.ParseInt(f.RevisionID, 10, 64)
	flowID, _ := strconv.ParseInt(f.ID, 10, 64)
	inv := sandbox.Invocation{
		Runtime:   act.Runtime,
		Code:      act.SourceCode,
		Version:   f.ID + "/" + act.ActionID + "/" + f.RevisionID,
		AccountID: strconv.FormatInt(en.AccountID, 10),
		Event: sandbox.Event{PortalID: en.AccountID, ActionDefinitionID: actionID, ActionDefinitionVersion: revision,
			EnrollmentID: en.ID, ExecutionIndex: int64(en.Attempt - 1), WorkflowID: flowID,
			ObjectType: objectTypeName(t), ObjectID: rec.ID,
			InputFields: inputs, CallbackID: fmt.Sprintf("ap-%s-%d-%s-%d", f.ID, en.ID, act.ActionID, en.Attempt),
			IdempotencyKey: idempotencyKey(f, en, act)},
		Secrets: secrets,
		DryRun:  dryRun,
	}
	res, err := e.Code.Invoke(ctx, inv)
	if err != nil {
		if errors.Is(err, sandbox.ErrUnavailable) {
			e.spokeFailure(o, "SANDBOX_UNAVAILABLE", err.Error())
			return
		}
		o.err = &spoke.ActionError{Type: string(sandbox.ErrRuntimeCrash), Message: err.Error()}
		return
	}
	o.code = true // the code ran: it counts against the quota
	o.exec.DurationMs, o.exec.MemoryBytes, o.exec.Logs = res.DurationMs, res.MemoryBytes, res.Logs
	o.exec.Runtime = res.Runtime.Name + " " + res.Runtime.Version
	if res.Status != sandbox.StatusSuccess {
		o.err = &spoke.ActionError{Type: "RUNTIME_CRASH", Message: "the code failed"}
		if res.Error != nil {
			o.err = &spoke.ActionError{Type: string(res.Error.Type), Message: res.Error.Message, Stack: res.Error.Stack}
		}
		o.retryable = res.Retryable()
		return
	}
	hide := redact.New(maps.Values(secrets))
	// A test run answers with the outputs as returned, nested objects and
	// arrays too: a secret is hidden at every depth.
	o.rawOutputs = hide.DeepValues(res.OutputFields)
	outputs, warnings, aerr := typeOutputs(act.OutputFields, res.OutputFields)
	if len(warnings) > 0 {
		o.exec.Logs += hide.String(strings.Join(warnings, "\n")) + "\n"
	}
	if aerr != nil {
		// The message quotes the value (its first 60 characters): quote
		// the redacted one, so no part of a secret is stored with it.
		if _, _, redacted := typeOutputs(act.OutputFields, o.rawOutputs); redacted != nil {
			aerr = redacted
		}
		aerr.Message = hide.String(aerr.Message)
		o.err = aerr
		return
	}
	o.outputs = outputs
	typed := make(map[string]any, len(outputs))
	for k, v := range outputs {
		typed[k] = v
	}
	// Later actions get the values; the execution log never shows a secret.
	o.exec.Outputs = hide.Values(typed)
}

// idempotencyKey names one attempt of an action of an enrollment. The
// attempt is checkpointed, so a run repeated after a crash (the lease was
// released, the round never committed) gets the key of the run it
// repeats; a retry after a rate-limit failure is a new attempt and gets a
// new key. The enrollment's creation time keeps two installations (say
// staging and production) calling one service from sharing keys. A test
// run has no enrollment and gets a random key: it is never repeated.
func idempotencyKey(f *spoke.Flow, en *spoke.Enrollment, act *spoke.Action) string {
	if en.ID == 0 {
		return "spoke-test-" + rand.Text()
	}
	return fmt.Sprintf("spoke-%d-%s-%d-%s-%d", en.CreatedAt.UnixMilli(), f.ID, en.ID, act.ActionID, en.Attempt)
}

// spokeFailure records a failure that is Spoke's, not the action's (no
// sandbox worker could start, the store could not be read): the action did
// not run, so no execution is logged for it, and the enrollment waits on
// the retry schedule with the error, rather than failing for good.
func (e *Engine) spokeFailure(o *outcome, typ, msg string) {
	o.exec = nil
	o.err, o.retryable = &spoke.ActionError{Type: typ, Message: msg}, true
}

// typeOutputs checks custom code outputs against the declared output
// fields: a value of the wrong type fails the action naming the field; an
// undeclared output is dropped with a warning.
func typeOutputs(declared []spoke.OutputField, got map[string]any) (map[string]string, []string, *spoke.ActionError) {
	byName := make(map[string]spoke.OutputField, len(declared))
	for _, d := range declared {
		byName[d.Name] = d
	}
	names := make([]string, 0, len(got))
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]string{}
	var warnings []string
	for _, name := range names {
		d, ok := byName[name]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("WARNING: output %q is not declared in outputFields; it was dropped. Declare it to use it in later actions.", name))
			continue
		}
		if got[name] == nil {
			continue
		}
		v, err := flow.CoerceOutput(d, got[name])
		if err != nil {
			return nil, warnings, &spoke.ActionError{Type: "INVALID_OUTPUT", Message: err.Error()}
		}
		out[name] = v
	}
	return out, warnings, nil
}
