package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spokehq/spoke"
)

// AlertSettings implements spoke.AlertStore.
func (db *DB) AlertSettings(ctx context.Context, account int64) (*spoke.AlertSettings, error) {
	s, err := scanAlertSettings(db.read.QueryRowContext(ctx, `SELECT account_id, url, failure_rate, failure_window, updated_at FROM alert_settings WHERE account_id = ?`, account))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, spoke.NotFoundf("No alert webhook is set; PUT /automation/v4/settings/alerts with {\"url\": \"https://...\"}.")
	}
	if err != nil {
		return nil, fmt.Errorf("read alert settings: %w", err)
	}
	return s, nil
}

func scanAlertSettings(s interface{ Scan(...any) error }) (*spoke.AlertSettings, error) {
	var a spoke.AlertSettings
	var updated int64
	if err := s.Scan(&a.AccountID, &a.URL, &a.FailureRate, &a.FailureWindow, &updated); err != nil {
		return nil, err
	}
	a.UpdatedAt = time.UnixMilli(updated).UTC()
	return &a, nil
}

// PutAlertSettings implements spoke.AlertStore.
func (db *DB) PutAlertSettings(ctx context.Context, s *spoke.AlertSettings) error {
	now := db.nowMs()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_settings (account_id, url, failure_rate, failure_window, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, failure_rate = excluded.failure_rate,
			failure_window = excluded.failure_window, updated_at = excluded.updated_at`, s.AccountID, s.URL, s.FailureRate, s.FailureWindow, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store alert settings: %w", err)
	}
	s.UpdatedAt = time.UnixMilli(now).UTC()
	return nil
}

// AllAlertSettings implements spoke.AlertStore.
func (db *DB) AllAlertSettings(ctx context.Context) ([]*spoke.AlertSettings, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT account_id, url, failure_rate, failure_window, updated_at FROM alert_settings ORDER BY account_id`)
	if err != nil {
		return nil, fmt.Errorf("list alert settings: %w", err)
	}
	defer rows.Close()
	var out []*spoke.AlertSettings
	for rows.Next() {
		s, err := scanAlertSettings(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// MarkQuotaLevel implements spoke.AlertStore.
func (db *DB) MarkQuotaLevel(ctx context.Context, account int64, period string, level int) (bool, error) {
	var changed bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alert_settings SET quota_period = ?, quota_level = ?
			WHERE account_id = ? AND (quota_period <> ? OR quota_level < ?)`, period, level, account, period, level)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		changed = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record quota alert: %w", err)
	}
	return changed, nil
}

// FlowsExecutedSince implements spoke.AlertStore.
func (db *DB) FlowsExecutedSince(ctx context.Context, account, after int64) ([]string, int64, error) {
	// A step row is committed whole: after is the id of the last
	// execution of a row read before, so the rows after its row are new.
	rows, err := db.read.QueryContext(ctx, `SELECT flow_id, max(id * ? + n - 1) FROM execution_steps WHERE id > ? AND account_id = ? GROUP BY flow_id`,
		stepSlots, after/stepSlots, account)
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
	rows, err := db.read.QueryContext(ctx, `SELECT `+stepColumns+` FROM execution_steps INDEXED BY execution_steps_by_flow
		WHERE flow_id = ? AND account_id = ? ORDER BY id DESC`, flowID, account)
	if err != nil {
		return 0, 0, fmt.Errorf("count recent failures of flow %s: %w", flowID, err)
	}
	defer rows.Close()
	for total < n && rows.Next() {
		row, err := scanStep(rows)
		if err != nil {
			return 0, 0, fmt.Errorf("count recent failures of flow %s: %w", flowID, err)
		}
		xs, err := decodeBody(row)
		if err != nil {
			return 0, 0, err
		}
		for i := len(xs) - 1; i >= 0 && total < n; i-- {
			switch xs[i].x.Status {
			case "ERROR":
				failed++
				total++
			case "SUCCESS":
				total++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("count recent failures of flow %s: %w", flowID, err)
	}
	return failed, total, nil
}

// ClaimAlertCheck implements spoke.AlertStore: one upsert takes the
// account's check unless a lease on it is live or it ran less than every
// ago, and returns the saved cursor only when it took it.
func (db *DB) ClaimAlertCheck(ctx context.Context, account int64, lease spoke.Lease, now time.Time, every time.Duration) (*spoke.AlertCheck, bool, error) {
	var c *spoke.AlertCheck
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var failing string
		var last int64
		err := tx.QueryRowContext(ctx, `INSERT INTO alert_checks (account_id, lease_token, lease_until) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET lease_token = excluded.lease_token, lease_until = excluded.lease_until
			WHERE alert_checks.lease_until < ? AND alert_checks.checked_at <= ?
			RETURNING last_execution, failing`,
			account, lease.Token, lease.Until.UnixMilli(), now.UnixMilli(), now.Add(-every).UnixMilli()).Scan(&last, &failing)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		c = &spoke.AlertCheck{LastExecution: last}
		return json.Unmarshal([]byte(failing), &c.Failing)
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim the alert check: %w", err)
	}
	return c, c != nil, nil
}

// SaveAlertCheck implements spoke.AlertStore.
func (db *DB) SaveAlertCheck(ctx context.Context, account int64, lease spoke.Lease, c *spoke.AlertCheck, now time.Time) (bool, error) {
	failing, err := json.Marshal(nonNil(c.Failing))
	if err != nil {
		return false, err
	}
	var saved bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alert_checks SET last_execution = ?, failing = ?, checked_at = ?, lease_token = 0, lease_until = 0
			WHERE account_id = ? AND lease_token = ?`, c.LastExecution, string(failing), now.UnixMilli(), account, lease.Token)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		saved = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save the alert check: %w", err)
	}
	return saved, nil
}

// nonNil returns s, or an empty slice for nil (which JSON writes as null).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
