package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spokehq/spoke"
	"github.com/spokehq/spoke/flow"
)

// The rollout controller moves staged rollouts on. It runs beside the
// runners (every RolloutPoll), never inside a round: a flow without a
// rollout costs the hot path nothing, and a held enrollment is never
// claimed because it is not ACTIVE.

// TickRollouts moves every rollout that holds enrollments one step on:
// it fills the current stage from the held enrollments, halts a stage that
// failed more than allowed, and passes a stage whose enrollments all
// finished (opening the next one, or waiting for approval).
func (e *Engine) TickRollouts(ctx context.Context) error {
	if e.Rollouts == nil {
		return nil
	}
	list, err := e.Rollouts.ActiveRollouts(ctx)
	if err != nil {
		return err
	}
	for _, r := range list {
		if err := e.stepRollout(ctx, r); err != nil && spoke.ErrorCode(err) != spoke.ECONFLICT {
			return fmt.Errorf("rollout of flow %s: %w", r.FlowID, err)
		}
	}
	return nil
}

// stepRollout runs the rollout's stages as far as they can go now.
func (e *Engine) stepRollout(ctx context.Context, r *spoke.Rollout) error {
	for r.State == spoke.RolloutRunning {
		size := r.StageSize()
		if size < 0 {
			return e.Rollouts.SetRolloutState(ctx, r, spoke.RolloutRunning, r.Stage, spoke.RolloutComplete, e.Now())
		}
		c, err := e.Rollouts.StageCounts(ctx, r)
		if err != nil {
			return err
		}
		if c.Total < size && c.Held > 0 {
			n, err := e.Rollouts.ReleaseHeld(ctx, r, min(size-c.Total, c.Held), e.Now())
			if err != nil {
				return err
			}
			c.Total += n
			c.Running += n
		}
		if float64(c.Failed) > r.Config.MaxFailureRate*float64(size) {
			return e.haltRollout(ctx, r, c)
		}
		if c.Total < size || c.Finished() < c.Total {
			return nil // the stage is still filling or running
		}
		e.rolloutEvent(r, "stage_passed", c)
		if r.Config.Approval == spoke.RolloutManual {
			return e.Rollouts.SetRolloutState(ctx, r, spoke.RolloutRunning, r.Stage, spoke.RolloutAwaitingApproval, e.Now())
		}
		if err := e.openStage(ctx, r, spoke.RolloutRunning, r.Stage+1); err != nil {
			return err
		}
	}
	return nil
}

// openStage moves the rollout from state from to stage, which runs (or,
// past the last listed stage, completes the rollout).
func (e *Engine) openStage(ctx context.Context, r *spoke.Rollout, from string, stage int) error {
	state := spoke.RolloutRunning
	if stage >= len(r.Config.Stages) {
		state = spoke.RolloutComplete
	}
	if err := e.Rollouts.SetRolloutState(ctx, r, from, stage, state, e.Now()); err != nil {
		return err
	}
	e.rolloutEvent(r, "stage_opened", spoke.StageCounts{})
	return nil
}

// haltRollout stops a rollout whose stage failed too often: held
// enrollments stay held until an advance, an abort or a new revision.
func (e *Engine) haltRollout(ctx context.Context, r *spoke.Rollout, c spoke.StageCounts) error {
	if err := e.Rollouts.SetRolloutState(ctx, r, spoke.RolloutRunning, r.Stage, spoke.RolloutHalted, e.Now()); err != nil {
		return err
	}
	e.rolloutEvent(r, "halted", c)
	failures, err := e.Rollouts.StageFailures(ctx, r, 10)
	if err != nil {
		e.Logger.Error("list the failures of a halted rollout", "flowId", r.FlowID, "err", err)
	}
	ids := make([]string, 0, len(failures))
	for _, x := range failures {
		ids = append(ids, fmt.Sprint(x.ID))
	}
	e.alert(ctx, Alert{Type: AlertRolloutHalted, AccountID: r.AccountID, FlowID: r.FlowID,
		Message: fmt.Sprintf("The rollout of flow %s halted at stage %d: %d of %d enrollments failed (at most %.4g allowed).",
			r.FlowID, r.Stage+1, c.Failed, c.Total, r.Config.MaxFailureRate),
		Details: map[string]any{"revisionId": r.RevisionID, "stage": r.Stage + 1, "failed": c.Failed, "total": c.Total,
			"held": c.Held, "maxFailureRate": r.Config.MaxFailureRate, "failingExecutionIds": ids}})
	return nil
}

