package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
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
}

// step runs the current action of an enrollment and returns the step to
// commit. With test set, the quota and rate limits are not applied.
func (e *Engine) step(ctx context.Context, f *spoke.Flow, en *spoke.Enrollment, rec *spoke.Record, test bool) *spoke.Step {
	now := e.Now()
	act := e.currentAction(f, en)
	if act == nil {
		if en.CurrentAction == "" && f.StartActionID == "" {
			return e.complete(en, nil, now)
		}
		return e.fail(en, nil, "ACTION_NOT_FOUND", fmt.Sprintf("Action %q does not exist in revision %s of flow %s.", en.CurrentAction, f.RevisionID, f.ID))
	}
	en.CurrentAction = act.ActionID
	if !test {
		if act.RateLimit != nil {
			if wait := e.limiter.take(f.ID+"/"+act.ActionID, *act.RateLimit, now); wait > 0 {
				return e.wait(en, wait, spoke.WaitRateLimit, now)
			}
		}
		if act.Type == spoke.ActionCustomCode {
			if wait, err := e.quota.check(ctx, e, en.AccountID, now); err != nil {
				return e.fail(en, nil, "QUOTA_UNAVAILABLE", err.Error())
			} else if wait > 0 {
				return e.wait(en, wait, spoke.WaitQuota, now)
			}
		}
	}
	o := e.run(ctx, f, act, en, rec)
	return e.finish(en, act, o, now)
}

// finish turns an action's outcome into the enrollment's next state.
func (e *Engine) finish(en *spoke.Enrollment, act *spoke.Action, o *outcome, now time.Time) *spoke.Step {
	st := &spoke.Step{Enrollment: en, Writes: o.writes, Execution: o.exec, CodeExecution: o.code}
	if x := o.exec; x != nil {
		x.EnrollmentID, x.AccountID, x.FlowID, x.ObjectID = en.ID, en.AccountID, en.FlowID, en.ObjectID
		x.ActionID, x.ActionType, x.Attempt = act.ActionID, actionKind(act), en.Attempt
		if o.err != nil {
			x.Status, x.Error = "ERROR", o.err
		}
	}
	switch {
	case o.err != nil && o.retryable:
		if en.FirstFailureAt.IsZero() {
			en.FirstFailureAt = now
		}
		if now.Sub(en.FirstFailureAt) >= RetryWindow {
			o.err.Message = fmt.Sprintf("%s (gave up after retrying for %s)", o.err.Message, RetryWindow)
			return e.failStep(st, o.err, now)
		}
		delay := RetryDelay(en.Attempt)
		en.Attempt++
		en.Error = o.err
		en.RunAt, en.WaitReason = now.Add(delay), spoke.WaitRetry
		return st
	case o.err != nil:
		return e.failStep(st, o.err, now)
	}
	if o.outputs != nil {
		if en.Outputs == nil {
			en.Outputs = map[string]map[string]string{}
		}
		en.Outputs[act.ActionID] = o.outputs
	}
	en.Attempt, en.FirstFailureAt, en.Error = 1, time.Time{}, nil
	if o.next == "" && o.wait == 0 {
		en.Status, en.CurrentAction, en.WaitReason, en.CompletedAt = spoke.EnrollmentCompleted, "", spoke.WaitNone, now
		en.RunAt = now
		return st
	}
	if o.next == "" { // a delay at the end of a path: nothing left to wait for
		en.Status, en.CurrentAction, en.WaitReason, en.CompletedAt = spoke.EnrollmentCompleted, "", spoke.WaitNone, now
		return st
	}
	en.CurrentAction, en.RunAt, en.WaitReason = o.next, now.Add(o.wait), o.waitReason
	return st
}

func (e *Engine) failStep(st *spoke.Step, err *spoke.ActionError, now time.Time) *spoke.Step {
	en := st.Enrollment
	en.Status, en.Error, en.WaitReason, en.CompletedAt = spoke.EnrollmentFailed, err, spoke.WaitNone, now
	st.Writes = nil
	if st.Execution != nil {
		st.Execution.Status, st.Execution.Error = "ERROR", err
	}
	return st
}

func (e *Engine) fail(en *spoke.Enrollment, act *spoke.Action, typ, msg string) *spoke.Step {
	st := &spoke.Step{Enrollment: en}
	return e.failStep(st, &spoke.ActionError{Type: typ, Message: msg}, e.Now())
}

func (e *Engine) complete(en *spoke.Enrollment, act *spoke.Action, now time.Time) *spoke.Step {
	en.Status, en.CurrentAction, en.WaitReason, en.CompletedAt = spoke.EnrollmentCompleted, "", spoke.WaitNone, now
	return &spoke.Step{Enrollment: en}
}

