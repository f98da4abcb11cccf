package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/sandbox"
)

// Checker answers the questions validation asks about an account. The
// store implements it.
type Checker interface {
	// PropertyExists reports whether a live property named name exists on
	// objectType (an object type id such as "0-1", or a plural name).
	PropertyExists(ctx context.Context, account int64, objectType, name string) (bool, error)
	// SecretSize returns the length in bytes of the value of the
	// account's secret named name, and whether the secret exists.
	SecretSize(ctx context.Context, account int64, name string) (int, bool, error)
}

// Runtimes are the custom code runtimes a flow may name.
var Runtimes = []string{"NODE20X", "NODE16X", "NODE24X", "PYTHON39"}

// OutputTypes are the declared types of custom code output fields.
var OutputTypes = []string{spoke.OutputString, spoke.OutputNumber, spoke.OutputBool, spoke.OutputEnumeration,
	spoke.OutputDate, spoke.OutputDateTime, spoke.OutputPhoneNumber}

// TimeUnits are the units of a delay action's time_unit.
var TimeUnits = []string{"SECONDS", "MINUTES", "HOURS", "DAYS", "WEEKS"}

// WebhookMethods are the HTTP methods a WEBHOOK action may use.
var WebhookMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// RateLimitPeriods are the periods of an action's rateLimit.
var RateLimitPeriods = []string{"SECONDS", "MINUTES", "HOURS"}

// ValueTypes are the value sources Spoke evaluates.
var ValueTypes = []string{spoke.ValueStatic, spoke.ValueObjectProperty, spoke.ValueFieldData, spoke.ValueIncrement,
	spoke.ValueTimestamp, spoke.ValueRelativeDateTime, spoke.ValueAppendProperty, spoke.ValueStaticAppend, spoke.ValueEnrollmentEvent}

// storedValueTypes are value sources HubSpot documents that need data
// Spoke does not have (fetched records, enrollment events, datasets):
// accepted and kept, and an action that reads one fails when it runs.
var storedValueTypes = []string{"FETCHED_OBJECT_PROPERTY", "ENROLLMENT_DATASET_COLUMN_VALUE",
	"ACTION_OUTPUT_OBJECT_PROPERTY", "SINGLE_OBJECT_COORDINATES", "LIST_INPUT", "MAP_INPUT"}

// MaxInputFields is the most inputFields a custom code action may have.
const MaxInputFields = 50

// maxProblems bounds how many problems one error lists.
const maxProblems = 20

// problems collects validation failures, each tied to an action (or to
// the flow when actionID is "").
type problems struct {
	list []string
	ids  []string
}

func (p *problems) add(actionID, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if actionID != "" {
		msg = "action " + strconv.Quote(actionID) + ": " + msg
		if !contains(p.ids, actionID) {
			p.ids = append(p.ids, actionID)
		}
	}
	p.list = append(p.list, msg)
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	list := p.list
	more := ""
	if len(list) > maxProblems {
		more = fmt.Sprintf(" (and %d more)", len(list)-maxProblems)
		list = list[:maxProblems]
	}
	e := &spoke.Error{Code: spoke.EINVALID, Category: "VALIDATION_ERROR",
		Message: "Invalid flow: " + strings.Join(list, "; ") + more + "."}
	if len(p.ids) > 0 {
		e.Context = map[string][]string{"actionId": p.ids}
	}
	return e
}

// validator holds what the checks of one flow share.
type validator struct {
	ctx     context.Context
	account int64
	f       *spoke.Flow
	c       Checker
	p       problems
	byID    map[string]*spoke.Action
	// before[a] is the set of actions from which a can be reached over
	// STANDARD edges: the actions that run before it.
	before map[string]map[string]bool
	// ordered is false when the graph has no valid start, so "runs
	// before" cannot be judged.
	ordered bool
	// propCache remembers property lookups.
	propCache map[string]bool
}

