package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// The web UI's run queries (spoke.RunStore), answering what the SQLite
// store answers (sqlite/runs.go). SQLite keeps per-minute execution counts
// beside its compact log; PostgreSQL logs every execution as a row, so the
// counts are read from the rows by start time (migration 0004), with the
// same minute granularity (recent means since the minute of since), plus
// the per-minute counts of the executions retention pruned
// (pruned_execution_counts, migration 0009), so the counts outlive the
// rows as they do on SQLite.

// FlowStats implements spoke.RunStore.
func (db *DB) FlowStats(ctx context.Context, account int64, flowIDs []string, since time.Time) (map[string]*spoke.FlowStats, error) {
	out := make(map[string]*spoke.FlowStats, len(flowIDs))
	from := since.UnixMilli() / 60000 * 60000
	for _, id := range flowIDs {
		st := &spoke.FlowStats{FlowID: id}
		out[id] = st
		rows, err := db.pool.Query(ctx, `SELECT status, count(*) FROM enrollments WHERE account_id = $1 AND flow_id = $2 GROUP BY status`, account, id)
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
		var last *int64
		if err := db.pool.QueryRow(ctx, `SELECT greatest((SELECT max(started_at) FROM executions WHERE account_id = $1 AND flow_id = $2),
			(SELECT max(last_at) FROM pruned_execution_counts WHERE account_id = $1 AND flow_id = $2))`, account, id).Scan(&last); err != nil {
			return nil, fmt.Errorf("last run of flow %s: %w", id, err)
		}
		if last != nil {
			st.LastRun = time.UnixMilli(*last).UTC()
		}
		if err := db.pool.QueryRow(ctx, `SELECT sum(n)::bigint, sum(f)::bigint FROM (
			SELECT count(*) AS n, count(*) FILTER (WHERE status = 'ERROR') AS f FROM executions WHERE account_id = $1 AND flow_id = $2 AND started_at >= $3
			UNION ALL SELECT coalesce(sum(executions), 0), coalesce(sum(failures), 0) FROM pruned_execution_counts WHERE account_id = $1 AND flow_id = $2 AND minute >= $3 / 60000) c`,
			account, id, from).Scan(&st.RecentRuns, &st.RecentFailures); err != nil {
			return nil, fmt.Errorf("recent runs of flow %s: %w", id, err)
		}
	}
	return out, nil
}

// RecentEnrollments implements spoke.RunStore.
func (db *DB) RecentEnrollments(ctx context.Context, account int64, flowID string, q spoke.RunQuery) ([]*spoke.Enrollment, bool, error) {
	where, args := `account_id = $1 AND flow_id = $2`, []any{account, flowID}
	if q.Before > 0 {
		args = append(args, q.Before)
		where += ` AND id < $` + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	if q.ObjectID > 0 {
		args = append(args, q.ObjectID)
		where += ` AND object_id = $` + strconv.Itoa(len(args))
	}
	args = append(args, q.Limit+1)
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE `+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, fmt.Errorf("list recent enrollments: %w", err)
	}
	return db.collectEnrollments(rows, q.Limit)
}

func (db *DB) collectEnrollments(rows pgx.Rows, limit int) ([]*spoke.Enrollment, bool, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Enrollment, error) { return scanEnrollment(r, db.secrets) })
	if err != nil {
		return nil, false, fmt.Errorf("read enrollments: %w", err)
	}
	more := limit > 0 && len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// RecentExecutions implements spoke.RunStore.
func (db *DB) RecentExecutions(ctx context.Context, account int64, flowID string, q spoke.RunQuery) ([]*spoke.Execution, bool, error) {
	where, args := `account_id = $1 AND flow_id = $2`, []any{account, flowID}
	if q.Before > 0 {
		args = append(args, q.Before)
		where += ` AND id < $` + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	if q.ActionID != "" {
		args = append(args, q.ActionID)
		where += ` AND action_id = $` + strconv.Itoa(len(args))
	}
	if q.ObjectID > 0 {
		args = append(args, q.ObjectID)
		where += ` AND object_id = $` + strconv.Itoa(len(args))
	}
	args = append(args, q.Limit+1)
	rows, err := db.pool.Query(ctx, `SELECT `+executionColumns+` FROM executions WHERE `+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, fmt.Errorf("list recent executions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.Execution, error) { return scanExecution(r) })
	if err != nil {
		return nil, false, fmt.Errorf("list recent executions: %w", err)
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}

// GetExecution implements spoke.RunStore.
func (db *DB) GetExecution(ctx context.Context, account int64, id int64) (*spoke.Execution, error) {
	x, err := scanExecution(db.pool.QueryRow(ctx, `SELECT `+executionColumns+` FROM executions WHERE id = $1 AND account_id = $2`, id, account))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.NotFoundf("No execution %d.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get execution %d: %w", id, err)
	}
	return x, nil
}

// RecordEnrollments implements spoke.RunStore.
func (db *DB) RecordEnrollments(ctx context.Context, account int64, objectType string, objectID int64, limit int) ([]*spoke.Enrollment, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+enrollmentColumns+` FROM enrollments WHERE account_id = $1 AND object_type = $2 AND object_id = $3 ORDER BY id DESC LIMIT $4`,
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
	rows, err := db.pool.Query(ctx, `SELECT d, sum(n)::bigint, sum(f)::bigint FROM (
		SELECT started_at / $1 AS d, count(*) AS n, count(*) FILTER (WHERE status = 'ERROR') AS f FROM executions
		WHERE account_id = $2 AND started_at >= $3 GROUP BY d
		UNION ALL SELECT minute * 60000 / $1, sum(executions), sum(failures) FROM pruned_execution_counts
		WHERE account_id = $2 AND minute >= $3 / 60000 GROUP BY 1) c GROUP BY d ORDER BY d`, day, account, start)
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
