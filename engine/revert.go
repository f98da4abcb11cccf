package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spokehq/spoke"
)

// DefaultRevertChunk is how many records a revert puts back per
// transaction: each chunk's writes and the job's progress commit together,
// so a job that stops resumes after the last chunk committed.
const DefaultRevertChunk = 500

// Revert reverts what a flow wrote in a window (see spoke.RevertRequest).
// A dry run answers at once with the counts, the conflicts and a sample; a
// real run stores a job that an engine claims and runs in the background
// (RevertJob shows its progress): this one if it runs, else one in another
// process sharing the store (a `spoke worker`). A job whose engine stopped
// or died is taken over once its lease ends.
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
	select {
	case e.revertWake <- struct{}{}:
	default:
	}
	return j, nil
}

// RevertJob returns a revert job with its progress.
func (e *Engine) RevertJob(ctx context.Context, account int64, flowID string, id int64) (*spoke.RevertJob, error) {
	if e.Reverts == nil {
		return nil, spoke.NotFoundf("Reverts are not available on this server.")
	}
	return e.Reverts.GetRevertJob(ctx, account, flowID, id)
}

// revertPoll is how often an idle engine looks for revert jobs to claim
// (a job started in its own process wakes it at once), and
// maxRevertsPerEngine how many it runs at once.
const (
	revertPoll          = time.Second
	maxRevertsPerEngine = 4
)

// reverter claims revert jobs and runs them, up to maxRevertsPerEngine at
// once, until ctx ends.
func (e *Engine) reverter(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxRevertsPerEngine)
	t := time.NewTicker(revertPoll)
	defer t.Stop()
	for {
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			j, err := e.claimRevert(ctx)
			if err != nil && ctx.Err() == nil {
				e.Logger.Error("claim a revert job", "err", err)
			}
			if j == nil {
				<-slots
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				e.runClaimed(ctx, j)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-e.revertWake:
		case <-t.C:
		}
	}
}

func (e *Engine) claimRevert(ctx context.Context) (*spoke.RevertJob, error) {
	now := e.Now()
	return e.Reverts.ClaimRevertJob(ctx, spoke.Lease{Token: newToken(), Until: now.Add(e.Lease)}, now)
}

// runClaimed runs a claimed job to its end, renewing its lease every
// RenewEvery. When the lease is lost (another engine took the job after it
// ended) or ctx ends, the job stops where its last chunk committed: on a
// stop its lease is given up so another engine resumes it at once.
func (e *Engine) runClaimed(ctx context.Context, j *spoke.RevertJob) {
	if j.Cursor > 0 {
		e.Logger.Info("resuming revert", "flowId", j.FlowID, "revertId", j.ID, "cursor", j.Cursor)
	}
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost atomic.Bool
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		until := j.Lease.Until
		t := time.NewTicker(e.RenewEvery)
		defer t.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-t.C:
			}
			now := e.Now()
			if !until.After(now) {
				lost.Store(true)
				cancel()
				return
			}
			next := spoke.Lease{Token: j.Lease.Token, Until: now.Add(e.Lease)}
			err := e.Reverts.RenewRevertLease(jobCtx, j.ID, next)
			switch {
			case err == nil:
				until = next.Until
			case errors.Is(err, spoke.ErrRevertLost):
				lost.Store(true)
				cancel()
				return
			case jobCtx.Err() == nil:
				e.Logger.Error("renew the lease of a revert job", "revertId", j.ID, "err", err)
			}
		}
	}()
	e.finishRevert(jobCtx, j)
	cancel()
	<-renewed
	switch {
	case lost.Load():
		e.Logger.Warn("a revert job's lease ended before it could be renewed; another engine resumes it", "revertId", j.ID)
	case ctx.Err() != nil:
		// Stopping: hand the job over at once rather than when the lease
		// ends.
		giveUp := spoke.Lease{Token: j.Lease.Token, Until: time.UnixMilli(0)}
		if err := e.Reverts.RenewRevertLease(context.WithoutCancel(ctx), j.ID, giveUp); err != nil && !errors.Is(err, spoke.ErrRevertLost) {
			e.Logger.Error("give up a revert job", "revertId", j.ID, "err", err)
		}
	}
}

func (e *Engine) finishRevert(ctx context.Context, j *spoke.RevertJob) {
	err := e.runRevert(ctx, j, true)
	if ctx.Err() != nil {
		return // stopping, or the job went to another engine
	}
	if errors.Is(err, spoke.ErrRevertLost) {
		// Another engine took the job over after this one's lease ended;
		// it finishes the job.
		e.Logger.Warn("revert job taken over by another engine", "flowId", j.FlowID, "revertId", j.ID)
		return
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

// RunReverts claims the revert jobs no engine holds and runs them to their
// end, one after the other, and returns when none is left (or ctx ends).
func (e *Engine) RunReverts(ctx context.Context) error {
	if e.Reverts == nil {
		return nil
	}
	for ctx.Err() == nil {
		j, err := e.claimRevert(ctx)
		if err != nil || j == nil {
			return err
		}
		e.runClaimed(ctx, j)
	}
	return nil
}