// Validate checks a parsed flow before it is saved, for account, and
// returns nil or an EINVALID *spoke.Error (category VALIDATION_ERROR)
// whose message lists every problem, each naming its action, and whose
// Context["actionId"] lists those actions. It checks the action graph
// (unique ids, known nextActionIds and startActionId, every action
// reachable, no cycle without a GOTO edge), each action's type and fields
// (properties and secrets through c, custom code syntax with the real
// interpreters, output field types, FIELD_DATA references to earlier
// custom code outputs, delays, set-property values, webhooks, rate
// limits), the filters of LIST_BRANCH actions and the enrollment criteria.
// An error from c is returned as is.
func Validate(ctx context.Context, account int64, f *spoke.Flow, c Checker) error {
	v := &validator{ctx: ctx, account: account, f: f, c: c, byID: map[string]*spoke.Action{}, propCache: map[string]bool{}}
	if err := v.run(); err != nil {
		return err
	}
	return v.p.err()
}

func (v *validator) run() error {
	f := v.f
	if spoke.IsCustomObjectTypeID(f.ObjectTypeID) && v.c != nil {
		// Every object type has hs_object_id: a custom object type id
		// without it is not one of the account's custom objects.
		ok, err := v.propertyExists(spoke.PropObjectID)
		if err != nil {
			return err
		}
		if !ok {
			v.p.add("", "objectTypeId %s is not a custom object of this account (see GET /crm/v3/schemas)", strconv.Quote(f.ObjectTypeID))
		}
	}
	for i := range f.Actions {
		a := &f.Actions[i]
		if a.ActionID == "" {
			v.p.add("", "actions[%d] has no actionId", i)
			continue
		}
		if _, dup := v.byID[a.ActionID]; dup {
			v.p.add(a.ActionID, "actionId is used by more than one action")
			continue
		}
		v.byID[a.ActionID] = a
	}
	v.graph()
	v.rollout()
	for i := range f.Actions {
		if err := v.action(&f.Actions[i]); err != nil {
			return err
		}
	}
	return v.enrollment()
}

type edge struct {
	to   string
	goTo bool
}

func edgesOf(a *spoke.Action) []edge {
	var out []edge
	forEachConnection(a, func(c *spoke.Connection) {
		out = append(out, edge{to: c.NextActionID, goTo: c.EdgeType == "GOTO"})
	})
	return out
}

