package flow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spokehq/spoke"
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

// Unified returns a unified diff (3 lines of context) from a to b, with
// the given file names; "" when they are equal.
func Unified(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	la, lb := splitLines(a), splitLines(b)
	ops := lineOps(la, lb)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for i := 0; i < len(ops); {
		// Find the next change, then the hunk around it.
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-ctx)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(len(ops), end+ctx)
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := ops[start].a, ops[start].b, 0, 0
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range ops[start:end] {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lineOp is one line of a diff: ' ' kept, '-' removed, '+' added; a and b
// are the line's (or, for an insertion, the next line's) 0-based index in
// each side.
type lineOp struct {
	kind byte
	line string
	a, b int
}

// lineOps aligns two line lists by their longest common subsequence.
func lineOps(a, b []string) []lineOp {
	var ops []lineOp
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		for i, l := range a {
			ops = append(ops, lineOp{'-', l, i, 0})
		}
		for j, l := range b {
			ops = append(ops, lineOp{'+', l, len(a), j})
		}
		return ops
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, lineOp{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			// Removals before additions, as diff -u shows a change.
			ops = append(ops, lineOp{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, lineOp{'+', b[j], i, j})
			j++
		}
	}
	return ops
}
