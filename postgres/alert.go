package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spokehq/spoke"
)

// The alert store (spoke.AlertStore) follows the SQLite store
// (sqlite/alert.go), reading the execution rows where SQLite reads its
// compact log.

const alertColumns = `account_id, url, failure_rate, failure_window, updated_at`

func scanAlertSettings(s pgx.Row) (*spoke.AlertSettings, error) {
	var a spoke.AlertSettings
	var updated int64
	if err := s.Scan(&a.AccountID, &a.URL, &a.FailureRate, &a.FailureWindow, &updated); err != nil {
		return nil, err
	}
	a.UpdatedAt = time.UnixMilli(updated).UTC()
	return &a, nil
}

// AlertSettings implements spoke.AlertStore.
func (db *DB) AlertSettings(ctx context.Context, account int64) (*spoke.AlertSettings, error) {
	s, err := scanAlertSettings(db.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alert_settings WHERE account_id = $1`, account))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, spoke.NotFoundf("No alert webhook is set; PUT /automation/v4/settings/alerts with {\"url\": \"https://...\"}.")
	}
	if err != nil {
		return nil, fmt.Errorf("read alert settings: %w", err)
	}
	return s, nil
}

// PutAlertSettings implements spoke.AlertStore.
func (db *DB) PutAlertSettings(ctx context.Context, s *spoke.AlertSettings) error {
	now := db.nowMs()
	_, err := db.pool.Exec(ctx, `INSERT INTO alert_settings (account_id, url, failure_rate, failure_window, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, failure_rate = excluded.failure_rate,
		failure_window = excluded.failure_window, updated_at = excluded.updated_at`, s.AccountID, s.URL, s.FailureRate, s.FailureWindow, now)
	if err != nil {
		return fmt.Errorf("store alert settings: %w", err)
	}
	s.UpdatedAt = time.UnixMilli(now).UTC()
	return nil
}

// AllAlertSettings implements spoke.AlertStore.
func (db *DB) AllAlertSettings(ctx context.Context) ([]*spoke.AlertSettings, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+alertColumns+` FROM alert_settings ORDER BY account_id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*spoke.AlertSettings, error) { return scanAlertSettings(r) })
	if err != nil {
		return nil, fmt.Errorf("list alert settings: %w", err)
	}
	return out, nil
}

// MarkQuotaLevel implements spoke.AlertStore. The update is one
// statement, so of several processes announcing a level only one wins.
func (db *DB) MarkQuotaLevel(ctx context.Context, account int64, period string, level int) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE alert_settings SET quota_period = $1, quota_level = $2
		WHERE account_id = $3 AND (quota_period <> $1 OR quota_level < $2)`, period, level, account)
	if err != nil {
		return false, fmt.Errorf("record quota alert: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// FlowsExecutedSince implements spoke.AlertStore.
func (db *DB) FlowsExecutedSince(ctx context.Context, account, after int64) ([]string, int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT flow_id, max(id) FROM executions WHERE account_id = $1 AND id > $2 GROUP BY flow_id ORDER BY flow_id`, account, after)
	if err != nil {
		return nil, after, fmt.Errorf("find executed flows: %w", err)
	}
	defer rows.Close()
	var out []string
	last := after
	for rows.Next() {
		var id string
		var maxID int64
		if err := rows.Scan(&id, &maxID); err != nil {
			return nil, after, err
		}
		out = append(out, id)
		last = max(last, maxID)
	}
	return out, last, rows.Err()
}

// RecentFailures implements spoke.AlertStore. Delays (WAITING) are not
// outcomes and are not counted.
func (db *DB) RecentFailures(ctx context.Context, account int64, flowID string, n int) (int, int, error) {
	var failed, total int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'ERROR'), count(*) FROM (
		SELECT status FROM executions WHERE account_id = $1 AND flow_id = $2 AND status IN ('SUCCESS', 'ERROR') ORDER BY id DESC LIMIT $3) last`,
		account, flowID, n).Scan(&failed, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("count recent failures of flow %s: %w", flowID, err)
	}
	return failed, total, nil
}

// ClaimAlertCheck implements spoke.AlertStore: one upsert takes the
// account's check unless a lease on it is live or it ran less than every
// ago, and returns the saved cursor only when it took it, so processes
// checking at once do not both look at the same executions.
func (db *DB) ClaimAlertCheck(ctx context.Context, account int64, lease spoke.Lease, now time.Time, every time.Duration) (*spoke.AlertCheck, bool, error) {
	var failing string
	c := &spoke.AlertCheck{}
	err := db.pool.QueryRow(ctx, `INSERT INTO alert_checks AS a (account_id, lease_token, lease_until) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET lease_token = excluded.lease_token, lease_until = excluded.lease_until
		WHERE a.lease_until < $4 AND a.checked_at <= $5
		RETURNING last_execution, failing`,
		account, lease.Token, lease.Until.UnixMilli(), now.UnixMilli(), now.Add(-every).UnixMilli()).Scan(&c.LastExecution, &failing)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("claim the alert check: %w", err)
	}
	if err := json.Unmarshal([]byte(failing), &c.Failing); err != nil {
		return nil, false, fmt.Errorf("claim the alert check: %w", err)
	}
	return c, true, nil
}

// SaveAlertCheck implements spoke.AlertStore.
func (db *DB) SaveAlertCheck(ctx context.Context, account int64, lease spoke.Lease, c *spoke.AlertCheck, now time.Time) (bool, error) {
	failing := c.Failing
	if failing == nil {
		failing = []string{}
	}
	b, err := json.Marshal(failing)
	if err != nil {
		return false, err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE alert_checks SET last_execution = $1, failing = $2, checked_at = $3, lease_token = 0, lease_until = 0
		WHERE account_id = $4 AND lease_token = $5`, c.LastExecution, string(b), now.UnixMilli(), account, lease.Token)
	if err != nil {
		return false, fmt.Errorf("save the alert check: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
