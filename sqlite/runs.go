package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/spokehq/spoke"
)

// FlowStats implements spoke.RunStore. Each count is answered from an
// index (migration 0008) without reading the rows.
func (db *DB) FlowStats(ctx context.Context, account int64, flowIDs []string, since time.Time) (map[string]*spoke.FlowStats, error) {
	out := make(map[string]*spoke.FlowStats, len(flowIDs))
	for _, id := range flowIDs {
		st := &spoke.FlowStats{FlowID: id}
		out[id] = st
		rows, err := db.read.QueryContext(ctx, `SELECT status, count(*) FROM enrollments WHERE account_id = ? AND flow_id = ? GROUP BY status`, account, id)
		if err != nil {
			return nil, fmt.Errorf("count enrollments of flow %s: %w", id, err)
		}
		for rows.Next() {
			var status string
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count enrollments of flow %s: %w", id, err)
			}
			st.Enrolled += n
			switch status {
			case spoke.EnrollmentActive:
				st.Active = n
			case spoke.EnrollmentCompleted:
				st.Completed = n
			case spoke.EnrollmentFailed:
				st.Failed = n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("count enrollments of flow %s: %w", id, err)
		}
		// From the counts per minute (migration 0012), which outlive the
		// logs: recent means since the minute of since.
		var last sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT last_at FROM execution_counts WHERE account_id = ? AND flow_id = ? ORDER BY minute DESC LIMIT 1`, account, id).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("last run of flow %s: %w", id, err)
		}
		if last.Valid {
			st.LastRun = time.UnixMilli(last.Int64).UTC()
		}
		var runs, failures sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT sum(executions), sum(failures) FROM execution_counts WHERE account_id = ? AND flow_id = ? AND minute >= ?`,
			account, id, since.UnixMilli()/60000).Scan(&runs, &failures); err != nil {
			return nil, fmt.Errorf("recent runs of flow %s: %w", id, err)
		}
		st.RecentRuns = runs.Int64
		st.RecentFailures = failures.Int64
	}
	return out, nil
}

// RecentEnrollments implements spoke.RunStore.
func (db *DB) RecentEnrollments(ctx context.Context, account int64, flowID string, q spoke.RunQuery) ([]*spoke.Enrollment, bool, error) {
	where, args := `account_id = ? AND flow_id = ?`, []any{account, flowID}
	if q.Before > 0 {
		where += ` AND id < ?`
		args = append(args, q.Before)
	}
	if q.Status != "" {
		where += ` AND status = ?`
		args = append(args, q.Status)
	}
	if q.ObjectID > 0 {
		where += ` AND object_id = ?`
		args = append(args, q.ObjectID)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE `+where+` ORDER BY id DESC LIMIT ?`, append(args, q.Limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("list recent enrollments: %w", err)
	}
	return db.collectEnrollments(rows, q.Limit)
}

// collectEnrollments reads enrollment rows queried with LIMIT limit+1 and
// trims them to limit; limit 0 takes every row.
func (db *DB) collectEnrollments(rows *sql.Rows, limit int) ([]*spoke.Enrollment, bool, error) {
	out, err := db.scanEnrollments(rows)
	if err != nil || limit <= 0 {
		return out, false, err
	}
	out, more := page(out, limit)
	return out, more, nil
}

// scanEnrollments reads every enrollment row and closes rows.
func (db *DB) scanEnrollments(rows *sql.Rows) ([]*spoke.Enrollment, error) {
	defer rows.Close()
	var out []*spoke.Enrollment
	for rows.Next() {
		e, err := db.scanEnrollment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// page trims rows read with LIMIT limit+1 to limit and reports whether
// the extra row, and so another page, was there.
func page[T any](out []T, limit int) ([]T, bool) {
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}

// RecentExecutions implements spoke.RunStore.
func (db *DB) RecentExecutions(ctx context.Context, account int64, flowID string, q spoke.RunQuery) ([]*spoke.Execution, bool, error) {
	where, args := `flow_id = ? AND account_id = ?`, []any{flowID, account}
	if q.Before > 0 {
		where += ` AND id <= ?`
		args = append(args, (q.Before-1)/stepSlots)
	}
	if q.Status == "ERROR" {
		where += ` AND failed = 1`
	}
	if q.ObjectID > 0 {
		where += ` AND object_id = ?`
		args = append(args, q.ObjectID)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+stepColumns+` FROM execution_steps INDEXED BY execution_steps_by_flow WHERE `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list recent executions: %w", err)
	}
	out, err := db.collect(ctx, rows, execFilter{before: q.Before, actionID: q.ActionID, status: q.Status, limit: q.Limit, desc: true})
	if err != nil {
		return nil, false, fmt.Errorf("list recent executions: %w", err)
	}
	out, more := page(out, q.Limit)
	return out, more, nil
}

// GetExecution implements spoke.RunStore.
func (db *DB) GetExecution(ctx context.Context, account int64, id int64) (*spoke.Execution, error) {
	row, err := scanStep(db.read.QueryRowContext(ctx, `SELECT `+stepColumns+` FROM execution_steps WHERE id = ? AND account_id = ?`, id/stepSlots, account))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("No execution %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get execution %d: %w", id, err)
	}
	xs, err := decodeBody(row)
	if err != nil {
		return nil, err
	}
	i := id % stepSlots
	if id <= 0 || i >= int64(len(xs)) {
		return nil, spoke.NotFoundf("No execution %d.", id)
	}
	ref, err := db.refByID(ctx, xs[i].ref)
	if err != nil {
		return nil, err
	}
	return xs[i].finish(ref)
}

// RecordEnrollments implements spoke.RunStore.
func (db *DB) RecordEnrollments(ctx context.Context, account int64, objectType string, objectID int64, limit int) ([]*spoke.Enrollment, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE account_id = ? AND object_type = ? AND object_id = ? ORDER BY id DESC LIMIT ?`,
		account, objectType, objectID, limit)
	if err != nil {
		return nil, fmt.Errorf("list enrollments of %s %d: %w", objectType, objectID, err)
	}
	out, _, err := db.collectEnrollments(rows, 0)
	return out, err
}

// DailyRuns implements spoke.RunStore.
func (db *DB) DailyRuns(ctx context.Context, account int64, since time.Time) ([]spoke.DayRuns, error) {
	const day = int64(24 * time.Hour / time.Millisecond)
	start := since.UTC().Truncate(24 * time.Hour).UnixMilli()
	rows, err := db.read.QueryContext(ctx, `SELECT minute * 60000 / ? AS d, sum(executions), sum(failures) FROM execution_counts
		WHERE account_id = ? AND minute >= ? GROUP BY d ORDER BY d`, day, account, start/60000)
	if err != nil {
		return nil, fmt.Errorf("count executions per day: %w", err)
	}
	defer rows.Close()
	var out []spoke.DayRuns
	for rows.Next() {
		var d int64
		var r spoke.DayRuns
		if err := rows.Scan(&d, &r.Executions, &r.Failures); err != nil {
			return nil, fmt.Errorf("count executions per day: %w", err)
		}
		r.Day = time.UnixMilli(d * day).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