// graph checks connections, the start action, reachability and cycles,
// and computes v.before.
func (v *validator) graph() {
	f := v.f
	for i := range f.Actions {
		a := &f.Actions[i]
		if a.ActionID == "" {
			continue
		}
		forEachConnection(a, func(c *spoke.Connection) {
			switch {
			case c.NextActionID == "":
				v.p.add(a.ActionID, "a connection has no nextActionId")
			case v.byID[c.NextActionID] == nil:
				v.p.add(a.ActionID, "nextActionId %s does not exist", strconv.Quote(c.NextActionID))
			}
			if c.EdgeType != "STANDARD" && c.EdgeType != "GOTO" {
				v.p.add(a.ActionID, "edgeType %s is not one of STANDARD, GOTO", strconv.Quote(c.EdgeType))
			}
		})
	}
	if len(f.Actions) == 0 {
		if f.StartActionID != "" {
			v.p.add("", "startActionId %s does not exist (the flow has no actions)", strconv.Quote(f.StartActionID))
		}
		v.before = map[string]map[string]bool{}
		return
	}
	if v.byID[f.StartActionID] == nil {
		v.p.add("", "startActionId %s does not exist", strconv.Quote(f.StartActionID))
		v.before = map[string]map[string]bool{}
		return
	}
	// Reachability over every edge.
	seen := map[string]bool{f.StartActionID: true}
	queue := []string{f.StartActionID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, e := range edgesOf(v.byID[id]) {
			if v.byID[e.to] != nil && !seen[e.to] {
				seen[e.to] = true
				queue = append(queue, e.to)
			}
		}
	}
	for i := range f.Actions {
		id := f.Actions[i].ActionID
		if id != "" && !seen[id] && v.byID[id] == &f.Actions[i] {
			v.p.add(id, "the action is unreachable from startActionId %s", strconv.Quote(f.StartActionID))
		}
	}
	// Cycles over STANDARD edges only: a loop must go through a GOTO.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, e := range edgesOf(v.byID[id]) {
			if e.goTo || v.byID[e.to] == nil {
				continue
			}
			switch color[e.to] {
			case white:
				visit(e.to)
			case grey:
				var cycle []string
				for i := len(stack) - 1; i >= 0; i-- {
					cycle = append([]string{stack[i]}, cycle...)
					if stack[i] == e.to {
						break
					}
				}
				if !reported[e.to] {
					reported[e.to] = true
					v.p.add(id, "connects back to %s, a cycle (%s → %s) that does not go through a GOTO edge", strconv.Quote(e.to), strings.Join(cycle, " → "), e.to)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	ids := make([]string, 0, len(v.byID))
	for id := range v.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	visit(f.StartActionID)
	for _, id := range ids {
		if color[id] == white {
			visit(id)
		}
	}
	v.ordered = true
	// before[x]: actions with a STANDARD path to x (reverse reachability).
	preds := map[string][]string{}
	for id, a := range v.byID {
		for _, e := range edgesOf(a) {
			if !e.goTo && v.byID[e.to] != nil {
				preds[e.to] = append(preds[e.to], id)
			}
		}
	}
	v.before = map[string]map[string]bool{}
	for _, id := range ids {
		set := map[string]bool{}
		q := []string{id}
		for len(q) > 0 {
			x := q[0]
			q = q[1:]
			for _, p := range preds[x] {
				if !set[p] {
					set[p] = true
					q = append(q, p)
				}
			}
		}
		delete(set, id)
		v.before[id] = set
	}
}

func (v *validator) propertyExists(name string) (bool, error) {
	if ok, seen := v.propCache[name]; seen {
		return ok, nil
	}
	ok, err := v.c.PropertyExists(v.ctx, v.account, v.f.ObjectTypeID, name)
	if err != nil {
		return false, err
	}
	v.propCache[name] = ok
	return ok, nil
}

// checkProperty adds a problem unless the property exists.
func (v *validator) checkProperty(actionID, where, name string) error {
	if name == "" {
		v.p.add(actionID, "%s names no property", where)
		return nil
	}
	ok, err := v.propertyExists(name)
	if err != nil {
		return err
	}
	if !ok {
		v.p.add(actionID, "%s: property %s does not exist on object type %s", where, strconv.Quote(name), v.f.ObjectTypeID)
	}
	return nil
}

// value checks a value source.
func (v *validator) value(a *spoke.Action, where string, val *spoke.Value) error {
	switch val.Type {
	case spoke.ValueStatic:
	case spoke.ValueObjectProperty:
		return v.checkProperty(a.ActionID, where, val.PropertyName)
	case spoke.ValueFieldData:
		src := v.byID[val.ActionID]
		switch {
		case val.ActionID == "":
			v.p.add(a.ActionID, "%s: FIELD_DATA needs the actionId of an earlier custom code action", where)
		case src == nil:
			v.p.add(a.ActionID, "%s: FIELD_DATA refers to action %s, which does not exist", where, strconv.Quote(val.ActionID))
		case len(actionOutputs(src)) == 0:
			v.p.add(a.ActionID, "%s: FIELD_DATA refers to action %s, which is a %s and has no outputs", where, strconv.Quote(val.ActionID), src.Type)
		case v.ordered && !v.before[a.ActionID][val.ActionID]:
			v.p.add(a.ActionID, "%s: FIELD_DATA refers to action %s, which does not run before this one", where, strconv.Quote(val.ActionID))
		default:
			if !contains(actionOutputs(src), val.DataKey) {
				v.p.add(a.ActionID, "%s: dataKey %s is not an output field of action %s (it declares %s)", where, strconv.Quote(val.DataKey), strconv.Quote(val.ActionID), outputNames(src))
			}
		}
	case spoke.ValueIncrement:
		if _, err := scalarNumber(val.IncrementAmount); err != nil {
			v.p.add(a.ActionID, "%s: INCREMENT needs a numeric incrementAmount", where)
		}
	case spoke.ValueTimestamp:
		if val.TimestampType != "EXECUTION_TIME" {
			v.p.add(a.ActionID, "%s: TIMESTAMP needs timestampType EXECUTION_TIME", where)
		}
	case spoke.ValueRelativeDateTime:
		if _, err := relativeDelay(val.TimeDelay); err != nil {
			v.p.add(a.ActionID, "%s: RELATIVE_DATETIME %v", where, err)
		}
	case spoke.ValueAppendProperty:
		return v.checkProperty(a.ActionID, where, val.AppendPropertyName)
	case spoke.ValueStaticAppend:
	case spoke.ValueEnrollmentEvent:
		if val.EnrollmentEventPropertyToken == "" {
			v.p.add(a.ActionID, "%s: ENROLLMENT_EVENT_PROPERTY needs enrollmentEventPropertyToken, the event property to read", where)
		}
	case "":
		v.p.add(a.ActionID, "%s has no value type and no field that tells it (use %s)", where, strings.Join(ValueTypes, ", "))
	default:
		if !contains(storedValueTypes, val.Type) {
			v.p.add(a.ActionID, "%s: value type %s is not supported (use %s)", where, strconv.Quote(val.Type), strings.Join(ValueTypes, ", "))
		}
	}
	return nil
}

func outputNames(a *spoke.Action) string {
	outs := actionOutputs(a)
	if len(outs) == 0 {
		return "no outputs"
	}
	var n []string
	for _, o := range outs {
		n = append(n, strconv.Quote(o))
	}
	return strings.Join(n, ", ")
}

func (v *validator) action(a *spoke.Action) error {
	if a.ActionID == "" || v.byID[a.ActionID] != a {
		return nil
	}
	id := a.ActionID
	if a.RateLimit != nil {
		if a.RateLimit.Executions <= 0 {
			v.p.add(id, "rateLimit.executions must be a positive number, not %d", a.RateLimit.Executions)
		}
		if !contains(RateLimitPeriods, a.RateLimit.Per) {
			v.p.add(id, "rateLimit.per %s is not one of %s", strconv.Quote(a.RateLimit.Per), strings.Join(RateLimitPeriods, ", "))
		}
	}
	switch a.Type {
	case spoke.ActionCustomCode:
		return v.customCode(a)
	case spoke.ActionSingleConnection:
		return v.singleConnection(a)
	case spoke.ActionStaticBranch:
		if a.InputValue == nil {
			v.p.add(id, "a STATIC_BRANCH needs an inputValue")
		} else if err := v.value(a, "inputValue", a.InputValue); err != nil {
			return err
		}
		for i, b := range a.StaticBranches {
			if b.Connection == nil {
				v.p.add(id, "staticBranches[%d] (branchValue %s) has no connection", i, strconv.Quote(b.BranchValue))
			}
		}
	case spoke.ActionListBranch:
		if len(a.ListBranches) == 0 {
			v.p.add(id, "a LIST_BRANCH needs at least one of listBranches")
		}
		for i, b := range a.ListBranches {
			where := fmt.Sprintf("listBranches[%d]", i)
			if b.FilterBranch == nil {
				v.p.add(id, "%s has no filterBranch", where)
				continue
			}
			if err := v.filterBranch(id, where+".filterBranch", b.FilterBranch); err != nil {
				return err
			}
		}
	case spoke.ActionABTestBranch:
		total := 0.0
		for i, b := range a.TestBranches {
			p, err := scalarNumber(b.Percentage)
			if err != nil || p < 0 {
				v.p.add(id, "testBranches[%d] needs a percentage of 0 or more", i)
			}
			total += p
		}
		if len(a.TestBranches) == 0 || total <= 0 {
			v.p.add(id, "an AB_TEST_BRANCH needs testBranches whose percentages add up to more than 0")
		}
	case spoke.ActionWebhook:
		u, err := url.Parse(a.WebhookURL)
		if a.WebhookURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.p.add(id, "webhookUrl %s must be an http or https URL", strconv.Quote(a.WebhookURL))
		}
		if !contains(WebhookMethods, a.Method) {
			v.p.add(id, "method %s is not one of %s", strconv.Quote(a.Method), strings.Join(WebhookMethods, ", "))
		}
		for i := range a.QueryParams {
			if err := v.value(a, fmt.Sprintf("queryParams[%d]", i), &a.QueryParams[i].Value); err != nil {
				return err
			}
		}
	case "":
		v.p.add(id, "the action has no type")
	default:
		v.p.add(id, "action type %s is not supported (use CUSTOM_CODE, SINGLE_CONNECTION, STATIC_BRANCH, LIST_BRANCH, AB_TEST_BRANCH or WEBHOOK)", strconv.Quote(a.Type))
	}
	return nil
}

func (v *validator) customCode(a *spoke.Action) error {
	id := a.ActionID
	if !contains(Runtimes, a.Runtime) {
		v.p.add(id, "runtime %s is not one of %s", strconv.Quote(a.Runtime), strings.Join(Runtimes, ", "))
	} else if strings.TrimSpace(a.SourceCode) == "" {
		v.p.add(id, "sourceCode is empty")
	} else if msg := CheckSyntax(v.ctx, a.Runtime, a.SourceCode); msg != "" {
		v.p.add(id, "sourceCode does not parse: %s", msg)
	}
	if len(a.InputFields) > MaxInputFields {
		v.p.add(id, "%d inputFields; at most %d are allowed", len(a.InputFields), MaxInputFields)
	}
	seenIn := map[string]bool{}
	for i := range a.InputFields {
		in := &a.InputFields[i]
		where := fmt.Sprintf("inputFields[%d]", i)
		if in.Name == "" {
			v.p.add(id, "%s has no name", where)
		} else {
			where = fmt.Sprintf("inputFields[%d] (%s)", i, strconv.Quote(in.Name))
			if seenIn[in.Name] {
				v.p.add(id, "%s repeats an input name", where)
			}
			seenIn[in.Name] = true
		}
		if err := v.value(a, where, &in.Value); err != nil {
			return err
		}
	}
	seenOut := map[string]bool{}
	for i, o := range a.OutputFields {
		where := fmt.Sprintf("outputFields[%d]", i)
		if o.Name == "" {
			v.p.add(id, "%s has no name", where)
		} else {
			where = fmt.Sprintf("output field %s", strconv.Quote(o.Name))
			if seenOut[o.Name] {
				v.p.add(id, "%s is declared more than once", where)
			}
			seenOut[o.Name] = true
		}
		if !contains(OutputTypes, o.Type) {
			v.p.add(id, "%s: type %s is not one of %s", where, strconv.Quote(o.Type), strings.Join(OutputTypes, ", "))
		}
		if o.Type == spoke.OutputEnumeration && len(o.Options) == 0 {
			v.p.add(id, "%s is an ENUMERATION without options", where)
		}
	}
	total := 0
	for _, s := range a.SecretNames {
		if s == "" {
			v.p.add(id, "secretNames has an empty name")
			continue
		}
		size, ok, err := v.c.SecretSize(v.ctx, v.account, s)
		if err != nil {
			return err
		}
		if !ok {
			v.p.add(id, "secret %s does not exist (create it with PUT /automation/v4/secrets/%s)", strconv.Quote(s), s)
		}
		total += size
	}
	if total > sandbox.MaxSecretsLen {
		v.p.add(id, "the values of secretNames total %d characters; an action's secrets may total at most %d", total, sandbox.MaxSecretsLen)
	}
	return nil
}

func (v *validator) singleConnection(a *spoke.Action) error {
	id := a.ActionID
	switch a.ActionTypeID {
	case spoke.ActionTypeDelay:
		if msg := checkDelta(a.Fields["delta"]); msg != "" {
			v.p.add(id, "delay fields.delta %s", msg)
		}
		var unit string
		if raw, ok := a.Fields["time_unit"]; !ok || json.Unmarshal(raw, &unit) != nil || !contains(TimeUnits, unit) {
			v.p.add(id, "delay fields.time_unit must be one of %s", strings.Join(TimeUnits, ", "))
		}
	case spoke.ActionTypeSetProperty:
		var name string
		if raw, ok := a.Fields["property_name"]; !ok || json.Unmarshal(raw, &name) != nil || name == "" {
			v.p.add(id, "set property needs fields.property_name, a property name")
		} else if err := v.checkProperty(id, "fields.property_name", name); err != nil {
			return err
		}
		raw, ok := a.Fields["value"]
		var val spoke.Value
		if !ok || firstByte(raw) != '{' || json.Unmarshal(raw, &val) != nil {
			v.p.add(id, "set property needs fields.value, an object {\"type\": STATIC_VALUE|OBJECT_PROPERTY|FIELD_DATA, ...}")
		} else if err := v.value(a, "fields.value", &val); err != nil {
			return err
		}
	case "":
		v.p.add(id, "a SINGLE_CONNECTION action needs an actionTypeId")
	default:
		return v.builtin(a)
	}
	return nil
}

// checkDelta returns "" if raw is a positive integer (a JSON number or a
// string of digits), else what is wrong.
func checkDelta(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "is missing; give a positive integer"
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Sprintf("must be a positive integer, not %s", string(raw))
	}
	return ""
}