func (e *Engine) wait(en *spoke.Enrollment, d time.Duration, reason string, now time.Time) *spoke.Step {
	en.RunAt, en.WaitReason = now.Add(d), reason
	return &spoke.Step{Enrollment: en}
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
func (e *Engine) run(ctx context.Context, f *spoke.Flow, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record) *outcome {
	start := e.Now()
	o := &outcome{next: next(act.Connection)}
	o.exec = &spoke.Execution{StartedAt: start, Status: "SUCCESS"}
	defer func() {
		if o.exec != nil && o.exec.DurationMs == 0 {
			o.exec.DurationMs = float64(time.Since(start).Microseconds()) / 1000
		}
	}()
	t, _ := spoke.LookupObjectType(rec.ObjectType)
	switch act.Type {
	case spoke.ActionCustomCode:
		e.runCode(ctx, f, act, en, rec, t, o)
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
		get := func(name string) (string, bool) { return rec.Value(t, name) }
		for _, b := range act.ListBranches {
			if b.FilterBranch == nil {
				continue
			}
			ok, err := flow.Evaluate(b.FilterBranch, get, defs)
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
			o.err = &spoke.ActionError{Type: "UNSUPPORTED_ACTION", Message: fmt.Sprintf("actionTypeId %s is not supported.", act.ActionTypeID)}
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
	}
	return "", &spoke.ActionError{Type: "INVALID_VALUE", Message: fmt.Sprintf("Value type %s is not supported.", v.Type)}
}

func (e *Engine) definitions(ctx context.Context, account int64, objectType string) (map[string]*spoke.Property, error) {
	props, err := e.Properties.ListProperties(ctx, account, objectType, false)
	if err != nil {
		return nil, err
	}
	defs := make(map[string]*spoke.Property, len(props))
	for _, p := range props {
		defs[p.Name] = p
	}
	return defs, nil
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
		o.err = &spoke.ActionError{Type: "PROPERTY_NOT_FOUND", Message: spoke.ErrorMessage(err)}
		return
	}
	if p.ReadOnlyValue {
		o.err = &spoke.ActionError{Type: "READ_ONLY_VALUE", Message: fmt.Sprintf("Property %s is read-only.", name)}
		return
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
	return time.Duration(n * float64(u)), nil
}

// objectTypeName is the event's objectType: CONTACT, COMPANY, DEAL, TICKET.
func objectTypeName(t spoke.ObjectType) string { return strings.ToUpper(t.Singular) }

func (e *Engine) runCode(ctx context.Context, f *spoke.Flow, act *spoke.Action, en *spoke.Enrollment, rec *spoke.Record, t spoke.ObjectType, o *outcome) {
	inputs := map[string]any{}
	for _, in := range act.InputFields {
		v, aerr := e.resolve(&in.Value, en, rec, t)
		if aerr != nil {
			o.err = aerr
			return
		}
		if in.Value.Type == spoke.ValueObjectProperty {
			if _, set := rec.Value(t, in.Value.PropertyName); !set {
				inputs[in.Name] = nil
				continue
			}
		}
		inputs[in.Name] = v
	}
	o.exec.Inputs = inputs
	secrets, err := e.Secrets.SecretValues(ctx, en.AccountID, act.SecretNames)
	if err != nil {
		o.err = &spoke.ActionError{Type: "SECRET_NOT_FOUND", Message: spoke.ErrorMessage(err)}
		return
	}
	actionID, _ := strconv.ParseInt(act.ActionID, 10, 64)
	inv := sandbox.Invocation{
		Runtime:   act.Runtime,
		Code:      act.SourceCode,
		Version:   f.ID + "/" + act.ActionID + "/" + f.RevisionID,
		AccountID: strconv.FormatInt(en.AccountID, 10),
		Event: sandbox.Event{PortalID: en.AccountID, ActionDefinitionID: actionID, ObjectType: objectTypeName(t), ObjectID: rec.ID,
			InputFields: inputs, CallbackID: fmt.Sprintf("ap-%s-%d-%s-%d", f.ID, en.ID, act.ActionID, en.Attempt)},
		Secrets: secrets,
	}
	o.code = true
	res, err := e.Code.Invoke(ctx, inv)
	if err != nil {
		o.err = &spoke.ActionError{Type: string(sandbox.ErrRuntimeCrash), Message: err.Error()}
		return
	}
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
	outputs, warnings, aerr := typeOutputs(act.OutputFields, res.OutputFields)
	if len(warnings) > 0 {
		o.exec.Logs += strings.Join(warnings, "\n") + "\n"
	}
	if aerr != nil {
		o.err = aerr
		return
	}
	o.outputs = outputs
	typed := make(map[string]any, len(outputs))
	for k, v := range outputs {
		typed[k] = v
	}
	o.exec.Outputs = typed
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
