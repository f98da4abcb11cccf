package engine

import (
	"context"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// Previewer answers what an enrollment would do without enrolling;
// *sqlite.DB implements it.
type Previewer interface {
	PreviewEnroll(ctx context.Context, account int64, f *spoke.Flow, objectType string, ids []int64, reEnroll, known bool) (*spoke.EnrollResult, error)
}

// PreflightEnroll answers what enrolling ids (or, when ids is nil, all
// matching records) in a flow would cost, without enrolling anything.
func (e *Engine) PreflightEnroll(ctx context.Context, account int64, flowID string, ids []int64, allMatching bool) (*spoke.Preflight, error) {
	pv, ok := e.Store.(Previewer)
	if !ok {
		return nil, spoke.Errorf(spoke.EINTERNAL, "This store cannot preview enrollments.")
	}
	f, t, err := e.enrollable(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	var res *spoke.EnrollResult
	if allMatching {
		res, err = e.eachMatching(ctx, account, f, t, func(ids []int64) (*spoke.EnrollResult, error) {
			return pv.PreviewEnroll(ctx, account, f, t.Name, ids, reEnroll(f), true)
		})
	} else {
		res, err = pv.PreviewEnroll(ctx, account, f, t.Name, dedupe(ids), reEnroll(f), false)
	}
	if err != nil {
		return nil, err
	}
	now := e.Now()
	u, err := e.Store.Usage(ctx, account, spoke.Period(now))
	if err != nil {
		return nil, err
	}
	p := &spoke.Preflight{Result: res, CodeExecutionsPerRecord: flow.MaxCodeExecutions(f), Usage: u, Remaining: -1, ResetsAt: nextPeriod(now)}
	p.CodeExecutions = int64(len(res.Enrolled)) * int64(p.CodeExecutionsPerRecord)
	if u.Limit >= 0 {
		p.Remaining = max(0, u.Limit-u.Executions)
		if p.CodeExecutions > p.Remaining {
			p.Exceeds = true
			p.RunsOutAfter = p.Remaining / int64(p.CodeExecutionsPerRecord)
		}
	}
	return p, nil
}