// rolloutEvent logs a rollout's step and counts it.
func (e *Engine) rolloutEvent(r *spoke.Rollout, event string, c spoke.StageCounts) {
	level := e.Logger.Info
	if event == "halted" {
		level = e.Logger.Warn
	}
	level("rollout "+event, "event", "rollout_"+event, "accountId", r.AccountID, "flowId", r.FlowID, "revisionId", r.RevisionID,
		"stage", r.Stage+1, "stageSize", r.StageSize(), "state", r.State, "total", c.Total, "failed", c.Failed, "held", c.Held)
	if e.Metrics != nil && e.Metrics.Rollouts != nil {
		e.Metrics.Rollouts.WithLabelValues(event).Inc()
	}
}

// AdvanceRollout opens the next stage of a flow's rollout that awaits
// approval or halted. ECONFLICT when it does neither.
func (e *Engine) AdvanceRollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error) {
	r, err := e.rollout(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	if r.State != spoke.RolloutAwaitingApproval && r.State != spoke.RolloutHalted {
		return nil, spoke.Errorf(spoke.ECONFLICT, "The rollout of flow %s is %s; only a rollout that awaits approval or halted can be advanced.", flowID, r.State)
	}
	from := r.State
	if err := e.openStage(ctx, r, from, r.Stage+1); err != nil {
		return nil, err
	}
	if err := e.stepRollout(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// AbortRollout ends a flow's rollout: the flow is turned off (saved as a
// new revision by author), so nothing new enrolls, and its held
// enrollments end CANCELLED. ECONFLICT when the rollout no longer holds.
func (e *Engine) AbortRollout(ctx context.Context, account int64, flowID, author string) (*spoke.Rollout, error) {
	r, err := e.rollout(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	if !spoke.RolloutHolds(r.State) {
		return nil, spoke.Errorf(spoke.ECONFLICT, "The rollout of flow %s is %s; there is nothing to abort.", flowID, r.State)
	}
	f, err := e.Flows.GetFlow(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	if f.IsEnabled {
		off, err := withEnabled(f, false)
		if err != nil {
			return nil, err
		}
		off.ID, off.RevisionID = f.ID, f.RevisionID
		off.Saved = spoke.SaveInfo{Author: author, Message: fmt.Sprintf("Rollout aborted at stage %d; flow turned off.", r.Stage+1)}
		if _, err := e.Flows.UpdateFlow(ctx, account, off); err != nil {
			return nil, fmt.Errorf("turn flow %s off: %w", flowID, err)
		}
		e.FlowsChanged()
	}
	if err := e.Rollouts.SetRolloutState(ctx, r, r.State, r.Stage, spoke.RolloutAborted, e.Now()); err != nil {
		return nil, err
	}
	e.rolloutEvent(r, "aborted", spoke.StageCounts{})
	return r, nil
}

// withEnabled returns f's document with isEnabled set.
func withEnabled(f *spoke.Flow, on bool) (*spoke.Flow, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(f.Raw, &doc); err != nil {
		return nil, fmt.Errorf("decode flow %s: %w", f.ID, err)
	}
	doc["isEnabled"], _ = json.Marshal(on)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return flow.Parse(b)
}

func (e *Engine) rollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error) {
	if e.Rollouts == nil {
		return nil, spoke.NotFoundf("Staged rollouts are not available on this server.")
	}
	if _, err := e.Flows.GetFlow(ctx, account, flowID); err != nil {
		return nil, err
	}
	return e.Rollouts.CurrentRollout(ctx, account, flowID)
}

// RolloutStatus reports a flow's current rollout with its stage's counts
// and failing executions.
func (e *Engine) RolloutStatus(ctx context.Context, account int64, flowID string) (*spoke.RolloutReport, error) {
	r, err := e.rollout(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	c, err := e.Rollouts.StageCounts(ctx, r)
	if err != nil {
		return nil, err
	}
	rep := &spoke.RolloutReport{Rollout: r, Counts: c}
	if c.Failed > 0 {
		if rep.Failures, err = e.Rollouts.StageFailures(ctx, r, 20); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// controller runs TickRollouts and the alert checks every RolloutPoll
// until ctx ends.
func (e *Engine) controller(ctx context.Context) {
	t := time.NewTicker(e.RolloutPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.TickRollouts(ctx); err != nil && ctx.Err() == nil {
			e.Logger.Error("rollout controller", "err", err)
		}
		if err := e.checkAlerts(ctx, e.RolloutPoll/2); err != nil && ctx.Err() == nil {
			e.Logger.Error("alert checks", "err", err)
		}
	}
}
