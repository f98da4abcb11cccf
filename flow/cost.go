package flow

import "github.com/spokehq/spoke"

// MaxCodeExecutions returns how many custom code actions one enrollment
// runs at most: the largest count along any path from the start action. A
// GOTO back to an action on the path is a loop whose turns depend on data;
// it is counted as not turning again, so the figure is per pass.
func MaxCodeExecutions(f *spoke.Flow) int {
	byID := make(map[string]*spoke.Action, len(f.Actions))
	for i := range f.Actions {
		byID[f.Actions[i].ActionID] = &f.Actions[i]
	}
	memo := map[string]int{}
	visiting := map[string]bool{}
	var walk func(id string) int
	walk = func(id string) int {
		a := byID[id]
		if a == nil || visiting[id] {
			return 0
		}
		if n, ok := memo[id]; ok {
			return n
		}
		visiting[id] = true
		best := 0
		forEachConnection(a, func(c *spoke.Connection) {
			best = max(best, walk(c.NextActionID))
		})
		delete(visiting, id)
		if a.Type == spoke.ActionCustomCode {
			best++
		}
		memo[id] = best
		return best
	}
	return walk(f.StartActionID)
}
