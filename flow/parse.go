// Package flow holds the pure logic of HubSpot automation v4 flows: parsing
// a create or PUT body into a spoke.Flow with HubSpot's defaults, validating
// a flow before it is saved, evaluating filter trees against a record and
// coercing custom code outputs to their declared types. It touches no
// database; what it needs to know about an account (properties, secrets)
// it asks a Checker.
package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/jsonerr"
)

// Flow types and the object types each accepts.
var objectTypesOf = map[string][]string{
	"CONTACT_FLOW":  {"0-1"},
	"PLATFORM_FLOW": {"0-1", "0-2", "0-3", "0-5"},
}

var flowTypes = []string{"WORKFLOW", "ACTION_SET", "UNKNOWN"}

// readOnlyKeys are set by the server on every response and never stored in
// the document; so are the save answer's lint "warnings" and the request's
// "acknowledgeLint", which belong to one save, not to the flow.
var readOnlyKeys = []string{"id", "revisionId", "createdAt", "updatedAt", "warnings", "acknowledgeLint"}

// flowDoc decodes the top level of a flow with the actions left raw, so
// each action is decoded alone and its errors can name it.
type flowDoc struct {
	spoke.Flow
	Actions []json.RawMessage `json:"actions"`
}

// Parse decodes a flow create or PUT body into a spoke.Flow. It fills
// HubSpot's defaults (timeWindows, blockedDates, customProperties,
// dataSources, and for CONTACT_FLOW suppressionListIds and
// canEnrollFromSalesforce), sets the read-only crmObjectCreationStatus
// ("COMPLETE") and nextAvailableActionId (the largest numeric actionId plus
// one), defaults startActionId to the first action, and rewrites the edge
// type "GO-TO" to "GOTO". f.Raw is the document to store: every field the
// caller sent, unknown ones included, with the typed fields merged back in
// and without id, revisionId, createdAt and updatedAt (which the store sets;
// f.ID and f.RevisionID keep what the body said).
//
// Malformed JSON, a wrong JSON type, a missing required field (type,
// objectTypeId, flowType, isEnabled, actions) or a bad value of one of them
// gives an EINVALID *spoke.Error that says where.
func Parse(body []byte) (*spoke.Flow, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, spoke.Invalidf("The request body is empty; send a flow as a JSON object.")
	}
	if depth(body) > MaxDepth {
		return nil, spoke.Invalidf("Invalid flow: the JSON is nested more than %d levels deep.", MaxDepth)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, jsonError("", body, err)
	}
	if top == nil {
		return nil, spoke.Invalidf("Invalid flow: the body must be a JSON object, not null.")
	}
	if err := checkKinds(top); err != nil {
		return nil, err
	}
	// Ids given as numbers (a client that parsed a GET) are taken as
	// their decimal strings.
	changed := false
	for _, k := range []string{"id", "revisionId", "startActionId", "nextAvailableActionId"} {
		var n json.Number
		if v, ok := top[k]; ok && firstByte(v) != '"' && json.Unmarshal(v, &n) == nil {
			if _, err := n.Int64(); err == nil {
				top[k] = mustJSON(n.String())
				changed = true
			}
		}
	}
	if changed {
		b, err := marshalNoEscape(top)
		if err != nil {
			return nil, spoke.Invalidf("Invalid flow: %v", err)
		}
		body = b
	}
	var doc flowDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, jsonError("", body, err)
	}
	f := doc.Flow
	f.Actions = make([]spoke.Action, len(doc.Actions))
	for i, raw := range doc.Actions {
		where := fmt.Sprintf("actions[%d]", i)
		if id := peekActionID(raw); id != "" {
			where = fmt.Sprintf("actions[%d] (actionId %s)", i, strconv.Quote(id))
		}
		if t := firstByte(raw); t != '{' {
			return nil, spoke.Invalidf("Invalid flow: %s must be an object.", where)
		}
		if err := json.Unmarshal(raw, &f.Actions[i]); err != nil {
			return nil, jsonError(where, raw, err)
		}
	}

	var missing []string
	for _, k := range []string{"type", "objectTypeId", "flowType", "isEnabled", "actions"} {
		if v, ok := top[k]; !ok || string(bytes.TrimSpace(v)) == "null" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, spoke.Invalidf("Invalid flow: missing required field(s): %s.", strings.Join(missing, ", "))
	}
	allowed, ok := objectTypesOf[f.Type]
	if !ok {
		return nil, spoke.Invalidf("Invalid flow: type %s is not one of CONTACT_FLOW, PLATFORM_FLOW.", strconv.Quote(f.Type))
	}
	// A PLATFORM_FLOW may also run on a custom object ("2-…"); Validate
	// checks that the account has it.
	if !contains(allowed, f.ObjectTypeID) && (f.Type != "PLATFORM_FLOW" || !spoke.IsCustomObjectTypeID(f.ObjectTypeID)) {
		return nil, spoke.Invalidf("Invalid flow: objectTypeId %s is not allowed for a %s (use %s).", strconv.Quote(f.ObjectTypeID), f.Type, strings.Join(allowed, ", ")+map[bool]string{true: ", or a custom object's 2-…"}[f.Type == "PLATFORM_FLOW"])
	}
	if !contains(flowTypes, f.FlowType) {
		return nil, spoke.Invalidf("Invalid flow: flowType %s is not one of %s.", strconv.Quote(f.FlowType), strings.Join(flowTypes, ", "))
	}

	// Normalizations of the typed flow.
	for i := range f.Actions {
		forEachConnection(&f.Actions[i], func(c *spoke.Connection) {
			if c.EdgeType == "GO-TO" {
				c.EdgeType = "GOTO"
			}
		})
	}
	if raw, ok := top["rollout"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		var rc spoke.RolloutConfig
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rc); err != nil {
			return nil, spoke.Invalidf("Invalid flow: rollout must be {\"stages\": [1, 10, 100], \"maxFailureRate\": 0.05, \"approval\": \"auto\" or \"manual\"}: %v", err)
		}
		f.Rollout = &rc
	}
	if f.StartActionID == "" && len(f.Actions) > 0 {
		f.StartActionID = f.Actions[0].ActionID
	}
	f.NextAvailableActionID = nextActionID(f.Actions)

	// The stored document: what was sent, typed fields merged back in,
	// defaults and read-only fields set.
	typed, err := json.Marshal(&f)
	if err != nil {
		return nil, spoke.Invalidf("Invalid flow: %v", err)
	}
	merged, err := mergeJSON(json.RawMessage(body), typed)
	if err != nil {
		return nil, spoke.Invalidf("Invalid flow: %v", err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(merged, &out); err != nil {
		return nil, spoke.Invalidf("Invalid flow: %v", err)
	}
	for _, k := range readOnlyKeys {
		delete(out, k)
	}
	defaults := map[string]string{"timeWindows": "[]", "blockedDates": "[]", "customProperties": "{}", "dataSources": "[]"}
	if f.Type == "CONTACT_FLOW" {
		defaults["suppressionListIds"] = "[]"
		defaults["canEnrollFromSalesforce"] = "false"
	}
	for k, v := range defaults {
		if cur, ok := out[k]; !ok || string(bytes.TrimSpace(cur)) == "null" {
			out[k] = json.RawMessage(v)
		}
	}
	out["crmObjectCreationStatus"] = json.RawMessage(`"COMPLETE"`)
	out["nextAvailableActionId"] = mustJSON(f.NextAvailableActionID)
	if f.StartActionID != "" {
		out["startActionId"] = mustJSON(f.StartActionID)
	}
	f.Raw, err = marshalNoEscape(out)
	if err != nil {
		return nil, spoke.Invalidf("Invalid flow: %v", err)
	}
	return &f, nil
}

// topKinds are the JSON kinds of top-level fields Spoke stores without
// interpreting; a wrong kind is refused as HubSpot refuses it.
var topKinds = map[string]byte{
	"timeWindows": '[', "blockedDates": '[', "dataSources": '[', "suppressionListIds": '[',
	"customProperties": '{', "canEnrollFromSalesforce": 'b', "uuid": '"', "description": '"',
	"goalFilterBranch": '{', "suppressionFilterBranch": '{', "enrollmentSchedule": '{', "eventAnchor": '{',
	"unEnrollmentSetting": '{',
}

func checkKinds(top map[string]json.RawMessage) error {
	for k, want := range topKinds {
		v, ok := top[k]
		if !ok || firstByte(v) == 'n' {
			continue
		}
		got := firstByte(v)
		if got == 't' || got == 'f' {
			got = 'b'
		}
		if got != want {
			kind := map[byte]string{'[': "an array", '{': "an object", 'b': "a boolean", '"': "a string"}[want]
			return spoke.Invalidf("Invalid flow: %s must be %s, not %s.", k, kind, truncate(string(v), 40))
		}
	}
	if v, ok := top["customProperties"]; ok && firstByte(v) == '{' {
		var m map[string]string
		if err := json.Unmarshal(v, &m); err != nil {
			return spoke.Invalidf("Invalid flow: customProperties must map names to strings.")
		}
	}
	if v, ok := top["suppressionListIds"]; ok && firstByte(v) == '[' {
		var ids []int64
		if err := json.Unmarshal(v, &ids); err != nil {
			return spoke.Invalidf("Invalid flow: suppressionListIds must be an array of integer list ids.")
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// MaxDepth is the deepest nesting of JSON objects and arrays Parse
// accepts; real flows stay far below it, and it bounds the cost of
// merging the typed fields back into the document.
const MaxDepth = 100

// depth returns the deepest nesting of objects and arrays in a JSON text
// (strings are skipped; the text need not be valid).
func depth(b []byte) int {
	d, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// forEachConnection calls fn on every outgoing connection of a.
func forEachConnection(a *spoke.Action, fn func(*spoke.Connection)) {
	if a.Connection != nil {
		fn(a.Connection)
	}
	for i := range a.StaticBranches {
		if c := a.StaticBranches[i].Connection; c != nil {
			fn(c)
		}
	}
	for i := range a.ListBranches {
		if c := a.ListBranches[i].Connection; c != nil {
			fn(c)
		}
	}
	for i := range a.TestBranches {
		if c := a.TestBranches[i].Connection; c != nil {
			fn(c)
		}
	}
	if a.DefaultBranch != nil {
		fn(a.DefaultBranch)
	}
}

func nextActionID(actions []spoke.Action) string {
	var max int64
	for _, a := range actions {
		if n, err := strconv.ParseInt(a.ActionID, 10, 64); err == nil && n > max {
			max = n
		}
	}
	return strconv.FormatInt(max+1, 10)
}

func peekActionID(raw json.RawMessage) string {
	var p struct {
		ActionID any `json:"actionId"`
	}
	if json.Unmarshal(raw, &p) != nil || p.ActionID == nil {
		return ""
	}
	switch v := p.ActionID.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func firstByte(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// mergeJSON returns raw with the values of typed written over it: objects
// merge key by key, but only keys present in raw are taken from typed (so
// no zero values appear that the caller did not send, and unknown keys
// stay); arrays of the same length merge element by element; anything else
// is typed's value.
func mergeJSON(raw, typed json.RawMessage) (json.RawMessage, error) {
	switch {
	case firstByte(raw) == '{' && firstByte(typed) == '{':
		var r, t map[string]json.RawMessage
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(typed, &t); err != nil {
			return nil, err
		}
		for k, rv := range r {
			tv, ok := t[k]
			if !ok {
				continue
			}
			m, err := mergeJSON(rv, tv)
			if err != nil {
				return nil, err
			}
			r[k] = m
		}
		return marshalNoEscape(r)
	case firstByte(raw) == '[' && firstByte(typed) == '[':
		var r, t []json.RawMessage
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(typed, &t); err != nil {
			return nil, err
		}
		if len(r) != len(t) {
			return typed, nil
		}
		for i := range r {
			m, err := mergeJSON(r[i], t[i])
			if err != nil {
				return nil, err
			}
			r[i] = m
		}
		return marshalNoEscape(r)
	case firstByte(typed) == 'n' && firstByte(raw) != 'n':
		// A typed nil for a value that was sent (for example "" that the
		// struct omits) keeps what was sent.
		return raw, nil
	}
	return typed, nil
}

func marshalNoEscape(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := marshalNoEscape(v)
	return b
}

// jsonError turns a decoding error into an EINVALID error naming where.
func jsonError(where string, body []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := jsonerr.Position(body, syn.Offset)
		if where == "" {
			return spoke.Invalidf("Invalid JSON at line %d, column %d: %s.", line, col, syn.Error())
		}
		return spoke.Invalidf("Invalid JSON in %s at line %d, column %d: %s.", where, line, col, syn.Error())
	case errors.As(err, &typ):
		field, kind := typ.Field, jsonerr.Kind(typ.Type.String())
		switch {
		case where == "" && field == "":
			return spoke.Invalidf("Invalid flow: the body must be %s, not %s.", kind, typ.Value)
		case where == "":
			return spoke.Invalidf("Invalid flow: %s must be %s, not %s.", field, kind, typ.Value)
		case field == "":
			return spoke.Invalidf("Invalid flow: %s must be %s, not %s.", where, kind, typ.Value)
		}
		return spoke.Invalidf("Invalid flow: %s: %s must be %s, not %s.", where, field, kind, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return spoke.Invalidf("Invalid JSON: it ends early.")
	}
	if where == "" {
		return spoke.Invalidf("Invalid JSON: %v.", err)
	}
	return spoke.Invalidf("Invalid JSON in %s: %v.", where, err)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
