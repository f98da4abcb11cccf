package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/internal/textdiff"
)

// Diff is what changed between two revisions of a flow.
type Diff struct {
	// Fields are the top-level document fields that differ (other than
	// actions), in name order.
	Fields  []string       `json:"fieldsChanged"`
	Added   []string       `json:"actionsAdded"`
	Removed []string       `json:"actionsRemoved"`
	Changed []ActionChange `json:"actionsChanged"`
}

// ActionChange is an action present in both revisions that differs.
type ActionChange struct {
	ActionID string `json:"actionId"`
	Type     string `json:"type"`
	// Fields are the action's fields that differ, in name order.
	Fields []string `json:"fieldsChanged"`
	// SourceDiff is a unified diff of a custom code action's source, when
	// it changed.
	SourceDiff string `json:"sourceDiff,omitempty"`
}

// Compare returns the differences from revision a to revision b.
func Compare(a, b *spoke.Flow) (*Diff, error) {
	d := &Diff{Fields: []string{}, Added: []string{}, Removed: []string{}, Changed: []ActionChange{}}
	var da, db map[string]json.RawMessage
	if err := json.Unmarshal(a.Raw, &da); err != nil {
		return nil, fmt.Errorf("decode revision %s: %w", a.RevisionID, err)
	}
	if err := json.Unmarshal(b.Raw, &db); err != nil {
		return nil, fmt.Errorf("decode revision %s: %w", b.RevisionID, err)
	}
	d.Fields = changedKeys(da, db, "actions")
	actions := func(m map[string]json.RawMessage) (map[string]map[string]json.RawMessage, []string) {
		var list []map[string]json.RawMessage
		_ = json.Unmarshal(m["actions"], &list)
		out := map[string]map[string]json.RawMessage{}
		var order []string
		for _, act := range list {
			var id string
			_ = json.Unmarshal(act["actionId"], &id)
			out[id] = act
			order = append(order, id)
		}
		return out, order
	}
	aa, aOrder := actions(da)
	ba, bOrder := actions(db)
	for _, id := range aOrder {
		if _, ok := ba[id]; !ok {
			d.Removed = append(d.Removed, id)
		}
	}
	for _, id := range bOrder {
		old, ok := aa[id]
		if !ok {
			d.Added = append(d.Added, id)
			continue
		}
		fields := changedKeys(old, ba[id])
		if len(fields) == 0 {
			continue
		}
		c := ActionChange{ActionID: id, Fields: fields}
		_ = json.Unmarshal(ba[id]["type"], &c.Type)
		if slices.Contains(fields, "sourceCode") {
			var from, to string
			_ = json.Unmarshal(old["sourceCode"], &from)
			_ = json.Unmarshal(ba[id]["sourceCode"], &to)
			c.SourceDiff = Unified(fmt.Sprintf("a/action-%s (revision %s)", id, a.RevisionID), fmt.Sprintf("b/action-%s (revision %s)", id, b.RevisionID), from, to)
		}
		d.Changed = append(d.Changed, c)
	}
	return d, nil
}

// changedKeys returns the keys whose JSON differs between a and b, skipping
// the keys in skip.
func changedKeys(a, b map[string]json.RawMessage, skip ...string) []string {
	out := []string{}
	for k, va := range a {
		if slices.Contains(skip, k) {
			continue
		}
		if vb, ok := b[k]; !ok || !jsonEqual(va, vb) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !slices.Contains(skip, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// jsonEqual compares two JSON values, ignoring formatting and key order.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// maxDiffLines bounds the sources Unified compares line by line (the LCS
// table is quadratic); longer sources are shown as replaced whole.
const maxDiffLines = 5000

// Unified returns a unified diff (3 lines of context, GNU hunk ranges) from
// a to b, with the given file names; "" when they are equal.
func Unified(nameA, nameB, a, b string) string {
	return textdiff.UnifiedWith(nameA, nameB, a, b, textdiff.Options{Context: 3, GNURanges: true, MaxLines: maxDiffLines})
}
