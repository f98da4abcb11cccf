package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// RetryEnrollment implements spoke.EngineStore as on SQLite: it makes a
// FAILED enrollment of flow f ACTIVE again at the action it failed at, on
// f's revision, due at now, with a fresh attempt count and no error. The
// record writes it made before the failure stay written. ENOTFOUND if the
// flow has no such enrollment, ECONFLICT if it has not failed, EINVALID if
// f no longer has the action.
func (db *DB) RetryEnrollment(ctx context.Context, account int64, f *spoke.Flow, id int64, now time.Time) (*spoke.Enrollment, error) {
	var out *spoke.Enrollment
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		e, err := scanEnrollment(tx.QueryRow(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE id = $1 AND account_id = $2 AND flow_id = $3 FOR UPDATE`,
			id, account, f.ID), db.secrets)
		if errors.Is(err, pgx.ErrNoRows) {
			return spoke.NotFoundf("Flow %s has no enrollment %d.", f.ID, id)
		}
		if err != nil {
			return fmt.Errorf("retry enrollment %d: %w", id, err)
		}
		if e.Status != spoke.EnrollmentFailed {
			return spoke.Errorf(spoke.ECONFLICT, "Enrollment %d is %s; only a FAILED enrollment can be retried.", id, e.Status)
		}
		if e.CurrentAction != "" && f.ActionByID(e.CurrentAction) == nil {
			return spoke.Invalidf("Enrollment %d failed at action %s, which revision %s of flow %s no longer has.", id, e.CurrentAction, f.RevisionID, f.ID)
		}
		ms := now.UnixMilli()
		if _, err := tx.Exec(ctx, `UPDATE enrollments SET status = $1, revision_id = $2, error = NULL, attempt = 1,
			first_failure_at = 0, completed_at = 0, wait_reason = '', run_at = $3, lease_until = 0, updated_at = $3 WHERE id = $4`,
			spoke.EnrollmentActive, f.RevisionID, ms, id); err != nil {
			return fmt.Errorf("retry enrollment %d: %w", id, err)
		}
		e.Status, e.RevisionID, e.Error, e.Attempt, e.WaitReason = spoke.EnrollmentActive, f.RevisionID, nil, 1, spoke.WaitNone
		e.FirstFailureAt, e.CompletedAt, e.RunAt, e.UpdatedAt = time.Time{}, time.Time{}, now.UTC(), now.UTC()
		out = e
		return notifyWork(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	db.notifyEnrolled()
	return out, nil
}
