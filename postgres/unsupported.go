package postgres

import (
	"context"
	"time"

	"github.com/spokehq/spoke"
)

// notSupported is the error of a feature the PostgreSQL store does not
// have yet: 501 with a message naming it, so an API client or operator
// sees what is missing instead of a wrong answer. docs/scale.md lists them.
func notSupported(feature string) *spoke.Error {
	return &spoke.Error{Code: spoke.ENOTSUPPORTED, Category: "NOT_SUPPORTED",
		Message: "The PostgreSQL store does not support " + feature + " yet; use the SQLite store (spoke serve without --database) for it."}
}

// PropertyExists implements flow.Checker.
func (db *DB) PropertyExists(ctx context.Context, account int64, objectType, name string) (bool, error) {
	if _, err := db.ObjectType(ctx, account, objectType); err != nil {
		if spoke.ErrorCode(err) == spoke.EINVALID {
			return false, nil
		}
		return false, err
	}
	_, err := db.GetProperty(ctx, account, objectType, name)
	switch spoke.ErrorCode(err) {
	case "":
		return true, nil
	case spoke.ENOTFOUND:
		return false, nil
	}
	return false, err
}

// ActiveRollouts is not supported on PostgreSQL yet; with no rollouts,
// the rollout controller has nothing to move.
func (db *DB) ActiveRollouts(ctx context.Context) ([]*spoke.Rollout, error) {
	return nil, notSupported("staged rollouts")
}

// CurrentRollout is not supported on PostgreSQL yet.
func (db *DB) CurrentRollout(ctx context.Context, account int64, flowID string) (*spoke.Rollout, error) {
	return nil, notSupported("staged rollouts")
}

// StageCounts is not supported on PostgreSQL yet.
func (db *DB) StageCounts(ctx context.Context, r *spoke.Rollout) (spoke.StageCounts, error) {
	return spoke.StageCounts{}, notSupported("staged rollouts")
}

// ReleaseHeld is not supported on PostgreSQL yet.
func (db *DB) ReleaseHeld(ctx context.Context, r *spoke.Rollout, n int, now time.Time) (int, error) {
	return 0, notSupported("staged rollouts")
}

// SetRolloutState is not supported on PostgreSQL yet.
func (db *DB) SetRolloutState(ctx context.Context, r *spoke.Rollout, from string, stage int, state string, now time.Time) error {
	return notSupported("staged rollouts")
}

// StageFailures is not supported on PostgreSQL yet.
func (db *DB) StageFailures(ctx context.Context, r *spoke.Rollout, limit int) ([]*spoke.Execution, error) {
	return nil, notSupported("staged rollouts")
}
