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
		var last sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT max(started_at) FROM executions WHERE account_id = ? AND flow_id = ?`, account, id).Scan(&last); err != nil {
			return nil, fmt.Errorf("last run of flow %s: %w", id, err)
		}
		if last.Valid {
			st.LastRun = time.UnixMilli(last.Int64).UTC()
		}
		var failures sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT count(*), sum(status = 'ERROR') FROM executions WHERE account_id = ? AND flow_id = ? AND started_at >= ?`,
			account, id, since.UnixMilli()).Scan(&st.RecentRuns, &failures); err != nil {
			return nil, fmt.Errorf("recent runs of flow %s: %w", id, err)
		}
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

func (db *DB) collectEnrollments(rows *sql.Rows, limit int) ([]*spoke.Enrollment, bool, error) {
	defer rows.Close()
	var out []*spoke.Enrollment
	for rows.Next() {
		e, err := db.scanEnrollment(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := limit > 0 && len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// RecentExecutions implements spoke.RunStore.
func (db *DB) RecentExecutions(ctx context.Context, account int64, flowID string, q spoke.RunQuery) ([]*spoke.Execution, bool, error) {
	where, args := `account_id = ? AND flow_id = ?`, []any{account, flowID}
	if q.Before > 0 {
		where += ` AND id < ?`
		args = append(args, q.Before)
	}
	if q.Status != "" {
		where += ` AND status = ?`
		args = append(args, q.Status)
	}
	if q.ActionID != "" {
		where += ` AND action_id = ?`
		args = append(args, q.ActionID)
	}
	if q.ObjectID > 0 {
		where += ` AND object_id = ?`
		args = append(args, q.ObjectID)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+executionColumns+` FROM executions INDEXED BY executions_by_flow WHERE `+where+` ORDER BY id DESC LIMIT ?`,
		append(args, q.Limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("list recent executions: %w", err)
	}
	defer rows.Close()
	var out []*spoke.Execution
	for rows.Next() {
		x, err := scanExecution(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}

// GetExecution implements spoke.RunStore.
func (db *DB) GetExecution(ctx context.Context, account int64, id int64) (*spoke.Execution, error) {
	x, err := scanExecution(db.read.QueryRowContext(ctx, `SELECT `+executionColumns+` FROM executions WHERE id = ? AND account_id = ?`, id, account))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("No execution %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get execution %d: %w", id, err)
	}
	return x, nil
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
	rows, err := db.read.QueryContext(ctx, `SELECT started_at / ? AS d, count(*), sum(status = 'ERROR') FROM executions
		WHERE account_id = ? AND started_at >= ? GROUP BY d ORDER BY d`, day, account, start)
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