// enrollment checks the enrollment criteria.
// rollout checks the staged rollout: stages strictly growing positive
// counts (at most 20), a failure rate in [0, 1], approval auto or manual.
func (v *validator) rollout() {
	r := v.f.Rollout
	if r == nil {
		return
	}
	if len(r.Stages) == 0 || len(r.Stages) > 20 {
		v.p.add("", "rollout.stages must list 1 to 20 stage sizes, e.g. [1, 10, 100]")
	}
	for i, n := range r.Stages {
		if n <= 0 {
			v.p.add("", "rollout.stages[%d] must be a positive number of enrollments, got %d", i, n)
		}
	}
	if r.MaxFailureRate < 0 || r.MaxFailureRate > 1 {
		v.p.add("", "rollout.maxFailureRate must be between 0 and 1 (a share of the stage's enrollments), got %v", r.MaxFailureRate)
	}
	if r.Approval == "" {
		r.Approval = spoke.RolloutAuto
	}
	if r.Approval != spoke.RolloutAuto && r.Approval != spoke.RolloutManual {
		v.p.add("", "rollout.approval must be \"auto\" or \"manual\", got %q", r.Approval)
	}
}

func (v *validator) enrollment() error {
	ec := v.f.EnrollmentCriteria
	if ec == nil {
		return nil
	}
	switch ec.Type {
	case spoke.EnrollManual:
	case spoke.EnrollListBased:
		if ec.ListFilterBranch == nil {
			v.p.add("", "enrollmentCriteria of type LIST_BASED needs a listFilterBranch")
			return nil
		}
		return v.filterBranch("", "enrollmentCriteria.listFilterBranch", ec.ListFilterBranch)
	case spoke.EnrollEvent:
		return v.events(ec)
	case "":
		v.p.add("", "enrollmentCriteria has no type (use MANUAL, LIST_BASED or EVENT_BASED)")
	default:
		v.p.add("", "enrollmentCriteria type %s is not supported (use MANUAL, LIST_BASED or EVENT_BASED)", strconv.Quote(ec.Type))
	}
	return nil
}

