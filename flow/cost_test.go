package flow

import (
	"strings"
	"testing"

	"github.com/spokehq/spoke"
)

func TestMaxCodeExecutions(t *testing.T) {
	t.Parallel()
	code := func(id, next string) spoke.Action {
		a := spoke.Action{Type: spoke.ActionCustomCode, ActionID: id}
		if next != "" {
			a.Connection = &spoke.Connection{EdgeType: "STANDARD", NextActionID: next}
		}
		return a
	}
	// 1 → branch: "a" → 2 (code) → 3 (code), default → 4 (set) ; 3 loops
	// back to 1 with a GOTO.
	f := &spoke.Flow{StartActionID: "1", Actions: []spoke.Action{
		code("1", "b"),
		{Type: spoke.ActionStaticBranch, ActionID: "b", StaticBranches: []spoke.StaticBranch{{BranchValue: "a", Connection: &spoke.Connection{EdgeType: "STANDARD", NextActionID: "2"}}},
			DefaultBranch: &spoke.Connection{EdgeType: "STANDARD", NextActionID: "4"}},
		code("2", "3"),
		{Type: spoke.ActionCustomCode, ActionID: "3", Connection: &spoke.Connection{EdgeType: "GOTO", NextActionID: "1"}},
		{Type: spoke.ActionSingleConnection, ActionID: "4", ActionTypeID: spoke.ActionTypeSetProperty},
	}}
	if got := MaxCodeExecutions(f); got != 3 {
		t.Errorf("MaxCodeExecutions = %d, want 3 (1, 2, 3 on the longest path)", got)
	}
	f.StartActionID = "4"
	if got := MaxCodeExecutions(f); got != 0 {
		t.Errorf("from a set-property action: %d, want 0", got)
	}
}

func TestUnified(t *testing.T) {
	t.Parallel()
	a := "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n"
	b := "l1\nl2\nL3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\n"
	got := Unified("a", "b", a, b)
	want := "--- a\n+++ b\n@@ -1,6 +1,6 @@\n l1\n l2\n-l3\n+L3\n l4\n l5\n l6\n@@ -8,3 +8,4 @@\n l8\n l9\n l10\n+l11\n"
	if got != want {
		t.Errorf("Unified:\n%s\nwant:\n%s", got, want)
	}
	if Unified("a", "b", a, a) != "" {
		t.Error("equal sources have a diff")
	}
	if got := Unified("a", "b", "", "x\n"); !strings.Contains(got, "@@ -0,0 +1 @@\n+x\n") {
		t.Errorf("from empty: %q", got)
	}
}
