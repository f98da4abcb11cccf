package engine

import (
	"context"
	"fmt"

	"github.com/spokehq/spoke"
)

// DefaultRevertChunk is how many records a revert puts back per
// transaction: each chunk's writes and the job's progress commit together,
// so a job that stops resumes after the last chunk committed.
const DefaultRevertChunk = 500

// Revert reverts what a flow wrote in a window (see spoke.RevertRequest).
// A dry run answers at once with the counts, the conflicts and a sample; a
// real run starts a job that runs in the background (RevertJob shows its
// progress) and resumes after a restart.
func (e *Engine) Revert(ctx context.Context, account int64, flowID string, req spoke.RevertRequest) (*spoke.RevertJob, error) {
	if e.Reverts == nil {
		return nil, spoke.NotFoundf("Reverts are not available on this server.")
	}
	f, err := e.Flows.GetFlow(ctx, account, flowID)
	if err != nil {
		return nil, err
	}
	t, ok := spoke.LookupObjectType(f.ObjectTypeID)
	if !ok {
		return nil, spoke.Invalidf("Flow %s has an unsupported objectTypeId %s.", flowID, f.ObjectTypeID)
	}
	req.ObjectType = t.Name
	if req.Until.IsZero() {
		req.Until = e.Now()
	}
	if req.Since.After(req.Until) {
		return nil, spoke.Invalidf("since (%s) is after until (%s).", spoke.FormatTime(req.Since), spoke.FormatTime(req.Until))
	}
	if req.RevertID > 0 {
		if _, err := e.Reverts.GetRevertJob(ctx, account, flowID, req.RevertID); err != nil {
			return nil, err
		}
	}
	j := &spoke.RevertJob{AccountID: account, FlowID: flowID, Request: req}
	if req.DryRun {
		if err := e.runRevert(ctx, j, false); err != nil {
			return nil, err
		}
		j.Status = spoke.RevertComplete
		return j, nil
	}
	if err := e.Reverts.CreateRevertJob(ctx, j); err != nil {
		return nil, err
	}
	e.startRevert(j)
	return j, nil
}

// RevertJob returns a revert job with its progress.
func (e *Engine) RevertJob(ctx context.Context, account int64, flowID string, id int64) (*spoke.RevertJob, error) {
	if e.Reverts == nil {
		return nil, spoke.NotFoundf("Reverts are not available on this server.")
	}
	return e.Reverts.GetRevertJob(ctx, account, flowID, id)
}

// startRevert runs a job in the background until it ends or the engine
// stops; an unfinished job is resumed by ResumeReverts.
func (e *Engine) startRevert(j *spoke.RevertJob) {
	ctx := e.bg.Load()
	if ctx == nil {
		return // not running: Run resumes it
	}
	e.revertsWG.Add(1)
	go func() {
		defer e.revertsWG.Done()
		e.finishRevert(*ctx, j)
	}()
}

func (e *Engine) finishRevert(ctx context.Context, j *spoke.RevertJob) {
	err := e.runRevert(ctx, j, true)
	if ctx.Err() != nil {
		return // stopping: the job resumes on the next start
	}
	status, msg := spoke.RevertComplete, ""
	if err != nil {
		status, msg = spoke.RevertFailed, err.Error()
		e.Logger.Error("revert failed", "flowId", j.FlowID, "revertId", j.ID, "err", err)
	}
	if err := e.Reverts.FinishRevertJob(context.WithoutCancel(ctx), j, status, msg); err != nil {
		e.Logger.Error("finish revert", "revertId", j.ID, "err", err)
		return
	}
	e.Logger.Info("revert finished", "event", "revert_finished", "flowId", j.FlowID, "revertId", j.ID, "status", status,
		"records", j.Records, "reverted", j.Reverted, "conflicts", j.Conflicts)
}

// runRevert goes through the job's records chunk by chunk from its cursor;
// with apply unset it only adds up what it would do.
func (e *Engine) runRevert(ctx context.Context, j *spoke.RevertJob, apply bool) error {
	ids, err := e.Reverts.RevertTargets(ctx, j)
	if err != nil {
		return err
	}
	if apply && j.Total == 0 {
		if err := e.Reverts.SetRevertTotal(ctx, j, int64(len(ids))); err != nil {
			return err
		}
	} else if !apply {
		j.Total = int64(len(ids))
	}
	for rest := ids; len(rest) > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := rest[:min(e.RevertChunk, len(rest))]
		rest = rest[len(part):]
		res, err := e.Reverts.RevertRecords(ctx, j, part, apply)
		if err != nil {
			return fmt.Errorf("revert records %d to %d: %w", part[0], part[len(part)-1], err)
		}
		if !apply {
			j.Cursor = part[len(part)-1]
			j.Processed += int64(len(part))
			j.Records += res.Records
			j.Reverted += int64(len(res.Changes))
			j.Conflicts += int64(len(res.Conflicts))
			j.Sample.Add(res.Changes, res.Conflicts)
		}
	}
	return nil
}

// RunReverts runs the unfinished revert jobs to their end, one after the
// other, and returns when they are done (or ctx ends).
func (e *Engine) RunReverts(ctx context.Context) error {
	if e.Reverts == nil {
		return nil
	}
	jobs, err := e.Reverts.RunningRevertJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		e.finishRevert(ctx, j)
	}
	return nil
}

// resumeReverts restarts the jobs a previous process left running.
func (e *Engine) resumeReverts(ctx context.Context) {
	if e.Reverts == nil {
		return
	}
	jobs, err := e.Reverts.RunningRevertJobs(ctx)
	if err != nil {
		e.Logger.Error("resume reverts", "err", err)
		return
	}
	for _, j := range jobs {
		e.Logger.Info("resuming revert", "flowId", j.FlowID, "revertId", j.ID, "cursor", j.Cursor)
		e.startRevert(j)
	}
}