// filterBranch checks a filter tree: branch types, PROPERTY filters on
// existing properties, known operators.
func (v *validator) filterBranch(actionID, where string, b *spoke.FilterBranch) error {
	if _, err := branchType(b); err != nil {
		v.p.add(actionID, "%s: %s", where, spoke.ErrorMessage(err))
	}
	if b.FilterBranchType == "ASSOCIATION" || b.FilterBranchType == "UNIFIED_EVENTS" {
		// The filters test associated records or event properties, not
		// the enrolled record's properties: check their operations only.
		for i := range b.Filters {
			if err := checkFilter(&b.Filters[i]); err != nil {
				v.p.add(actionID, "%s.filters[%d]: %s", where, i, err.Error())
			}
		}
		return nil
	}
	for i := range b.Filters {
		fl := &b.Filters[i]
		fw := fmt.Sprintf("%s.filters[%d]", where, i)
		if fl.FilterType != "PROPERTY" {
			if err := checkFilter(fl); err != nil {
				v.p.add(actionID, "%s: %s", fw, err.Error())
			}
			continue
		}
		if err := v.checkProperty(actionID, fw, fl.Property); err != nil {
			return err
		}
		if err := checkOperation(&fl.Operation); err != nil {
			v.p.add(actionID, "%s (%s): %s", fw, fl.Property, err.Error())
		}
		for _, other := range []string{fl.Operation.ComparisonPropertyName, timePointProperty(fl.Operation.TimePoint),
			timePointProperty(fl.Operation.LowerBoundTimePoint), timePointProperty(fl.Operation.UpperBoundTimePoint)} {
			if other != "" {
				if err := v.checkProperty(actionID, fw, other); err != nil {
					return err
				}
			}
		}
	}
	for i := range b.FilterBranches {
		if err := v.filterBranch(actionID, fmt.Sprintf("%s.filterBranches[%d]", where, i), &b.FilterBranches[i]); err != nil {
			return err
		}
	}
	return nil
}
